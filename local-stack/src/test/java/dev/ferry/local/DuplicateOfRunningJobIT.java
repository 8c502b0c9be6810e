package dev.ferry.local;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.JobMessage;
import dev.ferry.core.Json;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sqs.model.SendMessageRequest;

/**
 * A second message for a job that is running right now is left in the queue (out of sight), never
 * deleted: if the running worker dies, the job must still be on the queue. Once the job is done,
 * the copy comes back and is deleted unrun.
 */
class DuplicateOfRunningJobIT {

    private static LocalStack stack;
    private static Api api;

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(1).workerSlots(2)
                .environmentOverrides(Map.of("FERRY_WAIT_SECONDS", "1", "FERRY_DUPLICATE_DEFER", "4")).build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    @Test
    void duplicateOfARunningJob_isLeftAlone_thenDeletedUnrunOnceTheJobIsDone() {
        Api.Response accepted = api.submit("{\"type\":\"sample\",\"input\":{\"sleepMs\":3000,\"output\":1}}");
        api.awaitStatus(accepted.jobId(), "RUNNING", Duration.ofSeconds(30));

        String body = new JobMessage(accepted.jobId(), "sample", Json.parse("{\"sleepMs\":3000,\"output\":1}")).toJson();
        stack.sqs().sendMessage(SendMessageRequest.builder().queueUrl(stack.queueUrl()).messageBody(body).build());

        // The running job's message and its duplicate: both stay in the queue while it runs.
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(100))
                .until(() -> Queues.depth(stack.sqs(), stack.queueUrl()) == 2);

        api.awaitStatus(accepted.jobId(), "SUCCEEDED", Duration.ofSeconds(30));
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200))
                .until(() -> Queues.depth(stack.sqs(), stack.queueUrl()) == 0);
        assertEquals(1, Queues.runs(stack.sampleLedger(), accepted.jobId()));
        assertTrue(api.get(accepted.jobId()).body().get("attempts").asInt() == 1);
    }
}
