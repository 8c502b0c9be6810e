package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.Json;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ScanRequest;
import software.amazon.awssdk.services.dynamodb.model.ScanResponse;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.GetQueueAttributesRequest;
import software.amazon.awssdk.services.sqs.model.GetQueueAttributesResponse;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

class FleetViewTest {

    private static final Instant NOW = Instant.parse("2026-12-01T10:00:00Z");

    private static Map<String, AttributeValue> item(String workerId, String state, Instant beat, Instant expires,
                                                    String... slotStates) {
        return item("default", workerId, state, beat, expires, slotStates);
    }

    private static Map<String, AttributeValue> item(String pool, String workerId, String state, Instant beat,
                                                    Instant expires, String... slotStates) {
        ObjectNode snapshot = Json.MAPPER.createObjectNode().put("workerId", workerId).put("pool", pool)
                .put("state", state).put("draining", state.equals("DRAINING")).put("heartbeatSeconds", 20)
                .put("startedAt", NOW.minusSeconds(3600).toString());
        var slots = snapshot.putArray("slots");
        for (int i = 0; i < slotStates.length; i++) {
            slots.addObject().put("index", i).put("state", slotStates[i]).putArray("handlers");
        }
        return Map.of("workerId", AttributeValue.fromS(workerId), "state", AttributeValue.fromS(state),
                "heartbeatAt", AttributeValue.fromN(Long.toString(beat.toEpochMilli())),
                "expiresAt", AttributeValue.fromN(Long.toString(expires.getEpochSecond())),
                "snapshot", AttributeValue.fromS(snapshot.toString()));
    }

    /** Two pages: the scan must follow LastEvaluatedKey. */
    private static DynamoDbClient table(List<Map<String, AttributeValue>> first, List<Map<String, AttributeValue>> second,
                                        List<ScanRequest> seen) {
        return new DynamoDbClient() {
            @Override
            public ScanResponse scan(ScanRequest request) {
                seen.add(request);
                if (request.exclusiveStartKey() == null || request.exclusiveStartKey().isEmpty()) {
                    return ScanResponse.builder().items(first)
                            .lastEvaluatedKey(Map.of("workerId", AttributeValue.fromS("page-1"))).build();
                }
                return ScanResponse.builder().items(second).build();
            }

            @Override
            public String serviceName() {
                return "dynamodb";
            }

            @Override
            public void close() {
            }
        };
    }

    private static SqsClient queue(long visible) {
        return queues(url -> visible);
    }

    /** Each queue's visible messages by its URL. */
    private static SqsClient queues(java.util.function.ToLongFunction<String> visible) {
        return new SqsClient() {
            @Override
            public GetQueueAttributesResponse getQueueAttributes(GetQueueAttributesRequest request) {
                return GetQueueAttributesResponse.builder().attributes(Map.of(
                        QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES,
                        Long.toString(visible.applyAsLong(request.queueUrl())),
                        QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED, "0")).build();
            }

            @Override
            public String serviceName() {
                return "sqs";
            }

            @Override
            public void close() {
            }
        };
    }

    @Test
    void fleet_readsEveryPage_leavesOutExpiredItems_andTellsLiveFromSilent() {
        List<ScanRequest> scans = new ArrayList<>();
        DynamoDbClient dynamoDb = table(
                List.of(item("b-busy", "RUNNING", NOW.minusSeconds(5), NOW.plusSeconds(100), "BUSY"),
                        // TTL has not deleted it yet, but its expiresAt has passed: gone for the reader.
                        item("z-expired", "RUNNING", NOW.minusSeconds(500), NOW.minusSeconds(1), "IDLE")),
                List.of(item("a-draining", "DRAINING", NOW.minusSeconds(2), NOW.plusSeconds(100), "IDLE"),
                        item("c-silent", "RUNNING", NOW.minusSeconds(90), NOW.plusSeconds(30), "IDLE")),
                scans);
        FleetView view = new FleetView(dynamoDb, "ferry-workers", Optional.empty(), Optional.empty(), queue(0),
                "https://sqs/q", Optional.empty(), Clock.fixed(NOW, ZoneOffset.UTC));
        ObjectNode fleet = view.fleet();
        assertEquals(2, scans.size(), "both pages");
        assertEquals("ferry-workers", scans.get(0).tableName());
        List<String> ids = new ArrayList<>();
        fleet.get("workers").forEach(w -> ids.add(w.get("workerId").asText()));
        assertEquals(List.of("a-draining", "b-busy", "c-silent"), ids);
        JsonNode silent = fleet.get("workers").get(2);
        assertTrue(silent.get("silent").asBoolean());
        assertFalse(silent.get("live").asBoolean());
        assertEquals(90, silent.get("heartbeatAgeSeconds").asInt());
        assertEquals(2, fleet.at("/totals/live").asInt());
        assertEquals(1, fleet.at("/totals/draining").asInt());
        assertEquals(1, fleet.at("/totals/busy").asInt());
        assertEquals("no Auto Scaling group", fleet.at("/autoScaling/note").asText());
        assertEquals("OK", fleet.at("/diagnosis/code").asText());
    }

