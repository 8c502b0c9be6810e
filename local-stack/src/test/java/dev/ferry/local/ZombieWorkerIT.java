package dev.ferry.local;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.DynamoDbJobStore;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.Job;
import dev.ferry.core.JobMessage;
import dev.ferry.core.JobStore;
import dev.ferry.core.Json;
import dev.ferry.core.Lease;
import dev.ferry.worker.GpuSlot;
import dev.ferry.worker.JobHandler;
import dev.ferry.worker.QueueSettings;
import dev.ferry.worker.Worker;
import dev.ferry.worker.WorkerConfig;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sqs.model.SendMessageRequest;

/**
 * A zombie: worker A believes it still holds its lease (its renewals never reach the table, as in
 * a network partition or a long GC pause), the lease runs out, worker B takes the job over from a
 * second delivery and finishes it. When A finally finishes, its write is refused by the fencing
 * token: B's result stands.
 */
class ZombieWorkerIT {

    private LocalStack stack;
    private Api api;
    private Worker zombie;
    private Worker rescuer;

    @BeforeEach
    void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0).build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterEach
    void stop() {
        if (zombie != null) {
            zombie.close();
        }
        if (rescuer != null) {
            rescuer.close();
        }
        stack.close();
    }

    private Worker worker(String id, JobStore store, JobHandler handler) {
        Map<String, String> env = new HashMap<>(stack.environment().asMap());
        env.put(WorkerConfig.WORKER_ID, id);
        env.put(WorkerConfig.LEASE, "1");
        env.put(WorkerConfig.HEARTBEAT, "0.3");
        env.put(WorkerConfig.WAIT_SECONDS, "1");
        env.put(WorkerConfig.DRAIN_GRACE, "10");
        env.put(WorkerConfig.DUPLICATE_DEFER, "1");
        FerryEnv ferryEnv = FerryEnv.of(env);
        return new Worker(stack.sqs(), store, handler, List.of(new GpuSlot(0, "0")), WorkerConfig.from(ferryEnv),
                QueueSettings.read(stack.sqs(), stack.queueUrl()), Clock.systemUTC());
    }

    @Test
    void zombieWhoseLeaseWasTaken_cannotOverwriteTheResult() throws Exception {
        DynamoDbJobStore table = DynamoDbJobStore.fromEnvironment(stack.dynamoDb(), stack.environment());
        CountDownLatch zombieWrote = new CountDownLatch(1);
        JobStore partitioned = new PartitionedRenewals(table, zombieWrote);
        CountDownLatch zombieStarted = new CountDownLatch(1);
        CountDownLatch rescuerRunning = new CountDownLatch(1);
        zombie = worker("zombie", partitioned, job -> {
            zombieStarted.countDown();
            // Works on through its pause, long after its lease ran out, while the rescuer holds the job.
            rescuerRunning.await(30, TimeUnit.SECONDS);
            return "{\"by\":\"zombie\"}";
        });
        zombie.start();

        Api.Response accepted = api.submit("{\"type\":\"sample\",\"input\":{\"n\":1}}");
        assertTrue(zombieStarted.await(30, TimeUnit.SECONDS));

        // The job arrives a second time (SQS at-least-once); the rescuer takes it once the lease ran out
        // and is still running it when the zombie tries to write its result.
        stack.sqs().sendMessage(SendMessageRequest.builder().queueUrl(stack.queueUrl())
                .messageBody(new JobMessage(accepted.jobId(), "sample", Json.parse("{\"n\":1}")).toJson()).build());
        rescuer = worker("rescuer", table, job -> {
            rescuerRunning.countDown();
            zombieWrote.await(30, TimeUnit.SECONDS);
            return "{\"by\":\"rescuer\"}";
        });
        rescuer.start();

        assertTrue(zombieWrote.await(60, TimeUnit.SECONDS), "the zombie tried to write its result");
        JsonNode job = api.awaitStatus(accepted.jobId(), "SUCCEEDED", Duration.ofSeconds(30));
        assertEquals("rescuer", job.get("result").get("by").asText());
        assertEquals(2, job.get("attempts").asInt());
        // The zombie's attempt is in the history, written by the claim that took its lease over.
        JsonNode lost = job.get("history").get(0);
        assertEquals("lease lost", lost.get("outcome").asText());
        assertEquals("zombie", lost.get("worker").asText());
        assertEquals(1, lost.get("attempt").asInt());
        assertEquals("rescuer", job.get("history").get(1).get("worker").asText());
        assertEquals(2, job.get("history").size());
        await().atMost(Duration.ofSeconds(20)).until(() -> Queues.depth(stack.sqs(), stack.queueUrl()) == 0);
        assertEquals("rescuer", Json.parse(table.get(accepted.jobId()).orElseThrow().result()).get("by").asText());
    }

    /** The real table, except that lease renewals are lost on the way (and reported as done). */
    private static final class PartitionedRenewals extends ForwardingJobStore {
        private final CountDownLatch finishAttempted;

        PartitionedRenewals(JobStore table, CountDownLatch finishAttempted) {
            super(table);
            this.finishAttempted = finishAttempted;
        }

        @Override
        public Renewal renewLease(Lease lease, Instant leaseUntil) {
            return Renewal.RENEWED;
        }

        @Override
        public boolean complete(Lease lease, Completion completion, Instant now) {
            boolean written = delegate.complete(lease, completion, now);
            finishAttempted.countDown();
            return written;
        }
    }
}
