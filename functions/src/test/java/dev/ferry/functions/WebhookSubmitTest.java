package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import com.amazonaws.services.lambda.runtime.tests.EventLoader;
import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Job;
import dev.ferry.core.JobIds;
import dev.ferry.core.Json;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** {@code webhookUrl} and {@code webhookEvents} on submit: what is accepted, what is a 400 naming the field. */
class WebhookSubmitTest {

    private static final Instant NOW = Instant.parse("2026-11-22T10:00:00Z");
    private final List<String> events = new ArrayList<>();
    private final InMemoryJobStore store = new InMemoryJobStore(events);
    private final RecordingSqs sqs = new RecordingSqs(events);

    private SubmitJobHandler handler(WebhookUrlPolicy policy) {
        return new SubmitJobHandler(new JobSubmitter(store, sqs, "https://sqs.local/jobs", new JobIds(),
                Clock.fixed(NOW, ZoneOffset.UTC), 262_144, Set.of()), store,
                new JobWaiter(new InMemoryJobQueries(store)::statuses), 25, java.util.Optional.empty(), policy);
    }

    private APIGatewayProxyResponseEvent submit(WebhookUrlPolicy policy, String body, String key) {
        APIGatewayProxyRequestEvent event = EventLoader.loadApiGatewayRestEvent("events/apigw-submit-job.json")
                .withBody(body);
        Map<String, String> headers = new HashMap<>(event.getHeaders());
        headers.remove("Idempotency-Key");
        if (key != null) {
            headers.put("Idempotency-Key", key);
        }
        return handler(policy).handleRequest(event.withHeaders(headers), null);
    }

    private static String job(String webhook) {
        return "{\"type\":\"sdxl\",\"input\":{\"prompt\":\"a ferry\"}," + webhook + "}";
    }

    @Test
    void aWebhook_isRecorded_withTheDefaultEvents_andShown() {
        APIGatewayProxyResponseEvent response = submit(WebhookUrlPolicy.STRICT,
                job("\"webhookUrl\":\"https://hooks.example.com/ferry?team=7\""), null);

        assertEquals(202, response.getStatusCode(), response.getBody());
        JsonNode webhook = Json.parse(response.getBody()).get("webhook");
        assertEquals("https://hooks.example.com/ferry?team=7", webhook.get("url").asText());
        assertEquals(List.of("completed", "failed", "cancelled"), List.of(Json.MAPPER.convertValue(webhook.get("events"),
                String[].class)));
        Job recorded = store.jobs.values().iterator().next();
        assertEquals("https://hooks.example.com/ferry?team=7", recorded.webhookUrl());
        assertEquals(List.of("completed", "failed", "cancelled"), recorded.webhookEvents());
        assertFalse(sqs.sent.get(0).messageBody().contains("hooks.example.com"),
                "the queue message carries the job, not its webhook");
    }

