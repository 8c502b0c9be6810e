package dev.ferry.worker;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Json;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.GetQueueAttributesRequest;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

/**
 * What the worker takes from the queue itself, so that it cannot disagree with the template: its
 * visibility timeout (the default lease), the {@code maxReceiveCount} of its redrive policy (the
 * attempt budget) and its dead-letter queue (where the worker moves a job that is out of
 * attempts; the redrive policy stays as the backstop for messages no worker ever finishes).
 *
 * @param deadLetterQueueUrl the URL of the queue the redrive policy names
 */
public record QueueSettings(Duration visibilityTimeout, int maxReceiveCount, String deadLetterQueueUrl) {

    /**
     * The smallest budget that works: a message on its last receive is sent again as a fresh copy
     * rather than run there (see {@link AttemptPolicy}), so with one receive it would never run.
     */
    public static final int MIN_MAX_RECEIVE_COUNT = 2;

    public QueueSettings {
        Objects.requireNonNull(visibilityTimeout, "visibilityTimeout");
        Objects.requireNonNull(deadLetterQueueUrl, "deadLetterQueueUrl");
        if (maxReceiveCount < MIN_MAX_RECEIVE_COUNT) {
            throw new IllegalStateException("the job queue's RedrivePolicy has maxReceiveCount " + maxReceiveCount
                    + "; Ferry needs at least " + MIN_MAX_RECEIVE_COUNT + " (template parameter MaxReceiveCount)");
        }
    }

    /**
     * Reads the job queue's attributes, and the URL of its dead-letter queue from the ARN in its
     * redrive policy ({@code GetQueueUrl} with the queue's name and owner).
     *
     * @throws IllegalStateException the queue has no redrive policy, or one without
     *     {@code maxReceiveCount} or {@code deadLetterTargetArn}
     */
    public static QueueSettings read(SqsClient sqs, String queueUrl) {
        Map<QueueAttributeName, String> attributes = sqs.getQueueAttributes(GetQueueAttributesRequest.builder()
                .queueUrl(queueUrl)
                .attributeNames(QueueAttributeName.VISIBILITY_TIMEOUT, QueueAttributeName.REDRIVE_POLICY)
                .build()).attributes();
        String redrivePolicy = attributes.get(QueueAttributeName.REDRIVE_POLICY);
        if (redrivePolicy == null || redrivePolicy.isBlank()) {
            throw new IllegalStateException("queue " + queueUrl + " has no RedrivePolicy: Ferry needs a dead-letter"
                    + " queue so that a failing job ends there instead of being retried or dropped");
        }
        JsonNode policy = Json.parse(redrivePolicy);
        JsonNode maxReceiveCount = policy.get("maxReceiveCount");
        if (maxReceiveCount == null || maxReceiveCount.asInt() < 1) {
            throw new IllegalStateException("queue " + queueUrl + " has a RedrivePolicy without maxReceiveCount: "
                    + redrivePolicy);
        }
        JsonNode target = policy.get("deadLetterTargetArn");
        if (target == null || !target.isTextual()) {
            throw new IllegalStateException("queue " + queueUrl + " has a RedrivePolicy without deadLetterTargetArn: "
                    + redrivePolicy);
        }
        // arn:aws:sqs:<region>:<account>:<name>
        String[] arn = target.asText().split(":", 6);
        if (arn.length != 6 || !arn[2].equals("sqs")) {
            throw new IllegalStateException("queue " + queueUrl + ": its dead-letter target '" + target.asText()
                    + "' is not an SQS queue ARN");
        }
        String deadLetterQueueUrl = sqs.getQueueUrl(r -> r.queueName(arn[5]).queueOwnerAWSAccountId(arn[4])).queueUrl();
        return new QueueSettings(
                Duration.ofSeconds(Long.parseLong(attributes.get(QueueAttributeName.VISIBILITY_TIMEOUT))),
                maxReceiveCount.asInt(), deadLetterQueueUrl);
    }

    /**
     * Checks a high-priority lane's settings against these, the job queue's: the lane must redrive to
     * the same dead-letter queue (a failed job's message goes to the pool's one DLQ, where the admin
     * page shows it and Redrive DLQ brings it back) with the same {@code maxReceiveCount} (a job's
     * attempt budget, and the receive on which a message is re-armed rather than run, must not
     * depend on the lane it was sent to).
     *
     * @throws IllegalStateException naming both queues and what differs
     */
    public void checkPriorityLane(String queueUrl, String laneUrl, QueueSettings lane) {
        if (!lane.deadLetterQueueUrl().equals(deadLetterQueueUrl)) {
            throw new IllegalStateException("the high-priority lane " + laneUrl + " redrives to "
                    + lane.deadLetterQueueUrl() + ", but the job queue " + queueUrl + " to " + deadLetterQueueUrl
                    + "; both lanes of a pool must redrive to its one dead-letter queue, where a failed job's"
                    + " message is moved and from which Redrive DLQ sends it back");
        }
        if (lane.maxReceiveCount() != maxReceiveCount) {
            throw new IllegalStateException("the high-priority lane " + laneUrl + " has maxReceiveCount "
                    + lane.maxReceiveCount() + ", but the job queue " + queueUrl + " " + maxReceiveCount
                    + "; a job's attempt budget is its queue's maxReceiveCount and must not depend on its lane");
        }
    }
}
