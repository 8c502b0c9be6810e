package dev.ferry.core;

import static dev.ferry.core.JobTable.ATTEMPTS;
import static dev.ferry.core.JobTable.ENQUEUED_AT;
import static dev.ferry.core.JobTable.ERROR;
import static dev.ferry.core.JobTable.FINISHED_AT;
import static dev.ferry.core.JobTable.JOB_ID;
import static dev.ferry.core.JobTable.LEASE_EXPIRES_AT;
import static dev.ferry.core.JobTable.LEASE_MESSAGE_ID;
import static dev.ferry.core.JobTable.LEASE_OWNER;
import static dev.ferry.core.JobTable.PREEMPTIONS;
import static dev.ferry.core.JobTable.REDRIVES;
import static dev.ferry.core.JobTable.RESULT;
import static dev.ferry.core.JobTable.STATUS;
import static dev.ferry.core.JobTable.UPDATED_AT;
import static dev.ferry.core.JobTable.VERSION;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import software.amazon.awssdk.enhanced.dynamodb.DynamoDbEnhancedClient;
import software.amazon.awssdk.enhanced.dynamodb.DynamoDbTable;
import software.amazon.awssdk.enhanced.dynamodb.Key;
import software.amazon.awssdk.enhanced.dynamodb.model.GetItemEnhancedRequest;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.PutItemRequest;
import software.amazon.awssdk.services.dynamodb.model.ReturnValue;
import software.amazon.awssdk.services.dynamodb.model.ReturnValuesOnConditionCheckFailure;
import software.amazon.awssdk.services.dynamodb.model.ScanRequest;
import software.amazon.awssdk.services.dynamodb.model.ScanResponse;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemRequest;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemResponse;

/**
 * {@link JobStore} on DynamoDB. Reads go through the enhanced client; writes are explicit
 * {@code PutItem}/{@code UpdateItem} calls so that each condition is written out once, here, and
 * can be checked word for word in tests.
 *
 * <p>Every {@code UpdateItem} is conditioned on {@code attribute_exists(jobId)}: an update must
 * never create a record out of a stray message.
 */
public final class DynamoDbJobStore implements JobStore {

    /** Create: only if no record has this id. */
    static final String CREATE_CONDITION = "attribute_not_exists(#jobId)";
    /** Claim: a queued job, or a running one whose lease ran out. */
    static final String CLAIM_CONDITION = "attribute_exists(#jobId) AND (#status = :queued"
            + " OR (#status = :running AND #leaseExpiresAt < :now))";
    static final String CLAIM_UPDATE = "SET #status = :running, #leaseOwner = :owner, #leaseExpiresAt = :leaseUntil,"
            + " #leaseMessageId = :messageId, #updatedAt = :nowIso, #version = #version + :one,"
            + " #attempts = #attempts + :one";
    /** Every write a worker makes under a lease: still running, still ours, still our token. */
    static final String FENCE_CONDITION = "attribute_exists(#jobId) AND #status = :running"
            + " AND #leaseOwner = :owner AND #version = :token";
    static final String RENEW_UPDATE = "SET #leaseExpiresAt = :leaseUntil";
    static final String FINISH_UPDATE = "SET #status = :to, #updatedAt = :nowIso, #version = #version + :one";
    static final String RELEASE_LEASE = " REMOVE #leaseOwner, #leaseExpiresAt, #leaseMessageId";
    static final String RELEASE_UPDATE = "SET #status = :to, #updatedAt = :nowIso, #version = #version + :one,"
            + " #preemptions = if_not_exists(#preemptions, :zero) + :one";
    /** Operator actions on a failed job: only while it is still FAILED. */
    static final String FAILED_CONDITION = "attribute_exists(#jobId) AND #status = :failed";
    static final String REQUEUE_UPDATE = "SET #status = :to, #updatedAt = :nowIso, #version = #version + :one,"
            + " #redrives = if_not_exists(#redrives, :zero) + :one REMOVE #finishedAt";
    static final String CANCEL_UPDATE = "SET #status = :to, #updatedAt = :nowIso, #finishedAt = :nowIso,"
            + " #version = #version + :one";
    /** What an overview reads: everything but the (large) input and result. */
    static final List<String> OVERVIEW_ATTRIBUTES = List.of(JOB_ID, JobTable.TYPE, STATUS, ATTEMPTS, PREEMPTIONS,
            REDRIVES, VERSION, LEASE_OWNER, LEASE_EXPIRES_AT, ERROR, JobTable.CREATED_AT, UPDATED_AT, ENQUEUED_AT,
            FINISHED_AT);
    static final String ENQUEUED_CONDITION = "attribute_exists(#jobId)";
    static final String ENQUEUED_UPDATE = "SET #enqueuedAt = if_not_exists(#enqueuedAt, :nowIso), #updatedAt = :nowIso";

