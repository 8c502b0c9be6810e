package dev.ferry.core;

import static dev.ferry.core.JobTable.ATTEMPTS;
import static dev.ferry.core.JobTable.ENQUEUED_AT;
import static dev.ferry.core.JobTable.ERROR;
import static dev.ferry.core.JobTable.EXPIRES_AT;
import static dev.ferry.core.JobTable.FINISHED_AT;
import static dev.ferry.core.JobTable.JOB_ID;
import static dev.ferry.core.JobTable.LEASE_EXPIRES_AT;
import static dev.ferry.core.JobTable.LEASE_ID;
import static dev.ferry.core.JobTable.LEASE_MESSAGE_ID;
import static dev.ferry.core.JobTable.LEASE_OWNER;
import static dev.ferry.core.JobTable.PREEMPTIONS;
import static dev.ferry.core.JobTable.REDRIVES;
import static dev.ferry.core.JobTable.REDRIVE_REQUESTED_AT;
import static dev.ferry.core.JobTable.RESULT;
import static dev.ferry.core.JobTable.SENDING_UNTIL;
import static dev.ferry.core.JobTable.STATUS;
import static dev.ferry.core.JobTable.UPDATED_AT;
import static dev.ferry.core.JobTable.VERSION;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Predicate;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.DeleteItemRequest;
import software.amazon.awssdk.services.dynamodb.model.GetItemRequest;
import software.amazon.awssdk.services.dynamodb.model.PutItemRequest;
import software.amazon.awssdk.services.dynamodb.model.ReturnValue;
import software.amazon.awssdk.services.dynamodb.model.ReturnValuesOnConditionCheckFailure;
import software.amazon.awssdk.services.dynamodb.model.ScanRequest;
import software.amazon.awssdk.services.dynamodb.model.ScanResponse;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemRequest;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemResponse;

/**
 * {@link JobStore} on DynamoDB. Every write is an explicit {@code PutItem}/{@code UpdateItem}/
 * {@code DeleteItem} whose condition is written out once, here, so that it can be checked word
 * for word in tests; every one asks for the record as it was when its condition failed
 * ({@code ReturnValuesOnConditionCheckFailure=ALL_OLD}) and reads it to tell "someone else moved
 * the job on" from "my own earlier try was applied and its response lost".
 *
 * <p>Every {@code UpdateItem} is conditioned on the record existing: an update must never create
 * a record out of a stray message.
 */
public final class DynamoDbJobStore implements JobStore {

    /**
     * How long a PENDING record lives unclaimed: longer than SQS keeps any message (14 days at
     * most), so that a job whose message did go out is claimed (which removes the TTL) before it
     * could expire, while one whose message never went out does not stay forever.
     */
    public static final Duration PENDING_RETENTION = Duration.ofDays(15);

