package dev.ferry.functions;

import dev.ferry.core.AwsErrors;
import dev.ferry.core.JobQueries;
import dev.ferry.core.JobStatus;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * Waits for jobs to become final, for the requests that asked to ({@code Prefer: wait}): one per
 * function instance, one thread, however many requests wait. Every {@link #TICK} it reads the
 * statuses of the jobs that are due together ({@code BatchGetItem}, strongly consistent, 100 a
 * call) and completes each waiting request's future once its job is final (SUCCEEDED, FAILED,
 * CANCELLED) or gone, or its time is up. No request thread polls.
 *
 * <p>A job is first read {@link #FIRST_POLL} after its request began waiting (the request has
 * just read it), then ever less often, each interval {@link #BACKOFF} times the last, up to
 * {@link #MAX_POLL}: a job that finishes in a second is seen within a quarter of a second, one
 * that runs for a minute costs a read a second. A read that fails (throttling, an outage) is
 * logged and tried again at the next interval; the requests' own deadlines still end their waits.
 * Jobs DynamoDB left unprocessed are read again at the next tick.
 *
 * <p>The thread is started with the first wait and stops when nothing waits, so an idle instance
 * (and a SnapStart snapshot) holds none.
 */
final class JobWaiter {

    private static final Logger LOG = LoggerFactory.getLogger(JobWaiter.class);
    static final Duration TICK = Duration.ofMillis(250);
    static final Duration FIRST_POLL = Duration.ofMillis(250);
    static final Duration MAX_POLL = Duration.ofSeconds(1);
    static final double BACKOFF = 1.5;

    private final Function<Collection<String>, JobQueries.Statuses> statuses;
    private final Clock clock;
    private final boolean scheduled;
    private final Object lock = new Object();
    /** The jobs waited for, by id. Guarded by {@link #lock}. */
    private final Map<String, Watch> watches = new HashMap<>();
    private ScheduledExecutorService thread;
    private ScheduledFuture<?> ticking;

    /** One job, the requests waiting for it, and when it is next read. */
    private static final class Watch {
        final List<Waiting> requests = new ArrayList<>();
        Instant nextRead;
        Duration interval = FIRST_POLL;
    }

    private record Waiting(CompletableFuture<Boolean> done, Instant deadline) {
    }

    /** @param statuses reads many jobs' statuses at once ({@link JobQueries#statuses}) */
    JobWaiter(Function<Collection<String>, JobQueries.Statuses> statuses) {
        this(statuses, Clock.systemUTC(), true);
    }

    /** For tests: with {@code scheduled} false nothing ticks but the test, calling {@link #tick()}. */
    JobWaiter(Function<Collection<String>, JobQueries.Statuses> statuses, Clock clock, boolean scheduled) {
        this.statuses = Objects.requireNonNull(statuses, "statuses");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.scheduled = scheduled;
    }

    /**
     * Waits (without polling on the caller's thread) until the job is final or gone, or
     * {@code timeout} has passed.
     *
     * @return completes with true when the job is final (or has no record any more), false when
     *     the time ran out first
     */
    CompletableFuture<Boolean> await(String jobId, Duration timeout) {
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        Instant now = clock.instant();
        synchronized (lock) {
            Watch watch = watches.computeIfAbsent(jobId, id -> {
                Watch created = new Watch();
                created.nextRead = now.plus(FIRST_POLL);
                return created;
            });
            watch.requests.add(new Waiting(done, now.plus(timeout)));
            if (scheduled && ticking == null) {
                thread = Executors.newSingleThreadScheduledExecutor(runnable -> {
                    Thread t = new Thread(runnable, "ferry-job-waiter");
                    t.setDaemon(true);
                    return t;
                });
                ticking = thread.scheduleWithFixedDelay(this::tickSafely, TICK.toMillis(), TICK.toMillis(),
                        TimeUnit.MILLISECONDS);
            }
        }
        return done;
    }

    /**
     * {@link #await}, on the caller's thread: it sleeps until the job is final or gone (true) or
     * the time is up (false, also when interrupted, the interrupt kept).
     */
    boolean waitFor(String jobId, Duration timeout) {
        CompletableFuture<Boolean> done = await(jobId, timeout);
        try {
            return done.get();
        } catch (InterruptedException e) {
            done.complete(false);
            Thread.currentThread().interrupt();
            return false;
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("the job waiter failed", e.getCause());
        }
    }

    /** How many jobs are waited for now. */
    int watched() {
        synchronized (lock) {
            return watches.size();
        }
    }

    private void tickSafely() {
        try {
            tick();
        } catch (RuntimeException e) {
            // An exception would end the schedule, and every wait with it (until its deadline, never).
            LOG.warn("job waiter: {}", e.toString());
        }
    }

    /** Ends the waits whose time is up, then reads the jobs that are due and ends the waits for final ones. */
    void tick() {
        Instant now = clock.instant();
        List<String> due = new ArrayList<>();
        synchronized (lock) {
            for (Iterator<Map.Entry<String, Watch>> it = watches.entrySet().iterator(); it.hasNext(); ) {
                Map.Entry<String, Watch> entry = it.next();
                Watch watch = entry.getValue();
                watch.requests.removeIf(request -> {
                    if (!now.isBefore(request.deadline())) {
                        request.done().complete(false);
                        return true;
                    }
                    return request.done().isDone(); // its request went away
                });
                if (watch.requests.isEmpty()) {
                    it.remove();
                } else if (!now.isBefore(watch.nextRead)) {
                    due.add(entry.getKey());
                }
            }
            stopIfIdle();
        }
        if (due.isEmpty()) {
            return;
        }
        JobQueries.Statuses read;
        try {
            read = statuses.apply(due);
        } catch (SdkException e) {
            LOG.warn("job waiter: could not read {} job(s), reading again later: {}", due.size(),
                    AwsErrors.describe(e));
            synchronized (lock) {
                due.forEach(id -> later(watches.get(id), now));
            }
            return;
        }
        synchronized (lock) {
            for (String jobId : due) {
                Watch watch = watches.get(jobId);
                if (watch == null) {
                    continue;
                }
                if (read.unprocessed().contains(jobId)) {
                    watch.nextRead = now; // throttled: at the next tick
                    continue;
                }
                JobStatus status = read.found().get(jobId);
                if (status == null || status.isFinal()) {
                    watch.requests.forEach(request -> request.done().complete(true));
                    watches.remove(jobId);
                } else {
                    later(watch, now);
                }
            }
            stopIfIdle();
        }
    }

    private static void later(Watch watch, Instant now) {
        if (watch == null) {
            return;
        }
        watch.nextRead = now.plus(watch.interval);
        long next = Math.min(MAX_POLL.toMillis(), Math.round(watch.interval.toMillis() * BACKOFF));
        watch.interval = Duration.ofMillis(next);
    }

    /** Under the lock: no job left, no tick and no thread. The next wait starts them again. */
    private void stopIfIdle() {
        if (watches.isEmpty() && ticking != null) {
            ticking.cancel(false);
            ticking = null;
            thread.shutdown();
            thread = null;
        }
    }
}
