package dev.ferry.local;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.JobIds;
import dev.ferry.worker.GpuSlots;
import dev.ferry.worker.Worker;
import dev.ferry.worker.WorkerConfig;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Deadlines through HTTP on the local stack: a job still running at its deadline is stopped and
 * reads CANCELLED (not FAILED, not retried); one whose deadline passes while it waits, or while
 * it backs off after a failure, is never started again; a bad deadline is a 400 that leaves
 * nothing behind; a type's default applies when the request gives none. Each test starts the
 * one-slot worker it needs.
 */
class DeadlineIT {

    private static final Duration FINISH = Duration.ofSeconds(60);
    private static LocalStack stack;
    private static Api api;
    private Worker worker;

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0)
                .environmentOverrides(Map.of("FERRY_DEFAULT_DEADLINES", "sample=1h")).build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    @AfterEach
    void stopWorker() {
        if (worker != null) {
            worker.close();
        }
    }

    private void startWorker(Map<String, String> overrides) {
        Map<String, String> env = new HashMap<>(Map.of(GpuSlots.ENV_SLOTS, "1"));
        env.putAll(overrides);
        worker = stack.startWorker(env);
    }

    @Test
    void aJobStillRunningAtItsDeadline_isStopped_andReadsCancelled_notFailedNorRetried() {
        startWorker(Map.of());
        Api.Response accepted = api.submitWith("{\"type\":\"sample\",\"input\":{\"sleepMs\":300000}}",
                Map.of("Cancel-After", "4s"));
        assertEquals(202, accepted.status(), accepted.body().toString());
        Instant deadline = Instant.parse(accepted.body().get("deadline").asText());

        JsonNode cancelled = api.awaitStatus(accepted.jobId(), "CANCELLED", FINISH);

        assertEquals("deadline " + deadline + " passed while it ran", cancelled.get("cancelReason").asText());
        assertEquals(1, cancelled.get("attempts").asInt(), "not retried");
        assertFalse(cancelled.has("error"));
        assertEquals(List.of("cancelled"), outcomes(cancelled));
        assertFalse(Instant.parse(cancelled.get("finishedAt").asText()).isBefore(deadline), "stopped at the deadline");
        await().atMost(FINISH).until(() -> Queues.depth(stack.sqs(), stack.queueUrl()) == 0);
        assertEquals(1, Queues.runs(stack.sampleLedger(), accepted.jobId()));
    }

    @Test
    void aJobWhoseDeadlinePassesWhileItWaits_isNeverStarted() {
        Api.Response accepted = api.submitWith("{\"type\":\"sample\",\"input\":{\"output\":\"late\"}}",
                Map.of("Cancel-After", "1s"));
        Instant deadline = Instant.parse(accepted.body().get("deadline").asText());
        await().atMost(FINISH).until(() -> Instant.now().isAfter(deadline)); // no worker until it has passed
        assertEquals("QUEUED", api.get(accepted.jobId()).body().get("status").asText(),
                "it reads as it is until a worker sees it");

        startWorker(Map.of());

        JsonNode cancelled = api.awaitStatus(accepted.jobId(), "CANCELLED", FINISH);
        assertEquals("deadline " + deadline + " passed before it started", cancelled.get("cancelReason").asText());
        assertEquals(0, cancelled.get("attempts").asInt(), "the claim that found it so is not an attempt");
        assertEquals(0, Queues.runs(stack.sampleLedger(), accepted.jobId()));
        await().atMost(FINISH).until(() -> Queues.depth(stack.sqs(), stack.queueUrl()) == 0);
    }

    @Test
    void aJobWhoseDeadlinePassesWhileItBacksOff_isCancelledAtItsNextClaim() {
        // The first attempt fails at once; its retry is delayed 10-20 s, well past the deadline.
        startWorker(Map.of(WorkerConfig.RETRY_BASE, "20", WorkerConfig.RETRY_MAX, "20"));
        Api.Response accepted = api.submitWith("{\"type\":\"sample\",\"input\":{\"failTimes\":5}}",
                Map.of("Cancel-After", "8s"));
        Instant deadline = Instant.parse(accepted.body().get("deadline").asText());

        JsonNode cancelled = api.awaitStatus(accepted.jobId(), "CANCELLED", FINISH);

        assertEquals("deadline " + deadline + " passed before it could run again (attempt 2)",
                cancelled.get("cancelReason").asText());
        assertEquals(List.of("retrying"), outcomes(cancelled));
        assertEquals(1, cancelled.get("attempts").asInt());
        assertEquals(1, Queues.runs(stack.sampleLedger(), accepted.jobId()));
        await().atMost(FINISH).until(() -> Queues.depth(stack.sqs(), stack.queueUrl()) == 0);
    }

    @Test
    void aBadDeadline_is400NamingTheFieldOrHeader_andLeavesNothingBehind() {
        int depth = Queues.depth(stack.sqs(), stack.queueUrl());
        Instant now = Instant.now();
        Map<String, Map.Entry<String, Map<String, String>>> cases = Map.of(
                "field \"deadline\" is in the past",
                Map.entry("{\"type\":\"sample\",\"deadline\":\"" + now.minusSeconds(60) + "\"}", Map.of()),
                "field \"deadline\" must be an ISO-8601 instant",
                Map.entry("{\"type\":\"sample\",\"deadline\":\"next tuesday\"}", Map.of()),
                "field \"deadline\" is more than 14 days ahead",
                Map.entry("{\"type\":\"sample\",\"deadline\":\"" + now.plus(Duration.ofDays(15)) + "\"}", Map.of()),
                "header Cancel-After must be a duration",
                Map.entry("{\"type\":\"sample\"}", Map.of("Cancel-After", "soon")),
                "header Cancel-After and field \"deadline\" exclude each other",
                Map.entry("{\"type\":\"sample\",\"deadline\":\"" + now.plusSeconds(600) + "\"}",
                        Map.of("Cancel-After", "5m")));
        int n = 0;
        for (Map.Entry<String, Map.Entry<String, Map<String, String>>> one : cases.entrySet()) {
            String key = "bad-deadline-" + n++;
            Map<String, String> headers = new HashMap<>(one.getValue().getValue());
            headers.put("Idempotency-Key", key);
            Api.Response refused = api.submitWith(one.getValue().getKey(), headers);
            assertEquals(400, refused.status(), refused.body().toString());
            assertTrue(refused.error().startsWith(one.getKey()), refused.error());
            assertEquals(404, api.get(JobIds.forIdempotencyKey("", key)).status(), "no record: " + one.getKey());
        }
        assertEquals(depth, Queues.depth(stack.sqs(), stack.queueUrl()), "nothing was queued");
    }

    @Test
    void aTypesDefaultDeadline_appliesWhenTheRequestGivesNone() {
        Instant before = Instant.now();
        Api.Response accepted = api.submit("{\"type\":\"sample\",\"input\":{\"output\":\"default\"}}");
        Instant after = Instant.now();

        Instant deadline = Instant.parse(accepted.body().get("deadline").asText());
        assertFalse(deadline.isBefore(before.plus(Duration.ofHours(1)).minusMillis(1)), deadline.toString());
        assertFalse(deadline.isAfter(after.plus(Duration.ofHours(1))), deadline.toString());
        assertEquals(deadline.toString(), api.get(accepted.jobId()).body().get("deadline").asText());
        assertEquals(200, api.cancel(accepted.jobId()).status(), "no worker runs here: it waits, and is cancelled at once");
    }

    private static List<String> outcomes(JsonNode job) {
        List<String> outcomes = new java.util.ArrayList<>();
        job.path("history").forEach(entry -> outcomes.add(entry.get("outcome").asText()));
        return outcomes;
    }
}
