package dev.ferry.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.GetItemRequest;
import software.amazon.awssdk.services.dynamodb.model.PutItemRequest;
import software.amazon.awssdk.services.dynamodb.model.ReturnValue;
import software.amazon.awssdk.services.dynamodb.model.ReturnValuesOnConditionCheckFailure;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemRequest;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemResponse;

/** The exact requests the store sends: the conditions are the exactly-once guarantee. */
class DynamoDbJobStoreTest {

    private static final Instant NOW = Instant.parse("2026-11-22T10:00:00Z");
    private final RecordingDynamoDb dynamoDb = new RecordingDynamoDb();
    private final DynamoDbJobStore store = new DynamoDbJobStore(dynamoDb, "jobs");

    private static Job queued() {
        return Job.builder().jobId("01JOB").type("render").input("{\"steps\":30}").requestHash("h")
                .status(JobStatus.QUEUED).attempts(0).version(0L).createdAt(NOW).updatedAt(NOW)
                .expiresAt(NOW.getEpochSecond() + 86_400).build();
    }

    private static ConditionalCheckFailedException conditionFailed(Map<String, AttributeValue> item) {
        return (ConditionalCheckFailedException) ConditionalCheckFailedException.builder()
                .message("The conditional request failed").item(item).build();
    }

    @Test
    void create_putsOnlyIfNoRecordHasTheId() {
        JobStore.CreateResult result = store.create(queued());

        PutItemRequest put = dynamoDb.last(PutItemRequest.class);
        assertEquals("jobs", put.tableName());
        assertEquals("attribute_not_exists(#jobId)", put.conditionExpression());
        assertEquals(Map.of("#jobId", "jobId"), put.expressionAttributeNames());
        assertEquals(ReturnValuesOnConditionCheckFailure.ALL_OLD, put.returnValuesOnConditionCheckFailure());
        assertEquals("QUEUED", put.item().get("status").s());
        assertEquals("0", put.item().get("version").n());
        assertEquals(String.valueOf(NOW.getEpochSecond() + 86_400), put.item().get("expiresAt").n());
        assertInstanceOf(JobStore.Created.class, result);
    }

    @Test
    void create_whenIdTaken_returnsTheRecordFound() {
        Job existing = queued().toBuilder().status(JobStatus.RUNNING).version(3L).build();
        dynamoDb.onPut = r -> {
            throw conditionFailed(JobTable.SCHEMA.itemToMap(existing, true));
        };

        JobStore.CreateResult result = store.create(queued());

        JobStore.AlreadyExists found = assertInstanceOf(JobStore.AlreadyExists.class, result);
        assertEquals(JobStatus.RUNNING, found.job().status());
        assertEquals(3L, found.job().version());
    }

    @Test
    void claim_isOneConditionalUpdate_queuedOrLeaseExpired() {
        Job claimed = queued().toBuilder().status(JobStatus.RUNNING).version(1L).attempts(1)
                .leaseOwner("w1").leaseExpiresAt(NOW.toEpochMilli() + 60_000).build();
        dynamoDb.onUpdate = r -> UpdateItemResponse.builder()
                .attributes(JobTable.SCHEMA.itemToMap(claimed, true)).build();

        JobStore.ClaimResult result = store.claim("01JOB", "w1", "msg-1", NOW.plusSeconds(60), NOW);

        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertEquals(Map.of("jobId", AttributeValue.fromS("01JOB")), update.key());
        assertEquals("attribute_exists(#jobId) AND (#status = :queued"
                + " OR (#status = :running AND #leaseExpiresAt < :now))", update.conditionExpression());
        assertEquals("SET #status = :running, #leaseOwner = :owner, #leaseExpiresAt = :leaseUntil,"
                + " #leaseMessageId = :messageId, #updatedAt = :nowIso, #version = #version + :one,"
                + " #attempts = #attempts + :one", update.updateExpression());
        assertEquals("QUEUED", update.expressionAttributeValues().get(":queued").s());
        assertEquals("RUNNING", update.expressionAttributeValues().get(":running").s());
        assertEquals(String.valueOf(NOW.toEpochMilli()), update.expressionAttributeValues().get(":now").n());
        assertEquals(String.valueOf(NOW.toEpochMilli() + 60_000),
                update.expressionAttributeValues().get(":leaseUntil").n());
        assertEquals("w1", update.expressionAttributeValues().get(":owner").s());
        assertEquals("msg-1", update.expressionAttributeValues().get(":messageId").s());
        assertEquals(ReturnValue.ALL_NEW, update.returnValues());
        assertEquals(ReturnValuesOnConditionCheckFailure.ALL_OLD, update.returnValuesOnConditionCheckFailure());
        JobStore.Claimed ok = assertInstanceOf(JobStore.Claimed.class, result);
        assertEquals(new Lease("01JOB", "w1", 1L), ok.job().lease().orElseThrow());
    }

