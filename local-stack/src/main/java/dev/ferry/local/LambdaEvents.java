package dev.ferry.local;

import com.amazonaws.services.lambda.runtime.serialization.PojoSerializer;
import com.amazonaws.services.lambda.runtime.serialization.events.LambdaEventSerializers;
import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Json;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Events and answers through Lambda's own JSON: a batch is written as the event source mapping
 * sends it, read into the handler's event class by the serializer Lambda's Java runtime uses, and
 * the handler's answer written back by it, so a local invocation sees and says exactly what it
 * would in AWS.
 */
final class LambdaEvents {

    private LambdaEvents() {
    }

    /** {@code {"Records": [...]}} as the handler's event class. */
    static <T> T event(Class<T> type, List<JsonNode> records) {
        PojoSerializer<T> serializer = LambdaEventSerializers.serializerFor(type, LambdaEvents.class.getClassLoader());
        var batch = Json.MAPPER.createObjectNode();
        batch.putArray("Records").addAll(records);
        return serializer.fromJson(Json.write(batch));
    }

    /**
     * The {@code itemIdentifier}s of a partial batch response ({@code {"batchItemFailures":
     * [...]}}), read from the answer as Lambda's runtime writes it; empty for none.
     */
    @SuppressWarnings("unchecked")
    static List<String> batchItemFailures(Object answer) {
        if (answer == null) {
            return List.of();
        }
        PojoSerializer<Object> serializer = (PojoSerializer<Object>) LambdaEventSerializers.serializerFor(
                answer.getClass(), LambdaEvents.class.getClassLoader());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        serializer.toJson(answer, out);
        JsonNode json = Json.parse(out.toString(StandardCharsets.UTF_8));
        List<String> failed = new ArrayList<>();
        for (JsonNode failure : json.path("batchItemFailures")) {
            failed.add(failure.path("itemIdentifier").asText());
        }
        return failed;
    }
}
