package dev.ferry.functions;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.AwsErrors;
import dev.ferry.core.JobMessage;
import dev.ferry.core.Json;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.ChangeMessageVisibilityBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.ListMessageMoveTasksResultEntry;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

/**
 * One pool's queues as the admin page works them: their depths, the move task that sends its
 * dead-letter queue back to its job queue (or Ferry's own move, where the backend has no move
 * tasks), a job's fresh message, and the search that takes chosen jobs' messages out of its DLQ.
 * The admin function holds one per pool ({@link AdminService}); what a redrive marks in the table
 * is {@link AdminService}'s.
 */
final class PoolDeadLetters {

    private static final Logger LOG = LoggerFactory.getLogger(PoolDeadLetters.class);

    private final SqsClient sqs;
    private final String pool;
    private final String queueUrl;
    private final Optional<String> priorityQueueUrl;
    private final String deadLetterQueueUrl;
    private final Clock clock;
    private String deadLetterQueueArn;
    /** The latest redrive Ferry moves itself, where the backend has no message move tasks. */
    private volatile DeadLetterMover mover;

    PoolDeadLetters(SqsClient sqs, String pool, String queueUrl, Optional<String> priorityQueueUrl,
                    String deadLetterQueueUrl, Clock clock) {
        this.sqs = Objects.requireNonNull(sqs, "sqs");
        this.pool = Objects.requireNonNull(pool, "pool");
        this.queueUrl = Objects.requireNonNull(queueUrl, "queueUrl");
        this.priorityQueueUrl = Objects.requireNonNull(priorityQueueUrl, "priorityQueueUrl");
        this.deadLetterQueueUrl = Objects.requireNonNull(deadLetterQueueUrl, "deadLetterQueueUrl");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    String pool() {
        return pool;
    }

    String queueUrl() {
        return queueUrl;
    }

    Optional<String> priorityQueueUrl() {
        return priorityQueueUrl;
    }

    String deadLetterQueueUrl() {
        return deadLetterQueueUrl;
    }

    /** A queue's messages: {@code url}, {@code visible}, {@code inFlight}, {@code delayed}. */
    ObjectNode depth(String url) {
        Map<QueueAttributeName, String> a = sqs.getQueueAttributes(r -> r.queueUrl(url).attributeNames(
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED)).attributes();
        return Json.MAPPER.createObjectNode()
                .put("url", url)
                .put("visible", Integer.parseInt(a.getOrDefault(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES, "0")))
                .put("inFlight", Integer.parseInt(
                        a.getOrDefault(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE, "0")))
                .put("delayed", Integer.parseInt(
                        a.getOrDefault(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED, "0")));
    }

    /** The handle of this pool's redrive that is running now, if one is. */
    Optional<String> running() {
        DeadLetterMover current = mover;
        if (current != null && current.running()) {
            return Optional.of(current.handle());
        }
        try {
            return latestTask().filter(t -> "RUNNING".equals(t.status())).map(ListMessageMoveTasksResultEntry::taskHandle);
        } catch (SdkException e) {
            // Cannot tell (a role or backend without ListMessageMoveTasks): the start will say if one runs.
            LOG.warn("redrive of pool {}: could not list move tasks, starting anyway: {}", pool, AwsErrors.describe(e));
            return Optional.empty();
        }
    }

    /**
     * Starts moving the DLQ's messages back to the job queue: an SQS message move task, or Ferry's
     * own move where the backend has none. New message ids do not matter: workers deduplicate by
     * job id.
     *
     * @return the task's handle
     * @throws SdkException when the task did not start
     */
    String startMove() {
        try {
            return sqs.startMessageMoveTask(r -> r.sourceArn(deadLetterQueueArn())).taskHandle();
        } catch (SdkException e) {
            if (!DeadLetterMover.unsupported(e)) {
                throw e;
            }
            DeadLetterMover started = DeadLetterMover.start(sqs, deadLetterQueueUrl, queueUrl, clock);
            mover = started;
            LOG.info("redrive of pool {}: this backend has no message move tasks ({}), so Ferry moves the messages"
                    + " itself ({})", pool, AwsErrors.describe(e), started.handle());
            return started.handle();
        }
    }

    /** The latest move out of the DLQ, as the page shows it; empty when there was none. */
    Optional<ObjectNode> latest() {
        DeadLetterMover current = mover;
        if (current != null) {
            return Optional.of(current.progress());
        }
        Optional<ListMessageMoveTasksResultEntry> latest;
        try {
            latest = latestTask();
        } catch (SdkException e) {
            if (DeadLetterMover.unsupported(e)) {
                return Optional.empty(); // no move tasks here, and Ferry has moved nothing yet
            }
            throw e;
        }
        return latest.map(task -> {
            ObjectNode node = Json.MAPPER.createObjectNode()
                    .put("status", task.status())
                    .put("approximateNumberOfMessagesMoved", task.approximateNumberOfMessagesMoved());
            if (task.taskHandle() != null) {
                node.put("taskHandle", task.taskHandle());
            }
            if (task.approximateNumberOfMessagesToMove() != null) {
                node.put("approximateNumberOfMessagesToMove", task.approximateNumberOfMessagesToMove());
            }
            if (task.failureReason() != null) {
                node.put("failureReason", task.failureReason());
            }
            if (task.startedTimestamp() != null) {
                node.put("startedAt", Instant.ofEpochMilli(task.startedTimestamp()).toString());
            }
            return node;
        });
    }

    /** Stops this pool's running move; false when none is running. Messages moved already stay moved. */
    boolean cancel() {
        DeadLetterMover current = mover;
        if (current != null && current.running()) {
            current.cancel();
            LOG.info("redrive {} of pool {} cancelled", current.handle(), pool);
            return true;
        }
        Optional<ListMessageMoveTasksResultEntry> latest;
        try {
            latest = latestTask();
        } catch (SdkException e) {
            if (DeadLetterMover.unsupported(e)) {
                return false;
            }
            throw e;
        }
        Optional<ListMessageMoveTasksResultEntry> task = latest.filter(t -> "RUNNING".equals(t.status()));
        if (task.isEmpty()) {
            return false;
        }
        sqs.cancelMessageMoveTask(r -> r.taskHandle(task.get().taskHandle()));
        LOG.info("redrive {} of pool {} cancelled", task.get().taskHandle(), pool);
        return true;
    }

    /** Sends a job's fresh message to this pool's job queue (or its high-priority lane). */
    void send(JobMessage message, boolean highPriority) {
        String url = highPriority ? priorityQueueUrl.orElse(queueUrl) : queueUrl;
        sqs.sendMessage(r -> r.queueUrl(url).messageBody(message.toJson()));
    }

    private Optional<ListMessageMoveTasksResultEntry> latestTask() {
        return sqs.listMessageMoveTasks(r -> r.sourceArn(deadLetterQueueArn()).maxResults(1)).results().stream()
                .findFirst();
    }

    private synchronized String deadLetterQueueArn() {
        if (deadLetterQueueArn == null) {
            deadLetterQueueArn = sqs.getQueueAttributes(r -> r.queueUrl(deadLetterQueueUrl)
                    .attributeNames(QueueAttributeName.QUEUE_ARN)).attributes().get(QueueAttributeName.QUEUE_ARN);
        }
        return deadLetterQueueArn;
    }

    /**
     * Looks through the DLQ for messages of these jobs and deletes them. Every other message it
     * received is made visible again right away, untouched. Bounded by {@code limit} messages seen.
     */
    int remove(Set<String> jobIds, int limit, java.time.Duration hide) {
        List<Message> others = new ArrayList<>();
        int removed = 0;
        int seen = 0;
        try {
            while (seen < limit) {
                List<Message> batch = sqs.receiveMessage(r -> r.queueUrl(deadLetterQueueUrl).maxNumberOfMessages(10)
                        .waitTimeSeconds(1).visibilityTimeout((int) hide.toSeconds())).messages();
                if (batch.isEmpty()) {
                    break;
                }
                seen += batch.size();
                for (Message message : batch) {
                    if (jobIds.contains(jobIdOf(message))) {
                        sqs.deleteMessage(r -> r.queueUrl(deadLetterQueueUrl).receiptHandle(message.receiptHandle()));
                        removed++;
                    } else {
                        others.add(message);
                    }
                }
            }
        } finally {
            release(others, hide);
        }
        return removed;
    }

    private static String jobIdOf(Message message) {
        try {
            return JobMessage.parse(message.body()).jobId();
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private void release(List<Message> messages, java.time.Duration hide) {
        for (int from = 0; from < messages.size(); from += 10) {
            List<ChangeMessageVisibilityBatchRequestEntry> entries = new ArrayList<>();
            List<Message> chunk = messages.subList(from, Math.min(messages.size(), from + 10));
            for (int i = 0; i < chunk.size(); i++) {
                entries.add(ChangeMessageVisibilityBatchRequestEntry.builder().id(Integer.toString(i))
                        .receiptHandle(chunk.get(i).receiptHandle()).visibilityTimeout(0).build());
            }
            try {
                sqs.changeMessageVisibilityBatch(r -> r.queueUrl(deadLetterQueueUrl).entries(entries));
            } catch (SdkException e) {
                LOG.warn("could not make {} dead-letter message(s) of pool {} visible again; they reappear within {}: {}",
                        entries.size(), pool, hide, e.toString());
            }
        }
    }
}
