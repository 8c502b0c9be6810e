package dev.ferry.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.DeleteItemRequest;
import software.amazon.awssdk.services.dynamodb.model.GetItemRequest;
import software.amazon.awssdk.services.dynamodb.model.GetItemResponse;
import software.amazon.awssdk.services.dynamodb.model.PutItemRequest;
import software.amazon.awssdk.services.dynamodb.model.ReturnValue;
import software.amazon.awssdk.services.dynamodb.model.ReturnValuesOnConditionCheckFailure;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemRequest;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemResponse;

/**
 * The exact requests the store sends (the conditions are the exactly-once guarantee), and how it
 * reads the record a failed condition returns: a write whose response was lost, retried by the
 * SDK, must be recognised as applied.
 */
class DynamoDbJobStoreTest {

    private static final Instant NOW = Instant.parse("2026-11-22T10:00:00Z");
    private static final Duration RETENTION = Duration.ofDays(30);
    private static final String FENCE = "attribute_exists(#jobId) AND #status = :running AND #leaseOwner = :owner"
            + " AND #version = :token";
    /** Every outcome but CANCELLED, and the renewal: no client asked to cancel. */
    private static final String OUTCOME_FENCE = FENCE + " AND attribute_not_exists(#cancelRequestedAt)";
    private final RecordingDynamoDb dynamoDb = new RecordingDynamoDb();
    private final DynamoDbJobStore store = new DynamoDbJobStore(dynamoDb, "jobs", RETENTION,
            Clock.fixed(NOW, ZoneOffset.UTC));

    private static Job pending() {
        return Job.builder().jobId("01JOB").type("render").input("{\"steps\":30}").requestHash("h")
                .status(JobStatus.PENDING).attempts(0).version(0L).createdAt(NOW).updatedAt(NOW)
                .sendingUntil(NOW.plusSeconds(30).toEpochMilli())
                .expiresAt(NOW.plus(DynamoDbJobStore.PENDING_RETENTION).getEpochSecond()).build();
    }

    private static Job running(String owner, long version, String leaseId) {
        return pending().toBuilder().status(JobStatus.RUNNING).version(version).attempts(1).leaseOwner(owner)
                .leaseId(leaseId).leaseExpiresAt(NOW.toEpochMilli() + 60_000).sendingUntil(null).expiresAt(null).build();
    }

    private static ConditionalCheckFailedException conditionFailed(Job found) {
        return conditionFailed(JobTable.SCHEMA.itemToMap(found, true));
    }

    private static ConditionalCheckFailedException conditionFailed(Map<String, AttributeValue> item) {
        return (ConditionalCheckFailedException) ConditionalCheckFailedException.builder()
                .message("The conditional request failed").item(item).build();
    }

    private void updatesFailOn(Job found) {
        dynamoDb.onUpdate = r -> {
            throw conditionFailed(found);
        };
    }

    // ---------------------------------------------------------------------------------------------
    // Submit

    @Test
    void create_putsOnlyIfNoLiveRecordHasTheId() {
        JobStore.CreateResult result = store.create(pending());

        PutItemRequest put = dynamoDb.last(PutItemRequest.class);
        assertEquals("jobs", put.tableName());
        assertEquals("attribute_not_exists(#jobId) OR #expiresAt < :nowSeconds", put.conditionExpression());
        assertEquals(String.valueOf(NOW.getEpochSecond()), put.expressionAttributeValues().get(":nowSeconds").n());
        assertEquals(ReturnValuesOnConditionCheckFailure.ALL_OLD, put.returnValuesOnConditionCheckFailure());
        assertEquals("PENDING", put.item().get("status").s());
        assertEquals("0", put.item().get("version").n());
        assertInstanceOf(JobStore.Created.class, result);
    }

    @Test
    void create_whenIdTaken_returnsTheRecordFound() {
        Job existing = running("w1", 3L, "lease-1");
        dynamoDb.onPut = r -> {
            throw conditionFailed(existing);
        };

        JobStore.CreateResult result = store.create(pending());

        JobStore.AlreadyExists found = assertInstanceOf(JobStore.AlreadyExists.class, result);
        assertEquals(JobStatus.RUNNING, found.job().status());
        assertEquals(3L, found.job().version());
    }

    @Test
    void create_whoseResponseWasLost_recognisesItsOwnRecord() {
        // The first try was applied; the SDK's retry finds exactly the record this call wrote.
        dynamoDb.onPut = r -> {
            throw conditionFailed(r.item());
        };

        JobStore.CreateResult result = store.create(pending());

        assertEquals(pending(), assertInstanceOf(JobStore.Created.class, result).job());
    }

