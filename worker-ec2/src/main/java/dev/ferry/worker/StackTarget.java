package dev.ferry.worker;

import dev.ferry.core.AwsClients;
import dev.ferry.core.AwsErrors;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.JobTable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.cloudformation.CloudFormationClient;
import software.amazon.awssdk.services.cloudformation.model.Output;
import software.amazon.awssdk.services.cloudformation.model.Stack;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeDefinition;
import software.amazon.awssdk.services.dynamodb.model.KeySchemaElement;
import software.amazon.awssdk.services.dynamodb.model.KeyType;
import software.amazon.awssdk.services.dynamodb.model.ResourceNotFoundException;
import software.amazon.awssdk.services.dynamodb.model.ScalarAttributeType;
import software.amazon.awssdk.services.dynamodb.model.TableDescription;

/**
 * Which deployed stack a worker serves, for a worker that runs anywhere (an on-premises GPU box,
 * another cloud): by the stack's name ({@value #STACK}: its pool's {@code <Pool>JobQueueUrl} and
 * {@code <Pool>PriorityQueueUrl}, and {@code JobsTableName}, outputs read with CloudFormation's
 * {@code DescribeStacks}; the pool is {@code FERRY_POOL}, or the stack's only one), or by queue
 * URL and table ({@code FERRY_QUEUE_URL}, {@code FERRY_TABLE}) directly. And the check that the
 * table is one Ferry can use: a worker pointed at the wrong table stops before it takes a job.
 */
public final class StackTarget {

    private static final Logger LOG = LoggerFactory.getLogger(StackTarget.class);
    /** The name of a deployed Ferry stack, whose outputs name its queue and table. */
    public static final String STACK = "FERRY_STACK";
    /** The SDK's own name for a CloudFormation endpoint override. */
    public static final String CLOUDFORMATION_ENDPOINT = "AWS_ENDPOINT_URL_CLOUDFORMATION";
    /** A pool's queue is output {@code <Pool>JobQueueUrl}; a stack from before pools has plain {@code JobQueueUrl}. */
    static final String QUEUE_OUTPUT = "JobQueueUrl";
    static final String PRIORITY_QUEUE_OUTPUT = "PriorityQueueUrl";
    static final String TABLE_OUTPUT = "JobsTableName";
    /** Optional: a stack without it (an older template) gives its jobs no files. */
    static final String BUCKET_OUTPUT = "FilesBucketName";

    private StackTarget() {
    }

    /**
     * The environment with {@code FERRY_QUEUE_URL}, {@code FERRY_TABLE} and {@code FERRY_BUCKET}
     * filled in from {@value #STACK}'s outputs, where it is set and they are not; unchanged
     * otherwise.
     *
     * @throws IllegalStateException the stack does not exist, has no such outputs, or cannot be
     *     read; the message says which and what to do
     */
    public static Map<String, String> resolve(Map<String, String> environment) {
        FerryEnv env = FerryEnv.of(environment);
        Optional<String> stack = env.optional(STACK);
        if (stack.isEmpty() || (env.optional(FerryEnv.QUEUE_URL).isPresent() && env.optional(FerryEnv.TABLE).isPresent())) {
            return environment;
        }
        try (CloudFormationClient cloudFormation = AwsClients.configure(CloudFormationClient.builder(), env,
                CLOUDFORMATION_ENDPOINT).build()) {
            return resolve(environment, stack.get(), cloudFormation);
        }
    }

