package dev.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** How jobs, progress, attempts and durations read; where --file puts an upload; what a download may write. */
class FormattingTest {

    private static JsonNode json(String text) {
        return CliJson.parse(text, "test");
    }

    @Test
    void durations_parseTheCancelAfterForms_andReadBack() {
        assertEquals(Optional.of(Duration.ofSeconds(90)), Durations.parse("90"));
        assertEquals(Optional.of(Duration.ofMinutes(10)), Durations.parse("10m"));
        assertEquals(Optional.of(Duration.ofMinutes(90)), Durations.parse("1h30m"));
        assertEquals(Optional.of(Duration.ofMillis(1500)), Durations.parse("1.5s"));
        assertEquals(Optional.of(Duration.ofMillis(800)), Durations.parse("800ms"));
        for (String wrong : new String[] {"", "0", "0s", "5 m", "m5", "1h 30m", "-5s", "5d", "ten"}) {
            assertEquals(Optional.empty(), Durations.parse(wrong), wrong);
        }
        assertEquals("1h30m", Durations.format(Duration.ofMinutes(90)));
        assertEquals("45s", Durations.format(Duration.ofSeconds(45)));
        assertEquals("2.5s", Durations.format(Duration.ofMillis(2500)));
        assertEquals("800ms", Durations.format(Duration.ofMillis(800)));
        assertEquals("1h5s", Durations.format(Duration.ofSeconds(3605)));
    }

    @Test
    void aJob_readsFieldByField_withItsFilesSizesAndHistory() {
        String text = JobText.describe(json("""
                {"jobId":"j-1","type":"sample","status":"FAILED","attempts":2,"createdAt":"2026-01-01T10:00:00Z",
                 "updatedAt":"2026-01-01T10:01:00Z","finishedAt":"2026-01-01T10:01:30Z","error":"out of memory",
                 "files":[{"name":"image.png","contentType":"image/png","size":2048,"url":"http://s3/x"}],
                 "history":[{"attempt":1,"outcome":"retrying","startedAt":"2026-01-01T10:00:01Z",
                   "endedAt":"2026-01-01T10:00:11Z","worker":"i-1","slot":0,"error":"killed"},
                  {"attempt":2,"outcome":"failed","startedAt":"2026-01-01T10:01:00Z","endedAt":"2026-01-01T10:01:30Z"}]}
                """), false);
        assertTrue(text.contains("j-1  (sample)"), text);
        assertTrue(text.matches("(?s).*Status\\s+FAILED.*"), text);
        assertTrue(text.matches("(?s).*Attempts\\s+2.*"), text);
        assertTrue(text.contains("(1m30s after it was created)"), text);
        assertTrue(text.contains("out of memory"), text);
        assertTrue(text.contains("image.png") && text.contains("2.0 KiB"), text);
        assertTrue(text.contains("#1  retrying") && text.contains("(10s)") && text.contains("worker i-1 slot 0"), text);
        assertTrue(text.contains("error: killed"), text);
        assertFalse(text.contains("\u001b["), "no colours asked for: " + text);
        assertTrue(JobText.describe(json("{\"jobId\":\"j\",\"status\":\"FAILED\"}"), true).contains("\u001b["));
    }

    @Test
    void aResultStoredApart_pointsAtDownload() {
        String text = JobText.describe(json("{\"jobId\":\"j-2\",\"status\":\"SUCCEEDED\",\"resultUrl\":\"http://s3/r\"}"),
                false);
        assertTrue(text.contains("ferry download j-2 DIR"), text);
    }

    @Test
    void progress_readsAsPercentAndMessage() {
        assertEquals("40%  step 8 of 20", JobText.progress(json("{\"fraction\":0.4,\"message\":\"step 8 of 20\"}")));
        assertEquals("100%", JobText.progress(json("{\"fraction\":1}")));
    }

