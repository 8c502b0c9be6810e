package dev.ferry.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.ferry.core.AwsErrors;
import dev.ferry.core.JobFiles;
import dev.ferry.core.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
 *
 * <p>A file input is a JSON object {@code {"$file": "<uploadId>"}} anywhere in the job's input
 * (the id {@code POST /uploads} returned); the handler receives, in its place, the local path of
 * the downloaded file. An input sent as an upload ({@code {"$input": id}} in the record) is read
 * whole. Each upload is read as the version the submit checked (its {@code ETag}).
 *
 * <p>When the bucket cannot be reached: a download is tried a few times, then fails the attempt
 * (nothing ran yet, another attempt may do better); storing what a finished attempt made is tried
 * for as long as its outcome write would be, and then the attempt is left to come back
 * ({@link FilesUnavailableException}) rather than failed: a short outage never turns a job that
 * ran into a failure. A call the bucket refuses for good fails the job at once.
 */
final class AttemptFiles {

    private static final Logger LOG = LoggerFactory.getLogger(AttemptFiles.class);
    /** A result up to this size is kept in the record; a larger one by reference in the bucket. */
    static final int INLINE_RESULT_MAX_BYTES = 100 * 1024;
    private static final int DOWNLOAD_TRIES = 3;
    /** Disk left free beside the downloads, so one job's inputs never fill the worker's disk. */
    static final long DISK_MARGIN_BYTES = 1024L * 1024 * 1024;

    private final Optional<JobFiles> files;
    private final Backoff backoff;
    private final long maxInputBytes;

    AttemptFiles(Optional<JobFiles> files) {
        // The size of an input upload was checked at submit, and its ETag pins that version: the
        // cap here only keeps a record written by something else within what a byte array holds.
        this(files, Backoff.withJitter(Duration.ofSeconds(1), Duration.ofSeconds(10)), Integer.MAX_VALUE - 8);
    }

    AttemptFiles(Optional<JobFiles> files, Backoff backoff, long maxInputBytes) {
        this.files = Objects.requireNonNull(files, "files");
        this.backoff = Objects.requireNonNull(backoff, "backoff");
        this.maxInputBytes = maxInputBytes;
    }

    /** What the outcome write stores. */
    record Stored(String resultJson, String resultKey, String filesJson) {
    }

    /** The bucket could not be reached for as long as the attempt could wait: leave it to come back. */
    static final class FilesUnavailableException extends Exception {
        private static final long serialVersionUID = 1L;

        FilesUnavailableException(String message) {
            super(message);
        }
    }

    /**
     * The input the handler receives: an input sent as an upload read from the bucket, and each
     * {@code {"$file": id}} in it replaced by the path its upload was downloaded to (in
     * {@code inputsDir}; each upload once, however often it is named).
     *
     * @param uploadsJson the record's {@link dev.ferry.core.Job#uploads()}: the version of each
     *     upload that the submit checked; null for none
     * @throws JobFailedException not retryable: an upload that does not exist, was written again
     *     after the submit, or no bucket; retryable where the bucket could not be reached
     */
    String resolveInputs(String jobId, String inputJson, String uploadsJson, Path inputsDir)
            throws JobFailedException {
        if (!inputJson.contains(JobFiles.FILE_MARKER) && !inputJson.contains(JobFiles.INPUT_MARKER)) {
            return inputJson;
        }
        Map<String, String> etags = etags(uploadsJson);
        JsonNode input = Json.parse(inputJson);
        String text = inputJson;
        Optional<String> inputUpload = JobFiles.inputUpload(input);
        if (inputUpload.isPresent()) {
            String uploadId = inputUpload.get();
            JobFiles bucket = requireBucket("its input as an upload");
            String etag = etags.get(uploadId);
            text = download(jobId, uploadId, () -> etag == null
                    ? bucket.getText(JobFiles.uploadKey(uploadId))
                    : bucket.getText(JobFiles.uploadKey(uploadId), etag, maxInputBytes));
            try {
                input = Json.parse(text);
            } catch (IllegalArgumentException e) {
                throw new JobFailedException("its input (upload " + uploadId + ") is not JSON: " + e.getMessage(), false);
            }
        }
        if (!text.contains(JobFiles.FILE_MARKER)) {
            return text;
        }
        Map<String, Path> downloaded = new HashMap<>();
        try {
            return JobFiles.replaceFileReferences(input, "input", (path, uploadId) -> {
                Path target = downloaded.get(uploadId);
                if (target == null) {
                    target = inputsDir.resolve(uploadId);
                    fetch(jobId, path, uploadId, etags.get(uploadId), target);
                    downloaded.put(uploadId, target);
                }
                return JsonNodeFactory.instance.textNode(target.toString());
            }).toString();
        } catch (IllegalArgumentException e) {
            throw new JobFailedException(e.getMessage(), false);
        }
    }

