package dev.ferry.worker;

import java.nio.file.Path;
import java.util.Objects;

/**
 * One run of one job, as a handler sees it.
 *
 * @param jobId Ferry's job id
 * @param type the job type, which selects what runs it
 * @param inputJson the job's input, a JSON document as text (uploaded files already downloaded:
 *     each {@code {"$file": "<uploadId>"}} replaced by the local path of its file)
 * @param attempt which run of this job this is, counting from 1 (every claim counts)
 * @param slot the GPU slot the job runs on
 * @param workDir this attempt's own directory; files the handler writes into
 *     {@link #outputDir()} become the job's files (uploaded before the result is written); null
 *     when the caller gives none
 * @param events where the handler reports progress and log lines
 */
public record JobExecution(String jobId, String type, String inputJson, int attempt, GpuSlot slot, Path workDir,
                           JobEvents events) {

    public JobExecution {
        Objects.requireNonNull(jobId, "jobId");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(inputJson, "inputJson");
        Objects.requireNonNull(slot, "slot");
        Objects.requireNonNull(events, "events");
    }

    /** A run without a work directory, reporting nothing (tests, simple callers). */
    public JobExecution(String jobId, String type, String inputJson, int attempt, GpuSlot slot) {
        this(jobId, type, inputJson, attempt, slot, null, JobEvents.NONE);
    }

    /** Where the handler writes the job's output files; null without a work directory. */
    public Path outputDir() {
        return workDir == null ? null : workDir.resolve("outputs");
    }
}
