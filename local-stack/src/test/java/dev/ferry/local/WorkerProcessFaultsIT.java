package dev.ferry.local;

import static dev.ferry.local.FaultTestSupport.job;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.Job;
import dev.ferry.core.JobStatus;
import dev.ferry.local.FaultTestSupport.GatedHandler;
import dev.ferry.testkit.WorkerProcess;
import dev.ferry.worker.Worker;
import dev.ferry.worker.WorkerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real worker processes ({@code WorkerMain}) killed as a machine or a deploy kills them: SIGKILL
 * mid-job (the job comes back after its lease and completes once elsewhere), SIGKILL during the
 * last allowed attempt (the job ends FAILED with its message in the DLQ, never stuck RUNNING), and
 * SIGTERM (the drain gives the job back, or lets it finish within the grace).
 */
class WorkerProcessFaultsIT {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;
    private LocalStack stack;
    private final List<WorkerProcess> processes = new ArrayList<>();
    private final List<ProcessHandle> orphans = new ArrayList<>();

    @AfterEach
    void stop() throws IOException {
        processes.forEach(WorkerProcess::kill);
        orphans.forEach(ProcessHandle::destroyForcibly);
        if (stack != null) {
            stack.close();
        }
        for (WorkerProcess process : processes) {
            System.out.println("---- log of worker process " + process.workerId() + " ----");
            System.out.println(Files.readString(process.log()));
        }
    }

