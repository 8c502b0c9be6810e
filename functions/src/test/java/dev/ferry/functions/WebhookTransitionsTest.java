package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ferry.core.Job;
import dev.ferry.core.JobStatus;
import dev.ferry.core.JobTable;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/** Which writes to a job's record are which webhook events. */
class WebhookTransitionsTest {

    private static final String JOB_ID = "01JD3N3Y3ZX2W0K7Q8M9P4R5S6";
    private static final Instant T = Instant.parse("2026-11-22T10:00:00Z");
    private static final List<String> ALL = WebhookRequest.EVENTS;

    private static Job.Builder job(JobStatus status, long version, List<String> events) {
        return Job.builder().jobId(JOB_ID).type("sdxl").input("{}").status(status).version(version).attempts(1)
                .createdAt(T).updatedAt(T.plusSeconds(version)).webhookUrl("https://hooks.example.com/x")
                .webhookEvents(events);
    }

    private static Map<String, AttributeValue> image(Job.Builder job) {
        return new HashMap<>(JobTable.SCHEMA.itemToMap(job.build(), true));
    }

    private static List<String> ids(Job.Builder before, Job.Builder after) {
        return WebhookTransitions.of(before == null ? Map.of() : image(before), image(after)).stream()
                .map(WebhookMessage::deliveryId).toList();
    }

    @Test
    void aClaim_isStarted_andATakeOverOfARunningJob_isStartedAgain_butARenewalIsNothing() {
        assertEquals(List.of(JOB_ID + "-started-1"), ids(job(JobStatus.QUEUED, 0, ALL),
                job(JobStatus.RUNNING, 1, ALL).leaseId("a")));
        assertEquals(List.of(JOB_ID + "-started-2"), ids(job(JobStatus.RUNNING, 1, ALL).leaseId("a"),
                job(JobStatus.RUNNING, 2, ALL).leaseId("b")), "its lease ran out and another worker took it");
        assertEquals(List.of(), ids(job(JobStatus.RUNNING, 1, ALL).leaseId("a").leaseExpiresAt(1L),
                job(JobStatus.RUNNING, 1, ALL).leaseId("a").leaseExpiresAt(2L)));
    }

    @Test
    void theEnds_areCompletedFailedCancelled_andARetryIsNothing() {
        assertEquals(List.of(JOB_ID + "-completed-2"), ids(job(JobStatus.RUNNING, 1, ALL),
                job(JobStatus.SUCCEEDED, 2, ALL)));
        assertEquals(List.of(JOB_ID + "-failed-2"), ids(job(JobStatus.RUNNING, 1, ALL), job(JobStatus.FAILED, 2, ALL)));
        assertEquals(List.of(JOB_ID + "-cancelled-3"), ids(job(JobStatus.FAILED, 2, ALL),
                job(JobStatus.CANCELLED, 3, ALL)));
        assertEquals(List.of(), ids(job(JobStatus.RUNNING, 1, ALL), job(JobStatus.QUEUED, 2, ALL).error("exit 1")));
        assertEquals(List.of(), ids(job(JobStatus.FAILED, 2, ALL), job(JobStatus.FAILED, 2, ALL)
                .redriveRequestedAt(T)), "a redrive's mark is no event");
    }

    @Test
    void aJobRedrivenAndFailedAgain_failsAgain_underANewId() {
        List<String> first = ids(job(JobStatus.RUNNING, 1, ALL), job(JobStatus.FAILED, 2, ALL));
        List<String> again = ids(job(JobStatus.RUNNING, 3, ALL), job(JobStatus.FAILED, 4, ALL));

        assertEquals(List.of(JOB_ID + "-failed-2"), first);
        assertEquals(List.of(JOB_ID + "-failed-4"), again);
    }

    @Test
    void progress_isAChangeOfProgressAt_identifiedByItsTime() {
        Map<String, AttributeValue> before = image(job(JobStatus.RUNNING, 1, ALL));
        Map<String, AttributeValue> after = image(job(JobStatus.RUNNING, 1, ALL));
        after.put("progress", AttributeValue.fromN("0.25"));
        after.put("progressAt", AttributeValue.fromS("2026-11-22T10:00:02.500Z"));

        List<WebhookMessage> messages = WebhookTransitions.of(before, after);

        assertEquals(1, messages.size());
        assertEquals(JOB_ID + "-progress-1-" + Instant.parse("2026-11-22T10:00:02.500Z").toEpochMilli(), messages.get(0).deliveryId());
        assertEquals(Instant.parse("2026-11-22T10:00:02.500Z"), messages.get(0).at());
        assertEquals(List.of(), WebhookTransitions.of(after, after), "the same progress written again is nothing");
    }

    @Test
    void onlyTheChosenEvents_andTheDefaultIsTheEnds() {
        List<String> ends = List.of("completed");
        assertEquals(List.of(), ids(job(JobStatus.QUEUED, 0, ends), job(JobStatus.RUNNING, 1, ends)));
        assertEquals(List.of(), ids(job(JobStatus.RUNNING, 1, ends), job(JobStatus.FAILED, 2, ends)));
        assertEquals(List.of(JOB_ID + "-failed-2"), ids(job(JobStatus.RUNNING, 1, null),
                job(JobStatus.FAILED, 2, null)), "no events stored: completed, failed, cancelled");
        assertEquals(List.of(), ids(job(JobStatus.QUEUED, 0, null), job(JobStatus.RUNNING, 1, null)));
    }

    @Test
    void aJobWithoutAWebhook_makesNoEvent() {
        Job.Builder before = job(JobStatus.RUNNING, 1, null).webhookUrl(null);
        Job.Builder after = job(JobStatus.SUCCEEDED, 2, null).webhookUrl(null);

        assertEquals(List.of(), ids(before, after));
        assertEquals(List.of(), WebhookTransitions.of(image(before), Map.of()), "a deletion");
    }
}
