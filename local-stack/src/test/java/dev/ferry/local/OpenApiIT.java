package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.atlassian.oai.validator.OpenApiInteractionValidator;
import com.atlassian.oai.validator.model.Request;
import com.atlassian.oai.validator.model.SimpleRequest;
import com.atlassian.oai.validator.model.SimpleResponse;
import com.atlassian.oai.validator.report.ValidationReport;
import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The running API against its description, {@code openapi/ferry.yaml}: every request this test
 * makes, and every answer, success or refusal, is checked by a validator library (Atlassian's
 * swagger-request-validator) against the operation it names. A response the description does not
 * allow (a field it does not list, a status it does not name, a wrong type) fails the test.
 */
class OpenApiIT {

    private static final Duration FINISH = Duration.ofSeconds(60);
    private static final Path SPEC = SamTemplate.find(Path.of("")).getParent().getParent().resolve("openapi/ferry.yaml");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static LocalStack stack;
    private static OpenApiInteractionValidator validator;
    private final List<String> failures = new ArrayList<>();

    @BeforeAll
    static void start() throws IOException {
        validator = OpenApiInteractionValidator.createForInlineApiSpecification(Files.readString(SPEC))
                .withBasePathOverride("/")
                .build();
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(1)
                .environmentOverrides(Map.of("FERRY_COMMAND_BIG",
                        "cat >/dev/null; printf '{\"big\":\"%150000s\"}' '' | tr ' ' a")).build());
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    /** One exchange, request and response checked against the description; the response body as JSON. */
    private JsonNode call(String method, String path, Map<String, String> headers, String body) {
        return call(method, path, headers, body, true);
    }

    /** A request the description does not allow, on purpose: only the refusal is checked. */
    private JsonNode refused(String method, String path, Map<String, String> headers, String body) {
        return call(method, path, headers, body, false);
    }

