package dev.ferry.worker;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.ChangeMessageVisibilityRequest;
import software.amazon.awssdk.services.sqs.model.DeleteMessageRequest;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;
import software.amazon.awssdk.services.sqs.model.ReceiptHandleIsInvalidException;
import software.amazon.awssdk.services.sqs.model.ReceiveMessageRequest;
import software.amazon.awssdk.services.sqs.model.SendMessageRequest;

/**
 * Everything the worker does to messages, in one place: receive from the job queue, delete, set
 * visibility, send a copy, re-send one as fresh, move one to the dead-letter queue. Apart from
 * receiving, nothing here throws: a call that fails is logged and reported as {@code false}, and
 * the message comes back when its visibility runs out, to be handled by its job's state then.
 *
 * <p>SQS keeps a message out of sight for at most 12 hours from its first receive; a visibility
 * asked for past that is cut to what is left.
 */
final class JobQueue {

    private static final Logger LOG = LoggerFactory.getLogger(JobQueue.class);
    /** SQS's longest {@code DelaySeconds}. */
    static final Duration MAX_DELAY = Duration.ofMinutes(15);
    /** SQS's longest time out of sight, counted from a message's first receive. */
    static final Duration MAX_VISIBILITY = Duration.ofHours(12);
    /** The long poll's own call timeout: above the 20 s wait. */
    static final Duration RECEIVE_CALL_TIMEOUT = Duration.ofSeconds(35);
    /** Kept clear of the 12-hour limit: SQS refuses a visibility that reaches past it. */
    private static final Duration VISIBILITY_MARGIN = Duration.ofSeconds(5);
    /** The longest reason kept on a dead-lettered message (a message attribute). */
    private static final int MAX_REASON_CHARS = 256;

    private final SqsClient sqs;
    private final String queueUrl;
    private final String deadLetterQueueUrl;
    private final int waitSeconds;
    private final Clock clock;
    private final MessageDeletes deletes;

    JobQueue(SqsClient sqs, String queueUrl, String deadLetterQueueUrl, int waitSeconds, Clock clock) {
        this(sqs, queueUrl, deadLetterQueueUrl, waitSeconds, clock, Duration.ZERO);
    }

    /** @param deleteLinger how long a delete may wait to share a batch ({@link DeleteBatcher}); zero: none */
    JobQueue(SqsClient sqs, String queueUrl, String deadLetterQueueUrl, int waitSeconds, Clock clock,
             Duration deleteLinger) {
        this(sqs, queueUrl, deadLetterQueueUrl, waitSeconds, clock, deleteLinger,
                java.util.function.UnaryOperator.identity());
    }

    /**
     * A queue whose messages someone else receives: Lambda's event source mapping, which also
     * deletes the messages the function reports settled once the invocation returns. Its deletes
     * are made at once, unbatched, and go through {@code around} ({@link BatchAcknowledgements},
     * which notes them for the batch response). Everything else (visibility, copies, the
     * dead-letter move) is done here, as for a worker's own receives.
     */
    JobQueue(SqsClient sqs, String queueUrl, String deadLetterQueueUrl, Clock clock,
             java.util.function.UnaryOperator<MessageDeletes> around) {
        this(sqs, queueUrl, deadLetterQueueUrl, 0, clock, Duration.ZERO, around);
    }

    private JobQueue(SqsClient sqs, String queueUrl, String deadLetterQueueUrl, int waitSeconds, Clock clock,
                     Duration deleteLinger, java.util.function.UnaryOperator<MessageDeletes> around) {
        this.sqs = Objects.requireNonNull(sqs, "sqs");
        this.queueUrl = Objects.requireNonNull(queueUrl, "queueUrl");
        this.deadLetterQueueUrl = Objects.requireNonNull(deadLetterQueueUrl, "deadLetterQueueUrl");
        this.waitSeconds = waitSeconds;
        this.clock = Objects.requireNonNull(clock, "clock");
        this.deletes = Objects.requireNonNull(around.apply(new DeleteBatcher(sqs, queueUrl, this::deleteOne,
                deleteLinger)), "deletes");
    }

    String url() {
        return queueUrl;
    }

    /**
     * Long-polls for at most {@code max} messages (1-10), each out of sight for {@code lease}
     * (the lease starts at the receive, not at the queue's default).
     *
     * @throws SdkException when SQS cannot be reached; the poller backs off
     */
    List<Delivery> receive(int max, Duration lease) {
        return receive(max, lease, waitSeconds);
    }

