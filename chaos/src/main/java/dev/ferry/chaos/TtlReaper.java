package dev.ferry.chaos;

import dev.ferry.core.Job;
import dev.ferry.core.JobTable;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.DeleteItemResponse;
import software.amazon.awssdk.services.dynamodb.model.ReturnValue;

/**
 * DynamoDB's TTL, played out on DynamoDB Local (which has none): deletes every record whose
 * {@code expiresAt} (epoch seconds) has passed, each some time late, as DynamoDB does (there: up
 * to days; here: up to {@code maxLag}, drawn per record). A delete is conditional on the record
 * still being expired, as TTL's own deletes are, and keeps the record as it was
 * ({@code ReturnValues=ALL_OLD}): the count classifies a reaped job by its last state.
 */
final class TtlReaper implements Runnable {

    static final Duration SCAN_EVERY = Duration.ofSeconds(2);

    /** A deleted record, as it was, and when. */
    record Reaped(Job job, Instant at) {
    }

    private final DynamoDbClient dynamoDb;
    private final String table;
    private final Duration maxLag;
    private final long seed;
    private final Map<String, Reaped> reaped = new ConcurrentHashMap<>();
    private volatile boolean stopped;

    TtlReaper(DynamoDbClient dynamoDb, String table, Duration maxLag, long seed) {
        this.dynamoDb = Objects.requireNonNull(dynamoDb, "dynamoDb");
        this.table = Objects.requireNonNull(table, "table");
        this.maxLag = Objects.requireNonNull(maxLag, "maxLag");
        this.seed = seed;
    }

    /** Every record deleted so far, by job id. */
    Map<String, Reaped> reaped() {
        return Map.copyOf(reaped);
    }

    /** Stops after the current pass; {@link #run()} returns. */
    void stop() {
        stopped = true;
    }

    @Override
    public void run() {
        while (!stopped) {
            try {
                reapOnce(Instant.now());
            } catch (SdkException e) {
                // The emulator itself, behind no proxy: a pass that fails is simply the next one's work.
            }
            try {
                Thread.sleep(SCAN_EVERY.toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** One pass: deletes the records whose TTL, plus their own lag, has passed by {@code now}. */
    void reapOnce(Instant now) {
        Map<String, AttributeValue> values = Map.of(":now", AttributeValue.fromN(Long.toString(now.getEpochSecond())));
        Map<String, String> names = Map.of("#id", JobTable.JOB_ID, "#expiresAt", JobTable.EXPIRES_AT);
        dynamoDb.scanPaginator(r -> r.tableName(table).projectionExpression("#id, #expiresAt")
                        .filterExpression("#expiresAt < :now").expressionAttributeNames(names)
                        .expressionAttributeValues(values))
                .items().forEach(item -> {
                    if (stopped) {
                        return;
                    }
                    String jobId = item.get(JobTable.JOB_ID).s();
                    long expiresAt = Long.parseLong(item.get(JobTable.EXPIRES_AT).n());
                    if (now.getEpochSecond() >= expiresAt + lagOf(jobId).toSeconds()) {
                        delete(jobId, now);
                    }
                });
    }

    private void delete(String jobId, Instant now) {
        Map<String, AttributeValue> key = new HashMap<>();
        key.put(JobTable.JOB_ID, AttributeValue.fromS(jobId));
        try {
            DeleteItemResponse response = dynamoDb.deleteItem(r -> r.tableName(table).key(key)
                    .conditionExpression("#expiresAt < :now")
                    .expressionAttributeNames(Map.of("#expiresAt", JobTable.EXPIRES_AT))
                    .expressionAttributeValues(Map.of(":now", AttributeValue.fromN(Long.toString(now.getEpochSecond()))))
                    .returnValues(ReturnValue.ALL_OLD));
            if (response.hasAttributes() && !response.attributes().isEmpty()) {
                reaped.put(jobId, new Reaped(JobTable.SCHEMA.mapToItem(response.attributes()), Instant.now()));
            }
        } catch (ConditionalCheckFailedException e) {
            // Its TTL moved on (claimed again after a redrive) or it is gone: not expired any more.
        }
    }

    /** This record's lag behind its TTL: from 0 to {@code maxLag}, fixed per record and seed. */
    private Duration lagOf(String jobId) {
        long mixed = (jobId.hashCode() * 0x9E3779B97F4A7C15L) ^ seed;
        double share = ((mixed >>> 11) & ((1L << 53) - 1)) / (double) (1L << 53);
        return Duration.ofMillis((long) (maxLag.toMillis() * share));
    }
}
