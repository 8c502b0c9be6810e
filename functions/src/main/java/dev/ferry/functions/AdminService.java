package dev.ferry.functions;

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
import software.amazon.awssdk.services.sqs.model.ChangeMessageVisibilityBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.ListMessageMoveTasksResultEntry;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

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

    private final SqsClient sqs;
    private final JobStore store;
    private final JobQueries queries;
    private final JobListing listing;
    private final String queueUrl;
    private final String deadLetterQueueUrl;
    private final Clock clock;
    private final Optional<JobFiles> files;
    private String deadLetterQueueArn;
    /** The latest redrive Ferry moves itself, where the backend has no message move tasks. */
    private volatile DeadLetterMover mover;

    /**
     * @param queries the table's indexes: every list, count and search of the page reads them
     * @param listing the admin API's listings (the same as {@code GET /jobs}, with admin rows)
     * @param files the job files bucket, for a job's files and attempt logs; empty for none
     */
    /** How a retry whose fresh message SQS did not take is reported (the job is left as it was). */
    static final String NOT_SENT = "its message could not be sent";

    public AdminService(SqsClient sqs, JobStore store, JobQueries queries, JobListing listing, String queueUrl,
                        String deadLetterQueueUrl, Clock clock, Optional<JobFiles> files) {
        this.files = Objects.requireNonNull(files, "files");
        this.sqs = Objects.requireNonNull(sqs, "sqs");
        this.store = Objects.requireNonNull(store, "store");
        this.queries = Objects.requireNonNull(queries, "queries");
        this.listing = Objects.requireNonNull(listing, "listing");
        this.queueUrl = Objects.requireNonNull(queueUrl, "queueUrl");
        this.deadLetterQueueUrl = Objects.requireNonNull(deadLetterQueueUrl, "deadLetterQueueUrl");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    public static AdminService fromEnvironment(FerryEnv env, SqsClient sqs, JobStore store, JobQueries queries) {
        return new AdminService(sqs, store, queries, new JobListing(queries, ListCursor.fromEnvironment(env)),
                env.required(FerryEnv.QUEUE_URL), env.required(FerryEnv.DLQ_URL), Clock.systemUTC(),
                JobFiles.fromEnvironment(env));
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
        ObjectNode queues = out.putObject("queues");
        queues.set("jobs", panel(() -> depth(queueUrl)));
        queues.set("deadLetter", panel(() -> depth(deadLetterQueueUrl)));
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

    private ObjectNode depth(String url) {
        Map<QueueAttributeName, String> a = sqs.getQueueAttributes(r -> r.queueUrl(url).attributeNames(
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED)).attributes();
        return Json.MAPPER.createObjectNode()
                .put("url", url)
                .put("visible", Integer.parseInt(a.getOrDefault(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES, "0")))
                .put("inFlight", Integer.parseInt(
                        a.getOrDefault(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE, "0")))
                .put("delayed", Integer.parseInt(
                        a.getOrDefault(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED, "0")));
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

    /** The result of {@link #redriveAll}. */
    public record RedriveStarted(String taskHandle, int requeuedJobs) {
    }

    /**
     * Sends the whole DLQ back to work. Every FAILED job is first marked "redrive requested" (it
     * stays FAILED, a redrive counted), then an SQS message move task moves the DLQ's messages to
     * the job queue, where a worker may claim a marked job from its moved message. So whatever
     * fails (the task does not start, one is already running, a message expired), every job is
     * still FAILED with its message in the DLQ, or on its way to run: none reads QUEUED with
     * nothing left to run it. New message ids do not matter: workers deduplicate by job id.
     *
     * @throws ApiException 409 if a move task is already running; 503/502 if it cannot start
     */
    public RedriveStarted redriveAll() {
        DeadLetterMover current = mover;
        if (current != null && current.running()) {
            throw new ApiException(409, "a redrive is already running (" + current.handle() + "); wait for it or"
                    + " cancel it");
        }
        Optional<ListMessageMoveTasksResultEntry> running;
        try {
            running = latestTask().filter(t -> "RUNNING".equals(t.status()));
        } catch (SdkException e) {
            // Cannot tell (a role or backend without ListMessageMoveTasks): the start will say if one runs.
            LOG.warn("redrive: could not list move tasks, starting anyway: {}", AwsErrors.describe(e));
            running = Optional.empty();
        }
        if (running.isPresent()) {
            throw new ApiException(409, "a redrive is already running (task " + running.get().taskHandle()
                    + "); wait for it or cancel it");
        }
        int marked = 0;
        Instant now = clock.instant();
        // Every failed job, page by page through the status index: however many there are.
        Map<String, String> after = null;
        do {
            JobQueries.Page page = queries.list(JobQueries.Filter.status(JobStatus.FAILED), JobQueries.MAX_PAGE, after);
            for (Job job : page.jobs()) {
                if (store.requestRedrive(job.jobId(), now)) {
                    marked++;
                }
            }
            after = page.next();
        } while (after != null);
        try {
            String handle = sqs.startMessageMoveTask(r -> r.sourceArn(deadLetterQueueArn())).taskHandle();
            LOG.info("redrive started: task {}, {} failed job(s) may run again", handle, marked);
            return new RedriveStarted(handle, marked);
        } catch (SdkException e) {
            if (DeadLetterMover.unsupported(e)) {
                DeadLetterMover started = DeadLetterMover.start(sqs, deadLetterQueueUrl, queueUrl, clock);
                mover = started;
                LOG.info("redrive started: this backend has no message move tasks ({}), so Ferry moves the messages"
                        + " itself ({}); {} failed job(s) may run again", AwsErrors.describe(e), started.handle(), marked);
                return new RedriveStarted(started.handle(), marked);
            }
            LOG.warn("redrive could not start ({} job(s) marked): {}", marked, AwsErrors.describe(e));
            throw ApiException.fromAws("the message move task did not start; every failed job still reads FAILED"
                    + " with its message in the dead-letter queue, nothing was lost", e);
        }
    }

    /** The latest move task out of the DLQ (or Ferry's own move, where there are none), as the page shows it. */
    public Optional<ObjectNode> latestRedrive() {
        DeadLetterMover current = mover;
        if (current != null) {
            return Optional.of(current.progress());
        }
        Optional<ListMessageMoveTasksResultEntry> latest;
        try {
            latest = latestTask();
        } catch (SdkException e) {
            if (DeadLetterMover.unsupported(e)) {
                return Optional.empty(); // no move tasks here, and Ferry has moved nothing yet
            }
            throw e;
        }
        return latest.map(task -> {
            ObjectNode node = Json.MAPPER.createObjectNode()
                    .put("status", task.status())
                    .put("approximateNumberOfMessagesMoved", task.approximateNumberOfMessagesMoved());
            if (task.taskHandle() != null) {
                node.put("taskHandle", task.taskHandle());
            }
            if (task.approximateNumberOfMessagesToMove() != null) {
                node.put("approximateNumberOfMessagesToMove", task.approximateNumberOfMessagesToMove());
            }
            if (task.failureReason() != null) {
                node.put("failureReason", task.failureReason());
            }
            if (task.startedTimestamp() != null) {
                node.put("startedAt", Instant.ofEpochMilli(task.startedTimestamp()).toString());
            }
            return node;
        });
    }

    /**
     * Stops the running move task; messages moved already stay moved.
     *
     * @throws ApiException 409 if none is running
     */
    public void cancelRedrive() {
        DeadLetterMover current = mover;
        if (current != null && current.running()) {
            current.cancel();
            LOG.info("redrive {} cancelled", current.handle());
            return;
        }
        Optional<ListMessageMoveTasksResultEntry> latest;
        try {
            latest = latestTask();
        } catch (SdkException e) {
            if (DeadLetterMover.unsupported(e)) {
                throw new ApiException(409, "no redrive is running");
            }
            throw e;
        }
        ListMessageMoveTasksResultEntry task = latest.filter(t -> "RUNNING".equals(t.status()))
                .orElseThrow(() -> new ApiException(409, "no redrive is running"));
        sqs.cancelMessageMoveTask(r -> r.taskHandle(task.taskHandle()));
        LOG.info("redrive {} cancelled", task.taskHandle());
    }

    private Optional<ListMessageMoveTasksResultEntry> latestTask() {
        return sqs.listMessageMoveTasks(r -> r.sourceArn(deadLetterQueueArn()).maxResults(1)).results().stream()
                .findFirst();
    }

    private synchronized String deadLetterQueueArn() {
        if (deadLetterQueueArn == null) {
            deadLetterQueueArn = sqs.getQueueAttributes(r -> r.queueUrl(deadLetterQueueUrl)
                    .attributeNames(QueueAttributeName.QUEUE_ARN)).attributes().get(QueueAttributeName.QUEUE_ARN);
        }
        return deadLetterQueueArn;
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
        Set<String> sent = new HashSet<>();
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
            try {
                sqs.sendMessage(r -> r.queueUrl(queueUrl).messageBody(
                        new JobMessage(record.jobId(), record.type(), Json.parse(record.input())).toJson()));
            } catch (SdkException e) {
                skipped.addObject().put("jobId", jobId).put("reason", NOT_SENT + " ("
                        + AwsErrors.describe(e) + "); it still reads FAILED with its message in the dead-letter queue");
                continue;
            }
            sent.add(jobId);
            retried.add(jobId);
            LogContext.aboutJob(jobId, record.type(), () -> LOG.info("job {} retried from the admin page (attempt {}"
                    + " next)", jobId, record.attempts() + 1));
        }
        out.put("deadLetterMessagesRemoved", sent.isEmpty() ? 0 : removeFromDeadLetterQueue(sent));
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
        int removed = removeFromDeadLetterQueue(Set.of(jobId));
        LogContext.aboutJob(jobId, job.type(), () -> LOG.info("job {} discarded, {} dead-letter message(s) removed",
                jobId, removed));
        return JobView.of(store.get(jobId).orElseThrow()).put("deadLetterMessagesRemoved", removed);
    }

    /**
     * Looks through the DLQ for messages of these jobs and deletes them. Every other message it
     * received is made visible again right away, untouched. Bounded by {@link #DLQ_SEARCH_LIMIT}.
     */
    int removeFromDeadLetterQueue(Set<String> jobIds) {
        List<Message> others = new ArrayList<>();
        int removed = 0;
        int seen = 0;
        try {
            while (seen < DLQ_SEARCH_LIMIT) {
                List<Message> batch = sqs.receiveMessage(r -> r.queueUrl(deadLetterQueueUrl).maxNumberOfMessages(10)
                        .waitTimeSeconds(1).visibilityTimeout((int) DLQ_SEARCH_HIDE.toSeconds())).messages();
                if (batch.isEmpty()) {
                    break;
                }
                seen += batch.size();
                for (Message message : batch) {
                    if (jobIds.contains(jobIdOf(message))) {
                        sqs.deleteMessage(r -> r.queueUrl(deadLetterQueueUrl).receiptHandle(message.receiptHandle()));
                        removed++;
                    } else {
                        others.add(message);
                    }
                }
            }
        } finally {
            release(others);
        }
        return removed;
    }

    private static String jobIdOf(Message message) {
        try {
            return JobMessage.parse(message.body()).jobId();
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private void release(List<Message> messages) {
        for (int from = 0; from < messages.size(); from += 10) {
            List<ChangeMessageVisibilityBatchRequestEntry> entries = new ArrayList<>();
            List<Message> chunk = messages.subList(from, Math.min(messages.size(), from + 10));
            for (int i = 0; i < chunk.size(); i++) {
                entries.add(ChangeMessageVisibilityBatchRequestEntry.builder().id(Integer.toString(i))
                        .receiptHandle(chunk.get(i).receiptHandle()).visibilityTimeout(0).build());
            }
            try {
                sqs.changeMessageVisibilityBatch(r -> r.queueUrl(deadLetterQueueUrl).entries(entries));
            } catch (SdkException e) {
                LOG.warn("could not make {} dead-letter message(s) visible again; they reappear within {}: {}",
                        entries.size(), DLQ_SEARCH_HIDE, e.toString());
            }
        }
    }
}
