package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import com.amazonaws.services.lambda.runtime.tests.EventLoader;
import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Job;
import dev.ferry.core.JobIds;
import dev.ferry.core.JobStatus;
import dev.ferry.core.Json;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The high-priority lane at submit: {@code "priority": "high"} goes to the pool's lane, and only where it has one. */
class SubmitPriorityTest extends PooledSubmit {

    @Test
    void high_goesToThePoolsLane_isRecorded_andShown() {
        APIGatewayProxyResponseEvent high = submit("{\"type\":\"sd.xl\",\"input\":{},\"priority\":\"high\"}", null);

        assertEquals(202, high.getStatusCode(), high.getBody());
        JsonNode job = Json.parse(high.getBody());
        assertEquals("high", job.get("priority").asText());
        assertEquals(List.of("https://sqs.local/large-high"), sentTo());
        Job stored = store.jobs.get(job.get("jobId").asText());
        assertEquals(Job.HIGH_PRIORITY, stored.priority());
        assertEquals("high", JobView.of(stored).get("priority").asText(), "GET shows it too");
    }

    @Test
    void normalOrNone_goesToThePoolsQueue_storesNothing_andShowsNothing() {
        APIGatewayProxyResponseEvent normal = submit("{\"type\":\"sd.xl\",\"input\":{},\"priority\":\"normal\"}", null);
        APIGatewayProxyResponseEvent none = submit("{\"type\":\"sd.xl\",\"input\":{\"n\":2}}", null);

        assertEquals(202, normal.getStatusCode(), normal.getBody());
        assertEquals(202, none.getStatusCode(), none.getBody());
        assertEquals(List.of("https://sqs.local/large", "https://sqs.local/large"), sentTo());
        for (APIGatewayProxyResponseEvent response : List.of(normal, none)) {
            JsonNode job = Json.parse(response.getBody());
            assertFalse(job.has("priority"), response.getBody());
            assertNull(store.jobs.get(job.get("jobId").asText()).priority(), "normal is not stored: old records read so");
        }
    }

    @Test
    void anythingElse_is400NamingTheField_andNothingIsWritten() {
        for (String value : List.of("\"HIGH\"", "\"urgent\"", "1", "true", "{}")) {
            APIGatewayProxyResponseEvent refused = submit("{\"type\":\"sd.xl\",\"input\":{},\"priority\":" + value + "}",
                    "key-" + value);

            assertEquals(400, refused.getStatusCode(), refused.getBody());
            String error = Json.parse(refused.getBody()).get("error").asText();
            assertTrue(error.startsWith("field \"priority\""), error);
        }
        assertTrue(events.isEmpty(), "nothing written, nothing sent: " + events);
    }

    @Test
    void highForAPoolWithoutALane_is400SayingSo_andNothingIsWritten() {
        APIGatewayProxyResponseEvent refused = submit("{\"type\":\"resize\",\"input\":{},\"priority\":\"high\"}", "k");

        assertEquals(400, refused.getStatusCode(), refused.getBody());
        String error = Json.parse(refused.getBody()).get("error").asText();
        assertTrue(error.startsWith("field \"priority\""), error);
        assertTrue(error.contains("pool Light") && error.contains("no high-priority lane"), error);
        assertTrue(events.isEmpty(), "nothing written, nothing sent: " + events);
    }

    @Test
    void aReplayTakingOverAVanishedSender_sendsToTheRecordedLane() {
        String body = "{\"type\":\"sd.xl\",\"input\":{},\"priority\":\"high\"}";
        Job orphan = Job.builder().jobId(JobIds.forIdempotencyKey(Requests.callerScope(
                        EventLoader.loadApiGatewayRestEvent("events/apigw-submit-job.json")), "k-1"))
                .type("sd.xl").pool("Large").priority(Job.HIGH_PRIORITY).input("{}")
                .requestHash(SubmitRequest.parse(body, "k-1").fingerprint())
                .idempotencyKey("k-1").status(JobStatus.PENDING).attempts(0).version(0L)
                .createdAt(NOW.minusSeconds(60)).updatedAt(NOW.minusSeconds(60))
                .sendingUntil(NOW.minusSeconds(30).toEpochMilli()).build();
        store.jobs.put(orphan.jobId(), orphan);

        APIGatewayProxyResponseEvent replay = submit(body, "k-1");

        assertEquals(200, replay.getStatusCode(), replay.getBody());
        assertEquals(List.of("https://sqs.local/large-high"), sentTo());
        assertEquals("high", Json.parse(replay.getBody()).get("priority").asText());
    }

    @Test
    void theLaneIsPartOfTheFingerprint_onlyWhenHigh() {
        String normal = SubmitRequest.parse("{\"type\":\"sd.xl\",\"input\":{}}", "k").fingerprint();

        assertEquals(normal, SubmitRequest.parse("{\"type\":\"sd.xl\",\"input\":{},\"priority\":\"normal\"}", "k")
                .fingerprint(), "normal keeps the fingerprint requests always had");
        assertFalse(normal.equals(SubmitRequest.parse("{\"type\":\"sd.xl\",\"input\":{},\"priority\":\"high\"}", "k")
                .fingerprint()));
    }

    @Test
    void aKeyReusedWithTheOtherLane_is409() {
        APIGatewayProxyResponseEvent first = submit("{\"type\":\"sd.xl\",\"input\":{}}", "k-2");
        APIGatewayProxyResponseEvent high = submit("{\"type\":\"sd.xl\",\"input\":{},\"priority\":\"high\"}", "k-2");

        assertEquals(202, first.getStatusCode(), first.getBody());
        assertEquals(409, high.getStatusCode(), high.getBody());
        assertEquals(List.of("https://sqs.local/large"), sentTo());
    }
}
