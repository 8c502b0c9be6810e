package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The command-per-job sample program, run in this JVM through {@link SampleJob#run}. */
class SampleJobTest {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String input, Map<String, String> env) {
        return SampleJob.run(new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8),
                env);
    }

    @Test
    void setupMs_isPaidOnEveryRun_beforeTheWork() {
        long started = System.nanoTime();

        int status = run("{\"output\":\"x\"}", Map.of("FERRY_ATTEMPT", "1", SampleJob.SETUP_MS, "200"));

        long tookMs = (System.nanoTime() - started) / 1_000_000;
        assertEquals(0, status, err.toString(StandardCharsets.UTF_8));
        assertTrue(tookMs >= 200, "took " + tookMs + " ms");
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("\"output\":\"x\""), out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void setupMs_malformed_isBadInput_namingTheVariable() {
        int status = run("{}", Map.of("FERRY_ATTEMPT", "1", SampleJob.SETUP_MS, "3s"));

        assertEquals(SampleJob.EXIT_BAD_INPUT, status);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("FERRY_SAMPLE_SETUP_MS"), err.toString(StandardCharsets.UTF_8));
    }
}
