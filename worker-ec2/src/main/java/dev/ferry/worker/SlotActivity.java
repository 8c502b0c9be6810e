package dev.ferry.worker;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What each slot is doing, for the operator: a {@link JobHandler} around the worker's own that
 * notes when a slot sets up its handlers ({@link #awaitReady}), runs a job ({@link #run}) or waits
 * for one. It changes nothing about how jobs run; it only watches, and tells {@code onChange}
 * (which must return at once: the heartbeat writer takes it from there).
 */
public final class SlotActivity implements JobHandler {

    /** A slot's state. */
    public enum State { SETTING_UP, IDLE, BUSY }

    /**
     * One slot as it is now.
     *
     * @param jobId the job it runs, when {@link State#BUSY}
     * @param type that job's type
     * @param since when it entered this state
     */
    public record Slot(int index, String gpu, State state, String jobId, String type, Instant since) {
        public Slot {
            Objects.requireNonNull(gpu, "gpu");
            Objects.requireNonNull(state, "state");
            Objects.requireNonNull(since, "since");
        }
    }

    private final JobHandler handler;
    private final Clock clock;
    private final Map<Integer, Slot> slots = new ConcurrentHashMap<>();
    private volatile Runnable onChange = () -> { };

    public SlotActivity(JobHandler handler, List<GpuSlot> gpus, Clock clock) {
        this.handler = Objects.requireNonNull(handler, "handler");
        this.clock = Objects.requireNonNull(clock, "clock");
        Instant now = clock.instant();
        for (GpuSlot gpu : gpus) {
            slots.put(gpu.index(), new Slot(gpu.index(), gpu.cudaVisibleDevices(), State.SETTING_UP, null, null, now));
        }
    }

    /** Told of every change of a slot's state; it must only take note and return. */
    public void onChange(Runnable listener) {
        this.onChange = Objects.requireNonNull(listener, "listener");
    }

    /** The worker's own handler, for what only it knows (a warm handler's processes). */
    public JobHandler handler() {
        return handler;
    }

    /** Every slot, by index. */
    public List<Slot> slots() {
        List<Slot> all = new ArrayList<>(slots.values());
        all.sort(java.util.Comparator.comparingInt(Slot::index));
        return all;
    }

    private void set(GpuSlot gpu, State state, String jobId, String type) {
        slots.put(gpu.index(), new Slot(gpu.index(), gpu.cudaVisibleDevices(), state, jobId, type, clock.instant()));
        onChange.run();
    }

    @Override
    public void awaitReady(GpuSlot slot) throws InterruptedException {
        // A slot starts SETTING_UP; after a job it reads IDLE at once, and a handler started again
        // there shows as its own state (WarmHandler.statuses), not as a flicker of this one.
        handler.awaitReady(slot);
        Slot now = slots.get(slot.index());
        if (now == null || now.state() != State.IDLE) {
            set(slot, State.IDLE, null, null);
        }
    }

    @Override
    public String run(JobExecution execution) throws JobFailedException, InterruptedException {
        set(execution.slot(), State.BUSY, execution.jobId(), execution.type());
        try {
            return handler.run(execution);
        } finally {
            set(execution.slot(), State.IDLE, null, null);
        }
    }

    @Override
    public Duration timeout(String type) {
        return handler.timeout(type);
    }

    @Override
    public void onRestart(java.util.function.Consumer<String> listener) {
        handler.onRestart(listener);
    }

    @Override
    public void close() {
        handler.close();
    }
}
