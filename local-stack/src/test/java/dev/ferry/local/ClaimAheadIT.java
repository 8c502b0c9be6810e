package dev.ferry.local;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.JobStatus;
import dev.ferry.core.JobStore;
import dev.ferry.core.Lease;
import dev.ferry.worker.JobExecution;
import dev.ferry.worker.JobHandler;
import dev.ferry.worker.Worker;
import dev.ferry.worker.WorkerConfig;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A job claimed ahead for a busy slot, and what becomes of it when that slot does not come: the
 * worker drains (the claim and the message are given back, no attempt spent, and another worker
 * runs it once), or a client cancels it while it waits (CANCELLED unrun, no attempt spent). Jobs
 * run in order, each once. Through the API, on the local stack's DynamoDB Local and ElasticMQ.
 */
class ClaimAheadIT {

    private static final Duration WAIT = Duration.ofSeconds(30);
    /** A lease long enough that a job claimed ahead may wait for its slot until its slot's job overruns. */
    private static final Map<String, String> TIMINGS = Map.of(WorkerConfig.LEASE, "20",
            WorkerConfig.HEARTBEAT, "2");
    private static LocalStack stack;
    private static Api api;
    private final List<Worker> workers = new CopyOnWriteArrayList<>();
    private final List<String> started = new CopyOnWriteArrayList<>();
    private final CountDownLatch releaseBlocked = new CountDownLatch(1);
    /** Claims by job id, and the claims given back. */
    private final Map<String, CountDownLatch> claimed = new ConcurrentHashMap<>();
    private final AtomicInteger unclaims = new AtomicInteger();

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0).build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    @AfterEach
    void closeWorkers() {
        releaseBlocked.countDown();
        workers.forEach(Worker::close);
    }

    /** A one-slot worker: a job whose output is "block" waits for the test; every other one runs 1 s. */
    private Worker startWorker(String id) {
        return startWorker(id, TIMINGS);
    }

    private Worker startWorker(String id, Map<String, String> timings) {
        JobHandler handler = new JobHandler() {
            @Override
            public String run(JobExecution execution) throws InterruptedException {
                started.add(execution.jobId());
                if (execution.inputJson().contains("block")) {
                    releaseBlocked.await();
                } else {
                    Thread.sleep(1_000);
                }
                return "{\"ok\":true}";
            }
        };
        Worker worker = FaultTestSupport.worker(stack, id, handler, timings, store -> new ForwardingJobStore(store) {
            @Override
            public ClaimResult claim(String jobId, String workerId, String messageId, Instant leaseUntil,
                                     Instant now) {
                ClaimResult result = super.claim(jobId, workerId, messageId, leaseUntil, now);
                claimed.computeIfAbsent(jobId, k -> new CountDownLatch(1)).countDown();
                return result;
            }

            @Override
            public boolean unclaim(Lease lease, Instant now) {
                unclaims.incrementAndGet();
                return super.unclaim(lease, now);
            }
        });
        workers.add(worker);
        worker.start();
        return worker;
    }

    private static String submit(String output) {
        return api.submit("{\"type\":\"sample\",\"input\":{\"output\":\"" + output + "\"}}").jobId();
    }

    private static JsonNode job(String jobId) {
        return api.get(jobId).body();
    }

    private static JobStatus status(String jobId) {
        return FaultTestSupport.job(stack, jobId).status();
    }

    private void awaitClaimed(String jobId) throws InterruptedException {
        assertTrue(claimed.computeIfAbsent(jobId, k -> new CountDownLatch(1)).await(WAIT.toSeconds(), TimeUnit.SECONDS),
                "job " + jobId + " claimed");
    }

    /**
     * Three 1 s jobs: the worker learns their run time, so the look-ahead window of the next one
     * opens a few fetch latencies before its first second is up (the job to look ahead for is
     * submitted well before that), and closes at 2 s (its expected end, overrun by a second).
     */
    private void warmUp() {
        List<String> warm = List.of(submit("w1"), submit("w2"), submit("w3"));
        for (String id : warm) {
            api.awaitStatus(id, "SUCCEEDED", WAIT);
        }
    }

    @Test
    void workerDrains_whileAJobWaitsForItsSlot_theClaimGoesBackUncounted_andAnotherWorkerRunsItOnce()
            throws Exception {
        Worker first = startWorker("ahead-1");
        warmUp();
        String running = submit("block");
        await().atMost(WAIT).until(() -> started.contains(running));
        String next = submit("next");
        awaitClaimed(next);
        assertEquals(JobStatus.RUNNING, status(next), "claimed ahead while the slot is busy");
        assertFalse(started.contains(next), "not started: its slot is busy");

        Thread drain = new Thread(() -> first.drain(Duration.ofSeconds(20), "test"), "test-drain");
        drain.start();
        await().atMost(WAIT).until(() -> status(next) == JobStatus.QUEUED);
        assertEquals(1, unclaims.get());
        JsonNode back = job(next);
        assertEquals(0, back.get("attempts").asInt(), back.toString());
        assertFalse(back.has("history") && back.get("history").size() > 0, back.toString());
        assertTrue(drain.isAlive(), "the drain still waits for the running job");

        releaseBlocked.countDown();
        drain.join(WAIT.toMillis());
        assertFalse(drain.isAlive());
        api.awaitStatus(running, "SUCCEEDED", WAIT);
        assertFalse(started.contains(next), "the draining worker never ran it");

        startWorker("ahead-2");
        JsonNode done = api.awaitStatus(next, "SUCCEEDED", WAIT);
        assertEquals(1, done.get("attempts").asInt(), done.toString());
        assertEquals(1, done.get("history").size(), done.toString());
        assertEquals(1, started.stream().filter(next::equals).count(), "it ran once");
        await().atMost(WAIT).until(() -> Queues.depth(stack.sqs(), stack.queueUrl()) == 0
                && Queues.inFlight(stack.sqs(), stack.queueUrl()) == 0);
    }

    @Test
    void clientCancelsAJobWaitingForItsSlot_itsHeartbeatFindsIt_andItEndsCancelledUnrun_atOnce() throws Exception {
        // A heartbeat every 0.5 s: the cancel is found well before the running job overruns (at 2 s).
        startWorker("ahead-4", Map.of(WorkerConfig.LEASE, "20", WorkerConfig.HEARTBEAT, "0.5"));
        warmUp();
        String running = submit("block");
        await().atMost(WAIT).until(() -> started.contains(running));
        String next = submit("next");
        awaitClaimed(next);
        assertEquals(202, api.cancel(next).status());

        await().atMost(WAIT).until(() -> status(next) == JobStatus.CANCELLED);
        assertEquals(JobStatus.RUNNING, status(running), "its slot never came: the running job still runs");
        JsonNode cancelled = job(next);
        assertEquals(0, cancelled.get("attempts").asInt(), cancelled.toString());
        assertEquals(0, unclaims.get(), "cancelled, not given back");
        assertFalse(started.contains(next));

        releaseBlocked.countDown();
        api.awaitStatus(running, "SUCCEEDED", WAIT);
        assertFalse(started.contains(next), "the slot, freed, does not run a cancelled job");
        await().atMost(WAIT).until(() -> Queues.depth(stack.sqs(), stack.queueUrl()) == 0
                && Queues.inFlight(stack.sqs(), stack.queueUrl()) == 0);
    }

    @Test
    void clientCancelsAJobWaitingForItsSlot_itEndsCancelledUnrun_whenItsSlotsJobOverruns() throws Exception {
        startWorker("ahead-3");
        warmUp();
        String running = submit("block");
        await().atMost(WAIT).until(() -> started.contains(running));
        String next = submit("next");
        awaitClaimed(next);
        assertEquals(202, api.cancel(next).status(), "a running job's cancel is requested");

        // The running job overruns its type's run time: the job claimed ahead stops waiting, and its
        // claim cannot be given back over the cancel; it is cancelled unrun.
        await().atMost(WAIT).until(() -> status(next) == JobStatus.CANCELLED);
        JsonNode cancelled = job(next);
        assertEquals(0, cancelled.get("attempts").asInt(), cancelled.toString());
        assertFalse(started.contains(next));
        assertTrue(unclaims.get() <= 1, "given back at most once, and refused: " + unclaims.get());

        releaseBlocked.countDown();
        api.awaitStatus(running, "SUCCEEDED", WAIT);
        await().atMost(WAIT).until(() -> Queues.depth(stack.sqs(), stack.queueUrl()) == 0
                && Queues.inFlight(stack.sqs(), stack.queueUrl()) == 0);
    }
}