    @Test
    void claim_whenConditionFails_reportsTheCurrentRecord() {
        Job done = queued().toBuilder().status(JobStatus.SUCCEEDED).version(2L).build();
        dynamoDb.onUpdate = r -> {
            throw conditionFailed(JobTable.SCHEMA.itemToMap(done, true));
        };

        JobStore.ClaimResult result = store.claim("01JOB", "w2", "msg-2", NOW.plusSeconds(60), NOW);

        assertEquals(JobStatus.SUCCEEDED, assertInstanceOf(JobStore.NotClaimable.class, result).current().status());
    }

    @Test
    void claim_whenNoRecord_isMissing() {
        dynamoDb.onUpdate = r -> {
            throw conditionFailed(Map.of());
        };

        assertInstanceOf(JobStore.Missing.class, store.claim("01NOPE", "w1", "m", NOW.plusSeconds(60), NOW));
    }

    @Test
    void complete_isFencedByOwnerAndToken() {
        boolean written = store.complete(new Lease("01JOB", "w1", 7L), "{\"ok\":true}", NOW);

        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertTrue(written);
        assertEquals("attribute_exists(#jobId) AND #status = :running AND #leaseOwner = :owner"
                + " AND #version = :token", update.conditionExpression());
        assertEquals("SET #status = :to, #updatedAt = :nowIso, #version = #version + :one, #result = :result,"
                + " #finishedAt = :nowIso REMOVE #leaseOwner, #leaseExpiresAt, #leaseMessageId, #error",
                update.updateExpression());
        assertEquals("7", update.expressionAttributeValues().get(":token").n());
        assertEquals("w1", update.expressionAttributeValues().get(":owner").s());
        assertEquals("SUCCEEDED", update.expressionAttributeValues().get(":to").s());
        assertEquals("{\"ok\":true}", update.expressionAttributeValues().get(":result").s());
    }

    @Test
    void complete_whenFenceFails_reportsLostLease() {
        dynamoDb.onUpdate = r -> {
            throw conditionFailed(Map.of());
        };

        assertFalse(store.complete(new Lease("01JOB", "zombie", 1L), "{}", NOW));
    }

    @Test
    void retryLater_returnsJobToQueuedWithError_fenced() {
        store.retryLater(new Lease("01JOB", "w1", 2L), "exit 1: CUDA out of memory", NOW);

        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertEquals("attribute_exists(#jobId) AND #status = :running AND #leaseOwner = :owner"
                + " AND #version = :token", update.conditionExpression());
        assertEquals("SET #status = :to, #updatedAt = :nowIso, #version = #version + :one, #error = :error"
                + " REMOVE #leaseOwner, #leaseExpiresAt, #leaseMessageId", update.updateExpression());
        assertEquals("QUEUED", update.expressionAttributeValues().get(":to").s());
        assertEquals("exit 1: CUDA out of memory", update.expressionAttributeValues().get(":error").s());
    }

