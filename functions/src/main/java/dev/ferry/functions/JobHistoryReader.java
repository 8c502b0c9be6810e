package dev.ferry.functions;

import static dev.ferry.core.JobTable.ATTEMPTS;
import static dev.ferry.core.JobTable.CLAIMED_AT;
import static dev.ferry.core.JobTable.CREATED_AT;
import static dev.ferry.core.JobTable.ENQUEUED_AT;
import static dev.ferry.core.JobTable.FINISHED_AT;
import static dev.ferry.core.JobTable.HISTORY;
import static dev.ferry.core.JobTable.JOB_ID;
import static dev.ferry.core.JobTable.STATUS;
import static dev.ferry.core.JobTable.TYPE;

import dev.ferry.core.AttemptRecord;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.Job;
import dev.ferry.core.JobTable;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Set;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchGetItemResponse;
import software.amazon.awssdk.services.dynamodb.model.ConsumedCapacity;
import software.amazon.awssdk.services.dynamodb.model.KeysAndAttributes;
import software.amazon.awssdk.services.dynamodb.model.QueryRequest;
import software.amazon.awssdk.services.dynamodb.model.QueryResponse;
import software.amazon.awssdk.services.dynamodb.model.ReturnConsumedCapacity;

/**
 * Reads the jobs of a history window from the jobs table, bounded, never a scan.
 *
 * <p><b>Counts</b> come from the index sorted by creation time: {@code listing-createdAt} for all
 * types, {@code type-createdAt} for one. Its projection (the job's summary) already holds the type,
 * status, {@code createdAt}, {@code enqueuedAt} and {@code finishedAt}. The query reaches
 * {@link #LOOKBACK} further back than the window, so that a job created before the window began and
 * finished within it counts where it finished; a job that took longer than that from submit to
 * finish is not counted. At most {@link #MAX_JOBS} index items are read, newest first; past that
 * the answer says where the jobs it read begin. Unlike the listings, it keeps records past their
 * TTL that DynamoDB has not deleted yet: they are finished jobs, and so history.
 *
 * <p><b>Times</b> (first start, the final attempt's run time) are in the job's attempt history,
 * which no index holds (adding it to a projection would recreate the index on a deployed table and
 * copy every history into it). They are read with {@code BatchGetItem}, eventually consistent,
 * projecting {@code history} and {@code claimedAt}, for the newest {@link #MAX_TIMED} jobs that
 * have started.
 */
final class JobHistoryReader {

    static final int MAX_JOBS = 20_000;
    static final int MAX_TIMED = 5_000;
    static final Duration LOOKBACK = Duration.ofHours(24);
    private static final int QUERY_PAGE = 1_000;
    private static final int BATCH_GET_KEYS = 100;
    private static final int BATCH_GET_TRIES = 4;
    /** The outcomes that end a job: the attempt that has one of them is the job's final attempt. */
    private static final Set<String> FINAL_OUTCOMES =
            Set.of(AttemptRecord.SUCCEEDED, AttemptRecord.FAILED, AttemptRecord.CANCELLED);

    /**
     * What was read.
     *
     * @param jobs the jobs, newest first
     * @param jobsTruncated whether {@link #MAX_JOBS} stopped the reading before the window's lookback began
     * @param timed how many jobs' times were read
     * @param timesTruncated whether started jobs were left without times ({@link #MAX_TIMED}, or throttling)
     * @param timesFrom the creation time of the oldest job whose times were read (null: none)
     * @param readCapacityUnits what DynamoDB says the reads consumed
     */
    record Read(List<JobTimes> jobs, boolean jobsTruncated, int timed, boolean timesTruncated, Instant timesFrom,
                double readCapacityUnits) {
    }

    private final DynamoDbClient dynamoDb;
    private final String tableName;
    private final int maxJobs;
    private final int maxTimed;

    JobHistoryReader(DynamoDbClient dynamoDb, String tableName) {
        this(dynamoDb, tableName, MAX_JOBS, MAX_TIMED);
    }

    /** For tests: smaller bounds. */
    JobHistoryReader(DynamoDbClient dynamoDb, String tableName, int maxJobs, int maxTimed) {
        this.dynamoDb = Objects.requireNonNull(dynamoDb, "dynamoDb");
        this.tableName = Objects.requireNonNull(tableName, "tableName");
        this.maxJobs = maxJobs;
        this.maxTimed = maxTimed;
    }

    /** {@code FERRY_TABLE}. */
    static JobHistoryReader fromEnvironment(DynamoDbClient dynamoDb, FerryEnv env) {
        return new JobHistoryReader(dynamoDb, env.required(FerryEnv.TABLE));
    }

    /** The jobs of one type ({@code null}: all types) that matter to {@code [from, to)}. */
    Read read(String type, Instant from, Instant to) {
        double[] capacity = {0};
        List<Job> summaries = new ArrayList<>();
        boolean truncated = false;
        Map<String, AttributeValue> start = null;
        do {
            QueryResponse response = dynamoDb.query(queryRequest(type, from.minus(LOOKBACK), to,
                    Math.min(QUERY_PAGE, maxJobs - summaries.size()), start));
            capacity[0] += units(response.consumedCapacity());
            for (Map<String, AttributeValue> item : response.items()) {
                summaries.add(JobTable.SCHEMA.mapToItem(item));
            }
            start = response.hasLastEvaluatedKey() && !response.lastEvaluatedKey().isEmpty()
                    ? response.lastEvaluatedKey() : null;
            if (start != null && summaries.size() >= maxJobs) {
                truncated = true;
                break;
            }
        } while (start != null);

        List<String> started = summaries.stream().filter(job -> job.attempts() > 0).map(Job::jobId)
                .limit(maxTimed).toList();
        long startedCount = summaries.stream().filter(job -> job.attempts() > 0).count();
        Map<String, Job> times = histories(started, capacity);
        Instant timesFrom = null;
        List<JobTimes> jobs = new ArrayList<>(summaries.size());
        for (Job summary : summaries) {
            Job timed = times.get(summary.jobId());
            if (timed != null) {
                timesFrom = summary.createdAt();
            }
            jobs.add(times(summary, timed));
        }
        return new Read(jobs, truncated, times.size(), times.size() < startedCount, timesFrom, capacity[0]);
    }

