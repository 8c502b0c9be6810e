package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;

/** What a Lambda pool's function reads off its environment and its event, without AWS. */
class LambdaPoolHandlerTest {

    private static String base64(String text) {
        return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void workerEnv_isReadAsSystemdReadsItOnAGpuWorker() {
        Map<String, String> env = LambdaPoolHandler.workerEnvironment(base64("""
                # The demo job types
                FERRY_COMMAND_ECHO=cat

                FERRY_COMMAND_QUOTED="printf '%s' x"
                  FERRY_TIMEOUT_ECHO = 60
                ; a comment too
                FERRY_COMMAND_EQUALS=a=b
                """));

        assertEquals(Map.of("FERRY_COMMAND_ECHO", "cat", "FERRY_COMMAND_QUOTED", "printf '%s' x",
                "FERRY_TIMEOUT_ECHO", "60", "FERRY_COMMAND_EQUALS", "a=b"), env);
    }

    @Test
    void workerEnv_thatIsNotBase64OrNotKeyValue_isRefusedSayingWhere() {
        IllegalStateException notBase64 = assertThrows(IllegalStateException.class,
                () -> LambdaPoolHandler.workerEnvironment("not base64!"));
        assertTrue(notBase64.getMessage().contains(LambdaPoolHandler.WORKER_ENVIRONMENT), notBase64.getMessage());
        IllegalStateException badLine = assertThrows(IllegalStateException.class,
                () -> LambdaPoolHandler.workerEnvironment(base64("FERRY_COMMAND_ECHO=cat\njust words\n")));
        assertTrue(badLine.getMessage().contains("line 2") && badLine.getMessage().contains("just words"),
                badLine.getMessage());
    }

    @Test
    void theFunctionsOwnVariables_winOverWorkerEnv_andItGetsAWorkerIdAndSlots() {
        Map<String, String> env = LambdaPoolHandler.functionEnvironment(Map.of(
                LambdaPoolHandler.WORKER_ENVIRONMENT, base64("FERRY_COMMAND_ECHO=cat\nFERRY_QUEUE_URL=wrong\n"),
                "FERRY_QUEUE_URL", "https://sqs/1/ferry_Light-jobs",
                "AWS_LAMBDA_FUNCTION_NAME", "ferry-LightPoolFunction-x"));

        assertEquals("cat", env.get("FERRY_COMMAND_ECHO"));
        assertEquals("https://sqs/1/ferry_Light-jobs", env.get("FERRY_QUEUE_URL"));
        assertTrue(env.get(WorkerConfig.WORKER_ID).startsWith("lambda-ferry-LightPoolFunction-x-"), env.toString());
        assertEquals(String.valueOf(LambdaPoolHandler.DEFAULT_SLOTS), env.get(WorkerConfig.SLOTS));
        // Each environment (each function instance) is a worker of its own.
        assertTrue(!env.get(WorkerConfig.WORKER_ID).equals(LambdaPoolHandler.functionEnvironment(Map.of())
                .get(WorkerConfig.WORKER_ID)));
        assertEquals("7", LambdaPoolHandler.functionEnvironment(Map.of(WorkerConfig.SLOTS, "7")).get(WorkerConfig.SLOTS));
    }

    @Test
    void anEventsMessage_carriesWhatARunReadsOffAReceivedOne() {
        SQSEvent.SQSMessage record = new SQSEvent.SQSMessage();
        record.setMessageId("m-1");
        record.setReceiptHandle("handle-1");
        record.setBody("{\"jobId\":\"j\"}");
        record.setAttributes(Map.of("ApproximateReceiveCount", "3", "ApproximateFirstReceiveTimestamp", "1700000000000",
                "SentTimestamp", "1699999999000"));
        SQSEvent.MessageAttribute givenBack = new SQSEvent.MessageAttribute();
        givenBack.setDataType("String");
        givenBack.setStringValue("lease-7");
        record.setMessageAttributes(Map.of(Delivery.GIVEN_BACK, givenBack));

        Message message = LambdaPoolHandler.message(record);
        Delivery delivery = Delivery.of(message, Instant.EPOCH, new JobQueue(
                software.amazon.awssdk.services.sqs.SqsClient.builder()
                        .region(software.amazon.awssdk.regions.Region.US_EAST_1).build(),
                "https://sqs/1/q", "https://sqs/1/dlq", java.time.Clock.systemUTC(), new BatchAcknowledgements()));

        assertEquals("m-1", delivery.messageId());
        assertEquals("handle-1", message.receiptHandle());
        assertEquals(3, delivery.receiveCount());
        assertEquals(Instant.ofEpochMilli(1_700_000_000_000L), delivery.firstReceivedAt());
        assertEquals(java.util.Optional.of("lease-7"), delivery.givenBackLeaseId());
        assertEquals(MessageAttributeValue.builder().dataType("String").stringValue("lease-7").build(),
                message.messageAttributes().get(Delivery.GIVEN_BACK));
    }

    @Test
    void theBatchsFailures_areTheMessagesNoRunSettled() {
        BatchAcknowledgements acks = new BatchAcknowledgements();
        JobQueue queue = new JobQueue(software.amazon.awssdk.services.sqs.SqsClient.builder()
                .region(software.amazon.awssdk.regions.Region.US_EAST_1).build(),
                "https://sqs/1/q", "https://sqs/1/dlq", java.time.Clock.systemUTC(), acks);
        Delivery settled = new Delivery(Message.builder().messageId("b").receiptHandle("h").body("{}").build(), 1,
                Instant.EPOCH, queue);

        assertTrue(queue.delete(settled, "job-b"), "a delete is the mapping's: answered settled, no call made");

        assertEquals(List.of("a", "c"), acks.unsettled(List.of("a", "b", "c")));
    }
}
