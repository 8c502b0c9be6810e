package dev.ferry.local;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.JobStatus;
import dev.ferry.core.JobStore;
import dev.ferry.core.Lease;
import dev.ferry.worker.JobExecution;
import dev.ferry.worker.JobHandler;
import dev.ferry.worker.Worker;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Pipelined slots: a slot is free once its handler returns, and takes the next job while the
 * previous job's outcome is still being written; the outcome is still written once, and a drain
 * waits for it. At most two jobs per slot finish at a time.
 */
class PipelinedSlotsIT {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static LocalStack stack;
    private static Api api;
    private Worker worker;

    /** Job ids in the order their handler started. */
    private final List<String> started = new CopyOnWriteArrayList<>();
    private final Map<String, AtomicInteger> completes = new ConcurrentHashMap<>();
    private final CountDownLatch firstCompleteHeld = new CountDownLatch(1);
    private final CountDownLatch releaseFirstComplete = new CountDownLatch(1);
    private final AtomicInteger completeCalls = new AtomicInteger();

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
    void closeWorker() {
        releaseFirstComplete.countDown();
        if (worker != null) {
            worker.close();
        }
    }

    /** Result writes held until released: the first {@value #HELD_COMPLETES}. */
    private static final int HELD_COMPLETES = 2;

    /** A one-slot worker whose handler returns at once and whose first result writes block until released. */
    private Worker startWorker(String id) {
        JobHandler handler = new JobHandler() {
            @Override
            public String run(JobExecution execution) {
                started.add(execution.jobId());
                return "{\"ok\":true}";
            }
        };
        worker = FaultTestSupport.worker(stack, id, handler, Map.of(), store -> new ForwardingJobStore(store) {
            @Override
            public boolean complete(Lease lease, JobStore.Completion completion, Instant now) {
                completes.computeIfAbsent(lease.jobId(), k -> new AtomicInteger()).incrementAndGet();
                if (completeCalls.getAndIncrement() < HELD_COMPLETES) {
                    firstCompleteHeld.countDown();
                    try {
                        releaseFirstComplete.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                return super.complete(lease, completion, now);
            }
        });
        worker.start();
        return worker;
    }

    /**
     * A backlog of 20 ms jobs on one slot: every job runs once, in order, and the figures (the
     * slot's busy share, the gap from one handler's end to the next one's start) are printed for
     * the record. The timings are not asserted: this machine's load would make that flaky.
     */
    @Test
    void backlogOfShortJobs_runsBackToBack_eachOutcomeWrittenOnce() throws Exception {
        releaseFirstComplete.countDown(); // no write held up here
        List<String> jobs = new java.util.ArrayList<>();
        for (int i = 0; i < 60; i++) {
            jobs.add(submit("b" + i));
        }
        List<long[]> spans = new CopyOnWriteArrayList<>();
        JobHandler handler = new JobHandler() {
            @Override
            public String run(JobExecution execution) throws InterruptedException {
                long start = System.nanoTime();
                started.add(execution.jobId());
                Thread.sleep(20);
                spans.add(new long[] {start, System.nanoTime()});
                return "{\"ok\":true}";
            }
        };
        worker = FaultTestSupport.worker(stack, "pipelined-3", handler, Map.of(), store -> new ForwardingJobStore(store) {
            @Override
            public boolean complete(Lease lease, JobStore.Completion completion, Instant now) {
                completes.computeIfAbsent(lease.jobId(), k -> new AtomicInteger()).incrementAndGet();
                return super.complete(lease, completion, now);
            }
        });
        worker.start();
        for (String id : jobs) {
            await().atMost(WAIT).until(() -> status(id) == JobStatus.SUCCEEDED);
            assertEquals(1, completes.get(id).get(), "job " + id + ": its outcome written once");
        }
        assertEquals(jobs.size(), started.size(), "each job ran once");
        // Past the first few (no run times yet: no look-ahead), figures for the report.
        List<long[]> steady = spans.subList(10, spans.size());
        long busy = steady.stream().mapToLong(span -> span[1] - span[0]).sum();
        long wall = steady.get(steady.size() - 1)[1] - steady.get(0)[0];
        long[] gaps = new long[steady.size() - 1];
        for (int i = 1; i < steady.size(); i++) {
            gaps[i - 1] = steady.get(i)[0] - steady.get(i - 1)[1];
        }
        java.util.Arrays.sort(gaps);
        System.out.printf("one slot, 20 ms jobs: busy %.3f, gap p50 %.1f ms, p90 %.1f ms%n", busy / (double) wall,
                gaps[gaps.length / 2] / 1e6, gaps[gaps.length * 9 / 10] / 1e6);
    }

    private static String submit(String output) {
        return api.submit("{\"type\":\"sample\",\"input\":{\"output\":\"" + output + "\"}}").jobId();
    }

    private static JobStatus status(String jobId) {
        return FaultTestSupport.job(stack, jobId).status();
    }

    @Test
    void slotTakesTheNextJob_beforeThePreviousJobsOutcomeIsWritten_andEachOutcomeIsWrittenOnce() throws Exception {
        startWorker("pipelined-1");
        String first = submit("first");
        assertTrue(firstCompleteHeld.await(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS));
        String second = submit("second");
        await().atMost(WAIT).until(() -> started.contains(second));
        assertEquals(JobStatus.RUNNING, status(first), "the first job's outcome is still being written");
        await().atMost(WAIT).until(() -> completeCalls.get() == HELD_COMPLETES);
        String third = submit("third");
        await().atMost(WAIT).until(() -> started.contains(third));
        // The bound: two jobs finishing; the third's handler is done, and the slot takes no fourth.
        String fourth = submit("fourth");
        Thread.sleep(1_000);
        assertFalse(started.contains(fourth), "two finishing jobs per slot: the slot waits while three would finish");
        assertEquals(HELD_COMPLETES, completeCalls.get(), "the third job waits to write its outcome");
        assertEquals(JobStatus.RUNNING, status(first));
        assertEquals(JobStatus.RUNNING, status(second));

        releaseFirstComplete.countDown();
        for (String id : List.of(first, second, third, fourth)) {
            await().atMost(WAIT).until(() -> status(id) == JobStatus.SUCCEEDED);
            assertEquals(1, completes.get(id).get(), "job " + id + ": its outcome written once");
        }
        assertEquals(List.of(first, second, third, fourth), started);
        await().atMost(WAIT).until(() -> Queues.depth(stack.sqs(), stack.queueUrl()) == 0
                && Queues.inFlight(stack.sqs(), stack.queueUrl()) == 0);
    }

    @Test
    void drain_waitsForAFinishUnderWay_andItsOutcomeIsWrittenOnce() throws Exception {
        Worker draining = startWorker("pipelined-2");
        String job = submit("drained");
        assertTrue(firstCompleteHeld.await(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS));
        Thread drain = new Thread(() -> draining.drain(Duration.ofSeconds(20), "test"), "test-drain");
        drain.start();
        drain.join(1_000);
        assertTrue(drain.isAlive(), "the drain waits for the outcome being written");
        assertEquals(JobStatus.RUNNING, status(job));

        releaseFirstComplete.countDown();
        drain.join(WAIT.toMillis());
        assertFalse(drain.isAlive());
        assertEquals(JobStatus.SUCCEEDED, status(job));
        assertEquals(1, completes.get(job).get());
        assertEquals(List.of(job), started);
        await().atMost(WAIT).until(() -> Queues.depth(stack.sqs(), stack.queueUrl()) == 0
                && Queues.inFlight(stack.sqs(), stack.queueUrl()) == 0);
    }
}
