package dev.ferry.bench;

import dev.ferry.core.AwsClients;
import dev.ferry.core.DynamoDbJobStore;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.JobMessage;
import dev.ferry.core.JobStore;
import dev.ferry.core.Lease;
import io.awspring.cloud.sqs.listener.SqsHeaders;
import io.awspring.cloud.sqs.listener.SqsMessageListenerContainer;
import io.awspring.cloud.sqs.listener.acknowledgement.handler.AcknowledgementMode;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.sqs.SqsAsyncClient;
import software.amazon.awssdk.services.sqs.model.Message;

/**
 * The peer: Spring Cloud AWS's SQS listener container, built programmatically (no Spring Boot, no
 * application context), one message at a time ({@code maxConcurrentMessages=1},
 * {@code maxMessagesPerPoll=1}), acknowledged (deleted) on success, its other settings Spring's
 * defaults (acknowledgements batched: every second or every 10 messages), a 1 s long poll like the
 * others. Its listener makes the same claim and fenced finish as Ferry's worker and the naive loop.
 */
final class SpringListener implements SlotConsumer {

    private static final Duration LEASE = Duration.ofSeconds(30);

    private final SqsAsyncClient sqs;
    private final DynamoDbClient dynamoDb;
    private final JobStore store;
    private final SqsMessageListenerContainer<Object> container;
    private final AtomicReference<RuntimeException> failure = new AtomicReference<>();

    SpringListener(FerryEnv env, String workerId, SleepingWork work) {
        this.sqs = SqsAsyncClient.builder()
                .region(Region.of(env.required(FerryEnv.AWS_REGION)))
                .endpointOverride(URI.create(env.required(FerryEnv.AWS_ENDPOINT_URL_SQS)))
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(
                        env.required(FerryEnv.AWS_ACCESS_KEY_ID), env.required(FerryEnv.AWS_SECRET_ACCESS_KEY))))
                .httpClientBuilder(NettyNioAsyncHttpClient.builder())
                .build();
        this.dynamoDb = AwsClients.dynamoDb(env);
        this.store = DynamoDbJobStore.fromEnvironment(dynamoDb, env);
        this.container = SqsMessageListenerContainer.builder()
                .id("bench-spring")
                .sqsAsyncClient(sqs)
                .queueNames(env.required(FerryEnv.QUEUE_URL))
                .configure(options -> options.maxConcurrentMessages(1).maxMessagesPerPoll(1)
                        .pollTimeout(Duration.ofSeconds(1))
                        .acknowledgementMode(AcknowledgementMode.ON_SUCCESS)
                        .listenerShutdownTimeout(Duration.ofSeconds(10))
                        .acknowledgementShutdownTimeout(Duration.ofSeconds(10)))
                .messageListener(message -> {
                    Message raw = message.getHeaders().get(SqsHeaders.SQS_SOURCE_DATA_HEADER, Message.class);
                    try {
                        handle(raw, workerId, work);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException("interrupted", e);
                    } catch (RuntimeException e) {
                        failure.compareAndSet(null, e);
                        throw e;
                    }
                })
                .build();
    }

    private void handle(Message message, String workerId, SleepingWork work) throws InterruptedException {
        JobMessage job = JobMessage.parse(message.body());
        Instant now = Instant.now();
        JobStore.ClaimResult claim = store.claim(job.jobId(), workerId, message.messageId(), now.plus(LEASE), now);
        if (claim instanceof JobStore.Claimed claimed) {
            Lease lease = claimed.job().lease().orElseThrow();
            String result = work.run();
            if (!store.complete(lease, JobStore.Completion.of(result), Instant.now())) {
                throw new IllegalStateException("spring listener: job " + job.jobId() + " lost its lease");
            }
        }
        // Returning acknowledges: Spring deletes the message (in its next batch).
    }

    @Override
    public void start() {
        container.start();
    }

    @Override
    public void close() {
        container.stop();
        sqs.close();
        dynamoDb.close();
        RuntimeException failed = failure.get();
        if (failed != null) {
            throw new IllegalStateException("the Spring listener failed: " + failed, failed);
        }
    }
}