    @Test
    void events_sayEachStatusChangeNewAttemptAndAttemptOutcome_once() {
        JsonNode queued = json("{\"status\":\"QUEUED\",\"attempts\":0}");
        JsonNode running = json("{\"status\":\"RUNNING\",\"attempts\":1}");
        JsonNode retry = json("""
                {"status":"RUNNING","attempts":2,"history":[{"attempt":1,"outcome":"retrying","error":"boom",
                 "startedAt":"2026-01-01T10:00:00Z","endedAt":"2026-01-01T10:00:05Z"}]}""");
        JsonNode done = json("""
                {"status":"SUCCEEDED","attempts":2,"history":[{"attempt":1,"outcome":"retrying","error":"boom",
                 "startedAt":"2026-01-01T10:00:00Z","endedAt":"2026-01-01T10:00:05Z"},
                 {"attempt":2,"outcome":"succeeded"}]}""");
        assertEquals(List.of("QUEUED"), JobEvents.changes(null, queued));
        assertEquals(List.of("RUNNING  attempt 1"), JobEvents.changes(queued, running));
        assertEquals(List.of(), JobEvents.changes(running, running), "nothing new, nothing printed");
        assertEquals(List.of("attempt 1 failed, another attempt follows (5s): boom", "RUNNING  attempt 2"),
                JobEvents.changes(running, retry));
        assertEquals(List.of("attempt 2 succeeded", "SUCCEEDED  after 2 attempts"), JobEvents.changes(retry, done));
        assertEquals(List.of("CANCELLED: cancelled by the client"), JobEvents.changes(running,
                json("{\"status\":\"CANCELLED\",\"attempts\":1,\"cancelReason\":\"cancelled by the client\"}")));
        assertEquals(List.of("cancel requested: its worker stops it"), JobEvents.changes(running,
                json("{\"status\":\"RUNNING\",\"attempts\":1,\"cancelRequestedAt\":\"2026-01-01T10:00:00Z\"}")));
    }

    @Test
    void aFile_goesAtItsField_nestedByDots_makingObjectsOnTheWay() {
        ObjectNode input = (ObjectNode) json("{\"strength\":0.6,\"inputs\":{\"a\":1}}");
        SubmitCommand.place(input, "image", "up-1");
        SubmitCommand.place(input, "inputs.mask", "up-2");
        SubmitCommand.place(input, "x.y.z", "up-3");
        assertEquals(json("""
                {"strength":0.6,"inputs":{"a":1,"mask":{"$file":"up-2"}},"image":{"$file":"up-1"},
                 "x":{"y":{"z":{"$file":"up-3"}}}}"""), input);
        CliException notObject = assertThrows(CliException.class, () -> SubmitCommand.place(input, "strength.x", "u"));
        assertEquals(ExitCodes.USAGE, notObject.exitCode());
        assertThrows(CliException.class, () -> SubmitCommand.place(input, "a..b", "u"));
    }

    @Test
    void aDownload_writesOnlyInsideItsDirectory() {
        Path root = Path.of("/tmp/out").toAbsolutePath();
        assertEquals(root.resolve("image.png"), Downloads.inside(root, "image.png"));
        assertEquals(root.resolve("frames/1.png"), Downloads.inside(root, "frames/1.png"));
        for (String bad : new String[] {"../etc/passwd", "/etc/passwd", "a/../../b", "", "."}) {
            CliException refused = assertThrows(CliException.class, () -> Downloads.inside(root, bad), bad);
            assertEquals(ExitCodes.REFUSED, refused.exitCode());
        }
    }

    @Test
    void theTarget_isTheLocalStackUnlessTheOptionOrTheEnvironmentSaysOtherwise() {
        GlobalOptions none = new GlobalOptions();
        assertEquals("http://localhost:3000", Target.resolve(none, Map.of()).base().toString());
        assertTrue(Target.resolve(none, Map.of()).local());
        Target env = Target.resolve(none, Map.of("FERRY_URL", "https://abc.execute-api.eu-west-1.amazonaws.com/v1/",
                "FERRY_API_KEY", "k", "FERRY_ADMIN_TOKEN", "t"));
        assertEquals("https://abc.execute-api.eu-west-1.amazonaws.com/v1", env.base().toString());
        assertEquals(Optional.of("k"), env.apiKey());
        assertEquals(Optional.of("t"), env.adminToken());
        assertFalse(env.local());
        assertFalse(env.toString().contains("k") && env.toString().endsWith("k"), "never the key");
        GlobalOptions flag = new GlobalOptions();
        flag.url = "http://127.0.0.1:3100";
        flag.apiKey = "other";
        Target over = Target.resolve(flag, Map.of("FERRY_URL", "http://elsewhere", "FERRY_API_KEY", "k"));
        assertEquals("http://127.0.0.1:3100/jobs", over.resolve("/jobs").toString());
        assertEquals(Optional.of("other"), over.apiKey());
    }

    @Test
    void aTable_alignsItsColumns() {
        String table = JobText.table(List.of("ID", "STATUS"), List.of(List.of("a-long-id", "RUNNING"),
                List.of("b", "FAILED")));
        List<String> lines = table.lines().toList();
        assertEquals(3, lines.size(), table);
        assertEquals(lines.get(0).indexOf("STATUS"), lines.get(1).indexOf("RUNNING"), table);
        assertEquals(lines.get(0).indexOf("STATUS"), lines.get(2).indexOf("FAILED"), table);
    }
}
