package dev.ferry.functions;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.AttemptRecord;
import dev.ferry.core.Job;
import dev.ferry.core.JobFiles;
import dev.ferry.core.Json;
import java.util.Optional;

/**
 * A job as the API shows it: no lease internals, the result as JSON rather than text, and where
 * there is a bucket for job files, presigned URLs for its files, a result stored by reference and
 * each attempt's log (valid for {@code FERRY_URL_EXPIRY}, stated in {@code urlsExpireAt}).
 */
final class JobView {

    private JobView() {
    }

    static ObjectNode of(Job job) {
        return of(job, Optional.empty());
    }

    static ObjectNode of(Job job, Optional<JobFiles> files) {
        ObjectNode node = Json.MAPPER.createObjectNode();
        node.put("jobId", job.jobId());
        node.put("type", job.type());
        if (job.pool() != null) {
            node.put("pool", job.pool());
        }
        if (job.highPriority()) {
            node.put("priority", Job.HIGH_PRIORITY); // normal, the default, is not shown
        }
        node.put("status", job.status().name());
        node.put("attempts", job.attempts());
        if (job.preemptions() > 0) {
            node.put("preemptions", job.preemptions());
        }
        node.put("createdAt", String.valueOf(job.createdAt()));
        node.put("updatedAt", String.valueOf(job.updatedAt()));
        if (job.finishedAt() != null) {
            node.put("finishedAt", String.valueOf(job.finishedAt()));
        }
        if (job.result() != null) {
            node.set("result", Json.parse(job.result()));
        }
        boolean urls = false;
        if (job.resultKey() != null) {
            // Too large for the record: the client fetches it.
            files.ifPresent(bucket -> node.put("resultUrl", bucket.presignGet(job.resultKey()).toString()));
            urls = files.isPresent();
        }
        if (job.files() != null) {
            ArrayNode list = node.putArray("files");
            for (JobFiles.StoredFile file : JobFiles.parseFiles(job.files())) {
                ObjectNode entry = list.addObject().put("name", file.name());
                files.ifPresent(bucket -> entry.put("url", bucket.presignGet(file.key()).toString()));
                entry.put("contentType", file.contentType()).put("size", file.size());
                urls |= files.isPresent();
            }
        }
        if (job.error() != null) {
            node.put("error", job.error());
        }
        cancelAndProgress(job, node);
        if (!job.history().isEmpty()) {
            ArrayNode history = node.putArray("history");
            for (AttemptRecord attempt : job.history()) {
                ObjectNode entry = history.addObject().put("attempt", attempt.attempt()).put("worker", attempt.worker());
                if (attempt.slot() != AttemptRecord.UNKNOWN_SLOT) {
                    entry.put("slot", attempt.slot()); // not known for a lease lost
                }
                if (attempt.startedAt() != null) {
                    entry.put("startedAt", attempt.startedAt().toString());
                }
                if (attempt.endedAt() != null) {
                    entry.put("endedAt", attempt.endedAt().toString());
                }
                entry.put("outcome", attempt.outcome());
                if (attempt.error() != null) {
                    entry.put("error", attempt.error());
                }
                if (attempt.logKey() != null && files.isPresent()) {
                    entry.put("logUrl", files.get().presignGet(attempt.logKey()).toString());
                    urls = true;
                }
            }
        }
        if (urls) {
            node.put("urlsExpireAt", files.get().urlsExpireAt().toString());
        }
        if (job.webhookUrl() != null) {
            ObjectNode webhook = node.putObject("webhook").put("url", job.webhookUrl());
            job.webhookEvents().forEach(webhook.putArray("events")::add);
        }
        return node;
    }

    /** Most characters of the error a summary shows; the job itself ({@code GET /jobs/{jobId}}) has all of it. */
    static final int SUMMARY_ERROR_CHARS = 300;

