package dev.ferry.core;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * A job record, as stored in the jobs table. Immutable; {@link #toBuilder()} for changes.
 *
 * <p>{@code version} is the fencing token: every claim and every finish adds one, and a worker may
 * only finish a job while the version is still the one its claim produced.
 */
public final class Job {

    /** The {@code cancelReason} of a job its client cancelled. */
    public static final String CANCELLED_BY_CLIENT = "cancelled by the client";
    /** {@link #priority()} of a job sent to its pool's high-priority lane (issue 14). */
    public static final String HIGH_PRIORITY = "high";
    private final String jobId;
    private final String type;
    private final String pool;
    private final String priority;
    private final String input;
    private final String requestHash;
    private final String idempotencyKey;
    private final JobStatus status;
    private final int attempts;
    private final int preemptions;
    private final int redrives;
    private final long version;
    private final String leaseOwner;
    private final Long leaseExpiresAt;
    private final String leaseMessageId;
    private final String leaseId;
    private final String result;
    private final String error;
    private final Instant createdAt;
    private final Instant updatedAt;
    private final Instant enqueuedAt;
    private final Instant finishedAt;
    private final Long expiresAt;
    private final Long sendingUntil;
    private final Instant redriveRequestedAt;
    private final String resultKey;
    private final String files;
    private final String uploads;
    private final java.util.List<AttemptRecord> history;
    private final String webhookUrl;
    private final java.util.List<String> webhookEvents;
    // Cancel, deadline, progress (issue 11)
    private final Instant claimedAt;
    private final Instant cancelRequestedAt;
    private final String cancelReason;
    private final Instant deadline;
    private final Double progress;
    private final String progressMessage;
    private final Instant progressAt;

    private Job(Builder b) {
        this.jobId = Objects.requireNonNull(b.jobId, "jobId");
        this.type = b.type;
        this.pool = b.pool;
        this.priority = b.priority;
        this.input = b.input;
        this.requestHash = b.requestHash;
        this.idempotencyKey = b.idempotencyKey;
        this.status = b.status;
        this.attempts = b.attempts == null ? 0 : b.attempts;
        this.preemptions = b.preemptions == null ? 0 : b.preemptions;
        this.redrives = b.redrives == null ? 0 : b.redrives;
        this.version = b.version == null ? 0 : b.version;
        this.leaseOwner = b.leaseOwner;
        this.leaseExpiresAt = b.leaseExpiresAt;
        this.leaseMessageId = b.leaseMessageId;
        this.leaseId = b.leaseId;
        this.result = b.result;
        this.error = b.error;
        this.createdAt = b.createdAt;
        this.updatedAt = b.updatedAt;
        this.enqueuedAt = b.enqueuedAt;
        this.finishedAt = b.finishedAt;
        this.expiresAt = b.expiresAt;
        this.sendingUntil = b.sendingUntil;
        this.redriveRequestedAt = b.redriveRequestedAt;
        this.resultKey = b.resultKey;
        this.files = b.files;
        this.uploads = b.uploads;
        this.history = b.history == null ? java.util.List.of() : java.util.List.copyOf(b.history);
        this.webhookUrl = b.webhookUrl;
        this.webhookEvents = b.webhookEvents == null ? java.util.List.of() : java.util.List.copyOf(b.webhookEvents);
        this.claimedAt = b.claimedAt;
        this.cancelRequestedAt = b.cancelRequestedAt;
        this.cancelReason = b.cancelReason;
        this.deadline = b.deadline;
        this.progress = b.progress;
        this.progressMessage = b.progressMessage;
        this.progressAt = b.progressAt;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder()
                .jobId(jobId).type(type).pool(pool).priority(priority).input(input).requestHash(requestHash).idempotencyKey(idempotencyKey)
                .status(status).attempts(attempts).preemptions(preemptions).redrives(redrives).version(version)
                .leaseOwner(leaseOwner).leaseExpiresAt(leaseExpiresAt).leaseMessageId(leaseMessageId)
                .leaseId(leaseId).result(result).error(error)
                .createdAt(createdAt).updatedAt(updatedAt).enqueuedAt(enqueuedAt).finishedAt(finishedAt)
                .expiresAt(expiresAt).sendingUntil(sendingUntil).redriveRequestedAt(redriveRequestedAt)
                .resultKey(resultKey).files(files).uploads(uploads).history(history)
                .webhookUrl(webhookUrl).webhookEvents(webhookEvents)
                .claimedAt(claimedAt).cancelRequestedAt(cancelRequestedAt).cancelReason(cancelReason)
                .deadline(deadline).progress(progress).progressMessage(progressMessage).progressAt(progressAt);
    }

    public String jobId() { return jobId; }
    public String type() { return type; }
    /** The pool its type was routed to at submit; null on a record from before pools. */
    public String pool() { return pool; }
    /**
     * The lane it was sent to: {@value #HIGH_PRIORITY} for its pool's high-priority lane, null for
     * the pool's queue (normal; every record from before lanes).
     */
    public String priority() { return priority; }
    /** Whether it was sent to its pool's high-priority lane. */
    public boolean highPriority() { return HIGH_PRIORITY.equals(priority); }
    /** The job's input, a JSON document as text. */
    public String input() { return input; }
    /** SHA-256 of the canonical request body: an idempotent replay must match it. */
    public String requestHash() { return requestHash; }
    public String idempotencyKey() { return idempotencyKey; }
    public JobStatus status() { return status; }
    /** How many times a worker has claimed this job. */
    public int attempts() { return attempts; }
    /** How many times a run was given back because its machine went away (not a failure). */
    public int preemptions() { return preemptions; }
    /** How many times an operator sent this job back from FAILED to the queue. */
    public int redrives() { return redrives; }
    /** The fencing token. */
    public long version() { return version; }
    public String leaseOwner() { return leaseOwner; }
    /** Epoch milliseconds after which another worker may take the job over. */
    public Long leaseExpiresAt() { return leaseExpiresAt; }
    /** The SQS message id the current lease was claimed through. */
    public String leaseMessageId() { return leaseMessageId; }
    /**
     * Names the claim that produced the current (or last) lease, random per claim. It stays on the
     * record after the lease's outcome is written, so that a writer whose response was lost can
     * recognise its own write when the SDK's retry fails the condition.
     */
    public String leaseId() { return leaseId; }
    /** The result, a JSON document as text, once SUCCEEDED. */
    public String result() { return result; }
    /** The last error, if an attempt failed. */
    public String error() { return error; }
    public Instant createdAt() { return createdAt; }
    public Instant updatedAt() { return updatedAt; }
    /** When the job's message was sent; absent if the submit never got that far. */
    public Instant enqueuedAt() { return enqueuedAt; }
    public Instant finishedAt() { return finishedAt; }
    /**
     * TTL: epoch seconds after which DynamoDB may delete the record. Only finished jobs carry one
     * (counted from when they finished), and PENDING ones, whose message may never have been sent.
     */
    public Long expiresAt() { return expiresAt; }
    /** PENDING only: epoch milliseconds until which one submit request holds the right to send its message. */
    public Long sendingUntil() { return sendingUntil; }
    /** FAILED only: an operator asked for another round; the next delivery of its message may claim it. */
    public Instant redriveRequestedAt() { return redriveRequestedAt; }
    /** Where a result too large for the record is stored (the job files bucket); then {@code result} is absent. */
    public String resultKey() { return resultKey; }
    /** The files of the attempt that succeeded: a JSON array of {@link JobFiles.StoredFile}; null when none. */
    public String files() { return files; }
    /**
     * The uploads its input names, checked at submit: a JSON object of upload id to the
     * {@code ETag} seen then, so that every attempt runs on what was checked; null when none.
     */
    public String uploads() { return uploads; }
    /** What each attempt that wrote an outcome left, oldest first. */
    public java.util.List<AttemptRecord> history() { return history; }
    /** Where Ferry POSTs this job's events ({@code webhookEvents}); null when the client named none. */
    public String webhookUrl() { return webhookUrl; }
    /** Which events go to {@link #webhookUrl()}: {@code completed}, {@code failed}, ...; empty without one. */
    public java.util.List<String> webhookEvents() { return webhookEvents; }
    /** When the current (or last) lease was claimed: the start of the attempt it ran. */
    public Instant claimedAt() { return claimedAt; }
    /**
     * RUNNING only (it stays once the job is CANCELLED): a client asked to cancel the job while a
     * worker ran it. The worker learns it on its next heartbeat and stops the job; from then on
     * no outcome but CANCELLED can be written under its lease.
     */
    public Instant cancelRequestedAt() { return cancelRequestedAt; }
    /** Why the job is (or is being) CANCELLED: "cancelled by the client", "deadline ... passed ...". */
    public String cancelReason() { return cancelReason; }
    /** When the job is stopped (CANCELLED) unless it finished; null for none. */
    public Instant deadline() { return deadline; }
    /** The latest progress its handler reported, 0 to 1; null when none. */
    public Double progress() { return progress; }
    public String progressMessage() { return progressMessage; }
    /** When that progress was reported. */
    public Instant progressAt() { return progressAt; }

    /**
     * True once the record's TTL has passed: DynamoDB deletes such records up to days late, and
     * reads return them until then, so readers treat them as gone.
     */
    public boolean expiredAt(Instant now) {
        return expiresAt != null && expiresAt < now.getEpochSecond();
    }

    public Optional<Lease> lease() {
        return status == JobStatus.RUNNING && leaseOwner != null
                ? Optional.of(new Lease(jobId, leaseOwner, version, leaseId))
                : Optional.empty();
    }

    /** True if a lease is held and has not run out at {@code now}. */
    public boolean leaseActiveAt(Instant now) {
        return status == JobStatus.RUNNING && leaseExpiresAt != null && leaseExpiresAt > now.toEpochMilli();
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) return true;
        if (!(o instanceof Job other)) return false;
        return attempts == other.attempts && version == other.version && preemptions == other.preemptions
                && redrives == other.redrives
                && jobId.equals(other.jobId) && Objects.equals(type, other.type) && Objects.equals(pool, other.pool)
                && Objects.equals(priority, other.priority)
                && Objects.equals(input, other.input) && Objects.equals(requestHash, other.requestHash)
                && Objects.equals(idempotencyKey, other.idempotencyKey) && status == other.status
                && Objects.equals(leaseOwner, other.leaseOwner) && Objects.equals(leaseExpiresAt, other.leaseExpiresAt)
                && Objects.equals(leaseMessageId, other.leaseMessageId) && Objects.equals(leaseId, other.leaseId)
                && Objects.equals(result, other.result)
                && Objects.equals(error, other.error) && Objects.equals(createdAt, other.createdAt)
                && Objects.equals(updatedAt, other.updatedAt) && Objects.equals(enqueuedAt, other.enqueuedAt)
                && Objects.equals(finishedAt, other.finishedAt) && Objects.equals(expiresAt, other.expiresAt)
                && Objects.equals(sendingUntil, other.sendingUntil)
                && Objects.equals(redriveRequestedAt, other.redriveRequestedAt)
                && Objects.equals(resultKey, other.resultKey) && Objects.equals(files, other.files) && Objects.equals(uploads, other.uploads)
                && Objects.equals(history, other.history)
                && Objects.equals(webhookUrl, other.webhookUrl) && Objects.equals(webhookEvents, other.webhookEvents)
                && Objects.equals(claimedAt, other.claimedAt)
                && Objects.equals(cancelRequestedAt, other.cancelRequestedAt)
                && Objects.equals(cancelReason, other.cancelReason) && Objects.equals(deadline, other.deadline)
                && Objects.equals(progress, other.progress) && Objects.equals(progressMessage, other.progressMessage)
                && Objects.equals(progressAt, other.progressAt);
    }

    @Override
    public int hashCode() {
        return Objects.hash(jobId, status, version);
    }

    @Override
    public String toString() {
        return "Job{" + jobId + " " + type + " " + status + " attempts=" + attempts + " version=" + version
                + (leaseOwner == null ? "" : " lease=" + leaseOwner) + "}";
    }

    /** Builder; also the builder the enhanced client's immutable table schema uses. */
    public static final class Builder {
        private String jobId;
        private String type;
        private String input;
        private String requestHash;
        private String idempotencyKey;
        private JobStatus status;
        private Integer attempts;
        private Integer preemptions;
        private Integer redrives;
        private Long version;
        private String leaseOwner;
        private Long leaseExpiresAt;
        private String leaseMessageId;
        private String leaseId;
        private String result;
        private String error;
        private Instant createdAt;
        private Instant updatedAt;
        private Instant enqueuedAt;
        private Instant finishedAt;
        private Long expiresAt;
        private Long sendingUntil;
        private Instant redriveRequestedAt;
        private String resultKey;
        private String files;
        private String uploads;
        private java.util.List<AttemptRecord> history;
        private String webhookUrl;
        private java.util.List<String> webhookEvents;
        private String pool;
        private String priority;
        private Instant claimedAt;
        private Instant cancelRequestedAt;
        private String cancelReason;
        private Instant deadline;
        private Double progress;
        private String progressMessage;
        private Instant progressAt;

        public Builder jobId(String v) { this.jobId = v; return this; }
        public Builder type(String v) { this.type = v; return this; }
        public Builder pool(String v) { this.pool = v; return this; }
        public Builder priority(String v) { this.priority = v; return this; }
        public Builder input(String v) { this.input = v; return this; }
        public Builder requestHash(String v) { this.requestHash = v; return this; }
        public Builder idempotencyKey(String v) { this.idempotencyKey = v; return this; }
        public Builder status(JobStatus v) { this.status = v; return this; }
        public Builder attempts(Integer v) { this.attempts = v; return this; }
        public Builder preemptions(Integer v) { this.preemptions = v; return this; }
        public Builder redrives(Integer v) { this.redrives = v; return this; }
        public Builder version(Long v) { this.version = v; return this; }
        public Builder leaseOwner(String v) { this.leaseOwner = v; return this; }
        public Builder leaseExpiresAt(Long v) { this.leaseExpiresAt = v; return this; }
        public Builder leaseMessageId(String v) { this.leaseMessageId = v; return this; }
        public Builder leaseId(String v) { this.leaseId = v; return this; }
        public Builder result(String v) { this.result = v; return this; }
        public Builder error(String v) { this.error = v; return this; }
        public Builder createdAt(Instant v) { this.createdAt = v; return this; }
        public Builder updatedAt(Instant v) { this.updatedAt = v; return this; }
        public Builder enqueuedAt(Instant v) { this.enqueuedAt = v; return this; }
        public Builder finishedAt(Instant v) { this.finishedAt = v; return this; }
        public Builder expiresAt(Long v) { this.expiresAt = v; return this; }
        public Builder sendingUntil(Long v) { this.sendingUntil = v; return this; }
        public Builder redriveRequestedAt(Instant v) { this.redriveRequestedAt = v; return this; }
        public Builder resultKey(String v) { this.resultKey = v; return this; }
        public Builder files(String v) { this.files = v; return this; }
        public Builder uploads(String v) { this.uploads = v; return this; }
        public Builder history(java.util.List<AttemptRecord> v) { this.history = v; return this; }
        public Builder webhookUrl(String v) { this.webhookUrl = v; return this; }
        public Builder webhookEvents(java.util.List<String> v) { this.webhookEvents = v; return this; }
        public Builder claimedAt(Instant v) { this.claimedAt = v; return this; }
        public Builder cancelRequestedAt(Instant v) { this.cancelRequestedAt = v; return this; }
        public Builder cancelReason(String v) { this.cancelReason = v; return this; }
        public Builder deadline(Instant v) { this.deadline = v; return this; }
        public Builder progress(Double v) { this.progress = v; return this; }
        public Builder progressMessage(String v) { this.progressMessage = v; return this; }
        public Builder progressAt(Instant v) { this.progressAt = v; return this; }

        public Job build() {
            return new Job(this);
        }
    }
}
