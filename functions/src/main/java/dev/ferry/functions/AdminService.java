package dev.ferry.functions;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.AttemptRecord;
import dev.ferry.core.AwsErrors;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.Job;
import dev.ferry.core.JobFiles;
import dev.ferry.core.JobMessage;
import dev.ferry.core.JobQueries;
import dev.ferry.core.JobStatus;
import dev.ferry.core.JobStore;
import dev.ferry.core.Json;
import dev.ferry.core.Pools;
import dev.ferry.core.logging.LogContext;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * What the admin page does, knowing nothing of Lambda: an overview of queues and jobs, a redrive
 * of the whole dead-letter queue (an SQS message move task), and per-job retry and discard.
 *
 * <p>A job in the DLQ reads FAILED, and a worker treats a FAILED job's message as a finished
 * duplicate. So every way back to work first turns the record to QUEUED (conditional on it still
 * being FAILED), and only then lets a message reach the queue.
 */
public final class AdminService {

    private static final Logger LOG = LoggerFactory.getLogger(AdminService.class);
    /** Failed jobs per page of the page's list (and most job ids one retry takes). */
    static final int FAILED_JOBS_SHOWN = 100;
    static final int RECENT_JOBS_SHOWN = 20;
    /** Each status's count stops here (the page shows "1000+"): a count reads every record it counts. */
    static final int COUNT_CAP = 1_000;
    /** Failures are grouped by error over at most the newest this many failed jobs. */
    static final int GROUPED_CAP = 1_000;
    /** Messages a DLQ search looks through at most, for one retry or discard. */
    static final int DLQ_SEARCH_LIMIT = 1_000;
    static final Duration DLQ_SEARCH_HIDE = Duration.ofSeconds(30);
    private static final Pattern VARIABLE_PARTS = Pattern.compile(
            "\\b[0-9A-HJKMNP-TV-Z]{26}\\b|\\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\b|\\d+");

    private final JobStore store;
    private final JobQueries queries;
    private final JobListing listing;
    private final Pools pools;
    /** Each pool's queues, in the pools' order. */
    private final Map<String, PoolDeadLetters> byPool = new LinkedHashMap<>();
    private final Clock clock;
    private final Optional<JobFiles> files;

    /**
     * @param queries the table's indexes: every list, count and search of the page reads them
     * @param listing the admin API's listings (the same as {@code GET /jobs}, with admin rows)
     * @param files the job files bucket, for a job's files and attempt logs; empty for none
     */
    /** How a retry whose fresh message SQS did not take is reported (the job is left as it was). */
    static final String NOT_SENT = "its message could not be sent";

    /** One pool, {@value Pools#DEFAULT_POOL}, serving every type: a deployment without pools. */
    public AdminService(SqsClient sqs, JobStore store, JobQueries queries, JobListing listing, String queueUrl,
                        String deadLetterQueueUrl, Clock clock, Optional<JobFiles> files) {
        this(sqs, store, queries, listing, Pools.single(queueUrl, Optional.of(deadLetterQueueUrl), List.of(),
                Optional.empty()), clock, files);
    }

    /** @param pools every pool, each with its dead-letter queue */
    public AdminService(SqsClient sqs, JobStore store, JobQueries queries, JobListing listing, Pools pools,
                        Clock clock, Optional<JobFiles> files) {
        this.files = Objects.requireNonNull(files, "files");
        Objects.requireNonNull(sqs, "sqs");
        this.store = Objects.requireNonNull(store, "store");
        this.queries = Objects.requireNonNull(queries, "queries");
        this.listing = Objects.requireNonNull(listing, "listing");
        this.pools = Objects.requireNonNull(pools, "pools");
        this.clock = Objects.requireNonNull(clock, "clock");
        for (Pools.Pool pool : pools.all()) {
            byPool.put(pool.name(), new PoolDeadLetters(sqs, pool.name(), pool.queueUrl(), pool.priorityQueueUrl(),
                    pool.deadLetterQueueUrl().orElseThrow(() -> new IllegalStateException("pool " + pool.name()
                            + " has no dead-letter queue (" + Pools.deadLetterVariable(pool.name()) + ", or "
                            + FerryEnv.DLQ_URL + " without pools); the admin page redrives from it")),
                    clock));
        }
    }

    public static AdminService fromEnvironment(FerryEnv env, SqsClient sqs, JobStore store, JobQueries queries) {
        return new AdminService(sqs, store, queries, new JobListing(queries, ListCursor.fromEnvironment(env)),
                Pools.from(env), Clock.systemUTC(), JobFiles.fromEnvironment(env));
    }

