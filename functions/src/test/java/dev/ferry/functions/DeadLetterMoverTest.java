package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.BatchResultErrorEntry;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchRequest;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchResponse;
import software.amazon.awssdk.services.sqs.model.GetQueueAttributesRequest;
import software.amazon.awssdk.services.sqs.model.GetQueueAttributesResponse;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;
import software.amazon.awssdk.services.sqs.model.ReceiveMessageRequest;
import software.amazon.awssdk.services.sqs.model.ReceiveMessageResponse;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequest;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchResponse;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchResultEntry;
import software.amazon.awssdk.services.sqs.model.SqsException;

/** Ferry's own redrive, where a backend has no message move tasks. */
class DeadLetterMoverTest {

    /** Two queues in memory: a DLQ and a job queue. */
    private static final class TwoQueues implements SqsClient {
        final Map<String, Message> deadLetters = Collections.synchronizedMap(new LinkedHashMap<>());
        final List<String> moved = Collections.synchronizedList(new ArrayList<>());
        /** The body the job queue refuses (a batch entry that fails). */
        volatile String refused;

        TwoQueues(int messages) {
            for (int i = 0; i < messages; i++) {
                deadLetters.put("h" + i, Message.builder().messageId("m" + i).receiptHandle("h" + i)
                        .body("{\"jobId\":\"j" + i + "\"}").build());
            }
        }

        @Override
        public GetQueueAttributesResponse getQueueAttributes(GetQueueAttributesRequest r) {
            return GetQueueAttributesResponse.builder().attributes(Map.of(
                    QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES, Integer.toString(deadLetters.size()))).build();
        }

        private final java.util.Set<String> hidden = java.util.concurrent.ConcurrentHashMap.newKeySet();

        @Override
        public ReceiveMessageResponse receiveMessage(ReceiveMessageRequest r) {
            List<Message> batch = new ArrayList<>();
            synchronized (deadLetters) {
                for (Message m : deadLetters.values()) {
                    if (batch.size() < r.maxNumberOfMessages() && hidden.add(m.receiptHandle())) {
                        batch.add(m);
                    }
                }
            }
            return ReceiveMessageResponse.builder().messages(batch).build();
        }

        @Override
        public SendMessageBatchResponse sendMessageBatch(SendMessageBatchRequest r) {
            List<SendMessageBatchResultEntry> ok = new ArrayList<>();
            List<BatchResultErrorEntry> failed = new ArrayList<>();
            r.entries().forEach(e -> {
                if (e.messageBody().equals(refused)) {
                    failed.add(BatchResultErrorEntry.builder().id(e.id()).code("InternalError").message("no").build());
                } else {
                    moved.add(e.messageBody());
                    ok.add(SendMessageBatchResultEntry.builder().id(e.id()).messageId("new-" + e.id()).build());
                }
            });
            return SendMessageBatchResponse.builder().successful(ok).failed(failed).build();
        }

        @Override
        public DeleteMessageBatchResponse deleteMessageBatch(DeleteMessageBatchRequest r) {
            r.entries().forEach(e -> deadLetters.remove(e.receiptHandle()));
            return DeleteMessageBatchResponse.builder().build();
        }

        @Override
        public String serviceName() {
            return "sqs";
        }

        @Override
        public void close() {
        }
    }

    private static void awaitDone(DeadLetterMover mover) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (mover.running()) {
            assertTrue(System.nanoTime() < deadline, "still running");
            Thread.sleep(20);
        }
    }

    @Test
    void movesEveryMessage_thenReportsCompleted_inTheFieldsOfAMoveTask() throws Exception {
        TwoQueues sqs = new TwoQueues(25);

        DeadLetterMover mover = DeadLetterMover.start(sqs, "dlq", "jobs", Clock.systemUTC());
        awaitDone(mover);

        assertEquals(25, sqs.moved.size());
        assertTrue(sqs.deadLetters.isEmpty());
        JsonNode progress = mover.progress();
        assertEquals("COMPLETED", progress.get("status").asText());
        assertEquals(25, progress.get("approximateNumberOfMessagesMoved").asInt());
        assertEquals(25, progress.get("approximateNumberOfMessagesToMove").asInt());
    }

    @Test
    void aMessageTheJobQueueRefuses_staysInTheDlq() throws Exception {
        TwoQueues sqs = new TwoQueues(3);
        sqs.refused = "{\"jobId\":\"j1\"}";

        DeadLetterMover mover = DeadLetterMover.start(sqs, "dlq", "jobs", Clock.systemUTC());
        awaitDone(mover);

        assertEquals(2, sqs.moved.size());
        assertEquals(List.of("h1"), new ArrayList<>(sqs.deadLetters.keySet()), "never deleted before it was sent");
    }

    @Test
    void unsupported_isMotosAnswer_notAnAwsError() {
        SqsException moto = (SqsException) SqsException.builder().statusCode(500).message("Internal Server Error")
                .awsErrorDetails(AwsErrorDetails.builder().errorMessage("<!doctype html>").build()).build();
        SqsException awsFailure = (SqsException) SqsException.builder().statusCode(500).message("oops")
                .awsErrorDetails(AwsErrorDetails.builder().errorCode("InternalFailure").build()).build();
        SqsException denied = (SqsException) SqsException.builder().statusCode(400).message("no")
                .awsErrorDetails(AwsErrorDetails.builder().errorCode("AccessDenied").build()).build();

        assertTrue(DeadLetterMover.unsupported(moto));
        assertFalse(DeadLetterMover.unsupported(awsFailure));
        assertFalse(DeadLetterMover.unsupported(denied));
    }
}
