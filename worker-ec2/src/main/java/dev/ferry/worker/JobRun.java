package dev.ferry.worker;

import dev.ferry.core.AttemptRecord;
import dev.ferry.core.AwsErrors;
import dev.ferry.core.Job;
import dev.ferry.core.JobMessage;
import dev.ferry.core.JobStore;
import dev.ferry.core.Lease;
import dev.ferry.core.logging.LogContext;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;

/**
 * One received message, taken from claim to its message's fate. Each step's guarantee is here
 * and in the component it uses:
 *
 * <ol>
 *   <li>A message on its last receive, or too near SQS's 12 hours, is re-sent fresh rather than
 *       run ({@link AttemptPolicy}).</li>
 *   <li>Claim the job by its {@code jobId} (never the message id) with one conditional write
 *       ({@link JobStore#claim}); a copy given back by a draining worker may take its lease over
 *       at once ({@link JobStore#claimGivenBack}).</li>
 *   <li>Not claimable: a finished job's duplicate is deleted unrun, a FAILED one's goes to the
 *       DLQ, a job running elsewhere keeps its message, out of sight for a while.</li>
 *   <li>Claimed, but a client cancelled it or its deadline has passed: CANCELLED without running
 *       ({@link JobStore#cancelUnrun}), the message deleted.</li>
 *   <li>Claimed: run the handler on this run's slot while {@link LeaseKeeper} renews the lease
 *       and the message's visibility and {@link ProgressWriter} keeps its progress on the record; a
 *       lost lease stops the handler. So does a client's cancel (found by the heartbeat) and the
 *       job's deadline: the handler is stopped and the job written CANCELLED, fenced.</li>
 *   <li>The handler is done (returned, failed or stopped, its process gone): the slot is freed
 *       ({@code slotDone}), and what follows runs off the slot's path while the slot takes its
 *       next job; the heartbeat keeps running until the outcome is written.</li>
 *   <li>Write the outcome fenced by the lease ({@link OutcomeWriter}); only then delete the
 *       message (success), or send a delayed copy and delete this one (retry), or move it to the
 *       DLQ (failed: out of attempts, or a failure a retry would repeat).</li>
 * </ol>
 *
 * <p>A run that ends before any handler runs (not claimable, cancelled or failed unrun, re-armed)
 * frees its slot when it ends.
 *
 * <p>A run started ahead ({@link LookAhead}) claims its job while its slot's previous job still
 * runs, then waits for the slot ({@link SlotHandoff}) before its handler starts. Where the slot
 * does not come in time (that job overran), or the worker drains, it gives the claim back
 * ({@link JobStore#unclaim}: not counted as an attempt) and its message with it. Until the slot is
 * handed over it is not the run's to free.
 */
final class JobRun {

    private static final Logger LOG = LoggerFactory.getLogger(JobRun.class);
    /** Longest error text kept on a job record. */
    static final int MAX_ERROR_CHARS = 2_000;
    /** A record's item limit is 400 KB; what a result may take of it, beside the input and the rest. */
    static final int MAX_ITEM_BYTES = 400 * 1024;
    static final int RECORD_OVERHEAD_BYTES = 4 * 1024;
    /** How long a drain's give-back may keep trying to release the lease. */
    static final Duration RELEASE_WITHIN = Duration.ofSeconds(5);
    /** How long a stopped handler may take to be gone (its process tree killed) before the job is given back. */
    static final Duration HANDLER_STOP_WAIT = CommandJobHandler.KILL_GRACE.multipliedBy(2).plusSeconds(1);

    /** What every run of a worker shares. */
    record Context(String workerId, JobStore store, JobHandler handler, AttemptPolicy attempts,
                   LeaseKeeper leases, OutcomeWriter outcomes, ExecutorService handlerThreads,
                   Duration duplicateDefer, java.time.Clock clock, java.nio.file.Path workRoot, AttemptFiles files,
                   ProgressWriter progress, LookAhead lookAhead, JobMetrics metrics,
                   Optional<RetryElsewhere> retryElsewhere) {

        /**
         * What the runs of a worker configured by {@code config} on {@code queue} share: a GPU
         * worker's and a Lambda pool's alike, so that both claim, fence and back off by one rule.
         */
        static Context of(WorkerConfig config, QueueSettings queue, JobStore store, JobHandler handler,
                          LeaseKeeper leases, ExecutorService handlerThreads, java.time.Clock clock,
                          Optional<dev.ferry.core.JobFiles> files, LookAhead lookAhead, JobMetrics metrics) {
            return new Context(config.workerId(), store, handler,
                    new AttemptPolicy(queue.maxReceiveCount(), Backoff.withJitter(config.retryBase(), config.retryMax())),
                    leases, new OutcomeWriter(), handlerThreads, config.duplicateDefer(), clock, config.workDir(),
                    new AttemptFiles(files), new ProgressWriter(store, leases.executor(), ProgressWriter.DEFAULT_INTERVAL),
                    lookAhead, java.util.Objects.requireNonNull(metrics, "metrics"), config.retryElsewhere());
        }
    }

