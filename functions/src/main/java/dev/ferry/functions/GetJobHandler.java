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

    private final JobStore store;
    private final Optional<JobFiles> files;

    public GetJobHandler() {
        this(System.getenv());
    }

    public GetJobHandler(Map<String, String> environment) {
        this(FerryEnv.of(environment));
    }

    private GetJobHandler(FerryEnv env) {
        this(DynamoDbJobStore.fromEnvironment(AwsClients.dynamoDb(env), env), JobFiles.fromEnvironment(env));
    }

    GetJobHandler(JobStore store, Optional<JobFiles> files) {
        this.store = store;
        this.files = files;
    }

    @Override
    public APIGatewayProxyResponseEvent handleRequest(APIGatewayProxyRequestEvent event, Context context) {
        String jobId = Optional.ofNullable(event.getPathParameters()).map(p -> p.get("jobId")).orElse("");
        if (!JobIds.looksLikeId(jobId)) {
            return ApiResponses.error(404, "no job with id \"" + jobId + "\"");
        }
        try {
            return store.get(jobId)
                    .map(job -> ApiResponses.json(200, JobView.of(job, files)))
                    .orElseGet(() -> ApiResponses.error(404, "no job with id \"" + jobId + "\""));
        } catch (SdkException e) {
            return ApiResponses.error(ApiException.fromAws("could not read job " + jobId, e));
        }
    }
}
