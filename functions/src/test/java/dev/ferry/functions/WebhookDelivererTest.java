package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Job;
import dev.ferry.core.JobStatus;
import dev.ferry.core.Json;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.threeten.extra.MutableClock;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.sqs.model.SendMessageRequest;

/** One delivery attempt end to end against a real HTTP receiver on this machine: what is sent, recorded, retried. */
class WebhookDelivererTest {

    private static final String JOB_ID = "01JD3N3Y3ZX2W0K7Q8M9P4R5S6";
    private static final String SECRET = "whsec-test-secret-0123456789";
    private static final Instant NOW = Instant.parse("2026-11-22T10:00:00Z");

    private final Receiver receiver = new Receiver();
    private final InMemoryJobStore jobs = new InMemoryJobStore();
    private final DeliveriesTable table = new DeliveriesTable();
    private final WebhookDeliveryStore deliveries = new WebhookDeliveryStore(table, "deliveries", Duration.ofDays(30),
            Clock.fixed(NOW, ZoneOffset.UTC));
    private final RecordingSqs sqs = new RecordingSqs(new ArrayList<>());
    private final MutableClock clock = MutableClock.of(NOW, ZoneOffset.UTC);
    private final WebhookRetryPolicy retries = new WebhookRetryPolicy(Duration.ofSeconds(10), Duration.ofHours(1),
            Duration.ofHours(24));

    @AfterEach
    void stop() {
        receiver.close();
    }

