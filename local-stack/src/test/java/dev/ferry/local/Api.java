package dev.ferry.local;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

/** The job API over real HTTP, as a client would call it. */
final class Api {

    record Response(int status, JsonNode body, HttpResponse<String> raw) {
        String jobId() {
            return body.get("jobId").asText();
        }

        String error() {
            return body.get("error").asText();
        }
    }

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final URI endpoint;

    Api(URI endpoint) {
        this.endpoint = endpoint;
    }

    /** {@code method} on the stack's admin API ({@code /admin/api/<path>}), with its token. */
    static HttpResponse<String> admin(LocalStack stack, String method, String path) throws Exception {
        URI uri = stack.apiEndpoint().resolve("/admin/api/" + path);
        HttpRequest request = HttpRequest.newBuilder(uri).header("Authorization", "Bearer " + stack.adminToken())
                .method(method, HttpRequest.BodyPublishers.noBody()).build();
        return HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
    }

    Response submit(String body) {
        return submit(body, null);
    }

    Response submit(String body, String idempotencyKey) {
        return submit(body, idempotencyKey, java.util.Map.of());
    }

    /** {@code POST /jobs} with more headers ({@code Prefer}, say). */
    Response submit(String body, String idempotencyKey, java.util.Map<String, String> headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(endpoint.resolve("/jobs"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (idempotencyKey != null) {
            request.header("Idempotency-Key", idempotencyKey);
        }
        headers.forEach(request::header);
        return send(request.build());
    }

    /** {@code GET /jobs?<query>} ({@code query} as it goes on the wire, already encoded). */
    Response list(String query) {
        return send(HttpRequest.newBuilder(endpoint.resolve("/jobs" + (query.isEmpty() ? "" : "?" + query))).GET()
                .build());
    }

    /** {@code GET /jobs/{jobId}} with more headers; each value of {@code headers} is sent as a header of its own. */
    Response get(String jobId, java.util.List<String[]> headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(endpoint.resolve("/jobs/" + jobId)).GET();
        headers.forEach(header -> request.header(header[0], header[1]));
        return send(request.build());
    }

    /** {@code POST /jobs} with extra headers ({@code Cancel-After}, {@code Idempotency-Key}). */
    Response submitWith(String body, java.util.Map<String, String> headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(endpoint.resolve("/jobs"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        headers.forEach(request::header);
        return send(request.build());
    }

    /** {@code POST /jobs/{jobId}/cancel}, without a body, as {@code curl -X POST} sends it. */
    Response cancel(String jobId) {
        return send(HttpRequest.newBuilder(endpoint.resolve("/jobs/" + jobId + "/cancel"))
                .POST(HttpRequest.BodyPublishers.noBody()).build());
    }

    /** {@code POST /uploads}. */
    Response createUpload() {
        return send(HttpRequest.newBuilder(endpoint.resolve("/uploads")).POST(HttpRequest.BodyPublishers.noBody())
                .build());
    }

    /** Sends bytes to a presigned URL as a plain client would ({@code curl -T}); the status code. */
    int put(String url, byte[] bytes) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(url)).PUT(HttpRequest.BodyPublishers.ofByteArray(bytes))
                    .build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** A presigned URL's content, fetched without credentials; fails unless 200. */
    byte[] download(String url) {
        try {
            HttpResponse<byte[]> response = http.send(HttpRequest.newBuilder(URI.create(url)).GET().build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            if (response.statusCode() != 200) {
                throw new AssertionError("GET " + url + " answered " + response.statusCode() + ": "
                        + new String(response.body(), java.nio.charset.StandardCharsets.UTF_8));
            }
            return response.body();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    Response get(String jobId) {
        return send(HttpRequest.newBuilder(endpoint.resolve("/jobs/" + jobId)).GET().build());
    }

    /**
     * After a redrive: polls the job until it has left FAILED (its message moved back and claimed; a
     * move by Ferry itself, on a backend without move tasks, takes a moment), then as
     * {@link #awaitStatus} for {@code status}.
     */
    JsonNode awaitRedriven(String jobId, String status, Duration timeout) {
        await().atMost(timeout).pollInterval(Duration.ofMillis(100))
                .until(() -> !"FAILED".equals(get(jobId).body().get("status").asText()));
        return awaitStatus(jobId, status, timeout);
    }

    /** Polls the job until it reads {@code status}; fails fast if it reaches another final state. */
    JsonNode awaitStatus(String jobId, String status, Duration timeout) {
        AtomicReference<JsonNode> last = new AtomicReference<>();
        await().atMost(timeout).pollInterval(Duration.ofMillis(100)).until(() -> {
            JsonNode job = get(jobId).body();
            last.set(job);
            String now = job.get("status").asText();
            if (!now.equals(status) && (now.equals("SUCCEEDED") || now.equals("FAILED"))) {
                throw new AssertionError("job " + jobId + " reached " + now + " instead of " + status + ": " + job);
            }
            return now.equals(status);
        });
        return last.get();
    }

    private Response send(HttpRequest request) {
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            return new Response(response.statusCode(), Json.parse(response.body()), response);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
