package dev.ferry.local;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * Webhooks end to end through HTTP on the local stack, to a real receiver on this machine: the
 * job table's stream runs the events function and the webhooks queue the delivery function, as
 * their event source mappings would in AWS. Each event a job's webhook chose arrives signed with
 * the deployment's secret; a failed delivery is retried with back-off, a refused one is not; a
 * completion never waits for a receiver; every attempt shows in {@code GET /jobs/{id}} and the
 * admin API, which can resend.
 */
class WebhookIT {

    private static final Duration FINISH = Duration.ofSeconds(60);
    private static LocalStack stack;
    private static Api api;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(1).workerSlots(2).build());
        Backends.assumeDynamoDbStreams(stack);
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    private static String submit(String input, String webhookUrl, String events) {
        Api.Response response = api.submit("{\"type\":\"sample\",\"input\":" + input + ",\"webhookUrl\":\""
                + webhookUrl + "\"" + (events == null ? "" : ",\"webhookEvents\":" + events) + "}");
        assertEquals(202, response.status(), response.body().toString());
        return response.jobId();
    }

    private static List<WebhookReceiver.Delivery> arrivals(WebhookReceiver receiver, String event, int count) {
        await().atMost(FINISH).pollInterval(Duration.ofMillis(100))
                .until(() -> receiver.of(event).size() >= count);
        return receiver.of(event);
    }

    /** The job's delivery attempts as {@code GET /jobs/{id}} shows them, once there are {@code count}. */
    private static JsonNode deliveries(String jobId, int count) {
        await().atMost(FINISH).pollInterval(Duration.ofMillis(100)).until(() ->
                api.get(jobId).body().path("webhook").path("deliveries").size() >= count);
        return api.get(jobId).body().get("webhook").get("deliveries");
    }

    /** The job's deliveries, once one of them is of {@code event}. */
    private static JsonNode deliveriesThrough(String jobId, String event) {
        await().atMost(FINISH).pollInterval(Duration.ofMillis(100)).until(() -> {
            for (JsonNode delivery : api.get(jobId).body().path("webhook").path("deliveries")) {
                if (event.equals(delivery.path("event").asText())) {
                    return true;
                }
            }
            return false;
        });
        return api.get(jobId).body().get("webhook").get("deliveries");
    }

    private JsonNode admin(String method, String path, int expected) {
        HttpRequest request = HttpRequest.newBuilder(stack.apiEndpoint().resolve("/admin/api/" + path))
                .method(method, HttpRequest.BodyPublishers.noBody())
                .header("Authorization", "Bearer " + stack.adminToken()).build();
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            assertEquals(expected, response.statusCode(), response.body());
            return Json.parse(response.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aCompletedJob_isDeliveredOnEachChosenEvent_signed_withTheJob() {
        try (WebhookReceiver receiver = new WebhookReceiver()) {
            String jobId = submit("{\"output\":\"hello\"}", receiver.url(), "[\"started\",\"completed\"]");

            WebhookReceiver.Delivery completed = arrivals(receiver, "completed", 1).get(0);
            WebhookReceiver.Delivery started = arrivals(receiver, "started", 1).get(0);

            for (WebhookReceiver.Delivery delivery : List.of(started, completed)) {
                assertTrue(delivery.verifies(stack.webhookSecret()), "the README's check passes: " + delivery);
                assertFalse(delivery.verifies("another-deployments-secret"), "and only with this deployment's secret");
                assertEquals("application/json", delivery.header("Content-Type"));
                assertEquals(jobId, Json.parse(delivery.body()).get("jobId").asText());
            }
            assertEquals(jobId + "-completed-2", completed.id(), "job, event and the record's version");
            assertEquals(jobId + "-started-1", started.id());
            JsonNode body = Json.parse(completed.body());
            assertEquals("SUCCEEDED", body.get("status").asText());
            assertEquals("hello", body.get("result").get("output").asText());
            assertEquals(receiver.url(), body.get("webhook").get("url").asText());

            JsonNode deliveries = deliveries(jobId, 2);
            for (JsonNode attempt : deliveries) {
                assertEquals("delivered", attempt.get("outcome").asText(), deliveries.toString());
                assertEquals(200, attempt.get("statusCode").asInt());
                assertEquals(1, attempt.get("attempt").asInt());
            }
            assertEquals(2, receiver.deliveries.size(), "one delivery per event, none twice: " + receiver.deliveries);
        }
    }

    @Test
    void aFailedJob_isDeliveredAsFailed_byDefault_withItsError() {
        try (WebhookReceiver receiver = new WebhookReceiver()) {
            String jobId = submit("{\"failTimes\":\"twice\"}", receiver.url(), null);

            WebhookReceiver.Delivery failed = arrivals(receiver, "failed", 1).get(0);

            JsonNode body = Json.parse(failed.body());
            assertEquals("FAILED", body.get("status").asText());
            assertTrue(body.get("error").asText().contains("failTimes"), body.toString());
            assertTrue(failed.verifies(stack.webhookSecret()));
            assertEquals(List.of("completed", "failed", "cancelled"), List.of(Json.MAPPER.convertValue(
                    body.get("webhook").get("events"), String[].class)), "the default events");
            deliveries(jobId, 1);
            assertEquals(1, receiver.deliveries.size(), "started was not chosen: " + receiver.deliveries);
        }
    }

    @Test
    void aDeliveryAnswered500_isRetriedWithBackOff_underTheSameId() {
        try (WebhookReceiver receiver = new WebhookReceiver().answer(500, 503)) {
            String jobId = submit("{\"output\":1}", receiver.url(), "[\"completed\"]");

            List<WebhookReceiver.Delivery> attempts = arrivals(receiver, "completed", 3);

            assertEquals(1, attempts.stream().map(WebhookReceiver.Delivery::id).distinct().count(),
                    "the same delivery: receivers deduplicate by it");
            assertNotEquals(attempts.get(0).header("Ferry-Webhook-Timestamp") + attempts.get(0).header(
                    "Ferry-Webhook-Signature"), attempts.get(2).header("Ferry-Webhook-Timestamp")
                    + attempts.get(2).header("Ferry-Webhook-Signature"), "each attempt signed anew");
            // Locally the back-off starts at 1 s and doubles, half of it fixed: at least 0.5 s, then 1 s.
            assertTrue(WebhookReceiver.between(attempts.get(0), attempts.get(1)).toMillis() >= 500,
                    attempts.toString());
            assertTrue(WebhookReceiver.between(attempts.get(1), attempts.get(2)).toMillis() >= 1_000,
                    attempts.toString());
            JsonNode deliveries = deliveries(jobId, 3);
            assertEquals(List.of("retrying", "retrying", "delivered"), outcomes(deliveries));
            assertEquals(List.of(500, 503, 200), List.of(deliveries.get(0).get("statusCode").asInt(),
                    deliveries.get(1).get("statusCode").asInt(), deliveries.get(2).get("statusCode").asInt()));
            assertEquals(List.of(1, 2, 3), List.of(deliveries.get(0).get("attempt").asInt(),
                    deliveries.get(1).get("attempt").asInt(), deliveries.get(2).get("attempt").asInt()));
        }
    }

    @Test
    void a4xx_isNotRetried_butTheJobsNextEventIsSent_while410StopsThemAll_untilAResend() {
        try (WebhookReceiver receiver = new WebhookReceiver().answer(400)) {
            String jobId = submit("{\"sleepMs\":300}", receiver.url(), "[\"started\",\"completed\"]");
            arrivals(receiver, "completed", 1);
            JsonNode deliveries = deliveries(jobId, 2);
            assertEquals(List.of("gave up", "delivered"), outcomes(deliveries), deliveries.toString());
            assertEquals(1, receiver.of("started").size(), "a 400 is not retried");
        }
        try (WebhookReceiver receiver = new WebhookReceiver().answer(410)) {
            String jobId = submit("{\"sleepMs\":300}", receiver.url(), "[\"started\",\"completed\"]");
            api.awaitStatus(jobId, "SUCCEEDED", FINISH);
            JsonNode deliveries = deliveriesThrough(jobId, "completed");
            // Normally [started: gave up, completed: skipped]. An attempt given back unrun (its slot's
            // handler died between jobs, which a loaded machine shows now and then) makes one more
            // "started" before the completion: skipped like every delivery after the 410.
            List<String> outcomes = outcomes(deliveries);
            assertEquals("gave up", outcomes.get(0), deliveries.toString());
            assertEquals(List.of("skipped"), outcomes.subList(1, outcomes.size()).stream().distinct().toList(),
                    deliveries.toString());
            assertEquals(1, receiver.deliveries.size(), "nothing after the 410");
            String completedId = java.util.stream.StreamSupport.stream(deliveries.spliterator(), false)
                    .filter(d -> d.get("event").asText().equals("completed")).findFirst().orElseThrow()
                    .get("id").asText();
            assertTrue(api.get(jobId).body().get("webhook").has("goneAt"));

            JsonNode resent = admin("POST", "jobs/" + jobId + "/webhook/resend", 202);

            assertEquals("completed", resent.get("event").asText(), "the latest event");
            WebhookReceiver.Delivery again = arrivals(receiver, "completed", 1).get(0);
            assertEquals(resent.get("deliveryId").asText(), again.id());
            assertTrue(again.id().startsWith(completedId + "-resend-"), again.id() + " resends " + completedId);
            assertTrue(again.verifies(stack.webhookSecret()));
            JsonNode view = admin("GET", "jobs/" + jobId + "/webhook", 200);
            await().atMost(FINISH).until(() -> !admin("GET", "jobs/" + jobId + "/webhook", 200).get("webhook")
                    .has("goneAt"));
            assertEquals(receiver.url(), view.get("webhook").get("url").asText());
        }
    }

    @Test
    void progress_isDelivered_whenTheRecordsProgressChanges() {
        try (WebhookReceiver receiver = new WebhookReceiver()) {
            // The sample handler reports its progress as it sleeps; the worker writes it to the record.
            String jobId = submit("{\"sleepMs\":5000}", receiver.url(), "[\"progress\"]");

            WebhookReceiver.Delivery progress = arrivals(receiver, "progress", 1).get(0);

            assertTrue(progress.id().startsWith(jobId + "-progress-1-"), progress.id());
            assertTrue(progress.verifies(stack.webhookSecret()));
            assertTrue(Json.parse(progress.body()).has("progress"), "the job as sent shows its progress: "
                    + progress.body());
            api.awaitStatus(jobId, "SUCCEEDED", FINISH);
            deliveries(jobId, 1);
            synchronized (receiver.deliveries) {
                assertTrue(receiver.deliveries.stream().allMatch(d -> d.event().equals("progress")),
                        "only progress was chosen: " + receiver.deliveries.stream()
                                .map(WebhookReceiver.Delivery::event).toList());
            }
        }
    }

    @Test
    void aJobCompletes_whileItsReceiverHoldsTheDeliveryUnanswered() {
        try (WebhookReceiver receiver = new WebhookReceiver().holdAll()) {
            String jobId = submit("{\"sleepMs\":1500,\"output\":\"not waiting\"}", receiver.url(),
                    "[\"started\",\"completed\"]");
            await().atMost(FINISH).until(() -> receiver.held() > 0);

            // The receiver holds its request for two minutes: a completion that waited for it could not be seen here.
            api.awaitStatus(jobId, "SUCCEEDED", FINISH);

            assertTrue(receiver.held() >= 1, "the job finished while its delivery was still unanswered");
            receiver.release();
            arrivals(receiver, "completed", 1);
        }
    }

    @Test
    void aJobCompletes_andItsDeliveryIsRetried_whenNoReceiverListens() throws IOException {
        int closed;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = socket.getLocalPort();
        }
        String jobId = submit("{\"output\":2}", "http://127.0.0.1:" + closed + "/gone", "[\"completed\"]");

        api.awaitStatus(jobId, "SUCCEEDED", FINISH);
        JsonNode deliveries = deliveries(jobId, 2);

        assertEquals("retrying", deliveries.get(0).get("outcome").asText());
        assertFalse(deliveries.get(0).has("statusCode"), "no answer came");
        assertTrue(deliveries.get(0).get("error").asText().startsWith("connection refused"), deliveries.toString());
    }

    @Test
    void aDiscardedJob_isDeliveredAsCancelled() {
        try (WebhookReceiver receiver = new WebhookReceiver()) {
            String jobId = submit("{\"failTimes\":\"twice\"}", receiver.url(), "[\"cancelled\"]");
            api.awaitStatus(jobId, "FAILED", FINISH);
            await().atMost(FINISH).until(() -> Queues.peekJobIds(stack.sqs(), stack.deadLetterQueueUrl())
                    .contains(jobId));

            admin("POST", "jobs/" + jobId + "/discard", 200);

            WebhookReceiver.Delivery cancelled = arrivals(receiver, "cancelled", 1).get(0);
            assertEquals("CANCELLED", Json.parse(cancelled.body()).get("status").asText());
            assertEquals(1, receiver.deliveries.size(), "failed was not chosen");
        }
    }

    @Test
    void aJobTheClientCancels_isDeliveredAsCancelled() {
        try (WebhookReceiver receiver = new WebhookReceiver()) {
            String jobId = submit("{\"sleepMs\":30000}", receiver.url(), null);
            api.awaitStatus(jobId, "RUNNING", FINISH);

            HttpRequest cancel = HttpRequest.newBuilder(stack.apiEndpoint().resolve("/jobs/" + jobId + "/cancel"))
                    .POST(HttpRequest.BodyPublishers.noBody()).build();
            try {
                assertEquals(202, http.send(cancel, HttpResponse.BodyHandlers.ofString()).statusCode(),
                        "a running job's cancel is asked of its worker");
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
            }

            WebhookReceiver.Delivery cancelled = arrivals(receiver, "cancelled", 1).get(0);
            assertEquals("CANCELLED", Json.parse(cancelled.body()).get("status").asText());
            assertTrue(cancelled.verifies(stack.webhookSecret()));
        }
    }

    private static List<String> outcomes(JsonNode deliveries) {
        return java.util.stream.StreamSupport.stream(deliveries.spliterator(), false)
                .map(d -> d.get("outcome").asText()).toList();
    }
}