    static Map<String, String> resolve(Map<String, String> environment, String stackName,
                                       CloudFormationClient cloudFormation) {
        List<Stack> stacks;
        try {
            stacks = cloudFormation.describeStacks(r -> r.stackName(stackName)).stacks();
        } catch (SdkException e) {
            throw new IllegalStateException(STACK + "=" + stackName + ": cannot read the stack ("
                    + AwsErrors.describe(e) + "); check the name, the region (AWS_REGION) and the credentials, or set "
                    + FerryEnv.QUEUE_URL + " and " + FerryEnv.TABLE + " instead", e);
        }
        if (stacks.isEmpty()) {
            throw new IllegalStateException(STACK + "=" + stackName + ": no such stack in this account and region");
        }
        Map<String, String> outputs = new LinkedHashMap<>();
        for (Output output : stacks.get(0).outputs()) {
            outputs.put(output.outputKey(), output.outputValue());
        }
        Map<String, String> resolved = new LinkedHashMap<>(environment);
        FerryEnv env = FerryEnv.of(environment);
        String pool = env.optional(FerryEnv.POOL).orElse("");
        if (env.optional(FerryEnv.QUEUE_URL).isEmpty() && pool.isEmpty() && !outputs.containsKey(QUEUE_OUTPUT)) {
            // The stack's pools, by their queue outputs: a worker serves the only one, or must be told which.
            List<String> pools = outputs.keySet().stream().filter(key -> key.endsWith(QUEUE_OUTPUT))
                    .map(key -> key.substring(0, key.length() - QUEUE_OUTPUT.length())).toList();
            if (pools.size() > 1) {
                throw new IllegalStateException(STACK + "=" + stackName + ": the stack has pools " + pools
                        + "; set " + FerryEnv.POOL + " to the one this worker serves");
            }
            if (pools.size() == 1) {
                pool = pools.get(0);
                resolved.put(FerryEnv.POOL, pool);
            }
        }
        String queueOutput = pool + QUEUE_OUTPUT;
        String priority = outputs.get(pool + PRIORITY_QUEUE_OUTPUT);
        if (env.optional(FerryEnv.QUEUE_URL).isEmpty() && env.optional(WorkerConfig.PRIORITY_QUEUE_URL).isEmpty()
                && priority != null && !priority.isBlank()) {
            resolved.put(WorkerConfig.PRIORITY_QUEUE_URL, priority);
        }
        for (Map.Entry<String, String> wanted : List.of(Map.entry(FerryEnv.QUEUE_URL, queueOutput),
                Map.entry(FerryEnv.TABLE, TABLE_OUTPUT))) {
            if (FerryEnv.of(environment).optional(wanted.getKey()).isPresent()) {
                continue;
            }
            String value = outputs.get(wanted.getValue());
            if (value == null || value.isBlank()) {
                throw new IllegalStateException(STACK + "=" + stackName + ": the stack has no output "
                        + wanted.getValue() + " (outputs: " + outputs.keySet() + "); is it a Ferry stack?");
            }
            resolved.put(wanted.getKey(), value);
        }
        String bucket = outputs.get(BUCKET_OUTPUT);
        if (FerryEnv.of(environment).optional(FerryEnv.BUCKET).isEmpty() && bucket != null && !bucket.isBlank()) {
            resolved.put(FerryEnv.BUCKET, bucket);
        }
        LOG.info("serving stack {}{}: queue {}, table {}, files bucket {}", stackName,
                pool.isEmpty() ? "" : ", pool " + pool, resolved.get(FerryEnv.QUEUE_URL),
                resolved.get(FerryEnv.TABLE), resolved.getOrDefault(FerryEnv.BUCKET, "(none)"));
        return resolved;
    }

    /**
     * Checks that {@code table} is a Ferry job table: one hash key, {@value JobTable#JOB_ID}, a
     * string.
     *
     * @throws IllegalStateException it is not, or cannot be read; the message says what it found
     */
    public static void checkTable(DynamoDbClient dynamoDb, String table) {
        TableDescription description;
        try {
            description = dynamoDb.describeTable(r -> r.tableName(table)).table();
        } catch (ResourceNotFoundException e) {
            throw new IllegalStateException("table " + table + " does not exist; " + FerryEnv.TABLE + " (or "
                    + STACK + ") must name the stack's job table", e);
        } catch (SdkException e) {
            throw new IllegalStateException("cannot read table " + table + ": " + AwsErrors.describe(e), e);
        }
        List<KeySchemaElement> key = description.keySchema();
        Optional<ScalarAttributeType> keyType = description.attributeDefinitions().stream()
                .filter(a -> a.attributeName().equals(JobTable.JOB_ID)).map(AttributeDefinition::attributeType)
                .findFirst();
        if (key.size() != 1 || !key.get(0).attributeName().equals(JobTable.JOB_ID) || key.get(0).keyType() != KeyType.HASH
                || keyType.orElse(null) != ScalarAttributeType.S) {
            throw new IllegalStateException("table " + table + " is not a Ferry job table: its key is " + key
                    + " (" + description.attributeDefinitions() + "), but Ferry's is one hash key " + JobTable.JOB_ID
                    + " of type S; point " + FerryEnv.TABLE + " at the stack's JobsTable");
        }
    }
}