    private WebhookDeliverer deliverer(boolean allowPrivate, WebhookSender.Resolver resolver) {
        try {
            WebhookSender sender = new WebhookSender(new WebhookHttp(SSLContext.getDefault(), Duration.ofSeconds(2)),
                    resolver, WebhookSecret.of(SECRET), allowPrivate, Duration.ofSeconds(5), clock);
            return new WebhookDeliverer(jobs, Optional.empty(), deliveries, sender,
                    new WebhookQueue(sqs, "https://sqs.local/webhooks"), retries, clock, () -> 0.5);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private WebhookDeliverer deliverer() {
        return deliverer(true, InetAddress::getAllByName);
    }

    private void job(String url) {
        jobs.jobs.put(JOB_ID, Job.builder().jobId(JOB_ID).type("sdxl").input("{}").status(JobStatus.SUCCEEDED)
                .attempts(1).version(2L).result("{\"image\":\"out.png\"}").createdAt(NOW).updatedAt(NOW)
                .finishedAt(NOW).webhookUrl(url).webhookEvents(List.of("completed", "failed")).build());
    }

    private static WebhookMessage completed() {
        return WebhookMessage.first(JOB_ID, "completed", 2, NOW, null);
    }

    private List<WebhookMessage> queued() {
        return sqs.sent.stream().map(SendMessageRequest::messageBody).map(WebhookMessage::parse).toList();
    }

    private WebhookDeliveries.Attempt lastAttempt() {
        List<WebhookDeliveries.Attempt> attempts = deliveries.get(JOB_ID).orElseThrow().attempts();
        return attempts.get(attempts.size() - 1);
    }

    @Test
    void a2xx_isDelivered_signed_withTheJobAndTheEvent_andRecorded() {
        job(receiver.url("/hooks/ferry?team=7").toString());

        assertEquals(WebhookDeliverer.Outcome.DELIVERED, deliverer().deliver(completed()));

        Receiver.Request request = receiver.requests.get(0);
        assertEquals("POST", request.method());
        assertEquals("/hooks/ferry?team=7", request.path());
        assertEquals("application/json", request.header("Content-Type"));
        assertEquals(JOB_ID + "-completed-2", request.header("Ferry-Webhook-Id"));
        assertEquals("completed", request.header("Ferry-Webhook-Event"));
        assertEquals(String.valueOf(NOW.getEpochSecond()), request.header("Ferry-Webhook-Timestamp"));
        assertEquals(WebhookSigner.signature(SECRET, request.header("Ferry-Webhook-Id"), NOW.getEpochSecond(),
                request.body().getBytes(StandardCharsets.UTF_8)), request.header("Ferry-Webhook-Signature"));
        JsonNode body = Json.parse(request.body());
        assertEquals("completed", body.get("event").asText());
        assertEquals(JOB_ID, body.get("jobId").asText());
        assertEquals("SUCCEEDED", body.get("status").asText());
        assertEquals("out.png", body.get("result").get("image").asText());

        WebhookDeliveries recorded = deliveries.get(JOB_ID).orElseThrow();
        WebhookDeliveries.Attempt attempt = recorded.attempts().get(0);
        assertEquals(WebhookDeliveries.DELIVERED, attempt.outcome());
        assertEquals(200, attempt.statusCode());
        assertEquals(1, attempt.attempt());
        assertNull(attempt.error());
        assertEquals(List.of(JOB_ID + "-completed-2"), recorded.settled());
        assertEquals("completed", recorded.latest().event());
        assertEquals(List.of(), sqs.sent, "nothing more to send");
    }

    @Test
    void aCopyOfASettledDelivery_isNotSentAgain() {
        job(receiver.url("/").toString());
        deliverer().deliver(completed());

        assertEquals(WebhookDeliverer.Outcome.DUPLICATE, deliverer().deliver(completed()));

        assertEquals(1, receiver.requests.size());
    }

    @ParameterizedTest
    @ValueSource(ints = {500, 502, 503, 408, 429})
    void aServerErrorTimeoutOrThrottle_isRetried_withTheNextAttemptQueuedAfterItsBackOff(int status) {
        job(receiver.answer(status).url("/").toString());

        assertEquals(WebhookDeliverer.Outcome.RETRYING, deliverer().deliver(completed()));

        WebhookMessage next = queued().get(0);
        assertEquals(2, next.attempt());
        assertEquals(JOB_ID + "-completed-2", next.deliveryId(), "the same delivery, the same id");
        assertEquals(NOW.plusMillis(7_500), next.notBefore(), "half of 10 s fixed, half random (0.5 here)");
        assertEquals(8, sqs.sent.get(0).delaySeconds());
        WebhookDeliveries.Attempt attempt = lastAttempt();
        assertEquals(WebhookDeliveries.RETRYING, attempt.outcome());
        assertEquals(status, attempt.statusCode());
        assertTrue(attempt.error().startsWith("HTTP " + status), attempt.error());
        assertEquals(List.of(), deliveries.get(JOB_ID).orElseThrow().settled());
    }

    @Test
    void aRetryAfter_isHonoured_upToTheLongestBackOff() {
        job(receiver.answer(new Receiver.Answer(429, Map.of("Retry-After", "120"), "slow down")).url("/").toString());

        deliverer().deliver(completed());

        assertEquals(NOW.plusSeconds(120), queued().get(0).notBefore());
        assertTrue(lastAttempt().error().contains("slow down"), lastAttempt().error());
    }

    @Test
    void theBackOff_doubles_upToItsLongest_andSqsIsNeverAskedToDelayMoreThan15Minutes() {
        for (int attempt = 1; attempt <= 12; attempt++) {
            Duration doubled = Duration.ofSeconds(10).multipliedBy(1L << (attempt - 1));
            Duration ceiling = doubled.compareTo(Duration.ofHours(1)) > 0 ? Duration.ofHours(1) : doubled;
            Duration most = retries.delay(attempt, null, () -> 0.999);
            Duration least = retries.delay(attempt, null, () -> 0);
            assertTrue(most.compareTo(ceiling) <= 0 && most.compareTo(ceiling.multipliedBy(99).dividedBy(100)) >= 0,
                    attempt + ": " + most);
            assertEquals(ceiling.dividedBy(2), least, "attempt " + attempt);
        }
        assertEquals(Duration.ofMinutes(30), retries.delay(12, null, () -> 0), "half of the hour is fixed");

        job(receiver.answer(500).url("/").toString());
        WebhookMessage tenth = new WebhookMessage(JOB_ID + "-completed-2", JOB_ID + "-completed-2", JOB_ID, "completed",
                2, NOW, NOW, 10, null, false);
        deliverer().deliver(tenth);

        assertEquals(900, sqs.sent.get(0).delaySeconds(), "the rest waits in the message's notBefore");
        assertEquals(NOW.plus(Duration.ofMinutes(45)), queued().get(0).notBefore());
    }

    @Test
    void aMessageNotDueYet_goesBackToWait_withoutARequest() {
        job(receiver.url("/").toString());
        WebhookMessage later = completed().next(NOW.plus(Duration.ofMinutes(40)));

        assertEquals(WebhookDeliverer.Outcome.POSTPONED, deliverer().deliver(later));

        assertEquals(List.of(), receiver.requests);
        assertEquals(900, sqs.sent.get(0).delaySeconds());
        assertEquals(later, queued().get(0), "the same attempt, still due at the same time");
    }

    @ParameterizedTest
    @ValueSource(ints = {400, 401, 403, 404, 413, 422})
    void aClientError_isGivenUpAtOnce(int status) {
        job(receiver.answer(status).url("/").toString());

        assertEquals(WebhookDeliverer.Outcome.GAVE_UP, deliverer().deliver(completed()));

        assertEquals(List.of(), sqs.sent);
        assertEquals(WebhookDeliveries.GAVE_UP, lastAttempt().outcome());
        assertTrue(lastAttempt().error().contains("not retried"), lastAttempt().error());
        assertEquals(List.of(JOB_ID + "-completed-2"), deliveries.get(JOB_ID).orElseThrow().settled());
    }

    @Test
    void a410_givesUp_andSkipsTheJobsLaterEvents_butAResendIsSent() {
        job(receiver.answer(410).url("/").toString());
        deliverer().deliver(completed());
        assertNotNull(deliveries.get(JOB_ID).orElseThrow().goneAt());

        WebhookMessage later = WebhookMessage.first(JOB_ID, "failed", 4, NOW.plusSeconds(60), null);
        assertEquals(WebhookDeliverer.Outcome.SKIPPED, deliverer().deliver(later));
        assertEquals(1, receiver.requests.size(), "not sent");
        assertTrue(lastAttempt().error().contains("410 Gone"), lastAttempt().error());

        WebhookMessage resend = WebhookMessage.resend(deliveries.get(JOB_ID).orElseThrow().latest(), JOB_ID,
                NOW.plusSeconds(120));
        assertEquals(WebhookDeliverer.Outcome.DELIVERED, deliverer().deliver(resend));
        assertEquals(2, receiver.requests.size());
        assertTrue(receiver.requests.get(1).header("Ferry-Webhook-Id").startsWith(JOB_ID + "-failed-4-resend-"),
                "a Resend is of the latest event, under a new id");
        assertNull(deliveries.get(JOB_ID).orElseThrow().goneAt(), "a success lifts it");
    }

    @Test
    void aRedirect_isNotFollowed() {
        job(receiver.answer(new Receiver.Answer(302, Map.of("Location", "http://169.254.169.254/latest/meta-data/"),
                "")).url("/").toString());

        assertEquals(WebhookDeliverer.Outcome.GAVE_UP, deliverer().deliver(completed()));

        assertEquals(1, receiver.requests.size());
        assertTrue(lastAttempt().error().startsWith("HTTP 302 to http://169.254.169.254/latest/meta-data/"
                + " (redirects are not followed)"), lastAttempt().error());
    }

    @Test
    void noAnswer_isRetried() throws Exception {
        int closed;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = socket.getLocalPort();
        }
        job("http://127.0.0.1:" + closed + "/hook");

        assertEquals(WebhookDeliverer.Outcome.RETRYING, deliverer().deliver(completed()));

        assertNull(lastAttempt().statusCode());
        assertTrue(lastAttempt().error().startsWith("connection refused at 127.0.0.1"), lastAttempt().error());
    }

    @Test
    void aDeliveryOutOfTime_givesUp_sayingHowLongItTried() {
        job(receiver.answer(503).url("/").toString());
        clock.setInstant(NOW.plus(Duration.ofHours(24)).minusSeconds(5));

        assertEquals(WebhookDeliverer.Outcome.GAVE_UP, deliverer().deliver(completed().next(null)));

        assertEquals(List.of(), sqs.sent);
        assertTrue(lastAttempt().error().endsWith("gave up: still failing 24 h after the delivery began"),
                lastAttempt().error());
    }

    @Test
    void aNameThatResolvesToAPrivateAddress_isRefusedAtDelivery_withoutConnecting() {
        job("https://hooks.example.com:" + receiver.port() + "/x");
        WebhookDeliverer strict = deliverer(false, host -> new InetAddress[] {
                InetAddress.getByName("93.184.215.14"), InetAddress.getByName("169.254.169.254")});

        assertEquals(WebhookDeliverer.Outcome.GAVE_UP, strict.deliver(completed()));

        assertEquals(List.of(), receiver.requests);
        assertTrue(lastAttempt().error().startsWith("hooks.example.com resolves to 169.254.169.254, a link-local"
                + " address (the cloud metadata service lives there): refused"), lastAttempt().error());
        assertEquals(List.of(), sqs.sent, "never retried");
    }

    @Test
    void theConnection_goesToTheAddressChecked_withTheUrlsHostInTheRequest() {
        job("http://hooks.example.com:" + receiver.port() + "/x");
        WebhookDeliverer pinned = deliverer(true, host -> new InetAddress[] {InetAddress.getLoopbackAddress()});

        assertEquals(WebhookDeliverer.Outcome.DELIVERED, pinned.deliver(completed()));

        assertEquals("hooks.example.com:" + receiver.port(), receiver.requests.get(0).header("Host"));
    }

    @Test
    void aJobGone_isSkipped_andRecorded() {
        assertEquals(WebhookDeliverer.Outcome.SKIPPED, deliverer().deliver(completed()));

        assertTrue(lastAttempt().error().contains("record is gone"), lastAttempt().error());
    }

    @Test
    void aRetryThatCannotBeQueued_failsTheMessage_soSqsShowsItAgain() {
        job(receiver.answer(500).url("/").toString());
        sqs.failure = () -> SdkClientException.create("Unable to execute HTTP request: Connect timed out");

        assertThrows(SdkException.class, () -> deliverer().deliver(completed()));
    }

    @Test
    void deliveriesThatCannotBeRead_failTheMessage_beforeAnyRequest() {
        job(receiver.url("/").toString());
        table.unavailable = true;

        assertThrows(SdkException.class, () -> deliverer().deliver(completed()), "the message comes back later");
        assertEquals(List.of(), receiver.requests);
    }

    @Test
    void anAttemptThatCannotBeRecorded_isStillSettled_andNotSentAgain() {
        job(receiver.url("/").toString());
        table.putsFail = true;

        assertEquals(WebhookDeliverer.Outcome.DELIVERED, deliverer().deliver(completed()));

        assertEquals(1, receiver.requests.size());
        assertEquals(List.of(), sqs.sent, "a delivered webhook is not delivered again for want of its log entry");
    }

}
