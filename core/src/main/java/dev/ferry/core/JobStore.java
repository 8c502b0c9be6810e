package dev.ferry.core;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The job records. Every state change is one conditional write: the condition is what makes a
 * job take effect once however often SQS delivers it.
 *
 * <p><b>Lost responses.</b> A write can be applied and its response lost; the SDK then retries it
 * and the retry fails its own condition. Every write here recognises that case from the record
 * DynamoDB returns with the failure (the lease id, token and status its earlier try left) and
 * reports it as applied. Callers never see the difference.
 *
 * <p><b>Expiry.</b> Only finished jobs carry a TTL, counted from when they finished (and PENDING
 * ones, whose message may never have gone out). A record past its TTL is treated as gone by reads
 * and may be replaced by a new submit of the same id: DynamoDB deletes it up to days late.
 */
public interface JobStore {

    /**
     * Writes a new PENDING record unless a live one has the same id; then returns that one
     * instead. A record past its TTL counts as absent and is replaced.
     */
    CreateResult create(Job job);

    /** A strongly consistent read; empty when there is no record or its TTL has passed. */
    Optional<Job> get(String jobId);

    /**
     * PENDING → QUEUED once the job's message was sent: the TTL goes, {@code enqueuedAt} is set.
     *
     * @return the record as it is now (QUEUED, or already further: a worker claimed it); empty if
     *     it is gone
     */
    Optional<Job> markQueued(String jobId, Instant now);

    /**
     * Takes the right to send a PENDING job's message, if no other request holds it (its
     * {@code sendingUntil} has passed): a replay of a submit whose sender vanished.
     *
     * @return whether this caller now holds it until {@code until}
     */
    boolean takeOverSending(String jobId, Instant until, Instant now);

    /**
     * Deletes a PENDING record that no worker ever claimed (its submit failed before its message
     * was known to be sent, and no client was told it was accepted).
     *
     * @return empty when deleted (or already gone); else the record, which has moved on
     */
    Optional<Job> deleteUnsent(String jobId);

    /**
     * Takes the job for {@code workerId} if it is PENDING or QUEUED, RUNNING with a lease that ran
     * out, or FAILED with a redrive requested: status RUNNING, attempts + 1, version + 1 (the new
     * fencing token), a new lease id, the TTL removed, the last attempt's progress cleared. Taking
     * over a lease that ran out appends the attempt that held it to the history, as
     * {@link AttemptRecord#LEASE_LOST}, in the claiming write itself.
     */
    ClaimResult claim(String jobId, String workerId, String messageId, Instant leaseUntil, Instant now);

    /**
     * Takes over a lease that its holder gave back (its machine going away) but could not release:
     * the job is RUNNING under {@code givenBackLeaseId}. Counts a preemption, not an attempt. A job
     * whose lease is something else is {@link NotClaimable}.
     */
    ClaimResult claimGivenBack(String jobId, String givenBackLeaseId, String workerId, String messageId,
                               Instant leaseUntil, Instant now);

    /** What a heartbeat's renewal found. */
    enum Renewal {
        /** The lease is ours for longer. */
        RENEWED,
        /**
         * Still ours, but a client asked to cancel the job ({@link Job#cancelRequestedAt()}): stop
         * it and write {@link #cancel}. The lease was not extended.
         */
        CANCEL_REQUESTED,
        /** Taken over by another claim, or the job moved on: stop, and write nothing. */
        LOST
    }

    /**
     * Extends the lease unless it was lost (another claim, or the job finished) or a client asked
     * to cancel the job; the record returned with the refusal tells which.
     */
    Renewal renewLease(Lease lease, Instant leaseUntil);

    /**
     * The latest progress of the attempt the lease runs, if the lease holds (a write under a lease
     * that was lost changes nothing). {@code message} may be null.
     */
    boolean recordProgress(Lease lease, double fraction, String message, Instant at);

    /**
     * What a successful attempt leaves: its result (inline, or by reference to the job files
     * bucket when too large for the record), its files, and its history entry.
     *
     * @param resultJson the result, or null when stored by reference
     * @param resultKey where a result too large for the record is stored, or null
     * @param filesJson its files ({@link JobFiles#filesJson}), or null when it wrote none
     * @param attempt its history entry, or null for none
     */
    record Completion(String resultJson, String resultKey, String filesJson, AttemptRecord attempt) {
        public static Completion of(String resultJson) {
            return new Completion(resultJson, null, null, null);
        }
    }

    /**
     * RUNNING → SUCCEEDED with the result, if the lease still holds; the TTL starts.
     *
     * <p>This and every other outcome but {@link #cancel} also require that no client asked to
     * cancel the job: once {@link #requestCancel} was answered, the job can only end CANCELLED.
     * Such a write returns false, as for a lost lease; the worker then writes {@link #cancel},
     * which succeeds only if the lease does hold.
     */
    boolean complete(Lease lease, Completion completion, Instant now);

