package dev.ferry.functions;

import dev.ferry.core.FerryEnv;
import dev.ferry.core.metrics.BoundedDimension;
import dev.ferry.core.metrics.EmfWriter;
import dev.ferry.core.metrics.EmfWriter.Directive;
import dev.ferry.core.metrics.EmfWriter.Metric;
import dev.ferry.core.metrics.EmfWriter.Unit;
import dev.ferry.core.metrics.MetricNames;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The functions' metrics, as embedded metric format lines ({@link EmfWriter}) in their own logs:
 * jobs accepted by type ({@code JobsSubmitted}, also summed over the types), and webhook delivery
 * attempts by outcome ({@code WebhookDeliveries}).
 */
final class ApiMetrics {

    private static final List<List<String>> BY_TYPE = List.of(List.of(MetricNames.TYPE), List.of());
    private static final List<List<String>> BY_OUTCOME = List.of(List.of(MetricNames.OUTCOME));

    private final EmfWriter emf;
    private final BoundedDimension types;

    ApiMetrics(EmfWriter emf, BoundedDimension types) {
        this.emf = Objects.requireNonNull(emf, "emf");
        this.types = Objects.requireNonNull(types, "types");
    }

    static ApiMetrics fromEnvironment(FerryEnv env) {
        return new ApiMetrics(EmfWriter.fromEnvironment(env), BoundedDimension.jobTypes(env));
    }

    static ApiMetrics off() {
        return new ApiMetrics(EmfWriter.off(), new BoundedDimension(1));
    }

    /** A job was accepted (a new one: a replay of an idempotent submit is not counted again). */
    void submitted(String type, String jobId) {
        emf.write(List.of(new Directive(BY_TYPE, List.of(new Metric(MetricNames.JOBS_SUBMITTED, Unit.COUNT, 1)))),
                Map.of(MetricNames.TYPE, types.of(type)), Map.of("jobId", jobId));
    }

    /** A webhook delivery attempt ended: delivered, retrying, gave up (or skipped, duplicate, postponed). */
    void webhookDelivery(String outcome) {
        emf.write(List.of(new Directive(BY_OUTCOME, List.of(new Metric(MetricNames.WEBHOOK_DELIVERIES, Unit.COUNT, 1)))),
                Map.of(MetricNames.OUTCOME, outcome), Map.of());
    }
}
