package dev.ferry.worker;

import dev.ferry.core.Job;
import dev.ferry.core.JobMessage;
import dev.ferry.core.JobStore;
import dev.ferry.core.Lease;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.dynamodb.model.DynamoDbException;
import software.amazon.awssdk.services.sqs.model.DeleteMessageRequest;
import software.amazon.awssdk.services.sqs.model.Message;
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
 *   <li>Write the outcome fenced by the lease's token; only then delete the message (success), or
 *       set its visibility to the back-off (retry), or leave it for SQS to move to the DLQ (out of
 *       attempts).</li>
 * </ol>
 */
final class JobRun {

    private static final Logger LOG = LoggerFactory.getLogger(JobRun.class);
    /** Longest error text kept on a job record. */
    static final int MAX_ERROR_CHARS = 2_000;

    private final Message message;
    private final GpuSlot slot;
    private final Worker worker;
    private final int receiveCount;

    private Lease lease;
    private Future<String> execution;
    private Instant leaseUntil;
    private StopReason stopReason;
    private boolean finished;

    private enum StopReason { LEASE_LOST, GIVEN_BACK }

    JobRun(Message message, GpuSlot slot, Worker worker) {
        this.message = message;
        this.slot = slot;
        this.worker = worker;
        this.receiveCount = Integer.parseInt(message.attributes()
                .getOrDefault(MessageSystemAttributeName.APPROXIMATE_RECEIVE_COUNT, "1"));
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
        Instant now = worker.clock().instant();
        Duration leaseLength = worker.config().lease(worker.queue());
        JobStore.ClaimResult claim;
        try {
            claim = worker.store().claim(job.jobId(), worker.workerId(), message.messageId(), now.plus(leaseLength), now);
        } catch (SdkException e) {
            LOG.warn("could not claim job {} (message {}): {}; it will come back", job.jobId(), message.messageId(),
                    e.toString());
            worker.changeVisibility(message, worker.retryBackoff().delay(1), "claim failed");
            return;
        }
        if (claim instanceof JobStore.Missing) {
            LOG.warn("message {} names job {}, which has no record (expired or never accepted); deleting it",
                    message.messageId(), job.jobId());
            delete(job.jobId());
        } else if (claim instanceof JobStore.NotClaimable notClaimable) {
            leaveAlone(notClaimable.current(), now);
        } else if (claim instanceof JobStore.Claimed claimed) {
            execute(claimed.job(), now.plus(leaseLength));
        }
    }

    /** A delivery of a job this run may not take. */
    private void leaveAlone(Job current, Instant now) {
        if (current.status().isFinal()) {
            LOG.info("job {} is already {}: deleting duplicate message {} unrun", current.jobId(), current.status(),
                    message.messageId());
            delete(current.jobId());
        } else if (message.messageId().equals(current.leaseMessageId())) {
            // Our own message came back: its holder stopped extending it. Look again once the lease runs out.
            Duration remaining = Duration.ofMillis(Math.max(0, current.leaseExpiresAt() - now.toEpochMilli()));
            LOG.info("job {} is leased to {} for {} ms more; its message {} will be retried after that",
                    current.jobId(), current.leaseOwner(), remaining.toMillis(), message.messageId());
            worker.changeVisibility(message, remaining.plusSeconds(1), "lease still held");
        } else {
            // A second message for a job another worker runs now: that worker's own message carries the
            // job if it dies, so this copy can stay out of sight for long (and spend no receives meanwhile).
            LOG.info("job {} is {} on {}: duplicate message {} left in the queue for {}", current.jobId(),
                    current.status(), current.leaseOwner(), message.messageId(), worker.config().duplicateDefer());
            worker.changeVisibility(message, worker.config().duplicateDefer(), "duplicate of a running job");
        }
    }