    /**
     * Why the handler was stopped: its lease was lost, the worker drains, a client cancelled the
     * job, or its deadline came.
     */
    private enum Stop { LEASE_LOST, GIVEN_BACK, CANCELLED, DEADLINE }

    private final Delivery delivery;
    /** The queue (lane) the message came from: everything done with the message is done there. */
    private final JobQueue queue;
    private final GpuSlot slot;
    private final Context context;
    /** Frees the slot; called once, when the handler is done, or as the run ends where none ran. */
    private final Runnable slotDone;
    private final AtomicBoolean slotFreed = new AtomicBoolean();
    /** For a run started ahead: the slot it waits for, still busy with its previous job. */
    private final Optional<SlotHandoff> handoff;

    private Lease lease;
    private Future<String> execution;
    /** This attempt's directory, log and start: set when the job is claimed. */
    private java.nio.file.Path workDir;
    private AttemptLog log;
    private Instant startedAt;
    private Stop stop;
    private boolean handlerDone;
    /** A renewal found a client's cancel: whatever the handler did, the job can only end CANCELLED. */
    private boolean cancelRequested;

    JobRun(Delivery delivery, GpuSlot slot, Context context, Runnable slotDone) {
        this(delivery, slot, Optional.empty(), context, slotDone);
    }

    /** @param handoff for a run started ahead, the handoff of its slot, busy until then */
    JobRun(Delivery delivery, GpuSlot slot, Optional<SlotHandoff> handoff, Context context, Runnable slotDone) {
        this.delivery = delivery;
        this.queue = delivery.queue();
        this.slot = slot;
        this.handoff = handoff;
        this.context = context;
        this.slotDone = slotDone;
    }

    GpuSlot slot() {
        return slot;
    }

    void run() {
        try {
            claimAndRun();
        } finally {
            freeSlot();
        }
    }

    /** The slot is no longer this run's (once); a run started ahead frees it only if it was handed over. */
    private void freeSlot() {
        if (slotFreed.compareAndSet(false, true) && handoff.map(SlotHandoff::release).orElse(true)) {
            slotDone.run();
        }
    }

    private void claimAndRun() {
        JobMessage job;
        try {
            job = JobMessage.parse(delivery.body());
        } catch (IllegalArgumentException e) {
            LOG.error("message {} is not a Ferry job ({}); moving it to the dead-letter queue", delivery.messageId(),
                    e.getMessage());
            queue.moveToDeadLetter(delivery, "-", "not a Ferry job: " + e.getMessage(),
                    context.attempts().putOffDelay());
            return;
        }
        LogContext.job(job.jobId(), job.type()); // cleared by the worker once the run is done
        LogContext.worker(context.workerId(), slot.index());
        synchronized (this) {
            if (stop == Stop.GIVEN_BACK) {
                queue.requeueFresh(delivery, "worker draining before job " + job.jobId() + " was claimed");
                return;
            }
        }
        Duration runFor = runLimit(job.type(), job.deadline(), context.clock().instant())
                .plus(context.leases().leaseLength());
        if (context.attempts().mustRearm(delivery, queue.visibilityLeft(delivery), runFor)) {
            queue.rearm(delivery, job.jobId(), context.attempts().putOffDelay());
            return;
        }
        if (handoff.isPresent() && handoff.get().gone()) {
            // Its slot's wait ended before the claim (a drain, or the slot's job overran): nothing to claim it for.
            // (A slot already offered is no reason to stop: the job claims it and runs there at once.)
            giveMessageBack(handoff.get().withdrawn(), "received ahead");
            return;
        }
        Instant now = context.clock().instant();
        Instant leaseUntil = now.plus(context.leases().leaseLength());
        JobStore.ClaimResult claim;
        long claimStarted = System.nanoTime();
        try {
            claim = claim(job.jobId(), leaseUntil, now);
            context.lookAhead().times().claimed(Duration.ofNanos(System.nanoTime() - claimStarted));
        } catch (SdkException e) {
            LOG.warn("could not claim job {} (message {}): {}; it will come back", job.jobId(), delivery.messageId(),
                    AwsErrors.describe(e));
            queue.changeVisibility(delivery, context.attempts().putOffDelay(), "claim failed");
            return;
        }
        if (claim instanceof JobStore.Missing) {
            LOG.warn("message {} names job {}, which has no record (expired or never accepted); deleting it",
                    delivery.messageId(), job.jobId());
            queue.delete(delivery, job.jobId());
        } else if (claim instanceof JobStore.NotClaimable notClaimable) {
            leaveAlone(notClaimable.current(), now);
        } else if (claim instanceof JobStore.Claimed claimed) {
            Job claimedJob = claimed.job();
            LogContext.attempt(claimedJob.attempts());
            Optional<String> notToRun = cancelledBeforeStart(claimedJob, now);
            if (notToRun.isPresent()) {
                context.metrics().claimed(claimedJob);
                cancelUnrun(claimedJob, notToRun.get());
            } else if (context.attempts().pastBudget(claimedJob)) {
                context.metrics().claimed(claimedJob);
                failUnrun(claimedJob);
            } else {
                execute(claimedJob, leaseUntil);
            }
        }
    }

