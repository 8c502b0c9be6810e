package dev.ferry.functions;

import dev.ferry.core.Job;
import dev.ferry.core.JobStatus;
import dev.ferry.core.JobTable;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * The webhook events one write to a job's record makes, read from the record before and after it
 * (the table's change stream carries both): nothing a worker remembers, so an event is not lost
 * when the worker that caused it dies right after its write.
 *
 * <ul>
 *   <li>{@code started}: the record turns RUNNING, or a RUNNING record gets a new lease (an attempt
 *       taken over): once per attempt.</li>
 *   <li>{@code completed}, {@code failed}, {@code cancelled}: the record turns SUCCEEDED, FAILED,
 *       CANCELLED (a job redriven and failed again fails again).</li>
 *   <li>{@code progress}: the record's {@code progressAt} changes (the worker writes it with a
 *       progress report).</li>
 * </ul>
 *
 * Only the events the job's webhook chose, and none for a job without one.
 */
final class WebhookTransitions {

    /** The record's time of its latest progress report (ISO instant), written with the progress. */
    static final String PROGRESS_AT = "progressAt";

    private WebhookTransitions() {
    }

    /**
     * The deliveries to make for this change of the record.
     *
     * @param oldImage the record before the write; empty for a new record
     * @param newImage the record after it; empty when it was deleted
     */
    static List<WebhookMessage> of(Map<String, AttributeValue> oldImage, Map<String, AttributeValue> newImage) {
        if (newImage == null || newImage.isEmpty() || !newImage.containsKey(JobTable.WEBHOOK_URL)) {
            return List.of();
        }
        Job after = JobTable.SCHEMA.mapToItem(newImage);
        Job before = oldImage == null || oldImage.isEmpty() ? null : JobTable.SCHEMA.mapToItem(oldImage);
        List<String> chosen = after.webhookEvents().isEmpty() ? WebhookRequest.DEFAULT_EVENTS : after.webhookEvents();
        Instant at = after.updatedAt() != null ? after.updatedAt() : Instant.EPOCH;
        List<WebhookMessage> messages = new ArrayList<>();
        String statusEvent = statusEvent(before, after);
        if (statusEvent != null && chosen.contains(statusEvent)) {
            messages.add(WebhookMessage.first(after.jobId(), statusEvent, after.version(), at, null));
        }
        String progressAt = text(newImage, PROGRESS_AT);
        if (progressAt != null && !progressAt.equals(oldImage == null ? null : text(oldImage, PROGRESS_AT))
                && chosen.contains(WebhookRequest.PROGRESS)) {
            Instant when = instant(progressAt);
            messages.add(WebhookMessage.first(after.jobId(), WebhookRequest.PROGRESS, after.version(),
                    when == null ? at : when, when == null ? progressAt.replaceAll("[^0-9A-Za-z]", "")
                            : Long.toString(when.toEpochMilli())));
        }
        return messages;
    }

    private static String statusEvent(Job before, Job after) {
        JobStatus was = before == null ? null : before.status();
        JobStatus now = after.status();
        if (now == null) {
            return null;
        }
        if (now == JobStatus.RUNNING) {
            boolean newLease = was == JobStatus.RUNNING && !Objects.equals(before.leaseId(), after.leaseId());
            return was != JobStatus.RUNNING || newLease ? WebhookRequest.STARTED : null;
        }
        if (now == was) {
            return null;
        }
        return switch (now) {
            case SUCCEEDED -> WebhookRequest.COMPLETED;
            case FAILED -> WebhookRequest.FAILED;
            case CANCELLED -> WebhookRequest.CANCELLED;
            default -> null;
        };
    }

    private static String text(Map<String, AttributeValue> image, String name) {
        AttributeValue value = image.get(name);
        return value == null ? null : value.s();
    }

    private static Instant instant(String text) {
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            return null;
        }
    }
}
