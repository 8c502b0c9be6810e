package dev.ferry.functions;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import dev.ferry.core.AwsClients;
import dev.ferry.core.AwsErrors;
import dev.ferry.core.DynamoDbJobStore;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.JobFiles;
import dev.ferry.core.logging.LogContext;
import java.net.InetAddress;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;

/**
 * The webhooks queue → the receivers. Each message of the batch is one delivery attempt
 * ({@link WebhookDeliverer}), made side by side, so one slow receiver does not hold up the others'
 * deliveries past the request timeout. A message whose attempt could not be settled (the job could
 * not be read, the next attempt not queued) is reported as a batch item failure: SQS shows it
 * again, the others are deleted. A message that is not a delivery is logged and dropped.
 */
public final class DeliverWebhookHandler implements RequestHandler<SQSEvent, SQSBatchResponse> {

    private static final Logger LOG = LoggerFactory.getLogger(DeliverWebhookHandler.class);
    /** How long one delivery's request may take, connection included ({@value}; default 10 s). */
    static final String TIMEOUT = WebhookSettings.TIMEOUT;
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);

    private final WebhookDeliverer deliverer;
    private final ApiMetrics metrics;

    /** Lambda's constructor: configuration from the process environment. */
    public DeliverWebhookHandler() {
        this(System.getenv());
    }

    /** The local stack's constructor: configuration from the given environment. */
    public DeliverWebhookHandler(Map<String, String> environment) {
        this(create(FerryEnv.of(environment)), ApiMetrics.fromEnvironment(FerryEnv.of(environment)));
    }

    DeliverWebhookHandler(WebhookDeliverer deliverer) {
        this(deliverer, ApiMetrics.off());
    }

    DeliverWebhookHandler(WebhookDeliverer deliverer, ApiMetrics metrics) {
        this.deliverer = deliverer;
        this.metrics = metrics;
    }

    private static WebhookDeliverer create(FerryEnv env) {
        Duration timeout = env.duration(TIMEOUT, DEFAULT_TIMEOUT);
        if (timeout.isZero() || timeout.compareTo(Duration.ofSeconds(30)) > 0) {
            throw new IllegalStateException("environment variable " + TIMEOUT + " must be more than 0 and at most"
                    + " 30 seconds, but is " + timeout);
        }
        WebhookSecret secret = WebhookSecret.fromEnvironment(env, () -> SecretsManagerClient.builder()
                .httpClient(UrlConnectionHttpClient.create())
                .region(Region.of(env.required(FerryEnv.AWS_REGION)))
                .build());
        SSLContext tls;
        try {
            tls = SSLContext.getDefault();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no default TLS context", e);
        }
        WebhookSender sender = new WebhookSender(new WebhookHttp(tls, CONNECT_TIMEOUT), InetAddress::getAllByName,
                secret, WebhookUrlPolicy.fromEnvironment(env).allowPrivate(), timeout, Clock.systemUTC());
        var dynamoDb = AwsClients.dynamoDb(env);
        return new WebhookDeliverer(DynamoDbJobStore.fromEnvironment(dynamoDb, env), JobFiles.fromEnvironment(env),
                WebhookDeliveryStore.fromEnvironment(dynamoDb, env), sender,
                WebhookQueue.fromEnvironment(AwsClients.sqs(env), env), WebhookRetryPolicy.fromEnvironment(env),
                Clock.systemUTC(), WebhookDeliverer.secureRandom());
    }

    @Override
    public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
        RequestLog.start(context);
        List<SQSEvent.SQSMessage> messages = event.getRecords() == null ? List.of() : event.getRecords();
        List<SQSBatchResponse.BatchItemFailure> failures = new ArrayList<>();
        if (messages.isEmpty()) {
            return new SQSBatchResponse(failures);
        }
        ExecutorService attempts = Executors.newFixedThreadPool(messages.size(), runnable -> {
            Thread thread = new Thread(runnable, "ferry-webhook");
            thread.setDaemon(true);
            return thread;
        });
        try {
            List<Future<?>> running = new ArrayList<>();
            for (SQSEvent.SQSMessage message : messages) {
                running.add(attempts.submit(LogContext.wrap(() -> deliver(message))));
            }
            for (int i = 0; i < messages.size(); i++) {
                try {
                    running.get(i).get();
                } catch (ExecutionException e) {
                    LOG.warn("webhook message {} comes back later: {}", messages.get(i).getMessageId(),
                            e.getCause() instanceof SdkException sdk ? AwsErrors.describe(sdk) : e.getCause().toString());
                    failures.add(new SQSBatchResponse.BatchItemFailure(messages.get(i).getMessageId()));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    for (int j = i; j < messages.size(); j++) {
                        failures.add(new SQSBatchResponse.BatchItemFailure(messages.get(j).getMessageId()));
                    }
                    break;
                }
            }
        } finally {
            attempts.shutdownNow();
        }
        return new SQSBatchResponse(failures);
    }

    private void deliver(SQSEvent.SQSMessage message) {
        WebhookMessage delivery;
        try {
            delivery = WebhookMessage.parse(message.getBody());
        } catch (IllegalArgumentException e) {
            LOG.error("dropping webhook message {}: not a delivery: {}", message.getMessageId(), e.getMessage());
            return;
        }
        LogContext.job(delivery.jobId(), null);
        metrics.webhookDelivery(deliverer.deliver(delivery).name().toLowerCase(java.util.Locale.ROOT).replace('_', ' '));
    }
}