    @Test
    void chosenEvents_areKeptInOrder_withoutRepeats() {
        APIGatewayProxyResponseEvent response = submit(WebhookUrlPolicy.STRICT, job("\"webhookUrl\":"
                + "\"https://hooks.example.com/x\",\"webhookEvents\":[\"started\",\"progress\",\"completed\",\"started\"]"),
                null);

        assertEquals(202, response.getStatusCode(), response.getBody());
        assertEquals(List.of("started", "progress", "completed"), store.jobs.values().iterator().next().webhookEvents());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "not a string         | \"webhookUrl\":42                                          | field \"webhookUrl\" must be a string",
            "not a URL            | \"webhookUrl\":\"https://exa mple.com/\"                   | field \"webhookUrl\" is not a URL",
            "ftp                  | \"webhookUrl\":\"ftp://example.com/x\"                     | field \"webhookUrl\" must be an https:// URL",
            "plain http in AWS    | \"webhookUrl\":\"http://example.com/x\"                    | field \"webhookUrl\" must be an https:// URL: Ferry does not send",
            "credentials          | \"webhookUrl\":\"https://me:secret@example.com/x\"         | field \"webhookUrl\" must not carry credentials",
            "no host              | \"webhookUrl\":\"https:///x\"                              | field \"webhookUrl\" has no host",
            "fragment             | \"webhookUrl\":\"https://example.com/x#frag\"              | field \"webhookUrl\" must not have a #fragment",
            "loopback literal     | \"webhookUrl\":\"https://127.0.0.1/x\"                     | field \"webhookUrl\" names 127.0.0.1, a loopback address",
            "metadata service     | \"webhookUrl\":\"https://169.254.169.254/latest\"          | field \"webhookUrl\" names 169.254.169.254, a link-local address",
            "private literal      | \"webhookUrl\":\"https://10.1.2.3/x\"                      | field \"webhookUrl\" names 10.1.2.3, a private address",
            "ipv6 loopback        | \"webhookUrl\":\"https://[::1]:8443/x\"                    | field \"webhookUrl\" names [::1], a loopback address",
            "localhost            | \"webhookUrl\":\"https://localhost/x\"                     | field \"webhookUrl\" names localhost, a loopback name",
            "events without url   | \"webhookEvents\":[\"completed\"]                          | field \"webhookEvents\" needs \"webhookUrl\"",
            "events not a list    | \"webhookUrl\":\"https://example.com/\",\"webhookEvents\":\"completed\" | field \"webhookEvents\" must be an array",
            "no events            | \"webhookUrl\":\"https://example.com/\",\"webhookEvents\":[] | field \"webhookEvents\" must name at least one event",
            "unknown event        | \"webhookUrl\":\"https://example.com/\",\"webhookEvents\":[\"completed\",\"done\"] | field \"webhookEvents[1]\": unknown event \"done\"",
            "event not a string   | \"webhookUrl\":\"https://example.com/\",\"webhookEvents\":[1]  | field \"webhookEvents[0]\": unknown event 1",
    })
    void aBadWebhook_is400NamingTheField_andLeavesNothingBehind(String what, String webhook, String message) {
        APIGatewayProxyResponseEvent response = submit(WebhookUrlPolicy.STRICT, job(webhook), "bad-" + what.hashCode());

        assertEquals(400, response.getStatusCode(), response.getBody());
        String error = Json.parse(response.getBody()).get("error").asText();
        assertTrue(error.startsWith(message), what + ": " + error);
        assertEquals(Map.of(), store.jobs);
        assertEquals(List.of(), sqs.sent);
    }

    @Test
    void aPortNoReceiverCanListenOn_is400NamingTheField_andLeavesNothing() {
        for (String url : new String[] {"https://hooks.example.com:99999/x", "https://hooks.example.com:0/x"}) {
            APIGatewayProxyResponseEvent response = submit(WebhookUrlPolicy.STRICT, job("\"webhookUrl\":\"" + url + "\""),
                    null);

            assertEquals(400, response.getStatusCode(), url);
            assertTrue(Json.parse(response.getBody()).get("error").asText().startsWith("field \"webhookUrl\" names port"),
                    response.getBody());
        }
        assertTrue(store.jobs.isEmpty());
    }

    @Test
    void aUrlOverTwoKiB_is400NamingTheField() {
        String url = "https://example.com/" + "a".repeat(WebhookUrlPolicy.MAX_URL_LENGTH);

        APIGatewayProxyResponseEvent response = submit(WebhookUrlPolicy.STRICT, job("\"webhookUrl\":\"" + url + "\""),
                null);

        assertEquals(400, response.getStatusCode());
        assertTrue(Json.parse(response.getBody()).get("error").asText().startsWith("field \"webhookUrl\" is "
                + url.length() + " characters long; at most 2048"), response.getBody());
        assertEquals(Map.of(), store.jobs);
    }

    @Test
    void theLocalStacksPolicy_acceptsPlainHttp_toLocalhost() {
        APIGatewayProxyResponseEvent response = submit(new WebhookUrlPolicy(true, true),
                job("\"webhookUrl\":\"http://localhost:8123/hook\""), null);

        assertEquals(202, response.getStatusCode(), response.getBody());
    }

    @Test
    void aReplay_withAnotherWebhook_is409_andWithTheSame_is200() {
        String first = job("\"webhookUrl\":\"https://hooks.example.com/a\"");
        assertEquals(202, submit(WebhookUrlPolicy.STRICT, first, "order-1").getStatusCode());

        assertEquals(200, submit(WebhookUrlPolicy.STRICT, first, "order-1").getStatusCode());
        APIGatewayProxyResponseEvent other = submit(WebhookUrlPolicy.STRICT,
                job("\"webhookUrl\":\"https://hooks.example.com/b\""), "order-1");
        assertEquals(409, other.getStatusCode(), other.getBody());
        APIGatewayProxyResponseEvent none = submit(WebhookUrlPolicy.STRICT,
                "{\"type\":\"sdxl\",\"input\":{\"prompt\":\"a ferry\"}}", "order-1");
        assertEquals(409, none.getStatusCode(), none.getBody());
    }

    @Test
    void aJobWithoutAWebhook_keepsTheFingerprintItAlwaysHad() {
        SubmitRequest request = SubmitRequest.parse("{\"type\":\"sample\",\"input\":1}", null);

        assertEquals(dev.ferry.core.Json.sha256Hex("sample\n1"), request.fingerprint(),
                "records written before webhooks existed must still match their replays");
    }
}
