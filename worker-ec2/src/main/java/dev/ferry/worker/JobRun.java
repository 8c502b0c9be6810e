package dev.ferry.worker;

import dev.ferry.core.Job;
import dev.ferry.core.JobMessage;
import dev.ferry.core.JobStatus;
import dev.ferry.core.JobStore;
import dev.ferry.core.Lease;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.dynamodb.model.DynamoDbException;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;

/**
 * One received message, taken from claim to delete.
 *
 * <ol>
 *   <li>Claim the job by its {@code jobId} (never the message id) with one conditional write.</li>
 *   <li>Not claimable: a finished job's duplicate is deleted unrun; a job running elsewhere keeps
 *       its message, pushed out of sight.</li>
 *   <li>Claimed: run the handler on this run's slot while a heartbeat extends both the message's
 *       visibility and the lease; a lost lease stops the handler.</li>
 *   <li>Write the outcome fenced by the lease's token; only then delete the message (success),
 *       or send it again delayed by the back-off and delete this one (retry), or make it visible
 *       so that SQS moves it to the DLQ (out of attempts).</li>
 * </ol>
 *
 * <p><b>The attempt budget is the record's, the DLQ only ever holds recorded failures.</b> A job
 * has {@code maxReceiveCount} attempts: claims that were not given back
 * ({@code attempts - preemptions}). SQS moves a message to the DLQ on the receive after its
 * {@code maxReceiveCount}-th whatever became of its job, and a job whose message went there
 * unrecorded would be stuck (QUEUED or RUNNING forever, nothing left to carry it). So a message
 * is kept young, and old ones are never let go unwatched:
 *
 * <ul>
 *   <li>a failed attempt sends a fresh copy of the message (receive count 0) delayed by the
 *       back-off, then deletes this one;</li>
 *   <li>a drain gives a job back the same way, undelayed, and releases the lease: an interruption
 *       spends none of the job's attempts;</li>
 *   <li>a delivery that is put off (the job runs elsewhere, its lease is still held, the claim
 *       could not be written) is "re-armed" on its message's last receive: a fresh copy, delayed,
 *       and the old one deleted;</li>
 *   <li>a job claimed on its message's last receive (after crashes or lost deliveries) runs with a
 *       <em>watchdog</em> beside it: a delayed copy whose {@value #LAST_ATTEMPT_OF} attribute names
 *       the running message. If the worker dies, that message goes to the DLQ; the watchdog finds
 *       the job still RUNNING on it with its lease run out, and takes over: records the job FAILED
 *       if that was its last attempt, else runs it;</li>
 *   <li>a job out of attempts is recorded FAILED and its message made visible again; every
 *       delivery of a FAILED job is (rather than deleted) until SQS moves it to the DLQ.</li>
 * </ul>
 */
final class JobRun {

    private static final Logger LOG = LoggerFactory.getLogger(JobRun.class);
    /** Longest error text kept on a job record. */
    static final int MAX_ERROR_CHARS = 2_000;
    /** Message attribute of a watchdog copy: the id of the message whose last attempt it watches. */
    static final String LAST_ATTEMPT_OF = "ferry.lastAttemptOf";
    /** First pause between tries of an outcome write that failed (the SDK retried inside each). */
    static final Duration OUTCOME_RETRY_BASE = Duration.ofMillis(500);
    static final Duration OUTCOME_RETRY_MAX = Duration.ofSeconds(5);

    private final Message message;
    private final GpuSlot slot;
    private final Worker worker;
    private final int receiveCount;
    /** This message's last receive before SQS moves it to the DLQ (not the job's last attempt). */
    private final boolean lastReceive;
    /** The job's last attempt by its record: {@code attempts - preemptions} reached the budget. */
    private boolean lastAttempt;

    private Lease lease;
    private Future<String> execution;
    private Instant leaseUntil;
    private StopReason stopReason;
    private boolean handlerDone;
    private boolean retryingOutcome;
    private boolean outcomeWritten;

    private enum StopReason { LEASE_LOST, GIVEN_BACK }

