package dev.ferry.functions;

import dev.ferry.core.Job;
import dev.ferry.core.JobStore;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * A client's cancel, as conditional writes that each either apply or report what they found:
 *
 * <ol>
 *   <li>PENDING or QUEUED → CANCELLED at once ({@link JobStore#cancelWaiting}); no worker will run
 *       it: one that receives its message deletes it unrun.</li>
 *   <li>Found RUNNING (perhaps claimed a moment ago): the cancel is requested on the record
 *       ({@link JobStore#requestCancel}); its worker finds it on its next heartbeat, stops the
 *       handler and writes CANCELLED. From then on no other outcome can be written for it.</li>
 *   <li>Found SUCCEEDED or FAILED (its own outcome was written first): nothing to cancel.</li>
 *   <li>Found back in the queue (its attempt failed and backs off, or its machine gave it back,
 *       between the two writes): start again.</li>
 * </ol>
 *
 * <p>A write whose response was lost is retried by the SDK and finds what the first try left
 * (CANCELLED, or RUNNING with the request), so the answer is the same.
 */
final class JobCanceller {

    static final String BY_CLIENT = Job.CANCELLED_BY_CLIENT;
    /** How often a job may move back to the queue under a cancel before the client is asked to retry. */
    static final int ROUNDS = 3;

    /** What became of a cancel. */
    sealed interface Outcome {
    }

    /** The job reads CANCELLED: by this call, an earlier one, or an operator. */
    record Cancelled(Job job) implements Outcome {
    }

    /** The job runs, and its worker has been asked to stop it. */
    record Stopping(Job job) implements Outcome {
    }

    /** The job finished (SUCCEEDED or FAILED) before the cancel reached it. */
    record Finished(Job job) implements Outcome {
    }

    record Missing() implements Outcome {
    }

    private final JobStore store;
    private final Clock clock;

    JobCanceller(JobStore store, Clock clock) {
        this.store = Objects.requireNonNull(store, "store");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * @throws ApiException 503 when the job kept moving between the queue and a worker
     * @throws software.amazon.awssdk.core.exception.SdkException the table could not be reached
     */
    Outcome cancel(String jobId) {
        for (int round = 0; round < ROUNDS; round++) {
            Optional<Job> found = store.cancelWaiting(jobId, BY_CLIENT, clock.instant());
            if (found.isPresent() && found.get().status() == dev.ferry.core.JobStatus.RUNNING) {
                found = store.requestCancel(jobId, BY_CLIENT, clock.instant());
            }
            if (found.isEmpty()) {
                return new Missing();
            }
            Job job = found.get();
            switch (job.status()) {
                case CANCELLED -> {
                    return new Cancelled(job);
                }
                case RUNNING -> {
                    return new Stopping(job);
                }
                case SUCCEEDED, FAILED -> {
                    return new Finished(job);
                }
                default -> {
                    // PENDING or QUEUED again: its attempt ended between the two writes. Once more.
                }
            }
        }
        throw ApiException.unavailable("job " + jobId + " moved between the queue and a worker while it was being"
                + " cancelled", Duration.ofSeconds(1));
    }
}
