package dev.ferry.functions;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import dev.ferry.core.AwsClients;
import dev.ferry.core.AwsErrors;
import dev.ferry.core.DynamoDbJobQueries;
import dev.ferry.core.DynamoDbJobStore;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.Job;
import dev.ferry.core.JobFiles;
import dev.ferry.core.JobStore;
import dev.ferry.core.logging.LogContext;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /jobs}: accept a job. 202 when created, 200 for an idempotent replay. Headers:
 * {@code Idempotency-Key}; {@code Cancel-After} (a deadline; {@link Deadlines}); with
 * {@code Prefer: wait=<seconds>} the answer (same status code) shows the job once it is final or
 * the time is up ({@link WaitPreference}, {@link JobWaiter}).
 */
public final class SubmitJobHandler implements RequestHandler<APIGatewayProxyRequestEvent, APIGatewayProxyResponseEvent> {

    private static final Logger LOG = LoggerFactory.getLogger(SubmitJobHandler.class);
    static final String IDEMPOTENCY_KEY = "Idempotency-Key";

    private final JobSubmitter submitter;
    private final JobStore store;
    private final JobWaiter waiter;
    private final int maxWaitSeconds;
    private final Optional<JobFiles> files;
    private final WebhookUrlPolicy webhooks;
    private final ApiMetrics metrics;

    /** Lambda's constructor: configuration from the process environment. */
    public SubmitJobHandler() {
        this(System.getenv());
    }

    /** The local stack's constructor: configuration from the given environment. */
    public SubmitJobHandler(Map<String, String> environment) {
        this(FerryEnv.of(environment));
    }

    private SubmitJobHandler(FerryEnv env) {
        this(env, AwsClients.dynamoDb(env));
    }

    private SubmitJobHandler(FerryEnv env, DynamoDbClient dynamoDb) {
        this(env, DynamoDbJobStore.fromEnvironment(dynamoDb, env), dynamoDb);
    }

    private SubmitJobHandler(FerryEnv env, DynamoDbJobStore store, DynamoDbClient dynamoDb) {
        this(JobSubmitter.fromEnvironment(env, store, AwsClients.sqs(env)), store,
                new JobWaiter(DynamoDbJobQueries.fromEnvironment(dynamoDb, env)::statuses),
                WaitPreference.maxSeconds(env), JobFiles.fromEnvironment(env), WebhookUrlPolicy.fromEnvironment(env),
                ApiMetrics.fromEnvironment(env));
    }

    /**
     * @param store where the answer after a wait is read
     * @param maxWaitSeconds the longest {@code Prefer: wait} applied
     * @param files the job files bucket: a job that finished while its submit waited is shown with
     *     its files' URLs
     */
    SubmitJobHandler(JobSubmitter submitter, JobStore store, JobWaiter waiter, int maxWaitSeconds,
                     Optional<JobFiles> files) {
        this(submitter, store, waiter, maxWaitSeconds, files, WebhookUrlPolicy.STRICT);
    }

    /** @param webhooks which {@code webhookUrl}s a submit may name */
    SubmitJobHandler(JobSubmitter submitter, JobStore store, JobWaiter waiter, int maxWaitSeconds,
                     Optional<JobFiles> files, WebhookUrlPolicy webhooks) {
        this(submitter, store, waiter, maxWaitSeconds, files, webhooks, ApiMetrics.off());
    }

    /** @param metrics where accepted jobs are counted */
    SubmitJobHandler(JobSubmitter submitter, JobStore store, JobWaiter waiter, int maxWaitSeconds,
                     Optional<JobFiles> files, WebhookUrlPolicy webhooks, ApiMetrics metrics) {
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.webhooks = Objects.requireNonNull(webhooks, "webhooks");
        this.submitter = Objects.requireNonNull(submitter, "submitter");
        this.store = Objects.requireNonNull(store, "store");
        this.waiter = Objects.requireNonNull(waiter, "waiter");
        this.maxWaitSeconds = maxWaitSeconds;
        this.files = Objects.requireNonNull(files, "files");
    }

    @Override
    public APIGatewayProxyResponseEvent handleRequest(APIGatewayProxyRequestEvent event, Context context) {
        RequestLog.start(context);
        try {
            requireJson(Requests.header(event, "Content-Type"));
            SubmitRequest request = SubmitRequest.parse(Requests.body(event), Requests.header(event, IDEMPOTENCY_KEY),
                    webhooks, Requests.header(event, Deadlines.CANCEL_AFTER));
            // Checked before anything is written: a strict, invalid preference leaves nothing behind.
            int wait = WaitPreference.seconds(Requests.headerValues(event, WaitPreference.HEADER), maxWaitSeconds);
            JobSubmitter.Submitted submitted = submitter.submit(request, Requests.callerScope(event));
            String jobId = submitted.job().jobId();
            LogContext.job(jobId, submitted.job().type());
            if (submitted.created()) {
                LOG.info("job {} ({}) accepted", jobId, submitted.job().type());
                metrics.submitted(submitted.job().type(), jobId);
            }
            Map<String, String> headers = new HashMap<>(Map.of("Location", Requests.stagePrefix(event) + "/jobs/" + jobId));
            if (wait == 0) {
                return ApiResponses.json(submitted.created() ? 202 : 200, JobView.of(submitted.job()), headers);
            }
            headers.put(WaitPreference.APPLIED_HEADER, WaitPreference.applied(wait));
            return ApiResponses.json(submitted.created() ? 202 : 200, JobView.of(afterWaiting(submitted.job(), wait),
                    files), headers);
        } catch (ApiException e) {
            if (e.statusCode() >= 500) {
                LOG.warn("submit failed: {}", e.getMessage());
            }
            return ApiResponses.error(e);
        }
    }

    /**
     * The job once it is final or {@code seconds} have passed. The job is accepted whatever
     * happens here: when it cannot be read again, the answer shows it as submitted (an error would
     * have a client submit it again).
     */
    private Job afterWaiting(Job submitted, int seconds) {
        if (submitted.status().isFinal()) {
            return submitted;
        }
        waiter.waitFor(submitted.jobId(), Duration.ofSeconds(seconds));
        try {
            return store.get(submitted.jobId()).orElse(submitted);
        } catch (SdkException e) {
            LOG.warn("job {} accepted; reading it after the wait failed: {}", submitted.jobId(), AwsErrors.describe(e));
            return submitted;
        }
    }

    /**
     * {@code application/json} (or a {@code +json} type), parameters allowed; anything else is
     * {@code 415}. A plain cross-site form can only send form or text types, so it cannot submit.
     */
    static void requireJson(String contentType) {
        String mediaType = contentType == null ? "" : contentType.split(";", 2)[0].strip().toLowerCase(java.util.Locale.ROOT);
        if (!mediaType.equals("application/json") && !(mediaType.startsWith("application/") && mediaType.endsWith("+json"))) {
            throw new ApiException(415, "header Content-Type must be application/json, but is "
                    + (contentType == null ? "missing" : "\"" + contentType + "\""));
        }
    }
}
