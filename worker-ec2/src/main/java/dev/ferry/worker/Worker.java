package dev.ferry.worker;

import dev.ferry.core.AwsClients;
import dev.ferry.core.DynamoDbJobStore;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.JobStore;
import dev.ferry.core.logging.LogContext;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * The GPU worker: wires its parts and owns their life. {@link MessagePoller} receives at most as
 * many messages as there are free slots; each becomes a {@link JobRun} on a slot of its own
 * (claim, run, outcome), with {@link LeaseKeeper} keeping its lease and message alive,
 * {@link OutcomeWriter} writing its outcome and {@link JobQueue} doing what becomes of its
 * message. {@link #drain} is the one way it stops.
 *
 * <p>Slots are handed out, not counted: a free slot is taken before a receive, travels with the
 * message to its job, and comes back when the job's handler is done. So the worker never holds a
 * message it has no GPU for, and each job knows which GPU is its own.
 *
 * <p>Pipelined slots. A slot is free again as soon as its handler returns: the job's outcome (the
 * fenced write, then its message deleted, re-sent or dead-lettered) is written on the job's own
 * thread, off the slot's path, with its heartbeat running until then, while the slot runs the
 * next job. At most {@value #FINISHING_PER_SLOT} finishing jobs per slot: a slot whose previous
 * jobs are still finishing waits for the older before it takes another. Without that bound a
 * table that cannot be written to would let a worker run job after job whose results it cannot
 * record, each holding a message and a lease. Two, not one: a job shorter than an outcome write
 * (a few ms) would otherwise run no faster than one write after another. Finishing jobs count as
 * held (scale-in protection, a drain waits for them). While a
 * slot's job is about to end, the poller may receive its next message ahead ({@link LookAhead}):
 * that job is claimed at once and waits for the slot ({@link SlotHandoff}), which is handed to it
 * the moment the running job's handler returns.
 */
public final class Worker implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Worker.class);
    /** How long a drain waits for given-back jobs to be written back after their deadline. */
    static final Duration GIVE_BACK_TIMEOUT = Duration.ofSeconds(30);
    /** How long a stopping worker waits for the deletes still lingering. */
    static final Duration DELETE_FLUSH_TIMEOUT = Duration.ofSeconds(10);
    /** How long a starting worker keeps trying to reach its queue. */
    static final Duration START_RETRY_LIMIT = Duration.ofMinutes(5);
    /** How many jobs of one slot may be writing their outcomes while it runs the next. */
    static final int FINISHING_PER_SLOT = 2;

    private final WorkerConfig config;
    private final QueueSettings queue;
    private final List<GpuSlot> slots;
    private final BlockingQueue<GpuSlot> freeSlots;
    private final ExecutorService jobThreads;
    private final ExecutorService handlerThreads;
    /** The pool's queue and, where it has one, its high-priority lane: each a JobQueue (and DeleteBatcher) of its own. */
    private final Lanes lanes;
    private final LeaseKeeper leases;
    private final JobRun.Context runs;
    private final JobHandler handler;
    private final Thread poller;
    private final List<JobRun> running = new ArrayList<>();
    /** Per slot (by index): a permit held by each job from its handler's end until its outcome is written. */
    private final Map<Integer, Semaphore> finishing = new java.util.HashMap<>();
    private final LookAhead lookAhead;
    /** Frees slots (a warm handler made ready again first) without holding up a job's finish. */
    private final ExecutorService slotSetup;
    private volatile IntConsumer busyListener = count -> { };
    private volatile boolean stopping;
    private final AtomicBoolean draining = new AtomicBoolean();
    private final CountDownLatch drained = new CountDownLatch(1);
    /** When running jobs are given back ({@link System#nanoTime()}); a later drain may only bring it forward. */
    private long drainDeadline = Long.MAX_VALUE;
    /** Why it drains (null while it takes jobs), and whether it has stopped: for its heartbeat. */
    private volatile String drainReason;
    private volatile boolean stopped;
    private volatile WorkerFleet fleet;

    public Worker(SqsClient sqs, JobStore store, JobHandler handler, List<GpuSlot> slots,
                  WorkerConfig config, QueueSettings queue, Clock clock) {
        this(sqs, store, handler, slots, config, queue, clock, java.util.Optional.empty());
    }

    /**
     * @param files the job files bucket (file inputs, outputs, large results, logs); empty: jobs
     *     have no files, and one that writes or names any fails
     */
    public Worker(SqsClient sqs, JobStore store, JobHandler handler, List<GpuSlot> slots,
                  WorkerConfig config, QueueSettings queue, Clock clock, java.util.Optional<dev.ferry.core.JobFiles> files) {
        this(sqs, store, handler, slots, config, queue, clock, files, JobMetrics.off());
    }

    /**
     * The high-priority lane {@link WorkerConfig#priorityQueueUrl()} names, if any, is checked here,
     * before anything starts ({@link #checkPriorityLane}).
     *
     * @param metrics what it writes as metrics (embedded metric format lines)
     */
    Worker(SqsClient sqs, JobStore store, JobHandler handler, List<GpuSlot> slots, WorkerConfig config,
           QueueSettings queue, Clock clock, java.util.Optional<dev.ferry.core.JobFiles> files, JobMetrics metrics) {
        Objects.requireNonNull(sqs, "sqs");
        Objects.requireNonNull(store, "store");
        Objects.requireNonNull(handler, "handler");
        Objects.requireNonNull(clock, "clock");
        this.config = Objects.requireNonNull(config, "config");
        this.queue = Objects.requireNonNull(queue, "queue");
        if (slots.isEmpty()) {
            throw new IllegalArgumentException("a worker needs at least one slot");
        }
        checkPriorityLane(sqs, config, queue);
        Duration lease = config.lease(queue);
        Duration heartbeat = config.heartbeat(queue); // fails fast on a heartbeat not shorter than the lease
        this.slots = List.copyOf(slots);
        this.freeSlots = new LinkedBlockingQueue<>(); // a slot is put up once its handlers are ready (start)
        // Per slot: the job it runs, those it finishes, and the one claimed ahead for it.
        this.jobThreads = Executors.newFixedThreadPool((2 + FINISHING_PER_SLOT) * slots.size(), named("ferry-job"));
        this.slotSetup = Executors.newCachedThreadPool(named("ferry-slot-setup"));
        for (GpuSlot slot : this.slots) {
            finishing.put(slot.index(), new Semaphore(FINISHING_PER_SLOT, true));
        }
        this.lookAhead = new LookAhead(new RunTimes(), LookAhead.maxHold(lease, heartbeat), System::nanoTime);
        this.handlerThreads = Executors.newFixedThreadPool(slots.size(), named("ferry-handler"));
        JobQueue jobQueue = new JobQueue(sqs, config.queueUrl(), queue.deadLetterQueueUrl(), config.waitSeconds(),
                clock, config.deleteLinger(queue));
        // Both lanes dead-letter to the pool's one DLQ (checked at start); each acknowledges its own messages.
        this.lanes = config.priorityQueueUrl().map(laneUrl -> Lanes.withPriority(jobQueue, new JobQueue(sqs, laneUrl,
                queue.deadLetterQueueUrl(), config.waitSeconds(), clock, config.deleteLinger(queue))))
                .orElseGet(() -> Lanes.of(jobQueue));
        // Per slot: a job's heartbeat and its progress writes never wait for each other, nor for the
        // heartbeats of the jobs the slot is finishing or of the one claimed ahead for it.
        this.leases = new LeaseKeeper(store, clock, lease, heartbeat, (3 + FINISHING_PER_SLOT) * slots.size());
        this.handler = handler;
        this.runs = JobRun.Context.of(config, queue, store, handler, leases, handlerThreads, clock, files, lookAhead,
                metrics);
        handler.onRestart(metrics::handlerRestarted); // through any wrapper (SlotActivity) to the warm handlers
        this.poller = named("ferry-poller").newThread(
                new MessagePoller(freeSlots, lanes, lease, lookAhead, this::dispatch, this::dispatchAhead,
                        () -> stopping));
    }

    /**
     * A worker configured from the environment: clients, store, slots ({@code FERRY_SLOTS} or
     * {@code nvidia-smi -L}) and the command handler ({@code FERRY_COMMAND_<TYPE>}). It checks
     * that the table is a Ferry job table and the queue has a redrive policy Ferry can work with
     * ({@link QueueSettings}), and refuses to start otherwise.
     *
     * @throws IllegalStateException a setting, the queue or the table is not usable; the message
     *     says which and why
     */
    public static Worker fromEnvironment(Map<String, String> environment) {
        FerryEnv env = FerryEnv.of(environment);
        WorkerConfig config = WorkerConfig.from(env);
        SqsClient sqs = AwsClients.sqs(env);
        software.amazon.awssdk.services.dynamodb.DynamoDbClient dynamoDb = AwsClients.dynamoDb(env);
        StackTarget.checkTable(dynamoDb, env.required(FerryEnv.TABLE));
        JobStore store = DynamoDbJobStore.fromEnvironment(dynamoDb, env);
        List<GpuSlot> slots = GpuSlots.detect(environment, GpuSlots.NvidiaSmi.system());
        QueueSettings queue = readQueueSettings(sqs, config.queueUrl());
        SlotActivity activity = new SlotActivity(handlers(environment, config), slots, Clock.systemUTC());
        Worker worker = new Worker(sqs, store, activity, slots, config, queue, Clock.systemUTC(),
                dev.ferry.core.JobFiles.fromEnvironment(env), JobMetrics.fromEnvironment(env));
        worker.fleet = WorkerFleet.of(FleetSettings.from(env), config, dynamoDb, activity, worker.lifecycle());
        return worker;
    }

    /**
     * What runs each job type: a command per job, or a warm handler per slot
     * ({@link JobTypes}); every type a worker knows nothing of fails its jobs.
     */
    public static JobHandler handlers(Map<String, String> environment) {
        return handlers(environment, WorkerConfig.from(FerryEnv.of(environment)));
    }

    static JobHandler handlers(Map<String, String> environment, WorkerConfig config) {
        Map<String, JobTypes.Spec> types = JobTypes.fromEnvironment(environment);
        CommandJobHandler commands = CommandJobHandler.fromTypes(types, environment);
        Map<String, JobTypes.Spec> warm = new java.util.TreeMap<>();
        types.forEach((name, spec) -> {
            if (spec.kind().warm()) {
                warm.put(name, spec);
            }
        });
        if (warm.isEmpty()) {
            return commands;
        }
        LOG.info("warm handlers for job types {}", warm.values().stream()
                .map(spec -> spec.name() + " (" + spec.kind() + ", setup up to " + spec.setupTimeout() + ")").toList());
        return new WarmHandler(warm, commands, environment, config.workDir(), WarmHandler.standardFactories(),
                Clock.systemUTC());
    }

    /**
     * The queue's settings, read at start; while SQS cannot be reached, tried again with back-off
     * for up to {@link #START_RETRY_LIMIT}, then given up (the process exits, its supervisor starts
     * it again).
     */
    static QueueSettings readQueueSettings(SqsClient sqs, String queueUrl) {
        Backoff backoff = Backoff.withJitter(Duration.ofSeconds(1), MessagePoller.MAX_POLL_BACKOFF);
        long deadline = System.nanoTime() + START_RETRY_LIMIT.toNanos();
        for (int failures = 1; ; failures++) {
            try {
                return QueueSettings.read(sqs, queueUrl);
            } catch (SdkException e) {
                if (!dev.ferry.core.AwsErrors.retryable(e)) {
                    throw new IllegalStateException("cannot use queue " + queueUrl + ": "
                            + dev.ferry.core.AwsErrors.describe(e) + "; " + FerryEnv.QUEUE_URL + " (or "
                            + StackTarget.STACK + ") must name the stack's job queue", e);
                }
                Duration pause = backoff.delay(failures);
                if (System.nanoTime() + pause.toNanos() > deadline) {
                    throw new IllegalStateException("cannot read the settings of queue " + queueUrl + " after "
                            + failures + " tries over " + START_RETRY_LIMIT + ": " + e, e);
                }
                LOG.warn("cannot read the settings of queue {} ({} in a row), next try in {} ms: {}", queueUrl,
                        failures, pause.toMillis(), e.toString());
                try {
                    Thread.sleep(pause.toMillis());
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while starting", e);
                }
            }
        }
    }

    /**
     * The settings of the high-priority lane the configuration names, if any, read at start like the
     * job queue's and checked against them ({@link QueueSettings#checkPriorityLane}): a lane without a
     * redrive policy, or one to another dead-letter queue, is refused, saying why.
     */
    static void checkPriorityLane(SqsClient sqs, WorkerConfig config, QueueSettings queue) {
        if (config.priorityQueueUrl().isEmpty()) {
            return;
        }
        String laneUrl = config.priorityQueueUrl().get();
        QueueSettings lane;
        try {
            lane = readQueueSettings(sqs, laneUrl);
        } catch (IllegalStateException e) {
            throw new IllegalStateException("cannot use the high-priority lane " + laneUrl + " ("
                    + WorkerConfig.PRIORITY_QUEUE_URL + ", or the pool's FERRY_POOL_<P>_PRIORITY_QUEUE_URL): "
                    + e.getMessage() + "; the lane must redrive to the job queue's dead-letter queue "
                    + queue.deadLetterQueueUrl(), e);
        }
        queue.checkPriorityLane(config.queueUrl(), laneUrl, lane);
    }

    public String workerId() {
        return config.workerId();
    }

    public List<GpuSlot> slots() {
        return slots;
    }

    /** What it says about itself (heartbeat, health endpoint); empty for a worker not made {@link #fromEnvironment}. */
    public java.util.Optional<WorkerStatus> status() {
        WorkerFleet known = fleet;
        return known == null ? java.util.Optional.empty() : java.util.Optional.of(known.status());
    }

    private WorkerStatus.Lifecycle lifecycle() {
        return new WorkerStatus.Lifecycle() {
            @Override
            public String drainReason() {
                return drainReason;
            }

            @Override
            public boolean stopped() {
                return stopped;
            }
        };
    }

    /**
     * Told the number of jobs this worker holds (running, or finishing: their outcome not yet
     * written) whenever it changes (scale-in protection). Called
     * under the worker's lock: it must only note the number and return.
     */
    public void onBusyChange(IntConsumer listener) {
        this.busyListener = Objects.requireNonNull(listener, "listener");
    }

    public void start() {
        LOG.info("worker {} starting: {} slot(s) {}, queue {}, lease {}, heartbeat {}, maxReceiveCount {}, DLQ {}",
                config.workerId(), slots.size(), slots.stream().map(GpuSlot::cudaVisibleDevices).toList(),
                lanes.describe(), config.lease(queue), config.heartbeat(queue), queue.maxReceiveCount(),
                queue.deadLetterQueueUrl());
        for (GpuSlot slot : slots) {
            named("ferry-slot-setup").newThread(() -> putUp(slot)).start();
        }
        poller.start();
        if (fleet != null) {
            fleet.start();
        }
    }

    /** Puts a slot up for messages once its handlers are ready (a warm handler's model loaded). */
    private void putUp(GpuSlot slot) {
        while (true) {
            try {
                handler.awaitReady(slot);
                break;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                // Never lose a slot silently: say why, and try again.
                LOG.error("slot {}: its handlers could not be made ready; trying again in 10 s", slot.index(), e);
                try {
                    Thread.sleep(10_000);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    return;
                }
                if (stopping) {
                    return;
                }
            }
        }
        if (!stopping) {
            freeSlots.add(slot);
            lookAhead.changed(); // wakes the poller
        }
    }

    /**
     * Starts a job for the message, or, once the worker is draining (or its threads are gone),
     * hands the message straight back as a fresh copy: a machine going away spends no attempt.
     * False when not started (the slot stays free).
     */
    private boolean dispatch(Delivery delivery, GpuSlot slot) {
        return start(delivery, slot, java.util.Optional.empty());
    }

    /**
     * Starts a job ahead for a busy slot whose look-ahead window is open: claimed now, run once the
     * slot's handler returns. False where no window is open (the job it was received for ended).
     */
    private boolean dispatchAhead(Delivery delivery) {
        java.util.Optional<SlotHandoff> handoff = lookAhead.hold();
        if (handoff.isEmpty()) {
            return false;
        }
        if (!start(delivery, handoff.get().slot(), handoff) && handoff.get().release()) {
            freeSlots.add(handoff.get().slot()); // offered meanwhile, to a job that will not run: the worker stops
        }
        return true;
    }

    private boolean start(Delivery delivery, GpuSlot slot, java.util.Optional<SlotHandoff> handoff) {
        AtomicBoolean finishPermit = new AtomicBoolean();
        JobRun run = new JobRun(delivery, slot, handoff, runs, () -> {
            // The bound: wait while this slot's previous jobs are still writing their outcomes.
            finishing.get(slot.index()).acquireUninterruptibly();
            finishPermit.set(true);
            freeSlot(slot);
        });
        boolean refused;
        synchronized (running) {
            // Checked under the lock the drain gives jobs back under: no job starts after that.
            refused = stopping;
            if (!refused) {
                running.add(run);
                busyListener.accept(running.size());
            }
        }
        if (refused) {
            delivery.queue().requeueFresh(delivery, "received while the worker drains");
            return false;
        }
        try {
            jobThreads.execute(() -> {
                try {
                    run.run(); // frees the slot as its handler ends (or at its end, where none ran)
                } finally {
                    if (finishPermit.get()) {
                        finishing.get(slot.index()).release();
                    }
                    LogContext.clear(); // the job's fields, set by the run, end with it
                    finished(run);
                }
            });
            return true;
        } catch (RejectedExecutionException e) {
            // The drain shut the pool between the check above and here: hand the message back.
            finished(run);
            delivery.queue().requeueFresh(delivery, "received while the worker stops");
            return false;
        }
    }

    /**
     * The slot's job no longer needs it: the job claimed ahead for it, if any, starts there now;
     * otherwise the slot is put up for the poller. Off the ending job's thread: a handler that died
     * is started again first, which may take long, and the ending job has its outcome to write.
     */
    private void freeSlot(GpuSlot slot) {
        java.util.Optional<SlotHandoff> next = lookAhead.ended(slot);
        try {
            slotSetup.execute(() -> {
                if (next.isEmpty()) {
                    putUp(slot);
                    return;
                }
                try {
                    handler.awaitReady(slot);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    next.get().withdraw(); // the worker stops: the job gives its claim back
                    return;
                } catch (RuntimeException e) {
                    next.get().withdraw();
                    putUp(slot);
                    return;
                }
                if (stopping) {
                    next.get().withdraw(); // no job starts once the worker drains: its claim goes back
                } else if (!next.get().offer()) {
                    putUp(slot); // the job waiting for it gave up (overran), or will not run
                }
            });
        } catch (RejectedExecutionException e) {
            next.ifPresent(SlotHandoff::withdraw);
        }
    }

    private void finished(JobRun run) {
        synchronized (running) {
            if (running.remove(run)) {
                busyListener.accept(running.size());
            }
            running.notifyAll();
        }
    }

    /** {@link #drain} with {@code FERRY_DRAIN_GRACE}: SIGTERM, a deploy, the local stack closing. */
    @Override
    public void close() {
        drain(config.drainGrace(), "shutdown");
    }

    /**
     * The one drain path, for SIGTERM, a Spot interruption notice and an Auto Scaling
     * termination: stops receiving, lets running jobs finish within {@code grace}, then gives the
     * rest back (the job's message sent again as a fresh copy, so the interruption spends none of
     * its attempts; lease released; the old message deleted) and stops. Returns once done.
     *
     * <p>A second call while a drain runs may bring the deadline forward (a Spot notice during a
     * SIGTERM drain), never back, and returns when the first one is done.
     */
    public void drain(Duration grace, String why) {
        long deadline = System.nanoTime() + Math.max(0, grace.toNanos());
        synchronized (running) {
            if (deadline < drainDeadline) {
                drainDeadline = deadline;
                running.notifyAll();
            }
        }
        if (!draining.compareAndSet(false, true)) {
            if (drained.getCount() == 0) {
                return;
            }
            LOG.info("worker {}: {} during the drain; running jobs given back within {} ms", config.workerId(), why,
                    Math.max(0, grace.toMillis()));
            awaitDrained();
            return;
        }
        stopping = true;
        giveBackHeld();
        drainReason = why;
        if (fleet != null) {
            fleet.changed();
        }
        LOG.info("worker {} draining ({}): no new jobs, {} running, given back after {} ms unless done",
                config.workerId(), why, runningCount(), Math.max(0, grace.toMillis()));
        try {
            synchronized (running) {
                long now;
                while (!running.isEmpty() && (now = System.nanoTime()) < drainDeadline) {
                    running.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(drainDeadline - now)));
                }
                if (!running.isEmpty()) {
                    LOG.info("worker {}: giving back {} running job(s)", config.workerId(), running.size());
                }
                for (JobRun run : running) {
                    run.giveBack();
                }
            }
            jobThreads.shutdown();
            if (!jobThreads.awaitTermination(GIVE_BACK_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("worker {}: jobs still running after they were given back", config.workerId());
            }
            // A receive in progress hands back what it gets (dispatch sees stopping).
            poller.join(Duration.ofSeconds(config.waitSeconds() + 5L).toMillis());
            giveBackHeld(); // any the poller held after the first look
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            jobThreads.shutdownNow();
            handlerThreads.shutdownNow();
            slotSetup.shutdownNow();
            handler.close();
            leases.close();
            for (JobQueue lane : lanes.all()) {
                lane.flushDeletes(DELETE_FLUSH_TIMEOUT); // the finished jobs' deletes still lingering
                LOG.info("worker {} stopped; delete requests to {} by the deletes each carried (1..10): {}",
                        config.workerId(), lane.url(), java.util.Arrays.toString(java.util.Arrays.copyOfRange(
                                lane.deleteRequestsBySize(), 1, DeleteBatcher.MAX_ENTRIES + 1)));
            }
            stopped = true;
            if (fleet != null) {
                fleet.stopped();
            }
            drained.countDown();
        }
    }

    /** A draining worker holds nothing it will not run: jobs claimed ahead give their claims back at once. */
    private void giveBackHeld() {
        lookAhead.withdrawAll();
    }

    private void awaitDrained() {
        try {
            drained.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether a drain has begun: the worker takes no new jobs. */
    public boolean draining() {
        return stopping;
    }

    int runningCount() {
        synchronized (running) {
            return running.size();
        }
    }

    static ThreadFactory named(String prefix) {
        AtomicInteger counter = new AtomicInteger();
        return runnable -> {
            Thread thread = new Thread(runnable, prefix + "-" + counter.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }
}
