package dev.ferry.core;

/** Where a job is in its life. */
public enum JobStatus {
    /** Waiting for a worker: new, or between retries (its message's visibility is the back-off). */
    QUEUED,
    /** A worker holds the lease and runs it. */
    RUNNING,
    /** Finished with a result. Final. */
    SUCCEEDED,
    /** Out of attempts: its message is in the dead-letter queue and {@code error} says why. */
    FAILED,
    /** Discarded by an operator from the admin page. Final. */
    CANCELLED;

    /** No worker will run a job in this state again on its own. */
    public boolean isFinal() {
        return this == SUCCEEDED || this == FAILED || this == CANCELLED;
    }
}
