package dev.ferry.functions;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A submit's webhook: the URL Ferry POSTs the job to, and on which of its events.
 *
 * @param url the checked URL, as the client wrote it
 * @param events the events chosen, in {@link #EVENTS} names, without repeats
 */
record WebhookRequest(String url, List<String> events) {

    static final String COMPLETED = "completed";
    static final String FAILED = "failed";
    static final String CANCELLED = "cancelled";
    static final String PROGRESS = "progress";
    static final String STARTED = "started";
    /** Every event a webhook may ask for. */
    static final List<String> EVENTS = List.of(COMPLETED, FAILED, CANCELLED, PROGRESS, STARTED);
    /** What a webhook gets unless it says otherwise: the job's end, however it ends. */
    static final List<String> DEFAULT_EVENTS = List.of(COMPLETED, FAILED, CANCELLED);

    WebhookRequest {
        events = List.copyOf(events);
    }

    /**
     * Reads {@code webhookUrl} and {@code webhookEvents} from a submit's body.
     *
     * @return empty when the body names no webhook
     * @throws ApiException 400 naming the field at fault
     */
    static Optional<WebhookRequest> parse(JsonNode body, WebhookUrlPolicy policy) {
        JsonNode url = body.get("webhookUrl");
        JsonNode events = body.get("webhookEvents");
        if (url == null || url.isNull()) {
            if (events != null && !events.isNull()) {
                throw ApiException.badRequest("field \"webhookEvents\" needs \"webhookUrl\": the URL to POST the"
                        + " events to");
            }
            return Optional.empty();
        }
        if (!url.isTextual()) {
            throw ApiException.badRequest("field \"webhookUrl\" must be a string: an https:// URL");
        }
        policy.check(url.asText(), "webhookUrl");
        return Optional.of(new WebhookRequest(url.asText(), events(events)));
    }

    private static List<String> events(JsonNode events) {
        if (events == null || events.isNull()) {
            return DEFAULT_EVENTS;
        }
        if (!events.isArray()) {
            throw ApiException.badRequest("field \"webhookEvents\" must be an array of event names, some of "
                    + EVENTS);
        }
        if (events.isEmpty()) {
            throw ApiException.badRequest("field \"webhookEvents\" must name at least one event of " + EVENTS
                    + " (or leave it out for " + DEFAULT_EVENTS + ")");
        }
        List<String> chosen = new ArrayList<>();
        for (int i = 0; i < events.size(); i++) {
            JsonNode event = events.get(i);
            if (!event.isTextual() || !EVENTS.contains(event.asText())) {
                throw ApiException.badRequest("field \"webhookEvents[" + i + "]\": unknown event " + event
                        + "; the events are " + EVENTS);
            }
            if (!chosen.contains(event.asText())) {
                chosen.add(event.asText());
            }
        }
        return chosen;
    }

    /** What an idempotent replay must match besides the job: the URL and the events. */
    String fingerprint() {
        return url + "\n" + String.join(",", events);
    }
}
