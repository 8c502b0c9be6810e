package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.worker.CommandJobHandler.CommandSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Runs real programs through {@code /bin/sh}. */
class CommandJobHandlerTest {

    private static final Duration GENEROUS = Duration.ofSeconds(10);
    private static final GpuSlot SLOT = new GpuSlot(2, "GPU-5a0f0b6e-1111-2222-3333-444455556666");

    @TempDir
    Path dir;

    @Test
    void run_returnsStdoutAsCompactJson() throws Exception {
        String result = handler("cat", GENEROUS).run(job("{ \"prompt\" : \"a cat\",\n  \"steps\": 20 }"));

        assertEquals("{\"prompt\":\"a cat\",\"steps\":20}", result);
    }

    @Test
    void run_keepsDecimalsExact() throws Exception {
        String result = handler("cat", GENEROUS).run(job("{\"scale\":0.1000000000000000055511151231257827}"));

        assertEquals("{\"scale\":0.1000000000000000055511151231257827}", result);
    }

    @Test
    void run_givesProgramItsSlotJobAndTheWorkersEnvironment() throws Exception {
        CommandJobHandler handler = new CommandJobHandler(Map.of("sd-xl", new CommandSpec(
                "printf '{\"cuda\":\"%s\",\"id\":\"%s\",\"type\":\"%s\",\"attempt\":\"%s\",\"path\":\"%s\"}' "
                        + "\"$CUDA_VISIBLE_DEVICES\" \"$FERRY_JOB_ID\" \"$FERRY_JOB_TYPE\" \"$FERRY_ATTEMPT\" \"$PATH\"",
                GENEROUS)));

        String result = handler.run(new JobExecution("job-42", "sd-xl", "{}", 3, SLOT));

        assertEquals("{\"cuda\":\"GPU-5a0f0b6e-1111-2222-3333-444455556666\",\"id\":\"job-42\",\"type\":\"sd-xl\","
                + "\"attempt\":\"3\",\"path\":\"" + System.getenv("PATH") + "\"}", result);
    }

    @Test
    void run_readsLargeStdoutWithinTheLimit() throws Exception {
        String result = handler("printf '\"'; head -c 200000 /dev/zero | tr '\\0' a; printf '\"'", GENEROUS)
                .run(job("{}"));

        assertEquals(200_002, result.length());
    }

    @Test
    void run_programThatIgnoresLargeInput_succeeds() throws Exception {
        String input = "{\"blob\":\"" + "x".repeat(1_000_000) + "\"}";

        assertEquals("{\"ok\":true}", handler("echo '{\"ok\":true}'", GENEROUS).run(job(input)));
    }

    @Test
    void run_nonZeroExit_failsWithStderr() {
        JobFailedException e = assertThrows(JobFailedException.class,
                () -> handler("echo 'loading'; echo 'CUDA out of memory' >&2; exit 3", GENEROUS).run(job("{}")));

        assertEquals("exit 3: CUDA out of memory", e.getMessage());
    }

    @Test
    void run_nonZeroExitWithHugeStderr_keepsOnlyItsTail() {
        String command = "echo FIRST-LINE >&2; head -c 1000000 /dev/zero | tr '\\0' x >&2; printf '\\nLAST-LINE\\n' >&2;"
                + " exit 1";

        JobFailedException e = assertThrows(JobFailedException.class, () -> handler(command, GENEROUS).run(job("{}")));

        assertTrue(e.getMessage().startsWith("exit 1: xxx"), e.getMessage().substring(0, 20));
        assertTrue(e.getMessage().endsWith("xxx\nLAST-LINE"));
        assertEquals("exit 1: ".length() + CommandJobHandler.STDERR_TAIL_BYTES - "\n".length(), e.getMessage().length());
    }