    private void execute(Job job, Instant leaseUntil) {
        JobExecution jobExecution = new JobExecution(job.jobId(), job.type(), job.input(), job.attempts(), slot);
        LOG.info("job {} ({}) attempt {} claimed on slot {} with token {}", job.jobId(), job.type(), job.attempts(),
                slot.index(), job.version());
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
            finished = true;
            reason = stopReason;
        }
        heartbeat.cancel(false);
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
    }

    private void succeed(Job job, String result) {
        boolean written;
        try {
            written = worker.store().complete(lease, result, worker.clock().instant());
        } catch (DynamoDbException e) {
            if (e.statusCode() == 400 && !e.isThrottlingException()) {
                // Not retryable, typically the item size limit: the result cannot be kept.
                failAttempt(job, "could not store the result: " + e.awsErrorDetails().errorMessage());
                return;
            }
            storeUnavailable(job, e);
            return;
        } catch (SdkException e) {
            storeUnavailable(job, e);
            return;
        }
        if (!written) {
            LOG.warn("job {}: result discarded, the lease (token {}) was taken over", job.jobId(), lease.token());
            return;
        }
        LOG.info("job {} SUCCEEDED on attempt {}", job.jobId(), job.attempts());
        delete(job.jobId());
    }

    private void failAttempt(Job job, String error) {
        String trimmed = trim(error);
        boolean last = receiveCount >= worker.queue().maxReceiveCount();
        Instant now = worker.clock().instant();
        boolean written;
        try {
            written = last ? worker.store().fail(lease, trimmed, now) : worker.store().retryLater(lease, trimmed, now);
        } catch (SdkException e) {
            storeUnavailable(job, e);
            return;
        }
        if (!written) {
            LOG.warn("job {}: failure not recorded, the lease (token {}) was taken over", job.jobId(), lease.token());
            return;
        }
        if (last) {
            // Visible again at once: SQS moves it to the DLQ on its next receive (receive count exhausted).
            LOG.warn("job {} FAILED after receive {} of {}: {}", job.jobId(), receiveCount,
                    worker.queue().maxReceiveCount(), trimmed);
            worker.changeVisibility(message, Duration.ZERO, "out of attempts, on to the DLQ");
        } else {
            Duration delay = worker.retryBackoff().delay(receiveCount);
            LOG.info("job {} attempt failed (receive {} of {}), retry in {} ms: {}", job.jobId(), receiveCount,
                    worker.queue().maxReceiveCount(), delay.toMillis(), trimmed);
            worker.changeVisibility(message, delay, "retry back-off");
        }
    }

    /** The outcome could not be written: leave the message to come back when its visibility runs out. */
    private void storeUnavailable(Job job, SdkException e) {
        LOG.warn("job {}: could not write its outcome ({}); the message will come back after its visibility timeout",
                job.jobId(), e.toString());
    }

    private void giveBackNow(Job job) {
        boolean written;
        try {
            written = worker.store().retryLater(lease, "given back: worker " + worker.workerId() + " stopped",
                    worker.clock().instant());
        } catch (SdkException e) {
            written = false;
            LOG.warn("job {}: could not release its lease ({}); it is free again once the lease runs out",
                    job.jobId(), e.toString());
        }
        LOG.info("job {} given back (lease released: {})", job.jobId(), written);
        worker.changeVisibility(message, Duration.ZERO, "given back");
    }

    /** Extends the message's visibility and the lease; stops the handler if the lease was lost. */
    private synchronized void heartbeat() {
        if (finished) {
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
            LOG.warn("job {}: lease ran out without renewal ({}); stopping it", lease.jobId(), e.toString());
        }
        stopReason = StopReason.LEASE_LOST;
        execution.cancel(true);
    }

    /** Asked by a draining worker: stop the handler and give the job back. */
    synchronized void giveBack() {
        if (finished || stopReason != null) {
            return;
        }
        stopReason = StopReason.GIVEN_BACK;
        if (execution != null) {
            execution.cancel(true);
        }
    }

    private void delete(String jobId) {
        try {
            worker.sqs().deleteMessage(DeleteMessageRequest.builder()
                    .queueUrl(worker.config().queueUrl())
                    .receiptHandle(message.receiptHandle())
                    .build());
        } catch (SdkException e) {
            // It will be delivered again and deleted then: its job is final.
            LOG.warn("job {}: could not delete message {}: {}", jobId, message.messageId(), e.toString());
        }
    }

    private static String trim(String error) {
        String text = error == null || error.isBlank() ? "failed without a message" : error.strip();
        return text.length() <= MAX_ERROR_CHARS ? text : "…" + text.substring(text.length() - MAX_ERROR_CHARS);
    }

}