    /**
     * RUNNING → QUEUED with the error (a delayed copy of the message is the back-off), if the lease
     * holds; {@code attempt} (nullable) joins the history.
     */
    default boolean retryLater(Lease lease, String error, AttemptRecord attempt, Instant now) {
        return retryLater(lease, error, attempt, now, null);
    }

    /**
     * {@link #retryLater(Lease, String, AttemptRecord, Instant)}, the job moving to pool
     * {@code toPool} (its record's {@code pool}) for its next attempt; null: it stays where it is.
     */
    boolean retryLater(Lease lease, String error, AttemptRecord attempt, Instant now, String toPool);

    /** RUNNING → FAILED with the error, if the lease holds; the TTL starts; {@code attempt} joins the history. */
    boolean fail(Lease lease, String error, AttemptRecord attempt, Instant now);

    /**
     * RUNNING → FAILED without running: claimed past its attempt budget (the last attempt's worker
     * vanished). The claim that found it so is not counted as an attempt.
     */
    boolean failUnrun(Lease lease, String error, Instant now);

    /**
     * RUNNING → QUEUED without a failure, if the lease holds: the run was given back because its
     * machine is going away. Counts a preemption; the last error stays as it was.
     */
    boolean release(Lease lease, AttemptRecord attempt, Instant now);

    /**
     * RUNNING → QUEUED as if never claimed, if the lease holds and no client asked to cancel the
     * job: a claim made ahead, for a slot whose job overran or a worker that began to drain
     * before the claimed job could start. The claim is not counted (attempts - 1, no preemption,
     * nothing in the history); the token moves on. A refusal means the lease was lost or a cancel
     * was requested (then {@link #cancelUnrun}).
     */
    boolean unclaim(Lease lease, Instant now);

    /**
     * RUNNING → CANCELLED, if the lease holds, whether or not a cancel was requested: a client's
     * cancel, or the job's deadline. The TTL starts; {@code cancelReason} becomes {@code reason}
     * unless the record has one (the client's); {@code attempt} (nullable) joins the history.
     */
    boolean cancel(Lease lease, String reason, AttemptRecord attempt, Instant now);

    /**
     * RUNNING → CANCELLED without running: claimed with a cancel requested, or past its deadline.
     * The claim that found it so is not counted as an attempt.
     */
    boolean cancelUnrun(Lease lease, String reason, Instant now);

    // ---------------------------------------------------------------------------------------------
    // Clients

    /**
     * PENDING or QUEUED → CANCELLED with {@code reason}; the TTL starts. A worker that later
     * receives its message deletes it unrun.
     *
     * @return the record as it is now: CANCELLED (by this call, an earlier try of it whose response
     *     was lost, or before), or as this call found it (RUNNING, SUCCEEDED, FAILED); empty when
     *     there is none (or it is past its TTL)
     */
    Optional<Job> cancelWaiting(String jobId, String reason, Instant now);

    /**
     * Asks the worker running a RUNNING job to stop it: {@code cancelRequestedAt} and
     * {@code cancelReason} are set (kept as they are when set before, so a retry changes nothing).
     * The worker learns it on its next heartbeat; from then on the job can only end CANCELLED.
     *
     * @return the record as it is now: RUNNING with the request, or as this call found it (moved
     *     on meanwhile: CANCELLED, SUCCEEDED, FAILED, or QUEUED again); empty when there is none
     */
    Optional<Job> requestCancel(String jobId, String reason, Instant now);

    // ---------------------------------------------------------------------------------------------
    // Operators

    /**
     * Asks for another round of attempts for a FAILED job (an operator's retry or redrive): it stays
     * FAILED, so that it and its message in the dead-letter queue keep agreeing until a worker
     * claims the moved message; counts a redrive.
     *
     * @return whether the job is now FAILED with a redrive requested (by this call or an earlier one)
     */
    boolean requestRedrive(String jobId, Instant now);

    /** FAILED → CANCELLED: an operator discarded the job; the TTL starts. */
    boolean cancelFailed(String jobId, Instant now);

    /**
     * Up to {@code maxItems} records, without their input and result (for overviews). A full
     * read of the table: for the admin page, not for a request path.
     */
    ScanResult scan(int maxItems);

    /** What {@link #scan} found, and whether it stopped at the limit. */
    record ScanResult(List<Job> jobs, boolean truncated) {
    }

    /** Outcome of {@link #create}. */
    sealed interface CreateResult {
        Job job();
    }

    /** This call wrote the record (or an earlier try of it did, and its response was lost). */
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
