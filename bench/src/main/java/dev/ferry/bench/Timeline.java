package dev.ferry.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * When each job ran on one slot (epoch microseconds, start and end of the handler's own work), and
 * what follows from it: the busy fraction (handler time over the wall time from the first job's
 * start to the last job's end) and the gaps between one job's end and the next one's start.
 * Thread-safe: a slot's handler adds while the benchmark reads.
 */
final class Timeline {

    /** One job's run: start and end in epoch microseconds. */
    record Span(long startMicros, long endMicros) {
        Span {
            if (endMicros < startMicros) {
                throw new IllegalArgumentException("a span ends (" + endMicros + ") before it starts (" + startMicros
                        + ")");
            }
        }

        long micros() {
            return endMicros - startMicros;
        }
    }

    private final List<Span> spans = new ArrayList<>();

    synchronized void add(long startMicros, long endMicros) {
        spans.add(new Span(startMicros, endMicros));
    }

    synchronized int size() {
        return spans.size();
    }

    synchronized List<Span> spans() {
        List<Span> sorted = new ArrayList<>(spans);
        sorted.sort(Comparator.comparingLong(Span::startMicros));
        return sorted;
    }

    /** Total handler time over the wall time from the first start to the last end; NaN with no job. */
    double busyFraction() {
        List<Span> sorted = spans();
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        long busy = sorted.stream().mapToLong(Span::micros).sum();
        long first = sorted.get(0).startMicros();
        long last = sorted.stream().mapToLong(Span::endMicros).max().orElseThrow();
        return last == first ? 1.0 : (double) busy / (last - first);
    }

    /** Each next start less the previous end, in milliseconds (a slot runs one job at a time). */
    Samples gaps() {
        List<Span> sorted = spans();
        Samples gaps = new Samples();
        for (int i = 1; i < sorted.size(); i++) {
            gaps.add((sorted.get(i).startMicros() - sorted.get(i - 1).endMicros()) / 1000.0);
        }
        return gaps;
    }

    /** Wall time from the first start to the last end, in milliseconds. */
    double spanMillis() {
        List<Span> sorted = spans();
        if (sorted.isEmpty()) {
            return 0;
        }
        long last = sorted.stream().mapToLong(Span::endMicros).max().orElseThrow();
        return (last - sorted.get(0).startMicros()) / 1000.0;
    }

    /** Now, in epoch microseconds (the resolution of {@link java.time.Instant#now()} on Linux). */
    static long nowMicros() {
        java.time.Instant now = java.time.Instant.now();
        return now.getEpochSecond() * 1_000_000L + now.getNano() / 1000;
    }
}
