package dev.ferry.core;

import static dev.ferry.core.JobTable.CREATED_AT;
import static dev.ferry.core.JobTable.EXPIRES_AT;
import static dev.ferry.core.JobTable.HISTORY;
import static dev.ferry.core.JobTable.JOB_ID;
import static dev.ferry.core.JobTable.STATUS;
import static dev.ferry.core.JobTable.TYPE;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchGetItemResponse;
import software.amazon.awssdk.services.dynamodb.model.KeysAndAttributes;
import software.amazon.awssdk.services.dynamodb.model.QueryRequest;
import software.amazon.awssdk.services.dynamodb.model.QueryResponse;
import software.amazon.awssdk.services.dynamodb.model.Select;

/**
 * {@link JobQueries} on DynamoDB: {@code Query} on the table's indexes (each bounded in how many
 * reads one answer may take), and {@code BatchGetItem} for many jobs' statuses. Every request's
 * expressions are written out once, here, so that tests can check them word for word.
 */
public final class DynamoDbJobQueries implements JobQueries {

    /** Query reads (each up to 1 MB of the index) one page may take when a filter leaves most out. */
    static final int MAX_READS_PER_PAGE = 10;
    /** Query reads a count may take; past them the count says "more". */
    static final int MAX_READS_PER_COUNT = 20;
    /** Query reads a type's recent successes may take. */
    static final int MAX_READS_FOR_RUN_TIMES = 3;
    /** DynamoDB's most keys per BatchGetItem. */
    static final int BATCH_GET_KEYS = 100;
    /** Records past their TTL are gone for every reader, though DynamoDB deletes them late. */
    static final String LIVE = "(attribute_not_exists(#expiresAt) OR #expiresAt >= :nowSeconds)";
    static final String PARTITION = "#pk = :pk";
    static final String CREATED_BEFORE = PARTITION + " AND #sk < :before";
    /** A filter the index's partition does not answer: a status within a type, or a type within a status. */
    static final String ALSO = " AND #also = :also";
    /** Statuses whose partition is small (waiting, running, failed): searched for a type rather than the reverse. */
    private static final Set<JobStatus> SMALL_PARTITIONS =
            Set.of(JobStatus.PENDING, JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.FAILED);

    private final DynamoDbClient dynamoDb;
    private final String tableName;
    private final Clock clock;

    public DynamoDbJobQueries(DynamoDbClient dynamoDb, String tableName) {
        this(dynamoDb, tableName, Clock.systemUTC());
    }

