package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class WorkerHealthServerTest {

    private static final Instant NOW = Instant.parse("2026-12-01T10:00:00Z");

    private static WorkerSnapshot snapshot(WorkerSnapshot.State state, SlotActivity.State slot, Instant since) {
        return new WorkerSnapshot("w-1", "default", null, null, null, "dev", NOW.minusSeconds(3600), state,
                state == WorkerSnapshot.State.DRAINING ? "SPOT_INTERRUPTION" : null,
                List.of(new WorkerSnapshot.Slot(0, "0", slot, null, null, since, List.of())), NOW,
                Duration.ofSeconds(20));
    }

    private static HttpResponse<String> get(int port, String path) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void health_is200WhileReadyOrBusy_503WhenDrainingOrNeverReady_withTheSnapshot() throws Exception {
        AtomicReference<WorkerSnapshot> now = new AtomicReference<>(
                snapshot(WorkerSnapshot.State.RUNNING, SlotActivity.State.IDLE, NOW));
        try (WorkerHealthServer server = WorkerHealthServer.start(0, now::get, Duration.ofMinutes(15))) {
            HttpResponse<String> ok = get(server.port(), "/health");
            assertEquals(200, ok.statusCode());
            JsonNode body = Json.parse(ok.body());
            assertEquals("w-1", body.get("workerId").asText());
            assertTrue(body.get("healthy").asBoolean());
            assertEquals("IDLE", body.at("/slots/0/state").asText());

            now.set(snapshot(WorkerSnapshot.State.RUNNING, SlotActivity.State.BUSY, NOW));
            assertEquals(200, get(server.port(), "/health").statusCode());

            // Setting up for 10 minutes: a model still loading, within the limit.
            now.set(snapshot(WorkerSnapshot.State.RUNNING, SlotActivity.State.SETTING_UP, NOW.minusSeconds(600)));
            assertEquals(200, get(server.port(), "/health").statusCode());
            // For 16 minutes: past it.
            now.set(snapshot(WorkerSnapshot.State.RUNNING, SlotActivity.State.SETTING_UP, NOW.minusSeconds(960)));
            HttpResponse<String> stuck = get(server.port(), "/health");
            assertEquals(503, stuck.statusCode());
            assertTrue(Json.parse(stuck.body()).get("unhealthy").asText().startsWith("no slot ready for 960 s"),
                    stuck.body());

            now.set(snapshot(WorkerSnapshot.State.DRAINING, SlotActivity.State.BUSY, NOW));
            HttpResponse<String> draining = get(server.port(), "/health");
            assertEquals(503, draining.statusCode());
            assertEquals("draining: SPOT_INTERRUPTION", Json.parse(draining.body()).get("unhealthy").asText());

            now.set(snapshot(WorkerSnapshot.State.STOPPED, SlotActivity.State.IDLE, NOW));
            assertEquals(503, get(server.port(), "/health").statusCode());
            assertEquals(404, get(server.port(), "/metrics").statusCode());
        }
    }
}