    @Test
    void markQueued_turnsPendingIntoQueued_andDropsTheTtl() {
        Job queued = pending().toBuilder().status(JobStatus.QUEUED).expiresAt(null).sendingUntil(null).build();
        dynamoDb.onUpdate = r -> UpdateItemResponse.builder().attributes(JobTable.SCHEMA.itemToMap(queued, true)).build();

        Optional<Job> result = store.markQueued("01JOB", NOW);

        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertEquals("attribute_exists(#jobId) AND #status = :pending", update.conditionExpression());
        assertEquals("SET #status = :queued, #enqueuedAt = :nowIso, #updatedAt = :nowIso"
                + " REMOVE #expiresAt, #sendingUntil", update.updateExpression());
        assertEquals(JobStatus.QUEUED, result.orElseThrow().status());
    }

    @Test
    void markQueued_whenAlreadyMarkedOrClaimed_returnsTheRecordAsItIs() {
        updatesFailOn(running("w1", 1L, "lease-1"));

        assertEquals(JobStatus.RUNNING, store.markQueued("01JOB", NOW).orElseThrow().status());
    }

    @Test
    void takeOverSending_onlyWhenTheHoldHasRunOut_andRecognisesItsOwnTakeOver() {
        Instant until = NOW.plusSeconds(30);
        assertTrue(store.takeOverSending("01JOB", until, NOW));
        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertEquals("attribute_exists(#jobId) AND #status = :pending"
                + " AND (attribute_not_exists(#sendingUntil) OR #sendingUntil < :nowMillis)", update.conditionExpression());
        assertEquals("SET #sendingUntil = :until", update.updateExpression());

        updatesFailOn(pending().toBuilder().sendingUntil(until.toEpochMilli()).build());
        assertTrue(store.takeOverSending("01JOB", until, NOW), "our own hold, written by a try whose response was lost");

        updatesFailOn(pending().toBuilder().sendingUntil(until.plusMillis(5).toEpochMilli()).build());
        assertFalse(store.takeOverSending("01JOB", until, NOW), "another replay holds it");
    }

    @Test
    void deleteUnsent_onlyAPendingRecordNeverClaimed() {
        assertEquals(Optional.empty(), store.deleteUnsent("01JOB"));
        DeleteItemRequest delete = dynamoDb.last(DeleteItemRequest.class);
        assertEquals("#status = :pending AND #attempts = :zero", delete.conditionExpression());

        dynamoDb.onDelete = r -> {
            throw conditionFailed(running("w1", 1L, "lease-1"));
        };
        assertEquals(JobStatus.RUNNING, store.deleteUnsent("01JOB").orElseThrow().status());

        dynamoDb.onDelete = r -> {
            throw conditionFailed(Map.of());
        };
        assertEquals(Optional.empty(), store.deleteUnsent("01JOB"), "gone already: an earlier try deleted it");
    }

    @Test
    void get_readsConsistently_andTreatsARecordPastItsTtlAsGone() {
        Job finished = pending().toBuilder().status(JobStatus.SUCCEEDED).expiresAt(NOW.getEpochSecond() + 10).build();
        dynamoDb.onGet = r -> GetItemResponse.builder().item(JobTable.SCHEMA.itemToMap(finished, true)).build();
        assertEquals(finished, store.get("01JOB").orElseThrow());
        assertTrue(dynamoDb.last(GetItemRequest.class).consistentRead());

        Job expired = finished.toBuilder().expiresAt(NOW.getEpochSecond() - 1).build();
        dynamoDb.onGet = r -> GetItemResponse.builder().item(JobTable.SCHEMA.itemToMap(expired, true)).build();
        assertEquals(Optional.empty(), store.get("01JOB"), "DynamoDB deletes up to days late; reads must not care");
    }

    // ---------------------------------------------------------------------------------------------
    // Claim

    @Test
    void claim_isOneConditionalUpdate_pendingQueuedOrRedriveRequested() {
        dynamoDb.onUpdate = r -> UpdateItemResponse.builder().attributes(JobTable.SCHEMA.itemToMap(
                running("w1", 1L, r.expressionAttributeValues().get(":leaseId").s()), true)).build();

        JobStore.ClaimResult result = store.claim("01JOB", "w1", "msg-1", NOW.plusSeconds(60), NOW);

        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertEquals(1, dynamoDb.requests.size());
        assertEquals(Map.of("jobId", AttributeValue.fromS("01JOB")), update.key());
        assertEquals("attribute_exists(#jobId) AND (#status IN (:pending, :queued)"
                + " OR (#status = :failed AND attribute_exists(#redriveRequestedAt)))", update.conditionExpression());
        assertEquals("SET #status = :running, #leaseOwner = :owner, #leaseExpiresAt = :leaseUntil,"
                + " #leaseMessageId = :messageId, #leaseId = :leaseId, #updatedAt = :nowIso, #claimedAt = :nowIso,"
                + " #version = #version + :one, #attempts = #attempts + :one"
                + " REMOVE #expiresAt, #sendingUntil, #redriveRequestedAt, #finishedAt,"
                + " #progress, #progressMessage, #progressAt", update.updateExpression());
        assertEquals("w1", update.expressionAttributeValues().get(":owner").s());
        assertEquals("msg-1", update.expressionAttributeValues().get(":messageId").s());
        assertEquals(ReturnValue.ALL_NEW, update.returnValues());
        assertEquals(ReturnValuesOnConditionCheckFailure.ALL_OLD, update.returnValuesOnConditionCheckFailure());
        JobStore.Claimed ok = assertInstanceOf(JobStore.Claimed.class, result);
        assertEquals(1L, ok.job().lease().orElseThrow().token());
    }

