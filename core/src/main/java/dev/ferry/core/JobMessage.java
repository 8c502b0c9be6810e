package dev.ferry.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * The body of a job's SQS message. It carries Ferry's own {@code jobId}, the dedup key: SQS
 * message ids change on every redrive, the job id never does. The type and input ride along so
 * that a message in the DLQ explains itself.
 */
public record JobMessage(String jobId, String type, JsonNode input) {

    public JobMessage {
        Objects.requireNonNull(jobId, "jobId");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(input, "input");
    }

    public String toJson() {
        ObjectNode node = Json.MAPPER.createObjectNode();
        node.put("jobId", jobId);
        node.put("type", type);
        node.set("input", input);
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
                input == null ? Json.MAPPER.nullNode() : input);
    }
}
