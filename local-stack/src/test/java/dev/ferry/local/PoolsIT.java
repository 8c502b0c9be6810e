package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.Json;
import dev.ferry.worker.Worker;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pools through the HTTP API: each job type is routed at submit to its pool's queue and run by that
 * pool's workers only; a type no pool serves is refused before anything is written. The stack runs
 * {@link TwoPoolTemplate}: pool {@code Gpu} ({@code sample}, {@code gpu.#}) and pool {@code Large}
 * ({@code sdxl}, {@code flux}), each with its own queues and dead-letter queue.
 */
class PoolsIT {

    private static final Duration WAIT = Duration.ofSeconds(60);
    @TempDir
    static Path dir;
    private static LocalStack stack;
    private static Api api;

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0)
                .templatePath(TwoPoolTemplate.write(dir))
                .environmentOverrides(Map.of(
                        "FERRY_COMMAND_GPU_RENDER", "cat >/dev/null; echo '{\"ran\":\"gpu\"}'",
                        // Out of GPU memory on the Gpu pool; fits on Large.
                        "FERRY_COMMAND_GPU_BIG", "cat >/dev/null; if [ \"$FERRY_POOL\" = Large ]; then echo"
                                + " '{\"ran\":\"large\"}'; else echo 'RuntimeError: CUDA out of memory' >&2; exit 1; fi",
                        // Fails at once (exit 65: a retry would fail the same way) until its marker file exists.
                        "FERRY_COMMAND_FLUX", "cat >/dev/null; if [ -f " + dir.resolve("flux-fixed") + " ]; then echo"
                                + " '{\"ran\":\"flux\"}'; else echo broken >&2; exit 65; fi",
                        "FERRY_COMMAND_SDXL", "cat >/dev/null; echo '{\"ran\":\"large\"}'"))
                .build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void eachJobType_runsOnItsOwnPoolsWorkers_andWaitsForThemAlone() {
        assertEquals(List.of(TwoPoolTemplate.GPU, TwoPoolTemplate.LARGE, TwoPoolTemplate.LIGHT),
                stack.pools().stream().map(LocalStack.LocalPool::name).toList());
        assertEquals(List.of(true, true, false), stack.pools().stream().map(LocalStack.LocalPool::workers).toList(),
                "the Lambda pool's function is its worker");
        Worker gpuWorker = stack.startWorker(Map.of(FerryEnv.POOL, TwoPoolTemplate.GPU));
        try {
            runsOnItsOwnPool();
        } finally {
            gpuWorker.close();
        }
    }

    private void runsOnItsOwnPool() {
        Api.Response gpu = api.submit("{\"type\":\"gpu.render\",\"input\":{}}");
        Api.Response large = api.submit("{\"type\":\"sdxl\",\"input\":{}}");
        assertEquals(202, gpu.status(), gpu.raw().body());
        assertEquals(202, large.status(), large.raw().body());
        assertEquals(TwoPoolTemplate.GPU, gpu.body().get("pool").asText());
        assertEquals(TwoPoolTemplate.LARGE, large.body().get("pool").asText());

        JsonNode gpuDone = api.awaitStatus(gpu.jobId(), "SUCCEEDED", WAIT);
        assertEquals("gpu", gpuDone.get("result").get("ran").asText());
        assertTrue(gpuDone.get("history").get(0).get("worker").asText().startsWith("local-Gpu-"), gpuDone.toString());
        // The Gpu pool's worker does not take the Large job: it waits in its own pool's queue.
        assertEquals("QUEUED", api.get(large.jobId()).body().get("status").asText());
        assertTrue(Queues.peekJobIds(stack.sqs(), stack.pool(TwoPoolTemplate.LARGE).queueUrl()).contains(large.jobId()));

        Worker largeWorker = stack.startWorker(Map.of(FerryEnv.POOL, TwoPoolTemplate.LARGE));
        try {
            JsonNode largeDone = api.awaitStatus(large.jobId(), "SUCCEEDED", WAIT);
            assertEquals("large", largeDone.get("result").get("ran").asText());
            assertTrue(largeDone.get("history").get(0).get("worker").asText().startsWith("local-Large-"),
                    largeDone.toString());
            assertEquals(1, largeDone.get("attempts").asInt(), "the Gpu worker never claimed it");
        } finally {
            largeWorker.close();
        }
    }

    @Test
    void aHighPriorityJob_overtakesItsPoolsNormalBacklog() throws Exception {
        // The Gpu pool's lane: a backlog of normal jobs first, then one high job; then one worker, one slot.
        List<String> backlog = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Api.Response normal = api.submit("{\"type\":\"sample\",\"input\":{\"sleepMs\":50}}");
            assertEquals(202, normal.status(), normal.raw().body());
            backlog.add(normal.jobId());
        }
        Api.Response high = api.submit("{\"type\":\"sample\",\"priority\":\"high\",\"input\":{\"sleepMs\":50}}");
        assertEquals(202, high.status(), high.raw().body());
        assertEquals("high", high.body().get("priority").asText());
        assertTrue(Queues.peekJobIds(stack.sqs(), stack.pool(TwoPoolTemplate.GPU).priorityQueueUrl().orElseThrow())
                .contains(high.jobId()), "the high job waits in the pool's lane");

        Worker worker = stack.startWorker(Map.of(FerryEnv.POOL, TwoPoolTemplate.GPU, "FERRY_SLOTS", "1"));
        try {
            for (String jobId : backlog) {
                api.awaitStatus(jobId, "SUCCEEDED", WAIT);
            }
            api.awaitStatus(high.jobId(), "SUCCEEDED", WAIT);
        } finally {
            worker.close();
        }
        List<String> started = Files.readAllLines(stack.sampleLedger()).stream()
                .map(line -> line.split(" ")[0]).filter(id -> id.equals(high.jobId()) || backlog.contains(id)).toList();
        assertEquals(high.jobId(), started.get(0), "the high job ran first: " + started);
    }

    @Test
    void redrivePerPool_sendsBackOnlyThatPoolsDeadLetters() throws Exception {
        Worker worker = stack.startWorker(Map.of(FerryEnv.POOL, TwoPoolTemplate.LARGE));
        try {
            redrivesLargeOnly();
        } finally {
            worker.close();
        }
    }

    private void redrivesLargeOnly() throws Exception {
        String failing = api.submit("{\"type\":\"flux\",\"input\":{}}").jobId();
        JsonNode failed = api.awaitStatus(failing, "FAILED", WAIT);
        assertEquals(TwoPoolTemplate.LARGE, failed.get("pool").asText());
        String largeDeadLetters = stack.pool(TwoPoolTemplate.LARGE).deadLetterQueueUrl();
        await().atMost(WAIT).until(() -> Queues.depth(stack.sqs(), largeDeadLetters) == 1);

        // The Gpu pool's redrive leaves it where it is.
        HttpResponse<String> gpu = Api.admin(stack, "POST", "redrive?pool=" + TwoPoolTemplate.GPU);
        assertEquals(202, gpu.statusCode(), gpu.body());
        assertEquals(0, Json.parse(gpu.body()).get("requeuedJobs").asInt(), gpu.body());
        assertEquals("FAILED", api.get(failing).body().get("status").asText());
        HttpResponse<String> unknown = Api.admin(stack, "POST", "redrive?pool=Huge");
        assertEquals(404, unknown.statusCode(), unknown.body());
        assertTrue(unknown.body().contains("no pool \\\"Huge\\\"") && unknown.body().contains("[Gpu, Large, Light]"),
                unknown.body());
        HttpResponse<String> overview = Api.admin(stack, "GET", "overview");
        JsonNode pools = Json.parse(overview.body()).at("/queues/pools");
        assertEquals(3, pools.size(), overview.body());
        assertEquals(1, pools.get(1).at("/deadLetter/visible").asInt() + pools.get(1).at("/deadLetter/inFlight").asInt(),
                "Large's dead letter, in Large's row: " + pools);

        // Fixed, and Large's redrive: the job runs again on Large's workers, from Large's dead-letter queue.
        Files.createFile(dir.resolve("flux-fixed"));
        HttpResponse<String> large = Api.admin(stack, "POST", "redrive?pool=" + TwoPoolTemplate.LARGE);
        assertEquals(202, large.statusCode(), large.body());
        assertEquals(1, Json.parse(large.body()).get("requeuedJobs").asInt(), large.body());
        JsonNode done = api.awaitRedriven(failing, "SUCCEEDED", WAIT);
        assertEquals("flux", done.get("result").get("ran").asText());
        await().atMost(WAIT).until(() -> Queues.depth(stack.sqs(), largeDeadLetters) == 0);
    }


    @Test
    void anAttemptFailingAsTheRuleSays_isRetriedOnTheOtherPool() {
        Worker gpuWorker = stack.startWorker(Map.of(FerryEnv.POOL, TwoPoolTemplate.GPU));
        Worker largeWorker = stack.startWorker(Map.of(FerryEnv.POOL, TwoPoolTemplate.LARGE));
        try {
            Api.Response big = api.submit("{\"type\":\"gpu.big\",\"input\":{}}");
            assertEquals(TwoPoolTemplate.GPU, big.body().get("pool").asText(), big.raw().body());

            JsonNode done = api.awaitStatus(big.jobId(), "SUCCEEDED", WAIT);
            assertEquals("large", done.get("result").get("ran").asText());
            assertEquals(TwoPoolTemplate.LARGE, done.get("pool").asText(), "the record names the pool it moved to");
            assertEquals(2, done.get("attempts").asInt(), done.toString());
            JsonNode first = done.get("history").get(0);
            assertEquals("retrying", first.get("outcome").asText(), done.toString());
            assertTrue(first.get("worker").asText().startsWith("local-Gpu-"), done.toString());
            assertTrue(first.get("error").asText().contains("CUDA out of memory"), done.toString());
            assertTrue(done.get("history").get(1).get("worker").asText().startsWith("local-Large-"), done.toString());
        } finally {
            gpuWorker.close();
            largeWorker.close();
        }
    }

    @Test
    void aTypeNoPoolServes_is400_andNothingIsAccepted() {
        Api.Response refused = api.submit("{\"type\":\"lite.resize\",\"input\":{}}", "typo-1");

        assertEquals(400, refused.status(), refused.raw().body());
        assertTrue(refused.error().startsWith("field \"type\": unknown job type \"lite.resize\""), refused.error());
        assertTrue(refused.error().contains("sdxl (Large)"), refused.error());
        assertEquals(0, api.list("type=lite.resize").body().get("jobs").size(), "no record was written");
        // The same key with a served type is a new job: the refused request kept nothing under it.
        Api.Response fixed = api.submit("{\"type\":\"gpu.render\",\"input\":{}}", "typo-1");
        assertEquals(202, fixed.status(), fixed.raw().body());
    }
}
