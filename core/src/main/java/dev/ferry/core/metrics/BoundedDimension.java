package dev.ferry.core.metrics;

import java.util.HashSet;
import java.util.Set;

/**
 * Bounds how many values one dimension takes in a process: each dimension value is a metric of its
 * own, billed per month, so after the first {@code max} distinct values the rest count as
 * {@value #OTHER}. Job types are checked against the configured list at submit, so in practice
 * the bound only stops a flood of made-up names.
 */
public final class BoundedDimension {

    public static final String OTHER = "other";
    /** Job types with metrics of their own in one process. */
    public static final int DEFAULT_MAX_VALUES = 20;

    private final int max;
    private final Set<String> seen = new HashSet<>();

    public BoundedDimension(int max) {
        if (max < 1) {
            throw new IllegalArgumentException("max must be at least 1, not " + max);
        }
        this.max = max;
    }

    /** {@code value}, or {@value #OTHER} once {@code max} other values were seen. */
    public synchronized String of(String value) {
        if (value == null || value.isBlank()) {
            return OTHER;
        }
        if (seen.contains(value)) {
            return value;
        }
        if (seen.size() < max) {
            seen.add(value);
            return value;
        }
        return OTHER;
    }
}
