package dev.ferry.functions;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.JobFiles;
import dev.ferry.core.Json;
import java.util.Iterator;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A validated {@code POST /jobs} request.
 *
 * @param type the job type
 * @param input the job's input (JSON {@code null} when the body had none); for an input sent as an
 *     upload, the marker the record and message carry instead ({@code {"$input": "up_..."}})
 * @param idempotencyKey the client's {@code Idempotency-Key}, if it sent one
 * @param webhook where to POST the job's events, if anywhere
 */
record SubmitRequest(String type, JsonNode input, Optional<String> idempotencyKey, Optional<WebhookRequest> webhook) {

    /** The upload the input was sent as, if it was. */
    Optional<String> inputUpload() {
        return JobFiles.inputUpload(input);
    }

    static final Pattern TYPE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    static final int MAX_IDEMPOTENCY_KEY_LENGTH = 255;

    /** The fields a submit's body may have. */
    private static final java.util.Set<String> FIELDS = java.util.Set.of("type", "input", "inputUpload",
            "webhookUrl", "webhookEvents");

    /** As {@link #parse(String, String, WebhookUrlPolicy)} under AWS's webhook rules. */
    static SubmitRequest parse(String body, String idempotencyKey) {
        return parse(body, idempotencyKey, WebhookUrlPolicy.STRICT);
    }

    /** Parses and checks the body and the key; an {@link ApiException} names what is wrong. */
    static SubmitRequest parse(String body, String idempotencyKey, WebhookUrlPolicy webhooks) {
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
                        + " (or \"inputUpload\"), and may have \"webhookUrl\" and \"webhookEvents\"");
            }
        }
        JsonNode type = root.get("type");
        if (type == null || type.isNull()) {
            throw ApiException.badRequest("field \"type\" is required");
        }
        if (!type.isTextual()) {
            throw ApiException.badRequest("field \"type\" must be a string");
        }
        if (!TYPE.matcher(type.asText()).matches()) {
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
        return new SubmitRequest(type.asText(), input, checkKey(idempotencyKey), webhook);
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
     * What an idempotent replay must match: the type and the input, keys sorted, and the webhook
     * where there is one (a job without one keeps the fingerprint it always had).
     */
    String fingerprint() {
        return Json.sha256Hex(type + "\n" + Json.canonical(input)
                + webhook.map(w -> "\nwebhook " + w.fingerprint()).orElse(""));
    }
}
