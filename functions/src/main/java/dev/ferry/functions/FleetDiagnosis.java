package dev.ferry.functions;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.Json;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Why jobs wait, from what the fleet view knows: the queue's backlog, the workers' heartbeats, the
 * Auto Scaling group's counts and the recent failures by type. One answer, the first that holds, in
 * this order: nothing waits; a crash loop (handlers started again and again, or workers started
 * again and again on one instance); model loading (slots setting up, none ready); no capacity (no
 * live worker, the group wants none or is still launching, every slot busy, every worker draining);
 * one job type failing; else jobs wait with slots idle (look at the workers' logs).
 */
final class FleetDiagnosis {

    /** What the diagnosis says, as a code for tests and scripts and a sentence for a person. */
    enum Code { OK, CRASH_LOOP, MODEL_LOADING, NO_CAPACITY, TYPE_FAILING, IDLE_WHILE_WAITING, FUNCTION }

    /** A handler started again this often within {@link #RECENT}, and not ready now, is looping. */
    static final int LOOPING_RESTARTS = 2;
    /** This many worker processes started on one instance within {@link #RECENT} is a loop. */
    static final int LOOPING_STARTS = 3;
    static final Duration RECENT = Duration.ofMinutes(15);
    /** This many failures of one type in the last hour, and most of the recent ones, is "one type failing". */
    static final int FAILING_TYPE_MIN = 3;

    /** The group's counts; absent without a group. */
    record Group(int desired, int inService, int min, int max) {
    }

    private FleetDiagnosis() {
    }

    /**
     * @param workers live workers' snapshots (not expired, not stopped, heard from lately)
     * @param recentStarts every item's snapshot, stopped and silent ones too (for repeated starts)
     */
    static ObjectNode diagnose(long backlog, List<JsonNode> workers, List<JsonNode> recentStarts, Optional<Group> group,
                               Map<String, Integer> failuresByType, Instant now) {
        ObjectNode out = Json.MAPPER.createObjectNode();
        if (backlog <= 0) {
            return say(out, Code.OK, "no jobs wait");
        }
        String waiting = backlog + " job(s) wait: ";
        List<String> looping = new ArrayList<>();
        for (JsonNode worker : workers) {
            for (JsonNode slot : worker.path("slots")) {
                for (JsonNode handler : slot.path("handlers")) {
                    String state = handler.path("state").asText();
                    // Restarts lately, not over the worker's life: one crash last week and a restart now
                    // is a model loading, not a loop.
                    int recent = handler.path("recentRestarts").asInt();
                    if (!state.equals("READY") && !state.equals("STOPPED")
                            && (recent >= LOOPING_RESTARTS || state.equals("FAILED"))) {
                        looping.add(handler.path("type").asText() + " on " + worker.path("workerId").asText()
                                + "/slot-" + slot.path("index").asInt() + " (" + recent + " restarts in "
                                + RECENT.toMinutes() + " minutes" + (handler.hasNonNull("lastError") ? ", last error: "
                                + handler.path("lastError").asText() : "") + ")");
                    }
                }
            }
        }
        if (!looping.isEmpty()) {
            return say(out, Code.CRASH_LOOP, waiting + "crash loop: handler " + String.join("; ", looping)
                    + " keeps being started again");
        }
        Map<String, Integer> startsByInstance = new HashMap<>();
        for (JsonNode item : recentStarts) {
            String instance = item.path("instanceId").asText("");
            Instant started = instant(item.path("startedAt").asText(null));
            if (!instance.isEmpty() && started != null && Duration.between(started, now).compareTo(RECENT) <= 0) {
                startsByInstance.merge(instance, 1, Integer::sum);
            }
        }
        Optional<Map.Entry<String, Integer>> restarting = startsByInstance.entrySet().stream()
                .filter(e -> e.getValue() >= LOOPING_STARTS).findFirst();
        if (restarting.isPresent()) {
            return say(out, Code.CRASH_LOOP, waiting + "crash loop: the worker on " + restarting.get().getKey()
                    + " started " + restarting.get().getValue() + " times in " + RECENT.toMinutes()
                    + " minutes (look at its log: journalctl -u ferry-worker)");
        }
        int slots = 0;
        int busy = 0;
        int ready = 0;
        int settingUp = 0;
        int draining = 0;
        for (JsonNode worker : workers) {
            boolean drains = worker.path("draining").asBoolean();
            if (drains) {
                draining++;
            }
            for (JsonNode slot : worker.path("slots")) {
                slots++;
                switch (slot.path("state").asText()) {
                    case "BUSY" -> busy++;
                    case "SETTING_UP" -> settingUp++;
                    default -> ready += drains ? 0 : 1;
                }
            }
        }
        if (settingUp > 0 && ready == 0 && busy < slots) {
            return say(out, Code.MODEL_LOADING, waiting + "model loading: " + settingUp + " slot(s) setting up their"
                    + " handlers, none ready yet");
        }
        if (workers.isEmpty()) {
            if (group.isPresent() && group.get().desired() == 0) {
                return say(out, Code.NO_CAPACITY, waiting + "no capacity: no live worker, and the Auto Scaling group"
                        + " wants 0 instances (it scales from zero on the backlog within minutes; max "
                        + group.get().max() + ")");
            }
            if (group.isPresent()) {
                return say(out, Code.NO_CAPACITY, waiting + "no capacity yet: no live worker; the group wants "
                        + group.get().desired() + " instance(s), " + group.get().inService() + " in service"
                        + " (launching, or Spot capacity is short)");
            }
            return say(out, Code.NO_CAPACITY, waiting + "no capacity: no live worker");
        }
        if (draining == workers.size()) {
            return say(out, Code.NO_CAPACITY, waiting + "no capacity: every live worker drains");
        }
        if (ready == 0) {
            String scaling = group.map(g -> g.desired() >= g.max() ? "; the group is at its max ("
                    + g.max() + ")" : "; the group wants " + g.desired() + " of at most " + g.max()).orElse("");
            return say(out, Code.NO_CAPACITY, waiting + "no capacity: all " + busy + " slot(s) busy" + scaling);
        }
        if (typeFailing(out, waiting, failuresByType)) {
            return out;
        }
        return say(out, Code.IDLE_WHILE_WAITING, waiting + ready + " slot(s) idle and ready: delayed retries wait out"
                + " their back-off, or the workers cannot receive (look at their logs)");
    }

    /**
     * Why jobs wait in a Lambda pool, which has no workers to look at: its function runs them as its
     * queue's event source mapping invokes it. A type failing is said as for a GPU pool; otherwise
     * that the function has them (or has yet to: throttled at its maximum concurrency, or failing).
     */
    static ObjectNode diagnoseFunction(long backlog, String function, Map<String, Integer> failuresByType) {
        ObjectNode out = Json.MAPPER.createObjectNode();
        if (backlog <= 0) {
            return say(out, Code.OK, "no jobs wait");
        }
        String waiting = backlog + " job(s) wait: ";
        if (typeFailing(out, waiting, failuresByType)) {
            return out;
        }
        return say(out, Code.FUNCTION, waiting + "Lambda pool: function " + function + " runs them as its queue's"
                + " event source mapping invokes it, at most its maximum concurrency at once (if they keep waiting,"
                + " look at its Throttles and Errors, and its log group)");
    }

    /** One type failing often lately: said, and true. */
    private static boolean typeFailing(ObjectNode out, String waiting, Map<String, Integer> failuresByType) {
        Optional<Map.Entry<String, Integer>> failing = failuresByType.entrySet().stream()
                .filter(e -> e.getValue() >= FAILING_TYPE_MIN)
                .max(Map.Entry.comparingByValue());
        failing.ifPresent(type -> say(out, Code.TYPE_FAILING, waiting + "job type " + type.getKey() + " is failing: "
                + type.getValue() + " failure(s) in the last hour"));
        return failing.isPresent();
    }

    private static ObjectNode say(ObjectNode out, Code code, String text) {
        return out.put("code", code.name()).put("text", text);
    }

    static Instant instant(String text) {
        if (text == null) {
            return null;
        }
        try {
            return Instant.parse(text);
        } catch (java.time.format.DateTimeParseException e) {
            return null;
        }
    }
}
