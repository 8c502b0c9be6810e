package dev.ferry.functions;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import dev.ferry.core.AwsClients;
import dev.ferry.core.DynamoDbJobStore;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.JobIds;
import dev.ferry.core.logging.LogContext;
import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * {@code POST /jobs/{jobId}/cancel}: {@code 200} and the job once it reads CANCELLED (a waiting job
 * at once; cancelling twice is not an error), {@code 202} and the job with
 * {@code "cancelRequested": true} while its worker stops a running one, {@code 409} naming the
 * status for a finished job, {@code 404} for none.
 */
public final class CancelJobHandler implements RequestHandler<APIGatewayProxyRequestEvent, APIGatewayProxyResponseEvent> {

    private static final Logger LOG = LoggerFactory.getLogger(CancelJobHandler.class);

    private final JobCanceller canceller;

    /** Lambda's constructor: configuration from the process environment. */
    public CancelJobHandler() {
        this(System.getenv());
    }

    /** The local stack's constructor: configuration from the given environment. */
    public CancelJobHandler(Map<String, String> environment) {
        this(FerryEnv.of(environment));
    }

    private CancelJobHandler(FerryEnv env) {
        this(new JobCanceller(DynamoDbJobStore.fromEnvironment(AwsClients.dynamoDb(env), env), Clock.systemUTC()));
    }

    CancelJobHandler(JobCanceller canceller) {
        this.canceller = canceller;
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
            JobCanceller.Outcome outcome = canceller.cancel(jobId);
            if (outcome instanceof JobCanceller.Cancelled cancelled) {
                return ApiResponses.json(200, JobView.of(cancelled.job()));
            }
            if (outcome instanceof JobCanceller.Stopping stopping) {
                LOG.info("job {}: cancel requested; its worker stops it on its next heartbeat", jobId);
                return ApiResponses.json(202, JobView.of(stopping.job()).put("cancelRequested", true));
            }
            if (outcome instanceof JobCanceller.Finished finished) {
                return ApiResponses.error(409, "job " + jobId + " is " + finished.job().status()
                        + ": a finished job cannot be cancelled");
            }
            return ApiResponses.error(404, "no job with id \"" + jobId + "\"");
        } catch (ApiException e) {
            return ApiResponses.error(e);
        } catch (SdkException e) {
            LOG.warn("job {}: cancel failed: {}", jobId, dev.ferry.core.AwsErrors.describe(e));
            return ApiResponses.error(ApiException.fromAws("could not cancel job " + jobId, e));
        }
    }
}
