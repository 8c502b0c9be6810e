package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The look-ahead rule: one job claimed ahead per busy slot, only near its job's expected end, never through a long job. */
class LookAheadTest {

    private static final GpuSlot SLOT = new GpuSlot(0, "0");
    private static final GpuSlot OTHER = new GpuSlot(1, "1");
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final RunTimes times = new RunTimes();
    private final LookAhead lookAhead = new LookAhead(times, Duration.ofSeconds(30), now::get);

    private void advance(Duration by) {
        now.addAndGet(by.toNanos());
    }

    /** Run times of 100 ms, a fetch of 10 ms (5 + 5): the window opens at 100 - 3 x 10 = 70 ms. */
    private void history() {
        for (int i = 0; i < 5; i++) {
            times.ran("t", Duration.ofMillis(100));
        }
        for (int i = 0; i < 50; i++) {
            times.received(Duration.ofMillis(5));
            times.claimed(Duration.ofMillis(5));
        }
    }

    @Test
    void typeWithNoHistory_neverLooksAhead() {
        lookAhead.started(SLOT, "new");
        advance(Duration.ofHours(1));
        assertEquals(0, lookAhead.wanted());
        assertTrue(lookAhead.hold().isEmpty());
        assertEquals(Long.MAX_VALUE, lookAhead.nanosToNext());
    }

    @Test
    void longJob_neverLooksAhead() {
        times.ran("long", LookAhead.LONG_JOB.plusSeconds(1));
        lookAhead.started(SLOT, "long");
        advance(LookAhead.LONG_JOB);
        assertEquals(0, lookAhead.wanted());
        assertTrue(lookAhead.hold().isEmpty());
    }

    @Test
    void windowOpens_atExpectedEndLessTheFetchLatencyMargin_andHoldsAtMostOnePerBusySlot() {
        history();
        lookAhead.started(SLOT, "t");
        advance(Duration.ofMillis(60));
        assertEquals(0, lookAhead.wanted(), "not yet: the job is expected to run 40 ms more");
        long toNext = lookAhead.nanosToNext();
        assertTrue(toNext > 0 && toNext <= Duration.ofMillis(11).toNanos(), "wakes when the window opens: " + toNext);
        advance(Duration.ofMillis(11));
        assertEquals(1, lookAhead.wanted());
        SlotHandoff held = lookAhead.hold().orElseThrow();
        assertEquals(SLOT, held.slot());
        assertEquals(0, lookAhead.wanted(), "one look-ahead per busy slot");
        assertTrue(lookAhead.hold().isEmpty());
        assertEquals(1, lookAhead.held());
        assertSame(held, lookAhead.ended(SLOT).orElseThrow(), "the slot goes to the job claimed ahead for it");
        assertEquals(0, lookAhead.held());
    }

    @Test
    void oneLookAheadReceivePerJobRun_evenWhenItBroughtNothing() {
        history();
        lookAhead.started(SLOT, "t");
        advance(Duration.ofMillis(80));
        assertEquals(1, lookAhead.wanted());
        lookAhead.tried();
        assertEquals(0, lookAhead.wanted());
        assertTrue(lookAhead.ended(SLOT).isEmpty());
        lookAhead.started(SLOT, "t");
        advance(Duration.ofMillis(80));
        assertEquals(1, lookAhead.wanted(), "the next job run has a window of its own");
    }

    @Test
    void jobClaimedAhead_waitsOnlyUntilItsSlotsJobOverrunsItsExpectedEnd() {
        long started = now.get();
        history();
        lookAhead.started(SLOT, "t");
        lookAhead.started(OTHER, "t");
        advance(Duration.ofMillis(80));
        assertEquals(2, lookAhead.wanted());
        SlotHandoff held = lookAhead.hold().orElseThrow();
        // Expected end at 100 ms, overrun margin max(100 ms, 1 s): it gives up at 1.1 s.
        assertEquals(started + Duration.ofMillis(1_100).toNanos(), held.deadlineNanos());
        advance(Duration.ofMillis(1_100));
        assertEquals(0, lookAhead.wanted(), "the other slot's window closed as its job overran too");
    }

    @Test
    void noJobWaitsLongerThanHalfWhatItsLeaseLeavesForTheFirstHeartbeat() {
        assertEquals(Duration.ofSeconds(1), LookAhead.maxHold(Duration.ofSeconds(3), Duration.ofSeconds(1)));
        LookAhead shortLease = new LookAhead(times, LookAhead.maxHold(Duration.ofSeconds(3), Duration.ofSeconds(1)),
                now::get);
        times.ran("t", Duration.ofSeconds(20));
        shortLease.started(SLOT, "t");
        advance(Duration.ofSeconds(20));
        long heldAt = now.get();
        assertEquals(heldAt + Duration.ofSeconds(1).toNanos(), shortLease.hold().orElseThrow().deadlineNanos());
    }

    @Test
    void withdrawAll_endsEveryWait_andNoWindowReopens() throws InterruptedException {
        history();
        lookAhead.started(SLOT, "t");
        lookAhead.started(OTHER, "t");
        advance(Duration.ofMillis(80));
        SlotHandoff a = lookAhead.hold().orElseThrow();
        SlotHandoff b = lookAhead.hold().orElseThrow();
        assertEquals(2, lookAhead.held());
        lookAhead.withdrawAll();
        assertEquals(0, lookAhead.held());
        assertEquals(0, lookAhead.wanted());
        assertFalse(a.await(), "a withdrawn wait ends at once");
        assertTrue(a.withdrawn());
        assertFalse(b.offer(), "its slot is put up instead");
    }
}
