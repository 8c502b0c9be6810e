package dev.ferry.local;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.FerryEnv;
import dev.ferry.testkit.WorkerProcess;
import dev.ferry.worker.StackTarget;
import dev.ferry.worker.WorkerConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.cloudformation.CloudFormationClient;
import software.amazon.awssdk.services.cloudformation.model.AlreadyExistsException;
import software.amazon.awssdk.services.dynamodb.model.KeyType;
import software.amazon.awssdk.services.dynamodb.model.ScalarAttributeType;

/**
 * A worker on any machine: the real {@code WorkerMain}, as a process with nothing but AWS
 * credentials and where to find the stack, pointed at a stack by queue URL and table, or (where
 * the backend serves CloudFormation) by the stack's name. It refuses to start, with a message that
 * says why, when the queue or the table is not one Ferry can use.
 */
class WorkerAnywhereIT {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static LocalStack stack;
    private static Api api;
    private final List<WorkerProcess> processes = new ArrayList<>();
    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0).build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    @AfterEach
    void killWorkers() {
        processes.forEach(WorkerProcess::kill);
    }

    /** What a machine outside AWS gives the worker: credentials, region, endpoints; and the target. */
    private Map<String, String> machine(Map<String, String> target) {
        Map<String, String> env = new HashMap<>();
        System.getenv().forEach((name, value) -> {
            if (name.startsWith("AWS_") || name.equals("PATH") || name.equals("HOME")) {
                env.put(name, value);
            }
        });
        stack.environment().asMap().forEach((name, value) -> {
            if (name.startsWith("AWS_")) {
                env.put(name, value);
            }
        });
        env.put(WorkerConfig.SLOTS, "1");
        env.put(WorkerConfig.METADATA_DISABLED, "true");
        env.put(WorkerConfig.WAIT_SECONDS, "1");
        env.put(WorkerConfig.LEASE, "10");
        env.put("FERRY_COMMAND_ANYWHERE", "cat >/dev/null; echo '{\"ran\":\"anywhere\"}'");
        env.putAll(target);
        return env;
    }

    private WorkerProcess worker(String id, Map<String, String> target) {
        WorkerProcess process = WorkerProcess.start(id, machine(target), dir.resolve(id + ".log"));
        processes.add(process);
        return process;
    }

    @Test
    void aWorkerGivenTheQueueUrlAndTable_runsTheStacksJobs() {
        worker("by-url", Map.of(FerryEnv.QUEUE_URL, stack.queueUrl(), FerryEnv.TABLE, stack.tableName()));

        String jobId = api.submit("{\"type\":\"anywhere\",\"input\":{}}").jobId();

        JsonNode done = api.awaitStatus(jobId, "SUCCEEDED", WAIT);
        assertEquals("anywhere", done.get("result").get("ran").asText());
    }

    @Test
    void aQueueWithoutARedrivePolicy_isRefusedAtStart_sayingWhy() throws Exception {
        String plain = stack.sqs().createQueue(r -> r.queueName(stack.stackName() + "-plain")).queueUrl();
        try {
            WorkerProcess refused = worker("no-dlq", Map.of(FerryEnv.QUEUE_URL, plain, FerryEnv.TABLE,
                    stack.tableName()));

            assertEquals(2, refused.waitFor(WAIT));
            String log = Files.readString(refused.log());
            assertTrue(log.contains("has no RedrivePolicy"), log);
        } finally {
            stack.sqs().deleteQueue(r -> r.queueUrl(plain));
        }
    }

    @Test
    void aTableThatIsNotAJobTable_isRefusedAtStart_sayingWhy() throws Exception {
        String name = stack.stackName() + "-not-jobs";
        stack.dynamoDb().createTable(r -> r.tableName(name).billingMode("PAY_PER_REQUEST")
                .attributeDefinitions(a -> a.attributeName("id").attributeType(ScalarAttributeType.S))
                .keySchema(k -> k.attributeName("id").keyType(KeyType.HASH)));
        try {
            WorkerProcess refused = worker("wrong-table", Map.of(FerryEnv.QUEUE_URL, stack.queueUrl(),
                    FerryEnv.TABLE, name));

            assertEquals(2, refused.waitFor(WAIT));
            String log = Files.readString(refused.log());
            assertTrue(log.contains("is not a Ferry job table"), log);
        } finally {
            stack.dynamoDb().deleteTable(r -> r.tableName(name));
        }
    }

    @Test
    void aWorkerGivenOnlyTheStacksName_findsItsQueueAndTable() {
        assumeTrue(stack.backend() instanceof Backend.External,
                "the embedded backend has no CloudFormation to deploy a stack into (runs on moto, LocalStack, AWS)");
        String cfnStack = stack.stackName() + "-deployed";
        try (CloudFormationClient cloudFormation = dev.ferry.core.AwsClients.configure(CloudFormationClient.builder(),
                stack.environment(), StackTarget.CLOUDFORMATION_ENDPOINT).build()) {
            // A stand-in for a deployed Ferry stack: what the worker reads of it is its two outputs.
            String template = """
                    Resources:
                      Marker: {Type: AWS::SQS::Queue, Properties: {QueueName: %s-marker}}
                    Outputs:
                      JobQueueUrl: {Value: "%s"}
                      JobsTableName: {Value: "%s"}
                    """.formatted(cfnStack, stack.queueUrl(), stack.tableName());
            try {
                cloudFormation.createStack(r -> r.stackName(cfnStack).templateBody(template)
                        .clientRequestToken(cfnStack));
            } catch (AlreadyExistsException ownEarlierAttempt) {
                // The name is this run's own: an SDK retry after a lost response finds the stack its first
                // attempt made (moto ignores the request token that spares AWS this).
            }
            try {
                await().atMost(WAIT).until(() -> cloudFormation.describeStacks(r -> r.stackName(cfnStack)).stacks()
                        .get(0).stackStatusAsString().equals("CREATE_COMPLETE"));
                worker("by-name", Map.of(StackTarget.STACK, cfnStack));

                String jobId = api.submit("{\"type\":\"anywhere\",\"input\":{}}").jobId();

                api.awaitStatus(jobId, "SUCCEEDED", WAIT);
            } finally {
                cloudFormation.deleteStack(r -> r.stackName(cfnStack));
            }
        }
    }
}
