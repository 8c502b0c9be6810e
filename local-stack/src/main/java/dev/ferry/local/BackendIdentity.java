package dev.ferry.local;

import dev.ferry.core.AwsClients;
import dev.ferry.core.AwsErrors;
import dev.ferry.core.FerryEnv;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;
import software.amazon.awssdk.services.sts.StsClient;

/**
 * The account id of an external backend, from the backend itself: STS's
 * {@code GetCallerIdentity}, or, where STS is not served, the ARN of a queue created for the
 * purpose (and deleted again). Never assumed: moto says 123456789012, LocalStack 000000000000, a
 * real account its own, and ARNs Ferry derives (a dead-letter queue's RedriveAllowPolicy) must
 * name the right one.
 */
final class BackendIdentity {

    private static final Logger LOG = LoggerFactory.getLogger(BackendIdentity.class);

    private BackendIdentity() {
    }

    static String accountId(FerryEnv env, SqsClient sqs, String stackName) {
        try (StsClient sts = AwsClients.configure(StsClient.builder(), env, Backend.ENDPOINT_URL_STS).build()) {
            return sts.getCallerIdentity().account();
        } catch (SdkException e) {
            LOG.info("no account id from STS ({}); reading it off a probe queue's ARN", AwsErrors.describe(e));
        }
        String probe = sqs.createQueue(r -> r.queueName(stackName + "-account-probe")).queueUrl();
        try {
            String arn = sqs.getQueueAttributes(r -> r.queueUrl(probe).attributeNames(QueueAttributeName.QUEUE_ARN))
                    .attributes().get(QueueAttributeName.QUEUE_ARN);
            String[] parts = arn.split(":");
            if (parts.length != 6) {
                throw new IllegalStateException("the backend's queue ARN '" + arn + "' is not arn:<partition>:sqs:"
                        + "<region>:<account>:<name>");
            }
            return parts[4];
        } finally {
            sqs.deleteQueue(r -> r.queueUrl(probe));
        }
    }
}
