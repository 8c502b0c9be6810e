package dev.ferry.core;

import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.interceptor.SdkExecutionAttribute;

/**
 * What an SDK error means for the caller: try again later (throttling, a 5xx, a timeout, a
 * connection lost), a permission the caller's role lacks, or a request the service refused for
 * good. Not every SDK error means "try again", and a 503 that says "retry" to a request that can
 * never succeed is a defect.
 *
 * <p>Every client {@link AwsClients} builds carries {@link OperationNames}, which labels a failed
 * call's exception with its service and operation, so that an error can name the IAM action that
 * was missing ({@code sqs:ListMessageMoveTasks}) even where the service's message does not.
 */
public final class AwsErrors {

    /** How long a client should wait after a throttled call before it tries again. */
    public static final Duration THROTTLED_RETRY_AFTER = Duration.ofSeconds(2);
    /** How long a client should wait after a dependency failed or timed out. */
    public static final Duration UNAVAILABLE_RETRY_AFTER = Duration.ofSeconds(5);

    private static final Set<String> DENIED_CODES = Set.of("AccessDenied", "AccessDeniedException",
            "UnauthorizedOperation", "AuthorizationError", "AuthorizationErrorException", "NotAuthorized",
            "KMS.AccessDeniedException", "InvalidClientTokenId", "UnrecognizedClientException", "ExpiredToken",
            "ExpiredTokenException", "InvalidSignatureException", "SignatureDoesNotMatch", "MissingAuthenticationToken",
            "IncompleteSignature");
    private static final Set<String> RETRYABLE_CODES = Set.of("RequestTimeout", "RequestTimeoutException",
            "ServiceUnavailable", "InternalError", "InternalFailure", "InternalServerError", "TransactionInProgressException",
            "RequestLimitExceeded", "LimitExceededException", "PriorRequestNotComplete");

    private AwsErrors() {
    }

    /** What kind of failure an SDK error is. */
    public enum Kind {
        /** Throttling, a 5xx, a timeout or a connection lost: the same request may succeed later. */
        RETRYABLE,
        /** The caller's credentials or role do not allow the call: nothing changes by retrying. */
        DENIED,
        /** The service refused the request for good (validation, size, a missing resource). */
        REFUSED
    }

    public static Kind kind(SdkException e) {
        if (e instanceof AwsServiceException service) {
            String code = errorCode(service);
            if (DENIED_CODES.contains(code) || service.statusCode() == 403) {
                return Kind.DENIED;
            }
            if (service.isThrottlingException() || service.statusCode() >= 500 || service.statusCode() == 429
                    || RETRYABLE_CODES.contains(code)) {
                return Kind.RETRYABLE;
            }
            return Kind.REFUSED;
        }
        // Client side: timeouts, I/O errors, a connection reset. (A request that could not even be
        // built is a bug, not an outage; the SDK throws those as IllegalArgumentException & co.)
        return e instanceof SdkClientException || e.getCause() != null ? Kind.RETRYABLE : Kind.REFUSED;
    }

    public static boolean retryable(SdkException e) {
        return kind(e) == Kind.RETRYABLE;
    }

    /** How long to ask a client to wait: a little after throttling, longer after an outage. */
    public static Duration retryAfter(SdkException e) {
        return e instanceof AwsServiceException service && service.isThrottlingException()
                ? THROTTLED_RETRY_AFTER : UNAVAILABLE_RETRY_AFTER;
    }

    /** The service's error code ({@code AccessDeniedException}), or the exception's simple name. */
    public static String errorCode(SdkException e) {
        if (e instanceof AwsServiceException service && service.awsErrorDetails() != null
                && service.awsErrorDetails().errorCode() != null) {
            return service.awsErrorDetails().errorCode();
        }
        return e.getClass().getSimpleName();
    }

    /** The service's own message, without the SDK's request id and status suffix. */
    public static String errorMessage(SdkException e) {
        if (e instanceof AwsServiceException service && service.awsErrorDetails() != null
                && service.awsErrorDetails().errorMessage() != null) {
            return service.awsErrorDetails().errorMessage();
        }
        return e.getMessage();
    }

    /** The failed call's IAM action, such as {@code sqs:SendMessage}, when the client was labelled. */
    public static Optional<String> action(SdkException e) {
        for (Throwable suppressed : e.getSuppressed()) {
            if (suppressed instanceof OperationLabel label) {
                return Optional.of(label.action);
            }
        }
        return Optional.empty();
    }

    /**
     * One line for a person: which call failed, with which code, and for a denial the permission to
     * grant. Never the request's content.
     */
    public static String describe(SdkException e) {
        String action = action(e).orElse("an AWS call");
        String text = action + " failed: " + errorCode(e) + (errorMessage(e) == null ? "" : ": " + errorMessage(e));
        if (kind(e) == Kind.DENIED) {
            text += action(e).map(a -> " (the role needs " + a + ")").orElse("");
        }
        return text;
    }

    /**
     * Labels a failed call's exception with its IAM action ({@code <service>:<Operation>}), as a
     * suppressed exception: the exception's type, which callers catch (a condition that failed,
     * say), stays what the SDK threw.
     */
    public static final class OperationNames implements ExecutionInterceptor {
        @Override
        public Throwable modifyException(Context.FailedExecution context, ExecutionAttributes attributes) {
            Throwable failure = context.exception();
            String service = attributes.getAttribute(SdkExecutionAttribute.SERVICE_NAME);
            String operation = attributes.getAttribute(SdkExecutionAttribute.OPERATION_NAME);
            if (failure instanceof SdkException && service != null && operation != null) {
                failure.addSuppressed(new OperationLabel(service.toLowerCase(Locale.ROOT) + ":" + operation));
            }
            return failure;
        }
    }

    /** The label {@link OperationNames} attaches; carries no stack trace. */
    static final class OperationLabel extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final String action;

        OperationLabel(String action) {
            super("while calling " + action, null, false, false);
            this.action = action;
        }
    }
}
