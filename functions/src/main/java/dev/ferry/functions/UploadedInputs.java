package dev.ferry.functions;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.JobFiles;
import dev.ferry.core.Json;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * Checks, at submit, what a job's input names in the job files bucket, so that a job naming an
 * upload that is not there is a {@code 400} now rather than a failed attempt later:
 *
 * <ul>
 *   <li>each {@code {"$file": "up_..."}} must name an upload that exists;</li>
 *   <li>an input sent as an upload ({@code "inputUpload": "up_..."}) must exist, be at most
 *       {@link #maxInputBytes} and be JSON; its own file references are checked the same way.</li>
 * </ul>
 *
 * <p>Nothing is written: a refused job leaves nothing behind.
 */
final class UploadedInputs {

    /** The most file references one input may hold (each is a HEAD at submit and a download per attempt). */
    static final int MAX_FILE_REFERENCES = 100;
    static final long DEFAULT_MAX_INPUT_BYTES = 32L * 1024 * 1024;

    private final Optional<JobFiles> files;
    private final long maxInputBytes;

    UploadedInputs(Optional<JobFiles> files, long maxInputBytes) {
        this.files = files;
        this.maxInputBytes = maxInputBytes;
    }

    static UploadedInputs none() {
        return new UploadedInputs(Optional.empty(), DEFAULT_MAX_INPUT_BYTES);
    }

    /**
     * Checks the file references in an inline input.
     *
     * @throws ApiException 400 naming the field of a malformed or missing reference
     */
    void checkInline(JsonNode input) {
        if (!input.toString().contains(JobFiles.FILE_MARKER)) {
            return;
        }
        checkReferences(input, "input");
    }

    /**
     * Checks an input sent as an upload: it exists, fits {@link #maxInputBytes}, is JSON, and the
     * uploads it names exist.
     *
     * @throws ApiException 400 naming {@code inputUpload}, 413 when it is too large
     */
    void checkInputUpload(String uploadId) {
        JobFiles bucket = requireBucket("inputUpload");
        String key = JobFiles.uploadKey(uploadId);
        long size = call("inputUpload", () -> bucket.size(key)).orElseThrow(() -> missing("inputUpload", uploadId));
        if (size > maxInputBytes) {
            throw new ApiException(413, "field \"inputUpload\": upload " + uploadId + " is " + size
                    + " bytes and an input may be at most " + maxInputBytes + "; pass large data as files ({\""
                    + JobFiles.FILE_MARKER + "\": \"<uploadId>\"}) inside a smaller input");
        }
        String text = call("inputUpload", () -> bucket.getText(key));
        JsonNode input;
        try {
            input = Json.parse(text);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("field \"inputUpload\": upload " + uploadId + " is not JSON: "
                    + e.getMessage());
        }
        if (text.contains(JobFiles.FILE_MARKER)) {
            checkReferences(input, "inputUpload");
        }
    }

    private void checkReferences(JsonNode input, String root) {
        Set<String> seen = new HashSet<>();
        try {
            JobFiles.replaceFileReferences(input, root, (path, uploadId) -> {
                if (seen.add(uploadId) && seen.size() > MAX_FILE_REFERENCES) {
                    throw ApiException.badRequest("field \"" + path + "\": an input may name at most "
                            + MAX_FILE_REFERENCES + " uploads");
                }
                JobFiles bucket = requireBucket(path);
                call(path, () -> bucket.size(JobFiles.uploadKey(uploadId))).orElseThrow(() -> missing(path, uploadId));
                return null;
            });
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(e.getMessage());
        }
    }

    private JobFiles requireBucket(String field) {
        return files.orElseThrow(() -> ApiException.badRequest("field \"" + field + "\" names an upload, but this"
                + " deployment has no bucket for job files (FERRY_BUCKET)"));
    }

    private static ApiException missing(String field, String uploadId) {
        return ApiException.badRequest("field \"" + field + "\": upload " + uploadId + " does not exist (or has"
                + " expired); PUT the bytes to the URL POST /uploads returned, then submit");
    }

    private static <T> T call(String field, java.util.function.Supplier<T> call) {
        try {
            return call.get();
        } catch (SdkException e) {
            throw ApiException.fromAws("could not check the upload in field \"" + field + "\"", e);
        }
    }
}
