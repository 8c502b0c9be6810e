package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sqs.model.Message;

/** The look-ahead rule: one message per busy slot, only near its job's expected end, never through a long job. */
class LookAheadTest {

    private static final GpuSlot SLOT = new GpuSlot(0, "0");
    private static final GpuSlot OTHER = new GpuSlot(1, "1");
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final RunTimes times = new RunTimes();
    private final LookAhead lookAhead = new LookAhead(times, Duration.ofSeconds(30), now::get);

    private static Delivery delivery(String id) {
        return new Delivery(Message.builder().messageId(id).receiptHandle("rh-" + id).body("{}").build(), 1,
                Instant.now());
    }

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
        assertFalse(lookAhead.hold(delivery("m")));
        assertEquals(Long.MAX_VALUE, lookAhead.nanosToNext());
    }

    @Test
    void longJob_neverLooksAhead() {
        times.ran("long", LookAhead.LONG_JOB.plusSeconds(1));
        lookAhead.started(SLOT, "long");
        advance(LookAhead.LONG_JOB);
        assertEquals(0, lookAhead.wanted());
        assertFalse(lookAhead.hold(delivery("m")));
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
        assertTrue(lookAhead.hold(delivery("m1")));
        assertEquals(0, lookAhead.wanted(), "one look-ahead per busy slot");
        assertFalse(lookAhead.hold(delivery("m2")));
        assertEquals(1, lookAhead.held());
        assertEquals("m1", lookAhead.ended(SLOT).orElseThrow().messageId(), "the slot's next job");
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
    void heldMessage_goesBack_whenTheJobOverrunsItsExpectedEnd() {
        history();
        lookAhead.started(SLOT, "t");
        lookAhead.started(OTHER, "t");
        advance(Duration.ofMillis(80));
        assertEquals(2, lookAhead.wanted());
        assertTrue(lookAhead.hold(delivery("m1")));
        // Expected end at 100 ms, overrun margin max(100 ms, 1 s): back at 1.1 s.
        advance(Duration.ofMillis(900));
        assertTrue(lookAhead.overrun().isEmpty());
        advance(Duration.ofMillis(200));
        assertEquals(0, lookAhead.wanted(), "the other slot's window closed as its job overran too");
        List<Delivery> back = lookAhead.overrun();
        assertEquals(1, back.size());
        assertEquals("m1", back.get(0).messageId());
        assertEquals(0, lookAhead.held());
        assertTrue(lookAhead.ended(SLOT).isEmpty(), "given back, so not the slot's any more");
    }

    @Test
    void noMessageIsHeldLongerThanHalfWhatItsVisibilityLeavesForTheFirstHeartbeat() {
        assertEquals(Duration.ofSeconds(1), LookAhead.maxHold(Duration.ofSeconds(3), Duration.ofSeconds(1)));
        LookAhead shortLease = new LookAhead(times, LookAhead.maxHold(Duration.ofSeconds(3), Duration.ofSeconds(1)),
                now::get);
        times.ran("t", Duration.ofSeconds(20));
        shortLease.started(SLOT, "t");
        advance(Duration.ofSeconds(20));
        assertTrue(shortLease.hold(delivery("m")));
        advance(Duration.ofMillis(999));
        assertTrue(shortLease.overrun().isEmpty());
        advance(Duration.ofMillis(2));
        assertEquals(1, shortLease.overrun().size());
    }

    @Test
    void takeAll_returnsEveryHeldMessage_andNoWindowReopens() {
        history();
        lookAhead.started(SLOT, "t");
        lookAhead.started(OTHER, "t");
        advance(Duration.ofMillis(80));
        assertTrue(lookAhead.hold(delivery("a")));
        assertTrue(lookAhead.hold(delivery("b")));
        assertEquals(2, lookAhead.takeAll().size());
        assertEquals(0, lookAhead.held());
        assertEquals(0, lookAhead.wanted());
    }

    @Test
    void runTimes_expectTheMedianOfTheLastRuns() {
        RunTimes t = new RunTimes();
        assertTrue(t.expected("x").isEmpty());
        for (int ms : new int[] {10, 1000, 20, 30, 25}) {
            t.ran("x", Duration.ofMillis(ms));
        }
        assertEquals(Duration.ofMillis(25), t.expected("x").orElseThrow());
        for (int i = 0; i < RunTimes.WINDOW; i++) {
            t.ran("x", Duration.ofMillis(5));
        }
        assertEquals(Duration.ofMillis(5), t.expected("x").orElseThrow(), "only the last runs count");
    }
}