    @Test
    void run_exit65_isNotRetried_otherExitsAre() {
        JobFailedException bad = assertThrows(JobFailedException.class,
                () -> handler("echo 'field prompt is empty' >&2; exit 65", GENEROUS).run(job("{}")));
        assertFalse(bad.retryable());
        assertTrue(bad.getMessage().startsWith("exit 65 (not retried): field prompt is empty"), bad.getMessage());

        JobFailedException flaky = assertThrows(JobFailedException.class,
                () -> handler("exit 1", GENEROUS).run(job("{}")));
        assertTrue(flaky.retryable());
    }

    @Test
    void fromEnvironment_exitRules_perTypeThenForEveryType() {
        CommandJobHandler handler = CommandJobHandler.fromEnvironment(Map.of(
                "FERRY_COMMAND_TEST", "echo 'CUDA out of memory' >&2; exit 3",
                "FERRY_COMMAND_OTHER", "exit 3",
                "FERRY_EVALUATE_ON_EXIT_TEST", "[{\"onReason\":\"*out of memory*\",\"action\":\"EXIT\"}]",
                "FERRY_EVALUATE_ON_EXIT", "[{\"onExitCode\":\"3\",\"action\":\"RETRY\"}]"));

        JobFailedException test = assertThrows(JobFailedException.class, () -> handler.run(job("{}")));
        assertFalse(test.retryable());
        JobFailedException other = assertThrows(JobFailedException.class, () -> handler.run(
                new JobExecution("j", "other", "{}", 1, new GpuSlot(0, "0"))));
        assertTrue(other.retryable());
        IllegalArgumentException orphan = assertThrows(IllegalArgumentException.class, () ->
                CommandJobHandler.fromEnvironment(Map.of("FERRY_EVALUATE_ON_EXIT_NONE", "[]")));
        assertTrue(orphan.getMessage().contains("FERRY_COMMAND_NONE"), orphan.getMessage());
    }