    /** For tests: {@code clock} tells which records are past their TTL. */
    DynamoDbJobQueries(DynamoDbClient dynamoDb, String tableName, Clock clock) {
        this.dynamoDb = Objects.requireNonNull(dynamoDb, "dynamoDb");
        this.tableName = Objects.requireNonNull(tableName, "tableName");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** {@code FERRY_TABLE}. */
    public static DynamoDbJobQueries fromEnvironment(DynamoDbClient dynamoDb, FerryEnv env) {
        return new DynamoDbJobQueries(dynamoDb, env.required(FerryEnv.TABLE));
    }

    // ---------------------------------------------------------------------------------------------
    // Listings

    /** Which index answers a filter, its partition, and what is left to filter. */
    record Plan(JobTable.Index index, String partition, String alsoAttribute, String alsoValue) {
    }

    static Plan plan(Filter filter) {
        if (filter.status() != null && filter.type() != null) {
            return SMALL_PARTITIONS.contains(filter.status())
                    ? new Plan(JobTable.BY_STATUS, filter.status().name(), TYPE, filter.type())
                    : new Plan(JobTable.BY_TYPE, filter.type(), STATUS, filter.status().name());
        }
        if (filter.status() != null) {
            return new Plan(JobTable.BY_STATUS, filter.status().name(), null, null);
        }
        if (filter.type() != null) {
            return new Plan(JobTable.BY_TYPE, filter.type(), null, null);
        }
        return new Plan(JobTable.BY_CREATED, JobTable.LISTING_ALL, null, null);
    }

    @Override
    public Page list(Filter filter, int limit, Map<String, String> after) {
        if (limit < 1 || limit > MAX_PAGE) {
            throw new IllegalArgumentException("limit must be 1 to " + MAX_PAGE + ", but is " + limit);
        }
        Plan plan = plan(filter);
        Map<String, AttributeValue> start = after == null ? null : startKey(plan, after);
        List<Job> jobs = new ArrayList<>();
        Map<String, AttributeValue> lastKept = null;
        for (int reads = 0; reads < MAX_READS_PER_PAGE; reads++) {
            // One more than the page needs: if it comes, the page is not the last.
            QueryResponse response = dynamoDb.query(listRequest(plan, limit - jobs.size() + 1, start));
            for (Map<String, AttributeValue> item : response.items()) {
                if (jobs.size() == limit) {
                    return new Page(jobs, key(plan.index(), lastKept));
                }
                jobs.add(JobTable.SCHEMA.mapToItem(item));
                lastKept = item;
            }
            if (!response.hasLastEvaluatedKey() || response.lastEvaluatedKey().isEmpty()) {
                return new Page(jobs, null);
            }
            start = response.lastEvaluatedKey();
        }
        // Out of reads for this page: the next starts where these ended.
        return new Page(jobs, key(plan.index(), start));
    }

    QueryRequest listRequest(Plan plan, int limit, Map<String, AttributeValue> start) {
        Map<String, String> names = new HashMap<>(Map.of("#pk", plan.index().partitionKey(), "#expiresAt", EXPIRES_AT));
        Map<String, AttributeValue> values = new HashMap<>(Map.of(":pk", s(plan.partition()),
                ":nowSeconds", n(clock.instant().getEpochSecond())));
        String filter = LIVE;
        if (plan.alsoAttribute() != null) {
            filter += ALSO;
            names.put("#also", plan.alsoAttribute());
            values.put(":also", s(plan.alsoValue()));
        }
        return QueryRequest.builder()
                .tableName(tableName)
                .indexName(plan.index().name())
                .keyConditionExpression(PARTITION)
                .filterExpression(filter)
                .expressionAttributeNames(names)
                .expressionAttributeValues(values)
                .scanIndexForward(false)
                .limit(limit)
                .exclusiveStartKey(start)
                .build();
    }

    /**
     * {@code after} as an {@code ExclusiveStartKey} of this listing's index, checked: its index's
     * key attributes and no others, this listing's partition, a job id, an instant.
     */
    static Map<String, AttributeValue> startKey(Plan plan, Map<String, String> after) {
        JobTable.Index index = plan.index();
        if (!after.keySet().equals(Set.copyOf(index.keyAttributes()))) {
            throw new IllegalArgumentException("it is not a position in this listing (it names "
                    + new TreeSet<>(after.keySet()) + ")");
        }
        if (!plan.partition().equals(after.get(index.partitionKey()))) {
            throw new IllegalArgumentException("it is a position in another listing");
        }
        if (!JobIds.looksLikeId(after.get(JOB_ID))) {
            throw new IllegalArgumentException("it holds no job id");
        }
        String created = after.get(CREATED_AT);
        try {
            if (created.length() > 40) {
                throw new DateTimeParseException("too long", created, 40);
            }
            Instant.parse(created);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("it holds no creation time", e);
        }
        Map<String, AttributeValue> key = new HashMap<>();
        after.forEach((name, value) -> key.put(name, s(value)));
        return key;
    }

    /** The index position of {@code item}, as DynamoDB's {@code LastEvaluatedKey} would give it. */
    private static Map<String, String> key(JobTable.Index index, Map<String, AttributeValue> item) {
        Map<String, String> key = new LinkedHashMap<>();
        for (String attribute : index.keyAttributes()) {
            AttributeValue value = item.get(attribute);
            if (value == null || value.s() == null) {
                throw new IllegalStateException("index " + index.name() + " returned a key without " + attribute);
            }
            key.put(attribute, value.s());
        }
        return key;
    }

    // ---------------------------------------------------------------------------------------------
    // Counts and positions

    @Override
    public Count count(JobStatus status, int cap) {
        return count(countRequest(status, null), cap);
    }

    @Override
    public Count queuedBefore(Job job, int cap) {
        if (job.createdAt() == null) {
            return new Count(0, false);
        }
        return count(countRequest(JobStatus.QUEUED, JobTable.sortableInstant(job.createdAt())), cap);
    }

    QueryRequest.Builder countRequest(JobStatus status, String createdBefore) {
        Map<String, String> names = new HashMap<>(Map.of("#pk", STATUS, "#expiresAt", EXPIRES_AT));
        Map<String, AttributeValue> values = new HashMap<>(Map.of(":pk", s(status.name()),
                ":nowSeconds", n(clock.instant().getEpochSecond())));
        if (createdBefore != null) {
            names.put("#sk", CREATED_AT);
            values.put(":before", s(createdBefore));
        }
        return QueryRequest.builder()
                .tableName(tableName)
                .indexName(JobTable.BY_STATUS.name())
                .keyConditionExpression(createdBefore == null ? PARTITION : CREATED_BEFORE)
                .filterExpression(LIVE)
                .expressionAttributeNames(names)
                .expressionAttributeValues(values)
                .select(Select.COUNT);
    }

    private Count count(QueryRequest.Builder request, int cap) {
        long counted = 0;
        Map<String, AttributeValue> start = null;
        for (int reads = 0; reads < MAX_READS_PER_COUNT; reads++) {
            // Limit bounds the items read; one over the cap tells "more" from "exactly the cap".
            QueryResponse response = dynamoDb.query(request.limit((int) (cap + 1 - counted))
                    .exclusiveStartKey(start).build());
            counted += response.count();
            if (counted > cap) {
                return new Count(cap, true);
            }
            if (!response.hasLastEvaluatedKey() || response.lastEvaluatedKey().isEmpty()) {
                return new Count(counted, false);
            }
            start = response.lastEvaluatedKey();
        }
        return new Count(counted, true);
    }

    @Override
    public Optional<Job> oldest(JobStatus status) {
        Map<String, AttributeValue> start = null;
        for (int reads = 0; reads < MAX_READS_PER_PAGE; reads++) {
            QueryResponse response = dynamoDb.query(listRequest(new Plan(JobTable.BY_STATUS, status.name(), null, null),
                    10, start).toBuilder().scanIndexForward(true).build());
            if (!response.items().isEmpty()) {
                return Optional.of(JobTable.SCHEMA.mapToItem(response.items().get(0)));
            }
            if (!response.hasLastEvaluatedKey() || response.lastEvaluatedKey().isEmpty()) {
                return Optional.empty();
            }
            start = response.lastEvaluatedKey();
        }
        return Optional.empty();
    }

    // ---------------------------------------------------------------------------------------------
    // Run times

    @Override
    public List<Duration> recentRunTimes(String type, int max) {
        List<String> succeeded = new ArrayList<>();
        Map<String, AttributeValue> start = null;
        Plan plan = new Plan(JobTable.BY_TYPE, type, STATUS, JobStatus.SUCCEEDED.name());
        for (int reads = 0; reads < MAX_READS_FOR_RUN_TIMES && succeeded.size() < max; reads++) {
            QueryResponse response = dynamoDb.query(listRequest(plan, MAX_PAGE, start));
            for (Map<String, AttributeValue> item : response.items()) {
                if (succeeded.size() < max) {
                    succeeded.add(item.get(JOB_ID).s());
                }
            }
            if (!response.hasLastEvaluatedKey() || response.lastEvaluatedKey().isEmpty()) {
                break;
            }
            start = response.lastEvaluatedKey();
        }
        if (succeeded.isEmpty()) {
            return List.of();
        }
        // The histories are in the table only (the indexes hold summaries): one batch read.
        Map<String, Job> histories = new HashMap<>();
        Set<String> pending = new LinkedHashSet<>(succeeded);
        for (int tries = 0; tries < 2 && !pending.isEmpty(); tries++) {
            BatchGetItemResponse response = dynamoDb.batchGetItem(r -> r.requestItems(Map.of(tableName,
                    keys(pending, false, "#jobId, #history", Map.of("#jobId", JOB_ID, "#history", HISTORY)))));
            for (Map<String, AttributeValue> item : response.responses().getOrDefault(tableName, List.of())) {
                Job job = JobTable.SCHEMA.mapToItem(item);
                histories.put(job.jobId(), job);
                pending.remove(job.jobId());
            }
            if (!response.hasUnprocessedKeys() || !response.unprocessedKeys().containsKey(tableName)) {
                break; // the rest have no record any more
            }
        }
        List<Duration> times = new ArrayList<>();
        for (String jobId : succeeded) {
            Job job = histories.get(jobId);
            if (job != null) {
                runTime(job).ifPresent(times::add);
            }
        }
        return times;
    }

    /** How long the attempt that succeeded took, from the job's history. */
    static Optional<Duration> runTime(Job job) {
        List<AttemptRecord> history = job.history();
        for (int i = history.size() - 1; i >= 0; i--) {
            AttemptRecord attempt = history.get(i);
            if (AttemptRecord.SUCCEEDED.equals(attempt.outcome())) {
                if (attempt.startedAt() == null || attempt.endedAt() == null
                        || attempt.endedAt().isBefore(attempt.startedAt())) {
                    return Optional.empty();
                }
                return Optional.of(Duration.between(attempt.startedAt(), attempt.endedAt()));
            }
        }
        return Optional.empty();
    }

    // ---------------------------------------------------------------------------------------------
    // Statuses

    @Override
    public Statuses statuses(Collection<String> jobIds) {
        List<String> ids = List.copyOf(new LinkedHashSet<>(jobIds));
        Map<String, JobStatus> found = new HashMap<>();
        Set<String> unprocessed = new HashSet<>();
        long nowSeconds = clock.instant().getEpochSecond();
        for (int from = 0; from < ids.size(); from += BATCH_GET_KEYS) {
            List<String> chunk = ids.subList(from, Math.min(ids.size(), from + BATCH_GET_KEYS));
            BatchGetItemResponse response = dynamoDb.batchGetItem(r -> r.requestItems(Map.of(tableName,
                    keys(chunk, true, "#jobId, #status, #expiresAt",
                            Map.of("#jobId", JOB_ID, "#status", STATUS, "#expiresAt", EXPIRES_AT)))));
            for (Map<String, AttributeValue> item : response.responses().getOrDefault(tableName, List.of())) {
                AttributeValue expiresAt = item.get(EXPIRES_AT);
                boolean expired = expiresAt != null && expiresAt.n() != null && Long.parseLong(expiresAt.n()) < nowSeconds;
                AttributeValue status = item.get(STATUS);
                if (!expired && status != null && status.s() != null) {
                    found.put(item.get(JOB_ID).s(), JobStatus.valueOf(status.s()));
                }
            }
            if (response.hasUnprocessedKeys() && response.unprocessedKeys().containsKey(tableName)) {
                for (Map<String, AttributeValue> key : response.unprocessedKeys().get(tableName).keys()) {
                    unprocessed.add(key.get(JOB_ID).s());
                }
            }
        }
        return new Statuses(found, unprocessed);
    }

    private static KeysAndAttributes keys(Collection<String> jobIds, boolean consistent, String projection,
                                          Map<String, String> names) {
        return KeysAndAttributes.builder()
                .keys(jobIds.stream().map(id -> Map.of(JOB_ID, s(id))).toList())
                .consistentRead(consistent)
                .projectionExpression(projection)
                .expressionAttributeNames(names)
                .build();
    }

    private static AttributeValue s(String value) {
        return AttributeValue.fromS(value);
    }

    private static AttributeValue n(long value) {
        return AttributeValue.fromN(Long.toString(value));
    }
}
