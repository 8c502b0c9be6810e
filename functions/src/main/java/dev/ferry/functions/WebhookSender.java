package dev.ferry.functions;

import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Makes one delivery attempt: resolves the URL's host once, refuses it unless every address it
 * resolves to is public ({@link PublicAddresses}; the local stack allows private ones), signs the
 * body, and POSTs it to a checked address with the URL's host in {@code Host} and in TLS
 * ({@link WebhookHttp}).
 */
final class WebhookSender {

    static final String USER_AGENT = "Ferry-Webhooks/1";

    /** Resolves a host name; a test replaces DNS with its own answers. */
    interface Resolver {
        InetAddress[] resolve(String host) throws UnknownHostException;
    }

    /**
     * How an attempt went.
     *
     * @param statusCode the receiver's answer; null when there was none
     * @param retryAfter the receiver's {@code Retry-After}, in seconds, if it sent one
     * @param error what went wrong; null for a 2xx
     * @param refused the URL may not be reached at all (a non-public address): never retried
     * @param duration how long it took
     */
    record Result(Integer statusCode, Duration retryAfter, String error, boolean refused, Duration duration) {
        boolean delivered() {
            return statusCode != null && statusCode >= 200 && statusCode < 300;
        }
    }

    private final WebhookHttp http;
    private final Resolver resolver;
    private final WebhookSecret secret;
    private final boolean allowPrivate;
    private final Duration timeout;
    private final Clock clock;

    WebhookSender(WebhookHttp http, Resolver resolver, WebhookSecret secret, boolean allowPrivate, Duration timeout,
                  Clock clock) {
        this.http = Objects.requireNonNull(http, "http");
        this.resolver = Objects.requireNonNull(resolver, "resolver");
        this.secret = Objects.requireNonNull(secret, "secret");
        this.allowPrivate = allowPrivate;
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** Signs and POSTs {@code body} as delivery {@code deliveryId} of {@code event} to {@code url}. */
    Result send(String url, String deliveryId, String event, String body) {
        long started = System.nanoTime();
        URI uri = URI.create(url);
        InetAddress[] addresses;
        try {
            addresses = resolver.resolve(uri.getHost());
        } catch (UnknownHostException e) {
            return new Result(null, null, "cannot resolve " + uri.getHost(), false, since(started));
        }
        if (!allowPrivate) {
            for (InetAddress address : addresses) {
                Optional<String> refusal = PublicAddresses.refusal(address);
                if (refusal.isPresent()) {
                    return new Result(null, null, uri.getHost() + " resolves to " + WebhookHttp.literal(address) + ", "
                            + refusal.get() + ": refused, Ferry delivers webhooks to public addresses only", true,
                            since(started));
                }
            }
        }
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        long timestamp = clock.instant().getEpochSecond();
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Content-Type", "application/json");
        headers.put("User-Agent", USER_AGENT);
        headers.put(WebhookSigner.ID_HEADER, deliveryId);
        headers.put(WebhookSigner.EVENT_HEADER, event);
        headers.put(WebhookSigner.TIMESTAMP_HEADER, Long.toString(timestamp));
        headers.put(WebhookSigner.SIGNATURE_HEADER, WebhookSigner.signature(secret.current(), deliveryId, timestamp,
                bytes));
        List<String> failures = new ArrayList<>();
        for (InetAddress address : addresses) {
            Duration left = timeout.minus(since(started));
            if (left.isNegative() || left.isZero()) {
                failures.add("timed out after " + timeout.toSeconds() + " s");
                break;
            }
            try {
                WebhookHttp.Response response = http.post(uri, address, headers, bytes, left);
                return result(response, since(started));
            } catch (IOException e) {
                failures.add(describe(e, address));
            }
        }
        return new Result(null, null, String.join("; ", failures), false, since(started));
    }

    private static Result result(WebhookHttp.Response response, Duration took) {
        int status = response.statusCode();
        if (status >= 200 && status < 300) {
            return new Result(status, null, null, false, took);
        }
        String error = "HTTP " + status;
        if (status >= 300 && status < 400) {
            error += response.header("location").map(l -> " to " + l).orElse("") + " (redirects are not followed)";
        }
        if (!response.excerpt().isEmpty()) {
            error += ": " + response.excerpt();
        }
        return new Result(status, retryAfter(response), error, false, took);
    }

    private static Duration retryAfter(WebhookHttp.Response response) {
        return response.header("retry-after").filter(v -> v.matches("\\d{1,7}"))
                .map(v -> Duration.ofSeconds(Long.parseLong(v))).orElse(null);
    }

    private static String describe(IOException e, InetAddress address) {
        String what = e instanceof java.net.SocketTimeoutException ? "timed out"
                : e instanceof java.net.ConnectException ? "connection refused"
                : e instanceof javax.net.ssl.SSLException ? "TLS failed (" + e.getMessage() + ")"
                : e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return what + " at " + WebhookHttp.literal(address);
    }

    private static Duration since(long started) {
        return Duration.ofNanos(System.nanoTime() - started);
    }
}