    @Test
    void claim_eachTryHasItsOwnLeaseId() {
        store.claim("01JOB", "w1", "msg-1", NOW.plusSeconds(60), NOW);
        String first = dynamoDb.last(UpdateItemRequest.class).expressionAttributeValues().get(":leaseId").s();
        store.claim("01JOB", "w1", "msg-1", NOW.plusSeconds(60), NOW);
        String second = dynamoDb.last(UpdateItemRequest.class).expressionAttributeValues().get(":leaseId").s();

        assertNotEquals(first, second, "the same worker and message claiming twice must be told apart");
    }

    @Test
    void claim_whoseResponseWasLost_isRecognisedByItsLeaseId() {
        // Applied, response lost, the SDK's retry fails: the record carries this claim's own lease id.
        dynamoDb.onUpdate = r -> {
            throw conditionFailed(running("w1", 4L, r.expressionAttributeValues().get(":leaseId").s()));
        };

        JobStore.ClaimResult result = store.claim("01JOB", "w1", "msg-1", NOW.plusSeconds(60), NOW);

        assertEquals(4L, assertInstanceOf(JobStore.Claimed.class, result).job().version());
    }

    @Test
    void claim_ofAJobTheSameWorkerRunsUnderAnotherClaim_isNotClaimable() {
        // Same worker, same message (it came back while still running here): another JobRun's lease.
        updatesFailOn(running("w1", 4L, "an-earlier-claim"));

        assertInstanceOf(JobStore.NotClaimable.class, store.claim("01JOB", "w1", "msg-1", NOW.plusSeconds(60), NOW));
    }

    @Test
    void claim_whenConditionFails_reportsTheCurrentRecord_andWithoutOneIsMissing() {
        updatesFailOn(pending().toBuilder().status(JobStatus.SUCCEEDED).version(2L).build());
        JobStore.ClaimResult result = store.claim("01JOB", "w2", "msg-2", NOW.plusSeconds(60), NOW);
        assertEquals(JobStatus.SUCCEEDED, assertInstanceOf(JobStore.NotClaimable.class, result).current().status());

        dynamoDb.onUpdate = r -> {
            throw conditionFailed(Map.of());
        };
        assertInstanceOf(JobStore.Missing.class, store.claim("01NOPE", "w1", "m", NOW.plusSeconds(60), NOW));
    }

    @Test
    void claim_ofALeaseThatRanOut_takesItOverInAWriteOfItsOwn_recordingTheLostAttempt() {
        Job expired = running("w-gone", 6L, "lease-gone").toBuilder().attempts(2).claimedAt(NOW.minusSeconds(300))
                .leaseExpiresAt(NOW.toEpochMilli() - 1_000).build();
        dynamoDb.onUpdate = r -> {
            if (r.conditionExpression().contains(":expiredToken")) {
                return UpdateItemResponse.builder().attributes(JobTable.SCHEMA.itemToMap(
                        running("w1", 7L, r.expressionAttributeValues().get(":leaseId").s()), true)).build();
            }
            throw conditionFailed(expired);
        };

        JobStore.ClaimResult result = store.claim("01JOB", "w1", "msg-2", NOW.plusSeconds(60), NOW);

        assertEquals(7L, assertInstanceOf(JobStore.Claimed.class, result).job().version());
        UpdateItemRequest takeOver = dynamoDb.last(UpdateItemRequest.class);
        assertEquals(2, dynamoDb.requests.size());
        assertEquals("attribute_exists(#jobId) AND #status = :running AND #version = :expiredToken"
                + " AND #leaseExpiresAt < :now", takeOver.conditionExpression());
        assertEquals("6", takeOver.expressionAttributeValues().get(":expiredToken").n());
        assertEquals(String.valueOf(NOW.toEpochMilli()), takeOver.expressionAttributeValues().get(":now").n());
        assertEquals("SET #status = :running, #leaseOwner = :owner, #leaseExpiresAt = :leaseUntil,"
                + " #leaseMessageId = :messageId, #leaseId = :leaseId, #updatedAt = :nowIso, #claimedAt = :nowIso,"
                + " #version = #version + :one, #attempts = #attempts + :one,"
                + " #history = list_append(if_not_exists(#history, :noHistory), :entry)"
                + " REMOVE #expiresAt, #sendingUntil, #redriveRequestedAt, #finishedAt,"
                + " #progress, #progressMessage, #progressAt", takeOver.updateExpression());
        AttemptRecord lost = AttemptRecord.fromAttributeValue(
                takeOver.expressionAttributeValues().get(":entry").l().get(0));
        assertEquals(new AttemptRecord(2, "w-gone", AttemptRecord.UNKNOWN_SLOT, NOW.minusSeconds(300),
                NOW.minusSeconds(1), AttemptRecord.LEASE_LOST, lost.error(), null), lost);
        assertFalse(takeOver.expressionAttributeValues().get(":entry").l().get(0).m().containsKey("slot"),
                "no slot is better than a wrong one");
        assertEquals(takeOver.expressionAttributeValues().get(":leaseId"),
                dynamoDb.requests.stream().map(UpdateItemRequest.class::cast).findFirst().orElseThrow()
                        .expressionAttributeValues().get(":leaseId"), "one claim, one lease id");
    }