    /** Create: only if no live record has this id (one past its TTL is logically gone). */
    static final String CREATE_CONDITION = "attribute_not_exists(#jobId) OR #expiresAt < :nowSeconds";
    static final String MARK_QUEUED_CONDITION = "attribute_exists(#jobId) AND #status = :pending";
    static final String MARK_QUEUED_UPDATE = "SET #status = :queued, #enqueuedAt = :nowIso, #updatedAt = :nowIso"
            + " REMOVE #expiresAt, #sendingUntil";
    static final String TAKE_OVER_SENDING_CONDITION = "attribute_exists(#jobId) AND #status = :pending"
            + " AND (attribute_not_exists(#sendingUntil) OR #sendingUntil < :nowMillis)";
    static final String TAKE_OVER_SENDING_UPDATE = "SET #sendingUntil = :until";
    static final String DELETE_UNSENT_CONDITION = "#status = :pending AND #attempts = :zero";
    /**
     * Claim: a pending or queued job, or a failed one asked back. A running one whose lease ran out
     * is taken over by a write of its own ({@link #TAKE_OVER_CONDITION}), which records the attempt
     * that lost it.
     */
    static final String CLAIM_CONDITION = "attribute_exists(#jobId) AND (#status IN (:pending, :queued)"
            + " OR (#status = :failed AND attribute_exists(#redriveRequestedAt)))";
    static final String CLAIM_SET = "SET #status = :running, #leaseOwner = :owner, #leaseExpiresAt = :leaseUntil,"
            + " #leaseMessageId = :messageId, #leaseId = :leaseId, #updatedAt = :nowIso, #claimedAt = :nowIso,"
            + " #version = #version + :one, #attempts = #attempts + :one";
    static final String CLAIM_REMOVE = " REMOVE #expiresAt, #sendingUntil, #redriveRequestedAt, #finishedAt,"
            + " #progress, #progressMessage, #progressAt";
    static final String CLAIM_UPDATE = CLAIM_SET + CLAIM_REMOVE;
    /**
     * Take-over of a lease that ran out, pinned to the very lease seen expired (its token): two
     * workers that saw it so cannot both take it, and the history entry is that lease's.
     */
    static final String TAKE_OVER_CONDITION = "attribute_exists(#jobId) AND #status = :running"
            + " AND #version = :expiredToken AND #leaseExpiresAt < :now";
    /** Take-over of a lease its holder gave back without being able to release it. */
    static final String CLAIM_GIVEN_BACK_CONDITION = "attribute_exists(#jobId) AND #status = :running"
            + " AND #leaseId = :givenBack";
    static final String CLAIM_GIVEN_BACK_UPDATE = CLAIM_SET
            + ", #preemptions = if_not_exists(#preemptions, :zero) + :one" + CLAIM_REMOVE;
    /** Every write a worker makes under a lease: still running, still ours, still our token. */
    static final String FENCE_CONDITION = "attribute_exists(#jobId) AND #status = :running"
            + " AND #leaseOwner = :owner AND #version = :token";
    /**
     * What every write that ends a lease with anything but CANCELLED adds to the fence, and the
     * renewal too: no client asked to cancel the job. Once one did, the job can only end CANCELLED.
     */
    static final String NOT_CANCEL_REQUESTED = " AND attribute_not_exists(#cancelRequestedAt)";
    static final String RENEW_UPDATE = "SET #leaseExpiresAt = :leaseUntil";
    static final String PROGRESS_SET = "SET #progress = :fraction, #progressAt = :at";
    /** Written by every outcome: the new status, and the token moves on. The lease id stays (recognition). */
    static final String OUTCOME_SET = "SET #status = :to, #updatedAt = :nowIso, #version = #version + :one";
    static final String RELEASE_LEASE = " REMOVE #leaseOwner, #leaseExpiresAt, #leaseMessageId";
    /** Appends an attempt's entry to the history, where the write carries one. */
    static final String HISTORY_APPEND = ", #history = list_append(if_not_exists(#history, :noHistory), :entry)";
    static final String COMPLETE_UPDATE = OUTCOME_SET + ", #finishedAt = :nowIso, #expiresAt = :expiresAt";
    static final String FAIL_UNRUN_UPDATE = OUTCOME_SET + ", #error = :error, #finishedAt = :nowIso,"
            + " #expiresAt = :expiresAt, #attempts = #attempts - :one" + RELEASE_LEASE;
    /** A stopped job: the client's reason stays where it gave one. */
    static final String CANCEL_SET = OUTCOME_SET + ", #cancelReason = if_not_exists(#cancelReason, :reason),"
            + " #finishedAt = :nowIso, #expiresAt = :expiresAt";
    static final String CANCEL_UNRUN_UPDATE = CANCEL_SET + ", #attempts = #attempts - :one" + RELEASE_LEASE;
    /** A claim made ahead and given back unrun: not counted, and the job waits as it did before it. */
    static final String UNCLAIM_UPDATE = OUTCOME_SET + ", #attempts = #attempts - :one" + RELEASE_LEASE + ", #claimedAt";
    /** A client's cancel of a job no worker holds: only while it waits, and is not past its TTL. */
    static final String CANCEL_WAITING_CONDITION = "attribute_exists(#jobId) AND #status IN (:pending, :queued)"
            + " AND (attribute_not_exists(#expiresAt) OR #expiresAt >= :nowSeconds)";
    static final String CANCEL_WAITING_UPDATE = "SET #status = :cancelled, #cancelReason = :reason,"
            + " #updatedAt = :nowIso, #finishedAt = :nowIso, #expiresAt = :expiresAt, #version = #version + :one"
            + " REMOVE #sendingUntil";
    /** A client's cancel of a running job: the request, for its worker's next heartbeat to find. */
    static final String REQUEST_CANCEL_CONDITION = "attribute_exists(#jobId) AND #status = :running";
    static final String REQUEST_CANCEL_UPDATE = "SET #cancelRequestedAt = if_not_exists(#cancelRequestedAt, :nowIso),"
            + " #cancelReason = if_not_exists(#cancelReason, :reason)";
    /** Operator actions on a failed job: only while it is still FAILED. */
    static final String REQUEST_REDRIVE_CONDITION = "attribute_exists(#jobId) AND #status = :failed"
            + " AND attribute_not_exists(#redriveRequestedAt)";
    static final String REQUEST_REDRIVE_UPDATE = "SET #redriveRequestedAt = :nowIso,"
            + " #redrives = if_not_exists(#redrives, :zero) + :one, #updatedAt = :nowIso";
    static final String CANCEL_FAILED_CONDITION = "attribute_exists(#jobId) AND #status = :failed";
    static final String CANCEL_FAILED_UPDATE = "SET #status = :cancelled, #updatedAt = :nowIso, #finishedAt = :nowIso,"
            + " #expiresAt = :expiresAt, #version = #version + :one REMOVE #redriveRequestedAt";
    /** What an overview reads: everything but the (large) input and result. */
    static final List<String> OVERVIEW_ATTRIBUTES = List.of(JOB_ID, JobTable.TYPE, STATUS, ATTEMPTS, PREEMPTIONS,
            REDRIVES, VERSION, LEASE_OWNER, LEASE_EXPIRES_AT, ERROR, JobTable.CREATED_AT, UPDATED_AT, ENQUEUED_AT,
            FINISHED_AT, EXPIRES_AT, REDRIVE_REQUESTED_AT);