    JobRun(Message message, GpuSlot slot, Worker worker) {
        this.message = message;
        this.slot = slot;
        this.worker = worker;
        this.receiveCount = Integer.parseInt(message.attributes()
                .getOrDefault(MessageSystemAttributeName.APPROXIMATE_RECEIVE_COUNT, "1"));
        this.lastReceive = receiveCount >= worker.queue().maxReceiveCount();
    }

    void run() {
        JobMessage job;
        try {
            job = JobMessage.parse(message.body());
        } catch (IllegalArgumentException e) {
            // Not a message Ferry sent. Leave it to its receive count: it ends in the DLQ for a person to see.
            LOG.error("message {} is not a Ferry job ({}); leaving it for the dead-letter queue",
                    message.messageId(), e.getMessage());
            worker.changeVisibility(message, worker.retryBackoff().delay(receiveCount), "unreadable message");
            return;
        }
        synchronized (this) {
            if (stopReason == StopReason.GIVEN_BACK) {
                worker.requeueFresh(message, "worker draining before job " + job.jobId() + " was claimed");
                return;
            }
        }
        String watched = watchedMessageId();
        if (watched != null && failIfLastAttemptAbandoned(job.jobId(), watched)) {
            return;
        }
        Instant now = worker.clock().instant();
        Duration leaseLength = worker.config().lease(worker.queue());
        JobStore.ClaimResult claim;
        try {
            claim = worker.store().claim(job.jobId(), worker.workerId(), message.messageId(), now.plus(leaseLength), now);
        } catch (SdkException e) {
            LOG.warn("could not claim job {} (message {}): {}; it will come back", job.jobId(), message.messageId(),
                    e.toString());
            putOff(job.jobId(), worker.retryBackoff().delay(1), "claim failed");
            return;
        }
        if (claim instanceof JobStore.Missing) {
            LOG.warn("message {} names job {}, which has no record (expired or never accepted); deleting it",
                    message.messageId(), job.jobId());
            worker.delete(message, job.jobId());
        } else if (claim instanceof JobStore.NotClaimable notClaimable) {
            leaveAlone(notClaimable.current(), now);
        } else if (claim instanceof JobStore.Claimed claimed) {
            Job claimedJob = claimed.job();
            int spent = spentAttempts(claimedJob);
            if (spent > budget(claimedJob)) {
                // The last attempt's worker vanished without a result; this claim is past the budget.
                outOfAttempts(claimedJob, "out of attempts: the worker that ran attempt " + (spent - 1) + " of "
                        + budget(claimedJob) + " stopped without a result");
                return;
            }
            lastAttempt = spent >= budget(claimedJob);
            if (lastReceive) {
                sendWatchdog(claimedJob, leaseLength);
            }
            execute(claimedJob, now.plus(leaseLength));
        }
    }

    private int budget() {
        return worker.queue().maxReceiveCount();
    }

    /**
     * The attempts a job may have used by the end of this round: {@code maxReceiveCount}, and as
     * many again for each time an operator sent it back from FAILED (a redrive starts a new round,
     * as its messages start with a new receive count).
     */
    private int budget(Job job) {
        return budget() * (1 + job.redrives());
    }

    /** Attempts a job has used: claims, less those given back because their machine went away. */
    static int spentAttempts(Job job) {
        return job.attempts() - job.preemptions();
    }

    /** Claimed past the budget: record the failure without running, and send the message on to the DLQ. */
    private void outOfAttempts(Job job, String error) {
        Lease claimedLease = job.lease().orElseThrow();
        boolean written;
        try {
            written = worker.store().fail(claimedLease, error, worker.clock().instant());
        } catch (SdkException e) {
            LOG.warn("job {}: could not record that it is out of attempts ({}); it will come back", job.jobId(),
                    e.toString());
            return;
        }
        if (written) {
            LOG.warn("job {} FAILED: {}", job.jobId(), error);
            worker.changeVisibility(message, Duration.ZERO, "out of attempts, on to the DLQ");
        }
    }

