package dev.ferry.worker;

/** A job ran and failed. The message is stored as the job's {@code error}, so make it say why. */
public class JobFailedException extends Exception {
    public JobFailedException(String message) {
        super(message);
    }

    public JobFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
