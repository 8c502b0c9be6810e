package dev.ferry.functions;

import dev.ferry.core.FerryEnv;
import java.time.Duration;
import java.util.Objects;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * The webhooks queue: each message is one delivery attempt to make ({@link WebhookMessage}). A
 * retry is a fresh message delayed by its back-off, never a sleeping function.
 */
final class WebhookQueue {

    /** The webhooks queue's URL. */
    static final String QUEUE_URL = WebhookSettings.QUEUE_URL;
    /** SQS delays a message 15 minutes at most. */
    static final Duration MAX_DELAY = Duration.ofSeconds(900);

    private final SqsClient sqs;
    private final String queueUrl;

    WebhookQueue(SqsClient sqs, String queueUrl) {
        this.sqs = Objects.requireNonNull(sqs, "sqs");
        this.queueUrl = Objects.requireNonNull(queueUrl, "queueUrl");
    }

    static WebhookQueue fromEnvironment(SqsClient sqs, FerryEnv env) {
        return new WebhookQueue(sqs, env.required(QUEUE_URL));
    }

    /** Sends the message, to be received no sooner than {@code delay} (at most {@link #MAX_DELAY}) from now. */
    void send(WebhookMessage message, Duration delay) {
        long seconds = Math.max(0, Math.min(MAX_DELAY.toSeconds(), (delay.toMillis() + 999) / 1000));
        sqs.sendMessage(r -> r.queueUrl(queueUrl).messageBody(message.toJson()).delaySeconds((int) seconds));
    }
}