    private final DynamoDbClient dynamoDb;
    private final String tableName;
    private final Duration retention;
    private final Clock clock;

    /**
     * @param retention how long a finished job's record is kept (its TTL, from when it finished)
     */
    public DynamoDbJobStore(DynamoDbClient dynamoDb, String tableName, Duration retention) {
        this(dynamoDb, tableName, retention, Clock.systemUTC());
    }

    /** For tests: {@code clock} tells reads which records are past their TTL. */
    DynamoDbJobStore(DynamoDbClient dynamoDb, String tableName, Duration retention, Clock clock) {
        this.dynamoDb = Objects.requireNonNull(dynamoDb, "dynamoDb");
        this.tableName = Objects.requireNonNull(tableName, "tableName");
        this.retention = Objects.requireNonNull(retention, "retention");
        this.clock = Objects.requireNonNull(clock, "clock");
        if (retention.isZero() || retention.isNegative()) {
            throw new IllegalArgumentException("retention must be positive, got " + retention);
        }
    }

    /** {@code FERRY_TABLE} and {@code FERRY_RETENTION_DAYS}. */
    public static DynamoDbJobStore fromEnvironment(DynamoDbClient dynamoDb, FerryEnv env) {
        return new DynamoDbJobStore(dynamoDb, env.required(FerryEnv.TABLE), env.retention());
    }

    public String tableName() {
        return tableName;
    }

    // ---------------------------------------------------------------------------------------------
    // Submit

    @Override
    public CreateResult create(Job job) {
        Instant now = clock.instant();
        PutItemRequest request = PutItemRequest.builder()
                .tableName(tableName)
                .item(JobTable.SCHEMA.itemToMap(job, true))
                .conditionExpression(CREATE_CONDITION)
                .expressionAttributeNames(Map.of("#jobId", JOB_ID, "#expiresAt", EXPIRES_AT))
                .expressionAttributeValues(Map.of(":nowSeconds", n(now.getEpochSecond())))
                .returnValuesOnConditionCheckFailure(ReturnValuesOnConditionCheckFailure.ALL_OLD)
                .build();
        try {
            dynamoDb.putItem(request);
            return new Created(job);
        } catch (ConditionalCheckFailedException e) {
            Job found = JobTable.SCHEMA.mapToItem(e.item());
            // The record is exactly the one this call wrote: an earlier try was applied, its response lost.
            return found.equals(job) ? new Created(job) : new AlreadyExists(found);
        }
    }

    @Override
    public Optional<Job> get(String jobId) {
        Map<String, AttributeValue> item = dynamoDb.getItem(GetItemRequest.builder()
                .tableName(tableName)
                .key(Map.of(JOB_ID, s(jobId)))
                .consistentRead(true)
                .build()).item();
        if (item == null || item.isEmpty()) {
            return Optional.empty();
        }
        Job job = JobTable.SCHEMA.mapToItem(item);
        return job.expiredAt(clock.instant()) ? Optional.empty() : Optional.of(job);
    }