    @Test
    void claim_takeOverWhoseResponseWasLost_isRecognised_andAppendsNothingMore() {
        Job expired = running("w-gone", 6L, "lease-gone").toBuilder().leaseExpiresAt(NOW.toEpochMilli() - 1).build();
        java.util.concurrent.atomic.AtomicInteger takeOvers = new java.util.concurrent.atomic.AtomicInteger();
        dynamoDb.onUpdate = r -> {
            if (r.conditionExpression().contains(":expiredToken")) {
                takeOvers.incrementAndGet();
                // Applied, response lost: the SDK's retry finds this claim's own lease on the record.
                throw conditionFailed(running("w1", 7L, r.expressionAttributeValues().get(":leaseId").s()));
            }
            throw conditionFailed(expired);
        };

        JobStore.ClaimResult result = store.claim("01JOB", "w1", "msg-2", NOW.plusSeconds(60), NOW);

        assertEquals(7L, assertInstanceOf(JobStore.Claimed.class, result).job().version());
        assertEquals(1, takeOvers.get(), "recognised: not tried again");
    }

    @Test
    void claim_ofALeaseStillHeld_orATakeOverAnotherWorkerWon_isNotClaimable() {
        updatesFailOn(running("w2", 6L, "lease-live"));
        assertInstanceOf(JobStore.NotClaimable.class, store.claim("01JOB", "w1", "msg-2", NOW.plusSeconds(60), NOW));
        assertEquals(1, dynamoDb.requests.size(), "a live lease is not taken over");

        Job expired = running("w-gone", 6L, "lease-gone").toBuilder().leaseExpiresAt(NOW.toEpochMilli() - 1).build();
        Job theirs = running("w3", 7L, "lease-w3");
        dynamoDb.onUpdate = r -> {
            throw conditionFailed(r.conditionExpression().contains(":expiredToken") ? theirs : expired);
        };
        JobStore.ClaimResult result = store.claim("01JOB", "w1", "msg-2", NOW.plusSeconds(60), NOW);
        assertEquals("w3", assertInstanceOf(JobStore.NotClaimable.class, result).current().leaseOwner());
    }

    @Test
    void claim_ofALeaseThatRanOut_withAFullHistory_appendsNothing() {
        java.util.List<AttemptRecord> full = java.util.Collections.nCopies(AttemptRecord.MAX_ENTRIES,
                new AttemptRecord(1, "w", 0, NOW, NOW, AttemptRecord.GIVEN_BACK, null, null));
        Job expired = running("w-gone", 6L, "g").toBuilder().history(full).leaseExpiresAt(NOW.toEpochMilli() - 1).build();
        dynamoDb.onUpdate = r -> {
            if (r.conditionExpression().contains(":expiredToken")) {
                return UpdateItemResponse.builder().attributes(JobTable.SCHEMA.itemToMap(running("w1", 7L, "x"), true))
                        .build();
            }
            throw conditionFailed(expired);
        };
        store.claim("01JOB", "w1", "msg-2", NOW.plusSeconds(60), NOW);

        assertFalse(dynamoDb.last(UpdateItemRequest.class).updateExpression().contains("#history"));
    }

    @Test
    void claimGivenBack_takesOverOnlyThatLease_countingAPreemption() {
        store.claimGivenBack("01JOB", "lease-gone", "w2", "msg-copy", NOW.plusSeconds(60), NOW);

        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertEquals("attribute_exists(#jobId) AND #status = :running AND #leaseId = :givenBack",
                update.conditionExpression());
        assertEquals("lease-gone", update.expressionAttributeValues().get(":givenBack").s());
        assertTrue(update.updateExpression().contains("#attempts = #attempts + :one,"
                + " #preemptions = if_not_exists(#preemptions, :zero) + :one REMOVE"), update.updateExpression());
    }

    // ---------------------------------------------------------------------------------------------
    // Outcomes under a lease

