package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.amazonaws.services.lambda.runtime.events.DynamodbEvent;
import com.amazonaws.services.lambda.runtime.events.StreamsEventResponse;
import com.amazonaws.services.lambda.runtime.tests.EventLoader;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.sqs.model.SendMessageRequest;

/** The stream function on a real DynamoDB stream event: one job's life, from submit to TTL. */
class WebhookEventsHandlerTest {

    private static final String JOB_ID = "01JD3N3Y3ZX2W0K7Q8M9P4R5S6";
    private final RecordingSqs sqs = new RecordingSqs(new ArrayList<>());
    private final WebhookEventsHandler handler = new WebhookEventsHandler(new WebhookQueue(sqs, "https://sqs.local/webhooks"));

    private static DynamodbEvent fixture() {
        return EventLoader.loadDynamoDbEvent("events/dynamodb-stream-job-with-webhook.json");
    }

    private List<WebhookMessage> sent() {
        return sqs.sent.stream().map(SendMessageRequest::messageBody).map(WebhookMessage::parse).toList();
    }

    @Test
    void aJobsLife_queuesItsChosenEvents_onceEach_inOrder() {
        StreamsEventResponse response = handler.handleRequest(fixture(), null);

        assertEquals(List.of(), response.getBatchItemFailures());
        assertEquals(List.of(JOB_ID + "-started-1", JOB_ID + "-progress-1-" + java.time.Instant.parse("2026-11-22T10:00:03.250Z").toEpochMilli(), JOB_ID + "-completed-2"),
                sent().stream().map(WebhookMessage::deliveryId).toList());
        WebhookMessage completed = sent().get(2);
        assertEquals("completed", completed.event());
        assertEquals(1, completed.attempt());
        assertEquals(java.time.Instant.parse("2026-11-22T10:00:05Z"), completed.at());
        assertEquals(completed.at(), completed.since());
        assertEquals(List.of(0, 0, 0), sqs.sent.stream().map(SendMessageRequest::delaySeconds).toList());
        assertEquals("https://sqs.local/webhooks", sqs.sent.get(0).queueUrl());
    }

    @Test
    void theSameRecordsAgain_makeTheSameDeliveryIds() {
        handler.handleRequest(fixture(), null);
        List<String> first = sent().stream().map(WebhookMessage::deliveryId).toList();
        sqs.sent.clear();

        handler.handleRequest(fixture(), null);

        assertEquals(first, sent().stream().map(WebhookMessage::deliveryId).toList(),
                "a stream retry is the same delivery, which the delivery function settles once");
    }

    @Test
    void aSendThatFails_stopsTheBatchThere_andReportsItsRecord() {
        AtomicInteger sends = new AtomicInteger();
        RecordingSqs failingSecond = new RecordingSqs(new ArrayList<>()) {
            @Override
            public software.amazon.awssdk.services.sqs.model.SendMessageResponse sendMessage(SendMessageRequest r) {
                if (sends.incrementAndGet() == 2) {
                    throw SdkClientException.create("Unable to execute HTTP request: Read timed out");
                }
                return super.sendMessage(r);
            }
        };
        WebhookEventsHandler failing = new WebhookEventsHandler(new WebhookQueue(failingSecond, "https://sqs.local/w"));

        StreamsEventResponse response = failing.handleRequest(fixture(), null);

        assertEquals(List.of("104"), response.getBatchItemFailures().stream()
                .map(StreamsEventResponse.BatchItemFailure::getItemIdentifier).toList(),
                "the progress record's sequence number: the mapping retries from it");
        assertEquals(1, failingSecond.sent.size(), "nothing after the failed record was sent");
    }

    @Test
    void aRecordThatIsNotAJob_isSkipped_andTheRestGoOn() {
        DynamodbEvent event = fixture();
        DynamodbEvent.DynamodbStreamRecord stray = event.getRecords().get(2);
        stray.getDynamodb().getNewImage().remove("jobId");

        StreamsEventResponse response = handler.handleRequest(event, null);

        assertEquals(List.of(), response.getBatchItemFailures());
        assertEquals(List.of("progress", "completed"), sent().stream().map(WebhookMessage::event).toList());
    }
}
