package dev.ferry.functions;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.AwsClients;
import dev.ferry.core.DynamoDbJobQueries;
import dev.ferry.core.DynamoDbJobStore;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.JobIds;
import dev.ferry.core.Json;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;

/**
 * {@code /admin}: the operator's page and the JSON API behind it.
 *
 * <p>{@code GET /admin} serves the page itself, static HTML with no data in it. Every
 * {@code /admin/api/...} call needs {@code Authorization: Bearer <admin token>}; without it, 401.
 */
public final class AdminHandler implements RequestHandler<APIGatewayProxyRequestEvent, APIGatewayProxyResponseEvent> {

    private static final Logger LOG = LoggerFactory.getLogger(AdminHandler.class);
    private static final Pattern JOB_ACTION = Pattern.compile("api/jobs/([^/]+)/(retry|discard)");
    private static final Pattern JOB = Pattern.compile("api/jobs/([^/]+)");
    private static final Pattern JOB_WEBHOOK = Pattern.compile("api/jobs/([^/]+)/webhook(/resend)?");
    /** The history charts' library (uPlot, from its WebJar), served at /admin/assets/. */
    private static final ChartLibrary CHARTS = ChartLibrary.load();
    private static final AdminPage PAGE = AdminPage.load(CHARTS);

    private final AdminService service;
    private final AdminToken token;
    private final Optional<WebhookAdmin> webhooks;
    private final Optional<AdminHistory> history;
    private final Optional<FleetView> fleet;

    public AdminHandler() {
        this(System.getenv());
    }

    public AdminHandler(Map<String, String> environment) {
        this(FerryEnv.of(environment));
    }

    private AdminHandler(FerryEnv env) {
        this(env, AwsClients.sqs(env), AwsClients.dynamoDb(env));
    }

    private AdminHandler(FerryEnv env, software.amazon.awssdk.services.sqs.SqsClient sqs,
                         software.amazon.awssdk.services.dynamodb.DynamoDbClient dynamoDb) {
        this(env, sqs, dynamoDb, DynamoDbJobStore.fromEnvironment(dynamoDb, env));
    }

    private AdminHandler(FerryEnv env, software.amazon.awssdk.services.sqs.SqsClient sqs,
                         software.amazon.awssdk.services.dynamodb.DynamoDbClient dynamoDb, DynamoDbJobStore jobs) {
        this(env, sqs, dynamoDb, jobs, DynamoDbJobQueries.fromEnvironment(dynamoDb, env));
    }

    private AdminHandler(FerryEnv env, software.amazon.awssdk.services.sqs.SqsClient sqs,
                         software.amazon.awssdk.services.dynamodb.DynamoDbClient dynamoDb, DynamoDbJobStore jobs,
                         DynamoDbJobQueries queries) {
        this(AdminService.fromEnvironment(env, sqs, jobs, queries),
                AdminToken.fromEnvironment(env, () -> SecretsManagerClient.builder()
                        .httpClient(UrlConnectionHttpClient.create())
                        .region(Region.of(env.required(FerryEnv.AWS_REGION)))
                        .build()),
                Optional.of(WebhookAdmin.fromEnvironment(env, sqs, dynamoDb, jobs)),
                Optional.of(new AdminHistory(JobHistoryReader.fromEnvironment(dynamoDb, env), java.time.Clock.systemUTC())),
                FleetView.fromEnvironment(env, sqs, dynamoDb, queries));
    }

    AdminHandler(AdminService service, AdminToken token) {
        this(service, token, Optional.empty());
    }

    AdminHandler(AdminService service, AdminToken token, Optional<WebhookAdmin> webhooks) {
        this(service, token, webhooks, Optional.empty(), Optional.empty());
    }

    AdminHandler(AdminService service, AdminToken token, Optional<WebhookAdmin> webhooks,
                 Optional<AdminHistory> history, Optional<FleetView> fleet) {
        this.service = service;
        this.token = token;
        this.webhooks = webhooks;
        this.history = history;
        this.fleet = fleet;
    }

