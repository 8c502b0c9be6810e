package dev.ferry.local;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.AwsClients;
import dev.ferry.core.DynamoDbJobStore;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.Job;
import dev.ferry.core.JobStatus;
import dev.ferry.testkit.CompletionWitness;
import dev.ferry.testkit.HttpFaultProxy;
import dev.ferry.worker.GpuSlot;
import dev.ferry.worker.JobExecution;
import dev.ferry.worker.JobHandler;
import dev.ferry.worker.QueueSettings;
import dev.ferry.worker.Worker;
import dev.ferry.worker.WorkerConfig;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.streams.DynamoDbStreamsClient;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * SQS and DynamoDB cut off from the workers (a fault proxy in between resets every connection; the
 * emulators keep their data), together and one at a time, while jobs run: the workers back off
 * and go on; afterwards every job has succeeded, none is left RUNNING or in a queue, and the
 * table's change stream shows each completed exactly once.
 */
class OutageIT {

    private static final Duration WAIT = Duration.ofSeconds(90);
    private static final int JOBS = 30;

    private LocalStack stack;
    private HttpFaultProxy sqsProxy;
    private HttpFaultProxy dynamoDbProxy;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
        if (stack != null) {
            stack.close();
        }
    }

    /** A job that works 0.3-1.5 s and reports how many times it finished its work. */
    private static final class CountingHandler implements JobHandler {
        final Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();

        @Override
        public String run(JobExecution execution) throws InterruptedException {
            Thread.sleep(ThreadLocalRandom.current().nextLong(300, 1_500));
            int run = runs.computeIfAbsent(execution.jobId(), id -> new AtomicInteger()).incrementAndGet();
            return "{\"run\":" + run + "}";
        }
    }

    private Worker workerBehindProxies(String id, JobHandler handler) {
        Map<String, String> env = new HashMap<>(FaultTestSupport.workerEnv(stack, id, Map.of(
                FerryEnv.AWS_ENDPOINT_URL_SQS, sqsProxy.endpoint().toString(),
                FerryEnv.AWS_ENDPOINT_URL_DYNAMODB, dynamoDbProxy.endpoint().toString())));
        FerryEnv ferryEnv = FerryEnv.of(env);
        SqsClient sqs = AwsClients.sqs(ferryEnv);
        DynamoDbClient dynamoDb = AwsClients.dynamoDb(ferryEnv);
        toClose.add(sqs);
        toClose.add(dynamoDb);
        Worker worker = new Worker(sqs, DynamoDbJobStore.fromEnvironment(dynamoDb, stack.environment()), handler,
                List.of(new GpuSlot(0, "0"), new GpuSlot(1, "1")), WorkerConfig.from(ferryEnv),
                QueueSettings.read(sqs, stack.queueUrl()), Clock.systemUTC());
        toClose.add(worker);
        return worker;
    }

    @Test
    void sqsAndDynamoDbOutages_loseNothing_leaveNothingRunning_andCompleteEachJobOnce() throws Exception {
        Backends.assumePlainHttpEndpoints();
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0)
                .templateParameters(Map.of("MaxReceiveCount", "5")).build());
        Api api = new Api(stack.apiEndpoint());
        sqsProxy = HttpFaultProxy.start("sqs", URI.create(stack.environment().required(FerryEnv.AWS_ENDPOINT_URL_SQS)));
        dynamoDbProxy = HttpFaultProxy.start("dynamodb",
                URI.create(stack.environment().required(FerryEnv.AWS_ENDPOINT_URL_DYNAMODB)));
        toClose.add(sqsProxy);
        toClose.add(dynamoDbProxy);
        Backends.assumeDynamoDbStreams(stack);
        DynamoDbStreamsClient streams = Backends.streams(stack);
        toClose.add(streams);
        CompletionWitness witness = CompletionWitness.enable(stack.dynamoDb(), streams, stack.tableName());

        List<String> jobIds = new ArrayList<>();
        for (int i = 0; i < JOBS; i++) {
            jobIds.add(api.submit("{\"type\":\"gpu\",\"input\":{\"n\":" + i + "}}").jobId());
        }
        CountingHandler handler = new CountingHandler();
        workerBehindProxies("a", handler).start();
        workerBehindProxies("b", handler).start();
        DynamoDbJobStore table = DynamoDbJobStore.fromEnvironment(stack.dynamoDb(), stack.environment());
        await().atMost(WAIT).until(() -> jobIds.stream().anyMatch(id ->
                table.get(id).orElseThrow().status() == JobStatus.RUNNING));

        outage(sqsProxy, dynamoDbProxy);   // both, for longer than a lease
        outage(dynamoDbProxy);             // the table alone: leases cannot be renewed or results written
        outage(sqsProxy);                  // the queue alone: visibility cannot be extended, messages not deleted

        await().atMost(WAIT).pollInterval(Duration.ofMillis(500)).until(() -> jobIds.stream()
                .allMatch(id -> table.get(id).orElseThrow().status() == JobStatus.SUCCEEDED));
        await().atMost(WAIT).until(() -> Queues.depth(stack.sqs(), stack.queueUrl()) == 0);
        assertTrue(Queues.peekJobIds(stack.sqs(), stack.deadLetterQueueUrl()).isEmpty());
        assertTrue(sqsProxy.refused() + dynamoDbProxy.refused() > 0, "the outages did refuse connections");

        CompletionWitness.Completions completions = witness.read();
        for (String id : jobIds) {
            assertEquals(1, completions.perJob().getOrDefault(id, 0), "completions of " + id);
            Job job = table.get(id).orElseThrow();
            int accepted = Integer.parseInt(job.result().replaceAll("\\D", ""));
            assertTrue(accepted <= handler.runs.get(id).get(), job.toString());
        }
    }

    private static void outage(HttpFaultProxy... proxies) throws InterruptedException {
        for (HttpFaultProxy proxy : proxies) {
            proxy.cut();
        }
        Thread.sleep(3_000); // longer than a lease (2 s): an outage, not a blip
        for (HttpFaultProxy proxy : proxies) {
            proxy.restore();
        }
        Thread.sleep(1_500);
    }
}
