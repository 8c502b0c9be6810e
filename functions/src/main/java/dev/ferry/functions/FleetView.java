package dev.ferry.functions;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.AwsClients;
import dev.ferry.core.AwsErrors;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.Job;
import dev.ferry.core.JobQueries;
import dev.ferry.core.JobStatus;
import dev.ferry.core.Json;
import dev.ferry.core.Pools;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.autoscaling.AutoScalingClient;
import software.amazon.awssdk.services.autoscaling.model.AutoScalingGroup;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ScanResponse;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

/**
 * {@code GET /admin/api/fleet}: the workers as their heartbeats say (the workers table), the Auto
 * Scaling group's counts where there is one, the queue's backlog, and {@link FleetDiagnosis}'s
 * answer to "why do jobs wait?".
 *
 * <p>The table is scanned: it holds one small item per worker process and nothing else, so a scan
 * reads the fleet and no more. Paginated, and bounded at {@link #MAX_ITEMS} items (a fleet of at
 * most the group's max, 100 by the template's bound, plus items of stopped workers that TTL has not
 * deleted yet); past it the answer says {@code "truncated": true}. Eventually consistent reads
 * (half the price): a heartbeat is seconds old anyway. Items whose {@code expiresAt} has passed are
 * left out, since TTL deletes late.
 */
final class FleetView {

    private static final Logger LOG = LoggerFactory.getLogger(FleetView.class);
    /**
     * The group of a deployment without pools; unset or blank: no group. With pools, each pool's is
     * {@code FERRY_POOL_<name>_WORKER_GROUP} ({@code <stack>-<pool>-workers} in the template).
     */
    static final String WORKER_GROUP = "FERRY_WORKER_GROUP";
    /** The SDK's own name for an Auto Scaling endpoint override. */
    static final String AUTO_SCALING_ENDPOINT = "AWS_ENDPOINT_URL_AUTO_SCALING";
    static final int MAX_ITEMS = 2_000;
    /** A worker not heard from for this many heartbeats is silent: not counted as live. */
    static final int SILENT_AFTER_BEATS = 3;
    static final Duration FAILURE_WINDOW = Duration.ofHours(1);

    private final DynamoDbClient dynamoDb;
    private final String table;
    private final Optional<AutoScalingClient> autoScaling;
    private final List<Pool> pools;
    private final SqsClient sqs;
    private final Optional<JobQueries> jobs;
    private final Clock clock;

    /**
     * One pool as the fleet view reads it: its name, its queues (the backlog: {@link Pools.Pool#queueUrls()}),
     * its group if any, and which (failed) jobs are its own.
     */
    record Pool(String name, List<String> queueUrls, Optional<String> group, java.util.function.Predicate<Job> owns,
                Optional<String> function) {

        Pool(String name, List<String> queueUrls, Optional<String> group, java.util.function.Predicate<Job> owns) {
            this(name, queueUrls, group, owns, Optional.empty());
        }
    }

    /** One pool, {@code default}: the fleet of a deployment without pools. */
    FleetView(DynamoDbClient dynamoDb, String table, Optional<AutoScalingClient> autoScaling, Optional<String> group,
              SqsClient sqs, String queueUrl, Optional<JobQueries> jobs, Clock clock) {
        this(dynamoDb, table, autoScaling, List.of(new Pool(Pools.DEFAULT_POOL, List.of(queueUrl), group,
                job -> true)), sqs, jobs, clock);
    }