    @Test
    void fromEnvironment_aTimeoutPastElevenHours_isRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CommandJobHandler
                .fromEnvironment(Map.of("FERRY_COMMAND_TEST", "true", "FERRY_TIMEOUT_TEST", "PT12H")));
        assertTrue(e.getMessage().contains("12 hours"), e.getMessage());
    }

    @Test
    void run_nonZeroExitWithoutStderr_saysSo() {
        JobFailedException e = assertThrows(JobFailedException.class, () -> handler("exit 2", GENEROUS).run(job("{}")));

        assertEquals("exit 2: nothing on stderr", e.getMessage());
    }

    @Test
    void run_stdoutNotJson_failsWithItsStart() {
        JobFailedException e = assertThrows(JobFailedException.class,
                () -> handler("echo 'Loading model weights'; echo '{\"a\":1}'", GENEROUS).run(job("{}")));

        assertTrue(e.getMessage().startsWith("output is not JSON"), e.getMessage());
        assertTrue(e.getMessage().contains("Loading model weights"), e.getMessage());
    }

    @Test
    void run_jsonFollowedByMore_fails() {
        JobFailedException e = assertThrows(JobFailedException.class,
                () -> handler("echo '{\"a\":1} {\"b\":2}'", GENEROUS).run(job("{}")));

        assertTrue(e.getMessage().startsWith("output is not JSON"), e.getMessage());
    }

    @Test
    void run_emptyStdout_fails() {
        JobFailedException e = assertThrows(JobFailedException.class, () -> handler("true", GENEROUS).run(job("{}")));

        assertTrue(e.getMessage().startsWith("output is not JSON: stdout was empty"), e.getMessage());
    }

    @Test
    void run_stdoutAtTheLimit_succeeds() throws Exception {
        CommandJobHandler handler = new CommandJobHandler(Map.of("test", new CommandSpec("printf '\"12345\"'", GENEROUS)), 7);

        assertEquals("\"12345\"", handler.run(job("{}")));
    }

    @Test
    void run_stdoutOverTheLimit_fails() {
        CommandJobHandler handler = new CommandJobHandler(Map.of("test", new CommandSpec("printf '\"123456\"'", GENEROUS)), 7);

        JobFailedException e = assertThrows(JobFailedException.class, () -> handler.run(job("{}")));

        assertTrue(e.getMessage().startsWith("output exceeded the limit of 7 bytes on stdout"), e.getMessage());
        assertFalse(e.retryable(), "the same run would print it again");
    }

    @Test
    void run_endlessStdout_isKilledAtTheLimitNotAtTheTimeout() {
        CommandJobHandler handler = new CommandJobHandler(Map.of("test", new CommandSpec("yes '\"x\"'", GENEROUS)), 1024);

        JobFailedException e = assertThrows(JobFailedException.class, () -> handler.run(job("{}")));

        assertTrue(e.getMessage().startsWith("output exceeded the limit of 1024 bytes on stdout"), e.getMessage());
    }

    @Test
    void run_timeout_killsTheWholeProcessTree() throws Exception {
        Path pidFile = dir.resolve("grandchild.pid");
        CommandJobHandler handler = handler("sleep 30 & echo $! > '" + pidFile + "'; wait", Duration.ofMillis(500));

        long start = System.nanoTime();
        JobFailedException e = assertThrows(JobFailedException.class, () -> handler.run(job("{}")));

        assertEquals("timed out after PT0.5S", e.getMessage());
        assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofSeconds(2)) < 0);
        long grandchild = Long.parseLong(Files.readString(pidFile).strip());
        assertFalse(isRunning(grandchild), "grandchild " + grandchild + " survived the timeout");
    }

    @Test
    void run_interrupted_killsTheWholeProcessTreeAndThrowsInterruptedException() throws Exception {
        Path pidFile = dir.resolve("grandchild.pid");
        CommandJobHandler handler = handler("sleep 30 & echo $! > '" + pidFile + "'; wait", GENEROUS);
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread runner = new Thread(() -> {
            try {
                handler.run(job("{}"));
            } catch (Throwable t) {
                thrown.set(t);
            }
        });
        runner.start();
        long grandchild = awaitPid(pidFile);

        runner.interrupt();
        runner.join(Duration.ofSeconds(2).toMillis());

        assertFalse(runner.isAlive(), "run() did not return after the interrupt");
        assertInstanceOf(InterruptedException.class, thrown.get());
        assertFalse(isRunning(grandchild), "grandchild " + grandchild + " survived the interrupt");
    }

    @Test
    void run_alreadyInterrupted_startsNothing() {
        Path marker = dir.resolve("started");
        CommandJobHandler handler = handler("touch '" + marker + "'; echo '{}'", GENEROUS);

        Thread.currentThread().interrupt();
        assertThrows(InterruptedException.class, () -> handler.run(job("{}")));

        assertFalse(Thread.currentThread().isInterrupted());
        assertFalse(Files.exists(marker));
    }

    @Test
    void run_unknownType_failsNamingTheVariableToSet() {
        JobFailedException e = assertThrows(JobFailedException.class,
                () -> handler("cat", GENEROUS).run(new JobExecution("job-1", "sd-xl.v2", "{}", 1, SLOT)));

        assertEquals("no command for job type 'sd-xl.v2': set FERRY_COMMAND_SD_XL_V2 on the worker", e.getMessage());
    }

    @Test
    void run_shellMissing_failsWithTheCause() {
        CommandJobHandler handler = new CommandJobHandler(Map.of("test", new CommandSpec("cat", GENEROUS)),
                CommandJobHandler.DEFAULT_MAX_OUTPUT_BYTES, dir.resolve("no-such-shell").toString());

        JobFailedException e = assertThrows(JobFailedException.class, () -> handler.run(job("{}")));

        assertTrue(e.getMessage().startsWith("could not start " + dir.resolve("no-such-shell")), e.getMessage());
        assertInstanceOf(IOException.class, e.getCause());
    }

    @Test
    void constructor_typesWithTheSameSuffix_areRejected() {
        CommandSpec spec = new CommandSpec("cat", GENEROUS);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new CommandJobHandler(Map.of("sd-xl", spec, "SD_XL", spec)));

        assertTrue(e.getMessage().contains("FERRY_COMMAND_SD_XL"), e.getMessage());
    }

    @Test
    void envSuffix_upperCasesAndReplacesEverythingElse() {
        assertEquals("SD_XL_V2", CommandJobHandler.envSuffix("sd-xl.v2"));
        assertEquals("WHISPER_LARGE_3", CommandJobHandler.envSuffix("whisper large/3"));
    }

    @Test
    void fromEnvironment_readsCommandsAndTimeouts() {
        CommandJobHandler handler = CommandJobHandler.fromEnvironment(Map.of(
                "FERRY_COMMAND_SD_XL", "python3 /opt/sd/run.py --fp16",
                "FERRY_TIMEOUT_SD_XL", "90",
                "FERRY_COMMAND_WHISPER", "whisper-run",
                "FERRY_TIMEOUT_WHISPER", "PT2H30M",
                "FERRY_COMMAND_ECHO", "cat",
                "PATH", "/usr/bin"));

        assertEquals(Optional.of(new CommandSpec("python3 /opt/sd/run.py --fp16", Duration.ofSeconds(90))),
                handler.command("sd-xl"));
        assertEquals(Optional.of(new CommandSpec("whisper-run", Duration.ofMinutes(150))), handler.command("whisper"));
        assertEquals(Optional.of(new CommandSpec("cat", CommandJobHandler.DEFAULT_JOB_TIMEOUT)), handler.command("echo"));
        assertEquals(Duration.ofHours(1), CommandJobHandler.DEFAULT_JOB_TIMEOUT);
        assertEquals(Optional.empty(), handler.command("path"));
    }

    @Test
    void fromEnvironment_timeoutInFractionalSeconds() {
        CommandJobHandler handler = CommandJobHandler.fromEnvironment(Map.of(
                "FERRY_COMMAND_ECHO", "cat",
                "FERRY_TIMEOUT_ECHO", "1.5"));

        assertEquals(Duration.ofMillis(1_500), handler.command("echo").orElseThrow().timeout());
    }

    @Test
    void fromEnvironment_jobTimeoutIsTheDefault() {
        CommandJobHandler handler = CommandJobHandler.fromEnvironment(Map.of(
                "FERRY_COMMAND_ECHO", "cat",
                "FERRY_JOB_TIMEOUT", "PT10M"));

        assertEquals(Duration.ofMinutes(10), handler.command("echo").orElseThrow().timeout());
    }

    @ParameterizedTest
    @ValueSource(strings = {"abc", "0", "-5", "PT0S", "-PT5S", "1.5.2", "", "99999999999999999999"})
    void fromEnvironment_badTimeout_namesTheVariableAndValue(String value) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CommandJobHandler.fromEnvironment(Map.of("FERRY_COMMAND_SD", "cat", "FERRY_TIMEOUT_SD", value)));

        assertTrue(e.getMessage().startsWith("FERRY_TIMEOUT_SD "), e.getMessage());
        assertTrue(e.getMessage().contains("'" + value + "'"), e.getMessage());
    }

    @Test
    void fromEnvironment_badJobTimeout_namesTheVariable() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CommandJobHandler.fromEnvironment(Map.of("FERRY_JOB_TIMEOUT", "1h")));

        assertTrue(e.getMessage().startsWith("FERRY_JOB_TIMEOUT "), e.getMessage());
        assertTrue(e.getMessage().contains("'1h'"), e.getMessage());
    }

    @Test
    void fromEnvironment_timeoutWithoutCommand_isRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CommandJobHandler.fromEnvironment(Map.of("FERRY_COMMAND_SDXL", "cat", "FERRY_TIMEOUT_SD_XL", "90")));

        assertTrue(e.getMessage().startsWith("FERRY_TIMEOUT_SD_XL is set but nothing runs job type SD_XL: set"
                + " FERRY_COMMAND_SD_XL"), e.getMessage());
    }

    @Test
    void fromEnvironment_nameNotInUpperCase_isRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CommandJobHandler.fromEnvironment(Map.of("FERRY_COMMAND_sd", "cat")));

        assertTrue(e.getMessage().startsWith("FERRY_COMMAND_sd is not a valid name"), e.getMessage());
    }

    @Test
    void fromEnvironment_blankCommand_isRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CommandJobHandler.fromEnvironment(Map.of("FERRY_COMMAND_SD", " ")));

        assertTrue(e.getMessage().startsWith("FERRY_COMMAND_SD is empty"), e.getMessage());
    }

    @Test
    void run_progressLinesOnStderr_areTheJobsProgress_neitherLogNorError() throws Exception {
        java.util.List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.List<String> progress = new java.util.concurrent.CopyOnWriteArrayList<>();
        JobEvents events = new JobEvents() {
            @Override
            public void progress(double fraction, String message) {
                progress.add(fraction + " " + message);
            }

            @Override
            public void log(String line) {
                logged.add(line);
            }
        };
        String command = "cat >/dev/null; echo 'loading' >&2; echo 'ferry:progress 0.25 step 5 of 20' >&2;"
                + " echo 'ferry:progress 1' >&2; echo 'ferry:progress soon' >&2; printf 'ferry:progress 0.5 no newline' >&2;"
                + " exit 3";
        JobExecution job = new JobExecution("job-1", "test", "{}", 1, SLOT, null, events);

        JobFailedException e = assertThrows(JobFailedException.class, () -> handler(command, GENEROUS).run(job));

        assertEquals(java.util.List.of("0.25 step 5 of 20", "1.0 null", "0.5 no newline"), progress);
        assertEquals("loading", logged.get(0));
        assertEquals(2, logged.size(), "progress lines are not log lines: " + logged);
        assertTrue(logged.get(1).startsWith("ferry:progress soon   [not read as progress"), logged.get(1));
        assertEquals("exit 3: loading", e.getMessage(), "nor part of the error");
    }

    @Test
    void progressLine_isAFractionAndAnOptionalMessage() {
        assertEquals(Optional.of(new CommandJobHandler.ProgressLine(0.4, "step 8 of 20")),
                CommandJobHandler.progressLine("ferry:progress 0.4 step 8 of 20"));
        assertEquals(Optional.of(new CommandJobHandler.ProgressLine(0.5, null)),
                CommandJobHandler.progressLine("ferry:progress\t.5  "));
        assertEquals(Optional.of(new CommandJobHandler.ProgressLine(1.0E-2, "x")),
                CommandJobHandler.progressLine("ferry:progress 1e-2 x"));
        for (String bad : new String[] {"ferry:progress", "ferry:progress -0.1", "ferry:progress NaN",
                "ferry:progress half", "ferry:progress 40%", "ferry:progressed 0.4", "Ferry:progress 0.4"}) {
            assertEquals(Optional.empty(), CommandJobHandler.progressLine(bad), bad);
        }
    }

    private CommandJobHandler handler(String command, Duration timeout) {
        return new CommandJobHandler(Map.of("test", new CommandSpec(command, timeout)));
    }

    private static JobExecution job(String input) {
        return new JobExecution("job-1", "test", input, 1, SLOT);
    }

    /** Waits for the shell to write the pid (it writes the file, then the line). */
    private static long awaitPid(Path pidFile) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(pidFile)) {
                String text = Files.readString(pidFile);
                if (text.endsWith("\n")) {
                    return Long.parseLong(text.strip());
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError("the program did not write " + pidFile);
    }

    /** Alive and not a zombie: a killed process that nobody has reaped yet counts as alive to ProcessHandle. */
    private static boolean isRunning(long pid) {
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).isPresent() && !isZombie(pid);
    }

    private static boolean isZombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) == 'Z';
        } catch (IOException e) {
            return false; // no /proc (not Linux), or reaped meanwhile
        }
    }
}
