package dev.ferry.local;

import static dev.ferry.local.FaultTestSupport.job;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.Job;
import dev.ferry.core.JobStatus;
import dev.ferry.local.FaultTestSupport.GatedHandler;
import dev.ferry.testkit.FakeImds;
import dev.ferry.worker.InstanceNotices;
import dev.ferry.worker.Worker;
import dev.ferry.worker.WorkerConfig;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Spot interruptions and Auto Scaling terminations, read from a fake instance metadata service
 * (IMDSv2) through the SDK's metadata client: the worker stops receiving and gives its running
 * job back at once (fresh message, lease released), unless the job finishes within the grace;
 * and a job given back because its machine went away spends none of its attempts.
 */
class SpotInterruptionIT {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static LocalStack stack;
    private static Api api;

    @BeforeAll
    static void start() {
        // Two receives per message: a give-back that spent one would send the job to the DLQ the second time.
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0)
                .templateParameters(Map.of("MaxReceiveCount", "2")).build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    @Test
    void jobPreemptedTenTimesInARow_neverReachesTheDlq_andCompletesOnce() {
        String jobId = api.submit("{\"type\":\"gpu\",\"input\":{\"steps\":10}}").jobId();

        for (int round = 1; round <= 10; round++) {
            int preemptionsBefore = round - 1;
            try (FakeImds imds = FakeImds.start()) {
                Map<String, String> env = Map.of(WorkerConfig.METADATA_ENDPOINT, imds.endpoint().toString());
                GatedHandler handler = new GatedHandler("{}");
                Worker worker = FaultTestSupport.worker(stack, "spot-" + round, handler, env);
                List<InstanceNotices.Notice> seen = new CopyOnWriteArrayList<>();
                worker.start();
                try (InstanceNotices notices = FaultTestSupport.watch(worker,
                        FaultTestSupport.config(stack, "spot-" + round, env), seen)) {
                    await().atMost(WAIT).until(() -> handler.started.stream().anyMatch(e -> e.jobId().equals(jobId)));

                    // Interruption in 1 s, margin 1 s: nothing may finish, the job goes back at once.
                    imds.spotInterruption("terminate", Instant.now().plusSeconds(1));

                    await().atMost(WAIT).until(() -> job(stack, jobId).preemptions() == preemptionsBefore + 1);
                    Job given = job(stack, jobId);
                    assertEquals(JobStatus.QUEUED, given.status(), given.toString());
                    assertEquals(1, handler.interrupted.size());
                    assertEquals(InstanceNotices.Kind.SPOT_INTERRUPTION, seen.get(0).kind());
                    assertTrue(imds.tokenRequests() >= 1, "IMDSv2: a session token first");
                    await().atMost(WAIT).until(worker::draining);
                } finally {
                    worker.close();
                }
            }
        }

        GatedHandler finisher = new GatedHandler("{\"done\":true}");
        finisher.finish();
        try (Worker last = FaultTestSupport.worker(stack, "on-demand", finisher, Map.of())) {
            last.start();
            await().atMost(WAIT).until(() -> job(stack, jobId).status() == JobStatus.SUCCEEDED);
            await().atMost(WAIT).until(() -> Queues.depth(stack.sqs(), stack.queueUrl()) == 0);
        }
        Job done = job(stack, jobId);
        assertEquals(10, done.preemptions());
        assertEquals(11, done.attempts(), "ten runs given back, one completed");
        assertEquals("{\"done\":true}", done.result());
        assertFalse(Queues.peekJobIds(stack.sqs(), stack.deadLetterQueueUrl()).contains(jobId));
    }

    @Test
    void aDrainWhoseReleaseCannotBeWritten_stillSpendsNoAttempt() {
        String jobId = api.submit("{\"type\":\"gpu\",\"input\":{\"steps\":3}}").jobId();
        GatedHandler handler = new GatedHandler("{}");
        // The table cannot be reached for the release (every try fails): the copy must take the lease over.
        try (Worker worker = FaultTestSupport.worker(stack, "unreleased", handler, Map.of(), store ->
                new ForwardingJobStore(store) {
                    @Override
                    public boolean release(dev.ferry.core.Lease lease, dev.ferry.core.AttemptRecord attempt, Instant now) {
                        throw software.amazon.awssdk.core.exception.SdkClientException.create("connect timed out");
                    }
                })) {
            worker.start();
            await().atMost(WAIT).until(() -> handler.started.stream().anyMatch(e -> e.jobId().equals(jobId)));
            worker.drain(Duration.ZERO, "test: machine going away");
        }
        assertEquals(JobStatus.RUNNING, job(stack, jobId).status(), "the release was not written");

        GatedHandler next = new GatedHandler("{\"by\":\"next\"}");
        next.finish();
        try (Worker successor = FaultTestSupport.worker(stack, "successor", next, Map.of())) {
            successor.start();
            await().atMost(WAIT).until(() -> job(stack, jobId).status() == JobStatus.SUCCEEDED);
        }
        Job done = job(stack, jobId);
        assertEquals(2, done.attempts());
        assertEquals(1, done.preemptions(), "the copy took the given-back lease over as a preemption");
        assertEquals(1, next.started.size());
    }

