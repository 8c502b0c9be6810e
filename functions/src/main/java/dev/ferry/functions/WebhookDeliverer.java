package dev.ferry.functions;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.AwsErrors;
import dev.ferry.core.Job;
import dev.ferry.core.JobFiles;
import dev.ferry.core.JobStore;
import dev.ferry.core.Json;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.function.DoubleSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * Makes the delivery attempt one webhooks-queue message asks for, knowing nothing of Lambda: reads
 * the job (the body is the job as the API shows it now, with fresh file URLs, and the event), skips
 * a delivery already settled (a duplicate message) or one to a receiver that said {@code 410 Gone},
 * POSTs, records the attempt ({@link WebhookDeliveryStore}), and for a failure worth retrying
 * ({@link WebhookRetryPolicy}) sends the next attempt as a fresh message delayed by its back-off.
 *
 * <p>The attempt's record is written before the next attempt is queued. If the record cannot be
 * written the delivery still goes on (its log misses an entry); if the next attempt cannot be
 * queued, the message fails and SQS shows it again after its visibility timeout, so the attempt is
 * made again: a delivery is never dropped while it has time left.
 */
final class WebhookDeliverer {

    private static final Logger LOG = LoggerFactory.getLogger(WebhookDeliverer.class);

    /** What one message came to. */
    enum Outcome {
        /** The receiver answered 2xx. */
        DELIVERED,
        /** It failed; the next attempt is queued. */
        RETRYING,
        /** It failed for good, or ran out of time. */
        GAVE_UP,
        /** Not sent: the job is gone, or its receiver said 410 Gone. */
        SKIPPED,
        /** A copy of a delivery already settled. */
        DUPLICATE,
        /** Not due yet: sent back to wait (a back-off longer than SQS delays a message). */
        POSTPONED
    }

    private final JobStore jobs;
    private final Optional<JobFiles> files;
    private final WebhookDeliveryStore deliveries;
    private final WebhookSender sender;
    private final WebhookQueue queue;
    private final WebhookRetryPolicy retries;
    private final Clock clock;
    private final DoubleSupplier random;

    WebhookDeliverer(JobStore jobs, Optional<JobFiles> files, WebhookDeliveryStore deliveries, WebhookSender sender,
                     WebhookQueue queue, WebhookRetryPolicy retries, Clock clock, DoubleSupplier random) {
        this.jobs = Objects.requireNonNull(jobs, "jobs");
        this.files = Objects.requireNonNull(files, "files");
        this.deliveries = Objects.requireNonNull(deliveries, "deliveries");
        this.sender = Objects.requireNonNull(sender, "sender");
        this.queue = Objects.requireNonNull(queue, "queue");
        this.retries = Objects.requireNonNull(retries, "retries");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.random = Objects.requireNonNull(random, "random");
    }

    static DoubleSupplier secureRandom() {
        SecureRandom random = new SecureRandom();
        return random::nextDouble;
    }