    /**
     * A job as a listing shows it: what the indexes hold ({@link dev.ferry.core.JobTable#SUMMARY}),
     * never the input, result, files or history. {@code error} is cut to
     * {@value #SUMMARY_ERROR_CHARS} characters.
     */
    static ObjectNode summary(Job job) {
        ObjectNode node = Json.MAPPER.createObjectNode();
        node.put("jobId", job.jobId());
        node.put("type", job.type());
        node.put("status", job.status() == null ? null : job.status().name());
        node.put("attempts", job.attempts());
        if (job.preemptions() > 0) {
            node.put("preemptions", job.preemptions());
        }
        node.put("createdAt", String.valueOf(job.createdAt()));
        node.put("updatedAt", String.valueOf(job.updatedAt()));
        if (job.finishedAt() != null) {
            node.put("finishedAt", job.finishedAt().toString());
        }
        if (job.error() != null) {
            String error = job.error();
            node.put("error", error.length() <= SUMMARY_ERROR_CHARS ? error
                    : error.substring(0, SUMMARY_ERROR_CHARS - 1) + "…");
        }
        return node;
    }

    /**
     * A queued job's place in the queue, labelled an estimate:
     * {@code "queue": {"position": 3, "etaSeconds": 40, "estimate": true}}; {@code position} is
     * the text {@code "1000+"} past the count's cap, and {@code etaSeconds} is left out when it
     * cannot be computed.
     */
    static void putQueue(ObjectNode node, QueueEstimate estimate) {
        ObjectNode queue = node.putObject("queue");
        if (estimate.positionCapped()) {
            queue.put("position", estimate.position() + "+");
        } else {
            queue.put("position", estimate.position());
        }
        if (estimate.etaSeconds() != null) {
            queue.put("etaSeconds", estimate.etaSeconds());
        }
        queue.put("estimate", true);
    }

    /**
     * The job with its webhook's delivery attempts ({@code webhook.deliveries}, oldest first),
     * or, when they could not be read, why ({@code webhook.deliveriesUnavailable}).
     */
    static ObjectNode withDeliveries(ObjectNode view, WebhookDeliveries deliveries, String unavailable) {
        if (!(view.get("webhook") instanceof ObjectNode webhook)) {
            return view;
        }
        if (unavailable != null) {
            webhook.put("deliveriesUnavailable", unavailable);
            return view;
        }
        ArrayNode list = webhook.putArray("deliveries");
        for (WebhookDeliveries.Attempt attempt : deliveries.attempts()) {
            ObjectNode entry = list.addObject().put("id", attempt.deliveryId()).put("event", attempt.event())
                    .put("attempt", attempt.attempt()).put("at", attempt.at().toString());
            if (attempt.statusCode() != null) {
                entry.put("statusCode", attempt.statusCode());
            }
            entry.put("durationMs", attempt.durationMs()).put("outcome", attempt.outcome());
            if (attempt.error() != null) {
                entry.put("error", attempt.error());
            }
        }
        if (deliveries.attemptsTotal() > deliveries.attempts().size()) {
            webhook.put("deliveriesTotal", deliveries.attemptsTotal());
        }
        if (deliveries.goneAt() != null) {
            webhook.put("goneAt", deliveries.goneAt().toString());
        }
        return view;
    }

    /** Its deadline, a cancel asked for or done, and the latest progress its handler reported (kept once it ends). */
    private static void cancelAndProgress(Job job, ObjectNode node) {
        if (job.deadline() != null) {
            node.put("deadline", job.deadline().toString());
        }
        if (job.cancelRequestedAt() != null) {
            node.put("cancelRequestedAt", job.cancelRequestedAt().toString());
        }
        if (job.cancelReason() != null) {
            node.put("cancelReason", job.cancelReason());
        }
        if (job.progress() != null) {
            ObjectNode progress = node.putObject("progress").put("fraction", job.progress());
            if (job.progressMessage() != null) {
                progress.put("message", job.progressMessage());
            }
            if (job.progressAt() != null) {
                progress.put("at", job.progressAt().toString());
            }
        }
    }
}