    /** The message this one watches, if it is a watchdog copy. */
    private String watchedMessageId() {
        MessageAttributeValue value = message.messageAttributes().get(LAST_ATTEMPT_OF);
        return value == null || value.stringValue() == null || value.stringValue().isBlank() ? null : value.stringValue();
    }

    /**
     * A watchdog's check: is the job still RUNNING on the message whose last receive this copy
     * watches, with its lease run out, and was that the job's last attempt? Then that worker died
     * without a result and its message is in (or on its way to) the DLQ: record the job FAILED,
     * fenced by the token read. (With attempts left, the watchdog is an ordinary delivery: the
     * claim takes the job over.)
     *
     * @return whether this message is done with
     */
    private boolean failIfLastAttemptAbandoned(String jobId, String watched) {
        Instant now = worker.clock().instant();
        Optional<Job> current;
        try {
            current = worker.store().get(jobId);
        } catch (SdkException e) {
            LOG.warn("watchdog for job {}: could not read it ({}); it will come back", jobId, e.toString());
            putOff(jobId, worker.retryBackoff().delay(1), "watchdog could not read the job");
            return true;
        }
        if (current.isEmpty()) {
            return false; // the claim reports it missing
        }
        Job job = current.get();
        if (job.status() != JobStatus.RUNNING || !watched.equals(job.leaseMessageId())
                || job.leaseExpiresAt() == null || job.leaseExpiresAt() >= now.toEpochMilli()
                || spentAttempts(job) < budget(job)) {
            return false; // an ordinary delivery now: claimed, deferred or deleted as the job's state says
        }
        String error = "out of attempts: worker " + job.leaseOwner() + " stopped during the last attempt ("
                + spentAttempts(job) + " of " + budget(job) + ") without a result; its lease ran out at "
                + Instant.ofEpochMilli(job.leaseExpiresAt());
        boolean written;
        try {
            written = worker.store().fail(new Lease(jobId, job.leaseOwner(), job.version()), error, now);
        } catch (SdkException e) {
            LOG.warn("watchdog for job {}: could not record its failure ({}); it will come back", jobId, e.toString());
            putOff(jobId, worker.retryBackoff().delay(1), "watchdog could not write");
            return true;
        }
        if (!written) {
            return false; // it moved on meanwhile: handle this message by the job's new state
        }
        LOG.warn("job {} FAILED: {}", jobId, error);
        worker.delete(message, jobId);
        return true;
    }

    /** Sends the watchdog of a job claimed on its message's last receive. */
    private void sendWatchdog(Job job, Duration leaseLength) {
        Map<String, MessageAttributeValue> attributes = new HashMap<>(message.messageAttributes());
        attributes.put(LAST_ATTEMPT_OF, MessageAttributeValue.builder().dataType("String")
                .stringValue(message.messageId()).build());
        if (!worker.sendCopy(message, attributes, leaseLength.plusSeconds(1), "watchdog of the last attempt")) {
            LOG.warn("job {}: last attempt runs without a watchdog; if this worker dies now, the job stays RUNNING"
                    + " with its message in the DLQ", job.jobId());
        }
    }

    /**
     * Puts this delivery off for {@code delay}. On the message's last receive that would send it
     * to the DLQ with its job unfinished: then a fresh copy is sent with that delay and this one
     * deleted instead.
     */
    private void putOff(String jobId, Duration delay, String why) {
        if (lastReceive && worker.sendCopy(message, message.messageAttributes(), delay, why + ", last receive")) {
            worker.delete(message, jobId);
        } else {
            worker.changeVisibility(message, delay, why);
        }
    }

