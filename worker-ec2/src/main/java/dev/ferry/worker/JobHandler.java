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

    /**
     * Returns once {@code slot} can take a job: its warm handlers started and ready (a model
     * loaded), started again where one died. The worker asks before it first puts the slot up
     * for a message, and after each job. Nothing to wait for by default.
     *
     * @throws InterruptedException the worker is stopping
     */
    default void awaitReady(GpuSlot slot) throws InterruptedException {
    }

    /**
     * {@code listener} is told the job type of each process this handler starts again (a warm
     * handler that died); the worker counts them as a metric. Nothing is restarted by default.
     * A handler that wraps another passes the listener on.
     */
    default void onRestart(java.util.function.Consumer<String> listener) {
    }

    /** Stops whatever it keeps running (warm handlers); the worker calls it once, as it stops. */
    default void close() {
    }
}