    private JsonNode call(String method, String path, Map<String, String> headers, String body, boolean valid) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(stack.apiEndpoint().resolve(path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        headers.forEach(builder::header);
        HttpResponse<String> response;
        try {
            response = HTTP.send(builder.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        int query = path.indexOf('?');
        String bare = query < 0 ? path : path.substring(0, query);
        SimpleRequest.Builder request = new SimpleRequest.Builder(Request.Method.valueOf(method), bare);
        if (query >= 0) {
            for (String pair : path.substring(query + 1).split("&")) {
                int eq = pair.indexOf('=');
                request.withQueryParam(decode(eq < 0 ? pair : pair.substring(0, eq)), eq < 0 ? "" : decode(pair.substring(eq + 1)));
            }
        }
        headers.forEach(request::withHeader);
        if (body != null) {
            request.withBody(body);
        }
        SimpleResponse.Builder answer = SimpleResponse.Builder.status(response.statusCode()).withBody(response.body());
        response.headers().map().forEach((name, values) -> answer.withHeader(name, values));
        ValidationReport report = valid ? validator.validate(request.build(), answer.build())
                : validator.validateResponse(bare, Request.Method.valueOf(method), answer.build());
        if (!valid && response.statusCode() < 400) {
            failures.add(method + " " + path + " was accepted (" + response.statusCode() + "), though the description"
                    + " refuses it");
        }
        if (report.hasErrors()) {
            failures.add(method + " " + path + " → " + response.statusCode() + ": " + report.getMessages()
                    + "\n  body: " + abbreviate(response.body()));
        }
        return Json.parse(response.body());
    }

    private static String decode(String text) {
        return java.net.URLDecoder.decode(text, java.nio.charset.StandardCharsets.UTF_8);
    }

    private static String encode(String text) {
        return java.net.URLEncoder.encode(text, java.nio.charset.StandardCharsets.UTF_8);
    }

        private static String abbreviate(String text) {
        return text.length() <= 600 ? text : text.substring(0, 600) + "…";
    }

    private static Map<String, String> json() {
        return Map.of("Content-Type", "application/json");
    }

    @Test
    void everyExchange_matchesTheDescription_successesAndRefusals() throws Exception {
        // Jobs: accepted, replayed, refused for each reason; read queued and finished.
        JsonNode accepted = call("POST", "/jobs", Map.of("Content-Type", "application/json", "Idempotency-Key", "oa-1"),
                "{\"type\":\"sample\",\"input\":{\"failTimes\":1,\"image\":{\"width\":8,\"height\":8}}}");
        String jobId = accepted.get("jobId").asText();
        call("POST", "/jobs", Map.of("Content-Type", "application/json", "Idempotency-Key", "oa-1"),
                "{\"type\":\"sample\",\"input\":{\"failTimes\":1,\"image\":{\"width\":8,\"height\":8}}}");
        call("POST", "/jobs", Map.of("Content-Type", "application/json", "Idempotency-Key", "oa-1"),
                "{\"type\":\"sample\",\"input\":{}}");
        refused("POST", "/jobs", json(), "{\"type\":\"no spaces allowed\"}");
        call("POST", "/jobs", json(), "{\"type\":\"sample\",\"input\":\"\\uFFFF\"}");
        refused("POST", "/jobs", json(), "not json");
        refused("POST", "/jobs", Map.of("Content-Type", "text/plain"), "{\"type\":\"sample\"}");
        call("POST", "/jobs", json(), "{\"type\":\"sample\",\"input\":\"" + "x".repeat(300_000) + "\"}");
        call("GET", "/jobs/" + jobId, Map.of(), null);
        call("GET", "/jobs/01KAS0000000000000000NOSUCH", Map.of(), null);
        call("GET", "/jobs/not-an-id", Map.of(), null);

        // Uploads, a file input, and a result stored by reference.
        JsonNode upload = call("POST", "/uploads", Map.of(), null);
        assertEquals(200, HTTP.send(HttpRequest.newBuilder(URI.create(upload.get("url").asText()))
                .PUT(HttpRequest.BodyPublishers.ofString("bytes")).build(), HttpResponse.BodyHandlers.discarding())
                .statusCode());
        String withFile = call("POST", "/jobs", json(), "{\"type\":\"sample\",\"input\":{\"output\":{\"$file\":\""
                + upload.get("uploadId").asText() + "\"}}}").get("jobId").asText();
        call("POST", "/jobs", json(), "{\"type\":\"sample\",\"input\":{\"$file\":\"up_01KAS0000000000000000NOSUCH\"}}");
        String big = call("POST", "/jobs", json(), "{\"type\":\"big\"}").get("jobId").asText();

        Api api = new Api(stack.apiEndpoint());
        api.awaitStatus(jobId, "SUCCEEDED", FINISH);
        api.awaitStatus(withFile, "SUCCEEDED", FINISH);
        api.awaitStatus(big, "SUCCEEDED", FINISH);
        JsonNode finished = call("GET", "/jobs/" + jobId, Map.of(), null);
        assertTrue(finished.has("files") && finished.has("history"), finished.toString());
        call("GET", "/jobs/" + withFile, Map.of(), null);
        assertTrue(call("GET", "/jobs/" + big, Map.of(), null).has("resultUrl"));

        assertEquals(List.of(), failures, String.join("\n", failures));
    }

    @Test
    void listingAndWaiting_matchTheDescription() {
        // Waiting: a submit answered finished, a read answered at once, an invalid wait under handling=strict.
        JsonNode waited = call("POST", "/jobs", Map.of("Content-Type", "application/json", "Prefer", "wait=50"),
                "{\"type\":\"sample\",\"input\":{\"output\":\"oa-wait\"}}");
        assertEquals("SUCCEEDED", waited.get("status").asText(), waited.toString());
        String jobId = waited.get("jobId").asText();
        call("GET", "/jobs/" + jobId, Map.of("Prefer", "wait=5"), null);
        call("GET", "/jobs/" + jobId, Map.of("Prefer", "handling=strict, wait=soon"), null);
        call("POST", "/jobs", Map.of("Content-Type", "application/json", "Prefer", "handling=strict, wait=0"),
                "{\"type\":\"sample\"}");

        // Listing: pages followed by their cursors, filters, and each refusal.
        call("POST", "/jobs", json(), "{\"type\":\"sample\",\"input\":{\"output\":\"oa-list\"}}");
        JsonNode first = call("GET", "/jobs?limit=1", Map.of(), null);
        assertEquals(1, first.get("jobs").size(), first.toString());
        call("GET", "/jobs?limit=1&cursor=" + encode(first.get("nextCursor").asText()), Map.of(), null);
        JsonNode filtered = call("GET", "/jobs?status=SUCCEEDED&type=sample&limit=100", Map.of(), null);
        assertTrue(filtered.toString().contains(jobId), filtered.toString());
        call("GET", "/jobs?type=sample", Map.of(), null);
        call("GET", "/jobs?cursor=" + encode(first.get("nextCursor").asText() + "x"), Map.of(), null);
        refused("GET", "/jobs?status=DONE", Map.of(), null);
        refused("GET", "/jobs?limit=0", Map.of(), null);
        refused("GET", "/jobs?limit=101", Map.of(), null);

        assertEquals(List.of(), failures, String.join("\n", failures));
    }

    @Test
    void cancelDeadlinesAndProgress_matchTheDescription() {
        // Deadlines on submit: a header, a field, and each refusal.
        String first = call("POST", "/jobs", Map.of("Content-Type", "application/json", "Cancel-After", "10m"),
                "{\"type\":\"sample\",\"input\":{\"sleepMs\":600000}}").get("jobId").asText();
        String second = call("POST", "/jobs", json(), "{\"type\":\"sample\",\"input\":{\"sleepMs\":600000},"
                + "\"deadline\":\"" + Instant.now().plus(Duration.ofHours(1)) + "\"}").get("jobId").asText();
        refused("POST", "/jobs", Map.of("Content-Type", "application/json", "Cancel-After", "soon"),
                "{\"type\":\"sample\"}");
        refused("POST", "/jobs", json(), "{\"type\":\"sample\",\"deadline\":\"tomorrow\"}");
        call("POST", "/jobs", json(), "{\"type\":\"sample\",\"deadline\":\"2020-01-01T00:00:00Z\"}");
        call("POST", "/jobs", Map.of("Content-Type", "application/json", "Cancel-After", "5m"),
                "{\"type\":\"sample\",\"deadline\":\"" + Instant.now().plus(Duration.ofHours(1)) + "\"}");

        // Both slots busy with jobs that report progress: a third waits, and is cancelled at once.
        Api api = new Api(stack.apiEndpoint());
        awaitProgress(api, first);
        awaitProgress(api, second);
        assertTrue(call("GET", "/jobs/" + first, Map.of(), null).has("progress"));
        String waiting = call("POST", "/jobs", json(), "{\"type\":\"sample\",\"input\":{}}").get("jobId").asText();
        assertEquals("CANCELLED", call("POST", "/jobs/" + waiting + "/cancel", Map.of(), null).get("status").asText());
        call("POST", "/jobs/" + waiting + "/cancel", Map.of(), null);

        // Running jobs: 202 while their workers stop them, then CANCELLED with a cancelled attempt.
        assertTrue(call("POST", "/jobs/" + first + "/cancel", Map.of(), null).get("cancelRequested").asBoolean());
        call("POST", "/jobs/" + second + "/cancel", Map.of(), null);
        api.awaitStatus(first, "CANCELLED", FINISH);
        api.awaitStatus(second, "CANCELLED", FINISH);
        JsonNode cancelled = call("GET", "/jobs/" + first, Map.of(), null);
        assertEquals("cancelled", cancelled.get("history").get(0).get("outcome").asText(), cancelled.toString());
        call("POST", "/jobs/" + first + "/cancel", Map.of(), null);

        // A finished job is a 409, an unknown one a 404.
        String done = call("POST", "/jobs", json(), "{\"type\":\"sample\",\"input\":{}}").get("jobId").asText();
        api.awaitStatus(done, "SUCCEEDED", FINISH);
        assertTrue(call("POST", "/jobs/" + done + "/cancel", Map.of(), null).get("error").asText().contains("SUCCEEDED"));
        call("POST", "/jobs/01KAS0000000000000000NOSUCH/cancel", Map.of(), null);

        assertEquals(List.of(), failures, String.join("\n", failures));
    }

    @Test
    void webhookExchanges_matchTheDescription_submitJobAndAdmin() {
        Backends.assumeDynamoDbStreams(stack);
        Map<String, String> admin = Map.of("Authorization", "Bearer " + stack.adminToken());
        try (WebhookReceiver receiver = new WebhookReceiver()) {
            String jobId = call("POST", "/jobs", json(), "{\"type\":\"sample\",\"input\":{},\"webhookUrl\":\""
                    + receiver.url() + "\",\"webhookEvents\":[\"started\",\"completed\"]}").get("jobId").asText();
            call("POST", "/jobs", json(), "{\"type\":\"sample\",\"webhookUrl\":\"ftp://example.com/hook\"}");
            call("POST", "/jobs", json(), "{\"type\":\"sample\",\"webhookUrl\":\"https://user:pw@example.com/h\"}");
            refused("POST", "/jobs", json(), "{\"type\":\"sample\",\"webhookUrl\":\"https://example.com/h\","
                    + "\"webhookEvents\":[\"finished\"]}");
            refused("POST", "/jobs", json(), "{\"type\":\"sample\",\"webhookUrl\":\"https://example.com/"
                    + "x".repeat(2100) + "\"}");
            call("GET", "/admin/api/jobs/" + jobId + "/webhook", admin, null);

            org.awaitility.Awaitility.await().atMost(FINISH).until(() -> new Api(stack.apiEndpoint()).get(jobId)
                    .body().path("webhook").path("deliveries").size() == 2);
            assertEquals(2, call("GET", "/jobs/" + jobId, Map.of(), null).get("webhook").get("deliveries").size());
            assertEquals("completed", call("GET", "/admin/api/jobs/" + jobId + "/webhook", admin, null)
                    .get("latestEvent").get("event").asText());
            call("POST", "/admin/api/jobs/" + jobId + "/webhook/resend", admin, null);
            call("POST", "/admin/api/jobs/01KAS0000000000000000NOSUCH/webhook/resend", admin, null);
            String withoutHook = call("POST", "/jobs", json(), "{\"type\":\"sample\"}").get("jobId").asText();
            call("GET", "/admin/api/jobs/" + withoutHook + "/webhook", admin, null);
            refused("GET", "/admin/api/jobs/" + jobId + "/webhook", Map.of(), null);
        }
        assertEquals(List.of(), failures, String.join("\n", failures));
    }

    @Test
    void adminApi_matchesTheDescription_successesAndRefusals() {
        String unknown = "01KAS0000000000000000000AB"; // well-formed, no such job
        Map<String, String> admin = Map.of("Authorization", "Bearer " + stack.adminToken());
        Map<String, String> adminJson = Map.of("Authorization", "Bearer " + stack.adminToken(),
                "Content-Type", "application/json");
        Api api = new Api(stack.apiEndpoint());
        String retried = call("POST", "/jobs", json(), "{\"type\":\"sample\",\"input\":{\"failTimes\":5}}")
                .get("jobId").asText();
        String discarded = call("POST", "/jobs", json(), "{\"type\":\"sample\",\"input\":{\"failTimes\":5}}")
                .get("jobId").asText();
        String done = call("POST", "/jobs", json(), "{\"type\":\"sample\",\"input\":{}}").get("jobId").asText();
        api.awaitStatus(retried, "FAILED", FINISH);
        api.awaitStatus(discarded, "FAILED", FINISH);
        api.awaitStatus(done, "SUCCEEDED", FINISH);

        // Reads: the page, the overview, listings with their cursors and filters, one job.
        assertEquals(200, HTTP.sendAsync(HttpRequest.newBuilder(stack.apiEndpoint().resolve("/admin")).build(),
                HttpResponse.BodyHandlers.discarding()).join().statusCode());
        JsonNode overview = call("GET", "/admin/api/overview", admin, null);
        assertTrue(overview.get("failedJobs").toString().contains(retried), overview.toString());
        JsonNode first = call("GET", "/admin/api/jobs?limit=1", admin, null);
        assertEquals(1, first.get("jobs").size(), first.toString());
        call("GET", "/admin/api/jobs?limit=1&cursor=" + encode(first.get("nextCursor").asText()), admin, null);
        JsonNode failed = call("GET", "/admin/api/jobs?status=FAILED&type=sample&limit=100", admin, null);
        assertTrue(failed.toString().contains(discarded), failed.toString());
        call("GET", "/admin/api/jobs?cursor=" + encode(first.get("nextCursor").asText() + "x"), admin, null);
        refused("GET", "/admin/api/jobs?status=DONE", admin, null);
        refused("GET", "/admin/api/jobs?limit=0", admin, null);
        JsonNode history = call("GET", "/admin/api/history?window=1h", admin, null);
        assertEquals(60, history.get("t").size(), history.toString());
        call("GET", "/admin/api/history?window=24h&type=sample", admin, null);
        call("GET", "/admin/api/history", admin, null);
        refused("GET", "/admin/api/history?window=2h", admin, null);
        refused("GET", "/admin/api/history?type=" + encode("no spaces"), admin, null);
        JsonNode one = call("GET", "/admin/api/jobs/" + retried, admin, null);
        assertEquals("FAILED", one.get("status").asText(), one.toString());
        assertTrue(one.has("input") && one.has("redrives"), one.toString());
        call("GET", "/admin/api/jobs/" + done, admin, null);
        call("GET", "/admin/api/jobs/" + unknown, admin, null);
        call("GET", "/admin/api/jobs/not-an-id", admin, null);

        // Actions on one job: retry and discard a failed one; a finished one and an unknown one refused.
        JsonNode retry = call("POST", "/admin/api/jobs/" + retried + "/retry", admin, null);
        assertEquals(retried, retry.get("retried").get(0).asText(), retry.toString());
        assertTrue(call("POST", "/admin/api/jobs/" + done + "/retry", admin, null).get("error").asText()
                .contains("SUCCEEDED"));
        assertTrue(call("POST", "/admin/api/jobs/" + unknown + "/retry", admin, null).get("error").asText()
                .contains("no such job"));
        call("POST", "/admin/api/jobs/not-an-id/retry", admin, null);
        JsonNode discard = call("POST", "/admin/api/jobs/" + discarded + "/discard", admin, null);
        assertEquals("CANCELLED", discard.get("status").asText(), discard.toString());
        call("POST", "/admin/api/jobs/" + discarded + "/discard", admin, null); // twice: not an error
        call("POST", "/admin/api/jobs/" + done + "/discard", admin, null);
        call("POST", "/admin/api/jobs/" + unknown + "/discard", admin, null);

        // Redrive: a selection (each skipped job says why), refusals of its body, the whole DLQ, its progress, cancel.
        JsonNode selection = call("POST", "/admin/api/redrive", adminJson,
                "{\"jobIds\":[\"" + done + "\",\"" + unknown + "\"]}");
        assertEquals(2, selection.path("skipped").size(), selection.toString());
        call("POST", "/admin/api/redrive", adminJson, "{\"jobIds\":[\"not-an-id\"]}");
        refused("POST", "/admin/api/redrive", adminJson, "{\"jobIds\":[]}");
        refused("POST", "/admin/api/redrive", adminJson, "{\"ids\":[\"" + done + "\"]}");
        call("GET", "/admin/api/redrive", admin, null);
        call("POST", "/admin/api/redrive", admin, null);
        call("GET", "/admin/api/redrive", admin, null);
        call("DELETE", "/admin/api/redrive", admin, null);
        call("GET", "/admin/api/overview", admin, null);

        // The fleet (the local worker's heartbeat) and the API's health.
        JsonNode fleet = call("GET", "/admin/api/fleet", admin, null);
        assertTrue(fleet.get("workers").toString().contains("local-1"), fleet.toString());
        JsonNode health = call("GET", "/health", Map.of(), null);
        assertEquals("ok", health.get("status").asText(), health.toString());
        refused("GET", "/admin/api/fleet", Map.of(), null);

        // Without the token, every route is a 401.
        refused("GET", "/admin/api/overview", Map.of(), null);
        refused("GET", "/admin/api/jobs", Map.of(), null);
        refused("GET", "/admin/api/jobs/" + retried, Map.of(), null);
        refused("POST", "/admin/api/jobs/" + retried + "/retry", Map.of(), null);
        refused("POST", "/admin/api/jobs/" + retried + "/discard", Map.of(), null);
        refused("POST", "/admin/api/redrive", Map.of(), null);
        refused("GET", "/admin/api/redrive", Map.of(), null);
        refused("DELETE", "/admin/api/redrive", Map.of(), null);
        refused("GET", "/admin/api/overview", Map.of("Authorization", "Bearer not-the-admin-token"), null);

        assertEquals(List.of(), failures, String.join("\n", failures));
    }

    private static void awaitProgress(Api api, String jobId) {
        org.awaitility.Awaitility.await().atMost(FINISH).until(() -> {
            JsonNode job = api.get(jobId).body();
            assertFalse(job.get("status").asText().equals("CANCELLED"), job.toString());
            return job.get("status").asText().equals("RUNNING") && job.has("progress");
        });
    }

    @Test
    void theValidator_refusesWhatTheDescriptionDoesNotAllow() {
        SimpleRequest request = SimpleRequest.Builder.get("/jobs/01KAS0000000000000000000000").build();
        ValidationReport extraField = validator.validate(request, SimpleResponse.Builder.ok()
                .withContentType("application/json")
                .withBody("{\"jobId\":\"j\",\"type\":\"t\",\"status\":\"QUEUED\",\"attempts\":0,\"createdAt\":"
                        + "\"2026-12-01T00:00:00Z\",\"updatedAt\":\"2026-12-01T00:00:00Z\",\"leaseOwner\":\"w1\"}").build());
        ValidationReport badStatus = validator.validate(request, SimpleResponse.Builder.ok()
                .withContentType("application/json")
                .withBody("{\"jobId\":\"j\",\"type\":\"t\",\"status\":\"DONE\",\"attempts\":0,\"createdAt\":"
                        + "\"2026-12-01T00:00:00Z\",\"updatedAt\":\"2026-12-01T00:00:00Z\"}").build());
        ValidationReport undeclared = validator.validate(request, SimpleResponse.Builder.status(418)
                .withContentType("application/json").withBody("{\"error\":\"teapot\"}").build());

        assertTrue(extraField.hasErrors(), "a lease internal the API must not show");
        assertTrue(badStatus.hasErrors(), "a status the description does not name");
        assertTrue(undeclared.hasErrors(), "a response code the description does not name");
        assertFalse(validator.validate(request, SimpleResponse.Builder.ok().withContentType("application/json")
                .withBody("{\"jobId\":\"j\",\"type\":\"t\",\"status\":\"QUEUED\",\"attempts\":0,\"createdAt\":"
                        + "\"2026-12-01T00:00:00Z\",\"updatedAt\":\"2026-12-01T00:00:00Z\"}").build()).hasErrors());
    }
}
