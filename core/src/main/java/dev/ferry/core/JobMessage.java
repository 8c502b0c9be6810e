package dev.ferry.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Objects;

/**
 * The body of a job's SQS message. It carries Ferry's own {@code jobId}, the dedup key: SQS
 * message ids change on every redrive, the job id never does. The type, input and deadline (if
 * any) ride along so that a message in the DLQ explains itself; the record stays the truth.
 */
public record JobMessage(String jobId, String type, JsonNode input, Instant deadline) {

    public JobMessage {
        Objects.requireNonNull(jobId, "jobId");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(input, "input");
    }

    /** A message for a job without a deadline. */
    public JobMessage(String jobId, String type, JsonNode input) {
        this(jobId, type, input, null);
    }

    public String toJson() {
        ObjectNode node = Json.MAPPER.createObjectNode();
        node.put("jobId", jobId);
        node.put("type", type);
        node.set("input", input);
        if (deadline != null) {
            node.put("deadline", deadline.toString());
        }
        return node.toString();
    }

    public int sizeInBytes() {
        return toJson().getBytes(StandardCharsets.UTF_8).length;
    }

    /** Reads a message body; {@link IllegalArgumentException} if it is not one of Ferry's. */
    public static JobMessage parse(String body) {
        JsonNode node = Json.parse(body);
        JsonNode jobId = node.get("jobId");
        JsonNode type = node.get("type");
        if (jobId == null || !jobId.isTextual() || jobId.asText().isEmpty()) {
            throw new IllegalArgumentException("message has no jobId");
        }
        if (type == null || !type.isTextual()) {
            throw new IllegalArgumentException("message for job " + jobId.asText() + " has no type");
        }
        JsonNode input = node.get("input");
        return new JobMessage(jobId.asText(), type.asText(),
                input == null ? Json.MAPPER.nullNode() : input, deadline(node.get("deadline")));
    }

    /** Informative only (the record decides): one that cannot be read is left out. */
    private static Instant deadline(JsonNode value) {
        if (value == null || !value.isTextual()) {
            return null;
        }
        try {
            return Instant.parse(value.asText());
        } catch (DateTimeParseException e) {
            return null;
        }
    }
}
