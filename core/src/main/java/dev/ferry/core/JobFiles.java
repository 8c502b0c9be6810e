package dev.ferry.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URL;
import java.net.URLConnection;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/**
 * A job's files in the output bucket, and the presigned URLs that hand them to clients:
 *
 * <pre>
 * jobs/&lt;jobId&gt;/&lt;attempt&gt;/files/&lt;name&gt;   what a handler wrote into its output directory
 * jobs/&lt;jobId&gt;/&lt;attempt&gt;/result.json    a result too large for the job's record
 * jobs/&lt;jobId&gt;/&lt;attempt&gt;/log.txt        the attempt's log (bounded)
 * uploads/&lt;uploadId&gt;                      a client's upload: a file input, or a large input
 * </pre>
 *
 * <p>Each attempt writes under its own prefix, so a late writer that lost its lease can never
 * overwrite the files of the attempt whose result the record holds. Presigned URLs are valid for
 * {@code FERRY_URL_EXPIRY} (default one hour; no longer than the signer's credentials last: a
 * role's session).
 */
public final class JobFiles {

    /** The marker of a file input, anywhere in a job's input: {@code {"$file": "up_..."}}. */
    public static final String FILE_MARKER = "$file";
    /** A job's whole input, uploaded: the record and message carry {@code {"$input": "up_..."}} instead. */
    public static final String INPUT_MARKER = "$input";
    /** Where uploads live; ids are random, so a client cannot guess another's. */
    public static final String UPLOADS = "uploads/";
    public static final Duration DEFAULT_URL_EXPIRY = Duration.ofHours(1);
    /** The most files one attempt may leave in its output directory. */
    public static final int MAX_OUTPUT_FILES = 1000;
    /** How deep folders in the output directory may go. */
    public static final int MAX_OUTPUT_DEPTH = 8;
    /** A file name as stored: no directories, nothing odd. */
    private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9._-][A-Za-z0-9._ -]{0,199}");
    private static final Pattern UPLOAD_ID = Pattern.compile("up_[0-9A-HJKMNP-TV-Z]{26}");

    /** One stored file, as the record keeps it and the API shows it (with a URL). */
    public record StoredFile(String name, String key, String contentType, long size) {
        public ObjectNode toJson() {
            return Json.MAPPER.createObjectNode().put("name", name).put("key", key).put("contentType", contentType)
                    .put("size", size);
        }

        public static StoredFile fromJson(JsonNode node) {
            return new StoredFile(node.path("name").asText(), node.path("key").asText(),
                    node.path("contentType").asText("application/octet-stream"), node.path("size").asLong());
        }
    }

    /** A presigned upload: PUT the bytes to {@code url} before {@code expiresAt}. */
    public record Upload(String uploadId, String key, URL url, Instant expiresAt) {
    }

    private final S3Client s3;
    private final S3Presigner presigner;
    private final String bucket;
    private final Duration urlExpiry;
    private final Clock clock;
    private final JobIds ids = new JobIds();

    public JobFiles(S3Client s3, S3Presigner presigner, String bucket, Duration urlExpiry, Clock clock) {
        this.s3 = Objects.requireNonNull(s3, "s3");
        this.presigner = Objects.requireNonNull(presigner, "presigner");
        this.bucket = Objects.requireNonNull(bucket, "bucket");
        this.urlExpiry = Objects.requireNonNull(urlExpiry, "urlExpiry");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** The job files of {@code FERRY_BUCKET}, or empty where none is configured (jobs then have no files). */
    public static Optional<JobFiles> fromEnvironment(FerryEnv env) {
        return env.optional(FerryEnv.BUCKET).map(bucket -> new JobFiles(AwsClients.s3(env), AwsClients.s3Presigner(env),
                bucket, env.duration(FerryEnv.URL_EXPIRY, DEFAULT_URL_EXPIRY), Clock.systemUTC()));
    }

    public String bucket() {
        return bucket;
    }

    public Duration urlExpiry() {
        return urlExpiry;
    }

    /** Until when a URL presigned now is valid (at most: a role's session may end sooner). */
    public Instant urlsExpireAt() {
        return clock.instant().plus(urlExpiry);
    }

    public static String attemptPrefix(String jobId, int attempt) {
        return "jobs/" + jobId + "/" + attempt + "/";
    }

    public static String resultKey(String jobId, int attempt) {
        return attemptPrefix(jobId, attempt) + "result.json";
    }

    public static String logKey(String jobId, int attempt) {
        return attemptPrefix(jobId, attempt) + "log.txt";
    }

    /** Whether {@code id} has the shape of an upload id (says nothing of whether it exists). */
    public static boolean looksLikeUploadId(String id) {
        return id != null && UPLOAD_ID.matcher(id).matches();
    }

    public static String uploadKey(String uploadId) {
        return UPLOADS + uploadId;
    }

    /**
     * Uploads every file under {@code dir} as one of the attempt's files, in name order; a file in
     * a folder keeps its relative path as its name ({@code frames/0001.png}).
     *
     * @throws IllegalArgumentException a name Ferry does not store, a symbolic link (a handler
     *     that unpacks a client's archive must not publish what a link points at), more than
     *     {@value #MAX_OUTPUT_FILES} files or folders deeper than {@value #MAX_OUTPUT_DEPTH}; the
     *     message says which
     */
    public List<StoredFile> putOutputs(String jobId, int attempt, Path dir) {
        List<StoredFile> stored = new ArrayList<>();
        if (dir == null || !Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return stored;
        }
        List<Path> files = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(dir, MAX_OUTPUT_DEPTH + 1)) { // never follows links
            for (Path path : (Iterable<Path>) walk::iterator) {
                if (path.equals(dir)) {
                    continue;
                }
                Path relative = dir.relativize(path);
                if (Files.isSymbolicLink(path)) {
                    throw new IllegalArgumentException("output \"" + relative + "\" is a symbolic link; Ferry stores"
                            + " only regular files from the output directory");
                }
                if (Files.isDirectory(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    if (relative.getNameCount() > MAX_OUTPUT_DEPTH) {
                        throw new IllegalArgumentException("output folder \"" + relative + "\" is deeper than "
                                + MAX_OUTPUT_DEPTH + " levels");
                    }
                    continue;
                }
                if (!Files.isRegularFile(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    throw new IllegalArgumentException("output \"" + relative + "\" is not a regular file");
                }
                files.add(path);
                if (files.size() > MAX_OUTPUT_FILES) {
                    throw new IllegalArgumentException("the job wrote more than " + MAX_OUTPUT_FILES + " output files;"
                            + " pack them into an archive");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the output directory " + dir, e);
        }
        files.sort(null);
        for (Path file : files) {
            String name = outputName(dir.relativize(file));
            String key = attemptPrefix(jobId, attempt) + "files/" + name;
            String type = contentType(name);
            s3.putObject(r -> r.bucket(bucket).key(key).contentType(type), RequestBody.fromFile(file));
            try {
                stored.add(new StoredFile(name, key, type, Files.size(file)));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the size of " + file, e);
            }
        }
        return stored;
    }

    /** A relative path as a stored name: each part checked, joined by {@code /}. */
    private static String outputName(Path relative) {
        List<String> parts = new ArrayList<>();
        for (Path part : relative) {
            String name = part.toString();
            if (!SAFE_NAME.matcher(name).matches() || name.equals(".") || name.equals("..")) {
                throw new IllegalArgumentException("output file \"" + relative + "\" has a name Ferry does not store:"
                        + " use letters, digits, '.', '_', '-' and spaces, at most 200 characters per part");
            }
            parts.add(name);
        }
        return String.join("/", parts);
    }

    /** What replaces one file reference while a job's input is walked. */
    @FunctionalInterface
    public interface FileReferences<E extends Exception> {
        /**
         * @param path where in the input the reference is ({@code input.images[2]})
         * @param uploadId the upload it names (already checked to have an upload id's shape)
         * @return what takes its place
         */
        JsonNode replace(String path, String uploadId) throws E;
    }

    /**
     * A copy of {@code node} with every {@code {"$file": id}} replaced as {@code references} says.
     *
     * @throws IllegalArgumentException a {@code $file} that does not name an upload id (the message
     *     says where)
     */
    public static <E extends Exception> JsonNode replaceFileReferences(JsonNode node, String path,
                                                                       FileReferences<E> references) throws E {
        if (node.isObject()) {
            if (node.has(FILE_MARKER)) {
                JsonNode id = node.get(FILE_MARKER);
                if (node.size() != 1 || !id.isTextual() || !looksLikeUploadId(id.asText())) {
                    throw new IllegalArgumentException("field \"" + path + "\": a file input is {\"" + FILE_MARKER
                            + "\": \"<uploadId>\"} with the id POST /uploads returned (up_ and 26 letters or digits),"
                            + " nothing else in the object");
                }
                return references.replace(path, id.asText());
            }
            ObjectNode copy = Json.MAPPER.createObjectNode();
            for (var fields = node.fields(); fields.hasNext(); ) {
                var field = fields.next();
                copy.set(field.getKey(), replaceFileReferences(field.getValue(), path + "." + field.getKey(), references));
            }
            return copy;
        }
        if (node.isArray()) {
            ArrayNode copy = Json.MAPPER.createArrayNode();
            for (int i = 0; i < node.size(); i++) {
                copy.add(replaceFileReferences(node.get(i), path + "[" + i + "]", references));
            }
            return copy;
        }
        return node;
    }

    /** The upload a job's whole input was sent as, if {@code input} is the marker of one. */
    public static Optional<String> inputUpload(JsonNode input) {
        if (input != null && input.isObject() && input.size() == 1 && input.has(INPUT_MARKER)
                && input.get(INPUT_MARKER).isTextual()) {
            return Optional.of(input.get(INPUT_MARKER).asText());
        }
        return Optional.empty();
    }

    /** The marker a record and message carry for an input sent as an upload. */
    public static ObjectNode inputMarker(String uploadId) {
        return Json.MAPPER.createObjectNode().put(INPUT_MARKER, uploadId);
    }

    /** Stores a text object (a result, a log) and returns its key. */
    public String putText(String key, String text, String contentType) {
        s3.putObject(r -> r.bucket(bucket).key(key).contentType(contentType + "; charset=utf-8"),
                RequestBody.fromString(text, StandardCharsets.UTF_8));
        return key;
    }

    /** A text object's content. */
    public String getText(String key) {
        return s3.getObjectAsBytes(r -> r.bucket(bucket).key(key)).asString(StandardCharsets.UTF_8);
    }

    /**
     * A text object's content as it was when {@code etag} was read, and at most {@code maxBytes}.
     *
     * @throws ChangedException it is not that version any more (or is larger than {@code maxBytes})
     */
    public String getText(String key, String etag, long maxBytes) {
        try {
            var bytes = s3.getObjectAsBytes(r -> r.bucket(bucket).key(key).ifMatch(etag)
                    .range("bytes=0-" + maxBytes)); // one byte past the limit tells a larger object
            if (bytes.asByteArray().length > maxBytes) {
                throw new ChangedException(key + " is larger than " + maxBytes + " bytes");
            }
            return bytes.asString(StandardCharsets.UTF_8);
        } catch (S3Exception e) {
            throw changedOr(e, key);
        }
    }

    /**
     * Downloads an object to {@code target}, as it was when {@code etag} was read (any version
     * where {@code etag} is null).
     *
     * @throws ChangedException it is not that version any more
     */
    public void download(String key, String etag, Path target) {
        try {
            Files.createDirectories(target.getParent());
            Files.deleteIfExists(target);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare " + target, e);
        }
        try {
            s3.getObject(r -> r.bucket(bucket).key(key).ifMatch(etag), target);
        } catch (S3Exception e) {
            throw changedOr(e, key);
        }
    }

    private static RuntimeException changedOr(S3Exception e, String key) {
        return e.statusCode() == 412 ? new ChangedException(key + " has changed since it was checked") : e;
    }

    /** An object's size and version tag, or empty when there is none. */
    public Optional<Head> head(String key) {
        try {
            HeadObjectResponse head = s3.headObject(r -> r.bucket(bucket).key(key));
            return Optional.of(new Head(head.contentLength(), head.eTag()));
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        } catch (S3Exception e) {
            // Without s3:ListBucket (Ferry's roles have none: it would let them list every key),
            // S3 answers a HEAD of a missing key with 403 rather than 404. The roles can read what
            // they HEAD, so a 403 here means "not there".
            if (e.statusCode() == 404 || e.statusCode() == 403) {
                return Optional.empty();
            }
            throw e;
        }
    }

    /** What a HEAD says of an object: how large, and which version ({@code ETag}). */
    public record Head(long size, String etag) {
    }

    /** An object is not the version a job was checked against (the client wrote it again). */
    public static final class ChangedException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public ChangedException(String message) {
            super(message);
        }
    }

    /** A URL a plain {@code curl} or a browser can GET the object with, for {@link #urlExpiry()}. */
    public URL presignGet(String key) {
        return presigner.presignGetObject(r -> r.signatureDuration(urlExpiry)
                .getObjectRequest(g -> g.bucket(bucket).key(key))).url();
    }

    /** A new upload: a random id and a presigned PUT for it. */
    public Upload presignUpload() {
        String uploadId = "up_" + ids.newId();
        String key = uploadKey(uploadId);
        URL url = presigner.presignPutObject(r -> r.signatureDuration(urlExpiry)
                .putObjectRequest(p -> p.bucket(bucket).key(key))).url();
        return new Upload(uploadId, key, url, clock.instant().plus(urlExpiry));
    }

    /** The stored files as the record keeps them: a JSON array. */
    public static String filesJson(List<StoredFile> files) {
        ArrayNode array = Json.MAPPER.createArrayNode();
        files.forEach(file -> array.add(file.toJson()));
        return array.toString();
    }

    public static List<StoredFile> parseFiles(String json) {
        List<StoredFile> files = new ArrayList<>();
        if (json != null && !json.isBlank()) {
            Json.parse(json).forEach(node -> files.add(StoredFile.fromJson(node)));
        }
        return files;
    }

    static String contentType(String name) {
        String guessed = URLConnection.guessContentTypeFromName(name);
        if (guessed != null) {
            return guessed;
        }
        String lower = name.toLowerCase(java.util.Locale.ROOT);
        if (lower.endsWith(".json")) {
            return "application/json";
        }
        if (lower.endsWith(".webp")) {
            return "image/webp";
        }
        if (lower.endsWith(".mp4")) {
            return "video/mp4";
        }
        return "application/octet-stream";
    }
}