    @Test
    void spotNotice_letsAJobThatFinishesWithinTheGraceComplete_andTakesNoNewOne() throws Exception {
        String jobId = api.submit("{\"type\":\"gpu\",\"input\":{\"steps\":1}}").jobId();
        try (FakeImds imds = FakeImds.start()) {
            Map<String, String> env = Map.of(WorkerConfig.METADATA_ENDPOINT, imds.endpoint().toString());
            GatedHandler handler = new GatedHandler("{\"finished\":\"in time\"}");
            List<InstanceNotices.Notice> seen = new CopyOnWriteArrayList<>();
            try (Worker worker = FaultTestSupport.worker(stack, "spot-grace", handler, env)) {
                worker.start();
                try (InstanceNotices notices = FaultTestSupport.watch(worker,
                        FaultTestSupport.config(stack, "spot-grace", env), seen)) {
                    await().atMost(WAIT).until(() -> handler.started.stream().anyMatch(e -> e.jobId().equals(jobId)));

                    // Two minutes' notice, less the 1 s margin, capped by FERRY_DRAIN_GRACE (10 s).
                    imds.spotInterruption("terminate", Instant.now().plusSeconds(120));
                    await().atMost(WAIT).until(worker::draining);
                    handler.finish();

                    await().atMost(WAIT).until(() -> job(stack, jobId).status() == JobStatus.SUCCEEDED);
                }
            }
            Job done = job(stack, jobId);
            assertEquals(0, done.preemptions());
            assertEquals(1, done.attempts());
            assertEquals(0, handler.interrupted.size());
            assertEquals(1, seen.size());
        }
    }

    @Test
    void autoScalingTermination_drainsTheWorker_butARebalanceRecommendationAloneDoesNot() {
        String jobId = api.submit("{\"type\":\"gpu\",\"input\":{\"steps\":2}}").jobId();
        try (FakeImds imds = FakeImds.start()) {
            imds.lifecycleState("InService");
            Map<String, String> env = Map.of(WorkerConfig.METADATA_ENDPOINT, imds.endpoint().toString(),
                    WorkerConfig.DRAIN_GRACE, "0.5");
            GatedHandler handler = new GatedHandler("{}");
            List<InstanceNotices.Notice> seen = new CopyOnWriteArrayList<>();
            try (Worker worker = FaultTestSupport.worker(stack, "asg", handler, env)) {
                worker.start();
                try (InstanceNotices notices = FaultTestSupport.watch(worker,
                        FaultTestSupport.config(stack, "asg", env), seen)) {
                    await().atMost(WAIT).until(() -> handler.started.stream().anyMatch(e -> e.jobId().equals(jobId)));

                    imds.rebalanceRecommendation(Instant.now());
                    await().atMost(WAIT).until(() -> seen.stream()
                            .anyMatch(n -> n.kind() == InstanceNotices.Kind.REBALANCE_RECOMMENDATION));
                    int readsThen = imds.reads();
                    await().atMost(WAIT).until(() -> imds.reads() >= readsThen + 4); // two more rounds
                    assertFalse(worker.draining(), "a rebalance recommendation alone is logged, not drained");
                    assertEquals(JobStatus.RUNNING, job(stack, jobId).status());

                    imds.lifecycleState("Terminated");
                    await().atMost(WAIT).until(() -> job(stack, jobId).preemptions() == 1);
                    assertEquals(JobStatus.QUEUED, job(stack, jobId).status());
                    assertTrue(worker.draining());
                }
            }
        }
        GatedHandler finisher = new GatedHandler("{}");
        finisher.finish();
        try (Worker last = FaultTestSupport.worker(stack, "asg-next", finisher, Map.of())) {
            last.start();
            await().atMost(WAIT).until(() -> job(stack, jobId).status() == JobStatus.SUCCEEDED);
        }
        assertEquals(2, job(stack, jobId).attempts());
    }

    @Test
    void offEc2_theWatchGivesUpAfterOneTry() throws IOException {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        Map<String, String> env = Map.of(WorkerConfig.METADATA_ENDPOINT, "http://127.0.0.1:" + closedPort);
        WorkerConfig config = FaultTestSupport.config(stack, "laptop", env);
        List<InstanceNotices.Notice> seen = new CopyOnWriteArrayList<>();
        try (InstanceNotices notices = InstanceNotices.fromConfig(config, seen::add).orElseThrow().start()) {
            await().atMost(WAIT).until(() -> !notices.watching());
            assertFalse(notices.reachable());
        }
        assertTrue(seen.isEmpty());
        WorkerConfig off = FaultTestSupport.config(stack, "laptop", Map.of(WorkerConfig.METADATA_DISABLED, "true"));
        assertTrue(InstanceNotices.fromConfig(off, seen::add).isEmpty());
    }
}
