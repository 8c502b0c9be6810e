package dev.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ferry submit TYPE ...}: {@code POST /jobs}, with uploads for files and large inputs; {@code --wait} follows it. */
@Command(name = "submit", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Submit a job. Prints it, or with --wait follows it to its end with a progress bar and"
                + " prints how it ended.",
                "An input too large for a queue message (256 KiB) is sent as an upload by itself."},
        footer = {"%nExamples:",
                "  ferry submit sample --input '{\"image\":{\"width\":256,\"height\":256}}' --wait --download out/",
                "  ferry submit edit --input '{\"strength\":0.6}' --file image=photo.jpg --wait",
                "  ferry submit train --input-file job.json --cancel-after 2h --idempotency-key nightly-2025-11-22"})
final class SubmitCommand extends FollowingCommand {

    /** SQS's largest message, which carries the job's input. */
    static final int MESSAGE_LIMIT = 262_144;
    /** Room kept for the rest of the message (job id, type, ...): a larger input goes as an upload. */
    static final int ENVELOPE = 1024;
    static final int MAX_IDEMPOTENCY_KEY_LENGTH = 255;

    @Parameters(index = "0", paramLabel = "TYPE", description = "The job type, as the workers know it (locally:"
            + " sample, or a FERRY_COMMAND_<TYPE> of your own).")
    String type;

    @ArgGroup(exclusive = true)
    InputOptions input;

    static final class InputOptions {
        @Option(names = "--input", paramLabel = "JSON", description = "The job's input, JSON.")
        String json;

        @Option(names = "--input-file", paramLabel = "FILE", description = "The job's input from a JSON file"
                + " (- for standard input).")
        Path file;

        @Option(names = "--input-upload", paramLabel = "FILE", description = "The job's input from a JSON file,"
                + " uploaded and sent as inputUpload whatever its size (up to the API's limit, 32 MiB by default).")
        Path upload;
    }

    @Option(names = "--file", paramLabel = "NAME=PATH", description = "Upload PATH and put {\"$file\": uploadId}"
            + " at input field NAME (a.b for a nested one): the handler receives the file's local path there."
            + " Repeatable.")
    Map<String, Path> files = new LinkedHashMap<>();

    @Option(names = "--idempotency-key", paramLabel = "KEY", description = "Submitting again with the same key and"
            + " input gives the same job. Without one, ferry makes one for this run, so that its own retries"
            + " (after a 503 or a lost connection) never submit twice.")
    String idempotencyKey;

