package dev.ferry.worker;

import dev.ferry.core.Job;
import java.time.Duration;
import java.util.Objects;

/**
 * How many attempts a job gets and when a message is too old to run a job on.
 *
 * <p><b>The budget is the record's.</b> A job has {@code maxReceiveCount} attempts, counted as
 * claims that were not given back ({@code attempts - preemptions}), and as many again for each
 * redrive an operator asked for. A job past them is recorded FAILED and its message moved to the
 * dead-letter queue by the worker itself.
 *
 * <p><b>The redrive policy is only a backstop.</b> SQS moves a message to the DLQ on the receive
 * after its {@code maxReceiveCount}-th, whatever became of its job; a job whose message went there
 * unrecorded would read QUEUED or RUNNING with nothing left to run it. So a job is never run on
 * its message's last two receives (its last, where {@code maxReceiveCount} is 2): that message is
 * replaced by a fresh copy first (receive count 0). Run only on earlier receives, a worker that
 * dies leaves a message SQS shows again, not one it dead-letters; and a re-send that fails (SQS
 * unreachable) still leaves one receive to try again on. The same goes for a message too near
 * SQS's 12 hours out of sight for the job's timeout and one lease.
 */
final class AttemptPolicy {

    private final int maxReceiveCount;
    private final int rearmAt;
    private final Backoff backoff;

    AttemptPolicy(int maxReceiveCount, Backoff backoff) {
        this.maxReceiveCount = maxReceiveCount;
        this.rearmAt = maxReceiveCount >= 3 ? maxReceiveCount - 1 : maxReceiveCount;
        this.backoff = Objects.requireNonNull(backoff, "backoff");
    }

    int maxReceiveCount() {
        return maxReceiveCount;
    }

    /** Attempts a job may have used by the end of its current round. */
    int budget(Job job) {
        return maxReceiveCount * (1 + job.redrives());
    }

    /** Attempts a job has used: claims, less those given back because their machine went away. */
    static int spent(Job job) {
        return job.attempts() - job.preemptions();
    }

    /** Claimed past its budget: the last attempt's worker vanished without a result. */
    boolean pastBudget(Job claimed) {
        return spent(claimed) > budget(claimed);
    }

    /** This claim is the job's last attempt: a failure fails the job. */
    boolean lastAttempt(Job claimed) {
        return spent(claimed) >= budget(claimed);
    }

    /** The back-off after a failed attempt: exponential in the attempts of this round, with jitter. */
    Duration retryDelay(Job job) {
        return backoff.delay(spent(job) - maxReceiveCount * job.redrives());
    }

    /** A short pause before a delivery that could not be handled now is looked at again. */
    Duration putOffDelay() {
        return backoff.delay(1);
    }

    /**
     * Whether this delivery must be re-sent as a fresh copy rather than run: it is on one of its
     * last two receives (its last, with a budget of 2), or SQS could not keep it out of sight for
     * {@code runFor} more.
     */
    boolean mustRearm(Delivery delivery, Duration visibilityLeft, Duration runFor) {
        return delivery.receiveCount() >= rearmAt || visibilityLeft.compareTo(runFor) < 0;
    }
}
