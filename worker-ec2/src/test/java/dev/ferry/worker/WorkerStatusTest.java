package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.threeten.extra.MutableClock;

/**
 * What a worker says of itself while a warm handler cannot be made ready: the health endpoint
 * and the fleet view count from when the handler stopped being ready, not from its latest try.
 */
class WorkerStatusTest {

    private static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");
    private static final Duration SETUP_LIMIT = Duration.ofMinutes(15);

    @TempDir
    Path dir;

    /** A warm process that starts, or fails to, as told, and dies when told. */
    private static final class FakeProcess implements WarmProcess {
        final boolean failsToStart;
        volatile boolean alive;

        FakeProcess(boolean failsToStart) {
            this.failsToStart = failsToStart;
        }

        @Override
        public void start() throws JobFailedException {
            if (failsToStart) {
                throw new JobFailedException("CUDA out of memory while loading the model");
            }
            alive = true;
        }

        @Override
        public String run(JobExecution job, Duration timeout) {
            return "{}";
        }

        @Override
        public boolean alive() {
            return alive;
        }

        @Override
        public String describe() {
            return "fake";
        }

        @Override
        public void close() {
            alive = false;
        }
    }

    private static final class Life implements WorkerStatus.Lifecycle {
        @Override
        public String drainReason() {
            return null;
        }

        @Override
        public boolean stopped() {
            return false;
        }
    }

    @Test
    void aHandlerThatKeepsFailingToStart_isUnhealthyAfterTheSetupLimit_countedFromWhenItStoppedBeingReady()
            throws Exception {
        MutableClock clock = MutableClock.of(T0, ZoneOffset.UTC);
        AtomicBoolean failStarts = new AtomicBoolean();
        List<FakeProcess> processes = new CopyOnWriteArrayList<>();
        WarmProcess.Factory factory = context -> {
            FakeProcess process = new FakeProcess(failStarts.get());
            processes.add(process);
            return process;
        };
        JobTypes.Spec spec = new JobTypes.Spec("SD", JobTypes.Kind.HANDLER, "unused", Duration.ofMinutes(5),
                Duration.ofMinutes(5), ExitRules.none());
        WarmHandler handler = new WarmHandler(Map.of("SD", spec), new CommandJobHandler(Map.of()), Map.of(), dir,
                Map.of(JobTypes.Kind.HANDLER, factory), clock);
        GpuSlot gpu = new GpuSlot(0, "0");
        SlotActivity activity = new SlotActivity(handler, List.of(gpu), clock);
        WorkerStatus status = new WorkerStatus("w-1", "default", Duration.ofSeconds(30), activity, new Life(), clock);
        activity.awaitReady(gpu);
        assertEquals(Optional.empty(), status.snapshot().unhealthy(SETUP_LIMIT));
        assertNull(handler.statuses().get(0).notReadySince(), "ready");

        // The process dies while idle; every start from now on fails (the model no longer loads).
        failStarts.set(true);
        processes.get(0).alive = false;
        clock.setInstant(T0.plus(Duration.ofMinutes(1)));
        Thread setup = new Thread(() -> {
            try {
                activity.awaitReady(gpu);
            } catch (InterruptedException e) {
                // stopped by the test
            }
        });
        setup.start();
        try {
            awaitStatus(handler, s -> s.state() == WarmHandler.State.FAILED);
            assertEquals(1, handler.statuses().get(0).recentRestarts(), "started again once, just now");
            // Twenty minutes on, it is still trying: each failed try moves its state's "since" on.
            clock.setInstant(T0.plus(Duration.ofMinutes(20)));
            awaitStatus(handler, s -> s.since().equals(clock.instant()));
            WarmHandler.Status failing = handler.statuses().get(0);
            assertEquals(T0.plus(Duration.ofMinutes(1)), failing.notReadySince());
            assertEquals(0, failing.recentRestarts(), "that restart is past the window; failed starts are not restarts");

            WorkerSnapshot snapshot = status.snapshot();

            assertEquals(SlotActivity.State.SETTING_UP, snapshot.slots().get(0).state());
            Optional<String> unhealthy = snapshot.unhealthy(SETUP_LIMIT);
            assertTrue(unhealthy.isPresent() && unhealthy.get().startsWith("no slot ready for 1140 s"),
                    unhealthy.toString());
            assertTrue(snapshot.toJson().toString().contains("\"notReadySince\":\"2026-12-01T10:01:00Z\""),
                    snapshot.toJson().toString());
        } finally {
            handler.close();
            setup.interrupt();
            setup.join(10_000);
        }
    }

    private static void awaitStatus(WarmHandler handler, java.util.function.Predicate<WarmHandler.Status> until)
            throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (handler.statuses().isEmpty() || !until.test(handler.statuses().get(0))) {
            assertTrue(System.nanoTime() < deadline, "status never came: " + handler.statuses());
            Thread.sleep(20);
        }
    }
}
