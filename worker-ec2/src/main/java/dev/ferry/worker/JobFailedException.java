package dev.ferry.worker;

/**
 * A job ran and failed. The message is stored as the job's {@code error}, so make it say why.
 *
 * <p>{@link #retryable()} says whether another attempt could succeed. A failure the same attempt
 * would repeat (bad input, a declared "do not retry", a rule of the job type) fails the job at
 * once, instead of spending the rest of its attempts on the GPU.
 */
public class JobFailedException extends Exception {
    private final boolean retryable;

    public JobFailedException(String message) {
        this(message, true);
    }

    public JobFailedException(String message, boolean retryable) {
        super(message);
        this.retryable = retryable;
    }

    public JobFailedException(String message, Throwable cause) {
        super(message, cause);
        this.retryable = true;
    }

    /** Whether another attempt might succeed; false fails the job now. */
    public boolean retryable() {
        return retryable;
    }
}