    private final DynamoDbClient dynamoDb;
    private final String tableName;
    private final DynamoDbTable<Job> table;

    public DynamoDbJobStore(DynamoDbClient dynamoDb, String tableName) {
        this.dynamoDb = Objects.requireNonNull(dynamoDb, "dynamoDb");
        this.tableName = Objects.requireNonNull(tableName, "tableName");
        this.table = DynamoDbEnhancedClient.builder().dynamoDbClient(dynamoDb).build()
                .table(tableName, JobTable.SCHEMA);
    }

    public static DynamoDbJobStore fromEnvironment(DynamoDbClient dynamoDb, FerryEnv env) {
        return new DynamoDbJobStore(dynamoDb, env.required(FerryEnv.TABLE));
    }

    public String tableName() {
        return tableName;
    }

    @Override
    public CreateResult create(Job job) {
        PutItemRequest request = PutItemRequest.builder()
                .tableName(tableName)
                .item(JobTable.SCHEMA.itemToMap(job, true))
                .conditionExpression(CREATE_CONDITION)
                .expressionAttributeNames(Map.of("#jobId", JOB_ID))
                .returnValuesOnConditionCheckFailure(ReturnValuesOnConditionCheckFailure.ALL_OLD)
                .build();
        try {
            dynamoDb.putItem(request);
            return new Created(job);
        } catch (ConditionalCheckFailedException e) {
            return new AlreadyExists(JobTable.SCHEMA.mapToItem(e.item()));
        }
    }

    @Override
    public Optional<Job> get(String jobId) {
        return Optional.ofNullable(table.getItem(GetItemEnhancedRequest.builder()
                .key(Key.builder().partitionValue(jobId).build())
                .consistentRead(true)
                .build()));
    }

    @Override
    public void markEnqueued(String jobId, Instant now) {
        Update update = new Update(jobId, ENQUEUED_UPDATE, ENQUEUED_CONDITION)
                .name("#jobId", JOB_ID).name("#enqueuedAt", ENQUEUED_AT).name("#updatedAt", UPDATED_AT)
                .value(":nowIso", s(now.toString()));
        try {
            dynamoDb.updateItem(update.request(ReturnValue.NONE));
        } catch (ConditionalCheckFailedException e) {
            throw new IllegalStateException("job " + jobId + " vanished before its message was recorded as sent", e);
        }
    }

