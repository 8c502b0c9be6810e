package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.services.lambda.runtime.events.DynamodbEvent;
import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Json;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/** Lambda's filter patterns as the local mappings evaluate them, and a stream record through Lambda's own JSON. */
class EventFilterTest {

    /** The template's own filter. */
    private static final String WEBHOOKS = "{\"eventName\": [\"MODIFY\"], \"dynamodb\": {\"NewImage\":"
            + " {\"webhookUrl\": {\"S\": [{\"exists\": true}]}}}}";

    private static JsonNode record(String eventName, Map<String, AttributeValue> newImage) {
        var record = Json.MAPPER.createObjectNode().put("eventName", eventName);
        var image = record.putObject("dynamodb").putObject("NewImage");
        newImage.forEach((name, value) -> image.set(name, StreamPoller.value(value)));
        return record;
    }

    @Test
    void theWebhookFilter_passesChangesOfRecordsWithAWebhook_only() {
        EventFilter filter = EventFilter.of(List.of(WEBHOOKS), "test");
        Map<String, AttributeValue> withHook = Map.of("jobId", AttributeValue.fromS("j"),
                "webhookUrl", AttributeValue.fromS("https://example.com/h"));
        Map<String, AttributeValue> without = Map.of("jobId", AttributeValue.fromS("j"));

        assertTrue(filter.matches(record("MODIFY", withHook)));
        assertFalse(filter.matches(record("INSERT", withHook)), "a new record is no event");
        assertFalse(filter.matches(record("MODIFY", without)));
        assertFalse(filter.matches(Json.MAPPER.createObjectNode().put("eventName", "REMOVE")));
    }

    @Test
    void anyPatternMay_match_andValuesPrefixesAndAbsenceAreUnderstood() {
        EventFilter filter = EventFilter.of(List.of("{\"body\": [\"a\", 5]}", "{\"kind\": [{\"prefix\": \"job-\"}],"
                + " \"gone\": [{\"exists\": false}]}"), "test");

        assertTrue(filter.matches(Json.parse("{\"body\": \"a\"}")));
        assertTrue(filter.matches(Json.parse("{\"body\": 5.0}")), "numbers by value");
        assertTrue(filter.matches(Json.parse("{\"body\": [\"x\", \"a\"]}")), "a list by any element");
        assertTrue(filter.matches(Json.parse("{\"kind\": \"job-1\"}")));
        assertFalse(filter.matches(Json.parse("{\"kind\": \"job-1\", \"gone\": 1}")));
        assertFalse(filter.matches(Json.parse("{\"kind\": \"task-1\"}")));
        assertTrue(EventFilter.of(List.of(), "none").matches(Json.parse("{}")), "no filter: every record");
    }

    @Test
    void aMatcherTheLocalStackDoesNotEvaluate_isRefused_ratherThanMisread() {
        for (String pattern : List.of("{\"n\": [{\"numeric\": [\">\", 1]}]}", "{\"n\": [{\"anything-but\": [\"x\"]}]}",
                "{\"n\": \"not a list\"}", "[1]", "not json")) {
            assertThrows(TemplateException.class, () -> EventFilter.of(List.of(pattern), "test"), pattern);
        }
    }

    @Test
    void aStreamRecord_readsBackThroughLambdasSerializer_withEveryAttributeType() {
        Map<String, AttributeValue> image = Map.of(
                "s", AttributeValue.fromS("text"), "n", AttributeValue.fromN("12.5"),
                "b", AttributeValue.fromB(SdkBytes.fromUtf8String("bytes")), "bool", AttributeValue.fromBool(true),
                "null", AttributeValue.fromNul(true), "ss", AttributeValue.fromSs(List.of("x", "y")),
                "l", AttributeValue.fromL(List.of(AttributeValue.fromS("item"))),
                "m", AttributeValue.fromM(Map.of("k", AttributeValue.fromN("1"))));
        var record = (com.fasterxml.jackson.databind.node.ObjectNode) record("MODIFY", image);
        ((com.fasterxml.jackson.databind.node.ObjectNode) record.get("dynamodb")).put("SequenceNumber", "42")
                .put("StreamViewType", "NEW_AND_OLD_IMAGES");

        DynamodbEvent event = LambdaEvents.event(DynamodbEvent.class, List.of(record));

        var read = event.getRecords().get(0).getDynamodb();
        assertTrue("42".equals(read.getSequenceNumber()), read.toString());
        var newImage = read.getNewImage();
        assertTrue("text".equals(newImage.get("s").getS()) && "12.5".equals(newImage.get("n").getN()), read.toString());
        assertTrue("bytes".equals(java.nio.charset.StandardCharsets.UTF_8.decode(newImage.get("b").getB()).toString()));
        assertTrue(newImage.get("bool").getBOOL() && newImage.get("null").getNULL());
        assertTrue(List.of("x", "y").equals(newImage.get("ss").getSS()));
        assertTrue("item".equals(newImage.get("l").getL().get(0).getS()));
        assertTrue("1".equals(newImage.get("m").getM().get("k").getN()));
    }
}
