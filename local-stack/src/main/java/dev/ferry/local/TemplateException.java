package dev.ferry.local;

/**
 * The template cannot be read, or says something the local stack cannot build faithfully. The
 * message names the template element (for example {@code Resources.JobQueue.Properties.FifoQueue})
 * and what to do about it.
 */
public class TemplateException extends RuntimeException {

    public TemplateException(String message) {
        super(message);
    }

    public TemplateException(String message, Throwable cause) {
        super(message, cause);
    }
}
