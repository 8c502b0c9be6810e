package dev.ferry.worker;

import dev.ferry.core.AwsErrors;
import dev.ferry.core.JobStore;
import dev.ferry.core.Lease;
import dev.ferry.core.logging.LogContext;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * Writes a running job's latest progress to its record, so that {@code GET /jobs/{jobId}} shows
 * it: at most every {@link #DEFAULT_INTERVAL}, only when it changed, fenced by the lease like a
 * renewal, on the heartbeat's thread pool. A handler may report as often as it likes; the record
 * sees the latest. A write that fails is only logged: the next one carries the latest again, and
 * a job never fails or waits for its progress.
 */
final class ProgressWriter {

    private static final Logger LOG = LoggerFactory.getLogger(ProgressWriter.class);
    /** The most often a job's progress is written. */
    static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(2);

    private final JobStore store;
    private final ScheduledExecutorService executor;
    private final Duration interval;

    ProgressWriter(JobStore store, ScheduledExecutorService executor, Duration interval) {
        this.store = Objects.requireNonNull(store, "store");
        this.executor = Objects.requireNonNull(executor, "executor");
        this.interval = Objects.requireNonNull(interval, "interval");
        if (interval.isZero() || interval.isNegative()) {
            throw new IllegalArgumentException("interval must be positive, got " + interval);
        }
    }

    /** Starts writing {@code latest} for the attempt {@code lease} runs; {@link Writing#stop()} once it ends. */
    Writing start(Lease lease, Supplier<AttemptLog.Progress> latest) {
        Writing writing = new Writing(lease, latest);
        long millis = interval.toMillis();
        writing.future = executor.scheduleWithFixedDelay(LogContext.wrap(writing::write), millis, millis, TimeUnit.MILLISECONDS);
        return writing;
    }

    /** One attempt's progress being written. */
    final class Writing {
        private final Lease lease;
        private final Supplier<AttemptLog.Progress> latest;
        private AttemptLog.Progress written;
        private boolean stopped;
        private volatile ScheduledFuture<?> future;

        private Writing(Lease lease, Supplier<AttemptLog.Progress> latest) {
            this.lease = lease;
            this.latest = latest;
        }

        /**
         * Stops the writes, after one last one if the progress changed since the last write (on the
         * caller's thread: before the attempt's outcome, which moves the token on). The record keeps it.
         */
        void stop() {
            ScheduledFuture<?> scheduled = future;
            if (scheduled != null) {
                scheduled.cancel(false);
            }
            write();
            synchronized (this) {
                stopped = true;
            }
        }

        private synchronized void write() {
            AttemptLog.Progress progress = latest.get();
            if (stopped || progress == null || !progress.differsFrom(written)) {
                return;
            }
            try {
                if (store.recordProgress(lease, progress.fraction(), progress.message(), progress.at())) {
                    written = progress;
                } else {
                    stopped = true; // the lease is gone: the heartbeat stops the job
                }
            } catch (SdkException e) {
                LOG.debug("job {}: progress not written ({}); the next write carries the latest", lease.jobId(),
                        AwsErrors.describe(e));
            } catch (RuntimeException e) {
                LOG.warn("job {}: progress not written: {}", lease.jobId(), e.toString());
            }
        }
    }
}
