package dev.ferry.local;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A webhook receiver, as a client would run one: a real HTTP server (the JDK's) on this machine
 * that answers each delivery with the next scripted status (200 once the script runs out), can
 * hold every request unanswered until released, and keeps what it received.
 */
final class WebhookReceiver implements AutoCloseable {

    /** One delivery as it arrived. */
    record Delivery(Instant arrived, Map<String, String> headers, String body) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        String id() {
            return header("Ferry-Webhook-Id");
        }

        String event() {
            return dev.ferry.core.Json.parse(body).get("event").asText();
        }

        /**
         * What the README tells a receiver to check: the signature over {@code id.timestamp.body}
         * with the deployment's secret, compared in constant time, and a timestamp within five
         * minutes of now.
         */
        boolean verifies(String secret) {
            String timestamp = header("Ferry-Webhook-Timestamp");
            if (Math.abs(Instant.now().getEpochSecond() - Long.parseLong(timestamp)) > 300) {
                return false;
            }
            try {
                Mac mac = Mac.getInstance("HmacSHA256");
                mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
                byte[] expected = ("v1=" + HexFormat.of().formatHex(mac.doFinal((id() + "." + timestamp + "." + body)
                        .getBytes(StandardCharsets.UTF_8)))).getBytes(StandardCharsets.UTF_8);
                return MessageDigest.isEqual(expected, header("Ferry-Webhook-Signature").getBytes(StandardCharsets.UTF_8));
            } catch (NoSuchAlgorithmException | InvalidKeyException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    final List<Delivery> deliveries = java.util.Collections.synchronizedList(new ArrayList<>());
    private final ConcurrentLinkedDeque<Integer> script = new ConcurrentLinkedDeque<>();
    private final HttpServer server;
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final AtomicInteger held = new AtomicInteger();
    private volatile CountDownLatch hold;

    WebhookReceiver() {
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.createContext("/", this::handle);
        server.setExecutor(threads);
        server.start();
    }

    /** Answers the next deliveries with these statuses, in order. */
    WebhookReceiver answer(int... statuses) {
        for (int status : statuses) {
            script.add(status);
        }
        return this;
    }

    /** Holds every request unanswered from now until {@link #release()}. */
    WebhookReceiver holdAll() {
        hold = new CountDownLatch(1);
        return this;
    }

    void release() {
        CountDownLatch latch = hold;
        hold = null;
        if (latch != null) {
            latch.countDown();
        }
    }

    /** Requests received and not answered yet. */
    int held() {
        return held.get();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/hooks/ferry";
    }

    List<Delivery> of(String event) {
        synchronized (deliveries) {
            return deliveries.stream().filter(d -> d.event().equals(event)).toList();
        }
    }

    private void handle(HttpExchange exchange) throws IOException {
        Map<String, String> headers = new TreeMap<>();
        exchange.getRequestHeaders().forEach((name, values) -> headers.put(name.toLowerCase(Locale.ROOT),
                values.get(0)));
        String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        deliveries.add(new Delivery(Instant.now(), headers, body));
        CountDownLatch latch = hold;
        if (latch != null) {
            held.incrementAndGet();
            try {
                latch.await(2, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                held.decrementAndGet();
            }
        }
        Integer status = script.poll();
        exchange.sendResponseHeaders(status == null ? 200 : status, -1);
        exchange.close();
    }

    @Override
    public void close() {
        release();
        server.stop(0);
        threads.shutdownNow();
    }

    static Duration between(Delivery first, Delivery second) {
        return Duration.between(first.arrived(), second.arrived());
    }
}
