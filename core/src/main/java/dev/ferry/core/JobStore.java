package dev.ferry.core;

import java.time.Instant;
import java.util.Optional;

/**
 * The job records. Every state change is one conditional write: the condition is what makes a
 * job take effect once however often SQS delivers it.
 */
public interface JobStore {

    /** Writes a new record unless one with the same id exists; then returns that one instead. */
    CreateResult create(Job job);

    /** A strongly consistent read. */
    Optional<Job> get(String jobId);

    /** Records that the job's message was sent (a retried submit re-sends while this is absent). */
    void markEnqueued(String jobId, Instant now);

    /**
     * Takes the job for {@code workerId} if it is QUEUED, or RUNNING with a lease that ran out:
     * status RUNNING, attempts + 1, version + 1 (the new fencing token).
     */
    ClaimResult claim(String jobId, String workerId, String messageId, Instant leaseUntil, Instant now);

    /** Extends the lease; false if the lease was lost (another claim, or the job finished). */
    boolean renewLease(Lease lease, Instant leaseUntil);

    /** RUNNING → SUCCEEDED with the result, if the lease still holds. */
    boolean complete(Lease lease, String resultJson, Instant now);

    /** RUNNING → QUEUED with the error (the message's visibility is the back-off), if the lease holds. */
    boolean retryLater(Lease lease, String error, Instant now);

    /** RUNNING → FAILED with the error (out of attempts), if the lease holds. */
    boolean fail(Lease lease, String error, Instant now);

    /**
     * RUNNING → QUEUED without a failure, if the lease holds: the run was given back because its
     * machine is going away. Counts a preemption; the last error stays as it was.
     */
    boolean release(Lease lease, Instant now);

    /** FAILED → QUEUED for another round of attempts (an operator's retry or redrive); counts a redrive. */
    boolean requeueFailed(String jobId, Instant now);

    /** FAILED → CANCELLED: an operator discarded the job. */
    boolean cancelFailed(String jobId, Instant now);

    /**
     * Up to {@code maxItems} records, without their input and result (for overviews). A full
     * read of the table: for the admin page, not for a request path.
     */
    ScanResult scan(int maxItems);

    /** What {@link #scan} found, and whether it stopped at the limit. */
    record ScanResult(java.util.List<Job> jobs, boolean truncated) {
    }

    /** Outcome of {@link #create}. */
    sealed interface CreateResult {
        Job job();
    }

    record Created(Job job) implements CreateResult {
    }

    record AlreadyExists(Job job) implements CreateResult {
    }

    /** Outcome of {@link #claim}. */
    sealed interface ClaimResult {
    }

    /** The lease is ours; {@code job.version()} is the fencing token. */
    record Claimed(Job job) implements ClaimResult {
    }

    /** Someone else holds a live lease, or the job is final. */
    record NotClaimable(Job current) implements ClaimResult {
    }

    /** No record: the message outlived it (TTL) or never had one. */
    record Missing() implements ClaimResult {
    }
}
