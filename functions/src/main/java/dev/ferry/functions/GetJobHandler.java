package dev.ferry.functions;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import dev.ferry.core.AwsClients;
import dev.ferry.core.DynamoDbJobStore;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.JobFiles;
import dev.ferry.core.JobIds;
import dev.ferry.core.JobStore;
import java.util.Map;
import java.util.Optional;
import software.amazon.awssdk.core.exception.SdkException;

/** {@code GET /jobs/{jobId}}: a job's status, attempts, result or last error, files, and history. */
public final class GetJobHandler implements RequestHandler<APIGatewayProxyRequestEvent, APIGatewayProxyResponseEvent> {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(GetJobHandler.class);

    private final JobStore store;
    private final Optional<JobFiles> files;
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

    private GetJobHandler(FerryEnv env, software.amazon.awssdk.services.dynamodb.DynamoDbClient dynamoDb) {
        this(DynamoDbJobStore.fromEnvironment(dynamoDb, env), JobFiles.fromEnvironment(env),
                Optional.of(WebhookDeliveryStore.fromEnvironment(dynamoDb, env)));
    }

    GetJobHandler(JobStore store, Optional<JobFiles> files) {
        this(store, files, Optional.empty());
    }

    GetJobHandler(JobStore store, Optional<JobFiles> files, Optional<WebhookDeliveryStore> deliveries) {
        this.store = store;
        this.files = files;
        this.deliveries = deliveries;
    }

    @Override
    public APIGatewayProxyResponseEvent handleRequest(APIGatewayProxyRequestEvent event, Context context) {
        String jobId = Optional.ofNullable(event.getPathParameters()).map(p -> p.get("jobId")).orElse("");
        if (!JobIds.looksLikeId(jobId)) {
            return ApiResponses.error(404, "no job with id \"" + jobId + "\"");
        }
        try {
            return store.get(jobId)
                    .map(job -> ApiResponses.json(200, withDeliveries(job, JobView.of(job, files))))
                    .orElseGet(() -> ApiResponses.error(404, "no job with id \"" + jobId + "\""));
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
