package dev.ferry.local;

import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * API Gateway (REST API, Lambda proxy integration) on localhost: each HTTP request becomes the
 * {@link APIGatewayProxyRequestEvent} API Gateway would send, the function's handler is called,
 * and its {@link APIGatewayProxyResponseEvent} becomes the HTTP response.
 *
 * <p>Routes are served at the root ({@code /jobs}) and, as the deployed stage URL serves them,
 * under the stage ({@code /v1/jobs}); either way the event's {@code path} has no stage in it and
 * {@code requestContext.path} is the path as requested.
 *
 * <p>How it follows API Gateway: a repeated header or query parameter keeps its last value in
 * {@code headers}/{@code queryStringParameters} and all of them in the multi-value maps; maps with
 * nothing in them are null, as is an empty body; response {@code headers} and
 * {@code multiValueHeaders} are merged; a response without Content-Type gets
 * {@code application/json}; every response carries {@code x-amzn-RequestId}.
 *
 * <p>Where it differs, on purpose or by necessity:
 * <ul>
 *   <li>Header names reach the handler in lower case. API Gateway passes them in the case the
 *       client sent (lower case from HTTP/2 clients); the JDK server does not keep that case, and
 *       lower case is the form that makes a handler's case-sensitive lookup fail here, not in AWS.
 *       For the same reason response header names go out as the JDK server spells them
 *       ({@code Content-type}, {@code X-amzn-requestid}); HTTP header names are case-insensitive.
 *   <li>An unknown path answers 404 and a known path with another method 405 (with {@code Allow});
 *       API Gateway answers both with 403 "Missing Authentication Token".
 *   <li>A handler that throws answers 502 with the error in the body (and in the log); API Gateway
 *       answers 502 "Internal server error".
 *   <li>The handler's timeout is reported by its context but not enforced.
 * </ul>
 *
 * <p>Limits ({@link Limits}): a request must arrive whole (request line, headers, body) within
 * {@link Limits#requestTimeout()}, or its connection is closed. Requests are read on threads of
 * their own ({@link ReadingExecutor}), so clients that send part of a request and stall never hold
 * a thread that runs handlers; {@link Limits#handlerThreads()} handler calls run at once, up to
 * {@link Limits#waitingRequests()} more wait for a thread, and beyond that the answer is 503.
 * Responses go out without Nagle's delay ({@value #NODELAY_PROPERTY}).
 */
public final class ApiServer implements AutoCloseable {

    /** On close, how long requests under way may take to finish. */
    public static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(10);

    private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final DateTimeFormatter REQUEST_TIME =
            DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.ENGLISH).withZone(ZoneOffset.UTC);
    private static final String ANY = "ANY";
    /**
     * The JDK server's switch for TCP_NODELAY on the sockets it accepts. Without it a response,
     * written as headers then body, can wait for the client's delayed ACK (about 40 ms on Linux)
     * on a kept-alive connection.
     */
    static final String NODELAY_PROPERTY = "sun.net.httpserver.nodelay";

    static {
        // Read once per JVM, when the JDK server's ServerConfig class loads, that is when the first
        // server of this JVM is made: so here, before this class makes one. An explicit -D wins.
        if (System.getProperty(NODELAY_PROPERTY) == null) {
            System.setProperty(NODELAY_PROPERTY, "true");
        }
    }

    private final HttpServer server;
    private final Limits limits;
    private final ReadingExecutor readers;
    private final ThreadPoolExecutor handlers;
    private final URI endpoint;
    private volatile List<Resource> resources;
    private int inFlight;
    private boolean closing;

    /**
     * One method on one path of the API.
     *
     * @param method the HTTP method, or {@code ANY}
     * @param path the resource path; {@code {name}} is a path parameter
     * @param stage the API stage; the route is also served under {@code /<stage>}
     * @param function the function that answers it
     */
    public record Route(String method, String path, String stage, LocalFunction function) {
        public Route {
            Objects.requireNonNull(method, "method");
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(stage, "stage");
            Objects.requireNonNull(function, "function");
        }
    }

    /**
     * How much the local API takes on at once, and how long a request may take to arrive.
     *
     * @param handlerThreads handler calls at once
     * @param waitingRequests requests that wait for a handler thread when all are busy; more are
     *     answered 503
     * @param readingConnections requests being read at once (a thread each, for at most
     *     {@code requestTimeout}); a connection over that is closed unread
     * @param requestTimeout how long a request may take to arrive whole, from its first byte to the
     *     end of its body; then its connection is closed
     */
    public record Limits(int handlerThreads, int waitingRequests, int readingConnections, Duration requestTimeout) {

        /** Handler calls at once: room for requests that a handler holds open for a while. */
        public static final int DEFAULT_HANDLER_THREADS = 64;
        public static final int DEFAULT_WAITING_REQUESTS = 256;
        public static final int DEFAULT_READING_CONNECTIONS = 256;
        public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(20);
        /** Every default. */
        public static final Limits DEFAULTS = new Limits(DEFAULT_HANDLER_THREADS, DEFAULT_WAITING_REQUESTS,
                DEFAULT_READING_CONNECTIONS, DEFAULT_REQUEST_TIMEOUT);

        public Limits {
            if (handlerThreads < 1) {
                throw new IllegalArgumentException("handlerThreads must be at least 1, but is " + handlerThreads);
            }
            if (waitingRequests < 0) {
                throw new IllegalArgumentException("waitingRequests must not be negative, but is " + waitingRequests);
            }
            if (readingConnections < 1) {
                throw new IllegalArgumentException("readingConnections must be at least 1, but is "
                        + readingConnections);
            }
            Objects.requireNonNull(requestTimeout, "requestTimeout");
            if (requestTimeout.isNegative() || requestTimeout.isZero()) {
                throw new IllegalArgumentException("requestTimeout must be more than zero, but is " + requestTimeout);
            }
        }

        /** These limits with another request timeout. */
        public Limits withRequestTimeout(Duration timeout) {
            return new Limits(handlerThreads, waitingRequests, readingConnections, timeout);
        }
    }

    private ApiServer(HttpServer server, Limits limits) {
        this.server = server;
        this.limits = limits;
        this.readers = new ReadingExecutor(limits.readingConnections(), limits.requestTimeout(), "ferry-api-read-");
        BlockingQueue<Runnable> waiting = limits.waitingRequests() == 0 ? new SynchronousQueue<>()
                : new LinkedBlockingQueue<>(limits.waitingRequests());
        this.handlers = new ThreadPoolExecutor(limits.handlerThreads(), limits.handlerThreads(), 30, TimeUnit.SECONDS,
                waiting, daemonThreads("ferry-api-"));
        this.handlers.allowCoreThreadTimeOut(true);
        this.endpoint = URI.create("http://localhost:" + server.getAddress().getPort());
    }

    /**
     * Takes the port on localhost without serving yet, so that a taken port is found before
     * anything slower starts; {@link #serve} starts serving. {@link Limits#DEFAULTS}.
     *
     * @param port the port; 0 for a free one
     * @throws PortInUseException when the port is taken
     */
    public static ApiServer bind(int port) {
        return bind(port, Limits.DEFAULTS);
    }

    /**
     * {@link #bind(int)} with other limits.
     *
     * @param port the port; 0 for a free one
     * @param limits what it takes on at once, and how long a request may take to arrive
     * @throws PortInUseException when the port is taken
     */
    public static ApiServer bind(int port, Limits limits) {
        Objects.requireNonNull(limits, "limits");
        try {
            return new ApiServer(HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0),
                    limits);
        } catch (BindException e) {
            throw new PortInUseException("the local API", port, e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the local API on port " + port, e);
        }
    }

    /**
     * Starts serving the routes.
     *
     * @throws IllegalArgumentException when two routes have the same method and path, or a greedy
     *     parameter ({@code {proxy+}}) is not a path's last segment
     * @throws IllegalStateException when it serves already
     */
    public synchronized void serve(List<Route> routes) {
        if (resources != null) {
            throw new IllegalStateException("the local API on " + endpoint + " serves its routes already");
        }
        resources = Resource.group(routes);
        // The JDK server reads each request (line and headers) on this executor, then calls
        // accept there, which reads the body and hands the request over to a handler thread.
        server.setExecutor(readers);
        server.createContext("/", this::accept);
        server.start();
        LOG.debug("local API listening on {}", endpoint);
    }

    /**
     * {@link #bind} and {@link #serve}: serves the routes on localhost.
     *
     * @param port the port; 0 for a free one
     * @param routes what to serve
     * @throws PortInUseException when the port is taken
     * @throws IllegalArgumentException when two routes have the same method and path, or a greedy
     *     parameter ({@code {proxy+}}) is not a path's last segment
     */
    public static ApiServer start(int port, List<Route> routes) {
        return start(port, routes, Limits.DEFAULTS);
    }

    /**
     * {@link #start(int, List)} with other limits.
     *
     * @param port the port; 0 for a free one
     * @param routes what to serve
     * @param limits what it takes on at once, and how long a request may take to arrive
     */
    public static ApiServer start(int port, List<Route> routes, Limits limits) {
        ApiServer api = bind(port, limits);
        try {
            api.serve(routes);
        } catch (RuntimeException e) {
            api.close();
            throw e;
        }
        return api;
    }

    /** {@code http://localhost:<port>}. */
    public URI endpoint() {
        return endpoint;
    }

    /**
     * Stops taking requests (new ones get 503), lets those under way finish for up to
     * {@link #DRAIN_TIMEOUT}, then stops the server.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closing) {
                return;
            }
            closing = true;
            long deadline = System.nanoTime() + DRAIN_TIMEOUT.toNanos();
            try {
                for (long left = DRAIN_TIMEOUT.toNanos(); inFlight > 0 && left > 0; left = deadline - System.nanoTime()) {
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (inFlight > 0) {
                LOG.warn("local API stops with {} request(s) still under way after {}", inFlight, DRAIN_TIMEOUT);
            }
        }
        server.stop(0);
        readers.close();
        handlers.shutdownNow();
        LOG.debug("local API on {} stopped", endpoint);
    }

    private synchronized boolean enter() {
        if (closing) {
            return false;
        }
        inFlight++;
        return true;
    }

    private synchronized void exit() {
        if (--inFlight == 0) {
            notifyAll();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // One request

    /**
     * On a reading thread, within the request timeout: reads the body, then hands the request over
     * to a handler thread (or answers 503 when closing, or when too many requests wait).
     */
    private void accept(HttpExchange exchange) {
        boolean handedOver = false;
        try {
            byte[] body = exchange.getRequestBody().readAllBytes();
            if (!enter()) {
                sendError(exchange, 503, "the local API is shutting down", null);
                return;
            }
            try {
                handlers.execute(() -> respond(exchange, body));
                handedOver = true;
            } catch (RejectedExecutionException e) {
                exit();
                exchange.getResponseHeaders().set("Retry-After", "1");
                sendError(exchange, 503, "the local API is busy: " + limits.handlerThreads() + " requests run and "
                        + limits.waitingRequests() + " wait already; try again", null);
            }
        } catch (IOException e) {
            LOG.debug("{} {}: the client went away, or sent its request too slowly: {}", exchange.getRequestMethod(),
                    exchange.getRequestURI(), e.toString());
        } finally {
            if (!handedOver) {
                exchange.close();
            }
        }
    }

    /** On a handler thread: calls the route's function and sends its answer. */
    private void respond(HttpExchange exchange, byte[] body) {
        try {
            serve(exchange, body);
        } catch (IOException e) {
            LOG.debug("{} {}: the client went away: {}", exchange.getRequestMethod(), exchange.getRequestURI(),
                    e.toString());
        } finally {
            exit();
            exchange.close();
        }
    }

    private void serve(HttpExchange exchange, byte[] body) throws IOException {
        String method = exchange.getRequestMethod();
        String rawPath = exchange.getRequestURI().getRawPath();
        Match match = match(rawPath);
        if (match == null) {
            sendError(exchange, 404, "no route for " + method + " " + rawPath, null);
            return;
        }
        Route route = match.resource().route(method);
        if (route == null) {
            String allowed = String.join(", ", match.resource().allowedMethods());
            exchange.getResponseHeaders().set("Allow", allowed);
            sendError(exchange, 405, method + " is not allowed on " + match.resource().path() + "; allowed: "
                    + allowed, null);
            return;
        }
        String requestId = UUID.randomUUID().toString();
        APIGatewayProxyRequestEvent event = event(exchange, route, match, body, requestId);
        long started = System.nanoTime();
        APIGatewayProxyResponseEvent response;
        try {
            response = route.function().invoke(event);
        } catch (RuntimeException | Error e) {
            // Lambda reports any throwable of a handler as a failed invocation; so do we.
            LOG.error("{} {} (requestId {}): {} failed", method, rawPath, requestId, route.function().name(), e);
            sendError(exchange, 502, "handler failed: " + e, requestId);
            return;
        }
        String malformed = malformed(response);
        if (malformed != null) {
            LOG.error("{} {} (requestId {}): {} returned a malformed response: {}", method, rawPath, requestId,
                    route.function().name(), malformed);
            sendError(exchange, 502, "malformed handler response: " + malformed, requestId);
            return;
        }
        LOG.debug("{} {} -> {} in {} ms ({}, requestId {})", method, rawPath, response.getStatusCode(),
                (System.nanoTime() - started) / 1_000_000, route.function().name(), requestId);
        send(exchange, response, requestId);
    }

    private APIGatewayProxyRequestEvent event(HttpExchange exchange, Route route, Match match, byte[] body,
            String requestId) {
        Map<String, List<String>> multiHeaders = new LinkedHashMap<>();
        exchange.getRequestHeaders().forEach((name, values) ->
                multiHeaders.computeIfAbsent(name.toLowerCase(Locale.ROOT), n -> new ArrayList<>()).addAll(values));
        String sourceIp = exchange.getRemoteAddress().getAddress().getHostAddress();
        // API Gateway appends the caller to X-Forwarded-For and says how it was reached.
        String forwardedFor = last(multiHeaders.get("x-forwarded-for"));
        multiHeaders.put("x-forwarded-for", List.of(forwardedFor == null ? sourceIp : forwardedFor + ", " + sourceIp));
        multiHeaders.putIfAbsent("x-forwarded-proto", List.of("http"));
        multiHeaders.putIfAbsent("x-forwarded-port", List.of(Integer.toString(server.getAddress().getPort())));
        Map<String, List<String>> multiQuery = parseQuery(exchange.getRequestURI().getRawQuery());

        APIGatewayProxyRequestEvent.RequestIdentity identity = new APIGatewayProxyRequestEvent.RequestIdentity();
        identity.setSourceIp(sourceIp);
        identity.setUserAgent(last(multiHeaders.get("user-agent")));

        Instant now = Instant.now();
        APIGatewayProxyRequestEvent.ProxyRequestContext context = new APIGatewayProxyRequestEvent.ProxyRequestContext();
        context.setAccountId(EmbeddedSqs.ACCOUNT_ID);
        context.setApiId("local");
        context.setStage(route.stage());
        context.setRequestId(requestId);
        context.setExtendedRequestId(requestId);
        context.setResourcePath(match.resource().path());
        context.setHttpMethod(exchange.getRequestMethod());
        context.setPath(exchange.getRequestURI().getRawPath());
        context.setProtocol(exchange.getProtocol());
        context.setDomainName(Objects.requireNonNullElse(last(multiHeaders.get("host")), "localhost"));
        context.setRequestTime(REQUEST_TIME.format(now));
        context.setRequestTimeEpoch(now.toEpochMilli());
        context.setIdentity(identity);

        APIGatewayProxyRequestEvent event = new APIGatewayProxyRequestEvent();
        event.setResource(match.resource().path());
        event.setPath(match.path());
        event.setHttpMethod(exchange.getRequestMethod());
        event.setHeaders(lastValues(multiHeaders));
        event.setMultiValueHeaders(multiHeaders);
        event.setQueryStringParameters(lastValues(multiQuery));
        event.setMultiValueQueryStringParameters(multiQuery.isEmpty() ? null : multiQuery);
        event.setPathParameters(match.pathParameters().isEmpty() ? null : match.pathParameters());
        event.setRequestContext(context);
        event.setBody(body.length == 0 ? null : new String(body, StandardCharsets.UTF_8));
        event.setIsBase64Encoded(false);
        return event;
    }

    /** Why API Gateway would reject this response as "Malformed Lambda proxy response", or null. */
    private static String malformed(APIGatewayProxyResponseEvent response) {
        if (response == null) {
            return "the handler returned null";
        }
        Integer status = response.getStatusCode();
        if (status == null || status < 100 || status > 599) {
            return "statusCode must be 100-599, but is " + status;
        }
        if (Boolean.TRUE.equals(response.getIsBase64Encoded()) && response.getBody() != null) {
            try {
                Base64.getDecoder().decode(response.getBody());
            } catch (IllegalArgumentException e) {
                return "isBase64Encoded is true but the body is not base64";
            }
        }
        return null;
    }

    private static void send(HttpExchange exchange, APIGatewayProxyResponseEvent response, String requestId)
            throws IOException {
        Headers headers = exchange.getResponseHeaders();
        if (response.getMultiValueHeaders() != null) {
            response.getMultiValueHeaders().forEach((name, values) -> values.forEach(value -> headers.add(name, value)));
        }
        if (response.getHeaders() != null) {
            response.getHeaders().forEach((name, value) -> {
                List<String> present = headers.get(name);
                if (present == null || !present.contains(value)) {
                    headers.add(name, value);
                }
            });
        }
        headers.putIfAbsent("Content-Type", List.of("application/json"));
        headers.set("x-amzn-RequestId", requestId);
        String body = response.getBody();
        byte[] bytes = body == null ? new byte[0]
                : Boolean.TRUE.equals(response.getIsBase64Encoded()) ? Base64.getDecoder().decode(body)
                : body.getBytes(StandardCharsets.UTF_8);
        write(exchange, response.getStatusCode(), bytes);
    }

    private static void sendError(HttpExchange exchange, int status, String message, String requestId)
            throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        if (requestId != null) {
            exchange.getResponseHeaders().set("x-amzn-RequestId", requestId);
        }
        byte[] body;
        try {
            body = JSON.writeValueAsBytes(Map.of("error", message));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write a JSON string", e);
        }
        write(exchange, status, body);
    }

    private static void write(HttpExchange exchange, int status, byte[] body) throws IOException {
        boolean bodyless = body.length == 0 || status < 200 || status == 204 || status == 304
                || exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(status, bodyless ? -1 : body.length);
        if (!bodyless) {
            exchange.getResponseBody().write(body);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Routing

    /** The most specific resource whose path matches, with or without the stage in front, or null. */
    private Match match(String rawPath) {
        List<String> segments = pathSegments(rawPath);
        Match best = null;
        for (Resource resource : resources) {
            Match candidate = resource.match(segments, rawPath);
            if (candidate == null && !segments.isEmpty() && segments.get(0).equals(resource.stage())) {
                candidate = resource.match(segments.subList(1, segments.size()),
                        rawPath.substring(rawPath.indexOf(resource.stage()) + resource.stage().length()));
            }
            if (candidate != null && (best == null || Resource.SPECIFICITY.compare(resource, best.resource()) < 0)) {
                best = candidate;
            }
        }
        return best;
    }

    private static List<String> pathSegments(String rawPath) {
        return Arrays.stream(rawPath.split("/")).filter(s -> !s.isEmpty()).toList();
    }

    private record Match(Resource resource, String path, Map<String, String> pathParameters) {
    }

    /** One path of the API with the methods it answers: API Gateway's "resource". */
    private record Resource(String path, String stage, List<String> segments, Map<String, Route> routesByMethod) {

        /** Literal segments before parameters, position by position: /jobs/stats before /jobs/{jobId}. */
        static final Comparator<Resource> SPECIFICITY = (a, b) -> {
            for (int i = 0; i < Math.min(a.segments.size(), b.segments.size()); i++) {
                int order = Integer.compare(rank(a.segments.get(i)), rank(b.segments.get(i)));
                if (order != 0) {
                    return order;
                }
            }
            return 0;
        };

        /** Literal before {name} before {name+}. */
        private static int rank(String segment) {
            return isGreedy(segment) ? 2 : isParameter(segment) ? 1 : 0;
        }

        static List<Resource> group(List<Route> routes) {
            Map<String, Resource> byPath = new LinkedHashMap<>();
            for (Route route : routes) {
                List<String> segments = pathSegments(route.path());
                for (int i = 0; i < segments.size() - 1; i++) {
                    if (isGreedy(segments.get(i))) {
                        throw new IllegalArgumentException("greedy path parameter in " + route.path()
                                + " is not the last segment, which API Gateway does not allow either");
                    }
                }
                Resource resource = byPath.computeIfAbsent(route.stage() + " " + route.path(),
                        key -> new Resource(route.path(), route.stage(), pathSegments(route.path()), new LinkedHashMap<>()));
                if (resource.routesByMethod.putIfAbsent(route.method(), route) != null) {
                    throw new IllegalArgumentException("two routes for " + route.method() + " " + route.path());
                }
            }
            return List.copyOf(byPath.values());
        }

        private static boolean isParameter(String segment) {
            return segment.startsWith("{") && segment.endsWith("}");
        }

        /** {@code {proxy+}}: one or more segments, as API Gateway's greedy path variable. */
        private static boolean isGreedy(String segment) {
            return segment.startsWith("{") && segment.endsWith("+}");
        }

        /** The match of these requested segments; {@code path} is the event's path for them. */
        Match match(List<String> requested, String path) {
            boolean greedy = !segments.isEmpty() && isGreedy(segments.get(segments.size() - 1));
            if (greedy ? requested.size() < segments.size() : requested.size() != segments.size()) {
                return null;
            }
            Map<String, String> parameters = new LinkedHashMap<>();
            for (int i = 0; i < segments.size(); i++) {
                String segment = segments.get(i);
                if (greedy && i == segments.size() - 1) {
                    List<String> rest = new ArrayList<>();
                    for (String part : requested.subList(i, requested.size())) {
                        rest.add(decodePathSegment(part));
                    }
                    parameters.put(segment.substring(1, segment.length() - 2), String.join("/", rest));
                    break;
                }
                String value = decodePathSegment(requested.get(i));
                if (isParameter(segment)) {
                    parameters.put(segment.substring(1, segment.length() - 1), value);
                } else if (!segment.equals(value)) {
                    return null;
                }
            }
            return new Match(this, path, parameters);
        }

        Route route(String method) {
            Route route = routesByMethod.get(method);
            return route != null ? route : routesByMethod.get(ANY);
        }

        TreeSet<String> allowedMethods() {
            return new TreeSet<>(routesByMethod.keySet());
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Encoding

    private static Map<String, List<String>> parseQuery(String rawQuery) {
        Map<String, List<String>> parameters = new LinkedHashMap<>();
        if (rawQuery == null) {
            return parameters;
        }
        for (String pair : rawQuery.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int equals = pair.indexOf('=');
            String name = decodeQueryPart(equals < 0 ? pair : pair.substring(0, equals));
            String value = equals < 0 ? "" : decodeQueryPart(pair.substring(equals + 1));
            parameters.computeIfAbsent(name, n -> new ArrayList<>()).add(value);
        }
        return parameters;
    }

    private static String decodeQueryPart(String raw) {
        try {
            return URLDecoder.decode(raw, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return raw;
        }
    }

    /** Percent-decoding without form decoding: a '+' in a path is a plus. */
    private static String decodePathSegment(String raw) {
        return decodeQueryPart(raw.replace("+", "%2B"));
    }

    private static Map<String, String> lastValues(Map<String, List<String>> multi) {
        if (multi.isEmpty()) {
            return null;
        }
        Map<String, String> last = new LinkedHashMap<>();
        multi.forEach((name, values) -> last.put(name, last(values)));
        return last;
    }

    private static String last(List<String> values) {
        return values == null || values.isEmpty() ? null : values.get(values.size() - 1);
    }

    static ThreadFactory daemonThreads(String prefix) {
        AtomicInteger count = new AtomicInteger();
        return runnable -> {
            Thread thread = new Thread(runnable, prefix + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }
}
