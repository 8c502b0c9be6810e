package dev.ferry.functions;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import dev.ferry.core.AwsClients;
import dev.ferry.core.DynamoDbJobStore;
import dev.ferry.core.FerryEnv;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /jobs}: accept a job. 202 when created, 200 for an idempotent replay. Headers:
 * {@code Idempotency-Key}, and {@code Cancel-After} (a deadline; {@link Deadlines}).
 */
public final class SubmitJobHandler implements RequestHandler<APIGatewayProxyRequestEvent, APIGatewayProxyResponseEvent> {

    private static final Logger LOG = LoggerFactory.getLogger(SubmitJobHandler.class);
    static final String IDEMPOTENCY_KEY = "Idempotency-Key";

    private final JobSubmitter submitter;

    /** Lambda's constructor: configuration from the process environment. */
    public SubmitJobHandler() {
        this(System.getenv());
    }

    /** The local stack's constructor: configuration from the given environment. */
    public SubmitJobHandler(Map<String, String> environment) {
        this(create(FerryEnv.of(environment)));
    }

    SubmitJobHandler(JobSubmitter submitter) {
        this.submitter = submitter;
    }

    private static JobSubmitter create(FerryEnv env) {
        DynamoDbJobStore store = DynamoDbJobStore.fromEnvironment(AwsClients.dynamoDb(env), env);
        return JobSubmitter.fromEnvironment(env, store, AwsClients.sqs(env));
    }

    @Override
    public APIGatewayProxyResponseEvent handleRequest(APIGatewayProxyRequestEvent event, Context context) {
        try {
            requireJson(Requests.header(event, "Content-Type"));
            SubmitRequest request = SubmitRequest.parse(Requests.body(event), Requests.header(event, IDEMPOTENCY_KEY),
                    Requests.header(event, Deadlines.CANCEL_AFTER));
            JobSubmitter.Submitted submitted = submitter.submit(request, Requests.callerScope(event));
            String jobId = submitted.job().jobId();
            return ApiResponses.json(submitted.created() ? 202 : 200, JobView.of(submitted.job()),
                    Map.of("Location", Requests.stagePrefix(event) + "/jobs/" + jobId));
        } catch (ApiException e) {
            if (e.statusCode() >= 500) {
                LOG.warn("submit failed: {}", e.getMessage());
            }
            return ApiResponses.error(e);
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