    private void fetch(String jobId, String path, String uploadId, String etag, Path target) throws JobFailedException {
        JobFiles bucket = requireBucket("a file input (" + path + ")");
        download(jobId, uploadId, () -> {
            JobFiles.Head head = bucket.head(JobFiles.uploadKey(uploadId)).orElseThrow(() -> new MissingUpload(uploadId));
            long free = freeSpace(target.getParent());
            if (head.size() + DISK_MARGIN_BYTES > free) {
                throw new NoRoom(uploadId + " is " + head.size() + " bytes and the worker's disk has " + free
                        + " free");
            }
            bucket.download(JobFiles.uploadKey(uploadId), etag, target);
            return null;
        });
    }

    private static long freeSpace(Path dir) {
        try {
            Files.createDirectories(dir);
            return Files.getFileStore(dir).getUsableSpace();
        } catch (IOException e) {
            return Long.MAX_VALUE; // cannot tell: let the download itself say
        }
    }

    private static Map<String, String> etags(String uploadsJson) {
        Map<String, String> etags = new HashMap<>();
        if (uploadsJson != null && !uploadsJson.isBlank()) {
            Json.parse(uploadsJson).fields().forEachRemaining(e -> etags.put(e.getKey(), e.getValue().asText()));
        }
        return etags;
    }

