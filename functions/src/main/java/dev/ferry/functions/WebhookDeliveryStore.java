package dev.ferry.functions;

import dev.ferry.core.FerryEnv;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.GetItemRequest;
import software.amazon.awssdk.services.dynamodb.model.PutItemRequest;
import software.amazon.awssdk.services.dynamodb.model.ReturnValuesOnConditionCheckFailure;

/**
 * The webhook deliveries table: one item per job, keyed by {@code jobId} like the job's record
 * but in a table of its own, so that a job's deliveries never grow its record (which may already
 * hold a 256 KiB input and a 100 KiB result, under DynamoDB's 400 KB item limit), and a delivery's
 * write never contends with the workers' fenced writes or reaches the job table's change stream.
 *
 * <p>Each write reads the item, changes it and puts it back on the condition that its
 * {@code revision} is still the one read. A write whose response was lost is recognised when the
 * SDK's retry fails that condition: the item DynamoDB returns is exactly the one it wrote. A write
 * that lost the race to another is made again on the item that won.
 */
final class WebhookDeliveryStore {

    /** The deliveries table's name. */
    static final String TABLE = WebhookSettings.TABLE;
    /** Tries of one change against concurrent writers before giving up. */
    static final int MAX_TRIES = 5;

    static final String JOB_ID = "jobId";
    static final String ATTEMPTS = "attempts";
    static final String SETTLED = "settled";
    static final String LATEST = "latest";
    static final String GONE_AT = "goneAt";
    static final String ATTEMPTS_TOTAL = "attemptsTotal";
    static final String REVISION = "revision";
    static final String EXPIRES_AT = "expiresAt";

    static final String CREATE_CONDITION = "attribute_not_exists(#jobId)";
    static final String UPDATE_CONDITION = "#revision = :revision";

    private final DynamoDbClient dynamoDb;
    private final String tableName;
    private final Duration retention;
    private final Clock clock;

