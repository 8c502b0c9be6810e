package dev.ferry.worker;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.ferry.core.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a Cog server calls back on while it runs a job, served by the worker on the loopback
 * interface: its webhooks (the prediction's logs and metrics as they grow) and the job's large
 * input files. Every path starts with a random token, so nothing else on the machine can feed a
 * job's log or read its inputs by guessing.
 *
 * <pre>
 * POST /&lt;token&gt;/webhook/&lt;prediction id&gt;   a Cog webhook: the prediction object
 * GET  /&lt;token&gt;/files/&lt;n&gt;/&lt;name&gt;          an input file, while its job runs
 * </pre>
 */
final class CallbackServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(CallbackServer.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    /** What a webhook said of its prediction (its output is skipped: the response carries it). */
    record Webhook(String status, String logs, JsonNode metrics) {
    }

    private final HttpServer server;
    private final ExecutorService threads;
    private final String token;
    private final Map<String, Consumer<Webhook>> webhooks = new ConcurrentHashMap<>();
    private final Map<String, Path> files = new ConcurrentHashMap<>();
    private final AtomicLong fileCount = new AtomicLong();

    private CallbackServer(HttpServer server, ExecutorService threads, String token) {
        this.server = server;
        this.threads = threads;
        this.token = token;
    }

    /** Starts one on an ephemeral port of the loopback interface. */
    static CallbackServer start(String name) throws IOException {
        byte[] random = new byte[16];
        RANDOM.nextBytes(random);
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        ExecutorService threads = Executors.newFixedThreadPool(2, task -> {
            Thread thread = new Thread(task, "ferry-callbacks-" + name);
            thread.setDaemon(true);
            return thread;
        });
        CallbackServer callbacks = new CallbackServer(server, threads, HexFormat.of().formatHex(random));
        server.createContext("/", callbacks::handle);
        server.setExecutor(threads);
        server.start();
        return callbacks;
    }

    /** The URL a Cog server posts a prediction's webhooks to. */
    String webhookUrl(String predictionId) {
        return base() + "/webhook/" + encode(predictionId);
    }

    /** Sends the webhooks of {@code predictionId} to {@code sink} until {@link #forget}. */
    void follow(String predictionId, Consumer<Webhook> sink) {
        webhooks.put(predictionId, sink);
    }

    void forget(String predictionId) {
        webhooks.remove(predictionId);
    }

    /** Serves {@code file} until {@link #unserve}; returns its URL, which ends in the file's name. */
    String serve(Path file) {
        String key = Long.toString(fileCount.incrementAndGet());
        files.put(key, file);
        return base() + "/files/" + key + "/" + encode(file.getFileName().toString());
    }

    /** Stops serving the file at {@code url}. */
    void unserve(String url) {
        String rest = url.substring((base() + "/files/").length());
        files.remove(rest.substring(0, rest.indexOf('/')));
    }

    private String base() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/" + token;
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String[] parts = exchange.getRequestURI().getRawPath().split("/", 5);
            // "", token, "webhook" | "files", id, [name]
            if (parts.length < 4 || !parts[1].equals(token)) {
                exchange.sendResponseHeaders(404, -1);
                return;
            }
            if (parts[2].equals("webhook") && exchange.getRequestMethod().equals("POST")) {
                Consumer<Webhook> sink = webhooks.get(java.net.URLDecoder.decode(parts[3], StandardCharsets.UTF_8));
                Webhook webhook;
                try (InputStream body = exchange.getRequestBody()) {
                    webhook = read(body);
                } catch (IOException | RuntimeException e) {
                    LOG.debug("a webhook that could not be read: {}", e.toString());
                    exchange.sendResponseHeaders(400, -1);
                    return;
                }
                if (sink != null) {
                    sink.accept(webhook);
                }
                // A prediction no one follows any more has ended: 200 all the same, so Cog does not retry.
                exchange.sendResponseHeaders(200, -1);
            } else if (parts[2].equals("files") && exchange.getRequestMethod().equals("GET")) {
                Path file = files.get(parts[3]);
                if (file == null || !Files.isRegularFile(file)) {
                    exchange.sendResponseHeaders(404, -1);
                    return;
                }
                exchange.getResponseHeaders().set("Content-Type", DataUrls.mediaType(file));
                exchange.sendResponseHeaders(200, Files.size(file));
                try (OutputStream out = exchange.getResponseBody()) {
                    Files.copy(file, out);
                }
            } else {
                exchange.sendResponseHeaders(405, -1);
            }
        }
    }

    /** Reads the fields a webhook is for, skipping its output (data URLs can be large). */
    static Webhook read(InputStream body) throws IOException {
        String status = null;
        String logs = null;
        JsonNode metrics = null;
        try (JsonParser parser = Json.MAPPER.getFactory().createParser(body)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException("a webhook is a JSON object");
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String field = parser.currentName();
                JsonToken value = parser.nextToken();
                switch (field) {
                    case "status" -> status = value == JsonToken.VALUE_STRING ? parser.getText() : null;
                    case "logs" -> logs = value == JsonToken.VALUE_STRING ? parser.getText() : null;
                    case "metrics" -> metrics = Json.MAPPER.readTree(parser);
                    default -> parser.skipChildren();
                }
            }
        }
        return new Webhook(status, logs, metrics);
    }

    private static String encode(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8).replace("+", "%20");
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }
}