    /**
     * How long a job may run from {@code now}: its type's timeout, or less where its deadline comes
     * first (the worker stops it then: {@link #awaitResult}).
     */
    private Duration runLimit(String type, Instant deadline, Instant now) {
        Duration timeout = context.handler().timeout(type);
        if (deadline == null) {
            return timeout;
        }
        Duration left = Duration.between(now, deadline);
        return left.isNegative() ? Duration.ZERO : left.compareTo(timeout) < 0 ? left : timeout;
    }

    /** Why a claimed job must not run: a client cancelled it, or its deadline passed while it waited. */
    private static Optional<String> cancelledBeforeStart(Job job, Instant now) {
        if (job.cancelRequestedAt() != null) {
            return Optional.of(job.cancelReason() != null ? job.cancelReason() : Job.CANCELLED_BY_CLIENT);
        }
        if (job.deadline() != null && !now.isBefore(job.deadline())) {
            return Optional.of("deadline " + job.deadline() + " passed before it "
                    + (job.attempts() <= 1 ? "started" : "could run again (attempt " + job.attempts() + ")"));
        }
        return Optional.empty();
    }

    private static String deadlineWhileRunning(Job job) {
        return "deadline " + job.deadline() + " passed while it ran";
    }

    /** Claimed, but not to run: CANCELLED without spending an attempt, then the message deleted. */
    private void cancelUnrun(Job job, String reason) {
        Lease claimedLease = job.lease().orElseThrow();
        OutcomeWriter.Written written = context.outcomes().write(job.jobId(), "cancel",
                () -> context.store().cancelUnrun(claimedLease, reason, context.clock().instant()),
                context.leases().leaseLength());
        if (written.result() == OutcomeWriter.Result.APPLIED) {
            LOG.info("job {} CANCELLED without running: {}", job.jobId(), reason);
            queue.delete(delivery, job.jobId());
        } else {
            LOG.warn("job {}: its cancel could not be written ({}); the message comes back and the next claim"
                    + " decides again", job.jobId(), written.reason());
        }
    }

    /** A given-back copy first tries to take its giver's lease over; otherwise, or then, the ordinary claim. */
    private JobStore.ClaimResult claim(String jobId, Instant leaseUntil, Instant now) {
        Optional<String> givenBack = delivery.givenBackLeaseId();
        if (givenBack.isPresent()) {
            JobStore.ClaimResult takenOver = context.store().claimGivenBack(jobId, givenBack.get(), context.workerId(),
                    delivery.messageId(), leaseUntil, now);
            if (takenOver instanceof JobStore.Claimed) {
                LOG.info("job {}: took over the lease its draining worker gave back", jobId);
                return takenOver;
            }
        }
        return context.store().claim(jobId, context.workerId(), delivery.messageId(), leaseUntil, now);
    }

    /** A delivery of a job this run may not take. */
    private void leaveAlone(Job current, Instant now) {
        switch (current.status()) {
            case FAILED -> {
                LOG.info("job {} is FAILED: moving its message {} to the dead-letter queue", current.jobId(),
                        delivery.messageId());
                queue.moveToDeadLetter(delivery, current.jobId(), String.valueOf(current.error()),
                        context.attempts().putOffDelay());
            }
            case SUCCEEDED, CANCELLED -> {
                LOG.info("job {} is already {}: deleting duplicate message {} unrun", current.jobId(), current.status(),
                        delivery.messageId());
                queue.delete(delivery, current.jobId());
            }
            case RUNNING -> {
                long expiresAt = current.leaseExpiresAt() == null ? 0 : current.leaseExpiresAt();
                Duration remaining = Duration.ofMillis(Math.max(0, expiresAt - now.toEpochMilli()));
                if (delivery.messageId().equals(current.leaseMessageId())) {
                    // Its own message came back: its holder stopped extending it. Look again once the lease runs out.
                    LOG.info("job {} is leased to {} for {} ms more; its message {} is looked at again after that",
                            current.jobId(), current.leaseOwner(), remaining.toMillis(), delivery.messageId());
                    queue.changeVisibility(delivery, remaining.plusSeconds(1), "lease still held");
                } else {
                    // Another message for a job another worker runs now: that worker's own message carries the
                    // job if it dies, so this copy stays out of sight for long (and is never deleted).
                    LOG.info("job {} is RUNNING on {}: duplicate message {} left in the queue for {}", current.jobId(),
                            current.leaseOwner(), delivery.messageId(), context.duplicateDefer());
                    queue.changeVisibility(delivery, context.duplicateDefer(), "duplicate of a running job");
                }
            }
            default -> queue.changeVisibility(delivery, context.attempts().putOffDelay(), "not claimable now");
        }
    }

