package dev.ferry.functions;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.Json;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Objects;

/**
 * One delivery to make, as the webhooks queue carries it: which job and event, which attempt, and
 * since when it is tried. It holds no job data: the delivery reads the job when it is made, so a
 * retry hours later carries fresh file URLs, and the message has the same small size whatever the
 * job's result.
 *
 * @param deliveryId {@code Ferry-Webhook-Id}: derived from the job, the event and the record's
 *     version ({@link #deliveryId}), so that the same event read twice from the table's stream is
 *     the same delivery; the same on each of its attempts
 * @param eventId the event's own delivery id: {@code deliveryId} itself, except for a Resend
 * @param jobId the job
 * @param event {@code completed}, {@code failed}, {@code cancelled}, {@code progress} or {@code started}
 * @param version the job record's version the event came with
 * @param at when the event happened
 * @param since when this delivery began (the event, or the Resend): it is retried for a bounded time from then
 * @param attempt the attempt this message asks for: 1, 2, ...
 * @param notBefore not to be attempted before this (a back-off longer than SQS can delay a message);
 *     null: at once
 * @param resend an operator's Resend: sent even after the receiver answered {@code 410 Gone}
 */
record WebhookMessage(String deliveryId, String eventId, String jobId, String event, long version, Instant at,
                      Instant since, int attempt, Instant notBefore, boolean resend) {

    WebhookMessage {
        Objects.requireNonNull(deliveryId, "deliveryId");
        Objects.requireNonNull(eventId, "eventId");
        Objects.requireNonNull(jobId, "jobId");
        Objects.requireNonNull(event, "event");
        Objects.requireNonNull(at, "at");
        Objects.requireNonNull(since, "since");
    }

    /** The first attempt of an event's delivery. */
    static WebhookMessage first(String jobId, String event, long version, Instant at, String discriminator) {
        String id = deliveryId(jobId, event, version, discriminator);
        return new WebhookMessage(id, id, jobId, event, version, at, at, 1, null, false);
    }

    /**
     * A delivery's id: {@code <jobId>-<event>-<version>}, and for progress, which the record's
     * version may not tell apart, the progress's time as well ({@code discriminator}).
     */
    static String deliveryId(String jobId, String event, long version, String discriminator) {
        return jobId + "-" + event + "-" + version + (discriminator == null ? "" : "-" + discriminator);
    }

    /** The next attempt, not before {@code notBefore}. */
    WebhookMessage next(Instant notBefore) {
        return new WebhookMessage(deliveryId, eventId, jobId, event, version, at, since, attempt + 1, notBefore, resend);
    }

    /** This very attempt again, not before {@code notBefore} (a back-off longer than SQS's longest delay). */
    WebhookMessage later(Instant notBefore) {
        return new WebhookMessage(deliveryId, eventId, jobId, event, version, at, since, attempt, notBefore, resend);
    }

    /** A new delivery of this event, made now: an operator's Resend. */
    static WebhookMessage resend(WebhookDeliveries.Event event, String jobId, Instant now) {
        return new WebhookMessage(event.deliveryId() + "-resend-" + now.toEpochMilli(), event.deliveryId(), jobId,
                event.event(), event.version(), event.at(), now, 1, null, true);
    }

    String toJson() {
        ObjectNode node = Json.MAPPER.createObjectNode()
                .put("deliveryId", deliveryId)
                .put("eventId", eventId)
                .put("jobId", jobId)
                .put("event", event)
                .put("version", version)
                .put("at", at.toString())
                .put("since", since.toString())
                .put("attempt", attempt);
        if (notBefore != null) {
            node.put("notBefore", notBefore.toString());
        }
        if (resend) {
            node.put("resend", true);
        }
        return Json.write(node);
    }

    /** @throws IllegalArgumentException when the text is not such a message */
    static WebhookMessage parse(String text) {
        JsonNode node = Json.parse(text);
        try {
            return new WebhookMessage(text(node, "deliveryId"), text(node, "eventId"), text(node, "jobId"),
                    text(node, "event"), node.path("version").asLong(), Instant.parse(text(node, "at")),
                    Instant.parse(text(node, "since")), Math.max(1, node.path("attempt").asInt(1)),
                    node.hasNonNull("notBefore") ? Instant.parse(node.get("notBefore").asText()) : null,
                    node.path("resend").asBoolean(false));
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("a webhook message with a malformed time: " + e.getMessage(), e);
        }
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || !value.isTextual()) {
            throw new IllegalArgumentException("a webhook message without \"" + field + "\"");
        }
        return value.asText();
    }
}
