package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.PutItemRequest;

class WebhookDeliveryStoreTest {

    private static final String JOB_ID = "01JD3N3Y3ZX2W0K7Q8M9P4R5S6";
    private static final Instant NOW = Instant.parse("2026-11-22T10:00:00Z");
    private final DeliveriesTable table = new DeliveriesTable();
    private final WebhookDeliveryStore store = new WebhookDeliveryStore(table, "ferry-webhook-deliveries",
            Duration.ofDays(30), Clock.fixed(NOW, ZoneOffset.UTC));

    private static WebhookDeliveries.Attempt attempt(String id, int n, String outcome) {
        return new WebhookDeliveries.Attempt(id, "completed", n, NOW.plusSeconds(n), outcome.equals("delivered") ? 200
                : 500, 12, outcome, outcome.equals("delivered") ? null : "HTTP 500");
    }

    private static WebhookDeliveries.Event event(String id, long version) {
        return new WebhookDeliveries.Event(id, "completed", version, NOW);
    }

    @Test
    void theFirstWrite_createsTheItemIfAbsent_andLaterOnesAreConditionedOnTheRevisionRead() {
        store.update(JOB_ID, d -> d.with(attempt("a", 1, "retrying"), event("a", 2), false));
        store.update(JOB_ID, d -> d.with(attempt("a", 2, "delivered"), event("a", 2), false));

        PutItemRequest first = table.puts.get(0);
        assertEquals("attribute_not_exists(#jobId)", first.conditionExpression());
        assertEquals(Map.of("#jobId", "jobId"), first.expressionAttributeNames());
        PutItemRequest second = table.puts.get(1);
        assertEquals("#revision = :revision", second.conditionExpression());
        assertEquals(Map.of(":revision", AttributeValue.fromN("1")), second.expressionAttributeValues());
        assertEquals("ALL_OLD", second.returnValuesOnConditionCheckFailureAsString());
        assertEquals(String.valueOf(NOW.plus(Duration.ofDays(30)).getEpochSecond()), second.item().get("expiresAt").n(),
                "kept as long as the job's record");

        WebhookDeliveries stored = store.get(JOB_ID).orElseThrow();
        assertEquals(2, stored.revision());
        assertEquals(List.of("retrying", "delivered"), stored.attempts().stream()
                .map(WebhookDeliveries.Attempt::outcome).toList());
        assertEquals(List.of("a"), stored.settled());
        assertEquals(event("a", 2), stored.latest());
    }

    @Test
    void aWriteWhoseResponseWasLost_isRecognisedAsItsOwn_andNotMadeTwice() {
        store.update(JOB_ID, d -> d.with(attempt("a", 1, "retrying"), event("a", 2), false));
        table.loseNextResponse = true;

        WebhookDeliveries written = store.update(JOB_ID, d -> d.with(attempt("a", 2, "delivered"), event("a", 2),
                false));

        assertEquals(2, written.revision());
        assertEquals(2, store.get(JOB_ID).orElseThrow().attempts().size(), "one entry per attempt");
        assertEquals(2, table.puts.size());
    }

    @Test
    void aWriteThatLostARace_isMadeAgain_onTheWinnersItem() {
        store.update(JOB_ID, d -> d.with(attempt("a", 1, "retrying"), event("a", 2), false));
        WebhookDeliveries winner = store.get(JOB_ID).orElseThrow().with(attempt("b", 1, "delivered"), event("b", 3),
                false);
        table.racingWrite = WebhookDeliveryStore.toItem(winner, NOW);

        store.update(JOB_ID, d -> d.with(attempt("a", 2, "delivered"), event("a", 2), false));

        WebhookDeliveries stored = store.get(JOB_ID).orElseThrow();
        assertEquals(List.of("a", "b", "a"), stored.attempts().stream().map(WebhookDeliveries.Attempt::deliveryId)
                .toList());
        assertEquals(3, stored.revision());
        assertEquals(event("b", 3), stored.latest(), "the newer event stays the latest");
    }

    @Test
    void writersThatAlwaysWin_makeItGiveUp_sayingSo() {
        store.update(JOB_ID, d -> d.with(attempt("a", 1, "retrying"), event("a", 2), false));
        DeliveriesTable racing = new DeliveriesTable() {
            @Override
            public synchronized software.amazon.awssdk.services.dynamodb.model.PutItemResponse putItem(
                    PutItemRequest request) {
                Map<String, AttributeValue> current = items.get(JOB_ID);
                long revision = Long.parseLong(current.get("revision").n());
                racingWrite = WebhookDeliveryStore.toItem(WebhookDeliveryStore.fromItem(current).with(
                        attempt("x" + revision, 1, "delivered"), event("x", 1), false), NOW);
                return super.putItem(request);
            }
        };
        racing.items.putAll(table.items);
        WebhookDeliveryStore contended = new WebhookDeliveryStore(racing, "t", Duration.ofDays(1),
                Clock.fixed(NOW, ZoneOffset.UTC));

        IllegalStateException e = assertThrows(IllegalStateException.class, () -> contended.update(JOB_ID,
                d -> d.with(attempt("a", 2, "delivered"), event("a", 2), false)));
        assertTrue(e.getMessage().contains("changed under 5 writes in a row"), e.getMessage());
    }

    @Test
    void attemptsAndSettledIds_areBounded_andTheTotalCountsThemAll() {
        WebhookDeliveries deliveries = WebhookDeliveries.none(JOB_ID);
        for (int i = 1; i <= 60; i++) {
            deliveries = deliveries.with(attempt("d" + i, 1, "delivered"), event("d" + i, i), false);
        }

        assertEquals(WebhookDeliveries.MAX_ATTEMPTS, deliveries.attempts().size());
        assertEquals("d41", deliveries.attempts().get(0).deliveryId(), "the latest twenty");
        assertEquals(WebhookDeliveries.MAX_SETTLED, deliveries.settled().size());
        assertEquals(60, deliveries.attemptsTotal());
        assertTrue(WebhookDeliveryStore.toItem(deliveries, NOW).toString().length() < 12_000,
                "a few kilobytes, far from DynamoDB's 400 KB");
        assertEquals(deliveries, WebhookDeliveryStore.fromItem(WebhookDeliveryStore.toItem(deliveries, NOW)));
    }

    @Test
    void aLongError_isCut() {
        WebhookDeliveries.Attempt attempt = new WebhookDeliveries.Attempt("a", "completed", 1, NOW, 500, 1,
                "retrying", "x".repeat(5_000));

        assertEquals(WebhookDeliveries.MAX_ERROR_CHARS, attempt.error().length());
    }

    @Test
    void a410_marksTheReceiverGone_untilADeliverySucceeds() {
        WebhookDeliveries gone = WebhookDeliveries.none(JOB_ID).with(attempt("a", 1, "gave up"), event("a", 2), true);
        assertEquals(NOW.plusSeconds(1), gone.goneAt());
        WebhookDeliveries skipped = gone.with(attempt("b", 1, "skipped"), event("b", 3), false);
        assertEquals(NOW.plusSeconds(1), skipped.goneAt());
        WebhookDeliveries resent = skipped.with(attempt("a-resend-1", 1, "delivered"), event("a", 2), false);
        assertEquals(null, resent.goneAt());
    }
}
