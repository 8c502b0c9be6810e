package dev.ferry.worker;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Makes a {@link WorkerSnapshot} of a running worker from the parts that know: the slots'
 * activity, its warm handlers' states, whether it drains, and where it runs.
 */
public final class WorkerStatus {

    /** The worker's side: whether and why it drains, whether it has stopped. */
    public interface Lifecycle {
        /** Null while it takes jobs, else why it drains. */
        String drainReason();

        boolean stopped();
    }

    private final String workerId;
    private final String pool;
    private final String version;
    private final Instant startedAt;
    private final Duration heartbeatEvery;
    private final SlotActivity activity;
    private final Lifecycle lifecycle;
    private final Clock clock;
    private volatile Optional<InstanceIdentity> identity = Optional.empty();

    public WorkerStatus(String workerId, String pool, Duration heartbeatEvery, SlotActivity activity,
                        Lifecycle lifecycle, Clock clock) {
        this.workerId = Objects.requireNonNull(workerId, "workerId");
        this.pool = Objects.requireNonNull(pool, "pool");
        this.heartbeatEvery = Objects.requireNonNull(heartbeatEvery, "heartbeatEvery");
        this.activity = Objects.requireNonNull(activity, "activity");
        this.lifecycle = Objects.requireNonNull(lifecycle, "lifecycle");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.startedAt = clock.instant();
        String implementation = WorkerStatus.class.getPackage().getImplementationVersion();
        this.version = implementation == null ? "dev" : implementation;
    }

    /** Where it runs, once the metadata service has said (looked up off the start-up path). */
    public void identity(Optional<InstanceIdentity> found) {
        this.identity = Objects.requireNonNull(found, "found");
    }

    public String workerId() {
        return workerId;
    }

    /** The worker now. */
    public WorkerSnapshot snapshot() {
        List<WarmHandler.Status> handlers = activity.handler() instanceof WarmHandler warm ? warm.statuses() : List.of();
        List<WorkerSnapshot.Slot> slots = new ArrayList<>();
        for (SlotActivity.Slot slot : activity.slots()) {
            List<WarmHandler.Status> own = handlers.stream().filter(status -> status.slot() == slot.index()).toList();
            SlotActivity.State state = slot.state();
            Instant since = slot.since();
            if (state == SlotActivity.State.IDLE) {
                // Idle, but a handler is being started again: it cannot take a job.
                Optional<WarmHandler.Status> starting = own.stream().filter(status ->
                        status.state() != WarmHandler.State.READY && status.state() != WarmHandler.State.STOPPED)
                        .findFirst();
                if (starting.isPresent()) {
                    // Since it stopped being ready, not since its latest try: a handler failing to
                    // start again every minute is unhealthy after the setup limit, like one that hangs.
                    state = SlotActivity.State.SETTING_UP;
                    since = Objects.requireNonNullElse(starting.get().notReadySince(), starting.get().since());
                }
            }
            slots.add(new WorkerSnapshot.Slot(slot.index(), slot.gpu(), state, slot.jobId(), slot.type(), since, own));
        }
        String drainReason = lifecycle.drainReason();
        WorkerSnapshot.State state = lifecycle.stopped() ? WorkerSnapshot.State.STOPPED
                : drainReason != null ? WorkerSnapshot.State.DRAINING : WorkerSnapshot.State.RUNNING;
        Optional<InstanceIdentity> where = identity;
        return new WorkerSnapshot(workerId, pool, where.map(InstanceIdentity::instanceId).orElse(null),
                where.map(InstanceIdentity::availabilityZone).orElse(null),
                where.map(InstanceIdentity::instanceType).orElse(null), version, startedAt, state, drainReason, slots,
                clock.instant(), heartbeatEvery);
    }
}
