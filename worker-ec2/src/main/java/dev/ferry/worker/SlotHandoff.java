package dev.ferry.worker;

import java.util.concurrent.TimeUnit;

/**
 * A busy slot promised to the job claimed ahead for it ({@link LookAhead}): the slot's running
 * job offers it as its handler returns, and the job waiting for it starts at once. Each side acts
 * once, and whichever acts first decides:
 *
 * <ul>
 *   <li>{@link #offer} before the waiting job gave up: the slot is the job's (it will run there,
 *       or free it).</li>
 *   <li>The waiting job gave up first ({@link #await} past its deadline: its slot's job overran),
 *       was {@link #withdraw withdrawn} (a drain), or {@link #release released} the slot unused
 *       (its job was not claimable, or was cancelled): the offer is refused, and the slot is put
 *       up for the poller as usual.</li>
 * </ul>
 *
 * <p>Thread-safe; {@link System#nanoTime()} is its clock, as for {@link LookAhead}'s deadlines.
 */
final class SlotHandoff {

    private enum State { WAITING, OFFERED, TAKEN, GONE }

    private final GpuSlot slot;
    private final long deadlineNanos;
    private State state = State.WAITING;
    private boolean withdrawn;

    /**
     * @param deadlineNanos when, by {@link System#nanoTime()}, the waiting job stops waiting and
     *     gives its claim back
     */
    SlotHandoff(GpuSlot slot, long deadlineNanos) {
        this.slot = slot;
        this.deadlineNanos = deadlineNanos;
    }

    GpuSlot slot() {
        return slot;
    }

    long deadlineNanos() {
        return deadlineNanos;
    }

    /** The slot is free (its job's handler returned): true if the job waiting for it takes it. */
    synchronized boolean offer() {
        if (state != State.WAITING) {
            return false;
        }
        state = State.OFFERED;
        notifyAll();
        return true;
    }

    /**
     * The job claimed ahead is ready to start: waits until the slot is offered. True: the slot is
     * its own now. False: the deadline came or the handoff was withdrawn first; the slot will
     * never be its own, and the job must give its claim back.
     */
    synchronized boolean await() throws InterruptedException {
        long left;
        while (state == State.WAITING && (left = deadlineNanos - System.nanoTime()) > 0) {
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        if (state == State.OFFERED || state == State.TAKEN) {
            state = State.TAKEN;
            return true;
        }
        state = State.GONE;
        return false;
    }

    /** A draining worker: the waiting job stops waiting (unless the slot was offered already). */
    synchronized void withdraw() {
        if (state == State.WAITING) {
            state = State.GONE;
            withdrawn = true;
            notifyAll();
        }
    }

    /** Whether the wait ended by {@link #withdraw} (the worker stops), not by its deadline. */
    synchronized boolean withdrawn() {
        return withdrawn;
    }

    /**
     * The job claimed ahead is done with the handoff (ran, or will not run): true where the slot
     * was offered to it, so that it is the job's to free; false where it never was (it stays
     * with its running job).
     */
    synchronized boolean release() {
        boolean offered = state == State.OFFERED || state == State.TAKEN;
        state = offered ? State.TAKEN : State.GONE;
        notifyAll();
        return offered;
    }

    /**
     * Whether the wait is over without the slot: withdrawn or released, or its deadline has passed
     * without an offer (then no offer is taken any more).
     */
    synchronized boolean gone() {
        if (state == State.WAITING && System.nanoTime() - deadlineNanos >= 0) {
            state = State.GONE;
        }
        return state == State.GONE;
    }

    /** Whether a job still waits for the slot. */
    synchronized boolean waiting() {
        return state == State.WAITING;
    }
}