    @Test
    void complete_isFencedByOwnerAndToken_andStartsTheTtl() {
        boolean written = store.complete(new Lease("01JOB", "w1", 7L, "lease-7"), JobStore.Completion.of("{\"ok\":true}"), NOW);

        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertTrue(written);
        assertEquals(OUTCOME_FENCE, update.conditionExpression());
        assertEquals("SET #status = :to, #updatedAt = :nowIso, #version = #version + :one, #finishedAt = :nowIso,"
                + " #expiresAt = :expiresAt, #result = :result"
                + " REMOVE #leaseOwner, #leaseExpiresAt, #leaseMessageId, #error, #resultKey, #files",
                update.updateExpression());
        assertEquals("7", update.expressionAttributeValues().get(":token").n());
        assertEquals("SUCCEEDED", update.expressionAttributeValues().get(":to").s());
        assertEquals(String.valueOf(NOW.plus(RETENTION).getEpochSecond()),
                update.expressionAttributeValues().get(":expiresAt").n());
    }

    @Test
    void complete_whoseResponseWasLost_isRecognised_butAnotherWorkersResultIsNot() {
        Lease lease = new Lease("01JOB", "w1", 7L, "lease-7");
        Job ours = pending().toBuilder().status(JobStatus.SUCCEEDED).version(8L).leaseId("lease-7").build();
        updatesFailOn(ours);
        assertTrue(store.complete(lease, JobStore.Completion.of("{}"), NOW));

        Job theirs = pending().toBuilder().status(JobStatus.SUCCEEDED).version(9L).leaseId("lease-8").build();
        updatesFailOn(theirs);
        assertFalse(store.complete(lease, JobStore.Completion.of("{}"), NOW));

        Job takenOver = running("w2", 8L, "lease-8");
        updatesFailOn(takenOver);
        assertFalse(store.complete(lease, JobStore.Completion.of("{}"), NOW));
    }

    @Test
    void everyOutcomeRecognisesItsOwnEarlierWrite_inItsOwnStatusOnly() {
        Lease lease = new Lease("01JOB", "w1", 2L, "lease-2");
        Job queuedByUs = pending().toBuilder().status(JobStatus.QUEUED).version(3L).leaseId("lease-2").build();
        Job failedByUs = queuedByUs.toBuilder().status(JobStatus.FAILED).build();

        updatesFailOn(queuedByUs);
        assertTrue(store.retryLater(lease, "exit 1", null, NOW));
        assertTrue(store.release(lease, null, NOW));
        assertTrue(store.unclaim(lease, NOW));
        assertFalse(store.fail(lease, "exit 1", null, NOW), "QUEUED is not what fail writes");

        updatesFailOn(failedByUs);
        assertTrue(store.fail(lease, "exit 1", null, NOW));
        assertTrue(store.failUnrun(lease, "out of attempts", NOW));
        assertFalse(store.retryLater(lease, "exit 1", null, NOW));
    }

    @Test
    void complete_withAResultByReference_filesAndAHistoryEntry() {
        AttemptRecord entry = new AttemptRecord(2, "w1", 0, NOW.minusSeconds(5), NOW, AttemptRecord.SUCCEEDED, null,
                "jobs/01JOB/2/log.txt");
        store.complete(new Lease("01JOB", "w1", 7L, "l"), new JobStore.Completion(null, "jobs/01JOB/2/result.json",
                "[{\"name\":\"a.png\"}]", entry), NOW);

        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertEquals("SET #status = :to, #updatedAt = :nowIso, #version = #version + :one, #finishedAt = :nowIso,"
                + " #expiresAt = :expiresAt, #resultKey = :resultKey, #files = :files,"
                + " #history = list_append(if_not_exists(#history, :noHistory), :entry)"
                + " REMOVE #leaseOwner, #leaseExpiresAt, #leaseMessageId, #error, #result", update.updateExpression());
        assertEquals("w1", update.expressionAttributeValues().get(":entry").l().get(0).m().get("worker").s());
        assertEquals(entry, AttemptRecord.fromAttributeValue(update.expressionAttributeValues().get(":entry").l().get(0)));
    }

    @Test
    void retryLater_returnsJobToQueuedWithError_fenced_withoutATtl() {
        store.retryLater(new Lease("01JOB", "w1", 2L, "l"), "exit 1: CUDA out of memory", null, NOW);

        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertEquals(OUTCOME_FENCE, update.conditionExpression());
        assertEquals("SET #status = :to, #updatedAt = :nowIso, #version = #version + :one, #error = :error"
                + " REMOVE #leaseOwner, #leaseExpiresAt, #leaseMessageId", update.updateExpression());
        assertEquals("QUEUED", update.expressionAttributeValues().get(":to").s());
    }

    @Test
    void retryLater_onAnotherPool_movesTheRecordsPool_inTheSameFencedWrite() {
        store.retryLater(new Lease("01JOB", "w1", 2L, "l"), "exit 1: CUDA out of memory", null, NOW, "Large");

        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertEquals(OUTCOME_FENCE, update.conditionExpression());
        assertEquals("SET #status = :to, #updatedAt = :nowIso, #version = #version + :one, #error = :error,"
                + " #pool = :pool REMOVE #leaseOwner, #leaseExpiresAt, #leaseMessageId", update.updateExpression());
        assertEquals("Large", update.expressionAttributeValues().get(":pool").s());
        assertEquals(JobTable.POOL, update.expressionAttributeNames().get("#pool"));
    }