    // ---------------------------------------------------------------------------------------------
    // Overview

    /**
     * Everything the page shows, read from the job queue, the DLQ and the table's status and
     * listing indexes (never a scan). Each panel is read on its own: one that fails (a backend
     * without move tasks, a role without a permission, throttling) reads
     * {@code {"unavailable": "...", "code", "action", "retryable"}} and the others still show.
     *
     * <ul>
     *   <li>{@code jobsByStatus}: each status's count, stopping at {@link #COUNT_CAP}
     *       ({@code jobsByStatusMore} names the statuses that have more).</li>
     *   <li>{@code failedJobs}: the newest {@link #FAILED_JOBS_SHOWN} failed jobs,
     *       {@code failedJobsNextCursor} for the next ({@code GET /admin/api/jobs?status=FAILED&cursor=}),
     *       {@code failedJobsTotal} (up to {@link #COUNT_CAP}, {@code failedJobsTotalMore}) and
     *       {@code failureGroups}, over the newest {@link #GROUPED_CAP} ({@code failureGroupsOver} jobs;
     *       {@code failureGroupsTruncated} when there are more).</li>
     *   <li>{@code recentJobs}: the newest {@link #RECENT_JOBS_SHOWN} jobs of any status,
     *       {@code recentJobsNextCursor} for the next ({@code GET /admin/api/jobs?cursor=}).</li>
     * </ul>
     */
    public ObjectNode overview() {
        Instant now = clock.instant();
        ObjectNode out = Json.MAPPER.createObjectNode();
        queues(out.putObject("queues"));
        try {
            ObjectNode byStatus = out.putObject("jobsByStatus");
            ArrayNode more = out.putArray("jobsByStatusMore");
            for (JobStatus status : JobStatus.values()) {
                JobQueries.Count count = queries.count(status, COUNT_CAP);
                byStatus.put(status.name(), count.value());
                if (count.more()) {
                    more.add(status.name());
                }
            }
        } catch (SdkException e) {
            out.set("jobsByStatus", unavailable(e));
            out.putArray("jobsByStatusMore");
        }
        out.set("oldestWaitingJob", panel(() -> queries.oldest(JobStatus.QUEUED).map(oldest ->
                Json.MAPPER.createObjectNode()
                        .put("jobId", oldest.jobId())
                        .put("createdAt", String.valueOf(oldest.createdAt()))
                        .put("ageSeconds", oldest.createdAt() == null ? 0
                                : Math.max(0, Duration.between(oldest.createdAt(), now).toSeconds())))
                .orElse(null)));
        try {
            failed(out);
        } catch (SdkException e) {
            LOG.warn("overview: could not read the failed jobs: {}", AwsErrors.describe(e));
            out.set("failedJobsUnavailable", unavailable(e));
            out.putArray("failedJobs");
            out.putNull("failedJobsNextCursor");
            out.put("failedJobsTotal", 0);
            out.set("failureGroups", unavailable(e));
        }
        try {
            ObjectNode recent = listing.page(new JobListing.Request(JobQueries.Filter.ALL, RECENT_JOBS_SHOWN, null),
                    AdminService::row);
            out.set("recentJobs", recent.get("jobs"));
            out.set("recentJobsNextCursor", recent.get("nextCursor"));
        } catch (SdkException e) {
            LOG.warn("overview: could not read the recent jobs: {}", AwsErrors.describe(e));
            out.set("recentJobsUnavailable", unavailable(e));
            out.putArray("recentJobs");
            out.putNull("recentJobsNextCursor");
        }
        out.set("redrive", panel(() -> latestRedrive().orElse(null)));
        out.put("generatedAt", now.toString());
        return out;
    }

    /** The overview's failed jobs: the newest page, the total, and the failures grouped by error. */
    private void failed(ObjectNode out) {
        JobListing.Request first = new JobListing.Request(JobQueries.Filter.status(JobStatus.FAILED),
                FAILED_JOBS_SHOWN, null);
        JobQueries.Page page = queries.list(first.filter(), first.limit(), null);
        ArrayNode rows = out.putArray("failedJobs");
        page.jobs().forEach(job -> rows.add(row(job)));
        String next = listing.cursor(first, page.next());
        if (next == null) {
            out.putNull("failedJobsNextCursor");
        } else {
            out.put("failedJobsNextCursor", next);
        }
        JobQueries.Count total = queries.count(JobStatus.FAILED, COUNT_CAP);
        out.put("failedJobsTotal", total.value());
        out.put("failedJobsTotalMore", total.more());
        List<Job> grouped = new ArrayList<>(page.jobs());
        Map<String, String> after = page.next();
        while (after != null && grouped.size() < GROUPED_CAP) {
            JobQueries.Page read = queries.list(first.filter(),
                    Math.min(JobQueries.MAX_PAGE, GROUPED_CAP - grouped.size()), after);
            grouped.addAll(read.jobs());
            after = read.next();
        }
        out.set("failureGroups", groups(grouped));
        out.put("failureGroupsOver", grouped.size());
        out.put("failureGroupsTruncated", after != null);
    }

