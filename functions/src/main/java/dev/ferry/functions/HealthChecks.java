package dev.ferry.functions;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.AwsErrors;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.Pools;
import dev.ferry.core.Json;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.exception.SdkServiceException;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

/**
 * {@code GET /health}: whether the API's dependencies answer. Each check is one cheap read (a
 * {@code GetItem} of a key no job has, {@code GetQueueAttributes} of the job queue and of its DLQ,
 * {@code HeadBucket} of the files bucket where there is one), all at once, each given
 * {@link #TIMEOUT}. The answer is kept for {@link #CACHE_FOR}: however often the route is called,
 * a warm function instance makes at most one round of checks per that time.
 *
 * <p>A failure is named by the check and the kind of error only (an error code, "timed out",
 * "unreachable"), never the service's message, which can carry ARNs, account ids or role names:
 * the route is unauthenticated. The full error goes to the function's log.
 */
final class HealthChecks {

    private static final Logger LOG = LoggerFactory.getLogger(HealthChecks.class);
    static final Duration TIMEOUT = Duration.ofSeconds(2);
    static final Duration CACHE_FOR = Duration.ofSeconds(5);
    /** A key no job has (job ids are ULIDs): the read costs half a read unit and finds nothing. */
    static final String PROBE_KEY = "ferry-health-probe";

    /** One dependency's check. */
    @FunctionalInterface
    interface Probe {
        void run();
    }

    /** The outcome: 200 with {@code "ok"} when every check passed, else 503 naming each that failed. */
    record Result(boolean ok, ObjectNode body) {
    }

    private final Map<String, Probe> probes;
    private final Duration timeout;
    private final Duration cacheFor;
    private final ExecutorService threads;
    private Result cached;
    private long cachedAt;

    HealthChecks(Map<String, Probe> probes, Duration timeout, Duration cacheFor) {
        this.probes = new LinkedHashMap<>(Objects.requireNonNull(probes, "probes"));
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.cacheFor = Objects.requireNonNull(cacheFor, "cacheFor");
        this.threads = Executors.newCachedThreadPool(runnable -> {
            Thread thread = new Thread(runnable, "ferry-health");
            thread.setDaemon(true);
            return thread;
        });
    }

    static HealthChecks fromEnvironment(FerryEnv env, DynamoDbClient dynamoDb, SqsClient sqs, Optional<S3Client> s3) {
        Map<String, Probe> probes = new LinkedHashMap<>();
        String table = env.required(FerryEnv.TABLE);
        probes.put("jobsTable", () -> dynamoDb.getItem(r -> r.tableName(table)
                .key(Map.of("jobId", AttributeValue.fromS(PROBE_KEY)))));
        // Each pool's queues; a deployment without pools has one, named as before pools.
        boolean named = env.optional(Pools.POOLS).isPresent();
        for (Pools.Pool pool : Pools.from(env).all()) {
            String prefix = named ? pool.name() + "." : "";
            probes.put(prefix + "jobQueue", () -> queueAttributes(sqs, pool.queueUrl()));
            pool.priorityQueueUrl().ifPresent(url -> probes.put(prefix + "priorityQueue", () -> queueAttributes(sqs, url)));
            String deadLetters = pool.deadLetterQueueUrl().orElseThrow(() -> new IllegalStateException(
                    (named ? Pools.deadLetterVariable(pool.name()) : FerryEnv.DLQ_URL) + " is not set; Ferry needs it"
                            + " (see README, Configuration)"));
            probes.put(prefix + "deadLetterQueue", () -> queueAttributes(sqs, deadLetters));
        }
        env.optional(FerryEnv.BUCKET).ifPresent(bucket -> s3.ifPresent(client ->
                probes.put("filesBucket", () -> client.headBucket(r -> r.bucket(bucket)))));
        return new HealthChecks(probes, TIMEOUT, CACHE_FOR);
    }

    private static void queueAttributes(SqsClient sqs, String queueUrl) {
        sqs.getQueueAttributes(r -> r.queueUrl(queueUrl).attributeNames(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES));
    }

    /** The last answer if it is younger than {@link #CACHE_FOR}, else a fresh round of checks. */
    synchronized Result check() {
        long now = System.nanoTime();
        if (cached != null && now - cachedAt < cacheFor.toNanos()) {
            return cached;
        }
        cached = run();
        cachedAt = System.nanoTime();
        return cached;
    }

    private Result run() {
        Map<String, CompletableFuture<Void>> running = new LinkedHashMap<>();
        probes.forEach((name, probe) -> running.put(name, CompletableFuture.runAsync(probe::run, threads)));
        long deadline = System.nanoTime() + timeout.toNanos();
        ObjectNode checks = Json.MAPPER.createObjectNode();
        List<String> failed = new ArrayList<>();
        running.forEach((name, future) -> {
            long started = System.nanoTime();
            String problem = null;
            try {
                future.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                future.cancel(true);
                problem = "no answer within " + timeout.toMillis() + " ms";
            } catch (ExecutionException e) {
                problem = describe(e.getCause());
                LOG.warn("health check {} failed: {}", name, e.getCause() instanceof SdkException sdk
                        ? AwsErrors.describe(sdk) : String.valueOf(e.getCause()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                problem = "interrupted";
            }
            ObjectNode check = checks.putObject(name);
            check.put("status", problem == null ? "ok" : "failed");
            if (problem != null) {
                check.put("error", problem);
                failed.add(name);
            }
        });
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.put("status", failed.isEmpty() ? "ok" : "unavailable");
        if (!failed.isEmpty()) {
            body.put("failed", String.join(", ", failed));
        }
        body.set("checks", checks);
        return new Result(failed.isEmpty(), body);
    }

    /** The kind of failure only: an unauthenticated caller learns what is down, not how the account is built. */
    static String describe(Throwable e) {
        if (e instanceof SdkServiceException service) {
            String code = e instanceof software.amazon.awssdk.awscore.exception.AwsServiceException aws
                    && aws.awsErrorDetails() != null && aws.awsErrorDetails().errorCode() != null
                    ? aws.awsErrorDetails().errorCode() : "error";
            return code.replaceAll("[^A-Za-z0-9.]", "") + " (HTTP " + service.statusCode() + ")";
        }
        if (e instanceof SdkClientException) {
            return "unreachable or no answer (" + e.getClass().getSimpleName() + ")";
        }
        return "failed (" + (e == null ? "unknown" : e.getClass().getSimpleName()) + ")";
    }
}
