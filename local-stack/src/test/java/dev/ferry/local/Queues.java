package dev.ferry.local;

import dev.ferry.core.JobMessage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.ChangeMessageVisibilityRequest;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

/** Looking into the queues and the sample job's ledger from a test. */
final class Queues {

    private Queues() {
    }

    /** Visible + in flight + delayed: every message the queue holds. */
    static int depth(SqsClient sqs, String queueUrl) {
        Map<QueueAttributeName, String> a = sqs.getQueueAttributes(r -> r.queueUrl(queueUrl).attributeNames(
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED)).attributes();
        return Integer.parseInt(a.get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES))
                + Integer.parseInt(a.get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE))
                + Integer.parseInt(a.get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED));
    }

    static int inFlight(SqsClient sqs, String queueUrl) {
        return Integer.parseInt(sqs.getQueueAttributes(r -> r.queueUrl(queueUrl).attributeNames(
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE)).attributes()
                .get(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE));
    }

    /** Receives everything visible in a queue, puts it all straight back, and returns the job ids. */
    static List<String> peekJobIds(SqsClient sqs, String queueUrl) {
        List<String> ids = new ArrayList<>();
        List<Message> held = new ArrayList<>();
        try {
            while (true) {
                List<Message> batch = sqs.receiveMessage(r -> r.queueUrl(queueUrl).maxNumberOfMessages(10)
                        .visibilityTimeout(10).waitTimeSeconds(held.isEmpty() ? 1 : 0)).messages();
                if (batch.isEmpty()) {
                    return ids;
                }
                for (Message message : batch) {
                    held.add(message);
                    ids.add(JobMessage.parse(message.body()).jobId());
                }
            }
        } finally {
            for (Message message : held) {
                sqs.changeMessageVisibility(ChangeMessageVisibilityRequest.builder().queueUrl(queueUrl)
                        .receiptHandle(message.receiptHandle()).visibilityTimeout(0).build());
            }
        }
    }

    /** How many times the sample job started for this job id, from the ledger it appends to. */
    static long runs(Path ledger, String jobId) {
        try {
            if (!Files.exists(ledger)) {
                return 0;
            }
            return Files.readAllLines(ledger).stream().filter(line -> line.startsWith(jobId + " ")).count();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
