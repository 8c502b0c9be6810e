package dev.ferry.worker;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * The look-ahead rule: which busy slot may hold its next message, and until when. At most one
 * message is held per busy slot, and only while its job is expected to end soon:
 *
 * <ul>
 *   <li>The window opens at {@code expected - fetch latency x }{@value #LATENCY_MARGIN} after the
 *       job's handler started, where {@code expected} is the median of its type's last
 *       {@value RunTimes#WINDOW} run times on this worker and the fetch latency is the moving
 *       average of a receive plus a claim ({@link RunTimes}). A type with no run here yet, or whose
 *       expected run is longer than {@link #LONG_JOB}, never looks ahead: its jobs' gap between
 *       jobs is a small share of their run, and a message held through them would be hoarded.</li>
 *   <li>One look-ahead receive per job run: the window closes once a receive was made for it,
 *       whether it brought a message or not.</li>
 *   <li>A message received ahead is claimed at once (its own {@link JobRun}), and its job then
 *       waits for the slot ({@link SlotHandoff}); it starts the moment the slot's handler returns.
 *       It waits no longer than until its slot's job overruns its expected end by
 *       {@code max(expected, }{@link #MIN_OVERRUN}{@code )}, and never longer than half of what
 *       its lease leaves for its first heartbeat ({@link #maxHold}); then it gives the claim back
 *       ({@link dev.ferry.core.JobStore#unclaim}: no attempt spent, nothing in its history) and
 *       its message with it (visibility 0). A draining worker withdraws every wait at once.</li>
 * </ul>
 *
 * <p>Why claimed ahead, not only received: the claim is a conditional write (3 to 20 ms on AWS),
 * and it is all the slot would wait for between two jobs. What it costs, and how each is bounded:
 * the record reads RUNNING (its {@code claimedAt}, and so its queue wait, early) for the few
 * fetch latencies the job waits for its slot; its heartbeat runs from the claim, so a client's
 * cancel in that time ends it CANCELLED unrun; a claim given back is one more fenced write, only
 * for a job that overran its type's recent run times.
 *
 * <p>Thread-safe: the slots' job threads report starts and ends, the poller asks and holds.
 */
final class LookAhead {

    /** How many fetch latencies before a job's expected end its look-ahead starts. */
    static final int LATENCY_MARGIN = 3;
    /** A type whose jobs are expected to run longer never looks ahead. */
    static final Duration LONG_JOB = Duration.ofSeconds(30);
    /** The least a job may overrun its expected end before its held message goes back. */
    static final Duration MIN_OVERRUN = Duration.ofSeconds(1);

    private final RunTimes times;
    private final LongSupplier nanoClock;
    private final Duration maxHold;
    private final Map<Integer, Busy> busy = new HashMap<>();
    /** Counts starts, ends and freed slots, so that the poller waits for the next one without missing any. */
    private long changes;

    /** One busy slot's job, as far as looking ahead goes. */
    private static final class Busy {
        final GpuSlot slot;
        /** When its look-ahead may start; {@link Long#MAX_VALUE}: never. */
        final long opensAt;
        /** When a job claimed ahead for it stops waiting (its job overran). */
        long holdUntil;
        SlotHandoff held;
        boolean tried;

        Busy(GpuSlot slot, long opensAt, long holdUntil) {
            this.slot = slot;
            this.opensAt = opensAt;
            this.holdUntil = holdUntil;
        }
    }

    /**
     * @param maxHold the longest a message is held ({@link #maxHold})
     */
    LookAhead(RunTimes times, Duration maxHold, LongSupplier nanoClock) {
        this.times = Objects.requireNonNull(times, "times");
        this.maxHold = Objects.requireNonNull(maxHold, "maxHold");
        this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
    }

    /**
     * The longest a message may be held: half of what its visibility leaves for the claim's first
     * heartbeat. A message is received out of sight for a lease; once claimed, its heartbeat
     * first extends it one heartbeat interval later: so it must be claimed with more than that
     * left, with room to spare.
     */
    static Duration maxHold(Duration lease, Duration heartbeat) {
        Duration room = lease.minus(heartbeat);
        return room.isNegative() ? Duration.ZERO : room.dividedBy(2);
    }

    RunTimes times() {
        return times;
    }

    /** Wakes the poller: a job started or ended, or a slot was put up. */
    synchronized void changed() {
        changes++;
        notifyAll();
    }

    /** The count of changes so far, for {@link #awaitChange}. */
    synchronized long changes() {
        return changes;
    }

    /** Waits until a change after {@code seen}, or {@code millis}. */
    synchronized void awaitChange(long seen, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(millis);
        long left;
        while (changes == seen && (left = deadline - System.nanoTime()) > 0) {
            java.util.concurrent.TimeUnit.NANOSECONDS.timedWait(this, left);
        }
    }

    /** The handler of a job of {@code type} started on {@code slot} just now. */
    synchronized void started(GpuSlot slot, String type) {
        changed();
        long now = nanoClock.getAsLong();
        Optional<Duration> expected = times.expected(type);
        if (expected.isEmpty() || expected.get().compareTo(LONG_JOB) > 0) {
            busy.put(slot.index(), new Busy(slot, Long.MAX_VALUE, Long.MAX_VALUE));
            return;
        }
        long expectedNanos = expected.get().toNanos();
        long opensAt = now + expectedNanos - times.fetchLatency().toNanos() * LATENCY_MARGIN;
        long overrun = Math.max(expectedNanos, MIN_OVERRUN.toNanos());
        busy.put(slot.index(), new Busy(slot, opensAt, now + expectedNanos + overrun));
    }

    /**
     * The job on {@code slot} has ended (its handler returned or was stopped): the slot is no
     * longer busy. Returns the handoff to the job claimed ahead for it, if any: offer it the slot.
     */
    synchronized Optional<SlotHandoff> ended(GpuSlot slot) {
        changed();
        Busy ended = busy.remove(slot.index());
        return ended == null ? Optional.empty() : Optional.ofNullable(ended.held);
    }

    /** How many busy slots may receive their look-ahead now. */
    synchronized int wanted() {
        long now = nanoClock.getAsLong();
        int wanted = 0;
        for (Busy b : busy.values()) {
            if (open(b, now)) {
                wanted++;
            }
        }
        return wanted;
    }

    private static boolean open(Busy b, long now) {
        return !b.tried && b.held == null && now >= b.opensAt && now < b.holdUntil;
    }

    /**
     * Promises a busy slot whose window is open (closing it) to the job of a message just received
     * ahead; empty where none is open (then the caller hands the message on or gives it back).
     */
    synchronized Optional<SlotHandoff> hold() {
        long now = nanoClock.getAsLong();
        for (Busy b : busy.values()) {
            if (open(b, now)) {
                b.tried = true;
                b.holdUntil = Math.min(b.holdUntil, now + maxHold.toNanos());
                b.held = new SlotHandoff(b.slot, b.holdUntil);
                return Optional.of(b.held);
            }
        }
        return Optional.empty();
    }

    /** A look-ahead receive was made: every window open now is closed for this job run. */
    synchronized void tried() {
        long now = nanoClock.getAsLong();
        for (Busy b : busy.values()) {
            if (open(b, now)) {
                b.tried = true;
            }
        }
    }

    /** Withdraws every wait for a slot (a drain): the jobs claimed ahead give their claims back. */
    synchronized void withdrawAll() {
        for (Busy b : busy.values()) {
            b.tried = true;
            if (b.held != null) {
                b.held.withdraw();
            }
        }
    }

    /** Jobs claimed ahead waiting for their slots now. */
    synchronized int held() {
        int held = 0;
        for (Busy b : busy.values()) {
            if (b.held != null && b.held.waiting()) {
                held++;
            }
        }
        return held;
    }

    /** Nanoseconds until the next window opens; {@link Long#MAX_VALUE}: none. */
    synchronized long nanosToNext() {
        long now = nanoClock.getAsLong();
        long next = Long.MAX_VALUE;
        for (Busy b : busy.values()) {
            if (!b.tried && b.held == null && b.opensAt != Long.MAX_VALUE && b.opensAt > now) {
                next = Math.min(next, b.opensAt - now);
            }
        }
        return next;
    }
}
