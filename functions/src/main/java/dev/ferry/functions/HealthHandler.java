package dev.ferry.functions;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import dev.ferry.core.AwsClients;
import dev.ferry.core.FerryEnv;
import java.util.Map;
import java.util.Optional;

/**
 * {@code GET /health}: 200 {@code {"status":"ok","checks":{...}}} when the job table, the job queue,
 * its dead-letter queue and the files bucket answer; 503 naming each that does not
 * ({@link HealthChecks}). No API key and no token: a load balancer, an uptime check or a person
 * may call it; its answers are cached a few seconds, so calling it often costs no more AWS calls.
 */
public final class HealthHandler implements RequestHandler<APIGatewayProxyRequestEvent, APIGatewayProxyResponseEvent> {

    private final HealthChecks checks;

    public HealthHandler() {
        this(System.getenv());
    }

    public HealthHandler(Map<String, String> environment) {
        this(FerryEnv.of(environment));
    }

    private HealthHandler(FerryEnv env) {
        this(HealthChecks.fromEnvironment(env, AwsClients.dynamoDb(env), AwsClients.sqs(env),
                env.optional(FerryEnv.BUCKET).map(bucket -> AwsClients.s3(env))));
    }

    HealthHandler(HealthChecks checks) {
        this.checks = checks;
    }

    @Override
    public APIGatewayProxyResponseEvent handleRequest(APIGatewayProxyRequestEvent event, Context context) {
        String method = Optional.ofNullable(event.getHttpMethod()).orElse("GET");
        if (!method.equalsIgnoreCase("GET")) {
            return ApiResponses.error(405, "use GET /health");
        }
        HealthChecks.Result result = checks.check();
        return ApiResponses.json(result.ok() ? 200 : 503, result.body(), Map.of("Cache-Control", "no-store"));
    }
}
