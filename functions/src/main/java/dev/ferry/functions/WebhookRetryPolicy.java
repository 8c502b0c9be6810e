package dev.ferry.functions;

import dev.ferry.core.FerryEnv;
import java.time.Duration;
import java.util.Objects;
import java.util.function.DoubleSupplier;

/**
 * Which failed deliveries are tried again, and when. A delivery is retried when no answer came
 * (refused, reset, timed out, a name that did not resolve) and on {@code 408}, {@code 429} and
 * {@code 5xx}; any other answer ({@code 3xx}: redirects are not followed; {@code 4xx}: the
 * receiver refuses this request, and the same request would be refused again) settles it as given
 * up at once, as does a URL that resolves to a non-public address. The back-off doubles from
 * {@code base} up to {@code max}, half of it fixed and half random, at least a {@code Retry-After}
 * the receiver asked for (up to {@code max}); after {@code retryFor} from the delivery's start
 * it gives up.
 *
 * @param base the first back-off ({@value #RETRY_BASE}, default 10 s)
 * @param max the longest back-off ({@value #RETRY_MAX}, default 1 h)
 * @param retryFor how long a delivery is tried ({@value #RETRY_FOR}, default 24 h, at most 7 days)
 */
record WebhookRetryPolicy(Duration base, Duration max, Duration retryFor) {

    static final String RETRY_BASE = WebhookSettings.RETRY_BASE;
    static final String RETRY_MAX = WebhookSettings.RETRY_MAX;
    static final String RETRY_FOR = WebhookSettings.RETRY_FOR;
    static final Duration DEFAULT_BASE = Duration.ofSeconds(10);
    static final Duration DEFAULT_MAX = Duration.ofHours(1);
    static final Duration DEFAULT_RETRY_FOR = Duration.ofHours(24);
    /** The webhooks queue keeps a message 14 days; a delivery must end well within that. */
    static final Duration LONGEST_RETRY_FOR = Duration.ofDays(7);

    WebhookRetryPolicy {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(max, "max");
        Objects.requireNonNull(retryFor, "retryFor");
        if (base.isZero() || base.isNegative() || max.compareTo(base) < 0) {
            throw new IllegalStateException("the webhook back-off must be positive, its most (" + RETRY_MAX + ", "
                    + max + ") at least its first (" + RETRY_BASE + ", " + base + ")");
        }
        if (retryFor.isZero() || retryFor.isNegative() || retryFor.compareTo(LONGEST_RETRY_FOR) > 0) {
            throw new IllegalStateException("environment variable " + RETRY_FOR + " must be positive and at most "
                    + LONGEST_RETRY_FOR.toDays() + " days, but is " + retryFor);
        }
    }

    static WebhookRetryPolicy fromEnvironment(FerryEnv env) {
        return new WebhookRetryPolicy(env.duration(RETRY_BASE, DEFAULT_BASE), env.duration(RETRY_MAX, DEFAULT_MAX),
                env.duration(RETRY_FOR, DEFAULT_RETRY_FOR));
    }

    /** Whether an attempt that ended so is worth another. */
    static boolean retryable(WebhookSender.Result result) {
        if (result.delivered() || result.refused()) {
            return false;
        }
        Integer status = result.statusCode();
        return status == null || status == 408 || status == 429 || status >= 500;
    }

    /**
     * How long to wait after failed attempt {@code attempt} (1 for the first).
     *
     * @param retryAfter what the receiver asked for; null for nothing
     * @param random a number in [0, 1)
     */
    Duration delay(int attempt, Duration retryAfter, DoubleSupplier random) {
        Duration doubled = base;
        for (int i = 1; i < attempt && doubled.compareTo(max) < 0; i++) {
            doubled = doubled.multipliedBy(2);
        }
        Duration ceiling = doubled.compareTo(max) > 0 ? max : doubled;
        Duration half = ceiling.dividedBy(2);
        Duration delay = half.plusMillis((long) (random.getAsDouble() * half.toMillis()));
        if (retryAfter != null && retryAfter.compareTo(delay) > 0) {
            delay = retryAfter.compareTo(max) > 0 ? max : retryAfter;
        }
        return delay;
    }
}
