package dev.ferry.core;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * One attempt of a job, as its record's history keeps it: who ran it where, when, how it ended,
 * and where its log is. Written by the attempt's own outcome write; for an attempt whose worker
 * vanished (or lost its lease), by the claim that took its lease over, as {@value #LEASE_LOST}.
 *
 * @param attempt which attempt (the record's {@code attempts} when it was claimed)
 * @param worker the worker's id
 * @param slot the GPU slot's index; {@value #UNKNOWN_SLOT} where it is not known (a lease lost)
 * @param outcome {@code succeeded}, {@code failed}, {@code retrying} (failed, another attempt
 *     follows), {@code given back} (its machine went away; not counted against the budget),
 *     {@code cancelled} (stopped: a client's cancel, or its deadline) or {@code lease lost} (its
 *     worker stopped renewing the lease; another claim took it over)
 * @param error the attempt's error, if it failed
 * @param logKey the key of its log in the job files bucket, if kept
 */
public record AttemptRecord(int attempt, String worker, int slot, Instant startedAt, Instant endedAt, String outcome,
                            String error, String logKey) {

    public static final String SUCCEEDED = "succeeded";
    public static final String FAILED = "failed";
    public static final String RETRYING = "retrying";
    public static final String GIVEN_BACK = "given back";
    public static final String CANCELLED = "cancelled";
    public static final String LEASE_LOST = "lease lost";
    /** The slot of an attempt whose worker is gone: not known, and not written. */
    public static final int UNKNOWN_SLOT = -1;
    /** Longest error kept in a history entry (the record's own error holds the latest in full). */
    static final int MAX_ERROR_CHARS = 300;
    /**
     * Most entries a record keeps: a job given back by Spot again and again must not grow its
     * record towards DynamoDB's 400 KB item limit. Later attempts are counted ({@code attempts},
     * {@code preemptions}) but not listed.
     */
    public static final int MAX_ENTRIES = 40;
    /** Most bytes one entry takes of the record (its error cut to {@value #MAX_ERROR_CHARS} characters). */
    public static final int MAX_BYTES = 1_400;

    public AttemptRecord {
        Objects.requireNonNull(worker, "worker");
        Objects.requireNonNull(outcome, "outcome");
    }

    AttributeValue toAttributeValue() {
        Map<String, AttributeValue> map = new LinkedHashMap<>();
        map.put("attempt", AttributeValue.fromN(Integer.toString(attempt)));
        map.put("worker", AttributeValue.fromS(worker));
        if (slot != UNKNOWN_SLOT) {
            map.put("slot", AttributeValue.fromN(Integer.toString(slot)));
        }
        if (startedAt != null) {
            map.put("startedAt", AttributeValue.fromS(startedAt.toString()));
        }
        if (endedAt != null) {
            map.put("endedAt", AttributeValue.fromS(endedAt.toString()));
        }
        map.put("outcome", AttributeValue.fromS(outcome));
        if (error != null && !error.isBlank()) {
            map.put("error", AttributeValue.fromS(error.length() <= MAX_ERROR_CHARS ? error
                    : error.substring(0, MAX_ERROR_CHARS - 1) + "…"));
        }
        if (logKey != null) {
            map.put("logKey", AttributeValue.fromS(logKey));
        }
        return AttributeValue.fromM(map);
    }

    static AttemptRecord fromAttributeValue(AttributeValue value) {
        Map<String, AttributeValue> map = value.m();
        return new AttemptRecord(
                Integer.parseInt(map.get("attempt").n()),
                map.get("worker").s(),
                map.containsKey("slot") ? Integer.parseInt(map.get("slot").n()) : UNKNOWN_SLOT,
                map.containsKey("startedAt") ? Instant.parse(map.get("startedAt").s()) : null,
                map.containsKey("endedAt") ? Instant.parse(map.get("endedAt").s()) : null,
                map.get("outcome").s(),
                map.containsKey("error") ? map.get("error").s() : null,
                map.containsKey("logKey") ? map.get("logKey").s() : null);
    }
}
