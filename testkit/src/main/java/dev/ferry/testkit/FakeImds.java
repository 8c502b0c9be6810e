package dev.ferry.testkit;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A stand-in for the EC2 instance metadata service (IMDSv2) on loopback, for one worker: a session
 * token from {@code PUT /latest/api/token}, then reads that must carry it (401 without). It
 * answers the three paths a Ferry worker watches, each 404 until a test or the chaos soak sets
 * it: {@code spot/instance-action}, {@code events/recommendations/rebalance} and
 * {@code autoscaling/target-lifecycle-state}.
 */
public final class FakeImds implements AutoCloseable {

    static final String TOKEN_PATH = "/latest/api/token";
    static final String TOKEN_TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds";
    static final String TOKEN_HEADER = "X-aws-ec2-metadata-token";
    static final String SPOT_PATH = "/latest/meta-data/spot/instance-action";
    static final String REBALANCE_PATH = "/latest/meta-data/events/recommendations/rebalance";
    static final String LIFECYCLE_PATH = "/latest/meta-data/autoscaling/target-lifecycle-state";

    private final HttpServer server;
    private final Set<String> tokens = ConcurrentHashMap.newKeySet();
    private final AtomicInteger tokenRequests = new AtomicInteger();
    private final AtomicInteger reads = new AtomicInteger();
    private volatile String instanceAction;
    private volatile String rebalance;
    private volatile String lifecycleState;

    private FakeImds(HttpServer server) {
        this.server = server;
    }

    /** Starts one on a free loopback port. */
    public static FakeImds start() {
        try {
            HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            FakeImds imds = new FakeImds(server);
            server.createContext("/", imds::handle);
            server.setExecutor(Executors.newSingleThreadExecutor(runnable -> {
                Thread thread = new Thread(runnable, "fake-imds");
                thread.setDaemon(true);
                return thread;
            }));
            server.start();
            return imds;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the fake metadata service", e);
        }
    }

    /** What {@code AWS_EC2_METADATA_SERVICE_ENDPOINT} is set to. */
    public URI endpoint() {
        return URI.create("http://" + server.getAddress().getAddress().getHostAddress() + ":"
                + server.getAddress().getPort());
    }

    /** A Spot interruption notice: {@code {"action": action, "time": time}}. */
    public FakeImds spotInterruption(String action, Instant time) {
        instanceAction = "{\"action\": \"" + action + "\", \"time\": \"" + time + "\"}";
        return this;
    }

    /** A rebalance recommendation noticed at {@code time}. */
    public FakeImds rebalanceRecommendation(Instant time) {
        rebalance = "{\"noticeTime\": \"" + time + "\"}";
        return this;
    }

    /** The Auto Scaling group's target lifecycle state ({@code InService}, {@code Terminated}); null: not in a group (404). */
    public FakeImds lifecycleState(String state) {
        lifecycleState = state;
        return this;
    }

    /** Session tokens handed out. */
    public int tokenRequests() {
        return tokenRequests.get();
    }

    /** Metadata reads answered (with a valid token), of any outcome. */
    public int reads() {
        return reads.get();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            if (path.equals(TOKEN_PATH)) {
                if (!exchange.getRequestMethod().equals("PUT")
                        || exchange.getRequestHeaders().getFirst(TOKEN_TTL_HEADER) == null) {
                    respond(exchange, 400, "token: PUT with " + TOKEN_TTL_HEADER);
                    return;
                }
                String token = UUID.randomUUID().toString();
                tokens.add(token);
                tokenRequests.incrementAndGet();
                exchange.getResponseHeaders().add(TOKEN_TTL_HEADER,
                        exchange.getRequestHeaders().getFirst(TOKEN_TTL_HEADER));
                respond(exchange, 200, token);
                return;
            }
            String token = exchange.getRequestHeaders().getFirst(TOKEN_HEADER);
            if (token == null || !tokens.contains(token)) {
                respond(exchange, 401, "");
                return;
            }
            reads.incrementAndGet();
            String body = switch (path) {
                case SPOT_PATH -> instanceAction;
                case REBALANCE_PATH -> rebalance;
                case LIFECYCLE_PATH -> lifecycleState;
                default -> null;
            };
            if (body == null) {
                respond(exchange, 404, "");
            } else {
                respond(exchange, 200, body);
            }
        }
    }

    private static void respond(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "text/plain");
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            exchange.getResponseBody().write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
    }
}
