package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import com.amazonaws.services.lambda.runtime.tests.EventLoader;
import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Job;
import dev.ferry.core.JobStatus;
import dev.ferry.core.JobStore;
import dev.ferry.core.Json;
import dev.ferry.core.Lease;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * {@code POST /jobs/{jobId}/cancel} on each status, and racing what a worker does meanwhile: a
 * claim, the job's own success, a failure that sends it back to the queue.
 */
class CancelJobHandlerTest {

    private static final String JOB_ID = "01JD3N3Y3ZX2W0K7Q8M9P4R5S6";
    private static final Instant NOW = Instant.parse("2026-11-22T10:00:00Z");
    private final InMemoryJobStore store = new InMemoryJobStore();
    private final CancelJobHandler handler = new CancelJobHandler(new JobCanceller(store, Clock.fixed(NOW,
            ZoneOffset.UTC)));

    private static APIGatewayProxyRequestEvent fixture() {
        return EventLoader.loadApiGatewayRestEvent("events/apigw-cancel-job.json");
    }

    private APIGatewayProxyResponseEvent cancel() {
        return handler.handleRequest(fixture(), null);
    }

    private static Job job(JobStatus status) {
        return Job.builder().jobId(JOB_ID).type("sd").input("{}").status(status).attempts(0).version(1L)
                .createdAt(NOW.minusSeconds(60)).updatedAt(NOW.minusSeconds(60)).build();
    }

    private static Job running() {
        return job(JobStatus.RUNNING).toBuilder().attempts(1).version(2L).leaseOwner("w1").leaseId("lease-2")
                .leaseExpiresAt(NOW.plusSeconds(30).toEpochMilli()).build();
    }

    private static Lease lease() {
        return new Lease(JOB_ID, "w1", 2L, "lease-2");
    }

    @Test
    void aQueuedJob_isCancelledAtOnce_withItsReasonFinishTimeAndTtl() {
        store.jobs.put(JOB_ID, job(JobStatus.QUEUED));

        APIGatewayProxyResponseEvent response = cancel();

        assertEquals(200, response.getStatusCode(), response.getBody());
        JsonNode body = Json.parse(response.getBody());
        assertEquals("CANCELLED", body.get("status").asText());
        assertEquals("cancelled by the client", body.get("cancelReason").asText());
        assertEquals(NOW.toString(), body.get("finishedAt").asText());
        assertFalse(body.has("cancelRequested"));
        Job stored = store.jobs.get(JOB_ID);
        assertEquals(JobStatus.CANCELLED, stored.status());
        assertTrue(stored.expiresAt() != null, "a finished job carries a TTL");
    }

    @Test
    void aPendingJob_isCancelledAtOnce() {
        store.jobs.put(JOB_ID, job(JobStatus.PENDING).toBuilder().sendingUntil(NOW.toEpochMilli()).build());

        assertEquals(200, cancel().getStatusCode());
        assertNull(store.jobs.get(JOB_ID).sendingUntil());
    }

    @Test
    void aRunningJob_is202_cancelRequested_andStaysRunningUntilItsWorkerStopsIt() {
        store.jobs.put(JOB_ID, running());

        APIGatewayProxyResponseEvent response = cancel();

        assertEquals(202, response.getStatusCode(), response.getBody());
        JsonNode body = Json.parse(response.getBody());
        assertEquals("RUNNING", body.get("status").asText());
        assertTrue(body.get("cancelRequested").asBoolean());
        assertEquals(NOW.toString(), body.get("cancelRequestedAt").asText());
        assertEquals("cancelled by the client", body.get("cancelReason").asText());
        // The worker's next heartbeat finds it, and nothing but CANCELLED can end its lease now.
        assertEquals(JobStore.Renewal.CANCEL_REQUESTED, store.renewLease(lease(), NOW.plusSeconds(30)));
        assertFalse(store.complete(lease(), JobStore.Completion.of("{}"), NOW));
        assertTrue(store.cancel(lease(), "cancelled by the client", null, NOW));

        APIGatewayProxyResponseEvent again = cancel();
        assertEquals(200, again.getStatusCode());
        assertEquals("CANCELLED", Json.parse(again.getBody()).get("status").asText());
    }

    @Test
    void cancellingTwice_isNotAnError_norIsAJobAnOperatorDiscarded() {
        store.jobs.put(JOB_ID, job(JobStatus.QUEUED));
        assertEquals(200, cancel().getStatusCode());
        APIGatewayProxyResponseEvent again = cancel();
        assertEquals(200, again.getStatusCode());
        assertEquals("cancelled by the client", Json.parse(again.getBody()).get("cancelReason").asText());

        store.jobs.put(JOB_ID, job(JobStatus.CANCELLED));
        assertEquals(200, cancel().getStatusCode());
        assertEquals(JobStatus.CANCELLED, store.jobs.get(JOB_ID).status());
    }

