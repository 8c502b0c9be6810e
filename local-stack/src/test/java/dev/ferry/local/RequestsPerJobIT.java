package dev.ferry.local;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.AwsClients;
import dev.ferry.core.DynamoDbJobStore;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.JobStatus;
import dev.ferry.worker.GpuSlot;
import dev.ferry.worker.JobHandler;
import dev.ferry.worker.QueueSettings;
import dev.ferry.worker.Worker;
import dev.ferry.worker.WorkerConfig;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.client.builder.SdkClientBuilder;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.interceptor.SdkExecutionAttribute;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * Requests the worker makes per job, counted by an SDK interceptor on its own clients, for a
 * backlog on a 4-slot worker: each job costs one claim and one outcome write, and its share of a
 * receive and of a delete, never more than one of each.
 */
class RequestsPerJobIT {

    private static final int JOBS = 40;
    private static LocalStack stack;
    private static Api api;

    /** Counts each request (not each retry attempt: the interceptor sees executions) by operation. */
    static final class Counter implements ExecutionInterceptor {
        final Map<String, LongAdder> calls = new ConcurrentHashMap<>();

        @Override
        public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
            calls.computeIfAbsent(attributes.getAttribute(SdkExecutionAttribute.OPERATION_NAME), k -> new LongAdder())
                    .increment();
        }

        long count(String operation) {
            LongAdder adder = calls.get(operation);
            return adder == null ? 0 : adder.sum();
        }
    }

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0).build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    private static <B extends SdkClientBuilder<B, ?>> B counted(B builder, Counter counter) {
        return builder.overrideConfiguration(builder.overrideConfiguration().toBuilder()
                .addExecutionInterceptor(counter).build());
    }

    @Test
    void backlogOnFourSlots_costsOneClaimAndOneOutcomeWritePerJob_atMostOneReceive_andAShareOfADelete() {
        List<String> jobs = new ArrayList<>();
        for (int i = 0; i < JOBS; i++) {
            jobs.add(api.submit("{\"type\":\"sample\",\"input\":{\"output\":" + i + "}}").jobId());
        }
        Counter counter = new Counter();
        // Deletes linger as deployed (the local stack's own workers send them at once).
        FerryEnv env = FerryEnv.of(FaultTestSupport.workerEnv(stack, "counted", Map.of(WorkerConfig.HEARTBEAT, "1",
                WorkerConfig.LEASE, "5", WorkerConfig.DELETE_LINGER, "1")));
        SqsClient sqs = counted(AwsClients.configure(SqsClient.builder(), env, FerryEnv.AWS_ENDPOINT_URL_SQS), counter)
                .build();
        DynamoDbClient dynamoDb = counted(AwsClients.configure(DynamoDbClient.builder(), env,
                FerryEnv.AWS_ENDPOINT_URL_DYNAMODB), counter).build();
        JobHandler handler = execution -> {
            Thread.sleep(20);
            return "{\"ok\":true}";
        };
        List<GpuSlot> slots = List.of(new GpuSlot(0, "0"), new GpuSlot(1, "1"), new GpuSlot(2, "2"),
                new GpuSlot(3, "3"));
        Worker worker = new Worker(sqs, DynamoDbJobStore.fromEnvironment(dynamoDb, stack.environment()), handler,
                slots, WorkerConfig.from(env), QueueSettings.read(sqs, stack.queueUrl()), Clock.systemUTC());
        long receives;
        try {
            long before = counter.count("ReceiveMessage");
            worker.start();
            for (String id : jobs) {
                await().atMost(Duration.ofSeconds(60)).until(
                        () -> FaultTestSupport.job(stack, id).status() == JobStatus.SUCCEEDED);
            }
            receives = counter.count("ReceiveMessage") - before;
        } finally {
            worker.close(); // sends the deletes still lingering
        }
        Map<String, Long> counts = new TreeMap<>();
        counter.calls.forEach((op, n) -> counts.put(op, n.sum()));
        counts.put("ReceiveMessage", receives);
        await().atMost(Duration.ofSeconds(10)).until(() -> Queues.depth(stack.sqs(), stack.queueUrl()) == 0);
        long deletes = counts.getOrDefault("DeleteMessage", 0L) + counts.getOrDefault("DeleteMessageBatch", 0L);
        System.out.printf("requests per job on the worker (%d jobs, 4 slots, 20 ms each): %s%n"
                        + "  UpdateItem %.2f, ReceiveMessage %.2f (incl. empty polls until the last finished),"
                        + " delete requests %.2f (DeleteMessage %d, DeleteMessageBatch %d)%n", JOBS, counts,
                counts.getOrDefault("UpdateItem", 0L) / (double) JOBS,
                counts.getOrDefault("ReceiveMessage", 0L) / (double) JOBS, deletes / (double) JOBS,
                counts.getOrDefault("DeleteMessage", 0L), counts.getOrDefault("DeleteMessageBatch", 0L));
        assertEquals(2L * JOBS, counts.getOrDefault("UpdateItem", 0L), "a claim and an outcome per job, no more");
        assertTrue(deletes <= JOBS / 5, "lingering deletes share batches (ten a request at most): " + deletes);
        assertTrue(counts.getOrDefault("ReceiveMessage", 0L) <= JOBS + 10,
                "about one receive per job at most (batched where several slots are free): " + counts);
        assertEquals(0L, counts.getOrDefault("SendMessage", 0L), "no copies: every job succeeded first time");
    }
}
