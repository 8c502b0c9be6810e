package dev.ferry.worker;

/**
 * The job was not run at all, through no fault of its own (its slot's warm handler is not up):
 * the worker gives it back at once, without spending an attempt, as a drain would.
 */
public final class JobNotRunException extends JobFailedException {
    private static final long serialVersionUID = 1L;

    public JobNotRunException(String message) {
        super(message, true);
    }
}
