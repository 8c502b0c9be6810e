package dev.ferry.core.metrics;

import dev.ferry.core.AcceptedJobTypes;
import dev.ferry.core.FerryEnv;
import java.util.HashSet;
import java.util.Set;

/**
 * Bounds how many values one dimension takes in a process: each dimension value is a metric of its
 * own, billed per month. Where the values are known ({@link #jobTypes}: {@code FERRY_JOB_TYPES}
 * set), only those count as themselves; otherwise the first {@code max} distinct values do. Every
 * other value counts as {@value #OTHER}, so a flood of made-up job type names (the API accepts any
 * type when the list is empty) cannot create metrics without end.
 */
public final class BoundedDimension {

    public static final String OTHER = "other";
    /** Job types with metrics of their own in one process. */
    public static final int DEFAULT_MAX_VALUES = 20;

    private final int max;
    private final Set<String> known;
    private final Set<String> seen = new HashSet<>();

    public BoundedDimension(int max) {
        this(max, Set.of());
    }

    /**
     * @param known the only values that count as themselves; empty: the first {@code max} seen
     */
    public BoundedDimension(int max, Set<String> known) {
        if (max < 1) {
            throw new IllegalArgumentException("max must be at least 1, not " + max);
        }
        this.max = max;
        this.known = Set.copyOf(known);
    }

    /** The job type dimension: the configured types ({@code FERRY_JOB_TYPES}) where set, else the first 20. */
    public static BoundedDimension jobTypes(FerryEnv env) {
        return new BoundedDimension(DEFAULT_MAX_VALUES, AcceptedJobTypes.from(env));
    }

    /** {@code value}, or {@value #OTHER} when it is not a known value, or {@code max} other values were seen. */
    public synchronized String of(String value) {
        if (value == null || value.isBlank()) {
            return OTHER;
        }
        if (!known.isEmpty()) {
            return known.contains(value) ? value : OTHER;
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