    /** Claimed past the budget: record the failure without running, then move the message to the DLQ. */
    private void failUnrun(Job job) {
        Lease claimedLease = job.lease().orElseThrow();
        String error = "out of attempts: the worker that ran attempt " + AttemptPolicy.spent(job) + " of "
                + context.attempts().budget(job) + " stopped without a result";
        OutcomeWriter.Written written = context.outcomes().write(job.jobId(), "failure",
                () -> context.store().failUnrun(claimedLease, error, context.clock().instant()),
                context.leases().leaseLength());
        if (written.result() == OutcomeWriter.Result.APPLIED) {
            LOG.warn("job {} FAILED: {}", job.jobId(), error);
            context.metrics().ended(job, AttemptRecord.FAILED, null, context.clock().instant());
            queue.moveToDeadLetter(delivery, job.jobId(), error, context.attempts().putOffDelay());
        } else if (written.result() == OutcomeWriter.Result.LEASE_LOST) {
            // A client's cancel may have come since the claim: then only CANCELLED can be written.
            OutcomeWriter.Written cancelled = context.outcomes().write(job.jobId(), "cancel",
                    () -> context.store().cancelUnrun(claimedLease, Job.CANCELLED_BY_CLIENT, context.clock().instant()),
                    context.leases().leaseLength());
            if (cancelled.result() == OutcomeWriter.Result.APPLIED) {
                LOG.info("job {} CANCELLED without running: its client cancelled it", job.jobId());
                queue.delete(delivery, job.jobId());
            }
        }
        // Otherwise the message comes back when its lease runs out, and the next claim decides again.
    }

    private void execute(Job job, Instant leaseUntil) {
        LeaseKeeper.Heartbeat early = null;
        try {
            if (handoff.isPresent()) {
                // Claimed ahead: its heartbeat starts now (the lease, the message, a client's cancel), not once it runs.
                synchronized (this) {
                    this.lease = job.lease().orElseThrow();
                }
                early = context.leases().keep(lease, delivery, leaseUntil, this::leaseLost, this::cancelRequested);
                if (!awaitSlot(job, early)) {
                    return;
                }
            }
            // Made once the slot is its own: a claim given back may be claimed again here, same attempt number.
            workDir = context.workRoot().resolve("jobs").resolve(job.jobId() + "-" + job.attempts());
            try {
                java.nio.file.Files.createDirectories(workDir.resolve("outputs"));
                java.nio.file.Files.createDirectories(workDir.resolve("inputs"));
            } catch (java.io.IOException e) {
                LOG.warn("job {}: cannot create its work directory {}: {}", job.jobId(), workDir, e.toString());
            }
            context.metrics().claimed(job);
            log = new AttemptLog(AttemptLog.DEFAULT_MAX_BYTES, context.clock());
            startedAt = context.clock().instant();
            run(job, leaseUntil, early);
        } finally {
            if (early != null) {
                early.stop(); // run() and awaitSlot() stop it; this is for a throw before they got that far
            }
            if (workDir != null) {
                WorkDirs.delete(workDir);
            }
        }
    }

