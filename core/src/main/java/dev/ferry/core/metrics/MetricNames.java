package dev.ferry.core.metrics;

import java.util.List;

/**
 * The metrics Ferry writes (embedded metric format, {@link EmfWriter}) and their dimensions, in one
 * place: infra/template.yaml's dashboard and alarms name only these (TemplateAgreementTest).
 */
public final class MetricNames {

    // Dimensions
    public static final String POOL = "Pool";
    public static final String TYPE = "Type";
    public static final String OUTCOME = "Outcome";

    // The workers' (dimensions Pool and Type; Jobs also Outcome)
    /** Attempts that ended, by outcome: succeeded, failed, retrying, cancelled, given back, lease lost. */
    public static final String JOBS = "Jobs";
    /** From the job's submit (or its previous attempt's end, a retry's back-off included) to its claim; milliseconds. */
    public static final String QUEUE_WAIT = "QueueWait";
    /** From the claim to the attempt's outcome; milliseconds. */
    public static final String RUN_TIME = "RunTime";
    /** Attempts a job took, written when it finished (succeeded or failed for good). */
    public static final String ATTEMPTS = "Attempts";
    /** Jobs given back because their machine went away (Spot notice, scale-in, SIGTERM): no attempt spent. */
    public static final String PREEMPTIONS = "Preemptions";
    /** Warm handlers started again after they died or stopped answering. */
    public static final String HANDLER_RESTARTS = "HandlerRestarts";

    // The functions'
    /** Jobs accepted by POST /jobs (dimension Type). */
    public static final String JOBS_SUBMITTED = "JobsSubmitted";
    /** Webhook delivery attempts (dimension Outcome: delivered, retrying, failed). */
    public static final String WEBHOOK_DELIVERIES = "WebhookDeliveries";

    /** Every metric name above. */
    public static final List<String> ALL = List.of(JOBS, QUEUE_WAIT, RUN_TIME, ATTEMPTS, PREEMPTIONS, HANDLER_RESTARTS,
            JOBS_SUBMITTED, WEBHOOK_DELIVERIES);

    /** Every dimension name above. */
    public static final List<String> DIMENSIONS = List.of(POOL, TYPE, OUTCOME);

    private MetricNames() {
    }
}