    /**
     * Uploads what the attempt wrote into {@code outputDir}, and its result when too large for the
     * record; while the bucket cannot be reached, tried again for up to {@code within}.
     *
     * @param roomInRecord how many bytes of result and file list the record can still hold
     * @throws JobFailedException not retryable: the bucket refused for good, the outputs are not
     *     ones Ferry stores, or there is no bucket for files or a large result
     * @throws FilesUnavailableException the bucket could not be reached within {@code within}
     */
    Stored store(String jobId, int attempt, String resultJson, Path outputDir, int roomInRecord, Duration within)
            throws JobFailedException, FilesUnavailableException, InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        List<JobFiles.StoredFile> stored = List.of();
        if (outputDir != null && hasFiles(outputDir)) {
            JobFiles bucket = requireBucket("the files it wrote");
            try {
                stored = untilStored(jobId, "upload its files", deadline,
                        () -> bucket.putOutputs(jobId, attempt, outputDir));
            } catch (IllegalArgumentException e) {
                throw new JobFailedException(e.getMessage(), false);
            }
        }
        String filesJson = stored.isEmpty() ? null : JobFiles.filesJson(stored);
        int filesBytes = filesJson == null ? 0 : filesJson.getBytes(StandardCharsets.UTF_8).length;
        if (filesBytes > roomInRecord) {
            throw new JobFailedException("the list of its " + stored.size() + " files (" + filesBytes + " bytes) does not"
                    + " fit the job's record beside its input; write fewer files, or pack them into an archive", false);
        }
        int resultBytes = resultJson.getBytes(StandardCharsets.UTF_8).length;
        if (resultBytes <= Math.min(INLINE_RESULT_MAX_BYTES, roomInRecord - filesBytes)) {
            return new Stored(resultJson, null, filesJson);
        }
        if (files.isEmpty()) {
            throw new JobFailedException("the result is " + resultBytes + " bytes, too large to store: a job's record"
                    + " (input, result and the rest) must fit a DynamoDB item of 400 KB, and no bucket (FERRY_BUCKET)"
                    + " is configured to keep it by reference; write large outputs to files and return their names",
                    false);
        }
        String key = JobFiles.resultKey(jobId, attempt);
        untilStored(jobId, "store its result", deadline, () -> files.get().putText(key, resultJson, "application/json"));
        return new Stored(null, key, filesJson);
    }

    /** Keeps the attempt's log in the bucket; its key, or null where there is none (never throws). */
    String storeLog(String jobId, int attempt, AttemptLog log) {
        if (files.isEmpty() || log.isEmpty()) {
            return null;
        }
        String key = JobFiles.logKey(jobId, attempt);
        try {
            return download(jobId, "its log", () -> files.get().putText(key, log.text(), "text/plain"));
        } catch (JobFailedException e) {
            LOG.warn("job {}: its log for attempt {} is not kept: {}", jobId, attempt, e.getMessage());
            return null;
        }
    }

    private static boolean hasFiles(Path dir) {
        try (var listing = Files.list(dir)) {
            return listing.findAny().isPresent();
        } catch (IOException e) {
            return false;
        }
    }

    private JobFiles requireBucket(String what) throws JobFailedException {
        return files.orElseThrow(() -> new JobFailedException("the job has " + what + ", but no bucket for job files"
                + " (FERRY_BUCKET) is configured on the worker", false));
    }

    /** A call before the job runs: a few tries, then the attempt fails (retryable). */
    private <T> T download(String jobId, String what, Supplier<T> call) throws JobFailedException {
        for (int failures = 1; ; failures++) {
            try {
                return call.get();
            } catch (MissingUpload e) {
                throw new JobFailedException("upload " + e.uploadId + " does not exist (or has expired): PUT the file"
                        + " to the URL POST /uploads returned before submitting the job", false);
            } catch (JobFiles.ChangedException e) {
                throw new JobFailedException("an upload it names was written again after the job was submitted ("
                        + e.getMessage() + "); submit a new job for the new content", false);
            } catch (NoRoom e) {
                throw new JobFailedException("not enough disk for its inputs: " + e.getMessage());
            } catch (SdkException e) {
                if (!AwsErrors.retryable(e)) {
                    throw new JobFailedException("could not read " + what + ": " + AwsErrors.describe(e), false);
                }
                if (failures >= DOWNLOAD_TRIES) {
                    throw new JobFailedException("could not read " + what + " after " + failures + " tries: "
                            + AwsErrors.describe(e));
                }
                LOG.warn("job {}: could not read {} (try {} of {}): {}", jobId, what, failures, DOWNLOAD_TRIES,
                        e.toString());
                sleepOrStop(backoff.delay(failures), what);
            }
        }
    }

    /** A call after the job ran: tried until {@code deadline}, then {@link FilesUnavailableException}. */
    private <T> T untilStored(String jobId, String what, long deadline, Supplier<T> call)
            throws JobFailedException, FilesUnavailableException, InterruptedException {
        for (int failures = 1; ; failures++) {
            try {
                return call.get();
            } catch (SdkException e) {
                if (!AwsErrors.retryable(e)) {
                    throw new JobFailedException("could not " + what + ": " + AwsErrors.describe(e), false);
                }
                Duration pause = backoff.delay(failures);
                if (System.nanoTime() + pause.toNanos() > deadline) {
                    throw new FilesUnavailableException("could not " + what + " after " + failures + " tries: "
                            + AwsErrors.describe(e));
                }
                LOG.warn("job {}: could not {} ({} in a row), next try in {} ms: {}", jobId, what, failures,
                        pause.toMillis(), e.toString());
                Thread.sleep(pause.toMillis());
            }
        }
    }

    private static void sleepOrStop(Duration pause, String what) throws JobFailedException {
        try {
            Thread.sleep(pause.toMillis());
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            throw new JobFailedException("interrupted while trying to read " + what);
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

    /** Not enough disk for an input. */
    private static final class NoRoom extends RuntimeException {
        private static final long serialVersionUID = 1L;

        NoRoom(String message) {
            super(message, null, false, false);
        }
    }
}
