package dev.ferry.worker;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A Lambda pool's handler, bounded by the invocation it runs in: a job's handler is stopped when
 * the invocation has only its outcome's time left ({@link #runUntil}), and that attempt fails,
 * retryable, saying so, rather than Lambda killing the function with the outcome unwritten. A
 * type's timeout is the shorter of its own and the time left.
 *
 * <p>One invocation at a time per execution environment (as Lambda runs them), so the bound is
 * the handler's, not a run's.
 */
final class InvocationTime implements JobHandler {

    private final JobHandler delegate;
    private final Clock clock;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Worker.named("ferry-invocation-time"));
    private volatile Instant runUntil = Instant.MAX;

    InvocationTime(JobHandler delegate, Clock clock) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** When this invocation's handlers must have stopped. */
    void runUntil(Instant until) {
        this.runUntil = Objects.requireNonNull(until, "until");
    }

    private Duration left() {
        Duration left = Duration.between(clock.instant(), runUntil);
        return left.isNegative() ? Duration.ZERO : left;
    }

    @Override
    public String run(JobExecution execution) throws JobFailedException, InterruptedException {
        Duration left = left();
        if (left.isZero()) {
            throw new JobFailedException(outOfTime(), true);
        }
        Thread runner = Thread.currentThread();
        Object lock = new Object();
        boolean[] state = new boolean[2]; // [0]: the handler is done; [1]: the invocation's time ran out first
        ScheduledFuture<?> stop = timer.schedule(() -> {
            synchronized (lock) {
                if (!state[0]) {
                    state[1] = true;
                    runner.interrupt();
                }
            }
        }, left.toMillis(), TimeUnit.MILLISECONDS);
        try {
            return delegate.run(execution);
        } catch (InterruptedException e) {
            synchronized (lock) {
                state[0] = true;
                if (!state[1]) {
                    throw e; // the run stopped it (lease lost, cancel, deadline)
                }
            }
            Thread.interrupted();
            throw new JobFailedException(outOfTime(), true);
        } finally {
            stop.cancel(false);
            synchronized (lock) {
                state[0] = true;
                if (state[1]) {
                    Thread.interrupted(); // an interrupt that came as the handler returned: not this thread's next job's
                }
            }
        }
    }

    private String outOfTime() {
        return "stopped: the Lambda invocation had only its outcome's time left (the function's timeout less "
                + LambdaPoolHandler.OUTCOME_RESERVE.toSeconds() + " s); give the pool's function a longer Timeout"
                + " or the job type a shorter one";
    }

    @Override
    public Duration timeout(String type) {
        Duration own = delegate.timeout(type);
        Duration left = left();
        return left.compareTo(own) < 0 ? left : own;
    }

    @Override
    public void awaitReady(GpuSlot slot) throws InterruptedException {
        delegate.awaitReady(slot);
    }

    @Override
    public void onRestart(Consumer<String> listener) {
        delegate.onRestart(listener);
    }

    @Override
    public void close() {
        timer.shutdownNow();
        delegate.close();
    }
}
