package dev.ferry.worker;

import dev.ferry.core.AttemptRecord;
import dev.ferry.core.Job;
import dev.ferry.core.JobStore;
import dev.ferry.core.Lease;
import java.time.Instant;
import java.util.Optional;

/** A store whose every call fails the test; a test overrides the calls it expects. */
class UnsupportedJobStore implements JobStore {
    private static AssertionError unexpected(String call) {
        return new AssertionError("unexpected store call: " + call);
    }

    @Override public CreateResult create(Job job) { throw unexpected("create"); }
    @Override public Optional<Job> get(String jobId) { throw unexpected("get"); }
    @Override public Optional<Job> markQueued(String jobId, Instant now) { throw unexpected("markQueued"); }
    @Override public boolean takeOverSending(String jobId, Instant until, Instant now) { throw unexpected("takeOverSending"); }
    @Override public Optional<Job> deleteUnsent(String jobId) { throw unexpected("deleteUnsent"); }
    @Override public ClaimResult claim(String jobId, String workerId, String messageId, Instant leaseUntil, Instant now) {
        throw unexpected("claim");
    }
    @Override public ClaimResult claimGivenBack(String jobId, String givenBackLeaseId, String workerId, String messageId,
                                                Instant leaseUntil, Instant now) {
        throw unexpected("claimGivenBack");
    }
    @Override public Renewal renewLease(Lease lease, Instant leaseUntil) { throw unexpected("renewLease"); }
    @Override public boolean recordProgress(Lease lease, double fraction, String message, Instant at) {
        throw unexpected("recordProgress");
    }
    @Override public boolean cancel(Lease lease, String reason, AttemptRecord attempt, Instant now) {
        throw unexpected("cancel");
    }
    @Override public boolean cancelUnrun(Lease lease, String reason, Instant now) { throw unexpected("cancelUnrun"); }
    @Override public Optional<Job> cancelWaiting(String jobId, String reason, Instant now) {
        throw unexpected("cancelWaiting");
    }
    @Override public Optional<Job> requestCancel(String jobId, String reason, Instant now) {
        throw unexpected("requestCancel");
    }
    @Override public boolean complete(Lease lease, Completion completion, Instant now) { throw unexpected("complete"); }
    @Override public boolean retryLater(Lease lease, String error, AttemptRecord attempt, Instant now, String toPool) { throw unexpected("retryLater"); }
    @Override public boolean fail(Lease lease, String error, AttemptRecord attempt, Instant now) { throw unexpected("fail"); }
    @Override public boolean failUnrun(Lease lease, String error, Instant now) { throw unexpected("failUnrun"); }
    @Override public boolean unclaim(Lease lease, Instant now) { throw unexpected("unclaim"); }
    @Override public boolean release(Lease lease, AttemptRecord attempt, Instant now) { throw unexpected("release"); }
    @Override public boolean requestRedrive(String jobId, Instant now) { throw unexpected("requestRedrive"); }
    @Override public boolean cancelFailed(String jobId, Instant now) { throw unexpected("cancelFailed"); }
    @Override public ScanResult scan(int maxItems) { throw unexpected("scan"); }
}
