package dev.ferry.worker;

import java.time.Duration;

/**
 * A long-lived process that serves the jobs of one type on one slot, its model loaded once: Ferry's
 * own JSON-lines protocol ({@link LineProtocolProcess}), Cog's HTTP prediction API, SageMaker's
 * container contract. {@link WarmHandler} starts one per slot and type, runs jobs on it one at a
 * time, and starts it again when it dies.
 */
interface WarmProcess extends AutoCloseable {

    /** Where a warm process runs: its slot, its type's settings, and the environment it starts from. */
    record Context(GpuSlot slot, JobTypes.Spec spec, java.util.Map<String, String> environment,
                   java.nio.file.Path workDir) {
    }

    /** Makes one for a slot; the kind of process a job type names. */
    @FunctionalInterface
    interface Factory {
        WarmProcess create(Context context);
    }

    /**
     * Starts it and waits until it says it is ready (its model loaded), for at most the type's
     * setup timeout.
     *
     * @throws JobFailedException it exited, or was not ready in time (it has been stopped); the
     *     message carries the end of its output
     */
    void start() throws JobFailedException, InterruptedException;

    /**
     * Runs one job on it and returns the result JSON. The job's files go into
     * {@link JobExecution#outputDir()}; progress and log lines to {@link JobExecution#events()}.
     *
     * @param timeout how long the job may take; past it the process is stopped (and started
     *     again for the next job) and the attempt fails
     * @throws JobFailedException the job failed, or the process died meanwhile (the message carries
     *     its last output)
     * @throws InterruptedException the worker stopped the job (a lost lease, a drain, a cancel):
     *     the job has been stopped, by the protocol's cancel or by stopping the process
     */
    String run(JobExecution job, Duration timeout) throws JobFailedException, InterruptedException;

    /** Whether it can take another job now (started, ready, not exited). */
    boolean alive();

    /** For logs: what it is and its pid. */
    String describe();

    /** Stops it (and what it started); never throws. */
    @Override
    void close();
}
