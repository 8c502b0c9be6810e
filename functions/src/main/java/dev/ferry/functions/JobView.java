package dev.ferry.functions;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.Job;
import dev.ferry.core.Json;

/** A job as the API shows it: no lease internals, the result as JSON rather than text. */
final class JobView {

    private JobView() {
    }

    static ObjectNode of(Job job) {
        ObjectNode node = Json.MAPPER.createObjectNode();
        node.put("jobId", job.jobId());
        node.put("type", job.type());
        node.put("status", job.status().name());
        node.put("attempts", job.attempts());
        node.put("createdAt", String.valueOf(job.createdAt()));
        node.put("updatedAt", String.valueOf(job.updatedAt()));
        if (job.result() != null) {
            node.set("result", Json.parse(job.result()));
        }
        if (job.error() != null) {
            node.put("error", job.error());
        }
        return node;
    }
}
