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
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GetJobHandlerTest {

    private static final String JOB_ID = "01JD3N3Y3ZX2W0K7Q8M9P4R5S6";
    private final InMemoryJobStore store = new InMemoryJobStore();
    private final InMemoryJobQueries queries = new InMemoryJobQueries(store);
    private final GetJobHandler handler = new GetJobHandler(store, java.util.Optional.empty(),
            new QueueEstimator(queries, java.util.OptionalInt::empty, java.time.Clock.systemUTC()),
            new JobWaiter(queries::statuses), 25);

    private static APIGatewayProxyRequestEvent fixture() {
        return EventLoader.loadApiGatewayRestEvent("events/apigw-get-job.json");
    }

    @Test
    void get_succeededJob_showsResultAsJson_andNoLeaseInternals() {
        Instant created = Instant.parse("2026-11-22T10:00:00Z");
        store.jobs.put(JOB_ID, Job.builder().jobId(JOB_ID).type("sdxl").input("{}").status(JobStatus.SUCCEEDED)
                .attempts(2).version(4L).result("{\"image\":\"s3://bucket/out.png\"}").createdAt(created)
                .updatedAt(created.plusSeconds(42)).leaseMessageId("m-1").build());

        APIGatewayProxyResponseEvent response = handler.handleRequest(fixture(), null);

        assertEquals(200, response.getStatusCode());
        JsonNode body = Json.parse(response.getBody());
        assertEquals(JOB_ID, body.get("jobId").asText());
        assertEquals("SUCCEEDED", body.get("status").asText());
        assertEquals(2, body.get("attempts").asInt());
        assertEquals("2026-11-22T10:00:00Z", body.get("createdAt").asText());
        assertEquals("2026-11-22T10:00:42Z", body.get("updatedAt").asText());
        assertEquals("s3://bucket/out.png", body.get("result").get("image").asText());
        assertFalse(body.has("error"));
        assertFalse(body.has("version") || body.has("leaseOwner") || body.has("leaseMessageId"));
    }

    @Test
    void get_failedJob_showsTheError() {
        store.jobs.put(JOB_ID, Job.builder().jobId(JOB_ID).type("sdxl").status(JobStatus.FAILED).attempts(5)
                .error("exit 1: CUDA error: out of memory").build());

        JsonNode body = Json.parse(handler.handleRequest(fixture(), null).getBody());

        assertEquals("FAILED", body.get("status").asText());
        assertEquals("exit 1: CUDA error: out of memory", body.get("error").asText());
    }

    @Test
    void get_unknownId_is404() {
        APIGatewayProxyResponseEvent response = handler.handleRequest(fixture(), null);

        assertEquals(404, response.getStatusCode());
        assertTrue(Json.parse(response.getBody()).get("error").asText().contains(JOB_ID));
    }

    @Test
    void get_malformedId_is404_withoutAStoreCall() {
        store.unavailable = true; // a store call would fail with 503
        APIGatewayProxyRequestEvent event = fixture().withPathParameters(Map.of("jobId", "../../etc/passwd"));

        assertEquals(404, handler.handleRequest(event, null).getStatusCode());
    }

    @Test
    void get_storeDown_is503() {
        store.unavailable = true;

        assertEquals(503, handler.handleRequest(fixture(), null).getStatusCode());
    }

    private void queued(String jobId, Instant created) {
        store.jobs.put(jobId, Job.builder().jobId(jobId).type("sdxl").input("{}").status(JobStatus.QUEUED)
                .createdAt(created).updatedAt(created).build());
    }

    @Test
    void get_queuedJob_showsItsPlace_labelledAnEstimate() {
        Instant created = Instant.parse("2026-11-22T10:00:00Z");
        queued("01JD3N3Y3ZX2W0K7Q8M9P4R5S1", created.minusSeconds(2));
        queued("01JD3N3Y3ZX2W0K7Q8M9P4R5S2", created.minusSeconds(1));
        queued(JOB_ID, created);

        JsonNode queue = Json.parse(handler.handleRequest(fixture(), null).getBody()).get("queue");

        assertEquals(2, queue.get("position").asInt());
        assertTrue(queue.get("estimate").asBoolean());
        assertFalse(queue.has("etaSeconds"), "no slot known to be working here: " + queue);
    }

    @Test
    void get_withPreferWait_onAFinishedJob_answersAtOnce_sayingWhatWasApplied() {
        store.jobs.put(JOB_ID, Job.builder().jobId(JOB_ID).type("sdxl").status(JobStatus.SUCCEEDED).result("{}")
                .build());

        APIGatewayProxyResponseEvent response = handler.handleRequest(fixture()
                .withHeaders(Map.of("Prefer", "wait=300")), null);

        assertEquals(200, response.getStatusCode());
        assertEquals("wait=25", response.getHeaders().get("Preference-Applied"), "at most the deployment's 25 s");
        assertEquals(0, queries.statusReads.get(), "a final job is not waited for");
    }

    @Test
    void get_withPreferWait_answersOnceTheJobIsFinal() {
        queued(JOB_ID, Instant.parse("2026-11-22T10:00:00Z"));
        // The job finishes while the request waits: the shared waiter's read sees it.
        InMemoryJobQueries finishing = new InMemoryJobQueries(store) {
            @Override
            public Statuses statuses(java.util.Collection<String> jobIds) {
                store.jobs.computeIfPresent(JOB_ID, (id, job) -> job.toBuilder().status(JobStatus.SUCCEEDED)
                        .result("{\"done\":true}").build());
                return super.statuses(jobIds);
            }
        };
        GetJobHandler waiting = new GetJobHandler(store, java.util.Optional.empty(),
                new QueueEstimator(queries, java.util.OptionalInt::empty, java.time.Clock.systemUTC()),
                new JobWaiter(finishing::statuses), 25);

        APIGatewayProxyResponseEvent response = waiting.handleRequest(fixture()
                .withMultiValueHeaders(Map.of("Prefer", java.util.List.of("respond-async", "wait=20"))), null);

        JsonNode body = Json.parse(response.getBody());
        assertEquals("SUCCEEDED", body.get("status").asText());
        assertTrue(body.get("result").get("done").asBoolean());
        assertEquals("wait=20", response.getHeaders().get("Preference-Applied"));
        assertFalse(body.has("queue"));
    }

    @Test
    void get_withAnInvalidWait_isIgnored_unlessStrict() {
        queued(JOB_ID, Instant.parse("2026-11-22T10:00:00Z"));

        APIGatewayProxyResponseEvent lenient = handler.handleRequest(fixture()
                .withHeaders(Map.of("Prefer", "wait=soon")), null);
        APIGatewayProxyResponseEvent strict = handler.handleRequest(fixture()
                .withHeaders(Map.of("Prefer", "handling=strict, wait=soon")), null);

        assertEquals(200, lenient.getStatusCode());
        assertFalse(lenient.getHeaders().containsKey("Preference-Applied"));
        assertEquals(400, strict.getStatusCode());
        assertTrue(Json.parse(strict.getBody()).get("error").asText().startsWith("header Prefer"));
    }

    @Test
    void get_runningJob_showsItsProgressDeadlineAndACancelUnderWay() {
        Instant created = Instant.parse("2026-11-22T10:00:00Z");
        store.jobs.put(JOB_ID, Job.builder().jobId(JOB_ID).type("sd").input("{}").status(JobStatus.RUNNING).attempts(1)
                .createdAt(created).updatedAt(created).deadline(created.plusSeconds(600)).progress(0.4)
                .progressMessage("step 8 of 20").progressAt(created.plusSeconds(9)).cancelRequestedAt(created.plusSeconds(10))
                .cancelReason("cancelled by the client").build());

        JsonNode body = Json.parse(handler.handleRequest(fixture(), null).getBody());

        assertEquals("2026-11-22T10:10:00Z", body.get("deadline").asText());
        assertEquals(0.4, body.get("progress").get("fraction").asDouble());
        assertEquals("step 8 of 20", body.get("progress").get("message").asText());
        assertEquals("2026-11-22T10:00:09Z", body.get("progress").get("at").asText());
        assertEquals("2026-11-22T10:00:10Z", body.get("cancelRequestedAt").asText());
        assertEquals("cancelled by the client", body.get("cancelReason").asText());
    }

    @Test
    void get_aLeaseLostEntry_hasNoSlot_andAJobWithoutExtrasShowsNone() {
        Instant created = Instant.parse("2026-11-22T10:00:00Z");
        store.jobs.put(JOB_ID, Job.builder().jobId(JOB_ID).type("sd").input("{}").status(JobStatus.QUEUED).attempts(1)
                .createdAt(created).updatedAt(created).history(java.util.List.of(new dev.ferry.core.AttemptRecord(1,
                        "w-gone", dev.ferry.core.AttemptRecord.UNKNOWN_SLOT, created, created.plusSeconds(30),
                        dev.ferry.core.AttemptRecord.LEASE_LOST, "its worker stopped renewing the lease", null))).build());

        JsonNode body = Json.parse(handler.handleRequest(fixture(), null).getBody());

        JsonNode entry = body.get("history").get(0);
        assertEquals("lease lost", entry.get("outcome").asText());
        assertFalse(entry.has("slot"));
        for (String field : new String[] {"deadline", "progress", "cancelRequestedAt", "cancelReason"}) {
            assertFalse(body.has(field), field);
        }
    }
}
