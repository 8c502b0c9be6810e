package dev.ferry.worker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BiPredicate;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * The receive loop. Capacity first: it takes free slots (at least one, waiting for it; then as
 * many more as are free, up to SQS's 10), and only then long-polls for at most that many messages,
 * each handed on with a slot of its own. So the worker never holds a message it has no GPU for.
 * After a failed receive it backs off exponentially (1 s doubling to 30 s, with jitter) and
 * resets after a success; an interrupt stops it.
 */
final class MessagePoller implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(MessagePoller.class);
    /** Longest pause after failed receives in a row. */
    static final Duration MAX_POLL_BACKOFF = Duration.ofSeconds(30);
    /** SQS returns at most 10 messages per receive. */
    static final int MAX_BATCH = 10;

    private final BlockingQueue<GpuSlot> freeSlots;
    private final JobQueue queue;
    private final Duration lease;
    private final BiPredicate<Delivery, GpuSlot> dispatch;
    private final BooleanSupplier stopping;
    private final Backoff backoff = Backoff.withJitter(Duration.ofSeconds(1), MAX_POLL_BACKOFF);

    /**
     * @param dispatch starts a job for the delivery on the slot; false if it did not take the slot
     */
    MessagePoller(BlockingQueue<GpuSlot> freeSlots, JobQueue queue, Duration lease,
                  BiPredicate<Delivery, GpuSlot> dispatch, BooleanSupplier stopping) {
        this.freeSlots = Objects.requireNonNull(freeSlots, "freeSlots");
        this.queue = Objects.requireNonNull(queue, "queue");
        this.lease = Objects.requireNonNull(lease, "lease");
        this.dispatch = Objects.requireNonNull(dispatch, "dispatch");
        this.stopping = Objects.requireNonNull(stopping, "stopping");
    }

    @Override
    public void run() {
        int failuresInRow = 0;
        while (!stopping.getAsBoolean()) {
            List<GpuSlot> taken = new ArrayList<>();
            try {
                GpuSlot first = freeSlots.poll(1, TimeUnit.SECONDS);
                if (first == null) {
                    continue;
                }
                taken.add(first);
                freeSlots.drainTo(taken, MAX_BATCH - 1);
                if (stopping.getAsBoolean()) {
                    break;
                }
                List<Delivery> deliveries = queue.receive(taken.size(), lease);
                failuresInRow = 0;
                for (Delivery delivery : deliveries) {
                    GpuSlot slot = taken.remove(taken.size() - 1);
                    if (!dispatch.test(delivery, slot)) {
                        taken.add(slot);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (SdkException e) {
                failuresInRow++;
                Duration pause = backoff.delay(failuresInRow);
                LOG.warn("receive from {} failed ({} in a row), next try in {} ms: {}", queue.url(), failuresInRow,
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
        LOG.info("stopped receiving from {}", queue.url());
    }
}