    @Override
    public Optional<Job> markQueued(String jobId, Instant now) {
        Update update = new Update(jobId, MARK_QUEUED_UPDATE, MARK_QUEUED_CONDITION)
                .name("#jobId", JOB_ID).name("#status", STATUS).name("#enqueuedAt", ENQUEUED_AT)
                .name("#updatedAt", UPDATED_AT).name("#expiresAt", EXPIRES_AT).name("#sendingUntil", SENDING_UNTIL)
                .value(":pending", s(JobStatus.PENDING.name()))
                .value(":queued", s(JobStatus.QUEUED.name()))
                .value(":nowIso", s(now.toString()));
        try {
            UpdateItemResponse response = dynamoDb.updateItem(update.request(ReturnValue.ALL_NEW));
            return Optional.of(JobTable.SCHEMA.mapToItem(response.attributes()));
        } catch (ConditionalCheckFailedException e) {
            // Not PENDING any more: marked by an earlier try of this call or by a replay, or claimed.
            return found(e);
        }
    }

    @Override
    public boolean takeOverSending(String jobId, Instant until, Instant now) {
        Update update = new Update(jobId, TAKE_OVER_SENDING_UPDATE, TAKE_OVER_SENDING_CONDITION)
                .name("#jobId", JOB_ID).name("#status", STATUS).name("#sendingUntil", SENDING_UNTIL)
                .value(":pending", s(JobStatus.PENDING.name()))
                .value(":nowMillis", n(now.toEpochMilli()))
                .value(":until", n(until.toEpochMilli()));
        return apply(update, job -> job.status() == JobStatus.PENDING
                && Long.valueOf(until.toEpochMilli()).equals(job.sendingUntil()));
    }

