package dev.ferry.worker;

import java.time.Duration;
import java.util.Objects;
import java.util.function.LongUnaryOperator;

/**
 * Exponential back-off with "equal jitter": for the n-th failure the delay is
 * {@code min(max, base * 2^(n-1))}, half of it fixed and half random. The fixed half keeps retries
 * of one job spaced out; the random half keeps many jobs that failed together from coming back
 * together.
 */
public final class Backoff {

    private final Duration base;
    private final Duration max;
    private final LongUnaryOperator random;

    /** @param random given a bound b, a uniform value in [0, b] */
    public Backoff(Duration base, Duration max, LongUnaryOperator random) {
        this.base = Objects.requireNonNull(base, "base");
        this.max = Objects.requireNonNull(max, "max");
        this.random = Objects.requireNonNull(random, "random");
        if (base.isNegative() || base.isZero() || max.compareTo(base) < 0) {
            throw new IllegalArgumentException("back-off needs 0 < base <= max, got base " + base + ", max " + max);
        }
    }

    public static Backoff withJitter(Duration base, Duration max) {
        return new Backoff(base, max, bound -> java.util.concurrent.ThreadLocalRandom.current().nextLong(bound + 1));
    }

    /** The delay after the {@code failures}-th failure in a row (1 for the first). */
    public Duration delay(int failures) {
        int exponent = Math.max(0, Math.min(failures - 1, 30));
        long capped = Math.min(max.toMillis(), base.toMillis() << exponent);
        long half = capped / 2;
        return Duration.ofMillis(capped - half + random.applyAsLong(half));
    }

    public Duration max() {
        return max;
    }
}
