package dev.ferry.cli;

import java.util.Optional;

/**
 * A command that cannot go on: its message is printed as it is (an API's {@code {"error"}} text
 * unchanged), then its hint, if any, and {@code ferry} exits with its code ({@link ExitCodes}).
 */
final class CliException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int exitCode;
    private final String hint;

    CliException(int exitCode, String message, String hint) {
        super(message);
        this.exitCode = exitCode;
        this.hint = hint;
    }

    CliException(int exitCode, String message) {
        this(exitCode, message, null);
    }

    static CliException usage(String message) {
        return new CliException(ExitCodes.USAGE, message);
    }

    static CliException refused(String message) {
        return new CliException(ExitCodes.REFUSED, message);
    }

    static CliException unavailable(String message) {
        return new CliException(ExitCodes.UNAVAILABLE, message);
    }

    int exitCode() {
        return exitCode;
    }

    /** What to do about it, on a line of its own. */
    Optional<String> hint() {
        return Optional.ofNullable(hint);
    }

    CliException withHint(String newHint) {
        CliException copy = new CliException(exitCode, getMessage(), newHint);
        copy.setStackTrace(getStackTrace());
        return copy;
    }
}
