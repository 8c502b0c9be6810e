package dev.ferry.local;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.JobMessage;
import dev.ferry.core.Json;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sqs.model.SendMessageRequest;

/**
 * The whole pipeline through HTTP on the embedded stack: API → DynamoDB + SQS → worker → status.
 * Local settings: maxReceiveCount 3, back-off from 1 s, the sample job run as a real process.
 */
class PipelineIT {

    private static final Duration FINISH = Duration.ofSeconds(60);
    private static LocalStack stack;
    private static Api api;

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(1).workerSlots(2)
                .environmentOverrides(Map.of("FERRY_WAIT_SECONDS", "1")).build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    @Test
    void sampleJob_runsOnce_andReadsSucceededWithItsOutput() {
        Api.Response accepted = api.submit("{\"type\":\"sample\",\"input\":{\"sleepMs\":200,\"output\":{\"img\":\"a.png\"}}}");

        assertEquals(202, accepted.status(), accepted.body().toString());
        assertEquals("QUEUED", accepted.body().get("status").asText());
        JsonNode done = api.awaitStatus(accepted.jobId(), "SUCCEEDED", FINISH);
        assertEquals("a.png", done.get("result").get("output").get("img").asText());
        assertEquals(1, done.get("attempts").asInt());
        assertEquals(1, Queues.runs(stack.sampleLedger(), accepted.jobId()));
    }

    @Test
    void idempotentReplay_returnsTheSameJob_andAConflictingBodyIs409() {
        String body = "{\"type\":\"sample\",\"input\":{\"output\":\"once\"}}";
        Api.Response first = api.submit(body, "pipeline-replay-1");
        Api.Response again = api.submit(body, "pipeline-replay-1");
        Api.Response conflict = api.submit("{\"type\":\"sample\",\"input\":{\"output\":\"other\"}}", "pipeline-replay-1");

        assertEquals(202, first.status());
        assertEquals(200, again.status());
        assertEquals(first.jobId(), again.jobId());
        assertEquals(409, conflict.status());
        assertTrue(conflict.error().contains("Idempotency-Key"), conflict.error());
        api.awaitStatus(first.jobId(), "SUCCEEDED", FINISH);
        assertEquals(1, Queues.runs(stack.sampleLedger(), first.jobId()));
    }

    @Test
    void badRequests_get4xxNamingTheField_neverA500() {
        assertEquals(400, api.submit("{\"type\":").status());
        Api.Response missingType = api.submit("{\"input\":{}}");
        assertEquals(400, missingType.status());
        assertTrue(missingType.error().contains("\"type\""), missingType.error());
        Api.Response tooBig = api.submit("{\"type\":\"sample\",\"input\":\"" + "x".repeat(300_000) + "\"}");
        assertEquals(413, tooBig.status());
        assertTrue(tooBig.error().contains("\"input\""), tooBig.error());
        assertEquals(404, api.get("01JD3N3Y3ZX2W0K7Q8M9P4R5S6").status());
        assertEquals(404, api.get("not-an-id").status());
    }

    @Test
    void failingAttempts_backOff_thenSucceed() {
        // maxReceiveCount is 3 locally: fail twice, succeed on the third and last attempt.
        Api.Response accepted = api.submit("{\"type\":\"sample\",\"input\":{\"failTimes\":2,\"output\":\"third time\"}}");

        JsonNode done = api.awaitStatus(accepted.jobId(), "SUCCEEDED", FINISH);

        assertEquals(3, done.get("attempts").asInt());
        assertEquals("third time", done.get("result").get("output").asText());
        assertTrue(!done.has("error"), "a succeeded job shows no stale error: " + done);
        assertEquals(3, Queues.runs(stack.sampleLedger(), accepted.jobId()));
    }

    @Test
    void outOfAttempts_readsFailed_withItsError_andItsMessageIsInTheDlq() {
        Api.Response accepted = api.submit("{\"type\":\"sample\",\"input\":{\"failTimes\":99}}");

        JsonNode failed = api.awaitStatus(accepted.jobId(), "FAILED", FINISH);

        assertEquals(stack.maxReceiveCount(), failed.get("attempts").asInt());
        assertTrue(failed.get("error").asText().contains("failing on purpose"), failed.toString());
        await().atMost(FINISH).pollInterval(Duration.ofMillis(200)).until(() ->
                Queues.peekJobIds(stack.sqs(), stack.deadLetterQueueUrl()).contains(accepted.jobId()));
    }

    @Test
    void duplicateDeliveryOfAFinishedJob_isDeletedWithoutRunning() {
        Api.Response accepted = api.submit("{\"type\":\"sample\",\"input\":{\"output\":\"dup\"}}");
        api.awaitStatus(accepted.jobId(), "SUCCEEDED", FINISH);

        // SQS delivers at least once: the same job arrives again, under a new message id.
        String body = new JobMessage(accepted.jobId(), "sample", Json.parse("{\"output\":\"dup\"}")).toJson();
        String duplicateId = stack.sqs().sendMessage(SendMessageRequest.builder()
                .queueUrl(stack.queueUrl()).messageBody(body).build()).messageId();

        await().atMost(FINISH).pollInterval(Duration.ofMillis(100))
                .until(() -> Queues.depth(stack.sqs(), stack.queueUrl()) == 0);
        assertNotEquals("", duplicateId);
        assertEquals(1, Queues.runs(stack.sampleLedger(), accepted.jobId()));
        JsonNode job = api.get(accepted.jobId()).body();
        assertEquals("SUCCEEDED", job.get("status").asText());
        assertEquals(1, job.get("attempts").asInt());
    }
}