    @Override
    public APIGatewayProxyResponseEvent handleRequest(APIGatewayProxyRequestEvent event, Context context) {
        RequestLog.start(context);
        String route = route(event);
        String method = Optional.ofNullable(event.getHttpMethod()).orElse("GET").toUpperCase(java.util.Locale.ROOT);
        if (route.isEmpty()) {
            return method.equals("GET") ? page() : ApiResponses.error(405, "the admin page is GET /admin");
        }
        if (route.startsWith(ChartLibrary.ASSETS)) {
            // A public library, the same for everyone: no token, like the page itself.
            if (!method.equals("GET")) {
                return ApiResponses.error(405, "use GET /admin/" + route);
            }
            return CHARTS.response(route).orElseGet(() -> ApiResponses.error(404, "no admin asset /admin/" + route));
        }
        if (!route.startsWith("api/")) {
            return ApiResponses.error(404, "no admin route " + method + " /admin/" + route);
        }
        if (!token.accepts(Requests.header(event, "Authorization"))) {
            return ApiResponses.json(401, Json.MAPPER.createObjectNode().put("error",
                            "the admin API needs the header Authorization: Bearer <admin token>"),
                    Map.of("WWW-Authenticate", "Bearer realm=\"ferry-admin\""));
        }
        try {
            return dispatch(method, route, event);
        } catch (ApiException e) {
            return ApiResponses.error(e);
        } catch (SdkException e) {
            LOG.warn("admin {} /admin/{} failed: {}", method, route, dev.ferry.core.AwsErrors.describe(e));
            return ApiResponses.error(ApiException.fromAws("admin " + method + " /admin/" + route + " could not be done", e));
        }
    }

    private APIGatewayProxyResponseEvent dispatch(String method, String route, APIGatewayProxyRequestEvent event) {
        switch (method + " " + route) {
            case "GET api/overview":
                return ApiResponses.json(200, service.overview());
            case "GET api/redrive":
                return ApiResponses.json(200, service.latestRedrive().orElseGet(() ->
                        Json.MAPPER.createObjectNode().put("status", "NONE")));
            case "POST api/redrive":
                return redrive(event);
            case "DELETE api/redrive":
                service.cancelRedrive(pool(event));
                return ApiResponses.json(200, Json.MAPPER.createObjectNode().put("status", "CANCELLING"));
            case "GET api/jobs":
                return ApiResponses.json(200, service.list(JobListing.parse(event)));
            case "GET api/history":
                return history(event);
            case "GET api/fleet":
                return fleet.map(view -> ApiResponses.json(200, view.fleet())).orElseGet(() -> ApiResponses.error(404,
                        "this deployment has no workers table (" + FerryEnv.WORKERS_TABLE + "), so no fleet view"));
            default:
                break;
        }
        Matcher webhook = JOB_WEBHOOK.matcher(route);
        if (webhook.matches()) {
            return webhook(method, route, webhook.group(1), webhook.group(2) != null);
        }
        Matcher one = JOB.matcher(route);
        if (one.matches()) {
            if (!method.equals("GET")) {
                return ApiResponses.error(405, "use GET /admin/" + route);
            }
            String jobId = one.group(1);
            if (!JobIds.looksLikeId(jobId)) {
                return ApiResponses.error(404, "no job with id \"" + jobId + "\"");
            }
            return ApiResponses.json(200, service.job(jobId));
        }
        Matcher action = JOB_ACTION.matcher(route);
        if (action.matches()) {
            if (!method.equals("POST")) {
                return ApiResponses.error(405, "use POST /admin/" + route);
            }
            String jobId = action.group(1);
            if (!JobIds.looksLikeId(jobId)) {
                return ApiResponses.error(404, "no job with id \"" + jobId + "\"");
            }
            if (action.group(2).equals("discard")) {
                return ApiResponses.json(200, service.discard(jobId));
            }
            ObjectNode result = service.retry(List.of(jobId));
            if (result.get("retried").isEmpty()) {
                JsonNode skipped = result.get("skipped").get(0);
                String reason = skipped.get("reason").asText();
                if (reason.startsWith(AdminService.NOT_SENT)) {
                    // SQS failed: the job is as it was, and retrying the retry can work.
                    return ApiResponses.error(ApiException.unavailable("job " + jobId + " was not retried: " + reason,
                            java.time.Duration.ofSeconds(5)));
                }
                int status = reason.equals("no such job") ? 404 : 409;
                return ApiResponses.error(status, "job " + jobId + " was not retried: " + reason);
            }
            return ApiResponses.json(202, result);
        }
        return ApiResponses.error(404, "no admin route " + method + " /admin/" + route);
    }

    /** {@code GET api/history?window=&type=}: the history charts' data. */
    private APIGatewayProxyResponseEvent history(APIGatewayProxyRequestEvent event) {
        AdminHistory.Query query = AdminHistory.parse(event);
        if (history.isEmpty()) {
            return ApiResponses.error(404, "this deployment reads no history");
        }
        return ApiResponses.json(200, history.get().chart(query));
    }

