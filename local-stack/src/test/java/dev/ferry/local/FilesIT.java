package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Json;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Files in and out through S3 on the local stack, as a client sees them over HTTP: an image job's
 * PNG fetched with its presigned URL, one warm process serving job after job, a file input
 * uploaded with a presigned PUT and read by the job from a local path, an input too large for a
 * message sent as an upload, a result too large for the record stored by reference, each
 * attempt's log, and the mistakes a client makes with uploads refused with 400s naming the field.
 */
class FilesIT {

    private static final Duration FINISH = Duration.ofSeconds(60);
    /** Reads the file its input names and answers its SHA-256 and size: what a job that edits an image does first. */
    private static final String FILE_INFO = "python3 -c 'import hashlib, json, sys; i = json.load(sys.stdin);"
            + " b = open(i[\"image\"], \"rb\").read(); print(json.dumps({\"sha256\": hashlib.sha256(b).hexdigest(),"
            + " \"size\": len(b), \"again\": i[\"again\"] == i[\"image\"]}))'";
    private static LocalStack stack;
    private static Api api;

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0)
                .environmentOverrides(Map.of("FERRY_COMMAND_FILEINFO", FILE_INFO)).build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    @Test
    void anImageJob_listsItsPng_whoseUrlAPlainClientDownloads_andOneProcessServesJobAfterJob() throws Exception {
        try (var worker = stack.startWorker(Map.of("FERRY_SLOTS", "1"))) {
            imageJobAndReuse();
        }
    }

    private void imageJobAndReuse() throws Exception {
        String first = api.submit("{\"type\":\"sample\",\"input\":{\"image\":{\"width\":64,\"height\":48}}}").jobId();
        JsonNode done = api.awaitStatus(first, "SUCCEEDED", FINISH);

        JsonNode file = done.get("files").get(0);
        assertEquals("image.png", file.get("name").asText());
        assertEquals("image/png", file.get("contentType").asText());
        byte[] png = api.download(file.get("url").asText());
        assertEquals(file.get("size").asLong(), png.length);
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
        assertEquals(64, image.getWidth());
        assertEquals(48, image.getHeight());
        assertNotNull(done.get("urlsExpireAt"));

        long pid = done.get("result").get("pid").asLong();
        String second = api.submit("{\"type\":\"sample\",\"input\":{\"output\":2}}").jobId();
        JsonNode again = api.awaitStatus(second, "SUCCEEDED", FINISH);
        assertEquals(pid, again.get("result").get("pid").asLong(), "the same warm process: " + again);
        assertEquals(2, again.get("result").get("jobsServed").asInt(), again.toString());
    }

    @Test
    void aFileInput_uploadedWithAPresignedPut_reachesTheJobAsALocalPath_onceHoweverOftenItIsNamed() throws Exception {
        try (var worker = stack.startWorker(Map.of())) {
            byte[] photo = new byte[300_000];
            new java.util.Random(7).nextBytes(photo);
            Api.Response upload = api.createUpload();
            assertEquals(201, upload.status(), upload.body().toString());
            assertEquals("PUT", upload.body().get("method").asText());
            assertEquals(200, api.put(upload.body().get("url").asText(), photo));
            String uploadId = upload.body().get("uploadId").asText();

            String jobId = api.submit("{\"type\":\"fileinfo\",\"input\":{\"image\":{\"$file\":\"" + uploadId
                    + "\"},\"again\":{\"$file\":\"" + uploadId + "\"}}}").jobId();
            JsonNode done = api.awaitStatus(jobId, "SUCCEEDED", FINISH);

            assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(photo)),
                    done.get("result").get("sha256").asText());
            assertEquals(photo.length, done.get("result").get("size").asInt());
            assertTrue(done.get("result").get("again").asBoolean(), "one download for both references");
        }
    }

    @Test
    void anUploadWrittenAgainAfterTheSubmit_failsTheJob_insteadOfRunningOnWhatWasNotChecked() {
        Api.Response upload = api.createUpload();
        String url = upload.body().get("url").asText();
        String uploadId = upload.body().get("uploadId").asText();
        api.put(url, "first".getBytes(StandardCharsets.UTF_8));
        String jobId = api.submit("{\"type\":\"fileinfo\",\"input\":{\"image\":{\"$file\":\"" + uploadId
                + "\"},\"again\":1}}").jobId();
        // Accepted: then the client writes the upload again, before any worker has read it.
        assertEquals(200, api.put(url, "second, not what was checked".getBytes(StandardCharsets.UTF_8)));

        try (var worker = stack.startWorker(Map.of())) {
            JsonNode failed = api.awaitStatus(jobId, "FAILED", FINISH);
            assertTrue(failed.get("error").asText().contains("written again after the job was submitted"),
                    failed.toString());
            assertEquals(1, failed.get("attempts").asInt(), "not retried: it would fail the same way");
        }
    }

    @Test
    void anInputTooLargeForAMessage_goesAsAnUpload_andAResultTooLargeForTheRecord_comesBackByReference() {
        try (var worker = stack.startWorker(Map.of())) {
            String big = "x".repeat(400_000);
            byte[] input = ("{\"output\":\"" + big + "\"}").getBytes(StandardCharsets.UTF_8);
            Api.Response inline = api.submit("{\"type\":\"sample\",\"input\":{\"output\":\"" + big + "\"}}");
            assertEquals(413, inline.status(), "too large for a message");
            assertTrue(inline.error().contains("inputUpload"), inline.error());

            Api.Response upload = api.createUpload();
            api.put(upload.body().get("url").asText(), input);
            String jobId = api.submit("{\"type\":\"sample\",\"inputUpload\":\"" + upload.body().get("uploadId").asText()
                    + "\"}").jobId();
            JsonNode done = api.awaitStatus(jobId, "SUCCEEDED", FINISH);

            assertFalse(done.has("result"), "too large for the record");
            JsonNode result = Json.parse(new String(api.download(done.get("resultUrl").asText()), StandardCharsets.UTF_8));
            assertEquals(big, result.get("output").asText());
        }
    }

    @Test
    void eachAttemptsLog_isKept_andLinkedFromTheJobsHistory() {
        try (var worker = stack.startWorker(Map.of())) {
            String jobId = api.submit("{\"type\":\"sample\",\"input\":{\"failTimes\":1}}").jobId();
            JsonNode done = api.awaitStatus(jobId, "SUCCEEDED", FINISH);

            JsonNode history = done.get("history");
            assertEquals(2, history.size(), done.toString());
            assertEquals("retrying", history.get(0).get("outcome").asText());
            assertEquals("succeeded", history.get(1).get("outcome").asText());
            String failedLog = new String(api.download(history.get(0).get("logUrl").asText()), StandardCharsets.UTF_8);
            assertTrue(failedLog.contains("failing on purpose: attempt 1"), failedLog);
            String okLog = new String(api.download(history.get(1).get("logUrl").asText()), StandardCharsets.UTF_8);
            assertTrue(okLog.contains("job " + jobId + " attempt 2"), okLog);
        }
    }

    @Test
    void uploadMistakes_are400sNamingTheField_andLeaveNothingBehind() {
        int before = Queues.depth(stack.sqs(), stack.queueUrl());
        String missing = "up_01KAS0000000000000000000XY";
        Api.Response noSuchFile = api.submit("{\"type\":\"sample\",\"input\":{\"output\":{\"a\":[{\"$file\":\""
                + missing + "\"}]}}}");
        assertEquals(400, noSuchFile.status());
        assertTrue(noSuchFile.error().startsWith("field \"input.output.a[0]\": upload " + missing + " does not exist"),
                noSuchFile.error());

        Api.Response malformed = api.submit("{\"type\":\"sample\",\"input\":{\"x\":{\"$file\":\"../etc/passwd\"}}}");
        assertEquals(400, malformed.status());
        assertTrue(malformed.error().startsWith("field \"input.x\""), malformed.error());

        Api.Response both = api.submit("{\"type\":\"sample\",\"input\":{},\"inputUpload\":\"" + missing + "\"}");
        assertEquals(400, both.status());
        assertTrue(both.error().contains("exclude each other"), both.error());

        Api.Response reserved = api.submit("{\"type\":\"sample\",\"input\":{\"$input\":\"" + missing + "\"}}");
        assertEquals(400, reserved.status());

        Api.Response upload = api.createUpload();
        api.put(upload.body().get("url").asText(), "not json {".getBytes(StandardCharsets.UTF_8));
        Api.Response notJson = api.submit("{\"type\":\"sample\",\"inputUpload\":\"" + upload.body().get("uploadId")
                .asText() + "\"}");
        assertEquals(400, notJson.status());
        assertTrue(notJson.error().startsWith("field \"inputUpload\"") && notJson.error().contains("not JSON"),
                notJson.error());

        assertEquals(before, Queues.depth(stack.sqs(), stack.queueUrl()), "nothing was queued");
    }
}