    @Test
    void fail_marksFailedWithErrorFinishTimeAndTtl_fenced() {
        store.fail(new Lease("01JOB", "w1", 5L, "l"), "exit 3", null, NOW);

        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertEquals("SET #status = :to, #updatedAt = :nowIso, #version = #version + :one, #error = :error,"
                + " #finishedAt = :nowIso, #expiresAt = :expiresAt REMOVE #leaseOwner, #leaseExpiresAt, #leaseMessageId",
                update.updateExpression());
        assertEquals("FAILED", update.expressionAttributeValues().get(":to").s());
    }

    @Test
    void failUnrun_doesNotCountTheClaimThatFoundTheJobOutOfAttempts() {
        store.failUnrun(new Lease("01JOB", "w1", 5L, "l"), "out of attempts", NOW);

        assertTrue(dynamoDb.last(UpdateItemRequest.class).updateExpression().contains("#attempts = #attempts - :one"));
    }

    @Test
    void renewLease_onlyMovesTheExpiry_fenced_unlessACancelWasRequested() {
        assertEquals(JobStore.Renewal.RENEWED, store.renewLease(new Lease("01JOB", "w1", 4L, "l"), NOW.plusSeconds(90)));

        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertEquals("SET #leaseExpiresAt = :leaseUntil", update.updateExpression());
        assertEquals(OUTCOME_FENCE, update.conditionExpression());
        assertEquals(ReturnValue.NONE, update.returnValues());
        assertEquals(ReturnValuesOnConditionCheckFailure.ALL_OLD, update.returnValuesOnConditionCheckFailure());
    }

    @Test
    void renewLease_refused_tellsACancelRequestFromALostLease_byTheRecordItFound() {
        Lease lease = new Lease("01JOB", "w1", 4L, "l");
        updatesFailOn(running("w1", 4L, "l").toBuilder().cancelRequestedAt(NOW).build());
        assertEquals(JobStore.Renewal.CANCEL_REQUESTED, store.renewLease(lease, NOW.plusSeconds(90)));

        updatesFailOn(running("w2", 5L, "other").toBuilder().cancelRequestedAt(NOW).build());
        assertEquals(JobStore.Renewal.LOST, store.renewLease(lease, NOW.plusSeconds(90)),
                "a cancel requested of another worker's lease is no business of ours");
        updatesFailOn(running("w2", 5L, "other"));
        assertEquals(JobStore.Renewal.LOST, store.renewLease(lease, NOW.plusSeconds(90)));
        updatesFailOn(pending().toBuilder().status(JobStatus.CANCELLED).version(5L).build());
        assertEquals(JobStore.Renewal.LOST, store.renewLease(lease, NOW.plusSeconds(90)));
    }

    @Test
    void recordProgress_setsFractionMessageAndTime_fencedByTheLeaseOnly() {
        assertTrue(store.recordProgress(new Lease("01JOB", "w1", 4L, "l"), 0.4, "step 8 of 20", NOW));

        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertEquals(FENCE, update.conditionExpression(), "progress goes on while a cancelled job stops");
        assertEquals("SET #progress = :fraction, #progressAt = :at, #progressMessage = :message",
                update.updateExpression());
        assertEquals("0.4", update.expressionAttributeValues().get(":fraction").n());
        assertEquals("step 8 of 20", update.expressionAttributeValues().get(":message").s());
        assertEquals(NOW.toString(), update.expressionAttributeValues().get(":at").s());
        assertFalse(update.expressionAttributeNames().containsValue("updatedAt"), "progress is not a change of state");

        store.recordProgress(new Lease("01JOB", "w1", 4L, "l"), 1.0, null, NOW);
        assertEquals("SET #progress = :fraction, #progressAt = :at REMOVE #progressMessage",
                dynamoDb.last(UpdateItemRequest.class).updateExpression());

        updatesFailOn(running("w2", 5L, "other"));
        assertFalse(store.recordProgress(new Lease("01JOB", "w1", 4L, "l"), 0.5, null, NOW));
    }

    @Test
    void everyOutcomeButCancel_isRefusedOnceACancelWasRequested() {
        Lease lease = new Lease("01JOB", "w1", 4L, "l");
        updatesFailOn(running("w1", 4L, "l").toBuilder().cancelRequestedAt(NOW).build());

        assertFalse(store.complete(lease, JobStore.Completion.of("{}"), NOW));
        assertFalse(store.retryLater(lease, "exit 1", null, NOW));
        assertFalse(store.fail(lease, "exit 1", null, NOW));
        assertFalse(store.failUnrun(lease, "out of attempts", NOW));
        assertFalse(store.release(lease, null, NOW));
        for (var request : dynamoDb.requests) {
            assertEquals(OUTCOME_FENCE, ((UpdateItemRequest) request).conditionExpression());
        }
    }

