package dev.ferry.core;

import java.util.Objects;

/**
 * What a worker holds while it runs a job: its own id and the fencing token its claim produced.
 * Every write a worker makes about the job is conditioned on both.
 */
public record Lease(String jobId, String owner, long token) {
    public Lease {
        Objects.requireNonNull(jobId, "jobId");
        Objects.requireNonNull(owner, "owner");
    }
}