    /**
     * A run started ahead, claimed and ready: waits for its slot, its heartbeat running. True: the
     * slot is its own, and the job is to run. False: the claim has been given back (the slot did
     * not come in time, or the worker drains), or the job ended unrun (a client's cancel or its
     * deadline came while it waited), or its lease was lost; then the heartbeat is stopped, and a
     * slot handed over meanwhile freed.
     */
    private boolean awaitSlot(Job job, LeaseKeeper.Heartbeat heartbeat) {
        SlotHandoff slotHandoff = handoff.orElseThrow();
        boolean handedOver;
        try {
            handedOver = slotHandoff.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            handedOver = false;
        }
        Stop reason;
        boolean cancelled;
        synchronized (this) {
            reason = stop;
            cancelled = cancelRequested;
        }
        // The claim found no cancel request (or it would not have waited): only its deadline can have come since.
        Optional<String> deadlinePassed = cancelledBeforeStart(job, context.clock().instant());
        if (handedOver && reason == null && !cancelled && deadlinePassed.isEmpty()) {
            return true;
        }
        // Written before the slot goes back: a slot freed takes a finishing permit, which may wait.
        boolean interrupted = Thread.interrupted(); // a stopping worker's interrupt must not abort these writes
        try {
            if (cancelled || deadlinePassed.isPresent()) {
                context.metrics().claimed(job);
                cancelUnrun(job, cancelled ? Job.CANCELLED_BY_CLIENT : deadlinePassed.get()); // a client's reason stays
            } else if (reason == Stop.LEASE_LOST) {
                LOG.warn("job {}: its lease (token {}) was lost while it waited for its slot; left alone", job.jobId(),
                        job.version());
            } else {
                unclaim(job, reason == Stop.GIVEN_BACK || slotHandoff.withdrawn(), heartbeat);
            }
        } finally {
            heartbeat.stop();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        if (handedOver) {
            freeSlot(); // handed over as it was stopped: the slot goes back
        }
        return false;
    }

    /**
     * Gives a claim made ahead back unrun: the record as if never claimed (fenced, not counted),
     * then the message: a fresh copy where the worker drains (as for any job it gives back), else
     * visible again at once. A refused write means a client asked to cancel the job meanwhile
     * (then it is cancelled unrun); a write that cannot be made leaves both to run out, as after
     * a crash: the next claim takes the lease over.
     */
    private void unclaim(Job job, boolean draining, LeaseKeeper.Heartbeat heartbeat) {
        Lease claimedLease = job.lease().orElseThrow();
        OutcomeWriter.Written written = context.outcomes().write(job.jobId(), "unclaim",
                () -> context.store().unclaim(claimedLease, context.clock().instant()), RELEASE_WITHIN);
        switch (written.result()) {
            case APPLIED -> {
                heartbeat.stop(); // its next beat would hide the message again after it is made visible below
                LOG.info("job {}: claimed ahead, given back unrun ({})", job.jobId(),
                        draining ? "the worker drains, or its slot could not be made ready" : "its slot's job overran");
                giveMessageBack(draining, "claimed ahead");
            }
            case LEASE_LOST -> cancelUnrun(job, Job.CANCELLED_BY_CLIENT); // a client's reason stays
            default -> LOG.warn("job {}: its claim made ahead could not be given back ({}); it comes back once its"
                    + " lease runs out", job.jobId(), written.reason());
        }
    }

    /**
     * The message of a job received ahead that will not run here: a fresh copy where the worker
     * drains (as for any job it gives back, its receive count left as it was), else visible again
     * at once.
     */
    private void giveMessageBack(boolean draining, String what) {
        if (draining) {
            queue.requeueFresh(delivery, what + " while the worker drains");
        } else {
            queue.changeVisibility(delivery, Duration.ZERO, what + ", its slot's job overran");
        }
    }

    /** @param early the heartbeat of a job claimed ahead, started at its claim; null: start one now */
    private void run(Job job, Instant leaseUntil, LeaseKeeper.Heartbeat early) {
        LOG.info("job {} ({}) attempt {} claimed on slot {} with token {} (receive {} of {})", job.jobId(), job.type(),
                job.attempts(), slot.index(), job.version(), delivery.receiveCount(),
                context.attempts().maxReceiveCount());
        CountDownLatch handlerGone = new CountDownLatch(1);
        AtomicBoolean started = new AtomicBoolean();
        LeaseKeeper.Heartbeat heartbeat;
        synchronized (this) {
            this.lease = job.lease().orElseThrow();
            this.execution = context.handlerThreads().submit(LogContext.wrap(() -> {
                started.set(true);
                try {
                    // File inputs are downloaded here, on the handler's thread: cancellable, under the heartbeat.
                    String input = context.files().resolveInputs(job.jobId(), job.input(), job.uploads(),
                            workDir.resolve("inputs"));
                    return context.handler().run(new JobExecution(job.jobId(), job.type(), input, job.attempts(), slot,
                            workDir, log));
                } finally {
                    handlerGone.countDown();
                }
            }));
            if (stop != null) {
                execution.cancel(true);
            }
            heartbeat = early != null ? early
                    : context.leases().keep(lease, delivery, leaseUntil, this::leaseLost, this::cancelRequested);
        }
        long handlerStarted = System.nanoTime();
        context.lookAhead().started(slot, job.type());
        ProgressWriter.Writing progress = context.progress().start(lease, log::progress);
        String result = null;
        JobFailedException failure = null;
        try {
            result = awaitResult(job);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            failure = cause instanceof JobFailedException failed
                    ? failed
                    : new JobFailedException("handler crashed: " + cause, cause);
        } catch (CancellationException e) {
            // stopped: the lease was lost, or the worker drains
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            execution.cancel(true);
        }
        Stop reason;
        boolean cancelled;
        synchronized (this) {
            handlerDone = true;
            reason = stop;
            cancelled = cancelRequested;
        }
        try {
            if (reason != null || (result == null && failure == null)) {
                awaitHandlerGone(started, handlerGone, job);
            } else {
                context.lookAhead().times().ran(job.type(), Duration.ofNanos(System.nanoTime() - handlerStarted));
            }
            freeSlot(); // the handler is done: the rest is written off the slot's path
            progress.stop(); // its last progress written before the outcome moves the token on
            if (reason == Stop.LEASE_LOST) {
                LOG.warn("job {} stopped: its lease (token {}) was lost; nothing written, message left alone",
                        job.jobId(), lease.token());
            } else if (cancelled) {
                // Asked and answered: whatever the handler did meanwhile, the job ends CANCELLED.
                cancelRun(job, Job.CANCELLED_BY_CLIENT);
            } else if (reason == Stop.DEADLINE) {
                cancelRun(job, deadlineWhileRunning(job));
            } else if (reason == Stop.GIVEN_BACK || (result == null && failure == null)
                    || failure instanceof JobNotRunException) {
                if (failure != null) {
                    LOG.warn("job {} not run: {}", job.jobId(), failure.getMessage());
                }
                giveBackNow(job);
            } else if (result != null) {
                succeed(job, result);
            } else {
                failAttempt(job, failure);
            }
        } finally {
            // The heartbeat ran until now: an outcome write retried through an outage kept the message
            // out of sight and the lease alive meanwhile.
            heartbeat.stop();
        }
    }

    /**
     * The handler's result. A job with a deadline is waited for only until then: its handler is
     * stopped at the deadline as for a lost lease (its process tree killed, a warm handler
     * stopped, Cog's cancel sent), so its run is bounded by the nearer of its type's timeout and
     * its deadline.
     *
     * @throws CancellationException the handler was stopped
     */
    private String awaitResult(Job job) throws ExecutionException, InterruptedException {
        if (job.deadline() == null) {
            return execution.get();
        }
        Duration left;
        // Never a moment early by the clock the deadline is read with (a timed wait may end early by it).
        while (!(left = Duration.between(context.clock().instant(), job.deadline())).isNegative() && !left.isZero()) {
            try {
                return execution.get(left.toNanos() + 1, TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                // look at the clock again
            }
        }
        synchronized (this) {
            if (stop == null) {
                LOG.info("job {}: its deadline {} has come; stopping it", job.jobId(), job.deadline());
                stop = Stop.DEADLINE;
                execution.cancel(true);
            }
        }
        return execution.get(); // the result, where it came just now; else stopped
    }

    /** A stopped handler's process tree is killed before the job is handed on: never two runs at once. */
    private static void awaitHandlerGone(AtomicBoolean started, CountDownLatch handlerGone, Job job) {
        if (!started.get()) {
            return;
        }
        try {
            if (!handlerGone.await(HANDLER_STOP_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("job {}: its handler is still stopping after {}", job.jobId(), HANDLER_STOP_WAIT);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * This attempt's history entry, its log kept in the bucket first where there is one; null once
     * the record lists {@link AttemptRecord#MAX_ENTRIES} attempts.
     */
    private AttemptRecord entry(Job job, String outcome, String error) {
        if (job.history().size() >= AttemptRecord.MAX_ENTRIES) {
            return null;
        }
        String logKey = context.files().storeLog(job.jobId(), job.attempts(), log);
        return new AttemptRecord(job.attempts(), context.workerId(), slot.index(), startedAt,
                context.clock().instant(), outcome, error, logKey);
    }

    private void succeed(Job job, String result) {
        int room = MAX_ITEM_BYTES - utf8Length(job.input()) - RECORD_OVERHEAD_BYTES
                - AttemptRecord.MAX_BYTES * Math.min(job.history().size() + 1, AttemptRecord.MAX_ENTRIES);
        AttemptFiles.Stored stored;
        try {
            stored = context.files().store(job.jobId(), job.attempts(), result,
                    workDir == null ? null : workDir.resolve("outputs"), room, context.leases().leaseLength());
        } catch (JobFailedException e) {
            failAttempt(job, e);
            return;
        } catch (AttemptFiles.FilesUnavailableException e) {
            LOG.warn("job {}: what it made could not be stored ({}); the message comes back after its visibility"
                    + " timeout and the job runs again", job.jobId(), e.getMessage());
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            LOG.warn("job {}: stopped while storing what it made; the message comes back and the job runs again",
                    job.jobId());
            return;
        }
        AttemptRecord entry = entry(job, AttemptRecord.SUCCEEDED, null);
        JobStore.Completion completion = new JobStore.Completion(stored.resultJson(), stored.resultKey(),
                stored.filesJson(), entry);
        OutcomeWriter.Written written = context.outcomes().write(job.jobId(), "result",
                () -> context.store().complete(lease, completion, context.clock().instant()),
                context.leases().leaseLength());
        switch (written.result()) {
            case APPLIED -> {
                LOG.info("job {} SUCCEEDED on attempt {}{}", job.jobId(), job.attempts(),
                        stored.resultKey() != null ? " (result stored by reference: " + stored.resultKey() + ")" : "");
                context.metrics().ended(job, AttemptRecord.SUCCEEDED, startedAt, context.clock().instant());
                queue.delete(delivery, job.jobId());
            }
            case LEASE_LOST -> {
                if (!cancelInstead(job)) {
                    LOG.warn("job {}: result discarded, the lease (token {}) was taken over", job.jobId(),
                            lease.token());
                    context.metrics().ended(job, AttemptRecord.LEASE_LOST, startedAt, context.clock().instant());
                }
            }
            case UNAVAILABLE -> LOG.warn("job {}: its result could not be written ({}); the message comes back after"
                    + " its visibility timeout and the job runs again", job.jobId(), written.reason());
            case REFUSED -> failForGood(job, "the result could not be stored (" + written.reason() + "); a retry"
                    + " would be refused the same way");
        }
    }

    private void failAttempt(Job job, JobFailedException failure) {
        String error = trim(failure.getMessage());
        if (failure.retryable() && job.deadline() != null && !context.clock().instant().isBefore(job.deadline())) {
            // Another attempt could not start before the deadline: the job ends here (its error in the log).
            log.log("ferry: attempt failed as its deadline passed: " + error);
            cancelRun(job, deadlineWhileRunning(job));
            return;
        }
        if (!failure.retryable()) {
            failForGood(job, error);
            return;
        }
        if (context.attempts().lastAttempt(job)) {
            fail(job, error, "after attempt " + AttemptPolicy.spent(job) + " of " + context.attempts().budget(job));
            return;
        }
        AttemptRecord entry = entry(job, AttemptRecord.RETRYING, error);
        // The pool's rule may send the next attempt to another pool: its record says so in the same fenced write.
        Optional<RetryElsewhere> elsewhere = context.retryElsewhere().filter(rule -> rule.matches(error));
        OutcomeWriter.Written written = context.outcomes().write(job.jobId(), "failure",
                () -> context.store().retryLater(lease, error, entry, context.clock().instant(),
                        elsewhere.map(RetryElsewhere::pool).orElse(null)),
                context.leases().leaseLength());
        if (written.result() == OutcomeWriter.Result.REFUSED) {
            fail(job, trim(error + " (and the retry could not be recorded: " + written.reason() + ")"), "at once");
            return;
        }
        if (written.result() == OutcomeWriter.Result.LEASE_LOST && cancelInstead(job)) {
            return;
        }
        if (written.result() != OutcomeWriter.Result.APPLIED) {
            LOG.warn("job {}: failure not recorded ({}); the message comes back after its visibility timeout",
                    job.jobId(), written.result());
            return;
        }
        Duration delay = context.attempts().retryDelay(job);
        LOG.info("job {} attempt {} of {} failed, retry in {} ms: {}", job.jobId(), AttemptPolicy.spent(job),
                context.attempts().budget(job), delay.toMillis(), error);
        context.metrics().ended(job, AttemptRecord.RETRYING, startedAt, context.clock().instant());
        // A fresh copy, delayed: the message's own receive count stays low (see AttemptPolicy).
        if (elsewhere.isPresent()) {
            LOG.info("job {}: its next attempt runs on pool {} (its error matched '{}')", job.jobId(),
                    elsewhere.get().pool(), elsewhere.get().when().pattern());
            if (queue.sendCopyTo(elsewhere.get().queueUrl(), delivery, delay, "retry on pool " + elsewhere.get().pool())) {
                queue.delete(delivery, job.jobId());
                return;
            }
            // That pool's queue cannot be reached: the retry comes back here, where a worker of this pool
            // runs it (the record says the other pool; the job runs all the same).
        }
        if (queue.sendCopy(delivery, Map.of(), delay, "retry back-off")) {
            queue.delete(delivery, job.jobId());
        } else {
            queue.changeVisibility(delivery, delay, "retry back-off");
        }
    }

    /** A failure the same attempt would repeat: FAILED now, whatever attempts are left. */
    private void failForGood(Job job, String error) {
        fail(job, trim(error), "at once (a retry would fail the same way)");
    }

    /** Records FAILED, fenced, then moves the message to the dead-letter queue. */
    private void fail(Job job, String error, String when) {
        AttemptRecord entry = entry(job, AttemptRecord.FAILED, error);
        OutcomeWriter.Written written = context.outcomes().write(job.jobId(), "failure",
                () -> context.store().fail(lease, error, entry, context.clock().instant()),
                context.leases().leaseLength());
        if (written.result() == OutcomeWriter.Result.REFUSED) {
            // The error, or the history entry, may be what does not fit: a short error and no entry.
            String shortError = error.length() <= 200 ? error : error.substring(0, 200) + "…";
            written = context.outcomes().write(job.jobId(), "failure",
                    () -> context.store().fail(lease, shortError, null, context.clock().instant()),
                    context.leases().leaseLength());
        }
        switch (written.result()) {
            case APPLIED -> {
                LOG.warn("job {} FAILED {}: {}", job.jobId(), when, error);
                context.metrics().ended(job, AttemptRecord.FAILED, startedAt, context.clock().instant());
                queue.moveToDeadLetter(delivery, job.jobId(), error, context.attempts().putOffDelay());
            }
            case LEASE_LOST -> {
                if (!cancelInstead(job)) {
                    LOG.warn("job {}: failure not recorded, the lease (token {}) was taken over", job.jobId(),
                            lease.token());
                    context.metrics().ended(job, AttemptRecord.LEASE_LOST, startedAt, context.clock().instant());
                }
            }
            default -> LOG.warn("job {}: its failure could not be written ({}); the message comes back after its"
                    + " visibility timeout", job.jobId(), written.reason());
        }
    }

    /**
     * Gives the job back because its machine is going away, without spending an attempt: a fresh
     * copy of the message first (naming this lease, so that it may take the lease over at once if
     * the release below fails), then the lease released (RUNNING → QUEUED, a preemption counted),
     * then the old message deleted: the copy carries the job from here. Where no copy can be sent,
     * nothing else is done: the job comes back when its lease and visibility run out, as after a
     * crash.
     */
    private void giveBackNow(Job job) {
        Map<String, MessageAttributeValue> givenBack = Map.of(Delivery.GIVEN_BACK,
                MessageAttributeValue.builder().dataType("String").stringValue(String.valueOf(lease.leaseId())).build());
        if (!queue.sendCopy(delivery, givenBack, Duration.ZERO, "given back")) {
            LOG.warn("job {}: could not give it back (no copy sent); it comes back once its lease and message"
                    + " visibility run out", job.jobId());
            return;
        }
        AttemptRecord entry = entry(job, AttemptRecord.GIVEN_BACK, null);
        OutcomeWriter.Written released = context.outcomes().write(job.jobId(), "release",
                () -> context.store().release(lease, entry, context.clock().instant()), RELEASE_WITHIN);
        if (released.result() == OutcomeWriter.Result.LEASE_LOST && cancelInstead(job)) {
            LOG.info("job {}: cancelled rather than given back; its copy is deleted unrun", job.jobId());
        } else if (released.result() != OutcomeWriter.Result.APPLIED) {
            LOG.warn("job {}: lease not released ({}); its copy takes the lease over", job.jobId(), released.reason());
        }
        if (released.result() == OutcomeWriter.Result.APPLIED) {
            context.metrics().ended(job, AttemptRecord.GIVEN_BACK, startedAt, context.clock().instant());
        }
        queue.delete(delivery, job.jobId());
        LOG.info("job {} given back (message {} re-sent as a fresh copy)", job.jobId(), delivery.messageId());
    }

    /**
     * The run stopped by a client's cancel or its deadline: CANCELLED with {@code reason} (the
     * client's own, where the record has one), fenced by the lease; then the message is deleted.
     * Where it cannot be written, the message comes back and the next claim cancels the job unrun.
     */
    private void cancelRun(Job job, String reason) {
        AttemptRecord entry = entry(job, AttemptRecord.CANCELLED, null);
        OutcomeWriter.Written written = context.outcomes().write(job.jobId(), "cancel",
                () -> context.store().cancel(lease, reason, entry, context.clock().instant()),
                context.leases().leaseLength());
        if (written.result() == OutcomeWriter.Result.REFUSED) {
            written = context.outcomes().write(job.jobId(), "cancel",
                    () -> context.store().cancel(lease, reason, null, context.clock().instant()),
                    context.leases().leaseLength());
        }
        switch (written.result()) {
            case APPLIED -> {
                LOG.info("job {} CANCELLED on attempt {}: {}", job.jobId(), job.attempts(), reason);
                context.metrics().ended(job, AttemptRecord.CANCELLED, startedAt, context.clock().instant());
                queue.delete(delivery, job.jobId());
            }
            case LEASE_LOST -> LOG.warn("job {}: its cancel not recorded, the lease (token {}) was taken over",
                    job.jobId(), lease.token());
            default -> LOG.warn("job {}: its cancel could not be written ({}); the message comes back after its"
                    + " visibility timeout and the next claim cancels it unrun", job.jobId(), written.reason());
        }
    }

    /**
     * An outcome was refused: the lease was lost, or a client asked to cancel the job since the
     * last heartbeat (nothing but CANCELLED may be written then). Writes CANCELLED, which applies
     * only in the second case.
     *
     * @return whether the job is now CANCELLED
     */
    private boolean cancelInstead(Job job) {
        AttemptRecord entry = entry(job, AttemptRecord.CANCELLED, null);
        OutcomeWriter.Written written = context.outcomes().write(job.jobId(), "cancel",
                () -> context.store().cancel(lease, Job.CANCELLED_BY_CLIENT, entry, context.clock().instant()),
                context.leases().leaseLength());
        if (written.result() != OutcomeWriter.Result.APPLIED) {
            return false;
        }
        LOG.info("job {} CANCELLED on attempt {}: its client cancelled it as it ended", job.jobId(), job.attempts());
        context.metrics().ended(job, AttemptRecord.CANCELLED, startedAt, context.clock().instant());
        queue.delete(delivery, job.jobId());
        return true;
    }

    /** From the heartbeat: a client asked to cancel the job; stop the handler unless it is done. */
    private synchronized void cancelRequested() {
        cancelRequested = true;
        if (handlerDone || stop != null) {
            return;
        }
        stop = Stop.CANCELLED;
        stopWaitingOrRunning();
    }

    /** Stops the handler, or a job claimed ahead from waiting for its slot (it has no handler yet). */
    private void stopWaitingOrRunning() {
        if (execution != null) {
            execution.cancel(true);
        } else {
            handoff.ifPresent(SlotHandoff::withdraw);
        }
    }

    /** From the heartbeat: stop the handler, unless it is done (then the outcome's fence decides). */
    private synchronized void leaseLost() {
        if (handlerDone || stop != null) {
            return;
        }
        stop = Stop.LEASE_LOST;
        stopWaitingOrRunning();
    }

    /** Asked by a draining worker: stop the handler and give the job back. */
    synchronized void giveBack() {
        if (handlerDone || stop != null) {
            return;
        }
        stop = Stop.GIVEN_BACK;
        stopWaitingOrRunning();
    }

    private static int utf8Length(String text) {
        if (text == null) {
            return 0;
        }
        int bytes = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : Character.isSurrogate(c) ? 2 : 3;
        }
        return bytes;
    }

    private static String trim(String error) {
        String text = error == null || error.isBlank() ? "failed without a message" : error.strip();
        return text.length() <= MAX_ERROR_CHARS ? text : "…" + text.substring(text.length() - MAX_ERROR_CHARS);
    }

    /** For the log of a drain: which job this run holds, if claimed. */
    synchronized Optional<String> jobId() {
        return Optional.ofNullable(lease).map(Lease::jobId);
    }
}
