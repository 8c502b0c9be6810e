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
        return node;
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
