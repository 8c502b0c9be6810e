package dev.ferry.bench;

import dev.ferry.worker.JobExecution;
import dev.ferry.worker.JobHandler;

/** A {@link JobHandler} in the worker's own JVM: each job is {@link SleepingWork}. */
final class InProcessHandler implements JobHandler {

    private final SleepingWork work;

    InProcessHandler(SleepingWork work) {
        this.work = work;
    }

    @Override
    public String run(JobExecution execution) throws InterruptedException {
        return work.run();
    }
}
