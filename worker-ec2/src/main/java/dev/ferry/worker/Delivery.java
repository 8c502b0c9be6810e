package dev.ferry.worker;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;

/**
 * One received message, with what the worker reads off it: how often SQS has delivered it, when
 * it was first received (SQS keeps a message out of sight for at most 12 hours from then), and
 * whether it is a copy of a job given back by a worker whose machine went away; and the queue it
 * came from, where everything done with it is done (deleted, made visible, copied for a retry or a
 * give-back): a worker with a high-priority lane receives from two queues, and a receipt handle
 * means nothing to the other one.
 */
record Delivery(Message message, int receiveCount, Instant firstReceivedAt, JobQueue queue) {

    /**
     * Message attribute of a copy sent when a job is given back: the lease id it was given back
     * under. If the giver could not release its lease, the copy takes it over at once, counting a
     * preemption rather than an attempt.
     */
    static final String GIVEN_BACK = "ferry.givenBack";
    /** Message attribute of a message the worker moved to the dead-letter queue: why. */
    static final String DEAD_LETTER_REASON = "ferry.deadLetterReason";

    Delivery {
        Objects.requireNonNull(message, "message");
        Objects.requireNonNull(firstReceivedAt, "firstReceivedAt");
        Objects.requireNonNull(queue, "queue");
    }

    /** Reads the system attributes the worker asks for on every receive; {@code queue}: where it came from. */
    static Delivery of(Message message, Instant receivedAt, JobQueue queue) {
        String count = message.attributes().get(MessageSystemAttributeName.APPROXIMATE_RECEIVE_COUNT);
        String first = message.attributes().get(MessageSystemAttributeName.APPROXIMATE_FIRST_RECEIVE_TIMESTAMP);
        Instant firstReceived;
        try {
            firstReceived = first == null ? receivedAt : Instant.ofEpochMilli(Long.parseLong(first));
        } catch (NumberFormatException e) {
            firstReceived = receivedAt;
        }
        int receives;
        try {
            receives = count == null ? 1 : Integer.parseInt(count);
        } catch (NumberFormatException e) {
            receives = 1;
        }
        return new Delivery(message, receives, firstReceived, queue);
    }

    String messageId() {
        return message.messageId();
    }

    String body() {
        return message.body();
    }

    /** The lease id of a given-back copy. */
    Optional<String> givenBackLeaseId() {
        MessageAttributeValue value = message.messageAttributes().get(GIVEN_BACK);
        return value == null || value.stringValue() == null || value.stringValue().isBlank()
                ? Optional.empty() : Optional.of(value.stringValue());
    }
}