    @Test
    void jobsWaiting_withEveryLiveSlotBusy_isDiagnosedNoCapacity() {
        DynamoDbClient dynamoDb = table(List.of(item("a", "RUNNING", NOW.minusSeconds(5), NOW.plusSeconds(100),
                "BUSY", "BUSY")), List.of(), new ArrayList<>());
        ObjectNode fleet = new FleetView(dynamoDb, "t", Optional.empty(), Optional.empty(), queue(12), "https://sqs/q",
                Optional.empty(), Clock.fixed(NOW, ZoneOffset.UTC)).fleet();
        assertEquals(12, fleet.get("waiting").asInt());
        assertEquals("NO_CAPACITY", fleet.at("/diagnosis/code").asText());
    }

    @Test
    void eachPool_isDiagnosedOverItsOwnWorkers_andItsOwnBacklog() {
        DynamoDbClient dynamoDb = table(List.of(item("Gpu", "a", "RUNNING", NOW.minusSeconds(5), NOW.plusSeconds(100),
                "BUSY"), item("Large", "b", "RUNNING", NOW.minusSeconds(5), NOW.plusSeconds(100), "IDLE")), List.of(),
                new ArrayList<>());
        SqsClient sqs = queues(url -> url.endsWith("/gpu") ? 12 : url.endsWith("/large-high") ? 3 : 0);
        ObjectNode fleet = new FleetView(dynamoDb, "t", Optional.empty(), List.of(
                new FleetView.Pool("Gpu", List.of("https://sqs/gpu"), Optional.empty(), job -> true),
                new FleetView.Pool("Large", List.of("https://sqs/large", "https://sqs/large-high"), Optional.empty(),
                        job -> false)), sqs, Optional.empty(),
                Clock.fixed(NOW, ZoneOffset.UTC)).fleet();

        assertEquals(2, fleet.get("pools").size());
        assertEquals("Gpu", fleet.at("/pools/0/pool").asText());
        assertEquals(12, fleet.at("/pools/0/waiting").asInt());
        assertEquals("NO_CAPACITY", fleet.at("/pools/0/diagnosis/code").asText(),
                "Gpu's jobs wait and its one slot is busy, whatever Large's idle slot does: " + fleet);
        assertEquals("Large", fleet.at("/pools/1/pool").asText());
        assertEquals(3, fleet.at("/pools/1/waiting").asInt(), "its high-priority lane's jobs wait too");
        assertTrue(!"NO_CAPACITY".equals(fleet.at("/pools/1/diagnosis/code").asText()), fleet.toString());
        assertEquals(2, fleet.at("/totals/live").asInt(), "the totals are over every pool");
        assertEquals("NO_CAPACITY", fleet.at("/diagnosis/code").asText(), "the answer's own is the first pool's");
    }

    @Test
    void aLambdaPoolsWaitingJobs_areItsFunctions_notANoCapacityOfWorkersItNeverHas() {
        DynamoDbClient dynamoDb = table(List.of(item("Gpu", "a", "RUNNING", NOW.minusSeconds(5), NOW.plusSeconds(100),
                "IDLE")), List.of(), new ArrayList<>());
        SqsClient sqs = queues(url -> url.endsWith("/light") ? 4 : 0);
        ObjectNode fleet = new FleetView(dynamoDb, "t", Optional.empty(), List.of(
                new FleetView.Pool("Gpu", List.of("https://sqs/gpu"), Optional.empty(), job -> false),
                new FleetView.Pool("Light", List.of("https://sqs/light"), Optional.empty(), job -> false,
                        Optional.of("ferry-LightPoolFunction-abc"))), sqs, Optional.empty(),
                Clock.fixed(NOW, ZoneOffset.UTC)).fleet();

        JsonNode light = fleet.at("/pools/1");
        assertEquals("Light", light.get("pool").asText());
        assertEquals("ferry-LightPoolFunction-abc", light.get("function").asText());
        assertEquals(4, light.get("waiting").asInt());
        assertEquals("FUNCTION", light.at("/diagnosis/code").asText(), fleet.toString());
        assertTrue(light.at("/diagnosis/text").asText().contains("ferry-LightPoolFunction-abc"), fleet.toString());
        assertEquals("OK", fleet.at("/pools/0/diagnosis/code").asText(), "Gpu has nothing waiting");
        assertTrue(!fleet.at("/pools/0").has("function"));
    }

    @Test
    void anUnreadableItem_isLeftOut_notAFailure() {
        Map<String, AttributeValue> broken = Map.of("workerId", AttributeValue.fromS("x"),
                "expiresAt", AttributeValue.fromN(Long.toString(NOW.getEpochSecond() + 60)),
                "heartbeatAt", AttributeValue.fromN(Long.toString(NOW.toEpochMilli())),
                "snapshot", AttributeValue.fromS("{not json"));
        assertEquals(Optional.empty(), FleetView.worker(broken, NOW));
        assertEquals(Optional.empty(), FleetView.worker(Map.of("workerId", AttributeValue.fromS("y")), NOW));
    }
}