    /** {@code GET api/jobs/{id}/webhook}: its deliveries; {@code POST api/jobs/{id}/webhook/resend}: Resend. */
    private APIGatewayProxyResponseEvent webhook(String method, String route, String jobId, boolean resend) {
        String wanted = resend ? "POST" : "GET";
        if (!method.equals(wanted)) {
            return ApiResponses.error(405, "use " + wanted + " /admin/" + route);
        }
        if (!JobIds.looksLikeId(jobId)) {
            return ApiResponses.error(404, "no job with id \"" + jobId + "\"");
        }
        if (webhooks.isEmpty()) {
            return ApiResponses.error(404, "this deployment has no webhooks");
        }
        return resend ? ApiResponses.json(202, webhooks.get().resend(jobId))
                : ApiResponses.json(200, webhooks.get().show(jobId));
    }

    /**
     * Without a body: every pool's DLQ, or with {@code ?pool=<name>} that pool's (202, a move task per
     * pool). With {@code {"jobIds": [...]}}: just those jobs, each to its own pool.
     */
    private APIGatewayProxyResponseEvent redrive(APIGatewayProxyRequestEvent event) {
        String body = Requests.body(event);
        if (body == null || body.isBlank()) {
            AdminService.RedriveStarted started = service.redrive(pool(event));
            ObjectNode answer = Json.MAPPER.createObjectNode();
            if (started.taskHandle() != null) {
                answer.put("taskHandle", started.taskHandle());
            }
            answer.put("status", "RUNNING").put("requeuedJobs", started.requeuedJobs());
            ObjectNode tasks = answer.putObject("tasks");
            started.tasks().forEach(tasks::put);
            if (!started.failed().isEmpty()) {
                ObjectNode failed = answer.putObject("failed");
                started.failed().forEach(failed::put);
            }
            return ApiResponses.json(202, answer);
        }
        JsonNode request;
        try {
            request = Json.parse(body);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("request body is not valid JSON: " + e.getMessage());
        }
        JsonNode ids = request.get("jobIds");
        if (ids == null || !ids.isArray() || ids.isEmpty()) {
            throw ApiException.badRequest("field \"jobIds\" must be a non-empty array of job ids"
                    + " (or send no body to redrive the whole dead-letter queue)");
        }
        List<String> jobIds = new ArrayList<>();
        for (JsonNode id : ids) {
            if (!id.isTextual() || !JobIds.looksLikeId(id.asText())) {
                throw ApiException.badRequest("field \"jobIds\" holds " + id + ", which is not a job id");
            }
            jobIds.add(id.asText());
        }
        if (jobIds.size() > AdminService.FAILED_JOBS_SHOWN) {
            throw ApiException.badRequest("field \"jobIds\" holds " + jobIds.size() + " ids; at most "
                    + AdminService.FAILED_JOBS_SHOWN + " per call (use Redrive DLQ for everything)");
        }
        return ApiResponses.json(200, service.retry(jobIds));
    }

    /** The {@code pool} query parameter: the pool a redrive (or its cancel) is for; absent: every pool. */
    private static Optional<String> pool(APIGatewayProxyRequestEvent event) {
        Map<String, String> query = event.getQueryStringParameters();
        String pool = query == null ? null : query.get("pool");
        if (pool == null) {
            return Optional.empty();
        }
        if (pool.isBlank()) {
            throw ApiException.badRequest("parameter \"pool\" is empty; name a pool, or leave it out for every pool");
        }
        return Optional.of(pool);
    }

    /** The part of the path after {@code /admin/}: from {proxy+} behind API Gateway, else from the path. */
    static String route(APIGatewayProxyRequestEvent event) {
        Map<String, String> parameters = event.getPathParameters();
        if (parameters != null && parameters.get("proxy") != null) {
            return trimSlashes(parameters.get("proxy"));
        }
        String path = Optional.ofNullable(event.getPath()).orElse("");
        int at = path.indexOf("/admin");
        return at < 0 ? "" : trimSlashes(path.substring(at + "/admin".length()));
    }

    private static String trimSlashes(String text) {
        return text.replaceAll("^/+|/+$", "");
    }

    /** {@code GET /admin}: the page, with a Content-Security-Policy that allows only its own script and style. */
    static APIGatewayProxyResponseEvent page() {
        return PAGE.response();
    }
}