    /** A delivery of a job this run may not take. */
    private void leaveAlone(Job current, Instant now) {
        if (current.status() == JobStatus.FAILED) {
            // Out of attempts: every message of a failed job goes on to the DLQ, where the operator redrives it.
            LOG.info("job {} is FAILED: message {} made visible again, on its way to the DLQ (receive {} of {})",
                    current.jobId(), message.messageId(), receiveCount, budget());
            worker.changeVisibility(message, Duration.ZERO, "job FAILED, on to the DLQ");
            return;
        }
        if (current.status().isFinal()) {
            LOG.info("job {} is already {}: deleting duplicate message {} unrun", current.jobId(), current.status(),
                    message.messageId());
            worker.delete(message, current.jobId());
            return;
        }
        Long expiresAt = current.leaseExpiresAt();
        Duration remaining = Duration.ofMillis(Math.max(0, (expiresAt == null ? 0 : expiresAt) - now.toEpochMilli()));
        if (message.messageId().equals(current.leaseMessageId())) {
            // Our own message came back: its holder stopped extending it. Look again once the lease runs out.
            LOG.info("job {} is leased to {} for {} ms more; its message {} will be retried after that",
                    current.jobId(), current.leaseOwner(), remaining.toMillis(), message.messageId());
            putOff(current.jobId(), remaining.plusSeconds(1), "lease still held");
        } else if (watchedMessageId() != null) {
            // A watchdog: look again just after the running attempt's lease would run out.
            LOG.info("job {} is {} on {}: its watchdog {} looks again in {} ms", current.jobId(), current.status(),
                    current.leaseOwner(), message.messageId(), remaining.plusSeconds(1).toMillis());
            putOff(current.jobId(), remaining.plusSeconds(1), "watchdog of a running job");
        } else {
            // A second message for a job another worker runs now: that worker's own message carries the
            // job if it dies, so this copy can stay out of sight for long (and spend no receives meanwhile).
            LOG.info("job {} is {} on {}: duplicate message {} left in the queue for {}", current.jobId(),
                    current.status(), current.leaseOwner(), message.messageId(), worker.config().duplicateDefer());
            putOff(current.jobId(), worker.config().duplicateDefer(), "duplicate of a running job");
        }
    }

    private void execute(Job job, Instant leaseUntil) {
        JobExecution jobExecution = new JobExecution(job.jobId(), job.type(), job.input(), job.attempts(), slot);
        LOG.info("job {} ({}) attempt {} claimed on slot {} with token {} (receive {} of {})", job.jobId(), job.type(),
                job.attempts(), slot.index(), job.version(), receiveCount, worker.queue().maxReceiveCount());
        ScheduledFuture<?> heartbeat;
        synchronized (this) {
            this.lease = job.lease().orElseThrow();
            this.leaseUntil = leaseUntil;
            this.execution = worker.handlerThreads().submit(() -> worker.handler().run(jobExecution));
            if (stopReason != null) {
                execution.cancel(true);
            }
            long beat = worker.config().heartbeat(worker.queue()).toMillis();
            heartbeat = worker.heartbeats().scheduleWithFixedDelay(this::heartbeat, beat, beat, TimeUnit.MILLISECONDS);
        }
        String result = null;
        String error = null;
        try {
            result = execution.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            error = cause instanceof JobFailedException
                    ? cause.getMessage()
                    : "handler crashed: " + cause;
        } catch (CancellationException e) {
            // stopped by the heartbeat (lease lost) or by a drain; handled below
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            execution.cancel(true);
        }
        StopReason reason;
        synchronized (this) {
            handlerDone = true;
            reason = stopReason;
        }
        try {
            if (reason == StopReason.LEASE_LOST) {
                LOG.warn("job {} stopped: its lease (token {}) was lost; nothing written, message left alone",
                        job.jobId(), lease.token());
            } else if (reason == StopReason.GIVEN_BACK || (result == null && error == null)) {
                giveBackNow(job);
            } else if (result != null) {
                succeed(job, result);
            } else {
                failAttempt(job, error);
            }
        } finally {
            // The heartbeat runs until the outcome is written: a write retried through an outage keeps
            // the message out of sight and the lease alive meanwhile.
            synchronized (this) {
                outcomeWritten = true;
            }
            heartbeat.cancel(false);
        }
    }

