package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import com.amazonaws.services.lambda.runtime.tests.EventLoader;
import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Job;
import dev.ferry.core.JobStatus;
import dev.ferry.core.Json;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A job's webhook in {@code GET /jobs/{id}}, and the admin API's view of it and its Resend. */
class WebhookViewsTest {

    private static final String JOB_ID = "01JD3N3Y3ZX2W0K7Q8M9P4R5S6";
    private static final String TOKEN = "s3cr3t-admin-token-0123456789";
    private static final Instant NOW = Instant.parse("2026-11-22T10:00:00Z");

    private final InMemoryJobStore jobs = new InMemoryJobStore();
    private final DeliveriesTable table = new DeliveriesTable();
    private final WebhookDeliveryStore deliveries = new WebhookDeliveryStore(table, "deliveries", Duration.ofDays(30),
            Clock.fixed(NOW, ZoneOffset.UTC));
    private final RecordingSqs sqs = new RecordingSqs(new ArrayList<>());
    private final GetJobHandler get = new GetJobHandler(jobs, Optional.empty(),
            new QueueEstimator(new InMemoryJobQueries(jobs), java.util.OptionalInt::empty, Clock.systemUTC()),
            new JobWaiter(new InMemoryJobQueries(jobs)::statuses), 25, Optional.of(deliveries));
    private final AdminHandler admin = new AdminHandler(
            AdminServices.of(sqs, jobs),
            new AdminToken(TOKEN), Optional.of(new WebhookAdmin(jobs, deliveries,
                    new WebhookQueue(sqs, "https://sqs/webhooks"), Clock.fixed(NOW.plusSeconds(60), ZoneOffset.UTC))));

    private void job(String webhookUrl) {
        jobs.jobs.put(JOB_ID, Job.builder().jobId(JOB_ID).type("sdxl").input("{}").status(JobStatus.SUCCEEDED)
                .attempts(1).version(2L).createdAt(NOW).updatedAt(NOW).webhookUrl(webhookUrl)
                .webhookEvents(webhookUrl == null ? null : List.of("completed")).build());
    }

    private void delivered() {
        deliveries.update(JOB_ID, d -> d.with(new WebhookDeliveries.Attempt(JOB_ID + "-completed-2", "completed", 1,
                NOW, 503, 41, WebhookDeliveries.RETRYING, "HTTP 503; next attempt at ..."),
                new WebhookDeliveries.Event(JOB_ID + "-completed-2", "completed", 2, NOW), false));
        deliveries.update(JOB_ID, d -> d.with(new WebhookDeliveries.Attempt(JOB_ID + "-completed-2", "completed", 2,
                NOW.plusSeconds(8), 200, 12, WebhookDeliveries.DELIVERED, null),
                new WebhookDeliveries.Event(JOB_ID + "-completed-2", "completed", 2, NOW), false));
    }

    private JsonNode getJob() {
        APIGatewayProxyResponseEvent response = get.handleRequest(
                EventLoader.loadApiGatewayRestEvent("events/apigw-get-job.json"), null);
        assertEquals(200, response.getStatusCode(), response.getBody());
        return Json.parse(response.getBody());
    }

    private APIGatewayProxyResponseEvent call(String method, String route) {
        return admin.handleRequest(new APIGatewayProxyRequestEvent().withHttpMethod(method)
                .withPath("/admin/" + route).withPathParameters(Map.of("proxy", route))
                .withHeaders(Map.of("Authorization", "Bearer " + TOKEN)), null);
    }

    @Test
    void getJob_showsTheWebhook_withEachDeliveryAttempt() {
        job("https://hooks.example.com/x");
        delivered();

        JsonNode webhook = getJob().get("webhook");

        assertEquals("https://hooks.example.com/x", webhook.get("url").asText());
        assertEquals("completed", webhook.get("events").get(0).asText());
        JsonNode first = webhook.get("deliveries").get(0);
        assertEquals(JOB_ID + "-completed-2", first.get("id").asText());
        assertEquals(1, first.get("attempt").asInt());
        assertEquals(503, first.get("statusCode").asInt());
        assertEquals(41, first.get("durationMs").asInt());
        assertEquals("retrying", first.get("outcome").asText());
        assertEquals("2026-11-22T10:00:00Z", first.get("at").asText());
        assertTrue(first.get("error").asText().startsWith("HTTP 503"));
        JsonNode second = webhook.get("deliveries").get(1);
        assertEquals("delivered", second.get("outcome").asText());
        assertFalse(second.has("error"));
    }

