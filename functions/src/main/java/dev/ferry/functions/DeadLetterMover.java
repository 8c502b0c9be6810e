package dev.ferry.functions;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.AwsErrors;
import dev.ferry.core.Json;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchResponse;

/**
 * Redrive where SQS message move tasks are missing (moto answers them with a 500 and no error
 * code; some emulators lack them): moves the dead-letter queue's messages back to the job queue
 * itself, on a thread of its own, in batches of ten (receive, send, delete), at most
 * {@link #DEFAULT_RATE} messages a second, with the progress and cancel a move task has. On AWS the
 * move task is used: this runs in the process that serves the admin page, which in Lambda lasts
 * no longer than a request.
 *
 * <p>A message is deleted from the DLQ only after the job queue took its copy. A failure leaves it
 * in the DLQ (its job still FAILED, still marked for redrive), where the next redrive finds it. A
 * delete that fails after the copy was sent leaves a stale copy in the DLQ, which a later redrive
 * brings back and a worker deletes unrun (its job is no longer FAILED by then).
 */
final class DeadLetterMover {

    private static final Logger LOG = LoggerFactory.getLogger(DeadLetterMover.class);
    /** Messages moved per second at most: a redrive must not flood the workers' queue. */
    static final int DEFAULT_RATE = 100;
    /** How long a received DLQ message stays hidden while its copy is sent. */
    static final Duration HIDE = Duration.ofSeconds(30);
    /** Error codes with which a backend says it has no message move tasks. */
    private static final Set<String> UNSUPPORTED_CODES = Set.of("UnsupportedOperation",
            "AWS.SimpleQueueService.UnsupportedOperation", "NotImplemented", "InvalidAction", "UnknownOperation");

    private final SqsClient sqs;
    private final String from;
    private final String to;
    private final int rate;
    private final String handle = "ferry-move-" + UUID.randomUUID();
    private final Instant startedAt;
    private final Thread thread;
    private volatile String status = "RUNNING";
    private volatile boolean cancelled;
    private volatile long moved;
    private volatile Long toMove;
    private volatile String failureReason;

    private DeadLetterMover(SqsClient sqs, String from, String to, int rate, Clock clock) {
        this.sqs = Objects.requireNonNull(sqs, "sqs");
        this.from = Objects.requireNonNull(from, "from");
        this.to = Objects.requireNonNull(to, "to");
        this.rate = rate;
        this.startedAt = clock.instant();
        this.thread = new Thread(this::move, "ferry-dlq-mover");
        this.thread.setDaemon(true);
    }

    /** Starts moving everything in {@code from} to {@code to}. */
    static DeadLetterMover start(SqsClient sqs, String from, String to, Clock clock) {
        DeadLetterMover mover = new DeadLetterMover(sqs, from, to, DEFAULT_RATE, clock);
        mover.thread.start();
        return mover;
    }

    /**
     * Whether the backend said it has no message move tasks: an error code that says so, or (moto)
     * a 5xx that carries no AWS error at all. A real AWS failure carries its code, and is reported,
     * not worked around.
     */
    static boolean unsupported(SdkException e) {
        if (!(e instanceof AwsServiceException service)) {
            return false;
        }
        String code = service.awsErrorDetails() == null ? null : service.awsErrorDetails().errorCode();
        if (code != null && UNSUPPORTED_CODES.contains(code)) {
            return true;
        }
        return service.statusCode() >= 500 && (code == null || code.isBlank() || code.equals("Unknown"));
    }

    String handle() {
        return handle;
    }

    boolean running() {
        return "RUNNING".equals(status);
    }

    /** Asks it to stop after the batch under way; what was moved stays moved. */
    void cancel() {
        cancelled = true;
    }

    /** Its progress, in the fields of a message move task, so that the page shows both alike. */
    ObjectNode progress() {
        ObjectNode node = Json.MAPPER.createObjectNode()
                .put("status", status)
                .put("approximateNumberOfMessagesMoved", moved)
                .put("taskHandle", handle)
                .put("startedAt", startedAt.toString())
                .put("mover", "ferry (this backend has no SQS message move tasks)");
        if (toMove != null) {
            node.put("approximateNumberOfMessagesToMove", toMove);
        }
        if (failureReason != null) {
            node.put("failureReason", failureReason);
        }
        return node;
    }

    private void move() {
        try {
            toMove = Long.parseLong(sqs.getQueueAttributes(r -> r.queueUrl(from)
                    .attributeNames(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES)).attributes()
                    .getOrDefault(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES, "0"));
            long pace = 1_000L * 10 / Math.max(1, rate); // milliseconds per batch of ten
            int empty = 0;
            while (!cancelled && empty < 2) {
                long batchStarted = System.nanoTime();
                List<Message> batch = sqs.receiveMessage(r -> r.queueUrl(from).maxNumberOfMessages(10)
                        .waitTimeSeconds(1).visibilityTimeout((int) HIDE.toSeconds())
                        .messageAttributeNames("All")).messages();
                if (batch.isEmpty()) {
                    empty++;
                    continue;
                }
                empty = 0;
                moved += moveBatch(batch);
                long left = pace - Duration.ofNanos(System.nanoTime() - batchStarted).toMillis();
                if (left > 0) {
                    Thread.sleep(left);
                }
            }
            status = cancelled ? "CANCELLED" : "COMPLETED";
            LOG.info("dead-letter move {} {}: {} message(s) moved", handle, status, moved);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            status = "CANCELLED";
        } catch (SdkException e) {
            failureReason = AwsErrors.describe(e);
            status = "FAILED";
            LOG.warn("dead-letter move {} failed after {} message(s): {}", handle, moved, failureReason);
        }
    }

    /** Sends the batch's copies, then deletes from the DLQ exactly the ones the job queue took. */
    private int moveBatch(List<Message> batch) {
        Map<String, Message> byId = new HashMap<>();
        List<SendMessageBatchRequestEntry> entries = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
            Message message = batch.get(i);
            String id = Integer.toString(i);
            byId.put(id, message);
            entries.add(SendMessageBatchRequestEntry.builder().id(id).messageBody(message.body())
                    .messageAttributes(message.messageAttributes()).build());
        }
        SendMessageBatchResponse sent = sqs.sendMessageBatch(r -> r.queueUrl(to).entries(entries));
        if (sent.hasFailed() && !sent.failed().isEmpty()) {
            LOG.warn("dead-letter move {}: {} message(s) not taken by the job queue, left in the DLQ: {}", handle,
                    sent.failed().size(), sent.failed().stream().map(f -> f.code() + ": " + f.message())
                            .collect(Collectors.joining("; ")));
        }
        List<DeleteMessageBatchRequestEntry> deletes = sent.successful().stream()
                .map(ok -> DeleteMessageBatchRequestEntry.builder().id(ok.id())
                        .receiptHandle(byId.get(ok.id()).receiptHandle()).build())
                .toList();
        if (!deletes.isEmpty()) {
            try {
                sqs.deleteMessageBatch(r -> r.queueUrl(from).entries(deletes));
            } catch (SdkException e) {
                LOG.warn("dead-letter move {}: {} moved message(s) could not be deleted from the DLQ; a later redrive"
                        + " brings those copies back, and workers delete them unrun: {}", handle, deletes.size(),
                        AwsErrors.describe(e));
            }
        }
        return deletes.size();
    }
}
