package dev.ferry.bench;

import java.util.Map;
import java.util.TreeMap;

/**
 * AWS requests counted per operation ({@code Sqs.ReceiveMessage}, {@code DynamoDb.UpdateItem}, ...),
 * each with the capacity units it consumed where the service says (DynamoDB's
 * {@code ConsumedCapacity}). Thread-safe.
 */
final class RequestCounter {

    /** One operation's calls and the capacity units they consumed. */
    record Count(long calls, double units) {
        Count plus(Count other) {
            return new Count(calls + other.calls, units + other.units);
        }
    }

    private final Map<String, Count> counts = new TreeMap<>();

    synchronized void record(String service, String operation, double units) {
        counts.merge(service + "." + operation, new Count(1, units), Count::plus);
    }

    /** The counts so far, by {@code Service.Operation}, sorted. */
    synchronized Map<String, Count> snapshot() {
        return new TreeMap<>(counts);
    }

    synchronized long calls() {
        return counts.values().stream().mapToLong(Count::calls).sum();
    }

    /** {@code counts} plus {@code more}, operation by operation. */
    static Map<String, Count> sum(Map<String, Count> counts, Map<String, Count> more) {
        Map<String, Count> total = new TreeMap<>(counts);
        more.forEach((operation, count) -> total.merge(operation, count, Count::plus));
        return total;
    }

    static long calls(Map<String, Count> counts) {
        return counts.values().stream().mapToLong(Count::calls).sum();
    }
}