    @Test
    void aRunningJobCancelledTwice_is202Twice_withTheFirstRequestsTime() {
        store.jobs.put(JOB_ID, running());
        assertEquals(202, cancel().getStatusCode());
        Instant first = store.jobs.get(JOB_ID).cancelRequestedAt();
        assertEquals(202, cancel().getStatusCode());
        assertEquals(first, store.jobs.get(JOB_ID).cancelRequestedAt());
    }

    @Test
    void aFinishedJob_is409NamingItsStatus_andUnchanged() {
        for (JobStatus status : new JobStatus[] {JobStatus.SUCCEEDED, JobStatus.FAILED}) {
            Job finished = job(status);
            store.jobs.put(JOB_ID, finished);

            APIGatewayProxyResponseEvent response = cancel();

            assertEquals(409, response.getStatusCode());
            assertTrue(Json.parse(response.getBody()).get("error").asText().contains("is " + status), response.getBody());
            assertEquals(finished, store.jobs.get(JOB_ID));
        }
    }

    @Test
    void anUnknownJob_is404_andAMalformedId404WithoutACall() {
        assertEquals(404, cancel().getStatusCode());
        APIGatewayProxyResponseEvent odd = handler.handleRequest(fixture().withPathParameters(Map.of("jobId", "../x")),
                null);
        assertEquals(404, odd.getStatusCode());
        assertTrue(store.events.isEmpty());
    }

    @Test
    void aCancelRacingAClaim_fallsThroughToTheRunningPath() {
        store.jobs.put(JOB_ID, job(JobStatus.QUEUED));
        // A worker claims the job just before the cancel's first write reads it.
        store.beforeCancelWaiting = () -> store.jobs.put(JOB_ID, running());

        APIGatewayProxyResponseEvent response = cancel();

        assertEquals(202, response.getStatusCode(), response.getBody());
        assertEquals(NOW, store.jobs.get(JOB_ID).cancelRequestedAt());
    }

    @Test
    void aCancelRacingTheJobsSuccess_losesCleanly_whenTheSuccessWasWrittenFirst() {
        store.jobs.put(JOB_ID, running());
        store.beforeRequestCancel = () -> assertTrue(store.complete(lease(), JobStore.Completion.of("{\"ok\":1}"), NOW));

        APIGatewayProxyResponseEvent response = cancel();

        assertEquals(409, response.getStatusCode());
        assertTrue(response.getBody().contains("is SUCCEEDED"), response.getBody());
        Job job = store.jobs.get(JOB_ID);
        assertEquals(JobStatus.SUCCEEDED, job.status());
        assertNull(job.cancelRequestedAt(), "never both");
    }

    @Test
    void aCancelRacingTheJobsSuccess_wins_whenTheRequestWasWrittenFirst() {
        store.jobs.put(JOB_ID, running());

        assertEquals(202, cancel().getStatusCode());
        // The worker's success comes after: refused; it writes CANCELLED instead.
        assertFalse(store.complete(lease(), JobStore.Completion.of("{\"ok\":1}"), NOW));
        assertTrue(store.cancel(lease(), "cancelled by the client", null, NOW));
        Job job = store.jobs.get(JOB_ID);
        assertEquals(JobStatus.CANCELLED, job.status());
        assertNull(job.result(), "never both");
    }

    @Test
    void aCancelRacingAFailedAttempt_thatWentBackToTheQueue_cancelsItThere() {
        store.jobs.put(JOB_ID, running());
        AtomicInteger requests = new AtomicInteger();
        store.beforeRequestCancel = () -> {
            if (requests.incrementAndGet() == 1) {
                assertTrue(store.retryLater(lease(), "exit 1", null, NOW));
            }
        };

        APIGatewayProxyResponseEvent response = cancel();

        assertEquals(200, response.getStatusCode(), response.getBody());
        assertEquals(JobStatus.CANCELLED, store.jobs.get(JOB_ID).status());
    }

    @Test
    void aJobThatKeepsMoving_is503WithRetryAfter() {
        store.jobs.put(JOB_ID, running());
        store.beforeRequestCancel = () -> store.jobs.put(JOB_ID, job(JobStatus.QUEUED));
        store.beforeCancelWaiting = () -> store.jobs.put(JOB_ID, running());

        APIGatewayProxyResponseEvent response = cancel();

        assertEquals(503, response.getStatusCode());
        assertEquals("1", response.getHeaders().get("Retry-After"));
    }

    @Test
    void aTableThatCannotBeReached_is503_andChangesNothing() {
        store.jobs.put(JOB_ID, job(JobStatus.QUEUED));
        store.unavailable = true;

        APIGatewayProxyResponseEvent response = cancel();

        assertEquals(503, response.getStatusCode());
        assertTrue(response.getHeaders().containsKey("Retry-After"));
        assertEquals(JobStatus.QUEUED, store.jobs.get(JOB_ID).status());
    }
}
