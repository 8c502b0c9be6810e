package dev.ferry.cli;

/**
 * What {@code ferry} exits with; README, "Command line", lists them. Scripts branch on them, so
 * they never change meaning.
 */
public final class ExitCodes {

    /** The command did what it was asked; for {@code submit --wait} and {@code wait}: the job SUCCEEDED. */
    public static final int SUCCESS = 0;
    /** The job waited for reached FAILED or CANCELLED. */
    public static final int JOB_NOT_SUCCEEDED = 1;
    /** The command line is wrong: an unknown option, a missing argument, input that is not JSON, a file that is not there. */
    public static final int USAGE = 2;
    /** The API refused the request (a 4xx), or the job has no such thing (no log for that attempt). */
    public static final int REFUSED = 3;
    /** The API, the network or this machine failed: a 5xx, a connection refused, a download that could not be written. */
    public static final int UNAVAILABLE = 4;
    /** The job was not finished within {@code --timeout}; it goes on. */
    public static final int TIMED_OUT = 5;

    private ExitCodes() {
    }
}
