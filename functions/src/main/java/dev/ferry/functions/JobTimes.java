package dev.ferry.functions;

import dev.ferry.core.JobStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * What the history charts need of one job.
 *
 * @param createdAt when it was submitted
 * @param enqueuedAt when its message was first sent (null: never sent; then its creation counts)
 * @param firstStartedAt when its first attempt started (null: not started, or not read)
 * @param finishedAt when it reached its final status (null: not finished)
 * @param runTime how long its final attempt ran, start to end (null: no attempt ran to an end, or not read)
 */
record JobTimes(String type, JobStatus status, Instant createdAt, Instant enqueuedAt, Instant firstStartedAt,
                Instant finishedAt, Duration runTime) {

    JobTimes {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(createdAt, "createdAt");
    }

    /** From queued to its first start; null where it has not started (or it started before it was queued: a skewed clock). */
    Duration queueWait() {
        if (firstStartedAt == null) {
            return null;
        }
        Instant queued = enqueuedAt != null ? enqueuedAt : createdAt;
        return firstStartedAt.isBefore(queued) ? null : Duration.between(queued, firstStartedAt);
    }
}
