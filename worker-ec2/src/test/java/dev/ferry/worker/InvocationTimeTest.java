package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class InvocationTimeTest {

    private static final JobExecution EXECUTION = new JobExecution("job-1", "echo", "{}", 1, new GpuSlot(0, "0"),
            java.nio.file.Path.of("/tmp"), JobEvents.NONE);

    /** A handler that runs until interrupted, and says when it started. */
    private static final class Blocking implements JobHandler {
        final CountDownLatch started = new CountDownLatch(1);

        @Override
        public String run(JobExecution execution) throws InterruptedException {
            started.countDown();
            Thread.sleep(60_000);
            return "{}";
        }

        @Override
        public Duration timeout(String type) {
            return Duration.ofMinutes(30);
        }
    }

    @Test
    void aHandlerStillRunningWhenTheInvocationsTimeIsUp_isStopped_andTheAttemptFailsRetryable() {
        InvocationTime bounded = new InvocationTime(new Blocking(), Clock.systemUTC());
        bounded.runUntil(Instant.now().plusMillis(300));

        JobFailedException failure = assertThrows(JobFailedException.class, () -> bounded.run(EXECUTION));

        assertTrue(failure.retryable());
        assertTrue(failure.getMessage().contains("Lambda invocation"), failure.getMessage());
        assertFalse(Thread.currentThread().isInterrupted(), "the stop's interrupt is not left for the thread's next job");
        bounded.close();
    }

    @Test
    void aStopByTheRun_staysAnInterrupt() throws Exception {
        Blocking handler = new Blocking();
        InvocationTime bounded = new InvocationTime(handler, Clock.systemUTC());
        bounded.runUntil(Instant.now().plusSeconds(60));
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread runner = new Thread(() -> {
            try {
                bounded.run(EXECUTION);
            } catch (Throwable t) {
                thrown.set(t);
            }
        });
        runner.start();
        assertTrue(handler.started.await(5, TimeUnit.SECONDS));
        runner.interrupt(); // as JobRun stops a handler whose lease was lost
        runner.join(5_000);

        assertTrue(thrown.get() instanceof InterruptedException, String.valueOf(thrown.get()));
        bounded.close();
    }

    @Test
    void aTypesTimeout_isTheShorterOfItsOwnAndTheTimeLeft() {
        InvocationTime bounded = new InvocationTime(new Blocking(), Clock.systemUTC());
        bounded.runUntil(Instant.now().plusSeconds(100));
        Duration timeout = bounded.timeout("echo");
        assertTrue(timeout.compareTo(Duration.ofSeconds(100)) <= 0 && timeout.compareTo(Duration.ofSeconds(90)) > 0,
                timeout.toString());
        bounded.runUntil(Instant.now().plusSeconds(3600));
        assertEquals(Duration.ofMinutes(30), bounded.timeout("echo"));
        bounded.runUntil(Instant.now().minusSeconds(1));
        assertEquals(Duration.ZERO, bounded.timeout("echo"));
        assertThrows(JobFailedException.class, () -> bounded.run(EXECUTION), "no time left: not started at all");
        bounded.close();
    }
}