    /**
     * A job in the page's lists: its summary with the whole error, and whether an operator sent it
     * back ({@code redrives}, {@code redriveRequestedAt}).
     */
    static ObjectNode row(Job job) {
        ObjectNode row = JobView.summary(job);
        if (job.error() != null) {
            row.put("error", job.error());
        }
        row.put("redrives", job.redrives());
        if (job.redriveRequestedAt() != null) {
            row.put("redriveRequestedAt", job.redriveRequestedAt().toString());
        }
        return row;
    }

    /** {@code GET /admin/api/jobs?status=&type=&limit=&cursor=}: the page's lists, one page at a time. */
    public ObjectNode list(JobListing.Request request) {
        return listing.page(request, AdminService::row);
    }

    /**
     * {@code GET /admin/api/jobs/{jobId}}: everything about one job, for the page's detail view: the
     * job as the API shows it (result, files and attempt logs with their URLs, history), and its
     * input, redrives and retention, which the API does not show. A webhook's url and events are
     * shown; its delivery attempts are {@code GET /admin/api/jobs/{jobId}/webhook}'s (the page reads
     * both when it opens a job with a webhook).
     *
     * @throws ApiException 404 when there is no such job
     */
    public ObjectNode job(String jobId) {
        Job job = store.get(jobId).orElseThrow(() -> new ApiException(404, "no job with id \"" + jobId + "\""));
        ObjectNode node = JobView.of(job, files);
        if (job.input() != null) {
            try {
                node.set("input", Json.parse(job.input()));
            } catch (IllegalArgumentException e) {
                node.put("input", job.input());
            }
        }
        node.put("redrives", job.redrives());
        if (job.redriveRequestedAt() != null) {
            node.put("redriveRequestedAt", job.redriveRequestedAt().toString());
        }
        if (job.enqueuedAt() != null) {
            node.put("enqueuedAt", job.enqueuedAt().toString());
        }
        if (job.expiresAt() != null) {
            node.put("expiresAt", Instant.ofEpochSecond(job.expiresAt()).toString());
        }
        return node;
    }

    /** One panel's content, or {@code {"unavailable": "<what failed>", "code": ...}} when its read failed. */
    private static com.fasterxml.jackson.databind.JsonNode panel(java.util.function.Supplier<ObjectNode> read) {
        try {
            ObjectNode node = read.get();
            return node == null ? Json.MAPPER.nullNode() : node;
        } catch (SdkException e) {
            LOG.warn("overview panel unavailable: {}", AwsErrors.describe(e));
            return unavailable(e);
        }
    }

    private static ObjectNode unavailable(SdkException e) {
        ObjectNode node = Json.MAPPER.createObjectNode()
                .put("unavailable", AwsErrors.describe(e))
                .put("code", AwsErrors.errorCode(e))
                .put("retryable", AwsErrors.retryable(e));
        AwsErrors.action(e).ifPresent(action -> node.put("action", action));
        return node;
    }

    /**
     * The queues panel: {@code pools}, each pool's job queue, high-priority lane (where it has one)
     * and dead-letter queue, each read on its own; and {@code jobs} and {@code deadLetter}, the sums
     * over the pools (a pool's queue that cannot be read makes the sum unavailable too).
     */
    private void queues(ObjectNode queues) {
        ArrayNode list = queues.putArray("pools");
        List<JsonNode> jobs = new ArrayList<>();
        List<JsonNode> deadLetters = new ArrayList<>();
        for (PoolDeadLetters pool : byPool.values()) {
            ObjectNode node = list.addObject().put("pool", pool.pool());
            JsonNode queue = panel(() -> pool.depth(pool.queueUrl()));
            node.set("jobs", queue);
            jobs.add(queue);
            pool.priorityQueueUrl().ifPresent(url -> {
                JsonNode lane = panel(() -> pool.depth(url));
                node.set("priority", lane);
                jobs.add(lane);
            });
            JsonNode dead = panel(() -> pool.depth(pool.deadLetterQueueUrl()));
            node.set("deadLetter", dead);
            deadLetters.add(dead);
        }
        queues.set("jobs", byPool.size() == 1 && byPool.values().iterator().next().priorityQueueUrl().isEmpty()
                ? jobs.get(0) : sum(jobs));
        queues.set("deadLetter", byPool.size() == 1 ? deadLetters.get(0) : sum(deadLetters));
    }

