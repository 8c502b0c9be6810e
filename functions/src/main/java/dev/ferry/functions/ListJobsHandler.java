package dev.ferry.functions;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import dev.ferry.core.AwsClients;
import dev.ferry.core.AwsErrors;
import dev.ferry.core.DynamoDbJobQueries;
import dev.ferry.core.FerryEnv;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * {@code GET /jobs?status=&type=&limit=&cursor=}: a page of jobs, newest first, read from the
 * table's indexes ({@link JobListing}). Its role may only query those indexes.
 */
public final class ListJobsHandler implements RequestHandler<APIGatewayProxyRequestEvent, APIGatewayProxyResponseEvent> {

    private static final Logger LOG = LoggerFactory.getLogger(ListJobsHandler.class);

    private final JobListing listing;

    public ListJobsHandler() {
        this(System.getenv());
    }

    public ListJobsHandler(Map<String, String> environment) {
        this(FerryEnv.of(environment));
    }

    private ListJobsHandler(FerryEnv env) {
        this(new JobListing(DynamoDbJobQueries.fromEnvironment(AwsClients.dynamoDb(env), env),
                ListCursor.fromEnvironment(env)));
    }

    ListJobsHandler(JobListing listing) {
        this.listing = Objects.requireNonNull(listing, "listing");
    }

    @Override
    public APIGatewayProxyResponseEvent handleRequest(APIGatewayProxyRequestEvent event, Context context) {
        RequestLog.start(context);
        try {
            return ApiResponses.json(200, listing.page(JobListing.parse(event)));
        } catch (ApiException e) {
            return ApiResponses.error(e);
        } catch (SdkException e) {
            LOG.warn("listing failed: {}", AwsErrors.describe(e));
            return ApiResponses.error(ApiException.fromAws("could not list the jobs", e));
        }
    }
}
