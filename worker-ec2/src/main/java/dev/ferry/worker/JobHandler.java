package dev.ferry.worker;

/**
 * Runs one job on one GPU slot. The worker owns everything around it (claim, heartbeat, fenced
 * finish, back-off); a handler only turns an input into a result.
 *
 * <p>A handler must stop promptly when its thread is interrupted: that is how the worker stops a
 * job whose lease was lost or whose machine is going away.
 */
public interface JobHandler {

    /**
     * @return the job's result, a JSON document as text
     * @throws JobFailedException the job failed; its message becomes the job's {@code error}
     * @throws InterruptedException the worker stopped the job
     */
    String run(JobExecution execution) throws JobFailedException, InterruptedException;

    /**
     * The longest a job of this type may run. The worker re-sends a message too near SQS's
     * 12 hours out of sight for this (plus a lease) as a fresh copy rather than run it.
     */
    default java.time.Duration timeout(String type) {
        return CommandJobHandler.DEFAULT_JOB_TIMEOUT;
    }
}
