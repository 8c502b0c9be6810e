package dev.ferry.core.metrics;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.FerryEnv;
import java.io.PrintStream;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Writes metrics as CloudWatch embedded metric format (EMF): one JSON document a line, which
 * CloudWatch Logs turns into metrics as it ingests the log, with no call to CloudWatch's API. In
 * Lambda the line goes to stdout and from there to the function's log group; on a worker, to
 * worker.log, which the CloudWatch agent ships to the worker log group.
 *
 * <p>The document (see CloudWatch's "Specification: Embedded metric format"):
 * <pre>{"_aws": {"Timestamp": 1764586345123, "CloudWatchMetrics": [
 *     {"Namespace": "Ferry/stack", "Dimensions": [["Pool", "Type", "Outcome"], ["Pool", "Outcome"]],
 *      "Metrics": [{"Name": "Jobs", "Unit": "Count"}]}]},
 *  "Pool": "default", "Type": "sample", "Outcome": "succeeded", "Jobs": 1, "jobId": "01K..."}</pre>
 * Each dimension named in a directive and each metric is a member of the root; other members
 * (the job id) are kept in the log line only and cost nothing as metrics.
 *
 * <p>Off (writes nothing) unless {@value FerryEnv#METRICS_NAMESPACE} names the namespace.
 */
public final class EmfWriter {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** EMF allows up to 100 metrics a directive and 30 dimensions a set; Ferry stays far below. */
    static final int MAX_METRICS_PER_DIRECTIVE = 100;

    /** The units Ferry uses (CloudWatch's names). */
    public enum Unit {
        COUNT("Count"), MILLISECONDS("Milliseconds");

        private final String cloudWatchName;

        Unit(String cloudWatchName) {
            this.cloudWatchName = cloudWatchName;
        }

        public String cloudWatchName() {
            return cloudWatchName;
        }
    }

    /** A metric's value in a document. */
    public record Metric(String name, Unit unit, double value) {
        public Metric {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(unit, "unit");
        }
    }

    /** Metrics that share their dimension sets, each set a list of dimension names. */
    public record Directive(List<List<String>> dimensionSets, List<Metric> metrics) {
        public Directive {
            dimensionSets = dimensionSets.stream().map(List::copyOf).toList();
            metrics = List.copyOf(metrics);
            if (metrics.isEmpty() || metrics.size() > MAX_METRICS_PER_DIRECTIVE) {
                throw new IllegalArgumentException("a directive holds 1 to 100 metrics, not " + metrics.size());
            }
        }
    }

    private final Optional<String> namespace;
    private final Consumer<String> out;
    private final Clock clock;

    public EmfWriter(Optional<String> namespace, Consumer<String> out, Clock clock) {
        this.namespace = Objects.requireNonNull(namespace, "namespace");
        this.out = Objects.requireNonNull(out, "out");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** To stdout in the namespace {@value FerryEnv#METRICS_NAMESPACE} names; off where it is unset. */
    public static EmfWriter fromEnvironment(FerryEnv env) {
        PrintStream stdout = System.out;
        return new EmfWriter(env.optional(FerryEnv.METRICS_NAMESPACE), stdout::println, Clock.systemUTC());
    }

    /** Writes nothing. */
    public static EmfWriter off() {
        return new EmfWriter(Optional.empty(), line -> { }, Clock.systemUTC());
    }

    public boolean enabled() {
        return namespace.isPresent();
    }

    /**
     * Writes one document.
     *
     * @param dimensions the value of each dimension any directive names (a dimension without a
     *     value is refused: CloudWatch would drop the whole document)
     * @param properties other members, for the log line only (the job id)
     */
    public void write(List<Directive> directives, Map<String, String> dimensions, Map<String, String> properties) {
        if (namespace.isEmpty()) {
            return;
        }
        out.accept(document(namespace.get(), clock.millis(), directives, dimensions, properties));
    }

    static String document(String namespace, long timestamp, List<Directive> directives,
                           Map<String, String> dimensions, Map<String, String> properties) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode aws = root.putObject("_aws");
        aws.put("Timestamp", timestamp);
        ArrayNode metricDirectives = aws.putArray("CloudWatchMetrics");
        Map<String, Double> values = new LinkedHashMap<>();
        for (Directive directive : directives) {
            ObjectNode node = metricDirectives.addObject();
            node.put("Namespace", namespace);
            ArrayNode sets = node.putArray("Dimensions");
            for (List<String> set : directive.dimensionSets()) {
                ArrayNode names = sets.addArray();
                for (String name : set) {
                    if (dimensions.get(name) == null) {
                        throw new IllegalArgumentException("dimension " + name + " has no value");
                    }
                    names.add(name);
                }
            }
            ArrayNode metrics = node.putArray("Metrics");
            for (Metric metric : directive.metrics()) {
                metrics.addObject().put("Name", metric.name()).put("Unit", metric.unit().cloudWatchName());
                values.put(metric.name(), metric.value());
            }
        }
        dimensions.forEach(root::put);
        properties.forEach(root::put);
        values.forEach((name, value) -> {
            if (value == Math.rint(value) && Math.abs(value) < 1e15) {
                root.put(name, (long) value.doubleValue());
            } else {
                root.put(name, value);
            }
        });
        return root.toString();
    }
}