    private void succeed(Job job, String result) {
        Optional<Boolean> written;
        try {
            written = writeOutcome(job, "result", () -> worker.store().complete(lease, result, worker.clock().instant()));
        } catch (DynamoDbException e) {
            // Not retryable, typically the item size limit: the result cannot be kept.
            failAttempt(job, "could not store the result: " + e.awsErrorDetails().errorMessage());
            return;
        }
        if (written.isEmpty()) {
            return;
        }
        if (!written.get()) {
            LOG.warn("job {}: result discarded, the lease (token {}) was taken over", job.jobId(), lease.token());
            return;
        }
        LOG.info("job {} SUCCEEDED on attempt {}", job.jobId(), job.attempts());
        worker.delete(message, job.jobId());
    }

    private void failAttempt(Job job, String error) {
        String trimmed = trim(error);
        Optional<Boolean> written;
        try {
            written = writeOutcome(job, "failure", () -> {
                Instant now = worker.clock().instant();
                return lastAttempt ? worker.store().fail(lease, trimmed, now) : worker.store().retryLater(lease, trimmed, now);
            });
        } catch (DynamoDbException e) {
            storeUnavailable(job, e);
            return;
        }
        if (written.isEmpty()) {
            return;
        }
        if (!written.get()) {
            LOG.warn("job {}: failure not recorded, the lease (token {}) was taken over", job.jobId(), lease.token());
            return;
        }
        int spent = spentAttempts(job);
        if (lastAttempt) {
            // Visible again at once; it (and any other delivery of the job) bounces until SQS moves it to the DLQ.
            LOG.warn("job {} FAILED after attempt {} of {}: {}", job.jobId(), spent, budget(job), trimmed);
            worker.changeVisibility(message, Duration.ZERO, "out of attempts, on to the DLQ");
        } else {
            Duration delay = worker.retryBackoff().delay(spent - budget() * job.redrives()); // n-th of this round
            LOG.info("job {} attempt {} of {} failed, retry in {} ms: {}", job.jobId(), spent, budget(job),
                    delay.toMillis(), trimmed);
            // A fresh copy, delayed: the message's own receive count stays low (see the class comment).
            Map<String, MessageAttributeValue> plain = new HashMap<>(message.messageAttributes());
            plain.remove(LAST_ATTEMPT_OF);
            if (worker.sendCopy(message, plain, delay, "retry back-off")) {
                worker.delete(message, job.jobId());
            } else {
                worker.changeVisibility(message, delay, "retry back-off");
            }
        }
    }

    /**
     * Writes an outcome, fenced by the lease, retrying with back-off while the table cannot be
     * reached, for at most one lease length (the heartbeat keeps lease and visibility alive
     * meanwhile, where it can).
     *
     * @return whether the fence held; empty when the table stayed unreachable (logged)
     * @throws DynamoDbException a request the table refused for good (not throttling, not 5xx)
     */
    private Optional<Boolean> writeOutcome(Job job, String what, Supplier<Boolean> write) {
        long deadline = System.nanoTime() + worker.config().lease(worker.queue()).toNanos();
        Backoff backoff = Backoff.withJitter(OUTCOME_RETRY_BASE, OUTCOME_RETRY_MAX);
        for (int failures = 1; ; failures++) {
            try {
                return Optional.of(write.get());
            } catch (DynamoDbException e) {
                if (e.statusCode() == 400 && !e.isThrottlingException()) {
                    throw e;
                }
                if (!pauseBeforeRetry(job, what, e, failures, backoff, deadline)) {
                    return Optional.empty();
                }
            } catch (SdkException e) {
                if (!pauseBeforeRetry(job, what, e, failures, backoff, deadline)) {
                    return Optional.empty();
                }
            }
        }
    }

    private boolean pauseBeforeRetry(Job job, String what, SdkException e, int failures, Backoff backoff,
                                     long deadline) {
        Duration pause = backoff.delay(failures);
        synchronized (this) {
            retryingOutcome = true; // the heartbeat keeps lease and message alive while it retries
        }
        if (System.nanoTime() + pause.toNanos() > deadline || Thread.currentThread().isInterrupted()) {
            storeUnavailable(job, e);
            return false;
        }
        LOG.warn("job {}: could not write its {} ({} in a row), next try in {} ms: {}", job.jobId(), what, failures,
                pause.toMillis(), e.toString());
        try {
            Thread.sleep(pause.toMillis());
            return true;
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            storeUnavailable(job, e);
            return false;
        }
    }

