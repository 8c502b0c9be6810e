package dev.ferry.worker;

import dev.ferry.core.AwsErrors;
import java.time.Duration;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * Writes a job's outcome (or its release) to the store, fenced by the lease: tried again with
 * back-off while the table cannot be reached or throttles, for a bounded time; a write the table
 * refuses for good (an item over 400 KB, a denied permission) is reported at once, never retried
 * into a failure the same write would repeat. (The store itself recognises a write whose response
 * was lost, so "applied" means applied, whichever try it was.)
 */
final class OutcomeWriter {

    private static final Logger LOG = LoggerFactory.getLogger(OutcomeWriter.class);
    /** First pause between tries of a write that failed (the SDK retried inside each). */
    static final Duration RETRY_BASE = Duration.ofMillis(500);
    static final Duration RETRY_MAX = Duration.ofSeconds(5);

    /** What became of a write. */
    enum Result {
        /** Written (by this try or an earlier one whose response was lost). */
        APPLIED,
        /** The fence did not hold: another worker took the lease over. Nothing was written. */
        LEASE_LOST,
        /** The table could not be reached within the time allowed. Nothing is known to be written. */
        UNAVAILABLE,
        /** The table refused the write for good. */
        REFUSED
    }

    /** A write's result, and the error for {@link Result#UNAVAILABLE} and {@link Result#REFUSED}. */
    record Written(Result result, Optional<SdkException> failure) {
        String reason() {
            return failure.map(AwsErrors::describe).orElse(result.name());
        }
    }

    private final Backoff backoff;
    private final Sleeper sleeper;

    interface Sleeper {
        void sleep(Duration duration) throws InterruptedException;
    }

    OutcomeWriter() {
        this(Backoff.withJitter(RETRY_BASE, RETRY_MAX), d -> Thread.sleep(d.toMillis()));
    }

    OutcomeWriter(Backoff backoff, Sleeper sleeper) {
        this.backoff = backoff;
        this.sleeper = sleeper;
    }

    /**
     * @param what for the log, e.g. "result"
     * @param write the fenced write: true when applied, false when the fence did not hold
     * @param within how long to keep trying while the table is unreachable
     */
    Written write(String jobId, String what, BooleanSupplier write, Duration within) {
        long deadline = System.nanoTime() + within.toNanos();
        for (int failures = 1; ; failures++) {
            try {
                return new Written(write.getAsBoolean() ? Result.APPLIED : Result.LEASE_LOST, Optional.empty());
            } catch (SdkException e) {
                if (!AwsErrors.retryable(e)) {
                    LOG.warn("job {}: its {} was refused: {}", jobId, what, AwsErrors.describe(e));
                    return new Written(Result.REFUSED, Optional.of(e));
                }
                Duration pause = backoff.delay(failures);
                if (System.nanoTime() + pause.toNanos() > deadline || Thread.currentThread().isInterrupted()) {
                    LOG.warn("job {}: could not write its {} after {} tries: {}", jobId, what, failures, e.toString());
                    return new Written(Result.UNAVAILABLE, Optional.of(e));
                }
                LOG.warn("job {}: could not write its {} ({} in a row), next try in {} ms: {}", jobId, what, failures,
                        pause.toMillis(), e.toString());
                try {
                    sleeper.sleep(pause);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    return new Written(Result.UNAVAILABLE, Optional.of(e));
                }
            }
        }
    }
}
