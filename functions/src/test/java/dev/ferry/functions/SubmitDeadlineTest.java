package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import com.amazonaws.services.lambda.runtime.tests.EventLoader;
import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.JobIds;
import dev.ferry.core.JobMessage;
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

/** {@code POST /jobs} with a deadline: where it is kept, and what is refused (leaving nothing behind). */
class SubmitDeadlineTest {

    private static final Instant NOW = Instant.parse("2026-11-22T10:00:00Z");

    private final List<String> events = new ArrayList<>();
    private final InMemoryJobStore store = new InMemoryJobStore(events);
    private final RecordingSqs sqs = new RecordingSqs(events);
    private final SubmitJobHandler handler = handler(new JobSubmitter(store, sqs, "https://sqs.local/jobs",
            new JobIds(), Clock.fixed(NOW, ZoneOffset.UTC), 1_024, Set.of(), d -> { }, UploadedInputs.none(),
            new Deadlines(Map.of("sd", Duration.ofMinutes(10)))));

    private APIGatewayProxyResponseEvent submit(String body, Map<String, String> headers) {
        APIGatewayProxyRequestEvent event = EventLoader.loadApiGatewayRestEvent("events/apigw-submit-job.json")
                .withBody(body);
        Map<String, String> all = new HashMap<>(event.getHeaders());
        all.remove("Idempotency-Key");
        all.putAll(headers);
        return handler.handleRequest(event.withHeaders(all), null);
    }

    private JsonNode accepted(APIGatewayProxyResponseEvent response) {
        assertEquals(202, response.getStatusCode(), response.getBody());
        return Json.parse(response.getBody());
    }

    /** A handler on the in-memory store, without waiting ({@code Prefer: wait} has tests of its own). */
    private SubmitJobHandler handler(JobSubmitter submitter) {
        return new SubmitJobHandler(submitter, store, new JobWaiter(new InMemoryJobQueries(store)::statuses), 25,
                java.util.Optional.empty());
    }

    @Test
    void aDeadlineField_isKeptOnTheRecord_andCarriedInTheMessage() {
        JsonNode job = accepted(submit("{\"type\":\"render\",\"input\":{},\"deadline\":\"2026-11-22T10:05:00Z\"}",
                Map.of()));

        assertEquals("2026-11-22T10:05:00Z", job.get("deadline").asText());
        assertEquals(Instant.parse("2026-11-22T10:05:00Z"), store.jobs.get(job.get("jobId").asText()).deadline());
        JobMessage message = JobMessage.parse(sqs.sent.get(0).messageBody());
        assertEquals(Instant.parse("2026-11-22T10:05:00Z"), message.deadline(), "a dead letter explains itself");
    }

    @Test
    void cancelAfter_countsFromTheSubmit_inAnyCase() {
        JsonNode job = accepted(submit("{\"type\":\"render\"}", Map.of("cancel-after", "1h30m")));

        assertEquals("2026-11-22T11:30:00Z", job.get("deadline").asText());
    }

    @Test
    void withoutOne_aJobGetsItsTypesDefault_orNone() {
        assertEquals("2026-11-22T10:10:00Z", accepted(submit("{\"type\":\"sd\"}", Map.of())).get("deadline").asText());
        JsonNode other = accepted(submit("{\"type\":\"render\"}", Map.of()));
        assertFalse(other.has("deadline"));
        assertFalse(sqs.sent.get(1).messageBody().contains("deadline"));
        assertEquals("2026-11-22T10:00:30Z", accepted(submit("{\"type\":\"sd\"}", Map.of("Cancel-After", "30")))
                .get("deadline").asText(), "the request's own wins over the default");
    }

    @Test
    void aBadDeadline_is400NamingTheFieldOrHeader_andLeavesNothingBehind() {
        Map<String, Map.Entry<String, Map<String, String>>> cases = Map.of(
                "field \"deadline\" is in the past", Map.entry("{\"type\":\"sd\",\"deadline\":\"2026-11-22T09:59:59Z\"}",
                        Map.of()),
                "field \"deadline\" must be an ISO-8601 instant", Map.entry("{\"type\":\"sd\",\"deadline\":\"tomorrow\"}",
                        Map.of()),
                "field \"deadline\" must be an ISO-8601 instant such as \"2026-11-22T10:00:00Z\", but is 1795341607",
                Map.entry("{\"type\":\"sd\",\"deadline\":1795341607}", Map.of()),
                "field \"deadline\" is more than 14 days ahead", Map.entry(
                        "{\"type\":\"sd\",\"deadline\":\"2026-12-07T10:00:00Z\"}", Map.of()),
                "header Cancel-After must be a duration", Map.entry("{\"type\":\"sd\"}", Map.of("Cancel-After", "1 day")),
                "header Cancel-After is more than 14 days ahead", Map.entry("{\"type\":\"sd\"}",
                        Map.of("Cancel-After", "337h")),
                "header Cancel-After and field \"deadline\" exclude each other", Map.entry(
                        "{\"type\":\"sd\",\"deadline\":\"2026-11-22T10:05:00Z\"}", Map.of("Cancel-After", "5m")));
        cases.forEach((error, request) -> {
            APIGatewayProxyResponseEvent response = submit(request.getKey(), request.getValue());
            assertEquals(400, response.getStatusCode(), response.getBody());
            String message = Json.parse(response.getBody()).get("error").asText();
            assertTrue(message.startsWith(error), message);
        });
        assertTrue(events.isEmpty(), "nothing written, nothing sent: " + events);
    }

    @Test
    void aReplay_getsTheJobAsFirstAccepted_evenOnceItsDeadlineHasPassed() {
        String body = "{\"type\":\"render\",\"deadline\":\"2026-11-22T10:05:00Z\"}";
        JsonNode first = accepted(submit(body, Map.of("Idempotency-Key", "k-deadline")));
        SubmitJobHandler later = handler(new JobSubmitter(store, sqs, "https://sqs.local/jobs",
                new JobIds(), Clock.fixed(NOW.plusSeconds(600), ZoneOffset.UTC), 1_024, Set.of(), d -> { },
                UploadedInputs.none(), Deadlines.none()));
        APIGatewayProxyRequestEvent event = EventLoader.loadApiGatewayRestEvent("events/apigw-submit-job.json")
                .withBody(body);
        Map<String, String> headers = new HashMap<>(event.getHeaders());
        headers.put("Idempotency-Key", "k-deadline");

        APIGatewayProxyResponseEvent replay = later.handleRequest(event.withHeaders(headers), null);

        assertEquals(200, replay.getStatusCode(), replay.getBody());
        assertEquals(first.get("jobId"), Json.parse(replay.getBody()).get("jobId"));
        assertEquals(1, sqs.sent.size());
    }
}
