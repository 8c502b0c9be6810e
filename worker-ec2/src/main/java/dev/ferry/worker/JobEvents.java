package dev.ferry.worker;

/**
 * What a handler reports while a job runs: progress (a fraction and a short message) and log
 * lines. The worker keeps the log per attempt and writes progress to the job's record at most
 * every couple of seconds; a handler may call these as often as it likes.
 */
public interface JobEvents {

    /** Reports nothing: for callers that do not follow a job. */
    JobEvents NONE = new JobEvents() {
        @Override
        public void progress(double fraction, String message) {
        }

        @Override
        public void log(String line) {
        }
    };

    /**
     * @param fraction 0 to 1 (values outside are clamped)
     * @param message a short text, may be null
     */
    void progress(double fraction, String message);

    /** One line of the job's log (stderr, or what a model server logged for the job). */
    void log(String line);
}
