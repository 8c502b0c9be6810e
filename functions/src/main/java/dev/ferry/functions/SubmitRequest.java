package dev.ferry.functions;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.JobFiles;
import dev.ferry.core.Json;
import java.util.Iterator;
import java.util.Optional;

/**
 * A validated {@code POST /jobs} request.
 *
 * @param type the job type
 * @param input the job's input (JSON {@code null} when the body had none); for an input sent as an
 *     upload, the marker the record and message carry instead ({@code {"$input": "up_..."}})
 * @param idempotencyKey the client's {@code Idempotency-Key}, if it sent one
 * @param webhook where to POST the job's events, if anywhere
 * @param deadline the deadline it asked for (field {@code deadline} or header {@code Cancel-After}),
 *     checked for form; {@link Deadlines} decides the instant. Not part of the fingerprint: a
 *     replay's {@code Cancel-After} counts from a later moment, and it gets the job as first accepted
 * @param highPriority whether it asked for its pool's high-priority lane ({@code "priority": "high"})
 */
record SubmitRequest(String type, JsonNode input, Optional<String> idempotencyKey, Optional<WebhookRequest> webhook,
                     Deadlines.Requested deadline, boolean highPriority) {

    /** The body's field naming the lane: {@value #HIGH} or {@value #NORMAL} (the default). */
    static final String PRIORITY = "priority";
    static final String HIGH = "high";
    static final String NORMAL = "normal";

    SubmitRequest(String type, JsonNode input, Optional<String> idempotencyKey) {
        this(type, input, idempotencyKey, Optional.empty(), Deadlines.Requested.NONE, false);
    }

    SubmitRequest(String type, JsonNode input, Optional<String> idempotencyKey, Optional<WebhookRequest> webhook,
                  Deadlines.Requested deadline) {
        this(type, input, idempotencyKey, webhook, deadline, false);
    }

    /** The upload the input was sent as, if it was. */
    Optional<String> inputUpload() {
        return JobFiles.inputUpload(input);
    }

    static final int MAX_IDEMPOTENCY_KEY_LENGTH = 255;

    /** The fields a submit's body may have. */
    private static final java.util.Set<String> FIELDS = java.util.Set.of("type", "input", "inputUpload",
            "webhookUrl", "webhookEvents", Deadlines.FIELD, PRIORITY);

    /** As {@link #parse(String, String, WebhookUrlPolicy)} under AWS's webhook rules. */
    static SubmitRequest parse(String body, String idempotencyKey) {
        return parse(body, idempotencyKey, WebhookUrlPolicy.STRICT, null);
    }

    /** The same under the given webhook rules. */
    static SubmitRequest parse(String body, String idempotencyKey, WebhookUrlPolicy webhooks) {
        return parse(body, idempotencyKey, webhooks, null);
    }

    /**
     * Parses and checks the body, the key and the {@code Cancel-After} header (null when absent);
     * an {@link ApiException} names what is wrong.
     */
    static SubmitRequest parse(String body, String idempotencyKey, WebhookUrlPolicy webhooks, String cancelAfter) {
        if (body == null || body.isBlank()) {
            throw ApiException.badRequest("request body is empty; send {\"type\": \"<name>\", \"input\": <any JSON>}");
        }
        JsonNode root;
        try {
            root = Json.parse(body);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("request body is not valid JSON: " + e.getMessage());
        }
        if (!root.isObject()) {
            throw ApiException.badRequest("request body must be a JSON object with fields \"type\" and \"input\"");
        }
        for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!FIELDS.contains(name)) {
                throw ApiException.badRequest("unknown field \"" + name + "\"; a job has \"type\" and \"input\""
                        + " (or \"inputUpload\"), and may have \"webhookUrl\", \"webhookEvents\", \"deadline\" and"
                        + " \"priority\"");
            }
        }
        JsonNode type = root.get("type");
        if (type == null || type.isNull()) {
            throw ApiException.badRequest("field \"type\" is required");
        }
        if (!type.isTextual()) {
            throw ApiException.badRequest("field \"type\" must be a string");
        }
        if (!JobTypeNames.valid(type.asText())) {
            throw ApiException.badRequest("field \"type\" must be 1-64 characters of letters, digits, '.', '_' or '-'"
                    + " starting with a letter or digit");
        }
        JsonNode input = root.has("input") ? root.get("input") : Json.MAPPER.nullNode();
        if (JobFiles.inputUpload(input).isPresent() || input.isObject() && input.has(JobFiles.INPUT_MARKER)) {
            throw ApiException.badRequest("field \"input\": \"" + JobFiles.INPUT_MARKER + "\" is reserved; to send"
                    + " the input as an upload, send {\"type\": ..., \"inputUpload\": \"<uploadId>\"}");
        }
        JsonNode upload = root.get("inputUpload");
        if (upload != null) {
            if (root.has("input")) {
                throw ApiException.badRequest("fields \"input\" and \"inputUpload\" exclude each other: send the"
                        + " input inline or as an upload");
            }
            if (!upload.isTextual() || !JobFiles.looksLikeUploadId(upload.asText())) {
                throw ApiException.badRequest("field \"inputUpload\" must be the uploadId POST /uploads returned"
                        + " (up_ and 26 letters or digits)");
            }
            input = JobFiles.inputMarker(upload.asText());
        }
        Optional<WebhookRequest> webhook = WebhookRequest.parse(root, webhooks);
        return new SubmitRequest(type.asText(), input, checkKey(idempotencyKey), webhook,
                deadline(root, cancelAfter), highPriority(root));
    }

    /** The body's {@code priority}: {@value #HIGH}, or {@value #NORMAL} where absent or null. */
    private static boolean highPriority(JsonNode root) {
        JsonNode field = root.get(PRIORITY);
        if (field == null || field.isNull()) {
            return false;
        }
        if (field.isTextual() && (field.asText().equals(HIGH) || field.asText().equals(NORMAL))) {
            return field.asText().equals(HIGH);
        }
        String shown = field.toString();
        throw ApiException.badRequest("field \"" + PRIORITY + "\" must be \"" + HIGH + "\" or \"" + NORMAL
                + "\" (the default), but is " + (shown.length() <= 40 ? shown : shown.substring(0, 40) + "…"));
    }

    /** The body's {@code deadline} or the {@code Cancel-After} header, checked for form; not both. */
    private static Deadlines.Requested deadline(JsonNode root, String cancelAfter) {
        JsonNode field = root.get(Deadlines.FIELD);
        if (field == null || field.isNull()) {
            return Deadlines.fromHeader(cancelAfter);
        }
        if (cancelAfter != null) {
            throw ApiException.badRequest("header " + Deadlines.CANCEL_AFTER + " and field \"" + Deadlines.FIELD
                    + "\" exclude each other: give the deadline one way");
        }
        String example = "an ISO-8601 instant such as \"2026-11-22T10:00:00Z\"";
        if (!field.isTextual()) {
            throw ApiException.badRequest("field \"" + Deadlines.FIELD + "\" must be " + example + ", but is " + field);
        }
        try {
            return new Deadlines.Requested(java.time.Instant.parse(field.asText().strip()), null);
        } catch (java.time.format.DateTimeParseException e) {
            String text = field.asText();
            throw ApiException.badRequest("field \"" + Deadlines.FIELD + "\" must be " + example + ", but is \""
                    + (text.length() <= 40 ? text : text.substring(0, 40) + "…") + "\"");
        }
    }

    private static Optional<String> checkKey(String key) {
        if (key == null) {
            return Optional.empty();
        }
        if (key.isEmpty() || key.length() > MAX_IDEMPOTENCY_KEY_LENGTH) {
            throw ApiException.badRequest("header Idempotency-Key must be 1-" + MAX_IDEMPOTENCY_KEY_LENGTH + " characters");
        }
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c < 0x21 || c > 0x7e) {
                throw ApiException.badRequest("header Idempotency-Key must be printable ASCII without spaces");
            }
        }
        return Optional.of(key);
    }

    /**
     * What an idempotent replay must match: the type and the input, keys sorted, the webhook where
     * there is one and the lane where it is high (a job without either keeps the fingerprint it
     * always had, so records from before them still match their replays). The lane is part of it,
     * unlike the deadline: a retry of one request asks for the same lane, so a key sent again with
     * another lane is another request, and answering it with the job as first accepted would let a
     * client believe its job jumps the queue when it waits in the normal one (or the reverse); a
     * {@code 409} says so instead.
     */
    String fingerprint() {
        return Json.sha256Hex(type + "\n" + Json.canonical(input)
                + webhook.map(w -> "\nwebhook " + w.fingerprint()).orElse("")
                + (highPriority ? "\npriority " + HIGH : ""));
    }
}
