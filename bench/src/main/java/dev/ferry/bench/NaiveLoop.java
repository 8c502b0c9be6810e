package dev.ferry.bench;

import dev.ferry.core.AwsClients;
import dev.ferry.core.DynamoDbJobStore;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.JobMessage;
import dev.ferry.core.JobStore;
import dev.ferry.core.Lease;
import java.time.Duration;
import java.time.Instant;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.Message;

/**
 * The naive consumer: one thread that receives one message, claims its job (the same conditional
 * write as Ferry's, {@link DynamoDbJobStore#claim}), runs it, writes the same fenced finish
 * ({@link DynamoDbJobStore#complete}) and deletes the message, then receives the next: every step in
 * series, no heartbeat, no look-ahead.
 */
final class NaiveLoop implements SlotConsumer {

    private static final Duration LEASE = Duration.ofSeconds(30);

    private final SqsClient sqs;
    private final DynamoDbClient dynamoDb;
    private final JobStore store;
    private final String queueUrl;
    private final String workerId;
    private final SleepingWork work;
    private final Thread thread;
    private volatile boolean stopping;
    private volatile RuntimeException failure;

    NaiveLoop(FerryEnv env, String workerId, SleepingWork work) {
        this.sqs = AwsClients.sqs(env);
        this.dynamoDb = AwsClients.dynamoDb(env);
        this.store = DynamoDbJobStore.fromEnvironment(dynamoDb, env);
        this.queueUrl = env.required(FerryEnv.QUEUE_URL);
        this.workerId = workerId;
        this.work = work;
        this.thread = new Thread(this::loop, "bench-naive");
        this.thread.setDaemon(true);
    }

    @Override
    public void start() {
        thread.start();
    }

    private void loop() {
        try {
            while (!stopping) {
                for (Message message : sqs.receiveMessage(request -> request.queueUrl(queueUrl)
                        .maxNumberOfMessages(1).waitTimeSeconds(1)).messages()) {
                    handle(message);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            if (!stopping) {
                failure = e;
            }
        }
    }

    private void handle(Message message) throws InterruptedException {
        JobMessage job = JobMessage.parse(message.body());
        Instant now = Instant.now();
        JobStore.ClaimResult claim = store.claim(job.jobId(), workerId, message.messageId(), now.plus(LEASE), now);
        if (claim instanceof JobStore.Claimed claimed) {
            Lease lease = claimed.job().lease().orElseThrow();
            String result = work.run();
            if (!store.complete(lease, JobStore.Completion.of(result), Instant.now())) {
                throw new IllegalStateException("naive loop: job " + job.jobId() + " lost its lease");
            }
        }
        sqs.deleteMessage(request -> request.queueUrl(queueUrl).receiptHandle(message.receiptHandle()));
    }

    @Override
    public void close() {
        stopping = true;
        try {
            thread.join(Duration.ofSeconds(10).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        sqs.close();
        dynamoDb.close();
        if (failure != null) {
            throw new IllegalStateException("the naive loop failed: " + failure, failure);
        }
    }
}
