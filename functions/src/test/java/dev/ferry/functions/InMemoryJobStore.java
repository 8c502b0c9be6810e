package dev.ferry.functions;

import dev.ferry.core.Job;
import dev.ferry.core.JobStatus;
import dev.ferry.core.JobStore;
import dev.ferry.core.Lease;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import software.amazon.awssdk.core.exception.SdkClientException;

/**
 * A {@link JobStore} in memory with the same conditions as the DynamoDB one, for handler tests.
 * The real store is tested against DynamoDB Local.
 */
final class InMemoryJobStore implements JobStore {

    final Map<String, Job> jobs = new ConcurrentHashMap<>();
    /** Shared with the fake queue to see the order of writes and sends. */
    final List<String> events;
    boolean unavailable;

    InMemoryJobStore(List<String> events) {
        this.events = events;
    }

    InMemoryJobStore() {
        this(new ArrayList<>());
    }

    private void checkAvailable() {
        if (unavailable) {
            throw SdkClientException.create("Unable to execute HTTP request: Connect timed out");
        }
    }

    @Override
    public synchronized CreateResult create(Job job) {
        checkAvailable();
        Job existing = jobs.putIfAbsent(job.jobId(), job);
        if (existing != null) {
            return new AlreadyExists(existing);
        }
        events.add("put " + job.jobId());
        return new Created(job);
    }

    @Override
    public Optional<Job> get(String jobId) {
        checkAvailable();
        return Optional.ofNullable(jobs.get(jobId));
    }

    @Override
    public synchronized void markEnqueued(String jobId, Instant now) {
        checkAvailable();
        Job job = jobs.get(jobId);
        if (job == null) {
            throw new IllegalStateException("no job " + jobId);
        }
        jobs.put(jobId, job.toBuilder().enqueuedAt(job.enqueuedAt() == null ? now : job.enqueuedAt())
                .updatedAt(now).build());
        events.add("enqueued " + jobId);
    }

    @Override
    public synchronized ClaimResult claim(String jobId, String workerId, String messageId, Instant leaseUntil,
                                          Instant now) {
        checkAvailable();
        Job job = jobs.get(jobId);
        if (job == null) {
            return new Missing();
        }
        boolean claimable = job.status() == JobStatus.QUEUED
                || (job.status() == JobStatus.RUNNING && job.leaseExpiresAt() < now.toEpochMilli());
        if (!claimable) {
            return new NotClaimable(job);
        }
        Job claimed = job.toBuilder().status(JobStatus.RUNNING).leaseOwner(workerId)
                .leaseExpiresAt(leaseUntil.toEpochMilli()).leaseMessageId(messageId).updatedAt(now)
                .version(job.version() + 1).attempts(job.attempts() + 1).build();
        jobs.put(jobId, claimed);
        return new Claimed(claimed);
    }

    private boolean holds(Lease lease) {
        Job job = jobs.get(lease.jobId());
        return job != null && job.status() == JobStatus.RUNNING && lease.owner().equals(job.leaseOwner())
                && job.version() == lease.token();
    }

    @Override
    public synchronized boolean renewLease(Lease lease, Instant leaseUntil) {
        checkAvailable();
        if (!holds(lease)) {
            return false;
        }
        jobs.computeIfPresent(lease.jobId(), (id, j) -> j.toBuilder().leaseExpiresAt(leaseUntil.toEpochMilli()).build());
        return true;
    }

    @Override
    public boolean complete(Lease lease, String resultJson, Instant now) {
        return finish(lease, JobStatus.SUCCEEDED, resultJson, null, now);
    }

    @Override
    public boolean retryLater(Lease lease, String error, Instant now) {
        return finish(lease, JobStatus.QUEUED, null, error, now);
    }

    @Override
    public boolean fail(Lease lease, String error, Instant now) {
        return finish(lease, JobStatus.FAILED, null, error, now);
    }

    @Override
    public synchronized boolean release(Lease lease, Instant now) {
        checkAvailable();
        if (!holds(lease)) {
            return false;
        }
        jobs.computeIfPresent(lease.jobId(), (id, j) -> j.toBuilder().status(JobStatus.QUEUED).leaseOwner(null)
                .leaseExpiresAt(null).leaseMessageId(null).version(j.version() + 1)
                .preemptions(j.preemptions() + 1).updatedAt(now).build());
        return true;
    }

    @Override
    public synchronized boolean requeueFailed(String jobId, Instant now) {
        return fromFailed(jobId, j -> j.toBuilder().status(JobStatus.QUEUED).redrives(j.redrives() + 1)
                .finishedAt(null).version(j.version() + 1).updatedAt(now).build());
    }

    @Override
    public synchronized boolean cancelFailed(String jobId, Instant now) {
        return fromFailed(jobId, j -> j.toBuilder().status(JobStatus.CANCELLED).finishedAt(now)
                .version(j.version() + 1).updatedAt(now).build());
    }

    private boolean fromFailed(String jobId, java.util.function.UnaryOperator<Job> change) {
        checkAvailable();
        Job job = jobs.get(jobId);
        if (job == null || job.status() != JobStatus.FAILED) {
            return false;
        }
        jobs.put(jobId, change.apply(job));
        return true;
    }

    @Override
    public ScanResult scan(int maxItems) {
        checkAvailable();
        List<Job> all = new ArrayList<>(jobs.values());
        boolean truncated = all.size() > maxItems;
        return new ScanResult(truncated ? all.subList(0, maxItems) : all, truncated);
    }

    private synchronized boolean finish(Lease lease, JobStatus to, String result, String error, Instant now) {
        checkAvailable();
        if (!holds(lease)) {
            return false;
        }
        jobs.computeIfPresent(lease.jobId(), (id, j) -> j.toBuilder().status(to).result(result)
                .error(to == JobStatus.SUCCEEDED ? null : error).leaseOwner(null).leaseExpiresAt(null)
                .leaseMessageId(null).version(j.version() + 1).updatedAt(now)
                .finishedAt(to.isFinal() ? now : null).build());
        return true;
    }
}
