package dev.ferry.functions;

import dev.ferry.core.AttemptRecord;
import dev.ferry.core.Job;
import dev.ferry.core.JobStatus;
import dev.ferry.core.JobStore;
import dev.ferry.core.Lease;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import software.amazon.awssdk.core.exception.SdkClientException;

/**
 * A {@link JobStore} in memory with the same conditions as the DynamoDB one, for handler tests.
 * The real store is tested against DynamoDB Local (JobStoreIT), and its requests word for word
 * (DynamoDbJobStoreTest).
 */
final class InMemoryJobStore implements JobStore {

    final Map<String, Job> jobs = new ConcurrentHashMap<>();
    /** Shared with the fake queue to see the order of writes and sends. */
    final List<String> events;
    volatile boolean unavailable;
    /** Fails every {@link #markQueued}, as an outage right after the send would. */
    volatile boolean markFails;
    /** Run just before a cancel's write reads the record: what a worker did in between (a race). */
    volatile Runnable beforeCancelWaiting = () -> { };
    volatile Runnable beforeRequestCancel = () -> { };

    InMemoryJobStore(List<String> events) {
        this.events = events;
    }

    InMemoryJobStore() {
        this(java.util.Collections.synchronizedList(new ArrayList<>()));
    }

    private void checkAvailable() {
        if (unavailable) {
            throw SdkClientException.create("Unable to execute HTTP request: Connect timed out");
        }
    }

    @Override
    public synchronized CreateResult create(Job job) {
        checkAvailable();
        Job existing = jobs.get(job.jobId());
        if (existing != null && !existing.expiredAt(Instant.now())) {
            return new AlreadyExists(existing);
        }
        jobs.put(job.jobId(), job);
        events.add("put " + job.jobId());
        return new Created(job);
    }

    @Override
    public Optional<Job> get(String jobId) {
        checkAvailable();
        return Optional.ofNullable(jobs.get(jobId)).filter(job -> !job.expiredAt(Instant.now()));
    }

    @Override
    public synchronized Optional<Job> markQueued(String jobId, Instant now) {
        checkAvailable();
        if (markFails) {
            throw SdkClientException.create("Unable to execute HTTP request: Read timed out");
        }
        Job job = jobs.get(jobId);
        if (job == null || job.status() != JobStatus.PENDING) {
            return Optional.ofNullable(job);
        }
        Job queued = job.toBuilder().status(JobStatus.QUEUED).enqueuedAt(now).updatedAt(now).expiresAt(null)
                .sendingUntil(null).build();
        jobs.put(jobId, queued);
        events.add("queued " + jobId);
        return Optional.of(queued);
    }

    @Override
    public synchronized boolean takeOverSending(String jobId, Instant until, Instant now) {
        checkAvailable();
        Job job = jobs.get(jobId);
        if (job == null || job.status() != JobStatus.PENDING
                || (job.sendingUntil() != null && job.sendingUntil() >= now.toEpochMilli())) {
            return false;
        }
        jobs.put(jobId, job.toBuilder().sendingUntil(until.toEpochMilli()).build());
        events.add("take-over " + jobId);
        return true;
    }

    @Override
    public synchronized Optional<Job> deleteUnsent(String jobId) {
        checkAvailable();
        Job job = jobs.get(jobId);
        if (job == null) {
            return Optional.empty();
        }
        if (job.status() != JobStatus.PENDING || job.attempts() != 0) {
            return Optional.of(job);
        }
        jobs.remove(jobId);
        events.add("delete " + jobId);
        return Optional.empty();
    }

    @Override
    public synchronized ClaimResult claim(String jobId, String workerId, String messageId, Instant leaseUntil,
                                          Instant now) {
        checkAvailable();
        Job job = jobs.get(jobId);
        if (job == null) {
            return new Missing();
        }
        boolean claimable = job.status() == JobStatus.QUEUED || job.status() == JobStatus.PENDING
                || (job.status() == JobStatus.RUNNING && job.leaseExpiresAt() < now.toEpochMilli())
                || (job.status() == JobStatus.FAILED && job.redriveRequestedAt() != null);
        if (!claimable) {
            return new NotClaimable(job);
        }
        return new Claimed(take(job, workerId, messageId, leaseUntil, now, 0));
    }

