package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A busy slot's handoff to the job claimed ahead for it: whoever acts first decides, and a slot is never lost or shared. */
class SlotHandoffTest {

    private static final GpuSlot SLOT = new GpuSlot(0, "0");

    private static SlotHandoff dueIn(Duration wait) {
        return new SlotHandoff(SLOT, System.nanoTime() + wait.toNanos());
    }

    @Test
    void offeredWhileTheJobWaits_theJobTakesTheSlot_andFreesItWhenDone() throws Exception {
        SlotHandoff handoff = dueIn(Duration.ofSeconds(30));
        CompletableFuture<Boolean> waited = CompletableFuture.supplyAsync(() -> {
            try {
                return handoff.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(50);
        assertFalse(waited.isDone(), "it waits for the slot");
        assertTrue(handoff.offer());
        assertTrue(waited.get(5, TimeUnit.SECONDS));
        assertTrue(handoff.release(), "the slot is the job's to free");
    }

    @Test
    void offeredBeforeTheJobIsReady_itsWaitEndsAtOnce() throws InterruptedException {
        SlotHandoff handoff = dueIn(Duration.ofSeconds(30));
        assertTrue(handoff.offer());
        assertFalse(handoff.gone(), "offered, not gone: the job still claims and runs");
        assertFalse(handoff.offer(), "offered once");
        assertTrue(handoff.await());
    }

    @Test
    void theSlotsJobOverran_theWaitEndsAtItsDeadline_andALaterOfferIsRefused() throws InterruptedException {
        SlotHandoff handoff = dueIn(Duration.ofMillis(50));
        long started = System.nanoTime();
        assertFalse(handoff.await());
        assertTrue(handoff.gone());
        assertTrue(System.nanoTime() - started >= Duration.ofMillis(45).toNanos(), "waited until its deadline");
        assertFalse(handoff.withdrawn());
        assertFalse(handoff.offer(), "the slot stays its running job's, to be put up as usual");
        assertFalse(handoff.release());
    }

    @Test
    void aJobThatWillNotRun_releasesTheHandoff_andTheSlotIsPutUpInstead() {
        SlotHandoff handoff = dueIn(Duration.ofSeconds(30));
        assertFalse(handoff.release(), "never offered: not the job's to free");
        assertFalse(handoff.waiting());
        assertFalse(handoff.offer());
    }

    @Test
    void withdrawn_theWaitEndsAtOnce_sayingSo() throws InterruptedException {
        SlotHandoff handoff = dueIn(Duration.ofSeconds(30));
        handoff.withdraw();
        assertFalse(handoff.await());
        assertTrue(handoff.withdrawn());
        assertFalse(handoff.offer());
    }

    @Test
    void withdrawnAfterTheOffer_theSlotIsStillTheJobs() throws InterruptedException {
        SlotHandoff handoff = dueIn(Duration.ofSeconds(30));
        assertTrue(handoff.offer());
        handoff.withdraw();
        assertFalse(handoff.withdrawn());
        assertTrue(handoff.await());
    }
}