    /**
     * @throws SdkException when the job or its deliveries cannot be read, or the next attempt (or
     *     a postponed one) cannot be queued: the message must come back
     */
    Outcome deliver(WebhookMessage message) {
        Instant now = clock.instant();
        if (message.notBefore() != null && now.isBefore(message.notBefore())) {
            queue.send(message, Duration.between(now, message.notBefore()));
            return Outcome.POSTPONED;
        }
        Optional<Job> job = jobs.get(message.jobId());
        if (job.isEmpty() || job.get().webhookUrl() == null) {
            record(message, attempt(message, now, null, Duration.ZERO, WebhookDeliveries.SKIPPED, job.isEmpty()
                    ? "not sent: the job's record is gone (past its retention)" : "not sent: the job has no webhook"),
                    false);
            return Outcome.SKIPPED;
        }
        WebhookDeliveries known = deliveries.get(message.jobId()).orElseGet(() -> WebhookDeliveries.none(message.jobId()));
        if (known.settled(message.deliveryId())) {
            LOG.info("webhook {} of job {}: a copy of a settled delivery, not sent again", message.deliveryId(),
                    message.jobId());
            return Outcome.DUPLICATE;
        }
        if (known.goneAt() != null && !message.resend()) {
            record(message, attempt(message, now, null, Duration.ZERO, WebhookDeliveries.SKIPPED,
                    "not sent: the receiver answered 410 Gone at " + known.goneAt() + " (Resend sends it anyway)"),
                    false);
            return Outcome.SKIPPED;
        }
        ObjectNode body = Json.MAPPER.createObjectNode().put("event", message.event());
        body.setAll(JobView.of(job.get(), files));
        WebhookSender.Result result = sender.send(job.get().webhookUrl(), message.deliveryId(), message.event(),
                Json.write(body));
        if (result.delivered()) {
            record(message, attempt(message, now, result, WebhookDeliveries.DELIVERED, null), false);
            LOG.info("webhook {} of job {} delivered ({})", message.deliveryId(), message.jobId(), result.statusCode());
            return Outcome.DELIVERED;
        }
        boolean gone = Integer.valueOf(410).equals(result.statusCode());
        if (!WebhookRetryPolicy.retryable(result)) {
            record(message, attempt(message, now, result, WebhookDeliveries.GAVE_UP, result.error()
                    + (result.refused() ? "" : "; not retried: the receiver refused this request"
                    + (gone ? ", and said the URL is gone: no later event of this job is sent" : ""))), gone);
            LOG.info("webhook {} of job {} given up: {}", message.deliveryId(), message.jobId(), result.error());
            return Outcome.GAVE_UP;
        }
        Duration delay = retries.delay(message.attempt(), result.retryAfter(), random);
        Instant next = clock.instant().plus(delay);
        if (next.isAfter(message.since().plus(retries.retryFor()))) {
            record(message, attempt(message, now, result, WebhookDeliveries.GAVE_UP, result.error()
                    + "; gave up: still failing " + describe(retries.retryFor()) + " after the delivery began"), false);
            LOG.info("webhook {} of job {} given up after {}: {}", message.deliveryId(), message.jobId(),
                    retries.retryFor(), result.error());
            return Outcome.GAVE_UP;
        }
        record(message, attempt(message, now, result, WebhookDeliveries.RETRYING, result.error() + "; next attempt"
                + " at " + next), false);
        queue.send(message.next(next), delay);
        LOG.info("webhook {} of job {} attempt {} failed ({}); retrying in {}", message.deliveryId(), message.jobId(),
                message.attempt(), result.error(), delay);
        return Outcome.RETRYING;
    }

    private static WebhookDeliveries.Attempt attempt(WebhookMessage message, Instant at, WebhookSender.Result result,
                                                     String outcome, String error) {
        return attempt(message, at, result.statusCode(), result.duration(), outcome, error);
    }

    private static WebhookDeliveries.Attempt attempt(WebhookMessage message, Instant at, Integer statusCode,
                                                     Duration took, String outcome, String error) {
        return new WebhookDeliveries.Attempt(message.deliveryId(), message.event(), message.attempt(), at, statusCode,
                took.toMillis(), outcome, error);
    }

    /** Records the attempt; a failure to is logged, never a reason to deliver again. */
    private void record(WebhookMessage message, WebhookDeliveries.Attempt attempt, boolean gone) {
        WebhookDeliveries.Event event = new WebhookDeliveries.Event(message.eventId(), message.event(),
                message.version(), message.at());
        try {
            deliveries.update(message.jobId(), current -> current.with(attempt, event, gone));
        } catch (SdkException | IllegalStateException e) {
            LOG.warn("webhook {} of job {}: could not record attempt {} ({}): {}", message.deliveryId(),
                    message.jobId(), attempt.attempt(), attempt.outcome(),
                    e instanceof SdkException sdk ? AwsErrors.describe(sdk) : e.getMessage());
        }
    }

    private static String describe(Duration duration) {
        return duration.toHours() >= 1 && duration.toMinutesPart() == 0 ? duration.toHours() + " h"
                : duration.toMinutes() >= 1 ? duration.toMinutes() + " min" : duration.toSeconds() + " s";
    }
}