    @Override
    public synchronized ClaimResult claimGivenBack(String jobId, String givenBackLeaseId, String workerId,
                                                   String messageId, Instant leaseUntil, Instant now) {
        checkAvailable();
        Job job = jobs.get(jobId);
        if (job == null) {
            return new Missing();
        }
        if (job.status() != JobStatus.RUNNING || !givenBackLeaseId.equals(job.leaseId())) {
            return new NotClaimable(job);
        }
        return new Claimed(take(job, workerId, messageId, leaseUntil, now, 1));
    }

    private Job take(Job job, String workerId, String messageId, Instant leaseUntil, Instant now, int preemptions) {
        Job claimed = job.toBuilder().status(JobStatus.RUNNING).leaseOwner(workerId)
                .leaseExpiresAt(leaseUntil.toEpochMilli()).leaseMessageId(messageId)
                .leaseId(UUID.randomUUID().toString()).updatedAt(now)
                .version(job.version() + 1).attempts(job.attempts() + 1).preemptions(job.preemptions() + preemptions)
                .expiresAt(null).sendingUntil(null).redriveRequestedAt(null).finishedAt(null).claimedAt(now)
                .progress(null).progressMessage(null).progressAt(null).build();
        jobs.put(job.jobId(), claimed);
        return claimed;
    }

    private boolean holds(Lease lease) {
        Job job = jobs.get(lease.jobId());
        return job != null && job.status() == JobStatus.RUNNING && lease.owner().equals(job.leaseOwner())
                && job.version() == lease.token();
    }

    @Override
    public synchronized Renewal renewLease(Lease lease, Instant leaseUntil) {
        checkAvailable();
        if (!holds(lease)) {
            return Renewal.LOST;
        }
        if (jobs.get(lease.jobId()).cancelRequestedAt() != null) {
            return Renewal.CANCEL_REQUESTED;
        }
        jobs.computeIfPresent(lease.jobId(), (id, j) -> j.toBuilder().leaseExpiresAt(leaseUntil.toEpochMilli()).build());
        return Renewal.RENEWED;
    }

    @Override
    public synchronized boolean recordProgress(Lease lease, double fraction, String message, Instant at) {
        checkAvailable();
        if (!holds(lease)) {
            return false;
        }
        jobs.computeIfPresent(lease.jobId(), (id, j) -> j.toBuilder().progress(fraction).progressMessage(message)
                .progressAt(at).build());
        return true;
    }

    @Override
    public boolean cancel(Lease lease, String reason, AttemptRecord attempt, Instant now) {
        return outcome(lease, true, j -> finished(j, JobStatus.CANCELLED, now)
                .cancelReason(j.cancelReason() == null ? reason : j.cancelReason()).history(appended(j, attempt)).build());
    }

    @Override
    public boolean cancelUnrun(Lease lease, String reason, Instant now) {
        return outcome(lease, true, j -> finished(j, JobStatus.CANCELLED, now).attempts(j.attempts() - 1)
                .cancelReason(j.cancelReason() == null ? reason : j.cancelReason()).build());
    }

    @Override
    public synchronized Optional<Job> cancelWaiting(String jobId, String reason, Instant now) {
        checkAvailable();
        beforeCancelWaiting.run();
        Job job = jobs.get(jobId);
        if (job == null || job.expiredAt(now)) {
            return Optional.empty();
        }
        if (job.status() == JobStatus.PENDING || job.status() == JobStatus.QUEUED) {
            Job cancelled = job.toBuilder().status(JobStatus.CANCELLED).cancelReason(reason).updatedAt(now)
                    .finishedAt(now).expiresAt(now.plusSeconds(86_400).getEpochSecond()).version(job.version() + 1)
                    .sendingUntil(null).build();
            jobs.put(jobId, cancelled);
            events.add("cancel " + jobId);
            return Optional.of(cancelled);
        }
        return Optional.of(job);
    }

    @Override
    public synchronized Optional<Job> requestCancel(String jobId, String reason, Instant now) {
        checkAvailable();
        beforeRequestCancel.run();
        Job job = jobs.get(jobId);
        if (job == null || job.expiredAt(now)) {
            return Optional.empty();
        }
        if (job.status() == JobStatus.RUNNING && job.cancelRequestedAt() == null) {
            job = job.toBuilder().cancelRequestedAt(now).cancelReason(job.cancelReason() == null ? reason
                    : job.cancelReason()).build();
            jobs.put(jobId, job);
            events.add("request-cancel " + jobId);
        }
        return Optional.of(job);
    }

