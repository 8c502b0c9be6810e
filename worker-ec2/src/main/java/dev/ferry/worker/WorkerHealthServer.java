package dev.ferry.worker;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /health} on 127.0.0.1 for the machine's own supervisor or a person with curl: the
 * worker's snapshot (the heartbeat's content) as JSON, 200 while it takes or runs jobs, 503 when
 * {@link WorkerSnapshot#unhealthy} says why not (then with {@code "unhealthy": "<why>"}). Loopback
 * only: it tells which jobs run here, which is nobody else's business.
 */
public final class WorkerHealthServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(WorkerHealthServer.class);

    private final HttpServer server;
    private final Supplier<WorkerSnapshot> snapshots;
    private final Duration setupLimit;

    private WorkerHealthServer(HttpServer server, Supplier<WorkerSnapshot> snapshots, Duration setupLimit) {
        this.server = server;
        this.snapshots = snapshots;
        this.setupLimit = setupLimit;
    }

    /**
     * Serves on 127.0.0.1:{@code port} (0: any free port, for tests).
     *
     * @throws IllegalStateException the port is taken
     */
    public static WorkerHealthServer start(int port, Supplier<WorkerSnapshot> snapshots, Duration setupLimit) {
        Objects.requireNonNull(snapshots, "snapshots");
        Objects.requireNonNull(setupLimit, "setupLimit");
        HttpServer server;
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot serve the worker's health on 127.0.0.1:" + port + " (" + e
                    + "); set " + FleetSettings.HEALTH_PORT + " to a free port, or 0 to turn it off", e);
        }
        WorkerHealthServer health = new WorkerHealthServer(server, snapshots, setupLimit);
        server.createContext("/", health::handle);
        server.setExecutor(null); // the server's own thread: one snapshot is microseconds
        server.start();
        LOG.info("worker health on http://127.0.0.1:{}/health", health.port());
        return health;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            if (!path.equals("/health")) {
                send(exchange, 404, "{\"error\":\"no route " + path.replaceAll("[^A-Za-z0-9/_.-]", "") + "; use GET /health\"}");
                return;
            }
            if (!exchange.getRequestMethod().equals("GET") && !exchange.getRequestMethod().equals("HEAD")) {
                send(exchange, 405, "{\"error\":\"use GET /health\"}");
                return;
            }
            WorkerSnapshot snapshot = snapshots.get();
            Optional<String> unhealthy = snapshot.unhealthy(setupLimit);
            ObjectNode body = snapshot.toJson();
            body.put("healthy", unhealthy.isEmpty());
            unhealthy.ifPresent(why -> body.put("unhealthy", why));
            send(exchange, unhealthy.isEmpty() ? 200 : 503, body.toString());
        } catch (RuntimeException e) {
            LOG.warn("GET /health failed", e);
        }
    }

    private static void send(HttpExchange exchange, int status, String json) throws IOException {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
        if (!head) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