    /** The long poll's wait: {@code FERRY_WAIT_SECONDS}. */
    int waitSeconds() {
        return waitSeconds;
    }

    /** {@link #receive(int, Duration)} waiting at most {@code wait} seconds (0: a short poll). */
    List<Delivery> receive(int max, Duration lease, int wait) {
        Instant now = clock.instant();
        return sqs.receiveMessage(ReceiveMessageRequest.builder()
                        .queueUrl(queueUrl)
                        .maxNumberOfMessages(max)
                        .waitTimeSeconds(wait)
                        .visibilityTimeout((int) Math.max(1, seconds(lease)))
                        .messageSystemAttributeNames(MessageSystemAttributeName.APPROXIMATE_RECEIVE_COUNT,
                                MessageSystemAttributeName.APPROXIMATE_FIRST_RECEIVE_TIMESTAMP)
                        .messageAttributeNames(Delivery.GIVEN_BACK)
                        .overrideConfiguration(o -> o.apiCallTimeout(RECEIVE_CALL_TIMEOUT)
                                .apiCallAttemptTimeout(RECEIVE_CALL_TIMEOUT))
                        .build())
                .messages().stream().map(message -> Delivery.of(message, now, this)).toList();
    }

    /** How long this delivery may still be kept out of sight. */
    Duration visibilityLeft(Delivery delivery) {
        Duration left = Duration.between(clock.instant(), delivery.firstReceivedAt().plus(MAX_VISIBILITY))
                .minus(VISIBILITY_MARGIN);
        return left.isNegative() ? Duration.ZERO : left;
    }

    /** Out of sight for {@code timeout} from now (at most what is left of its 12 hours). */
    boolean changeVisibility(Delivery delivery, Duration timeout, String why) {
        Duration capped = timeout.compareTo(visibilityLeft(delivery)) > 0 ? visibilityLeft(delivery) : timeout;
        long seconds = seconds(capped);
        try {
            sqs.changeMessageVisibility(ChangeMessageVisibilityRequest.builder()
                    .queueUrl(queueUrl)
                    .receiptHandle(delivery.message().receiptHandle())
                    .visibilityTimeout((int) seconds)
                    .build());
            return true;
        } catch (SdkException e) {
            LOG.warn("could not set visibility of message {} to {} s ({}): {}", delivery.messageId(), seconds, why,
                    e.toString());
            return false;
        }
    }

    /**
     * Deletes the message, in a batch with others ({@link DeleteBatcher}: lingering, this only asks
     * for it; in a Lambda pool, also noted as settled for the batch response). Every caller has
     * written what the delete settles first, so a delete that never
     * happens only brings the message back, to be deleted by the next receive. (A delete with a
     * receipt handle gone stale — the message was received again meanwhile — may silently not
     * delete; the copy that comes back is handled by its job's state.)
     */
    boolean delete(Delivery delivery, String jobId) {
        return deletes.delete(delivery, jobId);
    }

    /** Sends the deletes still lingering, waiting up to {@code timeout}; later deletes go out at once. */
    boolean flushDeletes(Duration timeout) {
        return deletes.close(timeout);
    }

    /** Delete requests sent so far by how many deletes each carried ({@link DeleteBatcher#requestsBySize}). */
    long[] deleteRequestsBySize() {
        return deletes.requestsBySize();
    }

    private boolean deleteOne(Delivery delivery, String jobId) {
        try {
            sqs.deleteMessage(DeleteMessageRequest.builder()
                    .queueUrl(queueUrl)
                    .receiptHandle(delivery.message().receiptHandle())
                    .build());
            return true;
        } catch (ReceiptHandleIsInvalidException e) {
            // A retry of a delete whose response was lost, on a backend that forgets deleted handles.
            LOG.debug("job {}: message {} was deleted already: {}", jobId, delivery.messageId(), e.toString());
            return true;
        } catch (SdkException e) {
            LOG.warn("job {}: could not delete message {}: {}", jobId, delivery.messageId(), e.toString());
            return false;
        }
    }

    /**
     * Sends a copy of the message to the job queue: same body, {@code attributes}, delivered after {@code delay} (at most 15 minutes). A copy starts with a
     * receive count of 0 and a fresh 12 hours.
     */
    boolean sendCopy(Delivery delivery, Map<String, MessageAttributeValue> attributes, Duration delay, String why) {
        return send(queueUrl, delivery, attributes, delay, why);
    }

