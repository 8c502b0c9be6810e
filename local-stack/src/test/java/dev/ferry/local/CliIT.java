package dev.ferry.local;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.cli.CliContext;
import dev.ferry.cli.ExitCodes;
import dev.ferry.cli.FerryCli;
import dev.ferry.core.Json;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ferry}, the command line, run in this JVM ({@link FerryCli#run}) against a local stack
 * through real HTTP, as {@code scripts/ferry} runs it: submit --wait of a sample image job
 * downloads its PNG, --file reaches the job, status, logs, download, dlq and redrive read and act on
 * real jobs, and the API's refusals and a timeout exit with their documented codes.
 * Progress on the bar and as lines, {@code Prefer: wait}, cancel, {@code --cancel-after} and
 * {@code list --all} run against the same stack.
 */
class CliIT {

    private static final Duration FINISH = Duration.ofSeconds(60);
    /** Reads the file its input names and answers its SHA-256 and size. */
    private static final String FILE_INFO = "python3 -c 'import hashlib, json, sys; i = json.load(sys.stdin);"
            + " b = open(i[\"image\"], \"rb\").read(); print(json.dumps({\"sha256\": hashlib.sha256(b).hexdigest(),"
            + " \"size\": len(b)}))'";
    private static LocalStack stack;
    private static Api api;

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(1).workerSlots(2)
                .environmentOverrides(Map.of("FERRY_COMMAND_FILEINFO", FILE_INFO, "FERRY_WAIT_SECONDS", "1"))
                .build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    /** One run's exit code and what it wrote on standard output and error. */
    record Run(int code, String out, String err) {
        /** The last line of standard output as JSON: --json's final answer. */
        JsonNode lastJson() {
            List<String> lines = out.lines().filter(line -> !line.isBlank()).toList();
            return Json.parse(lines.get(lines.size() - 1));
        }

        @Override
        public String toString() {
            return "exit " + code + "\n--- out:\n" + out + "\n--- err:\n" + err;
        }
    }

    private static Run ferry(boolean terminal, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        Map<String, String> env = Map.of("FERRY_URL", stack.apiEndpoint().toString(), "FERRY_ADMIN_TOKEN",
                stack.adminToken(), "NO_COLOR", "1");
        CliContext context = CliContext.of(env, new PrintWriter(out), new PrintWriter(err));
        int code = FerryCli.run(args, terminal ? context.asTerminal(100) : context);
        return new Run(code, out.toString(), err.toString());
    }

    private static Run ferry(String... args) {
        return ferry(false, args);
    }

    private static String submitted(Run run) {
        assertEquals(ExitCodes.SUCCESS, run.code(), run.toString());
        return run.lastJson().get("jobId").asText();
    }

    @Test
    void submitWait_ofAnImageJob_followsItWithABar_thenDownloadsItsPng(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        // 5 s of work: longer than a held read while a bar is drawn (2 s), so RUNNING is seen whether the
        // server holds reads or not.
        Run run = ferry(true, "submit", "sample", "--input", "{\"sleepMs\":5000,\"image\":{\"width\":64,\"height\":48}}",
                "--wait", "--timeout", "2m", "--download", out.toString());

        assertEquals(ExitCodes.SUCCESS, run.code(), run.toString());
        assertTrue(run.err().contains("RUNNING  attempt 1"), run.toString());
        assertTrue(run.err().contains("SUCCEEDED  after 1 attempt"), run.toString());
        assertTrue(run.err().contains("\r"), "a bar redrawn in place: " + run);
        assertTrue(run.out().matches("(?s).*Status\\s+SUCCEEDED.*"), run.toString());
        assertTrue(run.out().contains("saved " + out.resolve("image.png").toAbsolutePath()), run.toString());
        BufferedImage image = ImageIO.read(out.resolve("image.png").toFile());
        assertEquals(64, image.getWidth());
        assertEquals(48, image.getHeight());
    }

    @Test
    void aFile_isUploadedAndReachesTheJob_andJsonPrintsTheRawAnswers(@TempDir Path dir) throws Exception {
        byte[] photo = new byte[300_000];
        new Random(11).nextBytes(photo);
        Path file = Files.write(dir.resolve("photo.bin"), photo);

        Run run = ferry("submit", "fileinfo", "--file", "image=" + file, "--wait", "--timeout", "2m", "--json");

        assertEquals(ExitCodes.SUCCESS, run.code(), run.toString());
        List<String> lines = run.out().lines().filter(line -> !line.isBlank()).toList();
        assertEquals(2, lines.size(), "the submit's answer and the last read, nothing else: " + run);
        assertEquals("QUEUED", Json.parse(lines.get(0)).get("status").asText(), run.toString());
        JsonNode done = run.lastJson();
        assertEquals("SUCCEEDED", done.get("status").asText());
        assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(photo)),
                done.get("result").get("sha256").asText());
        assertTrue(run.err().contains("uploaded " + file), run.toString());
        assertFalse(run.err().contains("\r"), "no bar with --json: " + run);
    }

    @Test
    void anInputTooLargeForAMessage_isSentAsAnUpload_sayingSo(@TempDir Path dir) throws Exception {
        String big = "x".repeat(300_000);
        Path input = Files.writeString(dir.resolve("input.json"), "{\"output\":\"" + big + "\"}");

        Run run = ferry("submit", "sample", "--input-file", input.toString(), "--wait", "--timeout", "2m", "--json");

        assertEquals(ExitCodes.SUCCESS, run.code(), run.toString());
        assertTrue(run.err().contains("too large for a queue message"), run.toString());
        JsonNode done = api.get(run.lastJson().get("jobId").asText()).body();
        assertEquals("SUCCEEDED", done.get("status").asText(), done.toString());
    }

    @Test
    void statusLogsAndDownload_ofAJobThatFailedOnceThenSucceeded(@TempDir Path dir) throws Exception {
        String jobId = submitted(ferry("submit", "sample", "--input",
                "{\"failTimes\":1,\"image\":{\"width\":8,\"height\":8}}", "--json"));
        api.awaitStatus(jobId, "SUCCEEDED", FINISH);

        Run status = ferry("status", jobId);
        assertEquals(ExitCodes.SUCCESS, status.code(), status.toString());
        assertTrue(status.out().matches("(?s).*Attempts\\s+2.*"), status.toString());
        assertTrue(status.out().contains("#1  retrying"), status.toString());
        assertTrue(status.out().contains("#2  succeeded"), status.toString());
        assertTrue(status.out().contains("image.png"), status.toString());

        Run first = ferry("logs", jobId, "--attempt", "1");
        assertEquals(ExitCodes.SUCCESS, first.code(), first.toString());
        assertTrue(first.out().contains("failing on purpose: attempt 1"), first.toString());
        Run last = ferry("logs", jobId);
        assertEquals(ExitCodes.SUCCESS, last.code(), last.toString());
        assertTrue(last.out().contains("job " + jobId + " attempt 2"), last.toString());
        Run none = ferry("logs", jobId, "--attempt", "7");
        assertEquals(ExitCodes.REFUSED, none.code(), none.toString());
        assertTrue(none.err().contains("attempts with logs: 1, 2"), none.toString());

        Run download = ferry("download", jobId, dir.toString());
        assertEquals(ExitCodes.SUCCESS, download.code(), download.toString());
        assertEquals(api.get(jobId).body().get("files").get(0).get("size").asLong(),
                Files.size(dir.resolve("image.png")));
    }

    @Test
    void aJobThatFails_exits1_isListedByDlq_andRedriveOfItsIdRunsItAgain() {
        int limit = stack.maxReceiveCount();
        Run failed = ferry("submit", "sample", "--input", "{\"failTimes\":" + limit + ",\"output\":\"again\"}",
                "--wait", "--timeout", "2m");
        assertEquals(ExitCodes.JOB_NOT_SUCCEEDED, failed.code(), failed.toString());
        assertTrue(failed.out().matches("(?s).*Status\\s+FAILED.*"), failed.toString());
        String jobId = failed.out().lines().filter(line -> line.startsWith("Job")).findFirst().orElseThrow()
                .replaceAll("^Job\\s+(\\S+).*$", "$1");
        await().atMost(FINISH).pollInterval(Duration.ofMillis(200))
                .until(() -> Queues.peekJobIds(stack.sqs(), stack.deadLetterQueueUrl()).contains(jobId));

        Run dlq = ferry("dlq");
        assertEquals(ExitCodes.SUCCESS, dlq.code(), dlq.toString());
        assertTrue(dlq.out().lines().anyMatch(line -> line.startsWith(jobId) && line.contains("sample")
                && line.contains("failing on purpose")), dlq.toString());

        Run redrive = ferry("redrive", jobId);
        assertEquals(ExitCodes.SUCCESS, redrive.code(), redrive.toString());
        assertTrue(redrive.out().contains("retried " + jobId), redrive.toString());
        Run waited = ferry("wait", jobId, "--timeout", "2m");
        assertEquals(ExitCodes.SUCCESS, waited.code(), waited.toString());

        Run again = ferry("redrive", jobId);
        assertEquals(ExitCodes.REFUSED, again.code(), "a job that is not FAILED is skipped: " + again);
        assertTrue(again.out().contains("skipped " + jobId), again.toString());
    }

    @Test
    void redriveWithoutIds_startsTheDlqRedrive() {
        Run run = ferry("redrive");
        assertEquals(ExitCodes.SUCCESS, run.code(), run.toString());
        assertTrue(run.out().contains("redrive started"), run.toString());
    }

    @Test
    void theApisRefusals_exit3_withItsErrorAsItIs() {
        Run unknown = ferry("status", "01JD3N3Y3ZX2W0K7Q8M9P4R5S6");
        assertEquals(ExitCodes.REFUSED, unknown.code(), unknown.toString());
        assertTrue(unknown.err().contains("01JD3N3Y3ZX2W0K7Q8M9P4R5S6"), unknown.toString());

        Run badType = ferry("submit", "no such type!", "--input", "{}");
        assertEquals(ExitCodes.REFUSED, badType.code(), badType.toString());
        assertTrue(badType.err().contains("ferry: field \"type\" must be 1-64 characters"), badType.toString());

        Run badToken = ferry("dlq", "--admin-token", "wrong-token-wrong-token");
        assertEquals(ExitCodes.REFUSED, badToken.code(), badToken.toString());
    }

    @Test
    void theSameIdempotencyKey_givesTheSameJob() {
        String key = "cli-it-" + System.nanoTime();
        String first = submitted(ferry("submit", "sample", "--input", "{\"output\":1}", "--idempotency-key", key,
                "--json"));
        Run again = ferry("submit", "sample", "--input", "{\"output\":1}", "--idempotency-key", key, "--json");
        assertEquals(first, submitted(again));
        assertTrue(again.err().contains("the same job"), again.toString());
    }

    @Test
    void waitingPastTheTimeout_exits5_andTheJobGoesOn() {
        String jobId = submitted(ferry("submit", "sample", "--input", "{\"sleepMs\":8000}", "--json"));
        Run run = ferry("wait", jobId, "--timeout", "2s");
        assertEquals(ExitCodes.TIMED_OUT, run.code(), run.toString());
        assertTrue(run.err().contains("ferry wait " + jobId), run.toString());
        assertFalse(api.get(jobId).body().get("status").asText().matches("FAILED|CANCELLED"));
    }

    // ---------------------------------------------------------------------------------------------
    // Cancel, listing, progress and waiting, through the command line.

    @Test
    void submitWait_showsTheJobsProgress_onTheBarAndAsLines() {
        Run bar = ferry(true, "submit", "sample", "--input", "{\"sleepMs\":4000}", "--wait", "--timeout", "2m");
        assertEquals(ExitCodes.SUCCESS, bar.code(), bar.toString());
        assertTrue(bar.err().matches("(?s).*\\b[1-9]\\d?%.*"), "a fraction between 0 and 100%: " + bar);

        Run lines = ferry("submit", "sample", "--input", "{\"sleepMs\":4000}", "--wait", "--timeout", "2m");
        assertEquals(ExitCodes.SUCCESS, lines.code(), lines.toString());
        assertTrue(lines.err().lines().anyMatch(line -> line.strip().startsWith("progress ")), lines.toString());
    }

    @Test
    void waiting_usesPreferWait_whenTheServerAppliesIt() {
        Run run = ferry("submit", "sample", "--input", "{\"sleepMs\":3000}", "--wait", "--timeout", "2m", "-v");
        assertEquals(ExitCodes.SUCCESS, run.code(), run.toString());
        assertTrue(run.err().contains("Prefer: wait="), run.toString());
        assertTrue(run.err().contains("Preference-Applied: wait="), run.toString());
        long gets = run.err().lines().filter(line -> line.startsWith("> GET")).count();
        assertTrue(gets < 10, "held reads, not a poll a second for 3 s and more: " + run);
    }

    @Test
    void cancel_ofARunningJob_endsItCancelled_andWaitExits1() {
        String jobId = submitted(ferry("submit", "sample", "--input", "{\"sleepMs\":60000}", "--json"));
        api.awaitStatus(jobId, "RUNNING", FINISH);

        Run cancel = ferry("cancel", jobId);
        assertEquals(ExitCodes.SUCCESS, cancel.code(), cancel.toString());
        Run waited = ferry("wait", jobId, "--timeout", "1m");
        assertEquals(ExitCodes.JOB_NOT_SUCCEEDED, waited.code(), waited.toString());
        assertTrue(waited.out().matches("(?s).*Status\\s+CANCELLED.*"), waited.toString());

        Run again = ferry("cancel", jobId);
        assertEquals(ExitCodes.SUCCESS, again.code(), "cancelling twice is not an error: " + again);
        assertTrue(again.out().contains("CANCELLED"), again.toString());

        String done = submitted(ferry("submit", "sample", "--input", "{\"output\":1}", "--json"));
        api.awaitStatus(done, "SUCCEEDED", FINISH);
        Run finished = ferry("cancel", done);
        assertEquals(ExitCodes.REFUSED, finished.code(), "a finished job cannot be cancelled: " + finished);
        assertTrue(finished.err().contains("SUCCEEDED"), finished.toString());
    }

    @Test
    void cancelAfter_isSentWithTheSubmit_andCancelsTheJob() {
        Run run = ferry("submit", "sample", "--input", "{\"sleepMs\":60000}", "--cancel-after", "2s", "--wait",
                "--timeout", "1m");
        assertEquals(ExitCodes.JOB_NOT_SUCCEEDED, run.code(), run.toString());
        assertTrue(run.err().contains("CANCELLED"), run.toString());
    }

    @Test
    void list_followsNextCursor_withAll_andFiltersByStatusAndType() {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(submitted(ferry("submit", "sample", "--input", "{\"output\":" + i + "}", "--json")));
        }
        ids.forEach(id -> api.awaitStatus(id, "SUCCEEDED", FINISH));

        Run all = ferry("list", "--status", "succeeded", "--type", "sample", "--limit", "1", "--all", "--json");
        assertEquals(ExitCodes.SUCCESS, all.code(), all.toString());
        List<JsonNode> pages = all.out().lines().filter(line -> !line.isBlank()).map(Json::parse).toList();
        assertTrue(pages.size() >= 3, "one job a page: " + all);
        Set<String> listed = pages.stream().flatMap(page -> java.util.stream.StreamSupport.stream(
                page.get("jobs").spliterator(), false)).map(job -> job.get("jobId").asText()).collect(Collectors.toSet());
        assertTrue(listed.containsAll(ids), all.toString());
        assertTrue(pages.get(pages.size() - 1).get("nextCursor").isNull(), all.toString());

        Run table = ferry("list", "--limit", "2");
        assertEquals(ExitCodes.SUCCESS, table.code(), table.toString());
        assertTrue(table.out().startsWith("JOB ID"), table.toString());
        assertTrue(table.err().contains("--cursor"), "says how to read on: " + table);
    }
}
