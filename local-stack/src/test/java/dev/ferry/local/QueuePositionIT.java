package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A queued job's place in the queue through HTTP on the local stack: with one slot busy and jobs of
 * a type that has run before waiting behind it, each reads its position (the queued jobs ahead of
 * it) and an ETA, labelled an estimate; a running or finished job has none.
 */
class QueuePositionIT {

    private static final Duration FINISH = Duration.ofSeconds(60);
    private static LocalStack stack;
    private static Api api;

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(1).workerSlots(1).build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    @Test
    void queuedJobs_readTheirPositionAndAnEta_behindABusySlot() {
        // Runs of the type to go by.
        for (int i = 0; i < 2; i++) {
            api.awaitStatus(api.submit("{\"type\":\"sample\",\"input\":{\"sleepMs\":300}}").jobId(), "SUCCEEDED", FINISH);
        }
        String busy = api.submit("{\"type\":\"sample\",\"input\":{\"sleepMs\":30000}}").jobId();
        api.awaitStatus(busy, "RUNNING", FINISH);
        List<String> waiting = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            waiting.add(api.submit("{\"type\":\"sample\",\"input\":{\"output\":" + i + "}}").jobId());
        }

        // A function instance keeps "no run of this type yet" for a few seconds (QueueEstimator.EMPTY_KEPT):
        // read until every estimate has its ETA (the busy job holds the only slot for 30 s).
        List<JsonNode> queues = new ArrayList<>();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(500))
                .untilAsserted(() -> {
                    queues.clear();
                    for (String jobId : waiting) {
                        JsonNode job = api.get(jobId).body();
                        assertEquals("QUEUED", job.get("status").asText(), job.toString());
                        queues.add(job.get("queue"));
                    }
                    assertTrue(queues.stream().allMatch(queue -> queue.has("etaSeconds")), queues.toString());
                });

        for (int i = 0; i < 3; i++) {
            JsonNode queue = queues.get(i);
            assertEquals(i, queue.get("position").asInt(), "the queued jobs ahead of it: " + queue);
            assertTrue(queue.get("estimate").asBoolean());
            assertTrue(queue.get("etaSeconds").asLong() >= 1, "one slot working, runs of its type known: " + queue);
        }
        assertTrue(queues.get(2).get("etaSeconds").asLong() >= queues.get(0).get("etaSeconds").asLong(), queues.toString());
        JsonNode running = api.get(busy).body();
        assertFalse(running.has("queue"), "a running job has no place in the queue: " + running);
    }
}
