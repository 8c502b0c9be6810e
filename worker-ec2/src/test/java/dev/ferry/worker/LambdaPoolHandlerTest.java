package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
                just words, no assignment: systemd ignores the line
                FERRY_COMMAND_LONG=tr a-z \\
                  A-Z
                """));

        assertEquals(Map.of("FERRY_COMMAND_ECHO", "cat", "FERRY_COMMAND_QUOTED", "printf '%s' x",
                "FERRY_TIMEOUT_ECHO", "60", "FERRY_COMMAND_EQUALS", "a=b", "FERRY_COMMAND_LONG", "tr a-z  A-Z"), env);
    }

    @Test
    void workerEnv_thatIsNotBase64_isRefusedNamingTheVariable() {
        IllegalStateException notBase64 = assertThrows(IllegalStateException.class,
                () -> LambdaPoolHandler.workerEnvironment("not base64!"));
        assertTrue(notBase64.getMessage().contains(LambdaPoolHandler.WORKER_ENVIRONMENT), notBase64.getMessage());
    }

    @Test
    void ofWorkerEnv_thePoolTakesJobTypesSettingsOnly_andItsOwnVariablesWin() {
        Map<String, String> env = LambdaPoolHandler.functionEnvironment(Map.of(
                LambdaPoolHandler.WORKER_ENVIRONMENT, base64("""
                        FERRY_COMMAND_ECHO=cat
                        FERRY_TIMEOUT_ECHO=30
                        FERRY_JOB_TIMEOUT=600
                        FERRY_EVALUATE_ON_EXIT_ECHO=RETRY:75
                        FERRY_COMMAND_SLOW=sleep 9
                        FERRY_QUEUE_URL=wrong
                        FERRY_HEARTBEAT=90
                        FERRY_WORK_DIR=/opt/ferry/work
                        FERRY_HANDLER_SD=python serve.py
                        """),
                "FERRY_QUEUE_URL", "https://sqs/1/ferry_Light-jobs",
                "FERRY_COMMAND_SLOW", "sleep 1",
                "AWS_LAMBDA_FUNCTION_NAME", "ferry-LightPoolFunction-x"));

        assertEquals("cat", env.get("FERRY_COMMAND_ECHO"));
        assertEquals("30", env.get("FERRY_TIMEOUT_ECHO"));
        assertEquals("600", env.get("FERRY_JOB_TIMEOUT"));
        assertEquals("RETRY:75", env.get("FERRY_EVALUATE_ON_EXIT_ECHO"));
        assertEquals("sleep 1", env.get("FERRY_COMMAND_SLOW"), "the function's own variable wins");
        assertEquals("https://sqs/1/ferry_Light-jobs", env.get("FERRY_QUEUE_URL"));
        // The GPU workers' own settings are theirs: a heartbeat for their lease, their disk, their warm handlers.
        assertFalse(env.containsKey("FERRY_HEARTBEAT"));
        assertFalse(env.containsKey("FERRY_WORK_DIR"));
        assertFalse(env.containsKey("FERRY_HANDLER_SD"));
        assertTrue(env.get(WorkerConfig.WORKER_ID).startsWith("lambda-ferry-LightPoolFunction-x-"), env.toString());
        assertEquals(String.valueOf(LambdaPoolHandler.DEFAULT_SLOTS), env.get(WorkerConfig.SLOTS));
    }

    @Test
    void eachEnvironment_isAWorkerOfItsOwn_andSetSlotsStay() {
        Map<String, String> function = Map.of("AWS_LAMBDA_FUNCTION_NAME", "ferry-LightPoolFunction-x");
        String one = LambdaPoolHandler.functionEnvironment(function).get(WorkerConfig.WORKER_ID);
        String other = LambdaPoolHandler.functionEnvironment(function).get(WorkerConfig.WORKER_ID);
        assertTrue(one.startsWith("lambda-ferry-LightPoolFunction-x-") && !one.equals(other), one + " " + other);
        assertEquals("7", LambdaPoolHandler.functionEnvironment(Map.of(WorkerConfig.SLOTS, "7")).get(WorkerConfig.SLOTS));
        assertEquals("me", LambdaPoolHandler.functionEnvironment(Map.of(WorkerConfig.WORKER_ID, "me"))
                .get(WorkerConfig.WORKER_ID));
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
                "https://sqs/1/q", "https://sqs/1/dlq", java.time.Clock.systemUTC(), deletes -> deletes));

        assertEquals("m-1", delivery.messageId());
        assertEquals("handle-1", message.receiptHandle());
        assertEquals(3, delivery.receiveCount());
        assertEquals(Instant.ofEpochMilli(1_700_000_000_000L), delivery.firstReceivedAt());
        assertEquals(java.util.Optional.of("lease-7"), delivery.givenBackLeaseId());
        assertEquals(MessageAttributeValue.builder().dataType("String").stringValue("lease-7").build(),
                message.messageAttributes().get(Delivery.GIVEN_BACK));
    }

    @Test
    void theBatchsFailures_areTheMessagesNoRunSettled_andASettledOneIsDeletedAtOnce() {
        java.util.List<String> deleted = new java.util.ArrayList<>();
        BatchAcknowledgements acks = new BatchAcknowledgements(new MessageDeletes() {
            @Override
            public boolean delete(Delivery delivery, String jobId) {
                deleted.add(delivery.messageId());
                return false; // a delete that failed: the mapping's own delete is the second chance
            }

            @Override
            public boolean close(java.time.Duration timeout) {
                return true;
            }

            @Override
            public long[] requestsBySize() {
                return new long[11];
            }
        });
        JobQueue queue = new JobQueue(software.amazon.awssdk.services.sqs.SqsClient.builder()
                .region(software.amazon.awssdk.regions.Region.US_EAST_1).build(),
                "https://sqs/1/q", "https://sqs/1/dlq", java.time.Clock.systemUTC(), deletes -> acks);
        Delivery settled = new Delivery(Message.builder().messageId("b").receiptHandle("h").body("{}").build(), 1,
                Instant.EPOCH, queue);

        assertFalse(queue.delete(settled, "job-b"));

        assertEquals(List.of("b"), deleted, "deleted at once, not when the whole batch is done");
        assertEquals(List.of("a", "c"), acks.unsettled(List.of("a", "b", "c")), "settled, whatever the delete said");
    }
}