    /** Queue depths added up; the first unavailable one if any is. */
    private static JsonNode sum(List<JsonNode> depths) {
        ObjectNode total = Json.MAPPER.createObjectNode().put("visible", 0).put("inFlight", 0).put("delayed", 0);
        for (JsonNode depth : depths) {
            if (depth.has("unavailable")) {
                return depth;
            }
            for (String field : List.of("visible", "inFlight", "delayed")) {
                total.put(field, total.get(field).asInt() + depth.path(field).asInt());
            }
        }
        return total;
    }

    /** Failures with the same error once ids and numbers are taken out, largest group first. */
    static ArrayNode groups(List<Job> failed) {
        Map<String, List<String>> byError = new LinkedHashMap<>();
        for (Job job : failed) {
            byError.computeIfAbsent(errorGroup(job.error()), e -> new ArrayList<>()).add(job.jobId());
        }
        ArrayNode groups = Json.MAPPER.createArrayNode();
        byError.entrySet().stream()
                .sorted(Comparator.comparing((Map.Entry<String, List<String>> e) -> e.getValue().size()).reversed())
                .forEach(e -> {
                    ObjectNode group = groups.addObject().put("error", e.getKey()).put("count", e.getValue().size());
                    ArrayNode ids = group.putArray("jobIds");
                    e.getValue().forEach(ids::add);
                });
        return groups;
    }

    static String errorGroup(String error) {
        if (error == null || error.isBlank()) {
            return "(no error recorded)";
        }
        String firstLine = error.strip().lines().findFirst().orElse("");
        String shape = VARIABLE_PARTS.matcher(firstLine).replaceAll("#");
        return shape.length() > 300 ? shape.substring(0, 300) + "…" : shape;
    }

    // ---------------------------------------------------------------------------------------------
    // Redrive of the whole DLQ

    /**
     * The result of {@link #redrive}: each pool's task handle, or why its move did not start, and
     * how many failed jobs were marked to run again. {@code taskHandle} is the one task's handle
     * when one pool was redriven (null with several).
     */
    public record RedriveStarted(String taskHandle, int requeuedJobs, Map<String, String> tasks,
                                 Map<String, String> failed) {
        public RedriveStarted(String taskHandle, int requeuedJobs) {
            this(taskHandle, requeuedJobs, Map.of(), Map.of());
        }
    }

    /** {@link #redrive} of every pool. */
    public RedriveStarted redriveAll() {
        return redrive(Optional.empty());
    }

