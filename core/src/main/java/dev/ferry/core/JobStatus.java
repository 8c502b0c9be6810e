package dev.ferry.core;

/** Where a job is in its life. */
public enum JobStatus {
    /**
     * Recorded, its message not yet known to be sent: a submit under way, or one whose send failed
     * or was interrupted (a retry with the same {@code Idempotency-Key} sends it). Never counted as
     * waiting. Carries a TTL, so one whose message never went out does not stay forever; a worker
     * that receives its message may still claim it.
     */
    PENDING,
    /** Waiting for a worker: its message is on the job queue (also between retries). */
    QUEUED,
    /**
     * A worker holds the lease and runs it. With {@code cancelRequestedAt} set, its worker is asked
     * to stop it: it ends CANCELLED.
     */
    RUNNING,
    /** Finished with a result. Final. */
    SUCCEEDED,
    /**
     * Out of attempts, or failed in a way a retry would repeat: its message is in the dead-letter
     * queue and {@code error} says why. Final unless an operator redrives it.
     */
    FAILED,
    /**
     * Stopped, or never started: its client cancelled it, its deadline passed ({@code cancelReason}
     * says which), or an operator discarded it after it FAILED. Final: a worker that receives its
     * message deletes it unrun.
     */
    CANCELLED;

    /** No worker will run a job in this state again on its own. */
    public boolean isFinal() {
        return this == SUCCEEDED || this == FAILED || this == CANCELLED;
    }
}