    WebhookDeliveryStore(DynamoDbClient dynamoDb, String tableName, Duration retention, Clock clock) {
        this.dynamoDb = Objects.requireNonNull(dynamoDb, "dynamoDb");
        this.tableName = Objects.requireNonNull(tableName, "tableName");
        this.retention = Objects.requireNonNull(retention, "retention");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** {@value #TABLE}; its items expire {@code FERRY_RETENTION_DAYS} after their last write, like the jobs'. */
    static WebhookDeliveryStore fromEnvironment(DynamoDbClient dynamoDb, FerryEnv env) {
        return new WebhookDeliveryStore(dynamoDb, env.required(TABLE), env.retention(), Clock.systemUTC());
    }

    /** The job's deliveries (a strongly consistent read); empty when none was ever recorded. */
    Optional<WebhookDeliveries> get(String jobId) {
        Map<String, AttributeValue> item = dynamoDb.getItem(GetItemRequest.builder()
                .tableName(tableName)
                .key(Map.of(JOB_ID, AttributeValue.fromS(jobId)))
                .consistentRead(true)
                .build()).item();
        return item == null || item.isEmpty() ? Optional.empty() : Optional.of(fromItem(item));
    }

    /**
     * Applies {@code change} to the job's deliveries as they are now and writes the result.
     *
     * @param change from the current state to the new one; it must add one revision
     * @return what was written
     * @throws IllegalStateException when other writers won {@value #MAX_TRIES} times in a row
     */
    WebhookDeliveries update(String jobId, UnaryOperator<WebhookDeliveries> change) {
        WebhookDeliveries current = get(jobId).orElseGet(() -> WebhookDeliveries.none(jobId));
        for (int tries = 1; ; tries++) {
            WebhookDeliveries next = change.apply(current);
            if (next.revision() != current.revision() + 1) {
                throw new IllegalArgumentException("a change must add one revision: " + current.revision() + " -> "
                        + next.revision());
            }
            Map<String, AttributeValue> item = toItem(next, clock.instant().plus(retention));
            PutItemRequest.Builder put = PutItemRequest.builder()
                    .tableName(tableName)
                    .item(item)
                    .returnValuesOnConditionCheckFailure(ReturnValuesOnConditionCheckFailure.ALL_OLD);
            if (current.revision() == 0) {
                put.conditionExpression(CREATE_CONDITION).expressionAttributeNames(Map.of("#jobId", JOB_ID));
            } else {
                put.conditionExpression(UPDATE_CONDITION)
                        .expressionAttributeNames(Map.of("#revision", REVISION))
                        .expressionAttributeValues(Map.of(":revision", n(current.revision())));
            }
            try {
                dynamoDb.putItem(put.build());
                return next;
            } catch (ConditionalCheckFailedException e) {
                Map<String, AttributeValue> found = e.hasItem() ? e.item() : Map.of();
                if (item.equals(found)) {
                    return next; // our own earlier try, whose response was lost
                }
                if (tries == MAX_TRIES) {
                    throw new IllegalStateException("the webhook deliveries of job " + jobId + " changed under "
                            + MAX_TRIES + " writes in a row", e);
                }
                current = found.isEmpty() ? WebhookDeliveries.none(jobId) : fromItem(found);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------

    static Map<String, AttributeValue> toItem(WebhookDeliveries deliveries, Instant expiresAt) {
        Map<String, AttributeValue> item = new LinkedHashMap<>();
        item.put(JOB_ID, AttributeValue.fromS(deliveries.jobId()));
        List<AttributeValue> attempts = new ArrayList<>();
        for (WebhookDeliveries.Attempt attempt : deliveries.attempts()) {
            Map<String, AttributeValue> map = new LinkedHashMap<>();
            map.put("deliveryId", AttributeValue.fromS(attempt.deliveryId()));
            map.put("event", AttributeValue.fromS(attempt.event()));
            map.put("attempt", n(attempt.attempt()));
            map.put("at", AttributeValue.fromS(attempt.at().toString()));
            if (attempt.statusCode() != null) {
                map.put("statusCode", n(attempt.statusCode()));
            }
            map.put("durationMs", n(attempt.durationMs()));
            map.put("outcome", AttributeValue.fromS(attempt.outcome()));
            if (attempt.error() != null) {
                map.put("error", AttributeValue.fromS(attempt.error()));
            }
            attempts.add(AttributeValue.fromM(map));
        }
        item.put(ATTEMPTS, AttributeValue.fromL(attempts));
        item.put(SETTLED, AttributeValue.fromL(deliveries.settled().stream().map(AttributeValue::fromS).toList()));
        if (deliveries.latest() != null) {
            WebhookDeliveries.Event latest = deliveries.latest();
            item.put(LATEST, AttributeValue.fromM(Map.of(
                    "deliveryId", AttributeValue.fromS(latest.deliveryId()),
                    "event", AttributeValue.fromS(latest.event()),
                    "version", n(latest.version()),
                    "at", AttributeValue.fromS(latest.at().toString()))));
        }
        if (deliveries.goneAt() != null) {
            item.put(GONE_AT, AttributeValue.fromS(deliveries.goneAt().toString()));
        }
        item.put(ATTEMPTS_TOTAL, n(deliveries.attemptsTotal()));
        item.put(REVISION, n(deliveries.revision()));
        item.put(EXPIRES_AT, n(expiresAt.getEpochSecond()));
        return item;
    }

    static WebhookDeliveries fromItem(Map<String, AttributeValue> item) {
        List<WebhookDeliveries.Attempt> attempts = new ArrayList<>();
        for (AttributeValue value : list(item, ATTEMPTS)) {
            Map<String, AttributeValue> map = value.m();
            attempts.add(new WebhookDeliveries.Attempt(map.get("deliveryId").s(), map.get("event").s(),
                    Integer.parseInt(map.get("attempt").n()), Instant.parse(map.get("at").s()),
                    map.containsKey("statusCode") ? Integer.valueOf(map.get("statusCode").n()) : null,
                    Long.parseLong(map.get("durationMs").n()), map.get("outcome").s(),
                    map.containsKey("error") ? map.get("error").s() : null));
        }
        List<String> settled = list(item, SETTLED).stream().map(AttributeValue::s).toList();
        WebhookDeliveries.Event latest = null;
        if (item.containsKey(LATEST)) {
            Map<String, AttributeValue> map = item.get(LATEST).m();
            latest = new WebhookDeliveries.Event(map.get("deliveryId").s(), map.get("event").s(),
                    Long.parseLong(map.get("version").n()), Instant.parse(map.get("at").s()));
        }
        return new WebhookDeliveries(item.get(JOB_ID).s(), attempts, settled, latest,
                item.containsKey(GONE_AT) ? Instant.parse(item.get(GONE_AT).s()) : null,
                item.containsKey(ATTEMPTS_TOTAL) ? Long.parseLong(item.get(ATTEMPTS_TOTAL).n()) : attempts.size(),
                Long.parseLong(item.get(REVISION).n()));
    }

    private static List<AttributeValue> list(Map<String, AttributeValue> item, String name) {
        AttributeValue value = item.get(name);
        return value != null && value.hasL() ? value.l() : List.of();
    }

    private static AttributeValue n(long value) {
        return AttributeValue.fromN(Long.toString(value));
    }
}
