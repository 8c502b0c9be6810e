package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import com.amazonaws.services.lambda.runtime.tests.EventLoader;
import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Job;
import dev.ferry.core.JobIds;
import dev.ferry.core.JobMessage;
import dev.ferry.core.JobStatus;
import dev.ferry.core.Json;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Routing at submit: each job type to its pool's queue; a type no pool serves refused, nothing written. */
class SubmitPoolsTest extends PooledSubmit {

    @Test
    void eachType_goesToItsPoolsQueue_andTheRecordNamesThePool() {
        APIGatewayProxyResponseEvent large = submit("{\"type\":\"sd.xl\",\"input\":{}}", null);
        APIGatewayProxyResponseEvent light = submit("{\"type\":\"resize\",\"input\":{}}", null);

        assertEquals(202, large.getStatusCode(), large.getBody());
        assertEquals(202, light.getStatusCode(), light.getBody());
        JsonNode largeJob = Json.parse(large.getBody());
        assertEquals("Large", largeJob.get("pool").asText());
        assertEquals("Light", Json.parse(light.getBody()).get("pool").asText());
        assertEquals(List.of("https://sqs.local/large", "https://sqs.local/light"),
                sqs.sent.stream().map(request -> request.queueUrl()).toList());
        assertEquals(largeJob.get("jobId").asText(), JobMessage.parse(sqs.sent.get(0).messageBody()).jobId());
        assertEquals("Large", store.jobs.get(largeJob.get("jobId").asText()).pool());
    }

    @Test
    void aTypeNoPoolServes_is400NamingTheField_andNothingIsWrittenOrSent() {
        for (String type : List.of("sdxl", "tts", "tts.en.us", "resize.big")) {
            APIGatewayProxyResponseEvent refused = submit("{\"type\":\"" + type + "\",\"input\":{}}", "key-" + type);

            assertEquals(400, refused.getStatusCode(), refused.getBody());
            String error = Json.parse(refused.getBody()).get("error").asText();
            assertTrue(error.startsWith("field \"type\": unknown job type \"" + type + "\""), error);
            assertTrue(error.contains("sd.# (Large)") && error.contains("tts.* (Light)"), error);
        }
        assertTrue(events.isEmpty(), "nothing written, nothing sent: " + events);
    }

    @Test
    void aReplayTakingOverAVanishedSender_sendsToTheRecordedPoolsQueue() {
        // A first request recorded the job for pool Light and died before sending; the type alone would
        // route it there too, so the record names a pool whose queue differs from the type's route.
        Job orphan = Job.builder().jobId(JobIds.forIdempotencyKey(Requests.callerScope(
                        EventLoader.loadApiGatewayRestEvent("events/apigw-submit-job.json")), "k-1"))
                .type("sd.xl").pool("Light").input("{}")
                .requestHash(SubmitRequest.parse("{\"type\":\"sd.xl\",\"input\":{}}", "k-1").fingerprint())
                .idempotencyKey("k-1").status(JobStatus.PENDING).attempts(0).version(0L)
                .createdAt(NOW.minusSeconds(60)).updatedAt(NOW.minusSeconds(60))
                .sendingUntil(NOW.minusSeconds(30).toEpochMilli()).build();
        store.jobs.put(orphan.jobId(), orphan);

        APIGatewayProxyResponseEvent replay = submit("{\"type\":\"sd.xl\",\"input\":{}}", "k-1");

        assertEquals(200, replay.getStatusCode(), replay.getBody());
        assertEquals(List.of("https://sqs.local/light"), sqs.sent.stream().map(request -> request.queueUrl()).toList());
    }
}