    @Test
    void getJob_withoutAWebhook_showsNone_andReadsNoDeliveries() {
        job(null);
        table.unavailable = true;

        assertFalse(getJob().has("webhook"));
    }

    @Test
    void getJob_whoseDeliveriesCannotBeRead_isStillAnswered_sayingSo() {
        job("https://hooks.example.com/x");
        table.unavailable = true;

        JsonNode webhook = getJob().get("webhook");

        assertEquals("https://hooks.example.com/x", webhook.get("url").asText());
        assertTrue(webhook.get("deliveriesUnavailable").asText().startsWith("could not read the deliveries"),
                webhook.toString());
    }

    @Test
    void admin_showsTheDeliveries_andTheLatestEvent() {
        job("https://hooks.example.com/x");
        delivered();

        APIGatewayProxyResponseEvent response = call("GET", "api/jobs/" + JOB_ID + "/webhook");

        assertEquals(200, response.getStatusCode(), response.getBody());
        JsonNode body = Json.parse(response.getBody());
        assertEquals(2, body.get("webhook").get("deliveries").size());
        assertEquals("completed", body.get("latestEvent").get("event").asText());
    }

    @Test
    void resend_queuesANewDeliveryOfTheLatestEvent_underANewId() {
        job("https://hooks.example.com/x");
        delivered();

        APIGatewayProxyResponseEvent response = call("POST", "api/jobs/" + JOB_ID + "/webhook/resend");

        assertEquals(202, response.getStatusCode(), response.getBody());
        WebhookMessage message = WebhookMessage.parse(sqs.sent.get(0).messageBody());
        assertEquals(JOB_ID + "-completed-2-resend-" + NOW.plusSeconds(60).toEpochMilli(), message.deliveryId());
        assertEquals(JOB_ID + "-completed-2", message.eventId());
        assertEquals("completed", message.event());
        assertEquals(NOW.plusSeconds(60), message.since(), "retried for its own bounded time, from now");
        assertTrue(message.resend());
        assertEquals(message.deliveryId(), Json.parse(response.getBody()).get("deliveryId").asText());
    }

    @Test
    void resend_ofAJobWithoutWebhookOrEvent_is409_ofNoJob404_andWithTheWrongMethod405() {
        assertEquals(404, call("POST", "api/jobs/" + JOB_ID + "/webhook/resend").getStatusCode());
        job(null);
        APIGatewayProxyResponseEvent none = call("POST", "api/jobs/" + JOB_ID + "/webhook/resend");
        assertEquals(409, none.getStatusCode());
        assertTrue(Json.parse(none.getBody()).get("error").asText().contains("has no webhook"));
        job("https://hooks.example.com/x");
        APIGatewayProxyResponseEvent early = call("POST", "api/jobs/" + JOB_ID + "/webhook/resend");
        assertEquals(409, early.getStatusCode());
        assertTrue(Json.parse(early.getBody()).get("error").asText().contains("no webhook event to send again yet"));
        assertEquals(405, call("GET", "api/jobs/" + JOB_ID + "/webhook/resend").getStatusCode());
        assertEquals(405, call("POST", "api/jobs/" + JOB_ID + "/webhook").getStatusCode());
        assertEquals(404, call("GET", "api/jobs/not-a-job/webhook").getStatusCode());
        assertEquals(List.of(), sqs.sent);
    }

    @Test
    void theWebhookRoutes_needTheToken() {
        job("https://hooks.example.com/x");
        for (String[] route : List.of(new String[] {"GET", "api/jobs/" + JOB_ID + "/webhook"},
                new String[] {"POST", "api/jobs/" + JOB_ID + "/webhook/resend"})) {
            APIGatewayProxyResponseEvent response = admin.handleRequest(new APIGatewayProxyRequestEvent()
                    .withHttpMethod(route[0]).withPath("/admin/" + route[1])
                    .withPathParameters(Map.of("proxy", route[1])), null);
            assertEquals(401, response.getStatusCode(), route[1]);
        }
        assertEquals(List.of(), sqs.sent);
    }
}
