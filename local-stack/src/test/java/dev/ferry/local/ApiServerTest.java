package dev.ferry.local;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link ApiServer} over real HTTP, with small handlers that record what they were given. */
class ApiServerTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(TIMEOUT)
            .build();
    private final List<ApiServer> servers = new ArrayList<>();

    @AfterEach
    void closeServers() {
        servers.forEach(ApiServer::close);
    }

    /** Records the last event and context, answers 200 with the event's body. */
    private static final class Recorder implements RequestHandler<APIGatewayProxyRequestEvent, APIGatewayProxyResponseEvent> {
        final AtomicReference<APIGatewayProxyRequestEvent> event = new AtomicReference<>();
        final AtomicReference<Context> context = new AtomicReference<>();
        final AtomicReference<Integer> remainingMillis = new AtomicReference<>();

        @Override
        public APIGatewayProxyResponseEvent handleRequest(APIGatewayProxyRequestEvent request, Context ctx) {
            event.set(request);
            context.set(ctx);
            remainingMillis.set(ctx.getRemainingTimeInMillis());
            return new APIGatewayProxyResponseEvent().withStatusCode(200).withBody(request.getBody());
        }
    }

    /** A handler the local stack builds by reflection, as it builds the template's handlers. */
    public static final class GreetingHandler
            implements RequestHandler<APIGatewayProxyRequestEvent, APIGatewayProxyResponseEvent> {
        private final String greeting;

        public GreetingHandler(Map<String, String> environment) {
            this.greeting = environment.get("GREETING");
        }

        @Override
        public APIGatewayProxyResponseEvent handleRequest(APIGatewayProxyRequestEvent request, Context context) {
            return new APIGatewayProxyResponseEvent().withStatusCode(200).withBody(greeting);
        }
    }

    /** Has only Lambda's no-argument constructor, so the local stack cannot give it an environment. */
    public static final class NoEnvironmentHandler
            implements RequestHandler<APIGatewayProxyRequestEvent, APIGatewayProxyResponseEvent> {
        @Override
        public APIGatewayProxyResponseEvent handleRequest(APIGatewayProxyRequestEvent request, Context context) {
            return new APIGatewayProxyResponseEvent().withStatusCode(200);
        }
    }

    private static LocalFunction function(String name,
            RequestHandler<APIGatewayProxyRequestEvent, APIGatewayProxyResponseEvent> handler) {
        return new LocalFunction(name, Duration.ofSeconds(25), 1024, "us-east-1", handler);
    }

    private ApiServer serve(ApiServer.Route... routes) {
        return serve(ApiServer.Limits.DEFAULTS, routes);
    }

    private ApiServer serve(ApiServer.Limits limits, ApiServer.Route... routes) {
        ApiServer server = ApiServer.start(0, List.of(routes), limits);
        servers.add(server);
        return server;
    }

    private HttpResponse<String> send(ApiServer server, String method, String path, String body,
            String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(server.endpoint().resolve(path))
                .timeout(TIMEOUT)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        for (int i = 0; i < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void pathParameter_resourceAndRequestContext_reachTheHandlerAsApiGatewaySendsThem() throws Exception {
        Recorder recorder = new Recorder();
        ApiServer server = serve(new ApiServer.Route("GET", "/jobs/{jobId}", "v1", function("GetJobFunction", recorder)));

        HttpResponse<String> response = send(server, "GET", "/jobs/job-123", null);

        assertEquals(200, response.statusCode());
        APIGatewayProxyRequestEvent event = recorder.event.get();
        assertEquals("GET", event.getHttpMethod());
        assertEquals("/jobs/{jobId}", event.getResource());
        assertEquals("/jobs/job-123", event.getPath());
        assertEquals(Map.of("jobId", "job-123"), event.getPathParameters());
        assertNull(event.getQueryStringParameters(), "no query string: null, as API Gateway sends it");
        assertNull(event.getMultiValueQueryStringParameters());
        assertNull(event.getBody(), "no body: null");
        assertEquals(Boolean.FALSE, event.getIsBase64Encoded());
        APIGatewayProxyRequestEvent.ProxyRequestContext context = event.getRequestContext();
        assertEquals("v1", context.getStage());
        assertEquals("/jobs/{jobId}", context.getResourcePath());
        assertEquals("GET", context.getHttpMethod());
        assertEquals("/jobs/job-123", context.getPath());
        assertEquals("127.0.0.1", context.getIdentity().getSourceIp());
        assertTrue(context.getIdentity().getUserAgent().startsWith("Java-http-client"),
                context.getIdentity().getUserAgent());
        assertNotNull(context.getRequestId());
        assertEquals(context.getRequestId(), response.headers().firstValue("x-amzn-RequestId").orElseThrow());
    }

    @Test
    void stagePrefix_servesTheSameRoute_andStaysOutOfTheEventsPath() throws Exception {
        Recorder recorder = new Recorder();
        ApiServer server = serve(new ApiServer.Route("GET", "/jobs/{jobId}", "v1", function("GetJobFunction", recorder)));

        assertEquals(200, send(server, "GET", "/v1/jobs/job-123", null).statusCode());

        assertEquals("/jobs/job-123", recorder.event.get().getPath());
        assertEquals("/v1/jobs/job-123", recorder.event.get().getRequestContext().getPath());
        assertEquals(Map.of("jobId", "job-123"), recorder.event.get().getPathParameters());
    }

    @Test
    void headers_arriveLowerCased_lastValueSingle_allValuesMulti() throws Exception {
        Recorder recorder = new Recorder();
        ApiServer server = serve(new ApiServer.Route("POST", "/jobs", "v1", function("SubmitJobFunction", recorder)));

        send(server, "POST", "/jobs", "{}", "Idempotency-Key", "key-1", "X-Multi", "first", "X-Multi", "second");

        APIGatewayProxyRequestEvent event = recorder.event.get();
        assertEquals("key-1", event.getHeaders().get("idempotency-key"));
        assertNull(event.getHeaders().get("Idempotency-Key"), "a handler must look headers up without regard to case");
        assertEquals("second", event.getHeaders().get("x-multi"));
        assertEquals(List.of("first", "second"), event.getMultiValueHeaders().get("x-multi"));
        assertEquals("127.0.0.1", event.getHeaders().get("x-forwarded-for"));
        assertEquals("http", event.getHeaders().get("x-forwarded-proto"));
        assertEquals(Integer.toString(server.endpoint().getPort()), event.getHeaders().get("x-forwarded-port"));
    }

    @Test
    void queryString_isDecoded_lastValueSingle_allValuesMulti() throws Exception {
        Recorder recorder = new Recorder();
        ApiServer server = serve(new ApiServer.Route("GET", "/jobs/{jobId}", "v1", function("GetJobFunction", recorder)));

        send(server, "GET", "/jobs/a?wait=1&wait=2&label=x%20y&flag", null);

        APIGatewayProxyRequestEvent event = recorder.event.get();
        assertEquals(Map.of("wait", "2", "label", "x y", "flag", ""), event.getQueryStringParameters());
        assertEquals(Map.of("wait", List.of("1", "2"), "label", List.of("x y"), "flag", List.of("")),
                event.getMultiValueQueryStringParameters());
    }

    @Test
    void body_andResponse_roundTripAsUtf8_withMergedResponseHeaders() throws Exception {
        AtomicReference<String> received = new AtomicReference<>();
        ApiServer server = serve(new ApiServer.Route("POST", "/jobs", "v1", function("SubmitJobFunction",
                (request, context) -> {
                    received.set(request.getBody());
                    return new APIGatewayProxyResponseEvent()
                            .withStatusCode(202)
                            .withHeaders(Map.of("Location", "/v1/jobs/j1", "Set-Cookie", "a=1"))
                            .withMultiValueHeaders(Map.of("Set-Cookie", List.of("a=1", "b=2")))
                            .withBody("{\"echo\":" + request.getBody() + "}");
                })));
        String body = "{\"type\":\"sample\",\"input\":{\"output\":\"héllo ✓ 日本\"}}";

        HttpResponse<String> response = send(server, "POST", "/jobs", body, "Content-Type", "application/json");

        assertEquals(body, received.get());
        assertEquals(202, response.statusCode());
        assertEquals("{\"echo\":" + body + "}", response.body());
        assertEquals("/v1/jobs/j1", response.headers().firstValue("Location").orElseThrow());
        assertEquals(List.of("a=1", "b=2"), response.headers().allValues("Set-Cookie"),
                "a pair in both maps appears once, as API Gateway merges them");
        assertEquals("application/json", response.headers().firstValue("Content-Type").orElseThrow(),
                "API Gateway's default content type");
    }

    @Test
    void base64Response_isDecoded_andStatusWithoutBody_isSentWithoutOne() throws Exception {
        ApiServer server = serve(
                new ApiServer.Route("GET", "/bytes", "v1", function("Bytes", (request, context) ->
                        new APIGatewayProxyResponseEvent().withStatusCode(200).withIsBase64Encoded(true)
                                .withHeaders(Map.of("Content-Type", "text/plain")).withBody("aGVsbG8="))),
                new ApiServer.Route("DELETE", "/bytes", "v1", function("Nothing", (request, context) ->
                        new APIGatewayProxyResponseEvent().withStatusCode(204))));

        HttpResponse<String> bytes = send(server, "GET", "/bytes", null);
        assertEquals("hello", bytes.body());
        assertEquals("text/plain", bytes.headers().firstValue("Content-Type").orElseThrow());
        HttpResponse<String> nothing = send(server, "DELETE", "/bytes", null);
        assertEquals(204, nothing.statusCode());
        assertEquals("", nothing.body());
    }

    @Test
    void unknownPath_is404_namingMethodAndPath() throws Exception {
        ApiServer server = serve(new ApiServer.Route("POST", "/jobs", "v1", function("SubmitJobFunction", new Recorder())));

        HttpResponse<String> response = send(server, "GET", "/x", null);

        assertEquals(404, response.statusCode());
        assertEquals("{\"error\":\"no route for GET /x\"}", response.body());
        assertEquals(404, send(server, "POST", "/jobs/extra", "{}").statusCode());
    }

    @Test
    void knownPath_otherMethod_is405_withAllow() throws Exception {
        ApiServer server = serve(
                new ApiServer.Route("POST", "/jobs", "v1", function("SubmitJobFunction", new Recorder())),
                new ApiServer.Route("GET", "/jobs/{jobId}", "v1", function("GetJobFunction", new Recorder())));

        HttpResponse<String> onJobs = send(server, "PUT", "/jobs", "{}");
        HttpResponse<String> onJob = send(server, "DELETE", "/jobs/j1", null);

        assertEquals(405, onJobs.statusCode());
        assertEquals("POST", onJobs.headers().firstValue("Allow").orElseThrow());
        assertEquals(405, onJob.statusCode());
        assertEquals("GET", onJob.headers().firstValue("Allow").orElseThrow());
        assertTrue(onJob.body().contains("DELETE is not allowed on /jobs/{jobId}"), onJob.body());
    }

    @Test
    void literalSegment_winsOverPathParameter() throws Exception {
        Recorder stats = new Recorder();
        Recorder job = new Recorder();
        ApiServer server = serve(
                new ApiServer.Route("GET", "/jobs/{jobId}", "v1", function("GetJobFunction", job)),
                new ApiServer.Route("DELETE", "/jobs/{jobId}", "v1", function("DeleteJobFunction", job)),
                new ApiServer.Route("GET", "/jobs/stats", "v1", function("StatsFunction", stats)));

        assertEquals(200, send(server, "GET", "/jobs/stats", null).statusCode());
        assertNotNull(stats.event.get());
        assertNull(job.event.get());
        HttpResponse<String> delete = send(server, "DELETE", "/jobs/stats", null);
        assertEquals(405, delete.statusCode(), "the most specific resource answers, as in API Gateway");
        assertEquals("GET", delete.headers().firstValue("Allow").orElseThrow());
    }

    @Test
    void handlerThatThrows_is502_withTheError() throws Exception {
        ApiServer server = serve(new ApiServer.Route("POST", "/jobs", "v1", function("SubmitJobFunction",
                (request, context) -> {
                    throw new IllegalStateException("boom");
                })));

        HttpResponse<String> response = send(server, "POST", "/jobs", "{}");

        assertEquals(502, response.statusCode());
        assertEquals("{\"error\":\"handler failed: java.lang.IllegalStateException: boom\"}", response.body());
        assertTrue(response.headers().firstValue("x-amzn-RequestId").isPresent());
    }

    @Test
    void handlerResponseWithoutStatus_is502_malformed() throws Exception {
        ApiServer server = serve(new ApiServer.Route("POST", "/jobs", "v1", function("SubmitJobFunction",
                (request, context) -> new APIGatewayProxyResponseEvent().withBody("{}"))));

        HttpResponse<String> response = send(server, "POST", "/jobs", "{}");

        assertEquals(502, response.statusCode());
        assertEquals("{\"error\":\"malformed handler response: statusCode must be 100-599, but is null\"}",
                response.body());
    }

    @Test
    void context_hasANewRequestIdPerCall_theFunctionsName_andTimeLeft() throws Exception {
        Recorder recorder = new Recorder();
        ApiServer server = serve(new ApiServer.Route("GET", "/jobs/{jobId}", "v1", function("GetJobFunction", recorder)));

        send(server, "GET", "/jobs/a", null);
        Context first = recorder.context.get();
        int remaining = recorder.remainingMillis.get();
        send(server, "GET", "/jobs/b", null);
        Context second = recorder.context.get();

        assertNotEquals(first.getAwsRequestId(), second.getAwsRequestId());
        assertEquals("GetJobFunction", first.getFunctionName());
        assertEquals("arn:aws:lambda:us-east-1:000000000000:function:GetJobFunction", first.getInvokedFunctionArn());
        assertEquals(1024, first.getMemoryLimitInMB());
        assertTrue(remaining > 20_000 && remaining <= 25_000, "remaining " + remaining + " ms of a 25 s timeout");
    }

    @Test
    void requests_areServedConcurrently() throws Exception {
        CyclicBarrier bothInside = new CyclicBarrier(2);
        ApiServer server = serve(new ApiServer.Route("GET", "/jobs/{jobId}", "v1", function("GetJobFunction",
                (request, context) -> {
                    try {
                        bothInside.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                    } catch (Exception e) {
                        throw new IllegalStateException("the other request never arrived while this one ran", e);
                    }
                    return new APIGatewayProxyResponseEvent().withStatusCode(200);
                })));

        CompletableFuture<HttpResponse<String>> a = CompletableFuture.supplyAsync(() -> sendUnchecked(server, "/jobs/a"));
        CompletableFuture<HttpResponse<String>> b = CompletableFuture.supplyAsync(() -> sendUnchecked(server, "/jobs/b"));

        assertEquals(200, a.get(20, TimeUnit.SECONDS).statusCode());
        assertEquals(200, b.get(20, TimeUnit.SECONDS).statusCode());
    }

    /** More than the 8 threads the local API once had: each of them could hold one. */
    private static final int MANY = 12;

    @Test
    void clientsThatStallMidRequest_holdNoHandlerThread_andAWholeRequestIsStillAnswered() throws Exception {
        ApiServer server = serve(new ApiServer.Route("GET", "/fast", "v1", function("Fast", new Recorder())));
        List<Socket> stalled = new ArrayList<>();
        try {
            for (int i = 0; i < MANY; i++) {
                stalled.add(sendPart(server, "GET /fast HTTP/1.1\r\nHost: localhost\r\nX-Half: "));
            }
            // Every stalled request is being read on a thread of its own; none waits for one.
            await().atMost(TIMEOUT).pollInterval(Duration.ofMillis(20)).untilAsserted(() -> {
                long reading = threadsReadingRequestHeaders();
                assertTrue(reading >= MANY, reading + " threads read the headers of " + MANY + " stalled requests");
            });

            assertEquals(200, send(server, "GET", "/fast", null).statusCode());
        } finally {
            for (Socket socket : stalled) {
                socket.close();
            }
        }
    }

    @Test
    void requestThatDoesNotArriveWholeWithinTheTimeout_hasItsConnectionClosed() throws Exception {
        ApiServer server = serve(ApiServer.Limits.DEFAULTS.withRequestTimeout(Duration.ofMillis(500)),
                new ApiServer.Route("POST", "/jobs", "v1", function("Submit", new Recorder())));
        List<Socket> stalled = new ArrayList<>();
        try {
            for (int i = 0; i < MANY; i++) {
                stalled.add(sendPart(server, "POST /jobs HTTP/1.1\r\nHost: localhost\r\nContent-Le"));
            }
            // Whole headers, then a body that stops short of its Content-Length.
            stalled.add(sendPart(server, "POST /jobs HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{\"a\":"));

            for (Socket socket : stalled) {
                assertClosedByTheServer(socket);
            }
            assertEquals("{}", send(server, "POST", "/jobs", "{}").body(), "the server still answers whole requests");
        } finally {
            for (Socket socket : stalled) {
                socket.close();
            }
        }
    }

    @Test
    void manyMoreRequestsThanEight_runAtOnce() throws Exception {
        int requests = 3 * MANY;
        CountDownLatch allInside = new CountDownLatch(requests);
        ApiServer server = serve(new ApiServer.Route("GET", "/jobs/{jobId}", "v1", function("GetJobFunction",
                (request, context) -> {
                    allInside.countDown();
                    try {
                        if (!allInside.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                            throw new IllegalStateException("only " + (requests - allInside.getCount()) + " of "
                                    + requests + " requests were inside their handler at once");
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException(e);
                    }
                    return new APIGatewayProxyResponseEvent().withStatusCode(200);
                })));

        List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            responses.add(http.sendAsync(HttpRequest.newBuilder(server.endpoint().resolve("/jobs/" + i))
                    .timeout(TIMEOUT.multipliedBy(2)).build(), HttpResponse.BodyHandlers.ofString()));
        }

        for (CompletableFuture<HttpResponse<String>> response : responses) {
            HttpResponse<String> answer = response.get(TIMEOUT.toSeconds() * 3, TimeUnit.SECONDS);
            assertEquals(200, answer.statusCode(), answer.body());
        }
    }

    @Test
    void requestBeyondTheHandlerThreadsAndTheWaitingRoom_is503_withRetryAfter() throws Exception {
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ApiServer server = serve(new ApiServer.Limits(1, 0, 4, Duration.ofSeconds(20)),
                new ApiServer.Route("GET", "/slow", "v1", function("Slow", (request, context) -> {
                    inside.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return new APIGatewayProxyResponseEvent().withStatusCode(200);
                })));
        CompletableFuture<HttpResponse<String>> slow = CompletableFuture.supplyAsync(() -> sendUnchecked(server, "/slow"));
        assertTrue(inside.await(10, TimeUnit.SECONDS));

        HttpResponse<String> busy = send(server, "GET", "/slow", null);
        release.countDown();

        assertEquals(503, busy.statusCode());
        assertEquals("{\"error\":\"the local API is busy: 1 requests run and 0 wait already; try again\"}", busy.body());
        assertEquals("1", busy.headers().firstValue("Retry-After").orElseThrow());
        assertEquals(200, slow.get(10, TimeUnit.SECONDS).statusCode());
    }

    @Test
    void theJdkServer_setsTcpNoDelay() {
        serve(new ApiServer.Route("GET", "/a", "v1", function("A", new Recorder())));
        // The JDK server reads it once, when its configuration class loads: ApiServer sets it before
        // it makes its first server. (The socket option itself is out of a test's reach.)
        assertEquals("true", System.getProperty("sun.net.httpserver.nodelay"));
    }

    @Test
    void limits_nameTheFieldThatIsWrong() {
        assertEquals("handlerThreads must be at least 1, but is 0", assertThrows(IllegalArgumentException.class,
                () -> new ApiServer.Limits(0, 1, 1, Duration.ofSeconds(1))).getMessage());
        assertEquals("requestTimeout must be more than zero, but is PT0S", assertThrows(IllegalArgumentException.class,
                () -> ApiServer.Limits.DEFAULTS.withRequestTimeout(Duration.ZERO)).getMessage());
    }

    @Test
    void close_refusesNewRequests_andLetsThoseUnderWayFinish() throws Exception {
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ApiServer server = serve(
                new ApiServer.Route("GET", "/slow", "v1", function("Slow", (request, context) -> {
                    inside.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return new APIGatewayProxyResponseEvent().withStatusCode(200).withBody("finished");
                })),
                new ApiServer.Route("GET", "/fast", "v1", function("Fast", new Recorder())));
        CompletableFuture<HttpResponse<String>> slow = CompletableFuture.supplyAsync(() -> sendUnchecked(server, "/slow"));
        assertTrue(inside.await(10, TimeUnit.SECONDS));

        CompletableFuture<Void> closing = CompletableFuture.runAsync(server::close);
        HttpResponse<String> refused = awaitStatus(server, "/fast", 503);
        assertEquals("{\"error\":\"the local API is shutting down\"}", refused.body());
        assertFalse(closing.isDone(), "close must wait for the request under way");
        release.countDown();

        assertEquals("finished", slow.get(10, TimeUnit.SECONDS).body());
        closing.get(10, TimeUnit.SECONDS);
        assertThrows(IOException.class, () -> send(server, "GET", "/fast", null));
    }

    @Test
    void portInUse_isReportedWithThePort() {
        ApiServer first = serve(new ApiServer.Route("GET", "/a", "v1", function("A", new Recorder())));
        int port = first.endpoint().getPort();

        PortInUseException error = assertThrows(PortInUseException.class, () -> ApiServer.start(port,
                List.of(new ApiServer.Route("GET", "/a", "v1", function("A", new Recorder())))));

        assertEquals(port, error.port());
        assertEquals("the local API: port " + port + " on localhost is already in use", error.getMessage());
    }

    @Test
    void bind_holdsThePortBeforeServing_andCloseReleasesIt() throws Exception {
        ApiServer bound = ApiServer.bind(0);
        int port = bound.endpoint().getPort();
        assertThrows(PortInUseException.class, () -> ApiServer.bind(port));

        bound.serve(List.of(new ApiServer.Route("GET", "/a", "v1", function("A", new Recorder()))));
        assertEquals(200, send(bound, "GET", "/a", null).statusCode());
        assertThrows(IllegalStateException.class, () -> bound.serve(List.of()));
        bound.close();

        ApiServer again = ApiServer.bind(port);
        again.close();
    }

    @Test
    void duplicateRoutes_andGreedyParametersBeforeTheEnd_areRefused() {
        LocalFunction f = function("F", new Recorder());
        IllegalArgumentException duplicate = assertThrows(IllegalArgumentException.class, () -> ApiServer.start(0,
                List.of(new ApiServer.Route("GET", "/a", "v1", f), new ApiServer.Route("GET", "/a", "v1", f))));
        assertEquals("two routes for GET /a", duplicate.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> ApiServer.start(0, List.of(new ApiServer.Route("GET", "/{proxy+}/x", "v1", f))));
    }

    @Test
    void greedyParameter_takesTheRestOfThePath_andLosesToLiteralsAndPlainParameters() throws Exception {
        Recorder greedy = new Recorder();
        Recorder literal = new Recorder();
        ApiServer server = serve(
                new ApiServer.Route("ANY", "/admin/{proxy+}", "v1", function("AdminFunction", greedy)),
                new ApiServer.Route("GET", "/admin/api/overview", "v1", function("OverviewFunction", literal)));

        assertEquals(200, send(server, "POST", "/admin/api/jobs/j%2F1/retry", "{}").statusCode());
        assertEquals(200, send(server, "GET", "/admin/api/overview", null).statusCode());

        assertEquals(Map.of("proxy", "api/jobs/j/1/retry"), greedy.event.get().getPathParameters());
        assertEquals("/admin/{proxy+}", greedy.event.get().getResource());
        assertEquals("/admin/api/overview", literal.event.get().getPath());
        assertEquals(404, send(server, "GET", "/admin", null).statusCode(), "a greedy parameter needs a segment");
    }

    @Test
    void load_buildsTheNamedHandler_throughItsEnvironmentConstructor() throws Exception {
        LocalFunction function = LocalFunction.load(new SamTemplate.Function("GreetingFunction",
                GreetingHandler.class.getName(), "handleRequest", Duration.ofSeconds(5), 256, Set.of("GREETING")),
                Map.of("GREETING", "hello from the environment"));
        ApiServer server = serve(new ApiServer.Route("GET", "/greeting", "v1", function));

        assertEquals("hello from the environment", send(server, "GET", "/greeting", null).body());
    }

    @Test
    void load_namesTheFunctionAndWhatIsWrong() {
        IllegalStateException missing = assertThrows(IllegalStateException.class, () -> LocalFunction.load(
                new SamTemplate.Function("SubmitJobFunction", "dev.ferry.functions.NoSuchHandler", "handleRequest",
                        Duration.ofSeconds(5), 256, Set.of()), Map.of()));
        assertEquals("SubmitJobFunction (Handler dev.ferry.functions.NoSuchHandler::handleRequest): class not on the"
                + " classpath; is ferry-functions built?", missing.getMessage());

        IllegalStateException noConstructor = assertThrows(IllegalStateException.class, () -> LocalFunction.load(
                new SamTemplate.Function("F", NoEnvironmentHandler.class.getName(), "handleRequest",
                        Duration.ofSeconds(5), 256, Set.of()), Map.of()));
        assertTrue(noConstructor.getMessage().contains("needs a public constructor taking Map<String, String>"),
                noConstructor.getMessage());

        IllegalStateException notAHandler = assertThrows(IllegalStateException.class, () -> LocalFunction.load(
                new SamTemplate.Function("F", String.class.getName(), "handleRequest", Duration.ofSeconds(5), 256,
                        Set.of()), Map.of()));
        assertTrue(notAHandler.getMessage().contains("must implement RequestHandler<APIGatewayProxyRequestEvent,"),
                notAHandler.getMessage());
    }

    /** A raw connection that has sent {@code part} of a request and nothing more. */
    private static Socket sendPart(ApiServer server, String part) throws IOException {
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.endpoint().getPort());
        OutputStream out = socket.getOutputStream();
        out.write(part.getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return socket;
    }

    /** The server closes the connection (end of stream, or a reset) without answering. */
    private static void assertClosedByTheServer(Socket socket) throws IOException {
        // Only a guard against hanging when the server never closes it; no measure of speed.
        socket.setSoTimeout((int) TIMEOUT.multipliedBy(3).toMillis());
        try {
            assertEquals(-1, socket.getInputStream().read(), "the server answered instead of closing");
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the server kept a connection open whose request never arrived whole", e);
        } catch (SocketException e) {
            // Reset: closed as well.
        }
    }

    /** Threads of this JVM inside the JDK server's reading of a request line and headers. */
    private static long threadsReadingRequestHeaders() {
        return Thread.getAllStackTraces().values().stream()
                .filter(stack -> Arrays.stream(stack).anyMatch(frame ->
                        frame.getClassName().equals("sun.net.httpserver.Request")))
                .count();
    }

    private HttpResponse<String> sendUnchecked(ApiServer server, String path) {
        try {
            return send(server, "GET", path, null);
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Sends until the server answers {@code status}; fails after {@link #TIMEOUT}. */
    private HttpResponse<String> awaitStatus(ApiServer server, String path, int status) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        HttpResponse<String> response = send(server, "GET", path, null);
        while (response.statusCode() != status && System.nanoTime() < deadline) {
            response = send(server, "GET", path, null);
        }
        assertEquals(status, response.statusCode(), response.body());
        return response;
    }
}
