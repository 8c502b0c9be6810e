package dev.ferry.functions;

import dev.ferry.core.AwsErrors;
import java.time.Duration;
import java.util.Map;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * A request the API refuses, with the status code and a message for the client. The message
 * names the field or header at fault; it is returned as {@code {"error": "..."}}, with any extra
 * headers (a {@code 503}'s {@code Retry-After}).
 */
public final class ApiException extends RuntimeException {
    private final int statusCode;
    private final Map<String, String> headers;

    public ApiException(int statusCode, String message) {
        this(statusCode, message, Map.of());
    }

    public ApiException(int statusCode, String message, Map<String, String> headers) {
        super(message);
        this.statusCode = statusCode;
        this.headers = Map.copyOf(headers);
    }

    public int statusCode() {
        return statusCode;
    }

    /** Headers the answer carries besides the JSON ones. */
    public Map<String, String> headers() {
        return headers;
    }

    public static ApiException badRequest(String message) {
        return new ApiException(400, message);
    }

    /** {@code 503} with {@code Retry-After}: the same request may succeed then. */
    public static ApiException unavailable(String message, Duration retryAfter) {
        long seconds = Math.max(1, (retryAfter.toMillis() + 999) / 1000);
        return new ApiException(503, message + "; retry after " + seconds + " s",
                Map.of("Retry-After", Long.toString(seconds)));
    }

    /**
     * What a failed AWS call means for the client: throttling, a 5xx or a timeout is a {@code 503}
     * with {@code Retry-After}; a permission the function's role lacks, or a request the service
     * refused for good, is a {@code 502} that names the error code (and the missing permission),
     * since retrying cannot help. Only the service's error code and message are shown.
     *
     * @param what what could not be done, e.g. "could not record the job, nothing was queued"
     */
    public static ApiException fromAws(String what, SdkException e) {
        String detail = AwsErrors.describe(e);
        if (detail.length() > 300) {
            detail = detail.substring(0, 300) + "…";
        }
        detail = detail.lines().findFirst().orElse(detail);
        if (AwsErrors.retryable(e)) {
            return unavailable(what + " (" + detail + ")", AwsErrors.retryAfter(e));
        }
        return new ApiException(502, what + ": " + detail + (AwsErrors.kind(e) == AwsErrors.Kind.DENIED
                ? "; an administrator must grant it, retrying will not help" : "; retrying will not help"));
    }
}
