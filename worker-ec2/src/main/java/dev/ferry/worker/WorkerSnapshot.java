package dev.ferry.worker;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.Json;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What one worker says about itself at one moment: the content of its heartbeat item and of its
 * {@code GET /health}. Immutable; {@link WorkerStatus} makes them.
 *
 * @param instanceId the EC2 instance, or null off EC2 (likewise zone and instance type)
 * @param drainReason why it drains (a Spot notice, an Auto Scaling termination, a shutdown), or null
 * @param heartbeatEvery how often it writes: a reader calls it silent after a few of these
 */
public record WorkerSnapshot(String workerId, String pool, String instanceId, String availabilityZone,
                             String instanceType, String version, Instant startedAt, State state, String drainReason,
                             List<Slot> slots, Instant at, Duration heartbeatEvery) {

    /** The worker's state: taking jobs, draining (no new ones), or stopped. */
    public enum State { RUNNING, DRAINING, STOPPED }

    /** One slot: what it runs, and its handlers' states. */
    public record Slot(int index, String gpu, SlotActivity.State state, String jobId, String type, Instant since,
                       List<WarmHandler.Status> handlers) {
        public Slot {
            handlers = List.copyOf(handlers);
        }

        /** Can take or is running a job: idle with its handlers ready, or busy. */
        boolean ready() {
            return state != SlotActivity.State.SETTING_UP;
        }
    }

    public WorkerSnapshot {
        Objects.requireNonNull(workerId, "workerId");
        Objects.requireNonNull(pool, "pool");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(at, "at");
        slots = List.copyOf(slots);
    }

    /**
     * The health rule of {@code GET /health}: healthy while it takes or runs jobs; not while it
     * drains or has stopped, nor when no slot has been ready for longer than {@code setupLimit}
     * (a model that never loads, a handler that keeps dying).
     *
     * @return empty when healthy, else why not
     */
    public java.util.Optional<String> unhealthy(Duration setupLimit) {
        if (state != State.RUNNING) {
            return java.util.Optional.of(state == State.DRAINING ? "draining: " + drainReason : "stopped");
        }
        if (slots.stream().anyMatch(Slot::ready)) {
            return java.util.Optional.empty();
        }
        Instant settingUpSince = slots.stream().map(Slot::since).min(Instant::compareTo).orElse(at);
        Duration waiting = Duration.between(settingUpSince, at);
        if (waiting.compareTo(setupLimit) > 0) {
            return java.util.Optional.of("no slot ready for " + waiting.toSeconds() + " s (limit "
                    + setupLimit.toSeconds() + " s)");
        }
        return java.util.Optional.empty();
    }

    /** The snapshot as JSON: the heartbeat item's {@code snapshot} and the health endpoint's body. */
    public ObjectNode toJson() {
        ObjectNode json = Json.MAPPER.createObjectNode();
        json.put("workerId", workerId);
        json.put("pool", pool);
        putNullable(json, "instanceId", instanceId);
        putNullable(json, "availabilityZone", availabilityZone);
        putNullable(json, "instanceType", instanceType);
        putNullable(json, "version", version);
        json.put("startedAt", startedAt.toString());
        json.put("state", state.name());
        json.put("draining", state == State.DRAINING);
        putNullable(json, "drainReason", drainReason);
        json.put("lastHeartbeat", at.toString());
        json.put("heartbeatSeconds", heartbeatEvery.toSeconds());
        ArrayNode slotArray = json.putArray("slots");
        for (Slot slot : slots) {
            ObjectNode node = slotArray.addObject();
            node.put("index", slot.index());
            node.put("gpu", slot.gpu());
            node.put("state", slot.state().name());
            putNullable(node, "jobId", slot.jobId());
            putNullable(node, "type", slot.type());
            node.put("since", slot.since().toString());
            ArrayNode handlers = node.putArray("handlers");
            for (WarmHandler.Status status : slot.handlers()) {
                ObjectNode handler = handlers.addObject();
                handler.put("type", status.type());
                handler.put("state", status.state().name());
                if (status.setupMillis() != null) {
                    handler.put("setupMillis", status.setupMillis());
                }
                handler.put("restarts", status.restarts());
                putNullable(handler, "lastError", status.lastError() == null ? null
                        : status.lastError().substring(0, Math.min(300, status.lastError().length())));
                handler.put("since", status.since().toString());
                if (status.notReadySince() != null) { // left out while ready: the item stays small
                    handler.put("notReadySince", status.notReadySince().toString());
                }
                handler.put("recentRestarts", status.recentRestarts());
            }
        }
        return json;
    }

    private static void putNullable(ObjectNode json, String field, String value) {
        if (value == null) {
            json.putNull(field);
        } else {
            json.put(field, value);
        }
    }
}
