package dev.ferry.functions;

import java.util.ArrayList;
import java.util.List;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.SendMessageRequest;
import software.amazon.awssdk.services.sqs.model.SendMessageResponse;

/** An SqsClient that records sends, and can be made to fail them. */
final class RecordingSqs implements SqsClient {

    final List<SendMessageRequest> sent = new ArrayList<>();
    final List<String> events;
    boolean unavailable;

    RecordingSqs(List<String> events) {
        this.events = events;
    }

    @Override
    public SendMessageResponse sendMessage(SendMessageRequest request) {
        if (unavailable) {
            throw SdkClientException.create("Unable to execute HTTP request: Read timed out");
        }
        sent.add(request);
        events.add("send " + request.messageBody());
        return SendMessageResponse.builder().messageId("m-" + sent.size()).build();
    }

    @Override
    public String serviceName() {
        return "sqs";
    }

    @Override
    public void close() {
    }
}
