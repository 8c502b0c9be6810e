package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A worker with one free GPU slot holds at most one message, however many wait. */
class NoHoardingIT {

    private static LocalStack stack;
    private static Api api;

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(1).workerSlots(1)
                .environmentOverrides(Map.of("FERRY_WAIT_SECONDS", "1")).build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    @Test
    void oneSlot_neverHoldsMoreThanOneMessage() {
        List<String> jobs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            jobs.add(api.submit("{\"type\":\"sample\",\"input\":{\"sleepMs\":800}}").jobId());
        }
        int maxInFlight = 0;
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            maxInFlight = Math.max(maxInFlight, Queues.inFlight(stack.sqs(), stack.queueUrl()));
            boolean allDone = jobs.stream()
                    .allMatch(id -> api.get(id).body().get("status").asText().equals("SUCCEEDED"));
            if (allDone) {
                break;
            }
        }
        assertEquals(1, maxInFlight, "one slot: at most one message in flight, and the job did run");
        for (String id : jobs) {
            assertEquals("SUCCEEDED", api.get(id).body().get("status").asText());
        }
        assertTrue(Queues.depth(stack.sqs(), stack.queueUrl()) == 0);
    }
}