    @Test
    void fail_marksFailedWithErrorAndFinishTime_fenced() {
        store.fail(new Lease("01JOB", "w1", 5L), "exit 3", NOW);

        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertEquals("SET #status = :to, #updatedAt = :nowIso, #version = #version + :one, #error = :error,"
                + " #finishedAt = :nowIso REMOVE #leaseOwner, #leaseExpiresAt, #leaseMessageId",
                update.updateExpression());
        assertEquals("FAILED", update.expressionAttributeValues().get(":to").s());
        assertEquals("finishedAt", update.expressionAttributeNames().get("#finishedAt"));
        assertEquals("5", update.expressionAttributeValues().get(":token").n());
    }

    @Test
    void renewLease_onlyMovesTheExpiry_fenced() {
        store.renewLease(new Lease("01JOB", "w1", 4L), NOW.plusSeconds(90));

        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertEquals("SET #leaseExpiresAt = :leaseUntil", update.updateExpression());
        assertEquals("attribute_exists(#jobId) AND #status = :running AND #leaseOwner = :owner"
                + " AND #version = :token", update.conditionExpression());
        assertEquals(String.valueOf(NOW.plusSeconds(90).toEpochMilli()),
                update.expressionAttributeValues().get(":leaseUntil").n());
    }

    @Test
    void markEnqueued_neverCreatesARecord() {
        store.markEnqueued("01JOB", NOW);

        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertEquals("attribute_exists(#jobId)", update.conditionExpression());
        assertEquals("SET #enqueuedAt = if_not_exists(#enqueuedAt, :nowIso), #updatedAt = :nowIso",
                update.updateExpression());
    }

    @Test
    void get_readsConsistently() {
        dynamoDb.onGet = r -> software.amazon.awssdk.services.dynamodb.model.GetItemResponse.builder()
                .item(JobTable.SCHEMA.itemToMap(queued(), true)).build();

        Job job = store.get("01JOB").orElseThrow();

        assertTrue(dynamoDb.last(GetItemRequest.class).consistentRead());
        assertEquals(queued(), job);
    }

    @Test
    void release_givesTheJobBackWithoutAFailure_countingAPreemption_fenced() {
        store.release(new Lease("01JOB", "w1", 3L), NOW);

        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertEquals("attribute_exists(#jobId) AND #status = :running AND #leaseOwner = :owner"
                + " AND #version = :token", update.conditionExpression());
        assertEquals("SET #status = :to, #updatedAt = :nowIso, #version = #version + :one,"
                + " #preemptions = if_not_exists(#preemptions, :zero) + :one"
                + " REMOVE #leaseOwner, #leaseExpiresAt, #leaseMessageId", update.updateExpression());
        assertEquals("QUEUED", update.expressionAttributeValues().get(":to").s());
        assertFalse(update.expressionAttributeNames().containsValue("error"));
    }

    @Test
    void requeueAndCancel_onlyTouchAJobThatIsStillFailed() {
        store.requeueFailed("01JOB", NOW);
        UpdateItemRequest requeue = dynamoDb.last(UpdateItemRequest.class);
        assertEquals("attribute_exists(#jobId) AND #status = :failed", requeue.conditionExpression());
        assertEquals("SET #status = :to, #updatedAt = :nowIso, #version = #version + :one,"
                + " #redrives = if_not_exists(#redrives, :zero) + :one REMOVE #finishedAt", requeue.updateExpression());
        assertEquals("QUEUED", requeue.expressionAttributeValues().get(":to").s());

        store.cancelFailed("01JOB", NOW);
        UpdateItemRequest cancel = dynamoDb.last(UpdateItemRequest.class);
        assertEquals("attribute_exists(#jobId) AND #status = :failed", cancel.conditionExpression());
        assertEquals("CANCELLED", cancel.expressionAttributeValues().get(":to").s());
    }
}
