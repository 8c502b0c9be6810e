package dev.ferry.core;

import java.util.Objects;

/**
 * What a worker holds while it runs a job: its own id, the fencing token its claim produced, and
 * the claim's own random id. Every write a worker makes about the job is conditioned on the owner
 * and the token; the lease id lets it recognise, from the record returned when a retried write
 * fails its condition, that an earlier try of the same write was applied.
 */
public record Lease(String jobId, String owner, long token, String leaseId) {
    public Lease {
        Objects.requireNonNull(jobId, "jobId");
        Objects.requireNonNull(owner, "owner");
    }
}
