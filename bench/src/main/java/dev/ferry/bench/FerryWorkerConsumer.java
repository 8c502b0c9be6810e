package dev.ferry.bench;

import dev.ferry.core.AwsClients;
import dev.ferry.core.DynamoDbJobStore;
import dev.ferry.core.FerryEnv;
import dev.ferry.worker.GpuSlot;
import dev.ferry.worker.JobHandler;
import dev.ferry.worker.QueueSettings;
import dev.ferry.worker.Worker;
import dev.ferry.worker.WorkerConfig;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * Ferry's own worker ({@link Worker}, through its public constructor) with the given handler and
 * slots, its clients and configuration made as {@link Worker#fromEnvironment} makes them. Whatever
 * the worker does around a job (claim, heartbeat, finish, delete, look-ahead) is what is measured:
 * a change to the worker changes the figures with no change here.
 */
final class FerryWorkerConsumer implements SlotConsumer {

    private final SqsClient sqs;
    private final DynamoDbClient dynamoDb;
    private final Worker worker;

    FerryWorkerConsumer(FerryEnv env, JobHandler handler, int slots) {
        WorkerConfig config = WorkerConfig.from(env);
        this.sqs = AwsClients.sqs(env);
        this.dynamoDb = AwsClients.dynamoDb(env);
        List<GpuSlot> gpuSlots = new ArrayList<>();
        for (int i = 0; i < slots; i++) {
            gpuSlots.add(new GpuSlot(i, Integer.toString(i)));
        }
        this.worker = new Worker(sqs, DynamoDbJobStore.fromEnvironment(dynamoDb, env), handler, gpuSlots, config,
                QueueSettings.read(sqs, config.queueUrl()), Clock.systemUTC());
    }

    @Override
    public void start() {
        worker.start();
    }

    @Override
    public void close() {
        try {
            worker.close();
        } finally {
            sqs.close();
            dynamoDb.close();
        }
    }
}
