package dev.ferry.local;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.worker.GpuSlots;
import dev.ferry.worker.Worker;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code POST /jobs/{jobId}/cancel} through HTTP on the local stack: a queued job never runs, a
 * running one is stopped within one heartbeat (its warm handler stopped and started again, a
 * command's process tree killed) and its slot freed, a finished one is a 409, twice is no error.
 * Each test starts the one-slot worker it needs, so that a queued job stays queued until then.
 */
class CancelIT {

    /** A heartbeat (3 s locally), the handler's stop (at most twice the kill grace), and room for a loaded machine. */
    private static final Duration STOPPED = Duration.ofSeconds(45);
    private static final Duration FINISH = Duration.ofSeconds(60);
    private static LocalStack stack;
    private static Api api;
    private Worker worker;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0).build());
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

    private Worker startWorker(Map<String, String> overrides) {
        Map<String, String> env = new java.util.HashMap<>(Map.of(GpuSlots.ENV_SLOTS, "1"));
        env.putAll(overrides);
        worker = stack.startWorker(env);
        return worker;
    }

    private static JsonNode awaitRunning(String jobId) {
        return api.awaitStatus(jobId, "RUNNING", FINISH);
    }

    @Test
    void aQueuedJob_readsCancelledAtOnce_andTheWorkerThatReceivesItsMessageDeletesItUnrun() {
        Api.Response accepted = api.submit("{\"type\":\"sample\",\"input\":{\"output\":\"never\"}}");
        assertEquals("QUEUED", accepted.body().get("status").asText());

        Api.Response cancelled = api.cancel(accepted.jobId());

        assertEquals(200, cancelled.status(), cancelled.body().toString());
        assertEquals("CANCELLED", cancelled.body().get("status").asText());
        assertEquals("cancelled by the client", cancelled.body().get("cancelReason").asText());
        assertFalse(cancelled.body().has("cancelRequested"));
        JsonNode read = api.get(accepted.jobId()).body();
        assertEquals("CANCELLED", read.get("status").asText());
        assertTrue(read.has("finishedAt"));
        Api.Response twice = api.cancel(accepted.jobId());
        assertEquals(200, twice.status(), "cancelling twice is not an error");
        assertEquals(read.get("finishedAt"), twice.body().get("finishedAt"), "and changes nothing");

        startWorker(Map.of());
        await().atMost(FINISH).until(() -> Queues.depth(stack.sqs(), stack.queueUrl()) == 0);
        assertEquals(0, Queues.runs(stack.sampleLedger(), accepted.jobId()), "it never ran");
        JsonNode after = api.get(accepted.jobId()).body();
        assertEquals("CANCELLED", after.get("status").asText());
        assertEquals(0, after.get("attempts").asInt());
    }

    @Test
    void aRunningWarmJob_isStoppedWithinAHeartbeat_itsHandlerStartedAgain_andItsSlotFreed() {
        startWorker(Map.of());
        Api.Response accepted = api.submit("{\"type\":\"sample\",\"input\":{\"sleepMs\":300000}}");
        awaitRunning(accepted.jobId());
        await().atMost(FINISH).until(() -> Queues.runs(stack.sampleLedger(), accepted.jobId()) == 1);

        Api.Response cancel = api.cancel(accepted.jobId());

        assertEquals(202, cancel.status(), cancel.body().toString());
        assertEquals("RUNNING", cancel.body().get("status").asText());
        assertTrue(cancel.body().get("cancelRequested").asBoolean());
        assertTrue(cancel.body().has("cancelRequestedAt"));
        Api.Response again = api.cancel(accepted.jobId());
        assertTrue(again.status() == 202 || again.status() == 200, "twice is not an error: " + again.status());

        JsonNode cancelled = api.awaitStatus(accepted.jobId(), "CANCELLED", STOPPED);
        assertEquals("cancelled by the client", cancelled.get("cancelReason").asText());
        assertEquals(1, cancelled.get("attempts").asInt());
        JsonNode last = cancelled.get("history").get(cancelled.get("history").size() - 1);
        assertEquals("cancelled", last.get("outcome").asText());
        assertEquals(1, last.get("attempt").asInt());
        await().atMost(FINISH).until(() -> Queues.depth(stack.sqs(), stack.queueUrl()) == 0);
        assertEquals(200, api.cancel(accepted.jobId()).status());

        // The one slot takes the next job, on a handler process started afresh (its first job).
        Api.Response next = api.submit("{\"type\":\"sample\",\"input\":{\"output\":\"after\"}}");
        JsonNode done = api.awaitStatus(next.jobId(), "SUCCEEDED", FINISH);
        assertEquals(1, done.get("result").get("jobsServed").asInt(), "the stopped handler was started again");
        assertEquals(1, Queues.runs(stack.sampleLedger(), accepted.jobId()), "the cancelled job ran once, never again");
    }

    @Test
    void aRunningCommand_isKilledWithEveryProcessItStarted() throws Exception {
        Path pidFile = dir.resolve("child.pid");
        startWorker(Map.of("FERRY_COMMAND_SLEEPY", "cat >/dev/null; sleep 300 & echo $! > '" + pidFile + "'; wait"));
        Api.Response accepted = api.submit("{\"type\":\"sleepy\",\"input\":{}}");
        await().atMost(FINISH).until(() -> Files.exists(pidFile) && !Files.readString(pidFile).isBlank());
        long child = Long.parseLong(Files.readString(pidFile).strip());
        assertTrue(running(child));

        assertEquals(202, api.cancel(accepted.jobId()).status());

        JsonNode cancelled = api.awaitStatus(accepted.jobId(), "CANCELLED", STOPPED);
        assertFalse(running(child), "the command's child " + child + " outlived the cancel");
        assertEquals("cancelled", cancelled.get("history").get(0).get("outcome").asText());
        await().atMost(FINISH).until(() -> Queues.depth(stack.sqs(), stack.queueUrl()) == 0);
    }

    @Test
    void aFinishedJob_is409NamingItsStatus_andUnknownIdsAre404() {
        startWorker(Map.of());
        Api.Response accepted = api.submit("{\"type\":\"sample\",\"input\":{\"output\":1}}");
        api.awaitStatus(accepted.jobId(), "SUCCEEDED", FINISH);

        Api.Response refused = api.cancel(accepted.jobId());

        assertEquals(409, refused.status());
        assertTrue(refused.error().contains("SUCCEEDED"), refused.error());
        assertEquals("SUCCEEDED", api.get(accepted.jobId()).body().get("status").asText());
        assertEquals(404, api.cancel("01KAAAAAAAAAAAAAAAAAAAAAAA").status());
        assertEquals(404, api.cancel("not-an-id").status());
    }

    /** Alive and not a zombie (a container's init may never reap a killed grandchild). */
    private static boolean running(long pid) throws IOException {
        if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            Path stat = Path.of("/proc", Long.toString(pid), "stat");
            if (!Files.exists(stat)) {
                return true;
            }
            try {
                String text = Files.readString(stat);
                return text.charAt(text.lastIndexOf(')') + 2) != 'Z';
            } catch (IOException e) {
                return false; // gone between the two looks
            }
        }
        return false;
    }
}
