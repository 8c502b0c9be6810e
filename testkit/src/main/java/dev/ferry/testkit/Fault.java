package dev.ferry.testkit;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * One fault that {@link HttpFaultProxy} can inject into a request, chosen by a {@link FaultRule}.
 * Immutable. What each does on the wire:
 *
 * <ul>
 *   <li>{@link #loseResponse()}: the request is forwarded and the service's whole answer read (so
 *       the call took effect), then the client's connection is reset. The SDK sees an I/O error and
 *       retries; a conditional write's retry fails its condition, a plain one is applied twice.
 *   <li>{@link #slow(Duration)}: forwarded at once, the answer held back for {@code hold}, then
 *       sent if the client is still there. Held past the SDK's per-attempt timeout, the attempt is
 *       abandoned and retried: the first attempt took effect.
 *   <li>{@link #throttle()}: not forwarded; answered as the service throttles: {@code 400} (S3:
 *       {@code 503 SlowDown}), in its protocol, with an error code the SDK classifies as throttling
 *       ({@code AwsServiceException.isThrottlingException()}), so it backs off and retries.
 *   <li>{@link #serverErrorBefore(int)} / {@link #serverErrorAfter(int)}: a {@code 500}
 *       (InternalServerError / InternalFailure) or {@code 503} (ServiceUnavailable) in the
 *       service's protocol, which the SDK retries: before forwarding (nothing applied), or after
 *       (the call took effect, its answer replaced).
 *   <li>{@link #refuse(int, String, String)}: not forwarded; answered with that status and error
 *       code, e.g. {@code AccessDenied} on one operation. The SDK retries it only if it would
 *       retry that code from the service.
 * </ul>
 *
 * <p>The error bodies are {@link HttpFaultProxy}'s: see there for each protocol's exact form.
 */
public final class Fault {

    private final FaultKind kind;
    private final boolean forwards;
    private final Duration hold;
    private final int status;
    private final String errorCode;
    private final String message;

    private Fault(FaultKind kind, boolean forwards, Duration hold, int status, String errorCode, String message) {
        this.kind = kind;
        this.forwards = forwards;
        this.hold = hold;
        this.status = status;
        this.errorCode = errorCode;
        this.message = message;
    }

    /** Forward, read the whole answer, then reset the client's connection: applied, answer lost. */
    public static Fault loseResponse() {
        return new Fault(FaultKind.LOSE_RESPONSE, true, Duration.ZERO, 0, null, null);
    }

    /**
     * Forward at once, hold the answer for {@code hold}. Core's clients give an attempt
     * {@code AwsClients.DEFAULT_API_CALL_ATTEMPT_TIMEOUT} (4 s) and a call
     * {@code AwsClients.DEFAULT_API_CALL_TIMEOUT} (10 s): a hold between the two makes the SDK
     * abandon one attempt and retry within the call.
     */
    public static Fault slow(Duration hold) {
        Objects.requireNonNull(hold, "hold");
        if (hold.isNegative() || hold.isZero()) {
            throw new IllegalArgumentException("a slow answer needs a positive hold, not " + hold);
        }
        return new Fault(FaultKind.SLOW, true, hold, 0, null, null);
    }

    /**
     * Answer as the service does when it throttles, without forwarding: DynamoDB
     * {@code ProvisionedThroughputExceededException}, SQS {@code RequestThrottled}, anything else
     * {@code ThrottlingException}; status {@code 400}. S3: {@code SlowDown}, status {@code 503}.
     */
    public static Fault throttle() {
        return new Fault(FaultKind.THROTTLE, false, Duration.ZERO, 400, null, null);
    }

    /**
     * Throttle with another of the service's throttling codes, e.g. DynamoDB's
     * {@code ThrottlingException} (an on-demand table past its limits, or the control plane).
     */
    public static Fault throttle(String errorCode) {
        return new Fault(FaultKind.THROTTLE, false, Duration.ZERO, 400, requireCode(errorCode), null);
    }

    /** A {@code 500} or {@code 503} instead of forwarding: the service did nothing. */
    public static Fault serverErrorBefore(int status) {
        return new Fault(FaultKind.SERVER_ERROR, false, Duration.ZERO, serverStatus(status), null, null);
    }

    /** Forward (the call takes effect), then replace the answer with a {@code 500} or {@code 503}. */
    public static Fault serverErrorAfter(int status) {
        return new Fault(FaultKind.SERVER_ERROR, true, Duration.ZERO, serverStatus(status), null, null);
    }

    /**
     * Answer {@code status} with {@code errorCode} and {@code message}, without forwarding. For
     * example {@code refuse(400, "AccessDenied", "...")} on SQS's {@code StartMessageMoveTask}.
     */
    public static Fault refuse(int status, String errorCode, String message) {
        if (status < 400 || status > 599) {
            throw new IllegalArgumentException("a refusal is a 4xx or 5xx status, not " + status);
        }
        return new Fault(FaultKind.REFUSE, false, Duration.ZERO, status, requireCode(errorCode),
                Objects.requireNonNull(message, "message"));
    }

    public FaultKind kind() {
        return kind;
    }

    /** Whether the request reaches the service (and takes effect) before the fault. */
    public boolean forwards() {
        return forwards;
    }

    /** How long a {@link FaultKind#SLOW} answer is held; zero for the others. */
    public Duration hold() {
        return hold;
    }

    /** The status a synthetic answer carries; 0 where the service's own answer is relayed or lost. */
    public int status() {
        return status;
    }

    /** The error code given; empty: the service's usual one for this fault. */
    public Optional<String> errorCode() {
        return Optional.ofNullable(errorCode);
    }

    /** The message given; empty: the service's usual one. */
    public Optional<String> message() {
        return Optional.ofNullable(message);
    }

    /** Whether the proxy answers with an error of its own making (throttle, server error, refusal). */
    boolean answersWithError() {
        return kind == FaultKind.THROTTLE || kind == FaultKind.SERVER_ERROR || kind == FaultKind.REFUSE;
    }

    @Override
    public String toString() {
        return switch (kind) {
            case LOSE_RESPONSE -> "lose_response";
            case SLOW -> "slow(" + hold.toMillis() + " ms)";
            case THROTTLE -> "throttle" + (errorCode == null ? "" : "(" + errorCode + ")");
            case SERVER_ERROR -> "server_error(" + status + (forwards ? ", applied)" : ", not applied)");
            case REFUSE -> "refuse(" + status + " " + errorCode + ")";
        };
    }

    private static int serverStatus(int status) {
        if (status != 500 && status != 503) {
            throw new IllegalArgumentException("a server error is 500 or 503, not " + status);
        }
        return status;
    }

    private static String requireCode(String errorCode) {
        if (errorCode == null || errorCode.isBlank() || !errorCode.matches("[A-Za-z0-9.]+")) {
            throw new IllegalArgumentException("an error code is letters, digits and dots, not '" + errorCode + "'");
        }
        return errorCode;
    }
}