    FleetView(DynamoDbClient dynamoDb, String table, Optional<AutoScalingClient> autoScaling, List<Pool> pools,
              SqsClient sqs, Optional<JobQueries> jobs, Clock clock) {
        this.dynamoDb = Objects.requireNonNull(dynamoDb, "dynamoDb");
        this.table = Objects.requireNonNull(table, "table");
        this.autoScaling = Objects.requireNonNull(autoScaling, "autoScaling");
        this.pools = List.copyOf(pools);
        if (this.pools.isEmpty()) {
            throw new IllegalArgumentException("a fleet view needs a pool");
        }
        this.sqs = Objects.requireNonNull(sqs, "sqs");
        this.jobs = Objects.requireNonNull(jobs, "jobs");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** {@code FERRY_POOL_<name>_FUNCTION}: a Lambda pool's function, which runs its jobs instead of workers. */
    static String functionVariable(String pool) {
        return "FERRY_POOL_" + pool + "_FUNCTION";
    }

    /** {@code FERRY_POOL_<name>_WORKER_GROUP}. */
    static String workerGroupVariable(String pool) {
        return "FERRY_POOL_" + pool + "_WORKER_GROUP";
    }

    /** Empty when {@code FERRY_WORKERS_TABLE} is not set (then the route says there is no fleet view). */
    static Optional<FleetView> fromEnvironment(FerryEnv env, SqsClient sqs, DynamoDbClient dynamoDb, JobQueries jobs) {
        Optional<String> table = env.optional(FerryEnv.WORKERS_TABLE);
        if (table.isEmpty()) {
            return Optional.empty();
        }
        boolean named = env.optional(Pools.POOLS).isPresent();
        Pools configured = Pools.from(env);
        // A failed job's own pool: listings do not hold it, so by its type's route (Pools.poolOf).
        List<Pool> pools = configured.all().stream().map(pool -> new Pool(pool.name(), pool.queueUrls(),
                env.optional(named ? workerGroupVariable(pool.name()) : WORKER_GROUP),
                job -> configured.poolOf(job).map(Pools.Pool::name).orElse("").equals(pool.name()),
                named ? env.optional(functionVariable(pool.name())) : Optional.empty())).toList();
        Optional<AutoScalingClient> autoScaling = pools.stream().anyMatch(pool -> pool.group().isPresent())
                ? Optional.of(AwsClients.configure(AutoScalingClient.builder(), env, AUTO_SCALING_ENDPOINT).build())
                : Optional.empty();
        return Optional.of(new FleetView(dynamoDb, table.get(), autoScaling, pools, sqs, Optional.of(jobs),
                Clock.systemUTC()));
    }

    ObjectNode fleet() {
        Instant now = clock.instant();
        ObjectNode out = Json.MAPPER.createObjectNode();
        out.put("at", now.toString());
        List<JsonNode> all = new ArrayList<>();
        boolean truncated = scan(now, all);
        all.sort(Comparator.comparing((JsonNode w) -> w.path("pool").asText())
                .thenComparing(w -> w.path("workerId").asText()));
        List<JsonNode> live = new ArrayList<>();
        ArrayNode workers = out.putArray("workers");
        int slots = 0;
        int busy = 0;
        for (JsonNode worker : all) {
            workers.add(worker);
            if (worker.path("live").asBoolean()) {
                live.add(worker);
                for (JsonNode slot : worker.path("slots")) {
                    slots++;
                    busy += slot.path("state").asText().equals("BUSY") ? 1 : 0;
                }
            }
        }
        out.put("truncated", truncated);
        ObjectNode totals = out.putObject("totals");
        totals.put("live", live.size());
        totals.put("draining", live.stream().filter(w -> w.path("draining").asBoolean()).count());
        totals.put("slots", slots);
        totals.put("busy", busy);
        // Each pool: its group, its backlog and a diagnosis over its own workers. The first pool's is also
        // the answer's own (autoScaling, waiting, diagnosis), as for a deployment of one pool.
        ArrayNode byPool = out.putArray("pools");
        for (Pool pool : pools) {
            ObjectNode node = pools.get(0) == pool ? out : Json.MAPPER.createObjectNode();
            node.put("pool", pool.name());
            java.util.function.Predicate<JsonNode> itsOwn = worker -> pools.size() == 1
                    || pool.name().equals(worker.path("pool").asText());
            List<JsonNode> own = live.stream().filter(itsOwn).toList();
            List<JsonNode> starts = all.stream().filter(itsOwn).toList();
            Optional<FleetDiagnosis.Group> counts = autoScalingGroup(pool, node);
            long backlog = backlog(pool, node);
            if (pool.function().isPresent()) {
                node.put("function", pool.function().get());
                node.set("diagnosis", FleetDiagnosis.diagnoseFunction(Math.max(0, backlog), pool.function().get(),
                        failuresByType(pool, now, backlog)));
            } else {
                node.set("diagnosis", FleetDiagnosis.diagnose(Math.max(0, backlog), own, starts, counts,
                        failuresByType(pool, now, backlog), now));
            }
            byPool.add(node == out ? poolPart(out) : node);
        }
        return out;
    }

    /** The pool's own part of the answer, for the {@code pools} list. */
    private static ObjectNode poolPart(ObjectNode out) {
        ObjectNode part = Json.MAPPER.createObjectNode();
        for (String field : List.of("pool", "function", "autoScaling", "waiting", "delayed", "waitingUnavailable",
                "diagnosis")) {
            if (out.has(field)) {
                part.set(field, out.get(field));
            }
        }
        return part;
    }

    /** Every unexpired item, as its snapshot plus how old its heartbeat is; true when cut at {@link #MAX_ITEMS}. */
    private boolean scan(Instant now, List<JsonNode> out) {
        Map<String, AttributeValue> start = null;
        do {
            Map<String, AttributeValue> from = start;
            ScanResponse page = dynamoDb.scan(r -> r.tableName(table).exclusiveStartKey(from));
            for (Map<String, AttributeValue> item : page.items()) {
                worker(item, now).ifPresent(out::add);
                if (out.size() >= MAX_ITEMS) {
                    return true;
                }
            }
            start = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null;
        } while (start != null);
        return false;
    }

    /** The item's snapshot with {@code heartbeatAgeSeconds} and {@code live}; empty when expired or unreadable. */
    static Optional<JsonNode> worker(Map<String, AttributeValue> item, Instant now) {
        AttributeValue expires = item.get("expiresAt");
        AttributeValue snapshot = item.get("snapshot");
        AttributeValue beat = item.get("heartbeatAt");
        if (expires == null || expires.n() == null || snapshot == null || snapshot.s() == null || beat == null
                || beat.n() == null) {
            return Optional.empty();
        }
        try {
            if (Long.parseLong(expires.n()) <= now.getEpochSecond()) {
                return Optional.empty(); // TTL deletes late: an expired item is gone for the reader
            }
            JsonNode parsed = Json.parse(snapshot.s());
            if (!(parsed instanceof ObjectNode node)) {
                return Optional.empty();
            }
            long ageSeconds = Math.max(0, Duration.between(Instant.ofEpochMilli(Long.parseLong(beat.n())), now)
                    .toSeconds());
            long every = Math.max(1, node.path("heartbeatSeconds").asLong(20));
            node.put("heartbeatAgeSeconds", ageSeconds);
            node.put("silent", ageSeconds > SILENT_AFTER_BEATS * every);
            node.put("live", !node.path("state").asText().equals("STOPPED") && ageSeconds <= SILENT_AFTER_BEATS * every);
            return Optional.of(node);
        } catch (IllegalArgumentException e) {
            LOG.warn("fleet: heartbeat item {} cannot be read ({}); left out", item.get("workerId"),
                    e.getMessage());
            return Optional.empty();
        }
    }

    private Optional<FleetDiagnosis.Group> autoScalingGroup(Pool pool, ObjectNode out) {
        ObjectNode node = out.putObject("autoScaling");
        Optional<String> group = pool.group();
        if (group.isEmpty() || autoScaling.isEmpty()) {
            node.put("note", "no Auto Scaling group");
            return Optional.empty();
        }
        node.put("group", group.get());
        try {
            List<AutoScalingGroup> groups = autoScaling.get().describeAutoScalingGroups(r ->
                    r.autoScalingGroupNames(group.get())).autoScalingGroups();
            if (groups.isEmpty()) {
                node.put("note", "no Auto Scaling group named " + group.get());
                return Optional.empty();
            }
            AutoScalingGroup found = groups.get(0);
            int inService = (int) found.instances().stream()
                    .filter(i -> "InService".equals(i.lifecycleStateAsString())).count();
            node.put("desired", found.desiredCapacity());
            node.put("inService", inService);
            node.put("instances", found.instances().size());
            node.put("min", found.minSize());
            node.put("max", found.maxSize());
            return Optional.of(new FleetDiagnosis.Group(found.desiredCapacity(), inService, found.minSize(),
                    found.maxSize()));
        } catch (SdkException e) {
            LOG.warn("fleet: cannot read Auto Scaling group {}: {}", group.get(), AwsErrors.describe(e));
            node.put("unavailable", "cannot read the Auto Scaling group: " + AwsErrors.describe(e));
            return Optional.empty();
        }
    }

    /** Messages waiting (visible) in the pool's job queue and its high-priority lane; -1 when SQS cannot say. */
    private long backlog(Pool pool, ObjectNode out) {
        try {
            long visible = 0;
            long delayed = 0;
            for (String lane : pool.queueUrls()) {
                Map<QueueAttributeName, String> attributes = sqs.getQueueAttributes(r -> r.queueUrl(lane)
                        .attributeNames(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES,
                                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED)).attributes();
                visible += Long.parseLong(attributes.getOrDefault(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES,
                        "0"));
                delayed += Long.parseLong(attributes.getOrDefault(
                        QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED, "0"));
            }
            out.put("waiting", visible);
            out.put("delayed", delayed);
            return visible;
        } catch (SdkException | NumberFormatException e) {
            out.put("waitingUnavailable", "cannot read the job queue's depth: " + e.getMessage());
            return -1;
        }
    }

    /**
     * The pool's failed jobs of the last hour by type, from the newest failed jobs (one index query);
     * only when jobs wait.
     */
    private Map<String, Integer> failuresByType(Pool pool, Instant now, long backlog) {
        Map<String, Integer> byType = new TreeMap<>();
        if (backlog <= 0 || jobs.isEmpty()) {
            return byType;
        }
        try {
            for (Job job : jobs.get().list(JobQueries.Filter.status(JobStatus.FAILED), JobQueries.MAX_PAGE, null)
                    .jobs()) {
                Instant finished = job.finishedAt() != null ? job.finishedAt() : job.updatedAt();
                boolean ours = pools.size() == 1 || pool.owns().test(job);
                if (ours && finished != null && Duration.between(finished, now).compareTo(FAILURE_WINDOW) <= 0) {
                    byType.merge(job.type(), 1, Integer::sum);
                }
            }
        } catch (SdkException e) {
            LOG.warn("fleet: cannot read the recent failures: {}", AwsErrors.describe(e));
        }
        return byType;
    }
}
