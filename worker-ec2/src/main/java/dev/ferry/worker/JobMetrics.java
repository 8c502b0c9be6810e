package dev.ferry.worker;

import dev.ferry.core.AttemptRecord;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.Job;
import dev.ferry.core.metrics.BoundedDimension;
import dev.ferry.core.metrics.EmfWriter;
import dev.ferry.core.metrics.EmfWriter.Directive;
import dev.ferry.core.metrics.EmfWriter.Metric;
import dev.ferry.core.metrics.EmfWriter.Unit;
import dev.ferry.core.metrics.MetricNames;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The worker's metrics, as embedded metric format lines ({@link EmfWriter}): per job type and pool
 * ({@value FerryEnv#POOL}), each also summed over the types (the dimension set without
 * {@code Type}) for the alarms and the dashboard's totals.
 * <ul>
 *   <li>{@code QueueWait} at a claim: from the job's message being sent to the claim;</li>
 *   <li>{@code Jobs} (by {@code Outcome}) and {@code RunTime} when an attempt ends; {@code Attempts}
 *       when the job finished with it; {@code Preemptions} when it was given back;</li>
 *   <li>{@code HandlerRestarts} when a warm handler is started again.</li>
 * </ul>
 */
final class JobMetrics {

    static final String DEFAULT_POOL = "default";
    private static final List<List<String>> BY_TYPE = List.of(
            List.of(MetricNames.POOL, MetricNames.TYPE), List.of(MetricNames.POOL));
    private static final List<List<String>> BY_OUTCOME = List.of(
            List.of(MetricNames.POOL, MetricNames.TYPE, MetricNames.OUTCOME),
            List.of(MetricNames.POOL, MetricNames.OUTCOME));

    private final EmfWriter emf;
    private final String pool;
    private final BoundedDimension types;

    JobMetrics(EmfWriter emf, String pool, BoundedDimension types) {
        this.emf = Objects.requireNonNull(emf, "emf");
        this.pool = Objects.requireNonNull(pool, "pool");
        this.types = Objects.requireNonNull(types, "types");
    }

    static JobMetrics fromEnvironment(FerryEnv env) {
        return new JobMetrics(EmfWriter.fromEnvironment(env), env.optional(FerryEnv.POOL).orElse(DEFAULT_POOL),
                BoundedDimension.jobTypes(env));
    }

    static JobMetrics off() {
        return new JobMetrics(EmfWriter.off(), DEFAULT_POOL, new BoundedDimension(1));
    }

    /**
     * A claim: how long the job waited in the queue since it was sent (its first attempt) or since
     * its previous attempt ended (a retry's back-off included); nothing where the record lacks them.
     */
    void claimed(Job job) {
        Instant since = job.history().isEmpty() ? job.enqueuedAt()
                : job.history().get(job.history().size() - 1).endedAt();
        if (!emf.enabled() || since == null || job.claimedAt() == null) {
            return;
        }
        long waited = Math.max(0, Duration.between(since, job.claimedAt()).toMillis());
        emf.write(List.of(new Directive(BY_TYPE, List.of(new Metric(MetricNames.QUEUE_WAIT, Unit.MILLISECONDS, waited)))),
                dimensions(job.type(), null), Map.of("jobId", job.jobId()));
    }

    /**
     * An attempt ended with {@code outcome} (one of {@link AttemptRecord}'s), written to the record.
     *
     * @param startedAt when it started running; null for a job that ended at its claim, unrun
     */
    void ended(Job job, String outcome, Instant startedAt, Instant now) {
        if (!emf.enabled()) {
            return;
        }
        List<Directive> directives = new ArrayList<>();
        directives.add(new Directive(BY_OUTCOME, List.of(new Metric(MetricNames.JOBS, Unit.COUNT, 1))));
        List<Metric> perType = new ArrayList<>();
        if (startedAt != null) {
            perType.add(new Metric(MetricNames.RUN_TIME, Unit.MILLISECONDS,
                    Math.max(0, Duration.between(startedAt, now).toMillis())));
        }
        if (AttemptRecord.SUCCEEDED.equals(outcome) || AttemptRecord.FAILED.equals(outcome)) {
            perType.add(new Metric(MetricNames.ATTEMPTS, Unit.COUNT, job.attempts()));
        }
        if (AttemptRecord.GIVEN_BACK.equals(outcome)) {
            perType.add(new Metric(MetricNames.PREEMPTIONS, Unit.COUNT, 1));
        }
        if (!perType.isEmpty()) {
            directives.add(new Directive(BY_TYPE, perType));
        }
        Map<String, String> properties = new LinkedHashMap<>();
        properties.put("jobId", job.jobId());
        properties.put("attempt", Integer.toString(job.attempts()));
        emf.write(directives, dimensions(job.type(), outcome), properties);
    }

    /** A warm handler of {@code type} was started again. */
    void handlerRestarted(String type) {
        emf.write(List.of(new Directive(BY_TYPE, List.of(new Metric(MetricNames.HANDLER_RESTARTS, Unit.COUNT, 1)))),
                dimensions(type, null), Map.of());
    }

    private Map<String, String> dimensions(String type, String outcome) {
        Map<String, String> dimensions = new LinkedHashMap<>();
        dimensions.put(MetricNames.POOL, pool);
        dimensions.put(MetricNames.TYPE, types.of(type));
        if (outcome != null) {
            dimensions.put(MetricNames.OUTCOME, outcome);
        }
        return dimensions;
    }
}
