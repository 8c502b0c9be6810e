package dev.ferry.worker;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What the worker has seen of its own timings, for {@link LookAhead}: each job type's recent run
 * times (the handler's, from start to return; the median of the last {@value #WINDOW}) and how
 * long getting the next job takes (a receive that returned messages, a claim: a moving average of
 * each). Thread-safe.
 */
final class RunTimes {

    /** Run times kept per type. */
    static final int WINDOW = 20;
    /** Weight of a new sample in the moving averages. */
    static final double ALPHA = 0.2;
    /** What a receive or a claim is taken to cost before one was measured. */
    static final Duration UNMEASURED_CALL = Duration.ofMillis(20);

    private final Map<String, Deque<Long>> runs = new HashMap<>();
    private double receiveNanos = UNMEASURED_CALL.toNanos();
    private double claimNanos = UNMEASURED_CALL.toNanos();

    /** A handler of {@code type} returned after {@code took}. */
    synchronized void ran(String type, Duration took) {
        Deque<Long> recent = runs.computeIfAbsent(type, t -> new ArrayDeque<>());
        recent.addLast(took.toNanos());
        if (recent.size() > WINDOW) {
            recent.removeFirst();
        }
    }

    /** The median of {@code type}'s recent run times; empty for a type not run here yet. */
    synchronized Optional<Duration> expected(String type) {
        Deque<Long> recent = runs.get(type);
        if (recent == null || recent.isEmpty()) {
            return Optional.empty();
        }
        long[] sorted = recent.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(sorted);
        return Optional.of(Duration.ofNanos(sorted[sorted.length / 2]));
    }

    /** A receive that returned messages took {@code took}. */
    synchronized void received(Duration took) {
        receiveNanos += ALPHA * (took.toNanos() - receiveNanos);
    }

    /** A claim took {@code took}. */
    synchronized void claimed(Duration took) {
        claimNanos += ALPHA * (took.toNanos() - claimNanos);
    }

    /** What getting the next job costs now: a receive and a claim, on their moving averages. */
    synchronized Duration fetchLatency() {
        return Duration.ofNanos((long) (receiveNanos + claimNanos));
    }
}
