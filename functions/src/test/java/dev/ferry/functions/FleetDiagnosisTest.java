package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.Json;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class FleetDiagnosisTest {

    private static final Instant NOW = Instant.parse("2026-12-01T10:00:00Z");

    /** A worker snapshot as heartbeats carry it, with slots in the given states. */
    private static ObjectNode worker(String id, String instance, Instant started, boolean draining, String... slots) {
        ObjectNode worker = Json.MAPPER.createObjectNode().put("workerId", id).put("instanceId", instance)
                .put("startedAt", started.toString()).put("draining", draining);
        var array = worker.putArray("slots");
        for (int i = 0; i < slots.length; i++) {
            ObjectNode slot = array.addObject().put("index", i).put("state", slots[i]);
            ObjectNode handler = slot.putArray("handlers").addObject().put("type", "sd").put("restarts", 0);
            handler.put("state", slots[i].equals("SETTING_UP") ? "STARTING" : "READY");
        }
        return worker;
    }

    private static String code(long backlog, List<JsonNode> live, List<JsonNode> all,
                               Optional<FleetDiagnosis.Group> group, Map<String, Integer> failures) {
        return FleetDiagnosis.diagnose(backlog, live, all, group, failures, NOW).get("code").asText();
    }

    @Test
    void nothingWaits_isOk_whateverTheFleet() {
        assertEquals("OK", code(0, List.of(), List.of(), Optional.empty(), Map.of()));
    }

    @Test
    void noLiveWorker_isNoCapacity_sayingWhatTheGroupWants() {
        ObjectNode zero = FleetDiagnosis.diagnose(5, List.of(), List.of(),
                Optional.of(new FleetDiagnosis.Group(0, 0, 0, 4)), Map.of(), NOW);
        assertEquals("NO_CAPACITY", zero.get("code").asText());
        assertTrue(zero.get("text").asText().contains("wants 0 instances"), zero.toString());
        ObjectNode launching = FleetDiagnosis.diagnose(5, List.of(), List.of(),
                Optional.of(new FleetDiagnosis.Group(2, 0, 0, 4)), Map.of(), NOW);
        assertTrue(launching.get("text").asText().contains("wants 2 instance(s), 0 in service"), launching.toString());
        assertEquals("NO_CAPACITY", code(5, List.of(), List.of(), Optional.empty(), Map.of()));
    }

    @Test
    void everySlotBusy_isNoCapacity() {
        List<JsonNode> live = List.of(worker("a", "i-1", NOW.minusSeconds(3600), false, "BUSY", "BUSY"));
        ObjectNode said = FleetDiagnosis.diagnose(3, live, live, Optional.of(new FleetDiagnosis.Group(1, 1, 0, 1)),
                Map.of(), NOW);
        assertEquals("NO_CAPACITY", said.get("code").asText());
        assertTrue(said.get("text").asText().contains("all 2 slot(s) busy; the group is at its max (1)"), said.toString());
    }

    @Test
    void everyWorkerDraining_isNoCapacity() {
        List<JsonNode> live = List.of(worker("a", "i-1", NOW.minusSeconds(3600), true, "IDLE"));
        assertEquals("NO_CAPACITY", code(3, live, live, Optional.empty(), Map.of()));
    }

    @Test
    void slotsSettingUp_noneReady_isModelLoading() {
        List<JsonNode> live = List.of(worker("a", "i-1", NOW.minusSeconds(60), false, "SETTING_UP", "BUSY"));
        assertEquals("MODEL_LOADING", code(3, live, live, Optional.empty(), Map.of()));
    }

    @Test
    void aHandlerStartedAgainAndAgain_isACrashLoop_namingIt() {
        ObjectNode looping = worker("a", "i-1", NOW.minusSeconds(3600), false, "SETTING_UP");
        ObjectNode handler = (ObjectNode) looping.at("/slots/0/handlers/0");
        handler.put("state", "RESTARTING").put("restarts", 4).put("recentRestarts", 4)
                .put("lastError", "CUDA out of memory");
        ObjectNode said = FleetDiagnosis.diagnose(3, List.of(looping), List.of(looping), Optional.empty(), Map.of(), NOW);
        assertEquals("CRASH_LOOP", said.get("code").asText(), "before model loading: the slot sets up again and again");
        assertTrue(said.get("text").asText().contains(
                "sd on a/slot-0 (4 restarts in 15 minutes, last error: CUDA out of memory)"), said.toString());
    }

    @Test
    void aHandlerThatRestartedLongAgo_settingUpAgainNow_isModelLoading_notACrashLoop() {
        ObjectNode worker = worker("a", "i-1", NOW.minusSeconds(7 * 86_400), false, "SETTING_UP");
        ObjectNode handler = (ObjectNode) worker.at("/slots/0/handlers/0");
        handler.put("state", "RESTARTING").put("restarts", 4).put("recentRestarts", 1)
                .put("lastError", "CUDA out of memory");
        assertEquals("MODEL_LOADING", code(3, List.of(worker), List.of(worker), Optional.empty(), Map.of()));
    }

    @Test
    void workersStartedAgainAndAgainOnOneInstance_isACrashLoop() {
        List<JsonNode> all = List.of(worker("a1", "i-1", NOW.minusSeconds(600), false, "IDLE"),
                worker("a2", "i-1", NOW.minusSeconds(400), false, "IDLE"),
                worker("a3", "i-1", NOW.minusSeconds(100), false, "SETTING_UP"));
        assertEquals("CRASH_LOOP", code(3, List.of(all.get(2)), all, Optional.empty(), Map.of()));
        // The same starts spread over hours are a long-lived machine's restarts, not a loop.
        List<JsonNode> spread = List.of(worker("a1", "i-1", NOW.minusSeconds(20_000), false, "IDLE"),
                worker("a2", "i-1", NOW.minusSeconds(10_000), false, "IDLE"),
                worker("a3", "i-1", NOW.minusSeconds(100), false, "IDLE"));
        assertEquals("IDLE_WHILE_WAITING", code(3, List.of(spread.get(2)), spread, Optional.empty(), Map.of()));
    }

    @Test
    void readySlots_andOneTypeFailingOften_isTypeFailing() {
        List<JsonNode> live = List.of(worker("a", "i-1", NOW.minusSeconds(3600), false, "IDLE"));
        assertEquals("TYPE_FAILING", code(3, live, live, Optional.empty(), Map.of("sd", 7, "ocr", 1)));
        assertEquals("IDLE_WHILE_WAITING", code(3, live, live, Optional.empty(), Map.of("sd", 1)));
    }
}
