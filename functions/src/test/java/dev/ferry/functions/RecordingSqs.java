package dev.ferry.functions;

import java.util.ArrayList;
import java.util.List;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.SendMessageRequest;
import software.amazon.awssdk.services.sqs.model.SendMessageResponse;

/** An SqsClient that records sends, and can be made to fail them. */
class RecordingSqs implements SqsClient {

    final List<SendMessageRequest> sent = java.util.Collections.synchronizedList(new ArrayList<>());
    final List<String> events;
    volatile boolean unavailable;
    /** When set, every send throws it (after recording nothing). */
    volatile java.util.function.Supplier<RuntimeException> failure;
    /** When set, every send is applied (recorded) and then this is thrown: a lost response. */
    volatile java.util.function.Supplier<RuntimeException> lostResponse;

    RecordingSqs(List<String> events) {
        this.events = events;
    }

    @Override
    public SendMessageResponse sendMessage(SendMessageRequest request) {
        if (unavailable) {
            throw SdkClientException.create("Unable to execute HTTP request: Read timed out");
        }
        if (failure != null) {
            throw failure.get();
        }
        sent.add(request);
        events.add("send " + request.messageBody());
        if (lostResponse != null) {
            throw lostResponse.get();
        }
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
