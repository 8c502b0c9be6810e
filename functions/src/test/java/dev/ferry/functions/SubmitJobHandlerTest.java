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
import software.amazon.awssdk.core.exception.SdkClientException;
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
                Clock.fixed(NOW, ZoneOffset.UTC), MAX_MESSAGE_BYTES, allowedTypes), store,
                new JobWaiter(new InMemoryJobQueries(store)::statuses), 25, java.util.Optional.empty());
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
        assertEquals(JobStatus.QUEUED, store.jobs.get(jobId).status());
        assertNull(store.jobs.get(jobId).expiresAt(), "only finished jobs carry a TTL");
    }

    @Test
    void submit_writesTheRecordBeforeSendingTheMessage() {
        call(withBody("{\"type\":\"sample\",\"input\":{}}", null));

        assertEquals(3, events.size(), events.toString());
        assertTrue(events.get(0).startsWith("put "), events.toString());
        assertTrue(events.get(1).startsWith("send "), events.toString());
        assertTrue(events.get(2).startsWith("queued "), events.toString());
    }

    @Test
    void theRecordIsPendingUntilItsMessageIsSent_withAHoldAndASafetyTtl() {
        sqs.failure = () -> {
            // Look at the record at the moment of the send.
            Job atSend = store.jobs.values().iterator().next();
            assertEquals(JobStatus.PENDING, atSend.status());
            assertEquals(NOW.plus(JobSubmitter.SEND_HOLD).toEpochMilli(), atSend.sendingUntil());
            assertEquals(NOW.plus(dev.ferry.core.DynamoDbJobStore.PENDING_RETENTION).getEpochSecond(),
                    atSend.expiresAt());
            return SdkClientException.create("checked");
        };
        call(withBody("{\"type\":\"sample\"}", null));
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
    void sendFails_503WithRetryAfter_leavesNothingBehind_andTheRetrySendsIt() {
        sqs.unavailable = true;
        APIGatewayProxyResponseEvent failed = call(withBody("{\"type\":\"sample\",\"input\":7}", "k-3"));

        assertEquals(503, failed.getStatusCode());
        assertTrue(body(failed).get("error").asText().contains("nothing was kept"), failed.getBody());
        assertTrue(failed.getHeaders().containsKey("Retry-After"), failed.getHeaders().toString());
        assertTrue(store.jobs.isEmpty(), "no record reads QUEUED (or anything) without its message");

        sqs.unavailable = false;
        APIGatewayProxyResponseEvent retry = call(withBody("{\"type\":\"sample\",\"input\":7}", "k-3"));

        assertEquals(202, retry.getStatusCode());
        String jobId = body(retry).get("jobId").asText();
        assertEquals(1, sqs.sent.size());
        assertEquals(jobId, JobMessage.parse(sqs.sent.get(0).messageBody()).jobId());
        assertEquals(JobStatus.QUEUED, store.jobs.get(jobId).status());
    }

    @Test
    void sendWhoseResponseWasLost_butAlreadyClaimedByAWorker_isAccepted() {
        sqs.lostResponse = () -> {
            String jobId = store.jobs.keySet().iterator().next();
            store.claim(jobId, "w1", "m-1", NOW.plusSeconds(60), NOW); // a worker was quicker than the response
            return SdkClientException.create("Unable to execute HTTP request: Connection reset");
        };

        APIGatewayProxyResponseEvent response = call(withBody("{\"type\":\"sample\"}", null));

        assertEquals(202, response.getStatusCode(), response.getBody());
        assertEquals("RUNNING", body(response).get("status").asText());
    }

    @Test
    void sendFails_andTheCleanupFailsToo_saysRetryingWithTheKeyIsSafe() {
        sqs.failure = () -> {
            store.unavailable = true;
            return SdkClientException.create("Unable to execute HTTP request: Connection reset");
        };

        APIGatewayProxyResponseEvent response = call(withBody("{\"type\":\"sample\"}", "k-5"));

        assertEquals(503, response.getStatusCode());
        assertTrue(body(response).get("error").asText().contains("same Idempotency-Key"), response.getBody());
        store.unavailable = false;
        Job left = store.jobs.values().iterator().next();
        assertEquals(JobStatus.PENDING, left.status(), "never QUEUED without its message");
    }

    @Test
    void markFails_afterTheSend_theJobIsStillAccepted() {
        store.markFails = true;

        APIGatewayProxyResponseEvent response = call(withBody("{\"type\":\"sample\"}", null));

        assertEquals(202, response.getStatusCode());
        assertEquals("QUEUED", body(response).get("status").asText());
        assertEquals(1, sqs.sent.size());
        // The record reads PENDING (a worker claims it like a queued one), with a TTL longer than any message lives.
        assertEquals(JobStatus.PENDING, store.jobs.values().iterator().next().status());
    }

    @Test
    void replayOfASubmitWhoseSenderVanished_takesTheSendingOver_once() {
        // A first request wrote the record and died before sending: its hold has run out.
        Job orphan = Job.builder().jobId(JobIds.forIdempotencyKey(Requests.callerScope(fixture()), "k-6")).type("sample").input("null")
                .requestHash(SubmitRequest.parse("{\"type\":\"sample\"}", "k-6").fingerprint())
                .idempotencyKey("k-6").status(JobStatus.PENDING).attempts(0).version(0L).createdAt(NOW.minusSeconds(60))
                .updatedAt(NOW.minusSeconds(60)).sendingUntil(NOW.minusSeconds(30).toEpochMilli()).build();
        store.jobs.put(orphan.jobId(), orphan);

        APIGatewayProxyResponseEvent replay = call(withBody("{\"type\":\"sample\"}", "k-6"));
        APIGatewayProxyResponseEvent again = call(withBody("{\"type\":\"sample\"}", "k-6"));

        assertEquals(200, replay.getStatusCode(), replay.getBody());
        assertEquals("QUEUED", body(replay).get("status").asText());
        assertEquals(200, again.getStatusCode());
        assertEquals(1, sqs.sent.size());
    }

    @Test
    void concurrentReplays_whileTheFirstRequestSends_sendNothingMore() throws Exception {
        java.util.concurrent.CountDownLatch replaysWaiting = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger sends = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(50);
        try {
            // The first request's send takes a while; 49 replays arrive meanwhile.
            sqs.failure = null;
            JobSubmitter slowFirst = new JobSubmitter(store, new RecordingSqs(events) {
                @Override
                public software.amazon.awssdk.services.sqs.model.SendMessageResponse sendMessage(
                        software.amazon.awssdk.services.sqs.model.SendMessageRequest request) {
                    sends.incrementAndGet();
                    try {
                        replaysWaiting.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return super.sendMessage(request);
                }
            }, "https://sqs.local/jobs", new JobIds(), Clock.fixed(NOW, ZoneOffset.UTC), MAX_MESSAGE_BYTES, Set.of(),
                    d -> Thread.sleep(5), UploadedInputs.none());
            SubmitRequest request = SubmitRequest.parse("{\"type\":\"sample\",\"input\":1}", "k-7");
            java.util.List<java.util.concurrent.Future<JobSubmitter.Submitted>> results = new java.util.ArrayList<>();
            results.add(threads.submit(() -> slowFirst.submit(request, "")));
            while (store.jobs.isEmpty()) {
                Thread.sleep(1);
            }
            for (int i = 0; i < 49; i++) {
                results.add(threads.submit(() -> slowFirst.submit(request, "")));
            }
            Thread.sleep(50);
            replaysWaiting.countDown();
            for (java.util.concurrent.Future<JobSubmitter.Submitted> result : results) {
                assertEquals(JobStatus.QUEUED, result.get().job().status());
            }
        } finally {
            threads.shutdownNow();
        }
        assertEquals(1, sends.get(), "one message for fifty identical submits");
    }

    @Test
    void aDeniedSend_is502NamingThePermission_notARetry() {
        sqs.failure = () -> software.amazon.awssdk.services.sqs.model.SqsException.builder().statusCode(400)
                .message("not authorized")
                .awsErrorDetails(software.amazon.awssdk.awscore.exception.AwsErrorDetails.builder()
                        .errorCode("AccessDenied").errorMessage("User is not authorized to perform sqs:SendMessage")
                        .build())
                .build();

        APIGatewayProxyResponseEvent response = call(withBody("{\"type\":\"sample\"}", null));

        assertEquals(502, response.getStatusCode());
        String error = body(response).get("error").asText();
        assertTrue(error.contains("AccessDenied") && error.contains("retrying will not help"), error);
        assertTrue(store.jobs.isEmpty());
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
    void textSqsWouldRefuse_is400NamingTheField_beforeAnythingIsWritten() {
        assertRefused(400, "{\"type\":\"sample\",\"input\":{\"prompt\":\"a \\uFFFF\"}}", "k-8", "\"input.prompt\"");
        assertRefused(400, "{\"type\":\"sample\",\"input\":[\"\\uD800\"]}", null, "lone surrogate");
        assertRefused(400, "{\"type\":\"sample\",\"input\":\"\\uFFFE\"}", null, "U+FFFE");
    }

    @Test
    void aBodyThatIsNotJson_is415() {
        APIGatewayProxyRequestEvent form = withBody("type=sample", null);
        Map<String, String> headers = new HashMap<>(form.getHeaders());
        headers.put("Content-Type", "application/x-www-form-urlencoded");
        APIGatewayProxyResponseEvent response = call(form.withHeaders(headers));
        assertEquals(415, response.getStatusCode());
        assertTrue(body(response).get("error").asText().contains("Content-Type"), response.getBody());

        headers.put("Content-Type", "text/plain");
        assertEquals(415, call(form.withHeaders(headers)).getStatusCode());
        headers.remove("Content-Type");
        assertEquals(415, call(form.withHeaders(headers)).getStatusCode());
        headers.put("content-type", "application/json; charset=utf-8");
        assertEquals(202, call(withBody("{\"type\":\"sample\"}", null).withHeaders(headers)).getStatusCode());
        assertTrue(store.jobs.size() == 1);
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

    @Test
    void submit_withAStrictInvalidWait_is400_andLeavesNothingBehind() {
        APIGatewayProxyRequestEvent event = fixture();
        Map<String, String> headers = new HashMap<>(event.getHeaders());
        headers.put("Prefer", "handling=strict, wait=forever");

        APIGatewayProxyResponseEvent response = call(event.withHeaders(headers));

        assertEquals(400, response.getStatusCode());
        assertTrue(body(response).get("error").asText().startsWith("header Prefer"), response.getBody());
        assertTrue(events.isEmpty(), "nothing written, nothing sent: " + events);
    }

    @Test
    void submit_withPreferWait_answersWithTheJobAsItIsAfterTheWait_sameStatusCode() {
        // The job finishes while the request waits: the shared waiter's read sees it.
        InMemoryJobQueries finishing = new InMemoryJobQueries(store) {
            @Override
            public Statuses statuses(java.util.Collection<String> jobIds) {
                jobIds.forEach(id -> store.jobs.computeIfPresent(id, (key, job) -> job.toBuilder()
                        .status(JobStatus.SUCCEEDED).result("{\"image\":\"done.png\"}").build()));
                return super.statuses(jobIds);
            }
        };
        handler = new SubmitJobHandler(new JobSubmitter(store, sqs, "https://sqs.local/jobs", new JobIds(),
                Clock.fixed(NOW, ZoneOffset.UTC), MAX_MESSAGE_BYTES, Set.of()), store,
                new JobWaiter(finishing::statuses), 25, java.util.Optional.empty());
        APIGatewayProxyRequestEvent event = fixture();
        Map<String, String> headers = new HashMap<>(event.getHeaders());
        headers.put("prefer", "wait=10");

        APIGatewayProxyResponseEvent response = call(event.withHeaders(headers));

        assertEquals(202, response.getStatusCode(), "created, as without the wait");
        assertEquals("wait=10", response.getHeaders().get("Preference-Applied"));
        assertEquals("SUCCEEDED", body(response).get("status").asText());
        assertEquals("done.png", body(response).get("result").get("image").asText());
    }

    @Test
    void submit_whoseJobCannotBeReadAfterTheWait_isStillAccepted() {
        InMemoryJobQueries failing = new InMemoryJobQueries(store) {
            @Override
            public Statuses statuses(java.util.Collection<String> jobIds) {
                store.unavailable = true; // the table goes away while the request waits
                return new Statuses(java.util.Map.of(), java.util.Set.of());
            }
        };
        handler = new SubmitJobHandler(new JobSubmitter(store, sqs, "https://sqs.local/jobs", new JobIds(),
                Clock.fixed(NOW, ZoneOffset.UTC), MAX_MESSAGE_BYTES, Set.of()), store,
                new JobWaiter(failing::statuses), 25, java.util.Optional.empty());
        APIGatewayProxyRequestEvent event = fixture();
        Map<String, String> headers = new HashMap<>(event.getHeaders());
        headers.put("Prefer", "wait=5");

        APIGatewayProxyResponseEvent response = call(event.withHeaders(headers));

        assertEquals(202, response.getStatusCode(), "an error here would have the client submit it again");
        assertEquals("QUEUED", body(response).get("status").asText());
    }
}
