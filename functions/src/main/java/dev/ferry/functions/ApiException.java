package dev.ferry.functions;

/**
 * A request the API refuses, with the status code and a message for the client. The message
 * names the field or header at fault; it is returned as {@code {"error": "..."}}.
 */
public final class ApiException extends RuntimeException {
    private final int statusCode;

    public ApiException(int statusCode, String message) {
        super(message);
        this.statusCode = statusCode;
    }

    public int statusCode() {
        return statusCode;
    }

    public static ApiException badRequest(String message) {
        return new ApiException(400, message);
    }
}