    private Api start(int maxReceiveCount) {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0)
                .templateParameters(Map.of("MaxReceiveCount", Integer.toString(maxReceiveCount))).build());
        return new Api(stack.apiEndpoint());
    }

    /** A worker process whose {@code slow} jobs note their start in {@code ledger}, then work for {@code seconds}. */
    private WorkerProcess workerProcess(String id, Path ledger, int seconds, Map<String, String> overrides) {
        Map<String, String> env = new HashMap<>(FaultTestSupport.workerEnv(stack, id, overrides));
        env.putAll(Backends.credentialEnvironment(stack)); // a process inherits nothing
        env.put(WorkerConfig.SLOTS, "1");
        env.put(WorkerConfig.METADATA_DISABLED, "true");
        env.put(WorkerConfig.COMMAND_PREFIX + "SLOW", "cat >/dev/null; echo \"$FERRY_JOB_ID\" >> '" + ledger
                + "'; sleep " + seconds + "; echo '{\"by\":\"" + id + "\"}'");
        WorkerProcess process = WorkerProcess.start(id, env, dir.resolve(id + ".log"));
        processes.add(process);
        return process;
    }

    private void awaitStarted(Path ledger, String jobId) {
        await().atMost(WAIT).until(() -> Files.exists(ledger) && Files.readString(ledger).contains(jobId));
    }

    private void killHard(WorkerProcess process) {
        ProcessHandle.of(process.pid()).ifPresent(p -> p.descendants().forEach(orphans::add));
        process.kill();
    }

    @Test
    void killedMidJob_theJobComesBackAfterItsLease_andCompletesOnceElsewhere() throws Exception {
        Api api = start(3);
        Path ledger = dir.resolve("runs.txt");
        String jobId = api.submit("{\"type\":\"slow\",\"input\":{}}").jobId();
        WorkerProcess doomed = workerProcess("doomed", ledger, 60, Map.of());
        awaitStarted(ledger, jobId);
        assertEquals(JobStatus.RUNNING, job(stack, jobId).status());

        killHard(doomed);
        assertTrue(doomed.waitFor(WAIT) >= 0);
        GatedHandler rescue = new GatedHandler("{\"by\":\"rescuer\"}");
        rescue.finish();
        try (Worker rescuer = FaultTestSupport.worker(stack, "rescuer", rescue, Map.of())) {
            rescuer.start();
            await().atMost(WAIT).until(() -> job(stack, jobId).status() == JobStatus.SUCCEEDED);
            // Whatever copy is still due is received and deleted as a duplicate of the finished job.
            await().atMost(WAIT).until(() -> Queues.depth(stack.sqs(), stack.queueUrl()) == 0);
        }
        Job done = job(stack, jobId);
        assertEquals("{\"by\":\"rescuer\"}", done.result());
        assertEquals(2, done.attempts());
        assertEquals(0, done.preemptions(), "a crash is not a give-back");
        assertTrue(Queues.peekJobIds(stack.sqs(), stack.deadLetterQueueUrl()).isEmpty());
    }

    @Test
    void killedDuringTheLastAttempt_theJobEndsFailedWithItsMessageInTheDlq_notStuckRunning() throws Exception {
        Api api = start(2); // two attempts; the message's second receive is its last, and never run on
        Path ledger = dir.resolve("runs.txt");
        String jobId = api.submit("{\"type\":\"slow\",\"input\":{}}").jobId();
        for (int attempt = 1; attempt <= 2; attempt++) {
            WorkerProcess doomed = workerProcess("doomed-" + attempt, ledger, 60, Map.of());
            int before = attempt - 1;
            await().atMost(WAIT).until(() -> job(stack, jobId).attempts() > before
                    && job(stack, jobId).status() == JobStatus.RUNNING);
            killHard(doomed);
            assertTrue(doomed.waitFor(WAIT) >= 0);
        }
        // Killed during its last attempt. Another worker keeps polling: the message comes back (never to
        // the DLQ on its own: its last receive is re-sent fresh), the claim finds it past its budget,
        // records FAILED without running it, and moves the message to the DLQ.
        GatedHandler other = new GatedHandler("{}");
        other.finish();
        try (Worker survivor = FaultTestSupport.worker(stack, "survivor", other, Map.of())) {
            survivor.start();
            await().atMost(WAIT).until(() -> job(stack, jobId).status() == JobStatus.FAILED);
            await().atMost(WAIT).until(() -> Queues.peekJobIds(stack.sqs(), stack.deadLetterQueueUrl())
                    .contains(jobId));
            await().atMost(WAIT).until(() -> Queues.depth(stack.sqs(), stack.queueUrl()) == 0);
        }
        Job failed = job(stack, jobId);
        assertTrue(failed.error().contains("out of attempts"), failed.error());
        assertEquals(2, failed.attempts(), "the claim that found it out of attempts ran nothing");
        assertTrue(other.started.isEmpty(), "out of attempts: never run again");
    }

    @Test
    void sigterm_givesTheRunningJobBack_withoutSpendingAnAttempt() throws Exception {
        Api api = start(2);
        Path ledger = dir.resolve("runs.txt");
        String jobId = api.submit("{\"type\":\"slow\",\"input\":{}}").jobId();
        WorkerProcess deployed = workerProcess("deployed", ledger, 60, Map.of(WorkerConfig.DRAIN_GRACE, "1"));
        awaitStarted(ledger, jobId);

        deployed.terminate();
        assertTrue(deployed.waitFor(WAIT) >= 0, "the worker exits after its drain");
        Job given = job(stack, jobId);
        assertEquals(JobStatus.QUEUED, given.status(), given.toString());
        assertEquals(1, given.preemptions());
        assertEquals(0, given.attempts() - given.preemptions(), "no attempt spent");

        GatedHandler next = new GatedHandler("{\"by\":\"next\"}");
        next.finish();
        try (Worker successor = FaultTestSupport.worker(stack, "successor", next, Map.of())) {
            successor.start();
            await().atMost(WAIT).until(() -> job(stack, jobId).status() == JobStatus.SUCCEEDED);
        }
        assertEquals(2, job(stack, jobId).attempts());
        assertTrue(Queues.peekJobIds(stack.sqs(), stack.deadLetterQueueUrl()).isEmpty());
    }

    @Test
    void sigterm_letsAJobThatFinishesWithinTheGraceComplete() throws Exception {
        Api api = start(3);
        Path ledger = dir.resolve("runs.txt");
        String jobId = api.submit("{\"type\":\"slow\",\"input\":{}}").jobId();
        WorkerProcess deployed = workerProcess("deployed", ledger, 2, Map.of(WorkerConfig.DRAIN_GRACE, "60"));
        awaitStarted(ledger, jobId);

        deployed.terminate();
        assertTrue(deployed.waitFor(WAIT) >= 0);
        Job done = job(stack, jobId);
        assertEquals(JobStatus.SUCCEEDED, done.status(), done.toString());
        assertEquals("{\"by\":\"deployed\"}", done.result());
        assertEquals(0, done.preemptions());
        assertEquals(1, done.attempts());
    }
}