    @Override
    public Optional<Job> deleteUnsent(String jobId) {
        DeleteItemRequest request = DeleteItemRequest.builder()
                .tableName(tableName)
                .key(Map.of(JOB_ID, s(jobId)))
                .conditionExpression(DELETE_UNSENT_CONDITION)
                .expressionAttributeNames(Map.of("#status", STATUS, "#attempts", ATTEMPTS))
                .expressionAttributeValues(Map.of(":pending", s(JobStatus.PENDING.name()), ":zero", n(0)))
                .returnValuesOnConditionCheckFailure(ReturnValuesOnConditionCheckFailure.ALL_OLD)
                .build();
        try {
            dynamoDb.deleteItem(request);
            return Optional.empty();
        } catch (ConditionalCheckFailedException e) {
            return found(e); // empty: gone already (an earlier try deleted it)
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Worker

    @Override
    public ClaimResult claim(String jobId, String workerId, String messageId, Instant leaseUntil, Instant now) {
        String leaseId = newLeaseId();
        Update update = claimUpdate(jobId, CLAIM_UPDATE, CLAIM_CONDITION, workerId, messageId, leaseId, leaseUntil, now)
                .value(":pending", s(JobStatus.PENDING.name()))
                .value(":queued", s(JobStatus.QUEUED.name()))
                .value(":failed", s(JobStatus.FAILED.name()));
        ClaimResult result = claim(update, leaseId);
        if (result instanceof NotClaimable notClaimable && notClaimable.current().status() == JobStatus.RUNNING
                && notClaimable.current().leaseExpiresAt() != null
                && notClaimable.current().leaseExpiresAt() < now.toEpochMilli()) {
            return takeOver(notClaimable.current(), workerId, messageId, leaseId, leaseUntil, now);
        }
        return result;
    }

    /**
     * Takes over the lease of {@code expired}, which ran out, in one write that also appends that
     * lease's attempt to the history as {@link AttemptRecord#LEASE_LOST}. The condition pins the
     * token seen, so a retry of an applied take-over fails it, and is recognised by the lease id:
     * the entry is never appended twice.
     */
    private ClaimResult takeOver(Job expired, String workerId, String messageId, String leaseId, Instant leaseUntil,
                                 Instant now) {
        Map<String, String> names = new HashMap<>();
        Map<String, AttributeValue> values = new HashMap<>();
        String append = expired.history().size() < AttemptRecord.MAX_ENTRIES
                ? history(leaseLost(expired), names, values) : "";
        Update update = claimUpdate(expired.jobId(), CLAIM_SET + append + CLAIM_REMOVE, TAKE_OVER_CONDITION, workerId,
                messageId, leaseId, leaseUntil, now)
                .value(":expiredToken", n(expired.version()))
                .value(":now", n(now.toEpochMilli()));
        names.forEach(update::name);
        values.forEach(update::value);
        return claim(update, leaseId);
    }

    /** The history entry of an attempt whose worker stopped renewing its lease. */
    static AttemptRecord leaseLost(Job expired) {
        return new AttemptRecord(expired.attempts(), Objects.requireNonNullElse(expired.leaseOwner(), "unknown"),
                AttemptRecord.UNKNOWN_SLOT, expired.claimedAt(), Instant.ofEpochMilli(expired.leaseExpiresAt()),
                AttemptRecord.LEASE_LOST, "its worker stopped renewing the lease (it vanished, or could not reach the"
                + " table) and another claim took the job over", null);
    }

    @Override
    public ClaimResult claimGivenBack(String jobId, String givenBackLeaseId, String workerId, String messageId,
                                      Instant leaseUntil, Instant now) {
        String leaseId = newLeaseId();
        Update update = claimUpdate(jobId, CLAIM_GIVEN_BACK_UPDATE, CLAIM_GIVEN_BACK_CONDITION, workerId, messageId,
                leaseId, leaseUntil, now)
                .name("#preemptions", PREEMPTIONS)
                .value(":givenBack", s(givenBackLeaseId))
                .value(":zero", n(0));
        return claim(update, leaseId);
    }

    private Update claimUpdate(String jobId, String expression, String condition, String workerId, String messageId,
                               String leaseId, Instant leaseUntil, Instant now) {
        return new Update(jobId, expression, condition)
                .name("#jobId", JOB_ID).name("#status", STATUS).name("#leaseOwner", LEASE_OWNER)
                .name("#leaseExpiresAt", LEASE_EXPIRES_AT).name("#leaseMessageId", LEASE_MESSAGE_ID)
                .name("#leaseId", LEASE_ID).name("#updatedAt", UPDATED_AT).name("#version", VERSION)
                .name("#attempts", ATTEMPTS).name("#claimedAt", JobTable.CLAIMED_AT)
                .name("#expiresAt", EXPIRES_AT).name("#sendingUntil", SENDING_UNTIL)
                .name("#redriveRequestedAt", REDRIVE_REQUESTED_AT).name("#finishedAt", FINISHED_AT)
                .name("#progress", JobTable.PROGRESS).name("#progressMessage", JobTable.PROGRESS_MESSAGE)
                .name("#progressAt", JobTable.PROGRESS_AT)
                .value(":running", s(JobStatus.RUNNING.name()))
                .value(":owner", s(workerId))
                .value(":leaseUntil", n(leaseUntil.toEpochMilli()))
                .value(":messageId", s(messageId))
                .value(":leaseId", s(leaseId))
                .value(":nowIso", s(now.toString()))
                .value(":one", n(1));
    }

    private ClaimResult claim(Update update, String leaseId) {
        try {
            UpdateItemResponse response = dynamoDb.updateItem(update.request(ReturnValue.ALL_NEW));
            return new Claimed(JobTable.SCHEMA.mapToItem(response.attributes()));
        } catch (ConditionalCheckFailedException e) {
            Optional<Job> current = found(e);
            if (current.isEmpty()) {
                return new Missing();
            }
            // Our lease id on the record: this claim was applied by an earlier try whose response was lost.
            return leaseId.equals(current.get().leaseId()) && current.get().status() == JobStatus.RUNNING
                    ? new Claimed(current.get())
                    : new NotClaimable(current.get());
        }
    }

    @Override
    public Renewal renewLease(Lease lease, Instant leaseUntil) {
        Update update = fenced(lease, RENEW_UPDATE, FENCE_CONDITION + NOT_CANCEL_REQUESTED)
                .name("#leaseExpiresAt", LEASE_EXPIRES_AT).name("#cancelRequestedAt", JobTable.CANCEL_REQUESTED_AT)
                .value(":leaseUntil", n(leaseUntil.toEpochMilli()));
        // A renewal changes neither owner nor token: a retry of an applied one passes its condition again.
        try {
            dynamoDb.updateItem(update.request(ReturnValue.NONE));
            return Renewal.RENEWED;
        } catch (ConditionalCheckFailedException e) {
            return found(e).filter(job -> holds(job, lease) && job.cancelRequestedAt() != null).isPresent()
                    ? Renewal.CANCEL_REQUESTED : Renewal.LOST;
        }
    }

    /** Whether {@code lease} still holds on {@code job}: running, ours, our token. */
    private static boolean holds(Job job, Lease lease) {
        return job.status() == JobStatus.RUNNING && lease.owner().equals(job.leaseOwner())
                && job.version() == lease.token();
    }

    @Override
    public boolean recordProgress(Lease lease, double fraction, String message, Instant at) {
        Update update = fenced(lease, PROGRESS_SET + (message == null ? " REMOVE #progressMessage"
                        : ", #progressMessage = :message"), FENCE_CONDITION)
                .name("#progress", JobTable.PROGRESS).name("#progressAt", JobTable.PROGRESS_AT)
                .name("#progressMessage", JobTable.PROGRESS_MESSAGE)
                .value(":fraction", AttributeValue.fromN(Double.toString(fraction)))
                .value(":at", s(at.toString()));
        if (message != null) {
            update.value(":message", s(message));
        }
        // Like a renewal: a retry of an applied write passes its condition again.
        return apply(update, job -> false);
    }

    @Override
    public boolean complete(Lease lease, Completion completion, Instant now) {
        // Set what this attempt has; remove what an earlier one may have left (the error, files, a result).
        StringBuilder set = new StringBuilder(COMPLETE_UPDATE);
        List<String> remove = new ArrayList<>(List.of("#leaseOwner", "#leaseExpiresAt", "#leaseMessageId", "#error"));
        Map<String, String> names = new HashMap<>(Map.of("#finishedAt", FINISHED_AT, "#error", ERROR,
                "#expiresAt", EXPIRES_AT, "#result", RESULT, "#resultKey", JobTable.RESULT_KEY,
                "#files", JobTable.FILES));
        Map<String, AttributeValue> values = new HashMap<>(Map.of(":expiresAt", n(expiresAt(now))));
        setOrRemove(set, remove, values, "#result", ":result", completion.resultJson());
        setOrRemove(set, remove, values, "#resultKey", ":resultKey", completion.resultKey());
        setOrRemove(set, remove, values, "#files", ":files", completion.filesJson());
        String expression = set + history(completion.attempt(), names, values) + " REMOVE " + String.join(", ", remove);
        return outcome(lease, JobStatus.SUCCEEDED, expression, now, names, values);
    }

    private static void setOrRemove(StringBuilder set, List<String> remove, Map<String, AttributeValue> values,
                                    String name, String placeholder, String value) {
        if (value == null) {
            remove.add(name);
        } else {
            set.append(", ").append(name).append(" = ").append(placeholder);
            values.put(placeholder, s(value));
        }
    }

    /** The history append for {@code attempt}, its names and values added; empty for none. */
    private static String history(AttemptRecord attempt, Map<String, String> names, Map<String, AttributeValue> values) {
        if (attempt == null) {
            return "";
        }
        names.put("#history", JobTable.HISTORY);
        values.put(":noHistory", AttributeValue.fromL(List.of()));
        values.put(":entry", AttributeValue.fromL(List.of(attempt.toAttributeValue())));
        return HISTORY_APPEND;
    }

    @Override
    public boolean retryLater(Lease lease, String error, AttemptRecord attempt, Instant now, String toPool) {
        Map<String, String> names = new HashMap<>(Map.of("#error", ERROR));
        Map<String, AttributeValue> values = new HashMap<>(Map.of(":error", s(error)));
        String move = "";
        if (toPool != null) {
            names.put("#pool", JobTable.POOL);
            values.put(":pool", s(toPool));
            move = ", #pool = :pool";
        }
        String expression = OUTCOME_SET + ", #error = :error" + move + history(attempt, names, values) + RELEASE_LEASE;
        return outcome(lease, JobStatus.QUEUED, expression, now, names, values);
    }

    @Override
    public boolean fail(Lease lease, String error, AttemptRecord attempt, Instant now) {
        Map<String, String> names = new HashMap<>(Map.of("#error", ERROR, "#finishedAt", FINISHED_AT,
                "#expiresAt", EXPIRES_AT));
        Map<String, AttributeValue> values = new HashMap<>(Map.of(":error", s(error), ":expiresAt", n(expiresAt(now))));
        String expression = OUTCOME_SET + ", #error = :error, #finishedAt = :nowIso, #expiresAt = :expiresAt"
                + history(attempt, names, values) + RELEASE_LEASE;
        return outcome(lease, JobStatus.FAILED, expression, now, names, values);
    }

    @Override
    public boolean failUnrun(Lease lease, String error, Instant now) {
        return outcome(lease, JobStatus.FAILED, FAIL_UNRUN_UPDATE, now, u -> u
                .name("#error", ERROR).name("#finishedAt", FINISHED_AT).name("#expiresAt", EXPIRES_AT)
                .name("#attempts", ATTEMPTS)
                .value(":error", s(error))
                .value(":expiresAt", n(expiresAt(now))));
    }

    @Override
    public boolean release(Lease lease, AttemptRecord attempt, Instant now) {
        Map<String, String> names = new HashMap<>(Map.of("#preemptions", PREEMPTIONS));
        Map<String, AttributeValue> values = new HashMap<>(Map.of(":zero", n(0)));
        String expression = OUTCOME_SET + ", #preemptions = if_not_exists(#preemptions, :zero) + :one"
                + history(attempt, names, values) + RELEASE_LEASE;
        return outcome(lease, JobStatus.QUEUED, expression, now, names, values);
    }

    @Override
    public boolean unclaim(Lease lease, Instant now) {
        return outcome(lease, JobStatus.QUEUED, UNCLAIM_UPDATE, now, u -> u
                .name("#attempts", ATTEMPTS).name("#claimedAt", JobTable.CLAIMED_AT));
    }

    @Override
    public boolean cancel(Lease lease, String reason, AttemptRecord attempt, Instant now) {
        Map<String, String> names = new HashMap<>(Map.of("#cancelReason", JobTable.CANCEL_REASON,
                "#finishedAt", FINISHED_AT, "#expiresAt", EXPIRES_AT));
        Map<String, AttributeValue> values = new HashMap<>(Map.of(":reason", s(reason),
                ":expiresAt", n(expiresAt(now))));
        String expression = CANCEL_SET + history(attempt, names, values) + RELEASE_LEASE;
        return outcome(lease, JobStatus.CANCELLED, expression, FENCE_CONDITION, now, u -> {
            names.forEach(u::name);
            values.forEach(u::value);
            return u;
        });
    }

    @Override
    public boolean cancelUnrun(Lease lease, String reason, Instant now) {
        return outcome(lease, JobStatus.CANCELLED, CANCEL_UNRUN_UPDATE, FENCE_CONDITION, now, u -> u
                .name("#cancelReason", JobTable.CANCEL_REASON).name("#finishedAt", FINISHED_AT)
                .name("#expiresAt", EXPIRES_AT).name("#attempts", ATTEMPTS)
                .value(":reason", s(reason))
                .value(":expiresAt", n(expiresAt(now))));
    }

    private boolean outcome(Lease lease, JobStatus to, String expression, Instant now, Map<String, String> names,
                            Map<String, AttributeValue> values) {
        return outcome(lease, to, expression, now, u -> {
            names.forEach(u::name);
            values.forEach(u::value);
            return u;
        });
    }

    private boolean outcome(Lease lease, JobStatus to, String expression, Instant now,
                            java.util.function.UnaryOperator<Update> details) {
        return outcome(lease, to, expression, FENCE_CONDITION + NOT_CANCEL_REQUESTED, now,
                u -> details.apply(u).name("#cancelRequestedAt", JobTable.CANCEL_REQUESTED_AT));
    }

    /**
     * An outcome write under a lease. Recognised as our own when the condition fails on a record
     * that our lease's id left, one token on, in the status this write sets.
     */
    private boolean outcome(Lease lease, JobStatus to, String expression, String condition, Instant now,
                            java.util.function.UnaryOperator<Update> details) {
        Update update = details.apply(fenced(lease, expression, condition)
                .name("#updatedAt", UPDATED_AT)
                .name("#leaseExpiresAt", LEASE_EXPIRES_AT).name("#leaseMessageId", LEASE_MESSAGE_ID)
                .value(":to", s(to.name()))
                .value(":nowIso", s(now.toString()))
                .value(":one", n(1)));
        return apply(update, job -> lease.leaseId() != null && lease.leaseId().equals(job.leaseId())
                && job.version() == lease.token() + 1 && job.status() == to);
    }

    // ---------------------------------------------------------------------------------------------
    // Clients

    @Override
    public Optional<Job> cancelWaiting(String jobId, String reason, Instant now) {
        Update update = new Update(jobId, CANCEL_WAITING_UPDATE, CANCEL_WAITING_CONDITION)
                .name("#jobId", JOB_ID).name("#status", STATUS).name("#expiresAt", EXPIRES_AT)
                .name("#cancelReason", JobTable.CANCEL_REASON).name("#updatedAt", UPDATED_AT)
                .name("#finishedAt", FINISHED_AT).name("#version", VERSION).name("#sendingUntil", SENDING_UNTIL)
                .value(":pending", s(JobStatus.PENDING.name()))
                .value(":queued", s(JobStatus.QUEUED.name()))
                .value(":cancelled", s(JobStatus.CANCELLED.name()))
                .value(":reason", s(reason))
                .value(":nowIso", s(now.toString()))
                .value(":nowSeconds", n(now.getEpochSecond()))
                .value(":expiresAt", n(expiresAt(now)))
                .value(":one", n(1));
        return updateReturning(update, now);
    }

    @Override
    public Optional<Job> requestCancel(String jobId, String reason, Instant now) {
        Update update = new Update(jobId, REQUEST_CANCEL_UPDATE, REQUEST_CANCEL_CONDITION)
                .name("#jobId", JOB_ID).name("#status", STATUS)
                .name("#cancelRequestedAt", JobTable.CANCEL_REQUESTED_AT).name("#cancelReason", JobTable.CANCEL_REASON)
                .value(":running", s(JobStatus.RUNNING.name()))
                .value(":reason", s(reason))
                .value(":nowIso", s(now.toString()));
        return updateReturning(update, now);
    }

    /**
     * The record as the write left it, or as its failed condition found it; a retry of an applied
     * write finds what the first try left, so the caller sees the same either way. Empty when there
     * is no record, or it is past its TTL.
     */
    private Optional<Job> updateReturning(Update update, Instant now) {
        try {
            UpdateItemResponse response = dynamoDb.updateItem(update.request(ReturnValue.ALL_NEW));
            return Optional.of(JobTable.SCHEMA.mapToItem(response.attributes()));
        } catch (ConditionalCheckFailedException e) {
            return found(e).filter(job -> !job.expiredAt(now));
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Operators

    @Override
    public boolean requestRedrive(String jobId, Instant now) {
        return apply(new Update(jobId, REQUEST_REDRIVE_UPDATE, REQUEST_REDRIVE_CONDITION)
                .name("#jobId", JOB_ID).name("#status", STATUS).name("#redriveRequestedAt", REDRIVE_REQUESTED_AT)
                .name("#redrives", REDRIVES).name("#updatedAt", UPDATED_AT)
                .value(":failed", s(JobStatus.FAILED.name()))
                .value(":nowIso", s(now.toString()))
                .value(":zero", n(0))
                .value(":one", n(1)),
                job -> job.status() == JobStatus.FAILED && job.redriveRequestedAt() != null);
    }

    @Override
    public boolean cancelFailed(String jobId, Instant now) {
        return apply(new Update(jobId, CANCEL_FAILED_UPDATE, CANCEL_FAILED_CONDITION)
                .name("#jobId", JOB_ID).name("#status", STATUS).name("#updatedAt", UPDATED_AT)
                .name("#finishedAt", FINISHED_AT).name("#expiresAt", EXPIRES_AT).name("#version", VERSION)
                .name("#redriveRequestedAt", REDRIVE_REQUESTED_AT)
                .value(":failed", s(JobStatus.FAILED.name()))
                .value(":cancelled", s(JobStatus.CANCELLED.name()))
                .value(":nowIso", s(now.toString()))
                .value(":expiresAt", n(expiresAt(now)))
                .value(":one", n(1)),
                job -> job.status() == JobStatus.CANCELLED);
    }

    @Override
    public ScanResult scan(int maxItems) {
        Map<String, String> names = new HashMap<>();
        List<String> placeholders = new ArrayList<>();
        for (String attribute : OVERVIEW_ATTRIBUTES) {
            names.put("#" + attribute, attribute);
            placeholders.add("#" + attribute);
        }
        Instant now = clock.instant();
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
                Job job = JobTable.SCHEMA.mapToItem(item);
                if (!job.expiredAt(now)) {
                    jobs.add(job);
                }
            }
            startKey = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null;
        } while (startKey != null);
        return new ScanResult(jobs, false);
    }

    // ---------------------------------------------------------------------------------------------

    private long expiresAt(Instant finishedAt) {
        return finishedAt.plus(retention).getEpochSecond();
    }

    private static String newLeaseId() {
        return UUID.randomUUID().toString();
    }

    private Update fenced(Lease lease, String updateExpression, String condition) {
        return new Update(lease.jobId(), updateExpression, condition)
                .name("#jobId", JOB_ID).name("#status", STATUS).name("#leaseOwner", LEASE_OWNER)
                .name("#version", VERSION)
                .value(":running", s(JobStatus.RUNNING.name()))
                .value(":owner", s(lease.owner()))
                .value(":token", n(lease.token()));
    }

    /**
     * True if the write happened, or if its condition failed on a record that {@code ownWrite}
     * recognises as this very write, applied by an earlier try whose response was lost.
     */
    private boolean apply(Update update, Predicate<Job> ownWrite) {
        try {
            dynamoDb.updateItem(update.request(ReturnValue.NONE));
            return true;
        } catch (ConditionalCheckFailedException e) {
            return found(e).filter(ownWrite).isPresent();
        }
    }

    /** The record a failed condition was checked against; empty when there was none. */
    private static Optional<Job> found(ConditionalCheckFailedException e) {
        return e.hasItem() && !e.item().isEmpty() ? Optional.of(JobTable.SCHEMA.mapToItem(e.item())) : Optional.empty();
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