    /**
     * Sends a copy of the message to another pool's job queue ({@link RetryElsewhere}), without its
     * attributes, delivered after {@code delay}; the message itself stays here until deleted.
     */
    boolean sendCopyTo(String otherQueueUrl, Delivery delivery, Duration delay, String why) {
        return send(otherQueueUrl, delivery, Map.of(), delay, why);
    }

    private boolean send(String to, Delivery delivery, Map<String, MessageAttributeValue> attributes, Duration delay,
                         String why) {
        long seconds = Math.min(seconds(delay), MAX_DELAY.toSeconds());
        try {
            String copyId = sqs.sendMessage(SendMessageRequest.builder()
                    .queueUrl(to)
                    .messageBody(delivery.body())
                    .messageAttributes(attributes)
                    .delaySeconds((int) seconds)
                    .build()).messageId();
            LOG.debug("message {} copied as {} (delay {} s): {}", delivery.messageId(), copyId, seconds, why);
            return true;
        } catch (SdkException e) {
            LOG.warn("could not send a copy of message {} ({}): {}", delivery.messageId(), why, e.toString());
            return false;
        }
    }

    /**
     * Puts a message back without spending a receive: a fresh copy now, then this one deleted.
     * Where no copy can be sent it is made visible again instead (which spends one).
     */
    void requeueFresh(Delivery delivery, String why) {
        if (sendCopy(delivery, delivery.message().messageAttributes(), Duration.ZERO, why)) {
            delete(delivery, "-");
        } else {
            changeVisibility(delivery, Duration.ZERO, why);
        }
    }

    /**
     * A message on its last receive (or too near its 12 hours) is never run: run there, a worker's
     * death would let SQS move it to the DLQ with its job unrecorded. It is replaced by a fresh
     * copy (receive count 0), delivered at once. Where no copy can be sent (SQS unreachable), it
     * is kept out of sight for {@code retry} and tried again on its next delivery; if SQS is still
     * down then, its redrive policy moves it to the DLQ, where Redrive DLQ brings it back.
     */
    void rearm(Delivery delivery, String jobId, Duration retry) {
        if (sendCopy(delivery, delivery.message().messageAttributes(), Duration.ZERO,
                "re-armed on receive " + delivery.receiveCount())) {
            delete(delivery, jobId);
            LOG.info("job {}: message {} re-sent as a fresh copy (receive {}, first received {})", jobId,
                    delivery.messageId(), delivery.receiveCount(), delivery.firstReceivedAt());
        } else {
            LOG.error("job {}: message {} is on its last receive and could not be re-sent; if SQS is still unreachable"
                    + " when it comes back in {} s, SQS moves it to the dead-letter queue with its job unfinished"
                    + " (Redrive DLQ runs it again)", jobId, delivery.messageId(), retry.toSeconds());
            changeVisibility(delivery, retry, "re-arm failed");
        }
    }

    /**
     * Moves the message to the dead-letter queue (a job out of attempts, failed for good, or not a
     * Ferry job at all): sent there with {@value Delivery#DEAD_LETTER_REASON}, then deleted here.
     * Where the send fails it is kept out of sight for {@code retry}: its next delivery finds the
     * job FAILED and moves it again, and the queue's redrive policy moves it on its last receive.
     * A copy that reaches the DLQ twice (the delete's response lost) is harmless: a redrive or a
     * retry handles a job's every message by its one record.
     */
    boolean moveToDeadLetter(Delivery delivery, String jobId, String reason, Duration retry) {
        String trimmed = reason.length() <= MAX_REASON_CHARS ? reason : reason.substring(0, MAX_REASON_CHARS - 1) + "…";
        Map<String, MessageAttributeValue> attributes = new HashMap<>();
        attributes.put(Delivery.DEAD_LETTER_REASON, MessageAttributeValue.builder().dataType("String")
                .stringValue(trimmed.isBlank() ? "-" : trimmed).build());
        try {
            sqs.sendMessage(SendMessageRequest.builder()
                    .queueUrl(deadLetterQueueUrl)
                    .messageBody(delivery.body())
                    .messageAttributes(attributes)
                    .build());
        } catch (SdkException e) {
            LOG.warn("job {}: could not move message {} to the dead-letter queue ({}); it comes back in {} s: {}", jobId,
                    delivery.messageId(), reason, retry.toSeconds(), e.toString());
            changeVisibility(delivery, retry, "dead-letter move failed");
            return false;
        }
        delete(delivery, jobId);
        return true;
    }

    /** Whole seconds, rounded up, never negative. */
    private static long seconds(Duration duration) {
        return Math.max(0, (duration.toMillis() + 999) / 1000);
    }
}
