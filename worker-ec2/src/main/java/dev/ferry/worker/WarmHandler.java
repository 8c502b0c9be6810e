package dev.ferry.worker;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the job types that name a warm handler on one long-lived process per slot and type, and
 * every other type on {@code fallback} (a command per job). A slot takes no message until its
 * processes are ready ({@link #awaitReady}: the worker asks before it puts the slot up, and again
 * after each job); a process that died is started again there, after a back-off when it keeps
 * dying, and the job it was running failed that attempt with its last output. A job never waits
 * for a setup: one that finds its process gone is given back unrun ({@link JobNotRunException}). Setup times and
 * restarts are logged and kept ({@link #statuses()}) for the operator.
 */
public final class WarmHandler implements JobHandler {

    private static final Logger LOG = LoggerFactory.getLogger(WarmHandler.class);
    /** Pause before starting again a process that died, doubling per failure in a row. */
    static final Duration RESTART_BASE = Duration.ofSeconds(1);
    static final Duration RESTART_MAX = Duration.ofMinutes(1);

    /** What a process is doing, for the operator. */
    public enum State { STARTING, READY, RESTARTING, FAILED, STOPPED }

    /** One process's story: its state, how long its last setup took, how often it was started again. */
    /**
     * @param since when it entered {@code state}
     * @param notReadySince when it last stopped being ready (or began its first setup); null while
     *     ready: a handler that keeps failing to start moves {@code since} at every try, not this
     * @param restarts starts again over the worker's life
     * @param recentRestarts starts again within {@link #RECENT}: a loop now, not one long ago
     */
    public record Status(int slot, String type, State state, Long setupMillis, int restarts, String lastError,
                         Instant since, Instant notReadySince, int recentRestarts) {
    }

    /** The window {@link Status#recentRestarts} counts over. */
    public static final Duration RECENT = Duration.ofMinutes(15);

    private final Map<String, JobTypes.Spec> warm;
    private final JobHandler fallback;
    private final Map<String, String> environment;
    private final Path workRoot;
    private final Map<JobTypes.Kind, WarmProcess.Factory> factories;
    private final Clock clock;
    private final Map<String, Slot> slots = new ConcurrentHashMap<>();
    private volatile boolean closed;
    /** Told the type of each process started again (the worker's metrics). */
    private volatile java.util.function.Consumer<String> onRestart = type -> { };

    /** The processes of one slot and type. */
    private final class Slot {
        final GpuSlot slot;
        final JobTypes.Spec spec;
        volatile WarmProcess process;
        /** The process being started, so that a close can stop it mid-setup. */
        volatile WarmProcess starting;
        volatile State state = State.STARTING;
        volatile Long setupMillis;
        volatile int restarts;
        int failuresInRow;
        volatile String lastError;
        volatile Instant since;
        volatile Instant notReadySince;
        /** When it was started again, within {@link #RECENT}; guarded by itself. */
        private final java.util.ArrayDeque<Instant> restartTimes = new java.util.ArrayDeque<>();

        Slot(GpuSlot slot, JobTypes.Spec spec) {
            this.slot = slot;
            this.spec = spec;
            this.since = clock.instant();
            this.notReadySince = since;
        }

        private int recentRestarts(Instant now) {
            synchronized (restartTimes) {
                while (!restartTimes.isEmpty() && restartTimes.peekFirst().isBefore(now.minus(RECENT))) {
                    restartTimes.removeFirst();
                }
                return restartTimes.size();
            }
        }

        /** Not synchronized: read while a start holds the monitor for minutes. */
        Status status() {
            return new Status(slot.index(), spec.name(), state, setupMillis, restarts, lastError, since, notReadySince,
                    recentRestarts(clock.instant()));
        }

        /** Starts the process if it is not running; blocks until it is ready. */
        synchronized WarmProcess ready() throws JobFailedException, InterruptedException {
            while (process == null || !process.alive()) {
                if (closed) {
                    throw new InterruptedException("the worker is stopping");
                }
                boolean again = process != null;
                if (again) {
                    process.close();
                    restarts++;
                    onRestart.accept(spec.name());
                    state = State.RESTARTING;
                    since = clock.instant();
                    if (notReadySince == null) {
                        notReadySince = since;
                    }
                    synchronized (restartTimes) {
                        restartTimes.addLast(since);
                    }
                }
                if (failuresInRow > 0) {
                    Duration pause = Backoff.withJitter(RESTART_BASE, RESTART_MAX).delay(failuresInRow);
                    LOG.warn("handler {}/slot-{}: starting again in {} ms ({} failure(s) in a row)", spec.name(),
                            slot.index(), pause.toMillis(), failuresInRow);
                    wait(pause.toMillis()); // releases the monitor: status reads go on
                }
                WarmProcess fresh = factories.get(spec.kind()).create(new WarmProcess.Context(slot, spec, environment,
                        workRoot.resolve("handlers").resolve(spec.name().toLowerCase(java.util.Locale.ROOT)
                                + "-slot-" + slot.index())));
                long started = System.nanoTime();
                starting = fresh;
                try {
                    if (closed) {
                        throw new InterruptedException("the worker is stopping");
                    }
                    fresh.start();
                    if (closed) {
                        throw new InterruptedException("the worker is stopping");
                    }
                } catch (InterruptedException e) {
                    fresh.close();
                    starting = null;
                    throw e;
                } catch (JobFailedException | RuntimeException e) {
                    fresh.close();
                    process = null;
                    starting = null;
                    failuresInRow++;
                    lastError = e instanceof JobFailedException ? e.getMessage() : e.toString();
                    state = State.FAILED;
                    since = clock.instant();
                    LOG.error("handler {}/slot-{} failed to start ({} in a row): {}", spec.name(), slot.index(),
                            failuresInRow, lastError);
                    continue;
                }
                process = fresh;
                starting = null;
                failuresInRow = 0;
                setupMillis = Duration.ofNanos(System.nanoTime() - started).toMillis();
                state = State.READY;
                since = clock.instant();
                notReadySince = null;
                LOG.info("handler {} ready after {} ms of setup{}", fresh.describe(), setupMillis,
                        again ? " (restart " + restarts + ")" : "");
            }
            return process;
        }

        synchronized void died(String error) {
            lastError = error;
            failuresInRow++;
        }

        /** Not synchronized: a setup under way holds the monitor, and must be stopped, not waited for. */
        void close() {
            WarmProcess beingStarted = starting;
            if (beingStarted != null) {
                beingStarted.close();
            }
            WarmProcess running = process;
            if (running != null) {
                running.close();
            }
            state = State.STOPPED;
            since = clock.instant();
        }
    }

    /**
     * @param warm the warm job types, by {@link JobTypes#envSuffix}
     * @param fallback what runs every other type
     * @param environment what a handler process starts from (the worker's environment)
     * @param workRoot where processes and jobs get directories of their own
     */
    public WarmHandler(Map<String, JobTypes.Spec> warm, JobHandler fallback, Map<String, String> environment,
                       Path workRoot, Map<JobTypes.Kind, WarmProcess.Factory> factories, Clock clock) {
        this.warm = Map.copyOf(warm);
        this.fallback = Objects.requireNonNull(fallback, "fallback");
        this.environment = Map.copyOf(environment);
        this.workRoot = Objects.requireNonNull(workRoot, "workRoot");
        this.factories = Map.copyOf(factories);
        this.clock = Objects.requireNonNull(clock, "clock");
        for (JobTypes.Spec spec : warm.values()) {
            if (!factories.containsKey(spec.kind())) {
                throw new IllegalArgumentException("no warm handler of kind " + spec.kind() + " for job type "
                        + spec.name());
            }
        }
    }

    /** The factories Ferry ships: its own protocol, Cog, SageMaker. */
    static Map<JobTypes.Kind, WarmProcess.Factory> standardFactories() {
        return Map.of(JobTypes.Kind.HANDLER, LineProtocolProcess::new,
                JobTypes.Kind.COG, CogProcess::new,
                JobTypes.Kind.SAGEMAKER, SageMakerProcess::new);
    }

    private Slot slot(GpuSlot gpu, JobTypes.Spec spec) {
        return slots.computeIfAbsent(gpu.index() + "/" + spec.name(), key -> new Slot(gpu, spec));
    }

    @Override
    public void awaitReady(GpuSlot slot) throws InterruptedException {
        for (JobTypes.Spec spec : warm.values()) {
            try {
                slot(slot, spec).ready();
            } catch (JobFailedException e) {
                throw new IllegalStateException("unreachable: ready() retries until it starts", e);
            }
        }
    }

    @Override
    public String run(JobExecution job) throws JobFailedException, InterruptedException {
        JobTypes.Spec spec = warm.get(JobTypes.envSuffix(job.type()));
        if (spec == null) {
            return fallback.run(job);
        }
        Slot slot = slot(job.slot(), spec);
        WarmProcess process = slot.process;
        if (process == null || !process.alive()) {
            slot.died("exited while idle"); // a handler that keeps dying is started again after a back-off
            // It died since the slot was put up: starting it here would hold a claimed job through a
            // setup (minutes, or for ever when the model no longer loads). The job goes back
            // unspent; the slot restarts it before it takes another message.
            throw new JobNotRunException("handler " + spec.name() + "/slot-" + job.slot().index() + " is not running"
                    + (slot.lastError == null ? "" : " (" + slot.lastError + ")") + "; given back to run elsewhere");
        }
        try {
            return process.run(job, spec.timeout());
        } catch (JobFailedException e) {
            if (!process.alive()) {
                slot.died(e.getMessage());
            }
            throw e;
        }
    }

    @Override
    public Duration timeout(String type) {
        JobTypes.Spec spec = warm.get(JobTypes.envSuffix(type));
        return spec != null ? spec.timeout() : fallback.timeout(type);
    }

    @Override
    public void onRestart(java.util.function.Consumer<String> listener) {
        this.onRestart = java.util.Objects.requireNonNull(listener, "listener");
    }

    /** Every warm process's state, setup time and restarts, by slot then type. */
    public List<Status> statuses() {
        List<Status> all = new ArrayList<>();
        new TreeMap<>(slots).values().forEach(slot -> all.add(slot.status()));
        return all;
    }

    @Override
    public void close() {
        closed = true;
        slots.values().forEach(Slot::close);
        fallback.close();
    }
}