    /**
     * Sends a pool's DLQ (or every pool's) back to work. Every FAILED job of those pools is first
     * marked "redrive requested" (it stays FAILED, a redrive counted), then an SQS message move task
     * per pool moves its DLQ's messages to its job queue, where a worker may claim a marked job from
     * its moved message. So whatever fails (a task does not start, one is already running, a message
     * expired), every job is still FAILED with its message in the DLQ, or on its way to run: none
     * reads QUEUED with nothing left to run it. New message ids do not matter: workers deduplicate by
     * job id. A failed job's pool is the one its record names, else its type's ({@link Pools#poolOf}).
     *
     * @param pool the pool to redrive; empty: every pool
     * @throws ApiException 404 for a pool there is not; 409 if a move task of one of them is already
     *     running; 503/502 if no move could start (a pool whose move did start is in {@code tasks}, one
     *     whose move did not in {@code failed})
     */
    public RedriveStarted redrive(Optional<String> pool) {
        List<PoolDeadLetters> chosen = chosen(pool);
        for (PoolDeadLetters each : chosen) {
            Optional<String> running = each.running();
            if (running.isPresent()) {
                throw new ApiException(409, "a redrive " + (byPool.size() > 1 ? "of pool " + each.pool() + " " : "")
                        + "is already running (task " + running.get() + "); wait for it or cancel it");
            }
        }
        Set<String> names = new HashSet<>();
        chosen.forEach(each -> names.add(each.pool()));
        int marked = 0;
        Instant now = clock.instant();
        // Every failed job, page by page through the status index: however many there are.
        Map<String, String> after = null;
        do {
            JobQueries.Page page = queries.list(JobQueries.Filter.status(JobStatus.FAILED), JobQueries.MAX_PAGE, after);
            for (Job job : page.jobs()) {
                if (ours(job, names, pool.isEmpty()) && store.requestRedrive(job.jobId(), now)) {
                    marked++;
                }
            }
            after = page.next();
        } while (after != null);
        Map<String, String> tasks = new LinkedHashMap<>();
        Map<String, String> failed = new LinkedHashMap<>();
        SdkException firstFailure = null;
        for (PoolDeadLetters each : chosen) {
            try {
                tasks.put(each.pool(), each.startMove());
            } catch (SdkException e) {
                LOG.warn("redrive of pool {} could not start: {}", each.pool(), AwsErrors.describe(e));
                failed.put(each.pool(), AwsErrors.describe(e));
                firstFailure = firstFailure == null ? e : firstFailure;
            }
        }
        if (tasks.isEmpty()) {
            LOG.warn("redrive could not start ({} job(s) marked): {}", marked, AwsErrors.describe(firstFailure));
            throw ApiException.fromAws("the message move task did not start; every failed job still reads FAILED"
                    + " with its message in the dead-letter queue, nothing was lost", firstFailure);
        }
        LOG.info("redrive started: {}, {} failed job(s) may run again{}", tasks, marked,
                failed.isEmpty() ? "" : "; not started: " + failed);
        return new RedriveStarted(tasks.size() == 1 && failed.isEmpty() ? tasks.values().iterator().next() : null,
                marked, tasks, failed);
    }

    /**
     * Whether a failed job (a listing's summary, which holds no pool) is of the pools redriven: with
     * one pool, or all of them, every one is; else its record is read for the pool it is in, which
     * its type's route today need not be (a type moved to a pool added since).
     */
    private boolean ours(Job summary, Set<String> names, boolean all) {
        if (byPool.size() == 1 || all) {
            return true;
        }
        return store.get(summary.jobId()).flatMap(pools::poolOf).map(p -> names.contains(p.name())).orElse(false);
    }

    /** The pool named, or every pool. */
    private List<PoolDeadLetters> chosen(Optional<String> pool) {
        if (pool.isEmpty()) {
            return List.copyOf(byPool.values());
        }
        PoolDeadLetters named = byPool.get(pool.get());
        if (named == null) {
            throw new ApiException(404, "parameter \"pool\": no pool \"" + pool.get() + "\"; the pools are "
                    + byPool.keySet());
        }
        return List.of(named);
    }

    /**
     * The latest move out of the DLQ (or Ferry's own move, where there are none), as the page shows
     * it. With several pools: {@code status} RUNNING while any pool's runs (else the latest's), the
     * counts summed, and each pool's under {@code pools}.
     */
    public Optional<ObjectNode> latestRedrive() {
        if (byPool.size() == 1) {
            return byPool.values().iterator().next().latest();
        }
        ObjectNode all = Json.MAPPER.createObjectNode();
        ObjectNode each = Json.MAPPER.createObjectNode();
        String status = null;
        long moved = 0;
        long toMove = 0;
        for (PoolDeadLetters pool : byPool.values()) {
            Optional<ObjectNode> latest = pool.latest();
            if (latest.isEmpty()) {
                continue;
            }
            each.set(pool.pool(), latest.get());
            String its = latest.get().path("status").asText();
            status = status == null || "RUNNING".equals(its) ? its : status;
            moved += latest.get().path("approximateNumberOfMessagesMoved").asLong();
            toMove += latest.get().path("approximateNumberOfMessagesToMove").asLong();
        }
        if (status == null) {
            return Optional.empty();
        }
        all.put("status", status).put("approximateNumberOfMessagesMoved", moved)
                .put("approximateNumberOfMessagesToMove", toMove);
        all.set("pools", each);
        return Optional.of(all);
    }

    /** {@link #cancelRedrive(Optional)} of every pool. */
    public void cancelRedrive() {
        cancelRedrive(Optional.empty());
    }

