package dev.ferry.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.ferry.core.AwsErrors;
import dev.ferry.core.JobFiles;
import dev.ferry.core.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * The files of one attempt, between the job files bucket and the attempt's work directory: file
 * inputs downloaded before the job starts, and after it the files it wrote, a result too large for
 * the record, and its log, uploaded under the attempt's own prefix before its outcome is written.
 * A call to the bucket that fails is tried again a few times; one refused for good fails the job
 * at once (a retry would be refused the same way).
 *
 * <p>A file input is a JSON object {@code {"$file": "<uploadId>"}} anywhere in the job's input
 * (the id {@code POST /uploads} returned); the handler receives, in its place, the local path of
 * the downloaded file.
 */
final class AttemptFiles {

    private static final Logger LOG = LoggerFactory.getLogger(AttemptFiles.class);
    /** A result up to this size is kept in the record; a larger one by reference in the bucket. */
    static final int INLINE_RESULT_MAX_BYTES = 100 * 1024;
    private static final int TRIES = 3;
    private static final Duration PAUSE = Duration.ofSeconds(1);

    private final Optional<JobFiles> files;

    AttemptFiles(Optional<JobFiles> files) {
        this.files = Objects.requireNonNull(files, "files");
    }

    /** What the outcome write stores. */
    record Stored(String resultJson, String resultKey, String filesJson) {
    }

    /**
     * The input the handler receives: an input sent as an upload ({@code {"$input": id}}) read
     * from the bucket, and each {@code {"$file": id}} in it replaced by the path its upload was
     * downloaded to (in {@code inputsDir}).
     *
     * @throws JobFailedException not retryable: an upload that does not exist, or no bucket;
     *     retryable where the bucket could not be reached
     */
    String resolveInputs(String jobId, String inputJson, Path inputsDir) throws JobFailedException {
        if (!inputJson.contains(JobFiles.FILE_MARKER) && !inputJson.contains(JobFiles.INPUT_MARKER)) {
            return inputJson;
        }
        JsonNode input = Json.parse(inputJson);
        Optional<String> inputUpload = JobFiles.inputUpload(input);
        if (inputUpload.isPresent()) {
            String uploadId = inputUpload.get();
            JobFiles bucket = requireBucket("its input as an upload");
            String text = call(jobId, "read its input " + uploadId, () -> {
                if (bucket.size(JobFiles.uploadKey(uploadId)).isEmpty()) {
                    throw new MissingUpload(uploadId);
                }
                return bucket.getText(JobFiles.uploadKey(uploadId));
            });
            try {
                input = Json.parse(text);
            } catch (IllegalArgumentException e) {
                throw new JobFailedException("its input (upload " + uploadId + ") is not JSON: " + e.getMessage(), false);
            }
            if (!text.contains(JobFiles.FILE_MARKER)) {
                return text;
            }
        }
        try {
            return JobFiles.replaceFileReferences(input, "input", (path, uploadId) -> {
                JobFiles bucket = requireBucket("a file input (" + path + ")");
                Path target = inputsDir.resolve(uploadId);
                call(jobId, "download " + uploadId, () -> {
                    if (bucket.size(JobFiles.uploadKey(uploadId)).isEmpty()) {
                        throw new MissingUpload(uploadId);
                    }
                    bucket.download(JobFiles.uploadKey(uploadId), target);
                    return null;
                });
                return JsonNodeFactory.instance.textNode(target.toString());
            }).toString();
        } catch (IllegalArgumentException e) {
            throw new JobFailedException(e.getMessage(), false);
        }
    }

    /**
     * Uploads what the attempt wrote into {@code outputDir}, and its result when too large for the
     * record.
     *
     * @param roomInRecord how many bytes of result the record can still hold
     * @throws JobFailedException not retryable where the bucket refused for good, or there is no
     *     bucket for files or a large result; retryable where it could not be reached
     */
    Stored store(String jobId, int attempt, String resultJson, Path outputDir, int roomInRecord)
            throws JobFailedException {
        List<JobFiles.StoredFile> stored = List.of();
        if (outputDir != null && hasFiles(outputDir)) {
            JobFiles bucket = requireBucket("the files it wrote");
            try {
                stored = call(jobId, "upload its files", () -> bucket.putOutputs(jobId, attempt, outputDir));
            } catch (IllegalArgumentException e) {
                throw new JobFailedException(e.getMessage(), false);
            }
        }
        String filesJson = stored.isEmpty() ? null : JobFiles.filesJson(stored);
        int resultBytes = resultJson.getBytes(StandardCharsets.UTF_8).length;
        int room = roomInRecord - (filesJson == null ? 0 : filesJson.length());
        if (resultBytes <= Math.min(INLINE_RESULT_MAX_BYTES, room)) {
            return new Stored(resultJson, null, filesJson);
        }
        if (files.isEmpty()) {
            throw new JobFailedException("the result is " + resultBytes + " bytes, too large to store: a job's record"
                    + " (input, result and the rest) must fit a DynamoDB item of 400 KB, and no bucket (FERRY_BUCKET)"
                    + " is configured to keep it by reference; write large outputs to files and return their names",
                    false);
        }
        String key = JobFiles.resultKey(jobId, attempt);
        call(jobId, "store its result", () -> files.get().putText(key, resultJson, "application/json"));
        return new Stored(null, key, filesJson);
    }

    /** Keeps the attempt's log in the bucket; its key, or null where there is none (never throws). */
    String storeLog(String jobId, int attempt, AttemptLog log) {
        if (files.isEmpty() || log.isEmpty()) {
            return null;
        }
        String key = JobFiles.logKey(jobId, attempt);
        try {
            return call(jobId, "store its log", () -> files.get().putText(key, log.text(), "text/plain"));
        } catch (JobFailedException e) {
            LOG.warn("job {}: its log for attempt {} is not kept: {}", jobId, attempt, e.getMessage());
            return null;
        }
    }

    private static boolean hasFiles(Path dir) {
        try (var listing = java.nio.file.Files.list(dir)) {
            return listing.findAny().isPresent();
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private JobFiles requireBucket(String what) throws JobFailedException {
        return files.orElseThrow(() -> new JobFailedException("the job has " + what + ", but no bucket for job files"
                + " (FERRY_BUCKET) is configured on the worker", false));
    }

    /** A bucket call, tried again while the bucket cannot be reached. */
    private <T> T call(String jobId, String what, Supplier<T> call) throws JobFailedException {
        for (int attempt = 1; ; attempt++) {
            try {
                return call.get();
            } catch (MissingUpload e) {
                throw new JobFailedException("upload " + e.uploadId + " does not exist (or has expired): PUT the file"
                        + " to the URL POST /uploads returned before submitting the job", false);
            } catch (SdkException e) {
                if (!AwsErrors.retryable(e)) {
                    throw new JobFailedException("could not " + what + ": " + AwsErrors.describe(e), false);
                }
                if (attempt >= TRIES) {
                    throw new JobFailedException("could not " + what + " after " + TRIES + " tries: "
                            + AwsErrors.describe(e));
                }
                LOG.warn("job {}: could not {} (try {} of {}): {}", jobId, what, attempt, TRIES, e.toString());
                try {
                    Thread.sleep(PAUSE.toMillis() * attempt);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw new JobFailedException("interrupted while trying to " + what);
                }
            }
        }
    }

    /** An upload a job names that is not in the bucket. */
    private static final class MissingUpload extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final String uploadId;

        MissingUpload(String uploadId) {
            super(uploadId, null, false, false);
            this.uploadId = uploadId;
        }
    }
}
