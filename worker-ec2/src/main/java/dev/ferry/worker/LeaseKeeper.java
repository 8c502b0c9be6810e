package dev.ferry.worker;

import dev.ferry.core.JobStore;
import dev.ferry.core.Lease;
import dev.ferry.core.logging.LogContext;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * Keeps running jobs' leases and messages alive: every heartbeat it renews the lease (fenced by
 * the token) first, and only then extends the message's visibility, so that a slow or throttled
 * SQS never delays a lease. One thread per slot, so that one job's slow calls never hold up
 * another's heartbeat. A lease that was taken over, or ran out while renewals failed, stops the
 * job; a visibility change that fails is only logged (the lease fences the job either way).
 *
 * <p>A renewal refused because a client asked to cancel the job tells the job so, once: the job is
 * stopped within one heartbeat of the request. The heartbeat goes on keeping the message out of
 * sight until the job's CANCELLED is written (the lease itself is no longer extended: nothing but
 * that write can end it now).
 */
final class LeaseKeeper implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(LeaseKeeper.class);

    private final JobStore store;
    private final Clock clock;
    private final Duration leaseLength;
    private final Duration interval;
    private final ScheduledExecutorService beats;

    LeaseKeeper(JobStore store, Clock clock, Duration leaseLength, Duration interval, int threads) {
        this.store = Objects.requireNonNull(store, "store");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.leaseLength = Objects.requireNonNull(leaseLength, "leaseLength");
        this.interval = Objects.requireNonNull(interval, "interval");
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(threads, Worker.named("ferry-heartbeat"));
        executor.setRemoveOnCancelPolicy(true);
        this.beats = executor;
    }

    Duration leaseLength() {
        return leaseLength;
    }

    /** The heartbeats' threads, which {@link ProgressWriter} shares. */
    ScheduledExecutorService executor() {
        return beats;
    }

    /**
     * Starts the heartbeat of one job.
     *
     * @param leaseUntil when the lease its claim wrote runs out
     * @param onLost called (on the heartbeat's thread) once the lease is lost: taken over, or run
     *     out while it could not be renewed
     */
    Heartbeat keep(Lease lease, Delivery delivery, Instant leaseUntil, Runnable onLost) {
        return keep(lease, delivery, leaseUntil, onLost, () -> { });
    }

    /**
     * @param onCancelRequested called once (on the heartbeat's thread) when a renewal finds that a
     *     client asked to cancel the job
     */
    Heartbeat keep(Lease lease, Delivery delivery, Instant leaseUntil, Runnable onLost, Runnable onCancelRequested) {
        Heartbeat heartbeat = new Heartbeat(lease, delivery, leaseUntil, onLost, onCancelRequested);
        long millis = interval.toMillis();
        heartbeat.future = beats.scheduleWithFixedDelay(LogContext.wrap(heartbeat::beat), millis, millis, TimeUnit.MILLISECONDS);
        return heartbeat;
    }

    @Override
    public void close() {
        beats.shutdownNow();
    }

    /** One job's heartbeat; {@link #stop()} once its outcome is written. */
    final class Heartbeat {
        private final Lease lease;
        private final Delivery delivery;
        private final Runnable onLost;
        private final Runnable onCancelRequested;
        private volatile Instant leaseUntil;
        private volatile boolean stopped;
        private boolean cancelRequested;
        private ScheduledFuture<?> future;
        /** Held by a beat while it runs: {@link #stop} waits for one under way. */
        private final Object beating = new Object();

        private Heartbeat(Lease lease, Delivery delivery, Instant leaseUntil, Runnable onLost,
                          Runnable onCancelRequested) {
            this.lease = lease;
            this.delivery = delivery;
            this.leaseUntil = leaseUntil;
            this.onLost = onLost;
            this.onCancelRequested = onCancelRequested;
        }

        /**
         * No beat after this returns: one under way is waited for, so that its visibility change
         * cannot land after what the caller does with the message next (give it back at once, say).
         */
        void stop() {
            stopped = true;
            synchronized (this) {
                if (future != null) {
                    future.cancel(false);
                }
            }
            synchronized (beating) {
                // a beat under way has ended (or this is its own thread: lost())
            }
        }

        private void beat() {
            synchronized (beating) {
                beatOnce();
            }
        }

        private void beatOnce() {
            if (stopped) {
                return;
            }
            Instant now = clock.instant();
            try {
                JobStore.Renewal renewal = store.renewLease(lease, now.plus(leaseLength));
                if (renewal == JobStore.Renewal.LOST) {
                    LOG.warn("job {}: lease (token {}) lost to another worker", lease.jobId(), lease.token());
                    lost();
                    return;
                }
                if (renewal == JobStore.Renewal.RENEWED) {
                    leaseUntil = now.plus(leaseLength);
                } else if (!cancelRequested) {
                    cancelRequested = true; // beats run one at a time: no lock needed
                    LOG.info("job {}: a client asked to cancel it; stopping it", lease.jobId());
                    onCancelRequested.run();
                }
            } catch (SdkException e) {
                if (!now.isBefore(leaseUntil)) {
                    LOG.warn("job {}: lease ran out without renewal ({})", lease.jobId(), e.toString());
                    lost();
                    return;
                }
                LOG.warn("job {}: lease renewal failed, {} ms of lease left: {}", lease.jobId(),
                        Duration.between(now, leaseUntil).toMillis(), e.toString());
            }
            if (!stopped) {
                delivery.queue().changeVisibility(delivery, leaseLength, "heartbeat"); // in the lane it came from
            }
        }

        private void lost() {
            stop();
            onLost.run();
        }
    }
}