    /**
     * Stops the running move task (of the pool named, or of every pool); messages moved already stay
     * moved.
     *
     * @throws ApiException 404 for a pool there is not; 409 if none is running
     */
    public void cancelRedrive(Optional<String> pool) {
        boolean cancelled = false;
        for (PoolDeadLetters each : chosen(pool)) {
            cancelled |= each.cancel();
        }
        if (!cancelled) {
            throw new ApiException(409, "no redrive is running");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // One job, or a selection

    /**
     * Sends the chosen failed jobs back to work: each is marked "redrive requested" (still FAILED,
     * a redrive counted), gets a fresh message on the job queue, and its old message leaves the
     * DLQ. A worker claims it from the fresh message. A job whose message could not be sent stays
     * FAILED with its message in the DLQ, and says so. Jobs that are not FAILED are skipped and say
     * why.
     */
    public ObjectNode retry(List<String> jobIds) {
        ObjectNode out = Json.MAPPER.createObjectNode();
        ArrayNode retried = out.putArray("retried");
        ArrayNode skipped = out.putArray("skipped");
        Map<PoolDeadLetters, Set<String>> sent = new LinkedHashMap<>();
        Instant now = clock.instant();
        for (String jobId : new LinkedHashSet<>(jobIds)) {
            Optional<Job> job = store.get(jobId);
            if (job.isEmpty()) {
                skipped.addObject().put("jobId", jobId).put("reason", "no such job");
                continue;
            }
            if (!store.requestRedrive(jobId, now)) {
                skipped.addObject().put("jobId", jobId).put("reason", "not FAILED but "
                        + store.get(jobId).map(j -> j.status().name()).orElse("gone"));
                continue;
            }
            Job record = job.get();
            PoolDeadLetters pool = poolOf(record);
            try {
                pool.send(new JobMessage(record.jobId(), record.type(), Json.parse(record.input())),
                        record.highPriority());
            } catch (SdkException e) {
                skipped.addObject().put("jobId", jobId).put("reason", NOT_SENT + " ("
                        + AwsErrors.describe(e) + "); it still reads FAILED with its message in the dead-letter queue");
                continue;
            }
            sent.computeIfAbsent(pool, p -> new HashSet<>()).add(jobId);
            retried.add(jobId);
            LogContext.aboutJob(jobId, record.type(), () -> LOG.info("job {} retried from the admin page (attempt {}"
                    + " next)", jobId, record.attempts() + 1));
        }
        int removed = 0;
        for (Map.Entry<PoolDeadLetters, Set<String>> each : sent.entrySet()) {
            removed += each.getKey().remove(each.getValue(), DLQ_SEARCH_LIMIT, DLQ_SEARCH_HIDE);
        }
        out.put("deadLetterMessagesRemoved", removed);
        LOG.info("retried {} job(s), skipped {}", retried.size(), skipped.size());
        return out;
    }

    /**
     * Discards a failed job: it reads CANCELLED and its message leaves the DLQ. A copy that
     * escapes the search (or comes back by a later redrive) is deleted unrun by the workers,
     * because CANCELLED is final.
     *
     * @throws ApiException 404 for an unknown job, 409 for a job that is not FAILED
     */
    public ObjectNode discard(String jobId) {
        Job job = store.get(jobId).orElseThrow(() -> new ApiException(404, "no job with id \"" + jobId + "\""));
        if (!store.cancelFailed(jobId, clock.instant())) {
            throw new ApiException(409, "job " + jobId + " is " + store.get(jobId).map(j -> j.status().name())
                    .orElse(job.status().name()) + ", not FAILED: only a failed job can be discarded");
        }
        int removed = poolOf(job).remove(Set.of(jobId), DLQ_SEARCH_LIMIT, DLQ_SEARCH_HIDE);
        LogContext.aboutJob(jobId, job.type(), () -> LOG.info("job {} discarded, {} dead-letter message(s) removed",
                jobId, removed));
        return JobView.of(store.get(jobId).orElseThrow()).put("deadLetterMessagesRemoved", removed);
    }

    /**
     * The queues of a job's pool: the one its record names, else its type's; the first pool when
     * neither is configured any more (its messages then are where that pool's were).
     */
    private PoolDeadLetters poolOf(Job job) {
        return pools.poolOf(job).map(pool -> byPool.get(pool.name())).orElseGet(() -> byPool.values().iterator().next());
    }

    /** Looks through the DLQ of each pool for messages of these jobs and deletes them (tests). */
    int removeFromDeadLetterQueue(Set<String> jobIds) {
        int removed = 0;
        for (PoolDeadLetters pool : byPool.values()) {
            removed += pool.remove(jobIds, DLQ_SEARCH_LIMIT, DLQ_SEARCH_HIDE);
        }
        return removed;
    }
}
