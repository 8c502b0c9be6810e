package dev.ferry.functions;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.AwsClients;
import dev.ferry.core.DynamoDbJobQueries;
import dev.ferry.core.DynamoDbJobStore;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.Job;
import dev.ferry.core.JobFiles;
import dev.ferry.core.JobIds;
import dev.ferry.core.JobStore;
import dev.ferry.core.logging.LogContext;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;

/**
 * {@code GET /jobs/{jobId}}: a job's status, attempts, result or last error, files, and history;
 * for a queued job, its place in the queue (an estimate). With {@code Prefer: wait=<seconds>} the
 * answer comes once the job is final or the time is up ({@link WaitPreference}, {@link JobWaiter}).
 */
public final class GetJobHandler implements RequestHandler<APIGatewayProxyRequestEvent, APIGatewayProxyResponseEvent> {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(GetJobHandler.class);

    private final JobStore store;
    private final Optional<JobFiles> files;
    private final QueueEstimator estimator;
    private final JobWaiter waiter;
    private final int maxWaitSeconds;
    private final Optional<WebhookDeliveryStore> deliveries;

    public GetJobHandler() {
        this(System.getenv());
    }

    public GetJobHandler(Map<String, String> environment) {
        this(FerryEnv.of(environment));
    }

    private GetJobHandler(FerryEnv env) {
        this(env, AwsClients.dynamoDb(env));
    }

    private GetJobHandler(FerryEnv env, DynamoDbClient dynamoDb) {
        this(env, dynamoDb, DynamoDbJobQueries.fromEnvironment(dynamoDb, env));
    }

    private GetJobHandler(FerryEnv env, DynamoDbClient dynamoDb, DynamoDbJobQueries queries) {
        this(DynamoDbJobStore.fromEnvironment(dynamoDb, env), JobFiles.fromEnvironment(env),
                QueueEstimator.fromEnvironment(env, queries, AwsClients.sqs(env)), new JobWaiter(queries::statuses),
                WaitPreference.maxSeconds(env), Optional.of(WebhookDeliveryStore.fromEnvironment(dynamoDb, env)));
    }

    GetJobHandler(JobStore store, Optional<JobFiles> files, QueueEstimator estimator, JobWaiter waiter,
                  int maxWaitSeconds) {
        this(store, files, estimator, waiter, maxWaitSeconds, Optional.empty());
    }

    GetJobHandler(JobStore store, Optional<JobFiles> files, QueueEstimator estimator, JobWaiter waiter,
                  int maxWaitSeconds, Optional<WebhookDeliveryStore> deliveries) {
        this.store = Objects.requireNonNull(store, "store");
        this.files = Objects.requireNonNull(files, "files");
        this.estimator = Objects.requireNonNull(estimator, "estimator");
        this.waiter = Objects.requireNonNull(waiter, "waiter");
        this.maxWaitSeconds = maxWaitSeconds;
        this.deliveries = Objects.requireNonNull(deliveries, "deliveries");
    }

    @Override
    public APIGatewayProxyResponseEvent handleRequest(APIGatewayProxyRequestEvent event, Context context) {
        RequestLog.start(context);
        String jobId = Optional.ofNullable(event.getPathParameters()).map(p -> p.get("jobId")).orElse("");
        if (!JobIds.looksLikeId(jobId)) {
            return ApiResponses.error(404, "no job with id \"" + jobId + "\"");
        }
        LogContext.job(jobId, null);
        try {
            int wait = WaitPreference.seconds(Requests.headerValues(event, WaitPreference.HEADER), maxWaitSeconds);
            Optional<Job> job = store.get(jobId);
            if (job.isPresent() && wait > 0 && !job.get().status().isFinal()) {
                waiter.waitFor(jobId, Duration.ofSeconds(wait));
                job = store.get(jobId);
            }
            if (job.isEmpty()) {
                return ApiResponses.error(404, "no job with id \"" + jobId + "\"");
            }
            ObjectNode view = withDeliveries(job.get(), JobView.of(job.get(), files));
            estimator.estimate(job.get()).ifPresent(estimate -> JobView.putQueue(view, estimate));
            return ApiResponses.json(200, view, wait > 0
                    ? Map.of(WaitPreference.APPLIED_HEADER, WaitPreference.applied(wait)) : Map.of());
        } catch (ApiException e) {
            return ApiResponses.error(e);
        } catch (SdkException e) {
            return ApiResponses.error(ApiException.fromAws("could not read job " + jobId, e));
        }
    }

    /**
     * A job with a webhook shows its deliveries; when they cannot be read the job is still
     * answered, saying so.
     */
    private com.fasterxml.jackson.databind.node.ObjectNode withDeliveries(dev.ferry.core.Job job,
            com.fasterxml.jackson.databind.node.ObjectNode view) {
        if (job.webhookUrl() == null || deliveries.isEmpty()) {
            return view;
        }
        try {
            return JobView.withDeliveries(view, deliveries.get().get(job.jobId())
                    .orElseGet(() -> WebhookDeliveries.none(job.jobId())), null);
        } catch (SdkException e) {
            LOG.warn("job {}: could not read its webhook deliveries: {}", job.jobId(),
                    dev.ferry.core.AwsErrors.describe(e));
            return JobView.withDeliveries(view, null, "could not read the deliveries ("
                    + dev.ferry.core.AwsErrors.describe(e).lines().findFirst().orElse("") + ")");
        }
    }
}
