package dev.ferry.worker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BiPredicate;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * The receive loop. Capacity first: it takes free slots (waiting for one, then as many more as are
 * free), adds the look-aheads {@link LookAhead} allows now (busy slots whose jobs are about to
 * end), and only then polls for at most that many messages (SQS's 10 at most), each handed on with
 * a slot of its own or started ahead for a busy slot (its job claimed, then waiting for the slot).
 * With a free slot it long-polls; for look-aheads alone it short-polls (a look-ahead is only worth
 * having now). So the worker holds at most one message per free slot plus one per busy slot about
 * to finish, from whichever queue: where the pool has a high-priority lane, {@link Lanes} decides
 * which one a receive asks first and how long it waits. After a failed receive it backs off exponentially (1 s doubling to 30 s, with jitter)
 * and resets after a success; an interrupt stops it.
 */
final class MessagePoller implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(MessagePoller.class);
    /** Longest pause after failed receives in a row. */
    static final Duration MAX_POLL_BACKOFF = Duration.ofSeconds(30);
    /** SQS returns at most 10 messages per receive. */
    static final int MAX_BATCH = 10;
    /** Longest wait for a free slot before looking at the look-aheads and the stop flag again. */
    static final Duration TICK = Duration.ofSeconds(1);
    /** How long a look-ahead whose slot's job just ended waits for that slot to be put up. */
    static final Duration HAND_ON_WAIT = Duration.ofMillis(50);
    /** A receive slower than this waited for messages: it says nothing of the fetch latency. */
    private static final Duration LATENCY_SAMPLE_LIMIT = Duration.ofSeconds(1);

    private final BlockingQueue<GpuSlot> freeSlots;
    private final Lanes lanes;
    private final Duration lease;
    private final LookAhead lookAhead;
    private final BiPredicate<Delivery, GpuSlot> dispatch;
    private final Predicate<Delivery> dispatchAhead;
    private final BooleanSupplier stopping;
    private final Backoff backoff = Backoff.withJitter(Duration.ofSeconds(1), MAX_POLL_BACKOFF);

    /**
     * @param dispatch starts a job for the delivery on the slot; false if it did not take the slot
     * @param dispatchAhead starts a job for the delivery ahead, for a busy slot whose look-ahead
     *     window is open; false where none is (the job it was received for just ended)
     */
    MessagePoller(BlockingQueue<GpuSlot> freeSlots, JobQueue queue, Duration lease, LookAhead lookAhead,
                  BiPredicate<Delivery, GpuSlot> dispatch, Predicate<Delivery> dispatchAhead,
                  BooleanSupplier stopping) {
        this(freeSlots, Lanes.of(queue), lease, lookAhead, dispatch, dispatchAhead, stopping);
    }

    /** @param lanes the queues it receives from, and their order */
    MessagePoller(BlockingQueue<GpuSlot> freeSlots, Lanes lanes, Duration lease, LookAhead lookAhead,
                  BiPredicate<Delivery, GpuSlot> dispatch, Predicate<Delivery> dispatchAhead,
                  BooleanSupplier stopping) {
        this.freeSlots = Objects.requireNonNull(freeSlots, "freeSlots");
        this.lanes = Objects.requireNonNull(lanes, "lanes");
        this.lease = Objects.requireNonNull(lease, "lease");
        this.lookAhead = Objects.requireNonNull(lookAhead, "lookAhead");
        this.dispatch = Objects.requireNonNull(dispatch, "dispatch");
        this.dispatchAhead = Objects.requireNonNull(dispatchAhead, "dispatchAhead");
        this.stopping = Objects.requireNonNull(stopping, "stopping");
    }

    @Override
    public void run() {
        int failuresInRow = 0;
        while (!stopping.getAsBoolean()) {
            List<GpuSlot> taken = new ArrayList<>();
            try {
                long next = lookAhead.nanosToNext();
                long waitMillis = Math.max(1, Math.min(TICK.toMillis(), next == Long.MAX_VALUE ? Long.MAX_VALUE
                        : TimeUnit.NANOSECONDS.toMillis(next) + 1));
                // Woken by a slot put up, or a job's start (its look-ahead window may open soon).
                long seen = lookAhead.changes();
                GpuSlot first = freeSlots.poll();
                if (first == null) {
                    lookAhead.awaitChange(seen, waitMillis);
                    first = freeSlots.poll();
                }
                if (first != null) {
                    taken.add(first);
                    freeSlots.drainTo(taken, MAX_BATCH - 1);
                }
                int ahead = Math.min(lookAhead.wanted(), MAX_BATCH - taken.size());
                if (taken.isEmpty() && ahead == 0) {
                    continue;
                }
                if (stopping.getAsBoolean()) {
                    break;
                }
                long started = System.nanoTime();
                List<Delivery> deliveries = lanes.receive(taken.size() + ahead, lease, !taken.isEmpty());
                Duration took = Duration.ofNanos(System.nanoTime() - started);
                if (!deliveries.isEmpty() && took.compareTo(LATENCY_SAMPLE_LIMIT) < 0) {
                    lookAhead.times().received(took);
                }
                failuresInRow = 0;
                for (Delivery delivery : deliveries) {
                    if (!taken.isEmpty()) {
                        GpuSlot slot = taken.remove(taken.size() - 1);
                        if (!dispatch.test(delivery, slot)) {
                            taken.add(slot);
                        }
                    } else if (!dispatchAhead.test(delivery)) {
                        handOn(delivery);
                    }
                }
                if (ahead > 0) {
                    lookAhead.tried();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (SdkException e) {
                failuresInRow++;
                Duration pause = backoff.delay(failuresInRow);
                LOG.warn("receive from {} failed ({} in a row), next try in {} ms: {}", lanes.describe(), failuresInRow,
                        pause.toMillis(), e.toString());
                try {
                    Thread.sleep(pause.toMillis());
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    break;
                }
            } finally {
                freeSlots.addAll(taken);
            }
        }
        LOG.info("stopped receiving from {}", lanes.describe());
    }

    /**
     * A look-ahead whose slot's job ended while it was received (the usual race with short jobs):
     * that slot, put up just now, runs it. Only where no slot frees within {@link #HAND_ON_WAIT}
     * (the job overran instead) does it go back, spending a receive.
     */
    private void handOn(Delivery delivery) throws InterruptedException {
        GpuSlot free = freeSlots.poll(HAND_ON_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        if (free != null) {
            if (!dispatch.test(delivery, free)) {
                freeSlots.add(free);
            }
            return;
        }
        delivery.queue().changeVisibility(delivery, Duration.ZERO, "look-ahead no longer wanted");
    }
}
