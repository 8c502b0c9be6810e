package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import com.amazonaws.services.lambda.runtime.tests.EventLoader;
import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Job;
import dev.ferry.core.JobIds;
import dev.ferry.core.JobMessage;
import dev.ferry.core.JobStatus;
import dev.ferry.core.Json;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SubmitJobHandlerTest {

    private static final Instant NOW = Instant.parse("2026-11-22T10:00:00Z");
    private static final int MAX_MESSAGE_BYTES = 1_024;

    private final List<String> events = new ArrayList<>();
    private final InMemoryJobStore store = new InMemoryJobStore(events);
    private final RecordingSqs sqs = new RecordingSqs(events);
    private SubmitJobHandler handler = handler(Set.of());

    private SubmitJobHandler handler(Set<String> allowedTypes) {
        return new SubmitJobHandler(new JobSubmitter(store, sqs, "https://sqs.local/jobs", new JobIds(),
                Clock.fixed(NOW, ZoneOffset.UTC), MAX_MESSAGE_BYTES, Duration.ofDays(30), allowedTypes));
    }

    private static APIGatewayProxyRequestEvent fixture() {
        return EventLoader.loadApiGatewayRestEvent("events/apigw-submit-job.json");
    }

    private static APIGatewayProxyRequestEvent withBody(String body, String idempotencyKey) {
        APIGatewayProxyRequestEvent event = fixture().withBody(body);
        Map<String, String> headers = new HashMap<>(event.getHeaders());
        headers.remove("Idempotency-Key");
        if (idempotencyKey != null) {
            headers.put("idempotency-key", idempotencyKey); // HTTP/2 clients send lower case
        }
        return event.withHeaders(headers);
    }

    private APIGatewayProxyResponseEvent call(APIGatewayProxyRequestEvent event) {
        return handler.handleRequest(event, null);
    }

    private static JsonNode body(APIGatewayProxyResponseEvent response) {
        return Json.parse(response.getBody());
    }

    @Test
    void submit_realApiGatewayEvent_accepts202_andQueues() {
        APIGatewayProxyResponseEvent response = call(fixture());

        assertEquals(202, response.getStatusCode());
        JsonNode body = body(response);
        String jobId = body.get("jobId").asText();
        assertEquals("QUEUED", body.get("status").asText());
        assertEquals("sdxl", body.get("type").asText());
        assertEquals(0, body.get("attempts").asInt());
        assertEquals("/v1/jobs/" + jobId, response.getHeaders().get("Location"));
        assertEquals("application/json", response.getHeaders().get("Content-Type"));
        JobMessage message = JobMessage.parse(sqs.sent.get(0).messageBody());
        assertEquals(jobId, message.jobId());
        assertEquals(30, message.input().get("steps").asInt());
        assertEquals(NOW.plus(Duration.ofDays(30)).getEpochSecond(), store.jobs.get(jobId).expiresAt());
    }

    @Test
    void submit_writesTheRecordBeforeSendingTheMessage() {
        call(withBody("{\"type\":\"sample\",\"input\":{}}", null));

        assertEquals(3, events.size(), events.toString());
        assertTrue(events.get(0).startsWith("put "), events.toString());
        assertTrue(events.get(1).startsWith("send "), events.toString());
        assertTrue(events.get(2).startsWith("enqueued "), events.toString());
    }

    @Test
    void replay_sameKeySameBody_returnsTheSameJob_withoutASecondMessage() {
        String first = body(call(withBody("{\"type\":\"sample\",\"input\":{\"a\":1,\"b\":2}}", "k-1")))
                .get("jobId").asText();

        APIGatewayProxyResponseEvent replay = call(withBody("{\"input\":{\"b\":2,\"a\":1},\"type\":\"sample\"}", "k-1"));

        assertEquals(200, replay.getStatusCode());
        assertEquals(first, body(replay).get("jobId").asText());
        assertEquals(1, sqs.sent.size());
    }

    @Test
    void replay_sameKeyDifferentBody_isAConflict() {
        call(withBody("{\"type\":\"sample\",\"input\":{\"a\":1}}", "k-2"));

        APIGatewayProxyResponseEvent conflict = call(withBody("{\"type\":\"sample\",\"input\":{\"a\":2}}", "k-2"));

        assertEquals(409, conflict.getStatusCode());
        assertTrue(body(conflict).get("error").asText().contains("Idempotency-Key"), conflict.getBody());
        assertEquals(1, sqs.sent.size());
    }

    @Test
    void differentKeys_makeDifferentJobs() {
        String a = body(call(withBody("{\"type\":\"sample\"}", "k-a"))).get("jobId").asText();
        String b = body(call(withBody("{\"type\":\"sample\"}", "k-b"))).get("jobId").asText();

        assertNotEquals(a, b);
    }

    @Test
    void sendFails_503_thenReplayWithTheKey_sendsTheMessage() {
        sqs.unavailable = true;
        APIGatewayProxyResponseEvent failed = call(withBody("{\"type\":\"sample\",\"input\":7}", "k-3"));

        assertEquals(503, failed.getStatusCode());
        assertTrue(body(failed).get("error").asText().contains("retry with the same Idempotency-Key"));
        Job recorded = store.jobs.values().iterator().next();
        assertNull(recorded.enqueuedAt());

        sqs.unavailable = false;
        APIGatewayProxyResponseEvent replay = call(withBody("{\"type\":\"sample\",\"input\":7}", "k-3"));

        assertEquals(200, replay.getStatusCode());
        assertEquals(recorded.jobId(), body(replay).get("jobId").asText());
        assertEquals(1, sqs.sent.size());
        assertEquals(recorded.jobId(), JobMessage.parse(sqs.sent.get(0).messageBody()).jobId());
        assertTrue(store.jobs.get(recorded.jobId()).enqueuedAt() != null);
    }

    @Test
    void storeFails_503_andNothingIsSent() {
        store.unavailable = true;

        APIGatewayProxyResponseEvent response = call(withBody("{\"type\":\"sample\"}", null));

        assertEquals(503, response.getStatusCode());
        assertTrue(sqs.sent.isEmpty());
    }

    @Test
    void replayOfAJobThatAlreadyRan_returnsItsCurrentState() {
        String jobId = body(call(withBody("{\"type\":\"sample\"}", "k-4"))).get("jobId").asText();
        store.jobs.computeIfPresent(jobId, (id, j) -> j.toBuilder().status(JobStatus.SUCCEEDED)
                .result("{\"output\":1}").attempts(1).build());

        JsonNode replay = body(call(withBody("{\"type\":\"sample\"}", "k-4")));

        assertEquals("SUCCEEDED", replay.get("status").asText());
        assertEquals(1, replay.get("result").get("output").asInt());
        assertEquals(1, sqs.sent.size());
    }

    private void assertRefused(int status, String body, String key, String mentions) {
        APIGatewayProxyResponseEvent response = call(withBody(body, key));
        assertEquals(status, response.getStatusCode(), response.getBody());
        String error = body(response).get("error").asText();
        assertTrue(error.contains(mentions), "error '" + error + "' should mention " + mentions);
        assertTrue(sqs.sent.isEmpty());
        assertTrue(store.jobs.isEmpty());
    }

    @Test
    void badInput_isRefusedWithAMessageNamingTheField() {
        assertRefused(400, "{\"type\": \"sample\", ", null, "not valid JSON");
        assertRefused(400, "", null, "body is empty");
        assertRefused(400, "[1,2]", null, "JSON object");
        assertRefused(400, "{\"input\": {}}", null, "\"type\"");
        assertRefused(400, "{\"type\": 7}", null, "\"type\" must be a string");
        assertRefused(400, "{\"type\": \"bad type!\"}", null, "\"type\"");
        assertRefused(400, "{\"type\": \"sample\", \"inptu\": {}}", null, "\"inptu\"");
        assertRefused(400, "{\"type\": \"sample\"}", "has space", "Idempotency-Key");
        assertRefused(400, "{\"type\": \"sample\"}", "x".repeat(256), "Idempotency-Key");
    }

    @Test
    void tooLarge_is413_namingTheInput() {
        String big = "{\"type\":\"sample\",\"input\":\"" + "x".repeat(MAX_MESSAGE_BYTES) + "\"}";

        assertRefused(413, big, null, "\"input\" is too large");
    }

    @Test
    void unknownType_whenTypesAreListed_is400() {
        handler = handler(Set.of("sdxl", "train"));

        assertRefused(400, "{\"type\": \"sample\"}", null, "unknown job type");
        assertEquals(202, call(withBody("{\"type\": \"train\"}", null)).getStatusCode());
    }

    @Test
    void base64Body_isDecoded() {
        String encoded = java.util.Base64.getEncoder().encodeToString("{\"type\":\"sample\"}".getBytes());
        APIGatewayProxyRequestEvent event = withBody(encoded, null).withIsBase64Encoded(true);

        assertEquals(202, call(event).getStatusCode());
    }
}