    /** The outcome could not be written: leave the message to come back when its visibility runs out. */
    private void storeUnavailable(Job job, SdkException e) {
        LOG.warn("job {}: could not write its outcome ({}); the message will come back after its visibility timeout",
                job.jobId(), e.toString());
    }

    /**
     * Gives the job back because its machine is going away, without spending an attempt: a fresh
     * copy of the message first (a duplicate, should the rest fail, is absorbed by the claim), then
     * the lease released (RUNNING → QUEUED, a preemption counted), then the old message deleted.
     * Where no copy can be sent, nothing else is done: the job comes back when its lease and
     * visibility run out, as after a crash.
     */
    private void giveBackNow(Job job) {
        Map<String, MessageAttributeValue> plain = new HashMap<>(message.messageAttributes());
        plain.remove(LAST_ATTEMPT_OF); // the copy is an ordinary delivery, whatever this one was
        if (!worker.sendCopy(message, plain, Duration.ZERO, "given back")) {
            LOG.warn("job {}: could not give it back (no copy sent); it comes back once its lease and message"
                    + " visibility run out", job.jobId());
            return;
        }
        boolean released;
        try {
            released = worker.store().release(lease, worker.clock().instant());
        } catch (SdkException e) {
            // The copy is out; the lease runs out by itself and the copy (put off as a duplicate till then)
            // takes the job. Deleting this message keeps the interruption off the attempt budget.
            LOG.warn("job {}: could not release its lease ({}); the copy takes over once the lease runs out",
                    job.jobId(), e.toString());
            worker.delete(message, job.jobId());
            return;
        }
        if (!released) {
            LOG.warn("job {}: not given back, its lease (token {}) was taken over; the copy is a duplicate",
                    job.jobId(), lease.token());
            return;
        }
        worker.delete(message, job.jobId());
        LOG.info("job {} given back (lease released, message {} re-sent as a fresh copy)", job.jobId(),
                message.messageId());
    }

    /** Extends the message's visibility and the lease; stops the handler if the lease was lost. */
    private synchronized void heartbeat() {
        if (outcomeWritten || stopReason != null || (handlerDone && !retryingOutcome)) {
            return;
        }
        Duration leaseLength = worker.config().lease(worker.queue());
        Instant now = worker.clock().instant();
        worker.changeVisibility(message, leaseLength, "heartbeat");
        try {
            if (worker.store().renewLease(lease, now.plus(leaseLength))) {
                leaseUntil = now.plus(leaseLength);
                return;
            }
            LOG.warn("job {}: lease (token {}) lost to another worker; stopping it", lease.jobId(), lease.token());
        } catch (SdkException e) {
            if (now.isBefore(leaseUntil)) {
                LOG.warn("job {}: lease renewal failed, {} ms of lease left: {}", lease.jobId(),
                        Duration.between(now, leaseUntil).toMillis(), e.toString());
                return;
            }
            if (handlerDone) {
                return; // the outcome write is being retried; its fence decides
            }
            LOG.warn("job {}: lease ran out without renewal ({}); stopping it", lease.jobId(), e.toString());
        }
        if (handlerDone) {
            return; // the outcome write will find the fence gone
        }
        stopReason = StopReason.LEASE_LOST;
        execution.cancel(true);
    }

    /** Asked by a draining worker: stop the handler and give the job back. */
    synchronized void giveBack() {
        if (handlerDone || stopReason != null) {
            return;
        }
        stopReason = StopReason.GIVEN_BACK;
        if (execution != null) {
            execution.cancel(true);
        }
    }

    private static String trim(String error) {
        String text = error == null || error.isBlank() ? "failed without a message" : error.strip();
        return text.length() <= MAX_ERROR_CHARS ? text : "…" + text.substring(text.length() - MAX_ERROR_CHARS);
    }

}
