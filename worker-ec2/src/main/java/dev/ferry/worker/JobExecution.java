package dev.ferry.worker;

import java.util.Objects;

/**
 * One run of one job, as a handler sees it.
 *
 * @param jobId Ferry's job id
 * @param type the job type, which selects the program to run
 * @param inputJson the job's input, a JSON document as text
 * @param attempt which run of this job this is, counting from 1 (every claim counts)
 * @param slot the GPU slot the job runs on
 */
public record JobExecution(String jobId, String type, String inputJson, int attempt, GpuSlot slot) {
    public JobExecution {
        Objects.requireNonNull(jobId, "jobId");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(inputJson, "inputJson");
        Objects.requireNonNull(slot, "slot");
    }
}