    QueryRequest queryRequest(String type, Instant from, Instant to, int limit, Map<String, AttributeValue> start) {
        JobTable.Index index = type == null ? JobTable.BY_CREATED : JobTable.BY_TYPE;
        Map<String, String> names = new HashMap<>();
        names.put("#pk", index.partitionKey());
        names.put("#createdAt", CREATED_AT);
        for (String attribute : List.of(JOB_ID, TYPE, STATUS, ENQUEUED_AT, FINISHED_AT, ATTEMPTS)) {
            names.put("#" + attribute, attribute);
        }
        return QueryRequest.builder()
                .tableName(tableName)
                .indexName(index.name())
                .keyConditionExpression("#pk = :pk AND #createdAt BETWEEN :from AND :to")
                .projectionExpression("#jobId, #type, #status, #createdAt, #enqueuedAt, #finishedAt, #attempts")
                .expressionAttributeNames(names)
                .expressionAttributeValues(Map.of(
                        ":pk", AttributeValue.fromS(type == null ? JobTable.LISTING_ALL : type),
                        ":from", AttributeValue.fromS(JobTable.sortableInstant(from)),
                        ":to", AttributeValue.fromS(JobTable.sortableInstant(to))))
                .scanIndexForward(false)
                .limit(limit)
                .exclusiveStartKey(start)
                .returnConsumedCapacity(ReturnConsumedCapacity.TOTAL)
                .build();
    }

    /** The histories (and claim times) of {@code jobIds}, by id; a job whose record is gone is left out. */
    private Map<String, Job> histories(List<String> jobIds, double[] capacity) {
        Map<String, Job> found = new HashMap<>();
        for (int from = 0; from < jobIds.size(); from += BATCH_GET_KEYS) {
            List<Map<String, AttributeValue>> keys = jobIds.subList(from, Math.min(jobIds.size(), from + BATCH_GET_KEYS))
                    .stream().map(id -> Map.of(JOB_ID, AttributeValue.fromS(id))).toList();
            for (int tries = 0; tries < BATCH_GET_TRIES && !keys.isEmpty(); tries++) {
                if (tries > 0) {
                    pause(tries);
                }
                KeysAndAttributes request = KeysAndAttributes.builder().keys(keys).consistentRead(false)
                        .projectionExpression("#jobId, #history, #claimedAt")
                        .expressionAttributeNames(Map.of("#jobId", JOB_ID, "#history", HISTORY, "#claimedAt", CLAIMED_AT))
                        .build();
                BatchGetItemResponse response = dynamoDb.batchGetItem(r -> r.requestItems(Map.of(tableName, request))
                        .returnConsumedCapacity(ReturnConsumedCapacity.TOTAL));
                response.consumedCapacity().forEach(c -> capacity[0] += units(c));
                for (Map<String, AttributeValue> item : response.responses().getOrDefault(tableName, List.of())) {
                    Job job = JobTable.SCHEMA.mapToItem(item);
                    found.put(job.jobId(), job);
                }
                // Throttled or too big for one answer: DynamoDB hands the rest back, to ask again.
                keys = response.hasUnprocessedKeys() && response.unprocessedKeys().containsKey(tableName)
                        ? response.unprocessedKeys().get(tableName).keys() : List.of();
            }
        }
        return found;
    }

    private static void pause(int tries) {
        try {
            Thread.sleep(50L << tries);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static double units(ConsumedCapacity capacity) {
        return capacity == null || capacity.capacityUnits() == null ? 0 : capacity.capacityUnits();
    }

    /** The chart's view of a job: its summary, and its times where {@code timed} holds them. */
    static JobTimes times(Job summary, Job timed) {
        Instant firstStartedAt = null;
        Duration runTime = null;
        if (timed != null) {
            List<AttemptRecord> history = timed.history();
            // The first attempt is the history's first entry once it has ended; while it runs, the claim's time.
            firstStartedAt = history.isEmpty() ? timed.claimedAt() : history.get(0).startedAt();
            if (!history.isEmpty() && summary.status().isFinal()) {
                AttemptRecord last = history.get(history.size() - 1);
                if (FINAL_OUTCOMES.contains(last.outcome()) && last.startedAt() != null && last.endedAt() != null && !last.endedAt().isBefore(last.startedAt())) {
                    runTime = Duration.between(last.startedAt(), last.endedAt());
                }
            }
        }
        return new JobTimes(summary.type(), summary.status(), summary.createdAt(), summary.enqueuedAt(),
                firstStartedAt, summary.finishedAt(), runTime);
    }

    int maxJobs() {
        return maxJobs;
    }

    int maxTimed() {
        return maxTimed;
    }
}
