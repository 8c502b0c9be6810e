package dev.ferry.bench;

/**
 * A job's work in-process: sleep the job's length, and note when the sleep began and ended on the
 * slot's {@link Timeline}. What every Java consumer of the busy-fraction part runs, so that they
 * differ only in what they do around it.
 */
final class SleepingWork {

    private final Timeline timeline;
    private final long lengthMs;

    SleepingWork(Timeline timeline, long lengthMs) {
        this.timeline = timeline;
        this.lengthMs = lengthMs;
    }

    /** Runs one job; its result. */
    String run() throws InterruptedException {
        long started = Timeline.nowMicros();
        if (lengthMs > 0) {
            Thread.sleep(lengthMs);
        }
        timeline.add(started, Timeline.nowMicros());
        return "{}";
    }
}
