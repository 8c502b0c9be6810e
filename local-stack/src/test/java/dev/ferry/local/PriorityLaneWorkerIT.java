package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.DynamoDbJobStore;
import dev.ferry.core.Job;
import dev.ferry.core.JobIds;
import dev.ferry.core.JobMessage;
import dev.ferry.core.JobStatus;
import dev.ferry.core.Json;
import dev.ferry.worker.WorkerConfig;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

/**
 * A worker with a high-priority lane runs the lane's job before a backlog that was queued first,
 * acknowledges it in the lane (both queues end empty), and refuses a lane that does not redrive to
 * the pool's dead-letter queue. The worker is given a lane of the test's own (the template's lanes
 * and the submit's "priority" are PoolsIT's), so the high job is recorded through the store and its
 * message sent to that lane, as the submit does.
 */
class PriorityLaneWorkerIT {

    private static LocalStack stack;
    private static Api api;

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0).workerSlots(1).build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    private static String createQueue(String name, Map<QueueAttributeName, String> attributes) {
        return stack.sqs().createQueue(r -> r.queueName(name).attributes(attributes)).queueUrl();
    }

    private static String redriveToTheDeadLetterQueue() {
        String arn = stack.sqs().getQueueAttributes(r -> r.queueUrl(stack.deadLetterQueueUrl())
                .attributeNames(QueueAttributeName.QUEUE_ARN)).attributes().get(QueueAttributeName.QUEUE_ARN);
        return "{\"deadLetterTargetArn\":\"" + arn + "\",\"maxReceiveCount\":\"" + stack.maxReceiveCount() + "\"}";
    }

    private static String status(String jobId) {
        return api.get(jobId).body().get("status").asText();
    }

    private static void await(List<String> jobs, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (!jobs.stream().allMatch(id -> status(id).equals("SUCCEEDED"))) {
            assertTrue(System.nanoTime() < deadline, "jobs did not all succeed within " + within);
            Thread.sleep(100);
        }
    }

    @Test
    void theLanesJob_runsBeforeTheBacklogQueuedEarlier_andIsAcknowledgedInItsLane() throws Exception {
        String lane = createQueue("ferry-jobs-high", Map.of(QueueAttributeName.REDRIVE_POLICY,
                redriveToTheDeadLetterQueue()));
        List<String> backlog = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            backlog.add(api.submit("{\"type\":\"sample\",\"input\":{\"sleepMs\":200}}").jobId());
        }
        Instant now = Instant.now();
        String high = new JobIds().newId();
        DynamoDbJobStore.fromEnvironment(stack.dynamoDb(), stack.environment()).create(Job.builder().jobId(high)
                .type("sample").pool("default").priority(Job.HIGH_PRIORITY).input("{\"sleepMs\":200}")
                .requestHash("-").status(JobStatus.QUEUED).attempts(0).version(0L).createdAt(now).updatedAt(now)
                .enqueuedAt(now).build());
        stack.sqs().sendMessage(r -> r.queueUrl(lane).messageBody(new JobMessage(high, "sample",
                Json.parse("{\"sleepMs\":200}")).toJson()));

        stack.startWorker(Map.of(WorkerConfig.PRIORITY_QUEUE_URL, lane, WorkerConfig.SLOTS, "1"));
        List<String> all = new ArrayList<>(backlog);
        all.add(high);
        await(all, Duration.ofSeconds(60));

        List<String> started = Files.readAllLines(stack.sampleLedger()).stream()
                .map(line -> line.substring(0, line.indexOf(' '))).toList();
        assertEquals(high, started.get(0), "the high job first, though the backlog was queued before it: " + started);
        assertEquals(6, started.size(), "each job ran once: " + started);
        assertEquals("high", api.get(high).body().get("priority").asText());
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (Queues.depth(stack.sqs(), lane) + Queues.depth(stack.sqs(), stack.queueUrl()) > 0) {
            assertTrue(System.nanoTime() < deadline, "each message deleted from the queue it came from");
            Thread.sleep(100);
        }
    }

    @Test
    void aLaneWithoutARedrivePolicy_isRefusedAtStart_sayingWhy() {
        String lane = createQueue("ferry-jobs-no-redrive", Map.of());

        IllegalStateException refused = assertThrows(IllegalStateException.class,
                () -> stack.startWorker(Map.of(WorkerConfig.PRIORITY_QUEUE_URL, lane)));

        assertTrue(refused.getMessage().contains("high-priority lane") && refused.getMessage().contains("RedrivePolicy")
                && refused.getMessage().contains(stack.deadLetterQueueUrl()), refused.getMessage());
    }
}