    @Option(names = "--wait", description = "Follow the job to SUCCEEDED, FAILED or CANCELLED, with a progress bar"
            + " on a terminal; exit 0 only if it SUCCEEDED.")
    boolean wait;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.Converter.class,
            description = "How long --wait waits at most (30s, 10m, 1h30m); then exit 5, the job going on."
                    + " Default: until it ends.")
    Duration timeout;

    @Option(names = "--download", paramLabel = "DIR", description = "With --wait (implied): save the job's files,"
            + " and its result when stored apart, into DIR.")
    Path download;

    @ArgGroup(exclusive = true)
    DeadlineOptions deadline;

    static final class DeadlineOptions {
        @Option(names = "--deadline", paramLabel = "INSTANT", description = "Cancel the job if it has not finished"
                + " by then (2025-11-22T10:00:00Z).")
        String at;

        @Option(names = "--cancel-after", paramLabel = "DURATION", description = "Cancel the job if it has not"
                + " finished this long after the submit (30s, 10m, 1h30m).")
        String after;
    }

    @Option(names = "--webhook", paramLabel = "URL", description = "Where the API POSTs the job's events (signed).")
    String webhook;

    SubmitCommand(CliContext context) {
        super(context);
    }

    @Override
    public Integer call() {
        boolean follow = wait || download != null;
        if (timeout != null && !follow) {
            throw CliException.usage("--timeout is how long --wait waits: give --wait too");
        }
        String key = idempotencyKey != null ? checkKey(idempotencyKey) : "ferry-cli-" + UUID.randomUUID();
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Idempotency-Key", key);
        ObjectNode extra = CliJson.MAPPER.createObjectNode();
        if (deadline != null && deadline.at != null) {
            extra.put("deadline", instant(deadline.at).toString());
        }
        if (deadline != null && deadline.after != null) {
            Durations.parse(deadline.after).orElseThrow(() -> CliException.usage("--cancel-after must be "
                    + Durations.FORMAT + ", but is '" + deadline.after + "'"));
            headers.put("Cancel-After", deadline.after);
        }
        if (webhook != null) {
            extra.put("webhookUrl", webhook);
        }

        Input in = readInput();
        for (Path path : files.values()) {
            if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
                throw CliException.usage("--file: " + path + " is not a file that can be read");
            }
        }
        JsonNode value = in.value();
        byte[] raw = in.raw();
        if (!files.isEmpty()) {
            ObjectNode object = value == null ? CliJson.MAPPER.createObjectNode() : asObject(value);
            for (Map.Entry<String, Path> file : files.entrySet()) {
                String uploadId = upload(HttpRequest.BodyPublishers::ofFile, file.getValue(), file.getValue() + " ("
                        + JobText.bytes(size(file.getValue())) + ")");
                place(object, file.getKey(), uploadId);
            }
            value = object;
            raw = null;
        }
        byte[] bytes = raw != null ? raw : value == null ? null : CliJson.compact(value).getBytes(StandardCharsets.UTF_8);

        FerryApi.Answer answer;
        if (bytes != null && (in.upload() || bytes.length > MESSAGE_LIMIT - ENVELOPE)) {
            if (!in.upload()) {
                note("the input (" + JobText.bytes(bytes.length) + ") is too large for a queue message ("
                        + JobText.bytes(MESSAGE_LIMIT) + "): sending it as an upload");
            }
            answer = api().submit(CliJson.compact(body(null, uploadInput(bytes), extra)), headers);
        } else {
            answer = api().submit(CliJson.compact(body(value, null, extra)), headers);
            if (answer.status() == 413 && bytes != null && answer.text().contains("inputUpload")) {
                // The message, with what the API adds, is over the queue's limit; the 413 left nothing behind.
                note("the API found the input too large for a queue message: sending it as an upload");
                answer = api().submit(CliJson.compact(body(null, uploadInput(bytes), extra)), headers);
            }
        }
        api().check(answer);
        JsonNode job = answer.body();
        String jobId = job.path("jobId").asText();
        if (answer.status() == 200) {
            note("an earlier submit with this Idempotency-Key made this job: the same job, not a new one");
        }
        if (!follow) {
            if (json()) {
                printJson(answer);
            } else {
                out().print(JobText.describe(job, colour()));
                out().flush();
                note("follow it: ferry wait " + jobId);
            }
            return ExitCodes.SUCCESS;
        }
        if (json()) {
            printJson(answer);
        } else {
            note("submitted job " + jobId + " (" + type + ")");
        }
        return follow(jobId, type, answer, timeout, download);
    }

    /** The input, as given: parsed (for the body), raw (sent unchanged when nothing is added to it). */
    private record Input(JsonNode value, byte[] raw, boolean upload) {
    }

    private Input readInput() {
        if (input == null) {
            return new Input(null, null, false);
        }
        if (input.json != null) {
            return new Input(CliJson.parse(input.json, "--input"), null, false);
        }
        boolean upload = input.upload != null;
        Path path = upload ? input.upload : input.file;
        String option = upload ? "--input-upload" : "--input-file";
        byte[] bytes;
        try {
            if (path.toString().equals("-") && !upload) {
                InputStream stdin = System.in;
                bytes = stdin.readAllBytes();
            } else {
                bytes = Files.readAllBytes(path);
            }
        } catch (IOException e) {
            throw CliException.usage(option + ": cannot read " + path + ": " + e.getMessage());
        }
        JsonNode value = CliJson.parse(new String(bytes, StandardCharsets.UTF_8), option + " " + path);
        return new Input(value, bytes, upload);
    }

    /** {@code POST /uploads} and a PUT of the content; the upload's id. */
    private String upload(Publisher publisher, Path path, String what) {
        HttpRequest.BodyPublisher content;
        try {
            content = publisher.of(path);
        } catch (IOException e) {
            throw CliException.usage("cannot read " + path + ": " + e.getMessage());
        }
        return put(content, what);
    }

    private String uploadInput(byte[] bytes) {
        return put(HttpRequest.BodyPublishers.ofByteArray(bytes), "the input (" + JobText.bytes(bytes.length) + ")");
    }

    private String put(HttpRequest.BodyPublisher content, String what) {
        JsonNode upload = api().createUpload().body();
        String uploadId = upload.path("uploadId").asText();
        api().put(URI.create(upload.path("url").asText()), content, what);
        note("uploaded " + what + " as " + uploadId);
        return uploadId;
    }

    @FunctionalInterface
    private interface Publisher {
        HttpRequest.BodyPublisher of(Path path) throws IOException;
    }

    private ObjectNode body(JsonNode value, String inputUpload, ObjectNode extra) {
        ObjectNode body = CliJson.MAPPER.createObjectNode().put("type", type);
        if (inputUpload != null) {
            body.put("inputUpload", inputUpload);
        } else if (value != null) {
            body.set("input", value);
        }
        body.setAll(extra);
        return body;
    }

    /** Sets {@code {"$file": uploadId}} at {@code name} ({@code a.b}: field b of object a, made if missing). */
    static void place(ObjectNode input, String name, String uploadId) {
        String[] path = name.split("\\.", -1);
        for (String part : path) {
            if (part.isEmpty()) {
                throw CliException.usage("--file " + name + "=...: NAME must be a field name, or names joined by"
                        + " dots (image, inputs.mask)");
            }
        }
        ObjectNode at = input;
        for (int i = 0; i < path.length - 1; i++) {
            JsonNode next = at.get(path[i]);
            if (next == null || next.isNull()) {
                at = at.putObject(path[i]);
            } else if (next.isObject()) {
                at = (ObjectNode) next;
            } else {
                throw CliException.usage("--file " + name + "=...: input field " + String.join(".",
                        java.util.Arrays.copyOf(path, i + 1)) + " is " + next.getNodeType().toString().toLowerCase(
                        java.util.Locale.ROOT) + ", not an object");
            }
        }
        at.putObject(path[path.length - 1]).put("$file", uploadId);
    }

    private static ObjectNode asObject(JsonNode value) {
        if (!value.isObject()) {
            throw CliException.usage("--file puts files into the input's fields, so the input must be a JSON object,"
                    + " but it is " + value.getNodeType().toString().toLowerCase(java.util.Locale.ROOT));
        }
        return (ObjectNode) value;
    }

    static Instant instant(String text) {
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            try {
                return OffsetDateTime.parse(text).toInstant();
            } catch (DateTimeParseException again) {
                throw CliException.usage("--deadline must be an ISO-8601 instant such as 2025-11-22T10:00:00Z, but is '"
                        + text + "'");
            }
        }
    }

    static String checkKey(String key) {
        if (key.isEmpty() || key.length() > MAX_IDEMPOTENCY_KEY_LENGTH) {
            throw CliException.usage("--idempotency-key must be 1-" + MAX_IDEMPOTENCY_KEY_LENGTH + " characters");
        }
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c < 0x21 || c > 0x7e) {
                throw CliException.usage("--idempotency-key must be printable ASCII without spaces");
            }
        }
        return key;
    }

    private static long size(Path path) {
        try {
            return Files.size(path);
        } catch (IOException e) {
            throw CliException.usage("cannot read " + path + ": " + e.getMessage());
        }
    }
}