    @Test
    void cancel_endsTheRunCancelled_fencedByTheLeaseOnly_keepingTheClientsReason() {
        AttemptRecord entry = new AttemptRecord(1, "w1", 0, NOW.minusSeconds(9), NOW, AttemptRecord.CANCELLED, null,
                null);
        assertTrue(store.cancel(new Lease("01JOB", "w1", 4L, "l"), "deadline 2026-11-22T10:00:00Z passed while it ran",
                entry, NOW));

        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertEquals(FENCE, update.conditionExpression());
        assertEquals("SET #status = :to, #updatedAt = :nowIso, #version = #version + :one,"
                + " #cancelReason = if_not_exists(#cancelReason, :reason), #finishedAt = :nowIso,"
                + " #expiresAt = :expiresAt, #history = list_append(if_not_exists(#history, :noHistory), :entry)"
                + " REMOVE #leaseOwner, #leaseExpiresAt, #leaseMessageId", update.updateExpression());
        assertEquals("CANCELLED", update.expressionAttributeValues().get(":to").s());
        assertEquals(String.valueOf(NOW.plus(RETENTION).getEpochSecond()),
                update.expressionAttributeValues().get(":expiresAt").n());
        assertEquals(AttemptRecord.CANCELLED, update.expressionAttributeValues().get(":entry").l().get(0).m()
                .get("outcome").s());
    }

    @Test
    void cancel_whoseResponseWasLost_isRecognised_butAnotherWorkersIsNot() {
        Lease lease = new Lease("01JOB", "w1", 4L, "lease-4");
        updatesFailOn(pending().toBuilder().status(JobStatus.CANCELLED).version(5L).leaseId("lease-4").build());
        assertTrue(store.cancel(lease, "cancelled by the client", null, NOW));
        assertTrue(store.cancelUnrun(lease, "cancelled by the client", NOW));

        updatesFailOn(pending().toBuilder().status(JobStatus.CANCELLED).version(6L).leaseId("lease-5").build());
        assertFalse(store.cancel(lease, "cancelled by the client", null, NOW));
        updatesFailOn(pending().toBuilder().status(JobStatus.SUCCEEDED).version(5L).leaseId("lease-4").build());
        assertFalse(store.cancel(lease, "cancelled by the client", null, NOW), "SUCCEEDED is not what cancel writes");
    }

    @Test
    void cancelUnrun_doesNotCountTheClaimThatFoundTheJobCancelledOrPastItsDeadline() {
        store.cancelUnrun(new Lease("01JOB", "w1", 5L, "l"), "deadline 2026-11-22T09:00:00Z passed before it started",
                NOW);

        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertEquals(FENCE, update.conditionExpression());
        assertEquals("SET #status = :to, #updatedAt = :nowIso, #version = #version + :one,"
                + " #cancelReason = if_not_exists(#cancelReason, :reason), #finishedAt = :nowIso,"
                + " #expiresAt = :expiresAt, #attempts = #attempts - :one"
                + " REMOVE #leaseOwner, #leaseExpiresAt, #leaseMessageId", update.updateExpression());
    }

    @Test
    void unclaim_givesAClaimMadeAheadBack_uncounted_fencedAndNotOverACancelRequest() {
        store.unclaim(new Lease("01JOB", "w1", 3L, "l"), NOW);

        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertEquals(OUTCOME_FENCE, update.conditionExpression());
        assertEquals("SET #status = :to, #updatedAt = :nowIso, #version = #version + :one, #attempts = #attempts - :one"
                + " REMOVE #leaseOwner, #leaseExpiresAt, #leaseMessageId, #claimedAt", update.updateExpression());
        assertEquals("QUEUED", update.expressionAttributeValues().get(":to").s());
    }

    @Test
    void release_givesTheJobBackWithoutAFailure_countingAPreemption_fenced() {
        store.release(new Lease("01JOB", "w1", 3L, "l"), null, NOW);

        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertEquals(OUTCOME_FENCE, update.conditionExpression());
        assertEquals("SET #status = :to, #updatedAt = :nowIso, #version = #version + :one,"
                + " #preemptions = if_not_exists(#preemptions, :zero) + :one"
                + " REMOVE #leaseOwner, #leaseExpiresAt, #leaseMessageId", update.updateExpression());
        assertFalse(update.expressionAttributeNames().containsValue("error"));
    }

    // ---------------------------------------------------------------------------------------------
    // Clients

    @Test
    void cancelWaiting_cancelsAPendingOrQueuedJobNotPastItsTtl_andStartsItsTtl() {
        Job cancelled = pending().toBuilder().status(JobStatus.CANCELLED).cancelReason("cancelled by the client").build();
        dynamoDb.onUpdate = r -> UpdateItemResponse.builder().attributes(JobTable.SCHEMA.itemToMap(cancelled, true))
                .build();

        assertEquals(Optional.of(cancelled), store.cancelWaiting("01JOB", "cancelled by the client", NOW));

        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertEquals("attribute_exists(#jobId) AND #status IN (:pending, :queued)"
                + " AND (attribute_not_exists(#expiresAt) OR #expiresAt >= :nowSeconds)", update.conditionExpression());
        assertEquals("SET #status = :cancelled, #cancelReason = :reason, #updatedAt = :nowIso, #finishedAt = :nowIso,"
                + " #expiresAt = :expiresAt, #version = #version + :one REMOVE #sendingUntil", update.updateExpression());
        assertEquals("cancelled by the client", update.expressionAttributeValues().get(":reason").s());
        assertEquals(String.valueOf(NOW.plus(RETENTION).getEpochSecond()),
                update.expressionAttributeValues().get(":expiresAt").n());
        assertEquals(ReturnValue.ALL_NEW, update.returnValues());
        assertEquals(ReturnValuesOnConditionCheckFailure.ALL_OLD, update.returnValuesOnConditionCheckFailure());
    }

