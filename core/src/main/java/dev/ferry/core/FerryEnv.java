package dev.ferry.core;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The environment Ferry reads its configuration from, and the names of the variables that the
 * functions and the worker share. The worker's own variables live in {@code WorkerConfig}.
 *
 * <p>The environment is a map rather than {@link System#getenv()} so that the local stack can run
 * the same handler and worker classes in one JVM with its own values.
 */
public final class FerryEnv {

    /** Name of the DynamoDB table that holds one record per job. */
    public static final String TABLE = "FERRY_TABLE";
    /** URL of the SQS queue jobs are sent to. */
    public static final String QUEUE_URL = "FERRY_QUEUE_URL";
    /** URL of the job queue's dead-letter queue (the admin function). */
    public static final String DLQ_URL = "FERRY_DLQ_URL";
    /** Largest message the queue accepts, in bytes; a larger job is refused with 413. */
    public static final String MAX_MESSAGE_BYTES = "FERRY_MAX_MESSAGE_BYTES";
    /** The largest input a job may send as an upload ({@code inputUpload}), in bytes. */
    public static final String MAX_INPUT_UPLOAD_BYTES = "FERRY_MAX_INPUT_UPLOAD_BYTES";
    /**
     * How long a finished job's record is kept (DynamoDB TTL, counted from when it finished): whole
     * days, or an ISO-8601 duration ({@code PT10M}) for tests and soaks.
     */
    public static final String RETENTION_DAYS = "FERRY_RETENTION_DAYS";
    /** Optional comma-separated list of accepted job types; empty or unset accepts any. */
    public static final String JOB_TYPES = "FERRY_JOB_TYPES";
    /**
     * Optional default deadline per job type, for jobs submitted without one: {@code sd=10m,train=12h}
     * (durations as the {@code Cancel-After} header takes them). Read by the submit function.
     */
    public static final String DEFAULT_DEADLINES = "FERRY_DEFAULT_DEADLINES";
    /** The bucket of job files: outputs, large results, logs, uploads. Unset: jobs have no files. */
    public static final String BUCKET = "FERRY_BUCKET";
    /** How long a presigned URL (a file's, an upload's) is valid; default one hour. */
    public static final String URL_EXPIRY = "FERRY_URL_EXPIRY";
    /**
     * The DynamoDB table of worker heartbeats (key {@code workerId}, TTL {@code expiresAt}): each
     * worker writes its own item, the admin function reads them all. Unset: no heartbeats, no fleet.
     */
    public static final String WORKERS_TABLE = "FERRY_WORKERS_TABLE";

    /** The SDK's own variables, read through this map so the local stack can set them. */
    public static final String AWS_REGION = "AWS_REGION";
    public static final String AWS_ENDPOINT_URL_SQS = "AWS_ENDPOINT_URL_SQS";
    public static final String AWS_ENDPOINT_URL_DYNAMODB = "AWS_ENDPOINT_URL_DYNAMODB";
    public static final String AWS_ENDPOINT_URL_S3 = "AWS_ENDPOINT_URL_S3";
    /** When S3 uploads carry a checksum: the SDK's {@code WHEN_SUPPORTED} (default) or {@code WHEN_REQUIRED}. */
    public static final String AWS_REQUEST_CHECKSUM_CALCULATION = "AWS_REQUEST_CHECKSUM_CALCULATION";
    public static final String AWS_ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID";
    public static final String AWS_SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY";
    public static final String AWS_SESSION_TOKEN = "AWS_SESSION_TOKEN";

    /** {@code text} (default: readable lines) or {@code json} (one JSON object a line, the deployed setting). */
    public static final String LOG_FORMAT = "FERRY_LOG_FORMAT";
    /** The root log level: ERROR, WARN, INFO (default), DEBUG, TRACE. */
    public static final String LOG_LEVEL = "FERRY_LOG_LEVEL";
    /**
     * CloudWatch namespace of the metrics, written as embedded metric format lines to stdout; unset
     * (the default, local runs): no metric lines.
     */
    public static final String METRICS_NAMESPACE = "FERRY_METRICS_NAMESPACE";
    /** The worker pool a worker serves, a dimension of its metrics; default {@code default}. */
    public static final String POOL = "FERRY_POOL";

    public static final int DEFAULT_MAX_MESSAGE_BYTES = 262_144;
    public static final int DEFAULT_MAX_INPUT_UPLOAD_BYTES = 32 * 1024 * 1024;
    public static final int DEFAULT_RETENTION_DAYS = 30;

    private final Map<String, String> values;

    private FerryEnv(Map<String, String> values) {
        this.values = Map.copyOf(values);
    }

    public static FerryEnv of(Map<String, String> values) {
        return new FerryEnv(Objects.requireNonNull(values, "values"));
    }

    public static FerryEnv system() {
        return new FerryEnv(System.getenv());
    }

    public Map<String, String> asMap() {
        return values;
    }

    /** The value, or empty when the variable is unset or blank. */
    public Optional<String> optional(String name) {
        String value = values.get(name);
        return value == null || value.isBlank() ? Optional.empty() : Optional.of(value.trim());
    }

    /** The value; fails fast, naming the variable, when it is unset. */
    public String required(String name) {
        return optional(name).orElseThrow(() -> new IllegalStateException(
                "environment variable " + name + " is not set; Ferry needs it (see README, Configuration)"));
    }

    public int intValue(String name, int defaultValue) {
        Optional<String> raw = optional(name);
        if (raw.isEmpty()) {
            return defaultValue;
        }
        try {
            return Integer.parseInt(raw.get());
        } catch (NumberFormatException e) {
            throw new IllegalStateException(
                    "environment variable " + name + " must be an integer, but is '" + raw.get() + "'", e);
        }
    }

    /** {@value #RETENTION_DAYS}: whole days, or an ISO-8601 duration; default {@value #DEFAULT_RETENTION_DAYS} days. */
    public Duration retention() {
        Optional<String> raw = optional(RETENTION_DAYS);
        if (raw.isEmpty()) {
            return Duration.ofDays(DEFAULT_RETENTION_DAYS);
        }
        Duration value;
        try {
            value = raw.get().matches("\\d{1,6}") ? Duration.ofDays(Long.parseLong(raw.get())) : Duration.parse(raw.get());
        } catch (DateTimeParseException e) {
            throw new IllegalStateException("environment variable " + RETENTION_DAYS
                    + " must be a number of days (\"30\") or an ISO-8601 duration (\"PT10M\"), but is '" + raw.get() + "'", e);
        }
        if (value.isZero() || value.isNegative()) {
            throw new IllegalStateException("environment variable " + RETENTION_DAYS + " must be positive, but is '"
                    + raw.get() + "'");
        }
        return value;
    }

    /** A duration given as seconds ("90"), or ISO-8601 ("PT90S", "PT1.5S"). */
    public Duration duration(String name, Duration defaultValue) {
        Optional<String> raw = optional(name);
        if (raw.isEmpty()) {
            return defaultValue;
        }
        return parseDuration(name, raw.get());
    }

    public static Duration parseDuration(String name, String raw) {
        try {
            Duration value = raw.matches("\\d{1,9}(\\.\\d{1,3})?")
                    ? Duration.ofMillis(new BigDecimal(raw).movePointRight(3).longValueExact())
                    : Duration.parse(raw);
            if (value.isNegative()) {
                throw new IllegalStateException("environment variable " + name + " must not be negative: '" + raw + "'");
            }
            return value;
        } catch (DateTimeParseException | ArithmeticException e) {
            throw new IllegalStateException("environment variable " + name
                    + " must be seconds (\"90\") or an ISO-8601 duration (\"PT90S\"), but is '" + raw + "'", e);
        }
    }
}
