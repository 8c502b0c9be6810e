package dev.ferry.local;

import dev.ferry.core.AttemptRecord;
import dev.ferry.core.Job;
import dev.ferry.core.JobStore;
import dev.ferry.core.Lease;
import java.time.Instant;
import java.util.Optional;

/** A {@link JobStore} that passes every call on; a test overrides the ones it needs to disturb. */
class ForwardingJobStore implements JobStore {

    protected final JobStore delegate;

    ForwardingJobStore(JobStore delegate) {
        this.delegate = delegate;
    }

    @Override public CreateResult create(Job job) { return delegate.create(job); }
    @Override public Optional<Job> get(String jobId) { return delegate.get(jobId); }
    @Override public Optional<Job> markQueued(String jobId, Instant now) { return delegate.markQueued(jobId, now); }
    @Override public boolean takeOverSending(String jobId, Instant until, Instant now) {
        return delegate.takeOverSending(jobId, until, now);
    }
    @Override public Optional<Job> deleteUnsent(String jobId) { return delegate.deleteUnsent(jobId); }
    @Override public ClaimResult claim(String jobId, String workerId, String messageId, Instant leaseUntil, Instant now) {
        return delegate.claim(jobId, workerId, messageId, leaseUntil, now);
    }
    @Override public ClaimResult claimGivenBack(String jobId, String givenBackLeaseId, String workerId, String messageId,
                                                Instant leaseUntil, Instant now) {
        return delegate.claimGivenBack(jobId, givenBackLeaseId, workerId, messageId, leaseUntil, now);
    }
    @Override public Renewal renewLease(Lease lease, Instant leaseUntil) { return delegate.renewLease(lease, leaseUntil); }
    @Override public boolean recordProgress(Lease lease, double fraction, String message, Instant at) {
        return delegate.recordProgress(lease, fraction, message, at);
    }
    @Override public boolean cancel(Lease lease, String reason, AttemptRecord attempt, Instant now) {
        return delegate.cancel(lease, reason, attempt, now);
    }
    @Override public boolean cancelUnrun(Lease lease, String reason, Instant now) {
        return delegate.cancelUnrun(lease, reason, now);
    }
    @Override public Optional<Job> cancelWaiting(String jobId, String reason, Instant now) {
        return delegate.cancelWaiting(jobId, reason, now);
    }
    @Override public Optional<Job> requestCancel(String jobId, String reason, Instant now) {
        return delegate.requestCancel(jobId, reason, now);
    }
    @Override public boolean complete(Lease lease, Completion completion, Instant now) {
        return delegate.complete(lease, completion, now);
    }
    @Override public boolean retryLater(Lease lease, String error, AttemptRecord attempt, Instant now,
                                        String toPool) {
        return delegate.retryLater(lease, error, attempt, now, toPool);
    }
    @Override public boolean fail(Lease lease, String error, AttemptRecord attempt, Instant now) {
        return delegate.fail(lease, error, attempt, now);
    }
    @Override public boolean failUnrun(Lease lease, String error, Instant now) {
        return delegate.failUnrun(lease, error, now);
    }
    @Override public boolean unclaim(Lease lease, Instant now) { return delegate.unclaim(lease, now); }
    @Override public boolean release(Lease lease, AttemptRecord attempt, Instant now) {
        return delegate.release(lease, attempt, now);
    }
    @Override public boolean requestRedrive(String jobId, Instant now) { return delegate.requestRedrive(jobId, now); }
    @Override public boolean cancelFailed(String jobId, Instant now) { return delegate.cancelFailed(jobId, now); }
    @Override public ScanResult scan(int maxItems) { return delegate.scan(maxItems); }
}