    @Test
    void cancelWaiting_refused_returnsTheRecordAsFound_andNothingForNoneOrOnePastItsTtl() {
        // A retry of an applied cancel finds it CANCELLED: the same answer as the first try's.
        Job cancelled = pending().toBuilder().status(JobStatus.CANCELLED).expiresAt(NOW.plus(RETENTION).getEpochSecond())
                .build();
        updatesFailOn(cancelled);
        assertEquals(Optional.of(cancelled), store.cancelWaiting("01JOB", "cancelled by the client", NOW));
        Job running = running("w1", 3L, "l");
        updatesFailOn(running);
        assertEquals(Optional.of(running), store.cancelWaiting("01JOB", "cancelled by the client", NOW));

        updatesFailOn(pending().toBuilder().expiresAt(NOW.getEpochSecond() - 1).build());
        assertEquals(Optional.empty(), store.cancelWaiting("01JOB", "cancelled by the client", NOW));
        dynamoDb.onUpdate = r -> {
            throw conditionFailed(Map.of());
        };
        assertEquals(Optional.empty(), store.cancelWaiting("01NOPE", "cancelled by the client", NOW));
    }

    @Test
    void requestCancel_marksARunningJob_keepingAnEarlierRequestAsItWas() {
        Job requested = running("w1", 3L, "l").toBuilder().cancelRequestedAt(NOW).cancelReason("x").build();
        dynamoDb.onUpdate = r -> UpdateItemResponse.builder().attributes(JobTable.SCHEMA.itemToMap(requested, true))
                .build();

        assertEquals(Optional.of(requested), store.requestCancel("01JOB", "cancelled by the client", NOW));

        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertEquals("attribute_exists(#jobId) AND #status = :running", update.conditionExpression());
        assertEquals("SET #cancelRequestedAt = if_not_exists(#cancelRequestedAt, :nowIso),"
                + " #cancelReason = if_not_exists(#cancelReason, :reason)", update.updateExpression());
        assertFalse(update.expressionAttributeNames().containsValue("version"), "the worker's fence stays as it is");
        assertEquals(ReturnValue.ALL_NEW, update.returnValues());

        Job succeeded = pending().toBuilder().status(JobStatus.SUCCEEDED).build();
        updatesFailOn(succeeded);
        assertEquals(Optional.of(succeeded), store.requestCancel("01JOB", "cancelled by the client", NOW));
    }

    // ---------------------------------------------------------------------------------------------
    // Operators

    @Test
    void requestRedrive_keepsTheJobFailed_marksIt_andCountsARedriveOnce() {
        assertTrue(store.requestRedrive("01JOB", NOW));
        UpdateItemRequest update = dynamoDb.last(UpdateItemRequest.class);
        assertEquals("attribute_exists(#jobId) AND #status = :failed AND attribute_not_exists(#redriveRequestedAt)",
                update.conditionExpression());
        assertEquals("SET #redriveRequestedAt = :nowIso, #redrives = if_not_exists(#redrives, :zero) + :one,"
                + " #updatedAt = :nowIso", update.updateExpression());

        updatesFailOn(pending().toBuilder().status(JobStatus.FAILED).redriveRequestedAt(NOW).build());
        assertTrue(store.requestRedrive("01JOB", NOW), "asked already (or our own lost response): still asked");
        updatesFailOn(pending().toBuilder().status(JobStatus.SUCCEEDED).build());
        assertFalse(store.requestRedrive("01JOB", NOW));
    }

    @Test
    void cancelFailed_onlyAFailedJob_startsItsTtl_andTwiceIsNotAnError() {
        assertTrue(store.cancelFailed("01JOB", NOW));
        UpdateItemRequest cancel = dynamoDb.last(UpdateItemRequest.class);
        assertEquals("attribute_exists(#jobId) AND #status = :failed", cancel.conditionExpression());
        assertEquals("CANCELLED", cancel.expressionAttributeValues().get(":cancelled").s());

        updatesFailOn(pending().toBuilder().status(JobStatus.CANCELLED).build());
        assertTrue(store.cancelFailed("01JOB", NOW));
        updatesFailOn(pending().toBuilder().status(JobStatus.RUNNING).build());
        assertFalse(store.cancelFailed("01JOB", NOW));
    }
}