    @Override
    public boolean complete(Lease lease, Completion completion, Instant now) {
        return outcome(lease, j -> finished(j, JobStatus.SUCCEEDED, now).result(completion.resultJson())
                .resultKey(completion.resultKey()).files(completion.filesJson()).error(null)
                .history(appended(j, completion.attempt())).build());
    }

    @Override
    public boolean retryLater(Lease lease, String error, AttemptRecord attempt, Instant now, String toPool) {
        return outcome(lease, j -> unleased(j, JobStatus.QUEUED, now).error(error).history(appended(j, attempt))
                .pool(toPool != null ? toPool : j.pool()).build());
    }

    @Override
    public boolean fail(Lease lease, String error, AttemptRecord attempt, Instant now) {
        return outcome(lease, j -> finished(j, JobStatus.FAILED, now).error(error).history(appended(j, attempt)).build());
    }

    private static List<AttemptRecord> appended(Job job, AttemptRecord attempt) {
        List<AttemptRecord> history = new ArrayList<>(job.history());
        if (attempt != null) {
            history.add(attempt);
        }
        return history;
    }

    @Override
    public boolean failUnrun(Lease lease, String error, Instant now) {
        return outcome(lease, j -> finished(j, JobStatus.FAILED, now).error(error).attempts(j.attempts() - 1).build());
    }

    @Override
    public boolean unclaim(Lease lease, Instant now) {
        return outcome(lease, j -> unleased(j, JobStatus.QUEUED, now).attempts(j.attempts() - 1).claimedAt(null)
                .build());
    }

    @Override
    public boolean release(Lease lease, AttemptRecord attempt, Instant now) {
        return outcome(lease, j -> unleased(j, JobStatus.QUEUED, now).preemptions(j.preemptions() + 1)
                .history(appended(j, attempt)).build());
    }

    private static Job.Builder unleased(Job job, JobStatus to, Instant now) {
        return job.toBuilder().status(to).leaseOwner(null).leaseExpiresAt(null).leaseMessageId(null)
                .version(job.version() + 1).updatedAt(now);
    }

    private static Job.Builder finished(Job job, JobStatus to, Instant now) {
        return unleased(job, to, now).finishedAt(now).expiresAt(now.plusSeconds(86_400).getEpochSecond());
    }

    private boolean outcome(Lease lease, UnaryOperator<Job> change) {
        return outcome(lease, false, change);
    }

    /** Every outcome but a cancel is refused once a cancel was requested, as in DynamoDbJobStore. */
    private synchronized boolean outcome(Lease lease, boolean cancel, UnaryOperator<Job> change) {
        checkAvailable();
        if (!holds(lease) || (!cancel && jobs.get(lease.jobId()).cancelRequestedAt() != null)) {
            return false;
        }
        jobs.computeIfPresent(lease.jobId(), (id, j) -> change.apply(j));
        return true;
    }

    @Override
    public synchronized boolean requestRedrive(String jobId, Instant now) {
        checkAvailable();
        Job job = jobs.get(jobId);
        if (job == null || job.status() != JobStatus.FAILED) {
            return false;
        }
        if (job.redriveRequestedAt() == null) {
            jobs.put(jobId, job.toBuilder().redriveRequestedAt(now).redrives(job.redrives() + 1).updatedAt(now).build());
        }
        return true;
    }

    @Override
    public synchronized boolean cancelFailed(String jobId, Instant now) {
        checkAvailable();
        Job job = jobs.get(jobId);
        if (job != null && job.status() == JobStatus.CANCELLED) {
            return true;
        }
        if (job == null || job.status() != JobStatus.FAILED) {
            return false;
        }
        jobs.put(jobId, job.toBuilder().status(JobStatus.CANCELLED).finishedAt(now).redriveRequestedAt(null)
                .version(job.version() + 1).updatedAt(now).build());
        return true;
    }

    @Override
    public ScanResult scan(int maxItems) {
        checkAvailable();
        List<Job> all = new ArrayList<>(jobs.values());
        boolean truncated = all.size() > maxItems;
        return new ScanResult(truncated ? all.subList(0, maxItems) : all, truncated);
    }
}
