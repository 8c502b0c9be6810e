package dev.ferry.worker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * Which queue a receive asks, and in what order: the pool's queue alone, or, where the pool has a
 * high-priority lane, that lane first. Each delivery keeps the queue it came from
 * ({@link Delivery#queue()}), where everything done with it is done.
 *
 * <p>The rule, for a worker with a lane. Each receive asks the high lane first, for as many
 * messages as it wants, and the normal lane for what the high lane did not have. The starvation
 * bound: after {@value #MAX_HIGH_IN_ROW} jobs in a row from the high lane, the next receive asks
 * the normal lane first (so one receive never takes more than what is left of the
 * {@value #MAX_HIGH_IN_ROW} from the high lane before the normal lane is asked); the count starts
 * again whenever the normal lane is asked, because then it either gave its jobs or had none
 * waiting. A high job therefore waits behind at most one normal receive per
 * {@value #MAX_HIGH_IN_ROW} high jobs, and a normal job behind at most {@value #MAX_HIGH_IN_ROW}
 * high jobs a worker receives.
 *
 * <p>Cost while busy. A busy worker asks the high lane again at most every {@code HIGH_RECHECK}
 * (1 s) after it found it empty, not on every receive: with jobs of 20 ms that short poll would
 * otherwise add a receive per job. A high job that arrives while the worker is busy with normal
 * ones so starts within about a second plus the end of a running job.
 *
 * <p>Waiting. A receive that may wait (a slot is free) never long-polls one lane for the whole
 * {@code FERRY_WAIT_SECONDS}: that would leave a job in the other lane waiting as long. The high
 * lane is short-polled while the worker is busy; the normal lane, where the high lane had nothing,
 * is long-polled for {@value #IDLE_WAIT_SECONDS} s; once a receive came back empty (the worker is
 * idle) the high lane is long-polled for {@value #IDLE_WAIT_SECONDS} s too, so that SQS's short
 * poll, which asks only some of its servers, cannot miss a lone high job round after round. An idle
 * worker so makes about two receives every two seconds (3,600 an hour, against 180 with one 20 s
 * long poll), and a job arriving in either lane waits about a second at most. Where a worker has
 * no lane, nothing changes: one queue, long-polled for {@code FERRY_WAIT_SECONDS}.
 *
 * <p>A receive that fails in one lane does not lose what the other gave: those are returned and
 * the failure logged; only a round that received nothing and failed throws (the poller backs off).
 * Used by the poller's one thread only.
 */
final class Lanes {

    private static final Logger LOG = LoggerFactory.getLogger(Lanes.class);
    /** The starvation bound: high-lane jobs received in a row before the normal lane is asked first. */
    static final int MAX_HIGH_IN_ROW = 4;
    /** The longest a worker with a lane long-polls either lane, seconds. */
    static final int IDLE_WAIT_SECONDS = 1;

    private final JobQueue normal;
    /** The high-priority lane; null where the pool has none. */
    private final JobQueue high;
    /** Jobs received from the high lane since the normal lane was last asked. */
    private int highInRow;
    /** How long a busy worker leaves the high lane alone after finding it empty. */
    static final Duration HIGH_RECHECK = Duration.ofSeconds(1);

    /** Whether the last receive that could wait came back empty (a starting worker assumes work waits). */
    private boolean idle;
    /** Until when (nanos) a busy worker does not ask the high lane, which was empty. */
    private long highQuietUntil;
    private final java.util.function.LongSupplier nanos;

    private Lanes(JobQueue normal, JobQueue high, java.util.function.LongSupplier nanos) {
        this.normal = Objects.requireNonNull(normal, "normal");
        this.high = high;
        this.nanos = Objects.requireNonNull(nanos, "nanos");
        this.highQuietUntil = nanos.getAsLong();
    }

    /** One queue, no lane: receives as a worker always did. */
    static Lanes of(JobQueue queue) {
        return new Lanes(queue, null, System::nanoTime);
    }

    /** The pool's queue and its high-priority lane. */
    static Lanes withPriority(JobQueue normal, JobQueue high) {
        return withPriority(normal, high, System::nanoTime);
    }

    /** The same, on a clock of its own (tests). */
    static Lanes withPriority(JobQueue normal, JobQueue high, java.util.function.LongSupplier nanos) {
        return new Lanes(normal, Objects.requireNonNull(high, "high"), nanos);
    }

    /** Every queue this worker receives from, the normal one first. */
    List<JobQueue> all() {
        return high == null ? List.of(normal) : List.of(normal, high);
    }

    /** For logs: the queue, and the lane where there is one. */
    String describe() {
        return high == null ? normal.url() : normal.url() + " (high-priority lane " + high.url() + ")";
    }

    /**
     * At most {@code max} messages (1-10), each out of sight for {@code lease}, by the rule above.
     *
     * @param mayWait whether it may long-poll (a slot is free); false for look-aheads alone, which
     *     are only worth having now
     * @throws SdkException when nothing was received and a lane's receive failed
     */
    List<Delivery> receive(int max, Duration lease, boolean mayWait) {
        if (high == null) {
            return normal.receive(max, lease, mayWait ? normal.waitSeconds() : 0);
        }
        int idleWait = Math.min(IDLE_WAIT_SECONDS, normal.waitSeconds());
        Round round = new Round(max, lease);
        boolean highMayHaveMore = true;
        // Busy, and the high lane was empty less than HIGH_RECHECK ago: not asked this round.
        boolean highQuiet = !idle && nanos.getAsLong() - highQuietUntil < 0;
        if (highQuiet) {
            highMayHaveMore = false;
        } else if (highInRow < MAX_HIGH_IN_ROW) {
            int ask = Math.min(max, MAX_HIGH_IN_ROW - highInRow);
            int got = round.ask(high, ask, mayWait && idle ? idleWait : 0);
            highInRow += Math.max(0, got);
            highMayHaveMore = got == ask;
            // Empty: left alone a while (when busy); it had jobs: asked again next round.
            highQuietUntil = nanos.getAsLong() + (got == 0 ? HIGH_RECHECK.toNanos() : 0);
        }
        if (round.wanted() > 0) {
            // The normal lane's turn: the high one had no more, or it has had its MAX_HIGH_IN_ROW. While the
            // high lane may have more, the normal one gets one job, not the rest of the batch: a worker that
            // takes ten at once must not start six normal jobs while high ones wait.
            int ask = highMayHaveMore ? 1 : round.wanted();
            int got = round.ask(normal, ask, mayWait && round.isEmpty() && !highMayHaveMore ? idleWait : 0);
            if (got >= 0) {
                highInRow = 0; // it gave what it had waiting, or had none: the bound starts again
            }
            if (round.wanted() > 0 && highMayHaveMore) {
                highInRow += Math.max(0, round.ask(high, round.wanted(), 0));
            }
        }
        if (mayWait) {
            idle = round.isEmpty();
        }
        return round.finish();
    }

    /** Jobs received from the high lane since the normal lane was last asked (tests). */
    int highInRow() {
        return highInRow;
    }

    /** One receive's deliveries, gathered lane by lane. */
    private static final class Round {
        private final int max;
        private final Duration lease;
        private final List<Delivery> got = new ArrayList<>();
        private SdkException failure;
        private String failedUrl;

        Round(int max, Duration lease) {
            this.max = max;
            this.lease = lease;
        }

        int wanted() {
            return max - got.size();
        }

        boolean isEmpty() {
            return got.isEmpty();
        }

        /** How many the queue gave; -1 where its receive failed (kept for {@link #finish}). */
        int ask(JobQueue queue, int count, int waitSeconds) {
            try {
                List<Delivery> deliveries = queue.receive(count, lease, waitSeconds);
                got.addAll(deliveries);
                return deliveries.size();
            } catch (SdkException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
                failedUrl = failedUrl == null ? queue.url() : failedUrl;
                return -1;
            }
        }

        List<Delivery> finish() {
            if (failure != null) {
                if (got.isEmpty()) {
                    throw failure; // the poller logs it and backs off
                }
                LOG.warn("receive from {} failed; the {} message(s) the other lane gave go on: {}", failedUrl,
                        got.size(), failure.toString());
            }
            return got;
        }
    }
}
