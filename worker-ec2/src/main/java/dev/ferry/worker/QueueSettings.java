package dev.ferry.worker;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Json;
import java.time.Duration;
import java.util.Map;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.GetQueueAttributesRequest;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

/**
 * What the worker takes from the queue itself: its visibility timeout and the
 * {@code maxReceiveCount} of its redrive policy, the attempt budget.
 */
public record QueueSettings(Duration visibilityTimeout, int maxReceiveCount) {

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
        JsonNode maxReceiveCount = Json.parse(redrivePolicy).get("maxReceiveCount");
        if (maxReceiveCount == null || maxReceiveCount.asInt() < 1) {
            throw new IllegalStateException("queue " + queueUrl + " has a RedrivePolicy without maxReceiveCount: "
                    + redrivePolicy);
        }
        return new QueueSettings(
                Duration.ofSeconds(Long.parseLong(attributes.get(QueueAttributeName.VISIBILITY_TIMEOUT))),
                maxReceiveCount.asInt());
    }
}
