package dev.ferry.local;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A job's progress through HTTP on the local stack: what its handler reports (Ferry's protocol for
 * the warm {@code sample} handler, {@code ferry:progress} stderr lines for a command) reaches
 * {@code GET /jobs/{jobId}} while it runs, and the last of it stays once it has finished.
 */
class ProgressIT {

    private static final Duration FINISH = Duration.ofSeconds(90);
    /** Reports 0.5 then works on; its log has one line of its own. */
    private static final String STEPS = "cat >/dev/null; echo 'ferry:progress 0.5 half way' >&2; echo 'working' >&2;"
            + " sleep 8; echo 'ferry:progress 1 done' >&2; echo '{\"done\":true}'";
    private static LocalStack stack;
    private static Api api;

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(1)
                .environmentOverrides(Map.of("FERRY_COMMAND_STEPS", STEPS)).build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    /** The job as GET shows it once it is RUNNING with a progress {@code accept} takes. */
    private static JsonNode awaitRunningProgress(String jobId, java.util.function.Predicate<JsonNode> accept) {
        AtomicReference<JsonNode> seen = new AtomicReference<>();
        await().atMost(FINISH).pollInterval(Duration.ofMillis(200)).until(() -> {
            JsonNode job = api.get(jobId).body();
            String status = job.get("status").asText();
            assertFalse(status.equals("SUCCEEDED") || status.equals("FAILED"),
                    "finished before its progress was seen while running: " + job);
            seen.set(job);
            return status.equals("RUNNING") && job.has("progress") && accept.test(job.get("progress"));
        });
        return seen.get();
    }

    @Test
    void aSampleJob_showsItsProgressWhileItRuns_andKeepsTheLastOnceItSucceeded() {
        Api.Response accepted = api.submit("{\"type\":\"sample\",\"input\":{\"sleepMs\":12000}}");

        JsonNode running = awaitRunningProgress(accepted.jobId(), p -> p.get("fraction").asDouble() > 0);

        JsonNode progress = running.get("progress");
        double fraction = progress.get("fraction").asDouble();
        assertTrue(fraction > 0 && fraction < 1, progress.toString());
        assertTrue(progress.get("message").asText().endsWith(" of 12000 ms"), progress.toString());
        Instant at = Instant.parse(progress.get("at").asText());
        assertFalse(at.isAfter(Instant.now()), progress.toString());

        JsonNode done = api.awaitStatus(accepted.jobId(), "SUCCEEDED", FINISH);
        JsonNode last = done.get("progress");
        assertTrue(last.get("fraction").asDouble() >= fraction, "the last one stays: " + last);
        assertEquals("10800 of 12000 ms", last.get("message").asText(), "the sample's last report");
    }

    @Test
    void aCommand_reportsProgressOnStderr_whichIsNotALogLine() {
        Api.Response accepted = api.submit("{\"type\":\"steps\",\"input\":{}}");

        JsonNode running = awaitRunningProgress(accepted.jobId(), p -> p.get("fraction").asDouble() == 0.5);
        assertEquals("half way", running.get("progress").get("message").asText());

        JsonNode done = api.awaitStatus(accepted.jobId(), "SUCCEEDED", FINISH);
        assertEquals(1.0, done.get("progress").get("fraction").asDouble());
        assertEquals("done", done.get("progress").get("message").asText());
        String log = new String(api.download(done.get("history").get(0).get("logUrl").asText()), StandardCharsets.UTF_8);
        assertEquals("working\n", log, "progress lines are not kept as log lines");
    }
}