    @Override
    public ClaimResult claim(String jobId, String workerId, String messageId, Instant leaseUntil, Instant now) {
        Update update = new Update(jobId, CLAIM_UPDATE, CLAIM_CONDITION)
                .name("#jobId", JOB_ID).name("#status", STATUS).name("#leaseOwner", LEASE_OWNER)
                .name("#leaseExpiresAt", LEASE_EXPIRES_AT).name("#leaseMessageId", LEASE_MESSAGE_ID)
                .name("#updatedAt", UPDATED_AT).name("#version", VERSION).name("#attempts", ATTEMPTS)
                .value(":queued", s(JobStatus.QUEUED.name()))
                .value(":running", s(JobStatus.RUNNING.name()))
                .value(":now", n(now.toEpochMilli()))
                .value(":owner", s(workerId))
                .value(":leaseUntil", n(leaseUntil.toEpochMilli()))
                .value(":messageId", s(messageId))
                .value(":nowIso", s(now.toString()))
                .value(":one", n(1));
        try {
            UpdateItemResponse response = dynamoDb.updateItem(update.request(ReturnValue.ALL_NEW));
            return new Claimed(JobTable.SCHEMA.mapToItem(response.attributes()));
        } catch (ConditionalCheckFailedException e) {
            return e.hasItem() && !e.item().isEmpty()
                    ? new NotClaimable(JobTable.SCHEMA.mapToItem(e.item()))
                    : new Missing();
        }
    }

    @Override
    public boolean renewLease(Lease lease, Instant leaseUntil) {
        Update update = fenced(lease, RENEW_UPDATE)
                .name("#leaseExpiresAt", LEASE_EXPIRES_AT)
                .value(":leaseUntil", n(leaseUntil.toEpochMilli()));
        return apply(update);
    }

    @Override
    public boolean complete(Lease lease, String resultJson, Instant now) {
        Update update = fenced(lease, FINISH_UPDATE + ", #result = :result, #finishedAt = :nowIso"
                + RELEASE_LEASE + ", #error")
                .name("#updatedAt", UPDATED_AT).name("#result", RESULT).name("#finishedAt", FINISHED_AT)
                .name("#error", ERROR).name("#leaseExpiresAt", LEASE_EXPIRES_AT)
                .name("#leaseMessageId", LEASE_MESSAGE_ID)
                .value(":to", s(JobStatus.SUCCEEDED.name()))
                .value(":result", s(resultJson))
                .value(":nowIso", s(now.toString()))
                .value(":one", n(1));
        return apply(update);
    }

    @Override
    public boolean retryLater(Lease lease, String error, Instant now) {
        return finishWithError(lease, JobStatus.QUEUED, error, now, "");
    }

    @Override
    public boolean fail(Lease lease, String error, Instant now) {
        return finishWithError(lease, JobStatus.FAILED, error, now, ", #finishedAt = :nowIso");
    }

    @Override
    public boolean release(Lease lease, Instant now) {
        Update update = fenced(lease, RELEASE_UPDATE + RELEASE_LEASE)
                .name("#updatedAt", UPDATED_AT).name("#preemptions", PREEMPTIONS)
                .name("#leaseExpiresAt", LEASE_EXPIRES_AT).name("#leaseMessageId", LEASE_MESSAGE_ID)
                .value(":to", s(JobStatus.QUEUED.name()))
                .value(":nowIso", s(now.toString()))
                .value(":one", n(1))
                .value(":zero", n(0));
        return apply(update);
    }

    @Override
    public boolean requeueFailed(String jobId, Instant now) {
        return apply(new Update(jobId, REQUEUE_UPDATE, FAILED_CONDITION)
                .name("#jobId", JOB_ID).name("#status", STATUS).name("#updatedAt", UPDATED_AT)
                .name("#version", VERSION).name("#redrives", REDRIVES).name("#finishedAt", FINISHED_AT)
                .value(":failed", s(JobStatus.FAILED.name()))
                .value(":to", s(JobStatus.QUEUED.name()))
                .value(":nowIso", s(now.toString()))
                .value(":one", n(1))
                .value(":zero", n(0)));
    }

    @Override
    public boolean cancelFailed(String jobId, Instant now) {
        return apply(new Update(jobId, CANCEL_UPDATE, FAILED_CONDITION)
                .name("#jobId", JOB_ID).name("#status", STATUS).name("#updatedAt", UPDATED_AT)
                .name("#version", VERSION).name("#finishedAt", FINISHED_AT)
                .value(":failed", s(JobStatus.FAILED.name()))
                .value(":to", s(JobStatus.CANCELLED.name()))
                .value(":nowIso", s(now.toString()))
                .value(":one", n(1)));
    }

