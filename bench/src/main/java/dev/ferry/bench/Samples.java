package dev.ferry.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Durations measured one at a time (milliseconds), summarised as mean, median and 99th
 * percentile (nearest rank: the smallest sample with at least 99 % of them at or below it).
 */
final class Samples {

    private final List<Double> millis = new ArrayList<>();

    void add(double ms) {
        millis.add(ms);
    }

    int count() {
        return millis.size();
    }

    double mean() {
        requireSome();
        return millis.stream().mapToDouble(Double::doubleValue).sum() / millis.size();
    }

    double min() {
        return percentile(0);
    }

    double max() {
        return percentile(100);
    }

    /** Nearest rank: {@code p} from 0 (the smallest) to 100 (the largest). */
    double percentile(double p) {
        requireSome();
        if (p < 0 || p > 100) {
            throw new IllegalArgumentException("a percentile is 0-100, not " + p);
        }
        double[] sorted = millis.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, rank - 1)];
    }

    /** The same samples, each less {@code ms}: a job's wall time less its own work is its overhead. */
    Samples minus(double ms) {
        Samples less = new Samples();
        millis.forEach(value -> less.add(value - ms));
        return less;
    }

    private void requireSome() {
        if (millis.isEmpty()) {
            throw new IllegalStateException("no samples");
        }
    }
}
