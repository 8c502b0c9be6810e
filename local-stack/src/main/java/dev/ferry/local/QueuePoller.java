package dev.ferry.local;

import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.Json;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;

/**
 * An SQS event source mapping, locally: long-polls the queue and invokes the function with each
 * batch of messages, as Lambda does: the messages as Lambda writes them, only those its filter
 * passes (the others are deleted, as Lambda deletes what a filter drops). What the function
 * settles is deleted; a message it reports as failed ({@code ReportBatchItemFailures}), or every
 * message of a batch when it throws, is left to reappear after the queue's visibility timeout,
 * and the queue's redrive policy moves it to its dead-letter queue in the end.
 */
final class QueuePoller implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(QueuePoller.class);
    /** A short long poll, so that closing the stack does not wait out a long one. */
    static final int WAIT_SECONDS = 1;

    private final SamTemplate.EventSource source;
    private final SqsClient sqs;
    private final String queueUrl;
    private final String queueArn;
    private final String region;
    private final LocalFunction function;
    private final EventFilter filter;
    private final Thread thread;
    private volatile boolean stopped;
    private boolean failing;

    QueuePoller(SamTemplate.EventSource source, SqsClient sqs, String queueUrl, String queueArn, String region,
                LocalFunction function) {
        this.source = Objects.requireNonNull(source, "source");
        this.sqs = Objects.requireNonNull(sqs, "sqs");
        this.queueUrl = Objects.requireNonNull(queueUrl, "queueUrl");
        this.queueArn = Objects.requireNonNull(queueArn, "queueArn");
        this.region = Objects.requireNonNull(region, "region");
        this.function = Objects.requireNonNull(function, "function");
        this.filter = EventFilter.of(source.filterPatterns(), source.name());
        this.thread = new Thread(this::run, "ferry-queue-" + source.name());
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    private void run() {
        while (!stopped) {
            List<Message> messages;
            try {
                messages = sqs.receiveMessage(r -> r.queueUrl(queueUrl).maxNumberOfMessages(source.batchSize())
                        .waitTimeSeconds(WAIT_SECONDS).messageSystemAttributeNamesWithStrings("All")
                        .messageAttributeNames("All")).messages();
            } catch (SdkException e) {
                if (stopped) {
                    return;
                }
                if (!failing) {
                    LOG.warn("{}: receiving failed, trying again every second: {}", source.name(), e.toString());
                }
                failing = true;
                pause();
                continue;
            }
            failing = false;
            if (messages.isEmpty()) {
                continue;
            }
            List<Message> passed = new ArrayList<>();
            List<JsonNode> records = new ArrayList<>();
            for (Message message : messages) {
                JsonNode record = lambdaRecord(message);
                if (filter.matches(record)) {
                    passed.add(message);
                    records.add(record);
                } else {
                    delete(message);
                }
            }
            if (!records.isEmpty()) {
                settle(passed, invoke(records));
            }
        }
    }

    /** The messages the function did not settle: all of them when it threw. */
    private List<String> invoke(List<JsonNode> records) {
        List<String> all = records.stream().map(r -> r.path("messageId").asText()).toList();
        try {
            Object answer = function.invokeWith(LambdaEvents.event(SQSEvent.class, records));
            return source.reportBatchItemFailures() ? LambdaEvents.batchItemFailures(answer) : List.of();
        } catch (RuntimeException e) {
            LOG.warn("{}: the function failed on a batch of {} message(s), which come back later: {}", source.name(),
                    records.size(), e.toString());
            return all;
        }
    }

    private void settle(List<Message> messages, List<String> failed) {
        for (Message message : messages) {
            if (!failed.contains(message.messageId())) {
                delete(message);
            }
        }
    }

    private void delete(Message message) {
        try {
            sqs.deleteMessage(r -> r.queueUrl(queueUrl).receiptHandle(message.receiptHandle()));
        } catch (software.amazon.awssdk.services.sqs.model.ReceiptHandleIsInvalidException e) {
            // The function deleted it already (a Lambda pool's does, as its run settles it); ElasticMQ then
            // forgets the handle.
            LOG.debug("{}: message {} was deleted already", source.name(), message.messageId());
        } catch (SdkException e) {
            LOG.warn("{}: could not delete message {}; it comes back: {}", source.name(), message.messageId(),
                    e.toString());
        }
    }

    /** The message as Lambda's event source mapping writes it. */
    private JsonNode lambdaRecord(Message message) {
        ObjectNode json = Json.MAPPER.createObjectNode()
                .put("messageId", message.messageId())
                .put("receiptHandle", message.receiptHandle())
                .put("body", message.body());
        ObjectNode attributes = json.putObject("attributes");
        message.attributes().forEach((name, value) -> attributes.put(attribute(name), value));
        // As Lambda writes them: each attribute's value and type (a copy given back names its lease here).
        ObjectNode messageAttributes = json.putObject("messageAttributes");
        message.messageAttributes().forEach((name, value) -> {
            ObjectNode attribute = messageAttributes.putObject(name);
            if (value.stringValue() != null) {
                attribute.put("stringValue", value.stringValue());
            }
            if (value.binaryValue() != null) {
                attribute.put("binaryValue", java.util.Base64.getEncoder().encodeToString(value.binaryValue()
                        .asByteArray()));
            }
            attribute.putArray("stringListValues");
            attribute.putArray("binaryListValues");
            attribute.put("dataType", value.dataType());
        });
        json.put("md5OfBody", message.md5OfBody())
                .put("eventSource", "aws:sqs")
                .put("eventSourceARN", queueArn)
                .put("awsRegion", region);
        return json;
    }

    private static String attribute(MessageSystemAttributeName name) {
        return name.toString();
    }

    private void pause() {
        try {
            Thread.sleep(1_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopped = true;
        }
    }

    @Override
    public void close() {
        stopped = true;
        thread.interrupt();
        try {
            thread.join(Duration.ofSeconds(15).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
