package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A job that runs three times longer than the queue's visibility timeout completes once: the
 * heartbeat keeps its message out of sight and its lease alive. Without it the message would come
 * back after 2 s, the lease would have run out, and the free second slot would run it again.
 */
class HeartbeatIT {

    private static LocalStack stack;
    private static Api api;

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(1).workerSlots(2)
                .environmentOverrides(Map.of("FERRY_WAIT_SECONDS", "1", "FERRY_LEASE", "2",
                        "FERRY_HEARTBEAT", "0.5")).build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    @Test
    void jobLongerThanTheVisibilityTimeout_completesOnce() {
        Api.Response accepted = api.submit("{\"type\":\"sample\",\"input\":{\"sleepMs\":6500,\"output\":\"long\"}}");

        JsonNode done = api.awaitStatus(accepted.jobId(), "SUCCEEDED", Duration.ofSeconds(60));

        assertEquals(1, done.get("attempts").asInt());
        assertEquals(1, Queues.runs(stack.sampleLedger(), accepted.jobId()));
        assertEquals(0, Queues.depth(stack.sqs(), stack.queueUrl()));
    }
}
