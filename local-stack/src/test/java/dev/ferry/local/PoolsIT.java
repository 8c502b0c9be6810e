package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.FerryEnv;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pools through the HTTP API: each job type is routed at submit to its pool's queue and run by that
 * pool's workers only; a type no pool serves is refused before anything is written. The stack runs
 * {@link TwoPoolTemplate}: pool {@code Gpu} ({@code sample}, {@code gpu.#}) and pool {@code Light}
 * ({@code light.#}), each with its own queue and dead-letter queue.
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
                        "FERRY_COMMAND_LIGHT_RESIZE", "cat >/dev/null; echo '{\"ran\":\"light\"}'"))
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
        assertEquals(List.of(TwoPoolTemplate.GPU, TwoPoolTemplate.LIGHT),
                stack.pools().stream().map(LocalStack.LocalPool::name).toList());
        stack.startWorker(Map.of(FerryEnv.POOL, TwoPoolTemplate.GPU));

        Api.Response gpu = api.submit("{\"type\":\"gpu.render\",\"input\":{}}");
        Api.Response light = api.submit("{\"type\":\"light.resize\",\"input\":{}}");
        assertEquals(202, gpu.status(), gpu.raw().body());
        assertEquals(202, light.status(), light.raw().body());
        assertEquals(TwoPoolTemplate.GPU, gpu.body().get("pool").asText());
        assertEquals(TwoPoolTemplate.LIGHT, light.body().get("pool").asText());

        JsonNode gpuDone = api.awaitStatus(gpu.jobId(), "SUCCEEDED", WAIT);
        assertEquals("gpu", gpuDone.get("result").get("ran").asText());
        assertTrue(gpuDone.get("history").get(0).get("worker").asText().startsWith("local-Gpu-"), gpuDone.toString());
        // The Gpu pool's worker does not take the Light job: it waits in its own pool's queue.
        assertEquals("QUEUED", api.get(light.jobId()).body().get("status").asText());
        assertTrue(Queues.peekJobIds(stack.sqs(), stack.pool(TwoPoolTemplate.LIGHT).queueUrl()).contains(light.jobId()));

        stack.startWorker(Map.of(FerryEnv.POOL, TwoPoolTemplate.LIGHT));

        JsonNode lightDone = api.awaitStatus(light.jobId(), "SUCCEEDED", WAIT);
        assertEquals("light", lightDone.get("result").get("ran").asText());
        assertTrue(lightDone.get("history").get(0).get("worker").asText().startsWith("local-Light-"),
                lightDone.toString());
        assertEquals(1, lightDone.get("attempts").asInt(), "the Gpu worker never claimed it");
    }

    @Test
    void aTypeNoPoolServes_is400_andNothingIsAccepted() {
        Api.Response refused = api.submit("{\"type\":\"lite.resize\",\"input\":{}}", "typo-1");

        assertEquals(400, refused.status(), refused.raw().body());
        assertTrue(refused.error().startsWith("field \"type\": unknown job type \"lite.resize\""), refused.error());
        assertTrue(refused.error().contains("light.# (Light)"), refused.error());
        assertEquals(0, api.list("type=lite.resize").body().get("jobs").size(), "no record was written");
        // The same key with a served type is a new job: the refused request kept nothing under it.
        Api.Response fixed = api.submit("{\"type\":\"light.resize\",\"input\":{}}", "typo-1");
        assertEquals(202, fixed.status(), fixed.raw().body());
    }
}
