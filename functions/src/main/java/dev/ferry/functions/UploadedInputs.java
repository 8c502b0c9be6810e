package dev.ferry.functions;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.JobFiles;
import dev.ferry.core.Json;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
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
 * <p>Each check returns the uploads' {@code ETag}s as seen: the record keeps them, and every
 * attempt reads exactly that version (a client that writes an upload again after submitting
 * fails its job, rather than changing what it runs on). Nothing is written: a refused job leaves
 * nothing behind.
 */
final class UploadedInputs {

    /** The most distinct uploads one input may name (each is a HEAD at submit and a download per attempt). */
    static final int MAX_UPLOADS = 100;
    /** The most {@code $file} references one input may hold, counting repeats of one upload. */
    static final int MAX_REFERENCES = 1000;
    static final long DEFAULT_MAX_INPUT_BYTES = dev.ferry.core.FerryEnv.DEFAULT_MAX_INPUT_UPLOAD_BYTES;

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
     * @return each upload named, with its {@code ETag}; empty for none
     * @throws ApiException 400 naming the field of a malformed or missing reference
     */
    Map<String, String> checkInline(JsonNode input) {
        Map<String, String> etags = new TreeMap<>();
        if (input.toString().contains(JobFiles.FILE_MARKER)) {
            checkReferences(input, "input", etags);
        }
        return etags;
    }

    /**
     * Checks an input sent as an upload: it exists, fits {@link #maxInputBytes}, is JSON, and the
     * uploads it names exist.
     *
     * @return it and each upload it names, with their {@code ETag}s
     * @throws ApiException 400 naming {@code inputUpload}, 413 when it is too large
     */
    Map<String, String> checkInputUpload(String uploadId) {
        JobFiles bucket = requireBucket("inputUpload");
        String key = JobFiles.uploadKey(uploadId);
        JobFiles.Head head = call("inputUpload", () -> bucket.head(key)).orElseThrow(() -> missing("inputUpload", uploadId));
        if (head.size() > maxInputBytes) {
            throw tooLarge(uploadId, head.size() + " bytes");
        }
        String text;
        try {
            text = call("inputUpload", () -> bucket.getText(key, head.etag(), maxInputBytes));
        } catch (JobFiles.ChangedException e) {
            throw ApiException.badRequest("field \"inputUpload\": upload " + uploadId + " was written again while it"
                    + " was being checked; submit once it is complete");
        }
        JsonNode input;
        try {
            input = Json.parse(text);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("field \"inputUpload\": upload " + uploadId + " is not JSON: "
                    + e.getMessage());
        }
        Map<String, String> etags = new TreeMap<>();
        etags.put(uploadId, head.etag());
        if (text.contains(JobFiles.FILE_MARKER)) {
            checkReferences(input, "inputUpload", etags);
        }
        return etags;
    }

    private ApiException tooLarge(String uploadId, String size) {
        return new ApiException(413, "field \"inputUpload\": upload " + uploadId + " is " + size
                + " and an input may be at most " + maxInputBytes + " bytes; pass large data as files ({\""
                + JobFiles.FILE_MARKER + "\": \"<uploadId>\"}) inside a smaller input");
    }

    /** Checks each upload once, however often it is named. */
    private void checkReferences(JsonNode input, String root, Map<String, String> etags) {
        int[] references = {0};
        try {
            JobFiles.replaceFileReferences(input, root, (path, uploadId) -> {
                if (++references[0] > MAX_REFERENCES) {
                    throw ApiException.badRequest("field \"" + path + "\": an input may hold at most " + MAX_REFERENCES
                            + " file references");
                }
                if (!etags.containsKey(uploadId)) {
                    if (etags.size() >= MAX_UPLOADS) {
                        throw ApiException.badRequest("field \"" + path + "\": an input may name at most " + MAX_UPLOADS
                                + " uploads");
                    }
                    JobFiles bucket = requireBucket(path);
                    JobFiles.Head head = call(path, () -> bucket.head(JobFiles.uploadKey(uploadId)))
                            .orElseThrow(() -> missing(path, uploadId));
                    etags.put(uploadId, head.etag());
                }
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