    @Override
    public ScanResult scan(int maxItems) {
        Map<String, String> names = new HashMap<>();
        List<String> placeholders = new ArrayList<>();
        for (String attribute : OVERVIEW_ATTRIBUTES) {
            names.put("#" + attribute, attribute);
            placeholders.add("#" + attribute);
        }
        List<Job> jobs = new ArrayList<>();
        Map<String, AttributeValue> startKey = null;
        do {
            ScanResponse page = dynamoDb.scan(ScanRequest.builder()
                    .tableName(tableName)
                    .projectionExpression(String.join(", ", placeholders))
                    .expressionAttributeNames(names)
                    .exclusiveStartKey(startKey)
                    .build());
            for (Map<String, AttributeValue> item : page.items()) {
                if (jobs.size() == maxItems) {
                    return new ScanResult(jobs, true);
                }
                jobs.add(JobTable.SCHEMA.mapToItem(item));
            }
            startKey = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null;
        } while (startKey != null);
        return new ScanResult(jobs, false);
    }

    private boolean finishWithError(Lease lease, JobStatus to, String error, Instant now, String extraSet) {
        Update update = fenced(lease, FINISH_UPDATE + ", #error = :error" + extraSet + RELEASE_LEASE)
                .name("#updatedAt", UPDATED_AT).name("#error", ERROR)
                .name("#leaseExpiresAt", LEASE_EXPIRES_AT).name("#leaseMessageId", LEASE_MESSAGE_ID)
                .value(":to", s(to.name()))
                .value(":error", s(error))
                .value(":nowIso", s(now.toString()))
                .value(":one", n(1));
        if (!extraSet.isEmpty()) {
            update.name("#finishedAt", FINISHED_AT);
        }
        return apply(update);
    }

    private Update fenced(Lease lease, String updateExpression) {
        return new Update(lease.jobId(), updateExpression, FENCE_CONDITION)
                .name("#jobId", JOB_ID).name("#status", STATUS).name("#leaseOwner", LEASE_OWNER)
                .name("#version", VERSION)
                .value(":running", s(JobStatus.RUNNING.name()))
                .value(":owner", s(lease.owner()))
                .value(":token", n(lease.token()));
    }

    /** True if the write happened, false if its condition did not hold. */
    private boolean apply(Update update) {
        try {
            dynamoDb.updateItem(update.request(ReturnValue.NONE));
            return true;
        } catch (ConditionalCheckFailedException e) {
            return false;
        }
    }

    private static AttributeValue s(String value) {
        return AttributeValue.fromS(value);
    }

    private static AttributeValue n(long value) {
        return AttributeValue.fromN(Long.toString(value));
    }

    /** One UpdateItem call being put together. */
    private final class Update {
        private final String jobId;
        private final String updateExpression;
        private final String conditionExpression;
        private final Map<String, String> names = new HashMap<>();
        private final Map<String, AttributeValue> values = new HashMap<>();

        Update(String jobId, String updateExpression, String conditionExpression) {
            this.jobId = jobId;
            this.updateExpression = updateExpression;
            this.conditionExpression = conditionExpression;
        }

        Update name(String placeholder, String attribute) {
            names.put(placeholder, attribute);
            return this;
        }

        Update value(String placeholder, AttributeValue value) {
            values.put(placeholder, value);
            return this;
        }

        UpdateItemRequest request(ReturnValue returnValue) {
            return UpdateItemRequest.builder()
                    .tableName(tableName)
                    .key(Map.of(JOB_ID, s(jobId)))
                    .updateExpression(updateExpression)
                    .conditionExpression(conditionExpression)
                    .expressionAttributeNames(names)
                    .expressionAttributeValues(values)
                    .returnValues(returnValue)
                    .returnValuesOnConditionCheckFailure(ReturnValuesOnConditionCheckFailure.ALL_OLD)
                    .build();
        }
    }
}
