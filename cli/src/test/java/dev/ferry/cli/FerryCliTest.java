package dev.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line as picocli parses it, with captured output: usage errors exit 2 and say what is
 * wrong before any request is sent, the exit codes are listed in the help, and a stack that is not
 * there exits 4 with the hint to start it.
 */
class FerryCliTest {

    /** One run's exit code and what it wrote. */
    record Run(int code, String out, String err) {
    }

    static Run run(Map<String, String> env, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = FerryCli.run(args, CliContext.of(env, new PrintWriter(out), new PrintWriter(err)));
        return new Run(code, out.toString(), err.toString());
    }

    /** Against a port nothing listens on: a command that got as far as a request exits 4, not 2. */
    static Run run(String... args) {
        return run(Map.of("FERRY_URL", "http://localhost:" + closedPort()), args);
    }

    static int closedPort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void help_listsEveryCommandAndTheExitCodes() {
        Run run = run("--help");
        assertEquals(ExitCodes.SUCCESS, run.code(), run.err());
        for (String command : new String[] {"submit", "status", "wait", "list", "cancel", "logs", "download", "dlq",
                "redrive"}) {
            assertTrue(run.out().contains(command), command + " missing from: " + run.out());
        }
        assertTrue(run.out().contains("Exit codes:"), run.out());
        assertTrue(run.out().contains("5   timed out waiting") || run.out().contains("5 timed out waiting")
                || run.out().matches("(?s).*\\b5\\s+timed out waiting.*"), run.out());
    }

    @Test
    void noCommand_isAUsageError() {
        Run run = run();
        assertEquals(ExitCodes.USAGE, run.code());
        assertTrue(run.err().contains("a command is needed"), run.err());
    }

    @Test
    void anUnknownOption_isAUsageError_namingIt() {
        Run run = run("status", "abc", "--colour");
        assertEquals(ExitCodes.USAGE, run.code());
        assertTrue(run.err().contains("--colour"), run.err());
        assertTrue(run.err().contains("ferry status --help"), run.err());
    }

    @Test
    void aMissingJobId_isAUsageError() {
        assertEquals(ExitCodes.USAGE, run("status").code());
        assertEquals(ExitCodes.USAGE, run("download", "only-an-id").code());
    }

    @Test
    void inputThatIsNotJson_isAUsageError_beforeAnyRequest() {
        Run run = run("submit", "sample", "--input", "{not json");
        assertEquals(ExitCodes.USAGE, run.code(), run.err());
        assertTrue(run.err().contains("--input"), run.err());
    }

    @Test
    void twoInputs_areAUsageError() {
        Run run = run("submit", "sample", "--input", "{}", "--input-file", "job.json");
        assertEquals(ExitCodes.USAGE, run.code());
        assertTrue(run.err().contains("mutually exclusive"), run.err());
    }

    @Test
    void anInputFileThatIsNotThere_isAUsageError(@TempDir Path dir) {
        Run run = run("submit", "sample", "--input-file", dir.resolve("missing.json").toString());
        assertEquals(ExitCodes.USAGE, run.code());
        assertTrue(run.err().contains("missing.json"), run.err());
    }

    @Test
    void aFileThatIsNotThere_isAUsageError(@TempDir Path dir) {
        Run run = run("submit", "sample", "--file", "image=" + dir.resolve("nope.png"));
        assertEquals(ExitCodes.USAGE, run.code());
        assertTrue(run.err().contains("nope.png"), run.err());
    }

    @Test
    void fileIntoAnInputThatIsNotAnObject_isAUsageError(@TempDir Path dir) throws IOException {
        Path photo = Files.writeString(dir.resolve("photo.jpg"), "x");
        Run run = run("submit", "edit", "--input", "[1,2]", "--file", "image=" + photo);
        assertEquals(ExitCodes.USAGE, run.code());
        assertTrue(run.err().contains("must be a JSON object"), run.err());
    }

    @Test
    void aTimeoutThatIsNotADuration_isAUsageError_namingTheForm() {
        Run run = run("wait", "abc", "--timeout", "ten minutes");
        assertEquals(ExitCodes.USAGE, run.code());
        assertTrue(run.err().contains("30s, 10m, 1h30m"), run.err());
    }

    @Test
    void aTimeoutWithoutWait_isAUsageError() {
        Run run = run("submit", "sample", "--timeout", "5m");
        assertEquals(ExitCodes.USAGE, run.code());
        assertTrue(run.err().contains("give --wait too"), run.err());
    }

    @Test
    void aCancelAfterThatIsNotADuration_isAUsageError() {
        Run run = run("submit", "sample", "--cancel-after", "soon");
        assertEquals(ExitCodes.USAGE, run.code());
        assertTrue(run.err().contains("--cancel-after"), run.err());
    }

    @Test
    void deadlineAndCancelAfter_areAUsageErrorTogether() {
        assertEquals(ExitCodes.USAGE, run("submit", "sample", "--deadline", "2030-01-01T00:00:00Z",
                "--cancel-after", "5m").code());
    }

    @Test
    void aDeadlineThatIsNotAnInstant_isAUsageError() {
        Run run = run("submit", "sample", "--deadline", "tomorrow");
        assertEquals(ExitCodes.USAGE, run.code());
        assertTrue(run.err().contains("ISO-8601"), run.err());
    }

    @Test
    void anIdempotencyKeyWithSpaces_isAUsageError() {
        assertEquals(ExitCodes.USAGE, run("submit", "sample", "--idempotency-key", "a b").code());
    }

    @Test
    void aListLimitUnderOne_isAUsageError() {
        assertEquals(ExitCodes.USAGE, run("list", "--limit", "0").code());
    }

    @Test
    void anUnknownStatus_isAUsageError_listingTheStatuses() {
        Run run = run("list", "--status", "DONE");
        assertEquals(ExitCodes.USAGE, run.code());
        assertTrue(run.err().contains("SUCCEEDED"), "the error lists the statuses: " + run.err());
    }

    @Test
    void aUrlThatIsNotHttp_isAUsageError_sayingWhereItCameFrom() {
        Run flag = run(Map.of(), "status", "abc", "--url", "ftp://example.com");
        assertEquals(ExitCodes.USAGE, flag.code());
        assertTrue(flag.err().contains("--url"), flag.err());
        Run env = run(Map.of("FERRY_URL", "localhost:3000"), "status", "abc");
        assertEquals(ExitCodes.USAGE, env.code());
        assertTrue(env.err().contains("FERRY_URL"), env.err());
    }

    @Test
    void adminCommandsWithoutAToken_areAUsageError_sayingWhereToFindIt() {
        for (String command : new String[] {"dlq", "redrive"}) {
            Run run = run(command);
            assertEquals(ExitCodes.USAGE, run.code(), command + ": " + run.err());
            assertTrue(run.err().contains("FERRY_ADMIN_TOKEN"), run.err());
        }
    }

    @Test
    void aLocalStackThatIsNotRunning_exits4_withTheHintToStartIt() {
        Run run = run("status", "abc");
        assertEquals(ExitCodes.UNAVAILABLE, run.code(), run.err());
        assertTrue(run.err().contains("connection refused"), run.err());
        assertTrue(run.err().contains("is scripts/run-local.sh running?"), run.err());
    }

    @Test
    void aRemoteStackThatIsNotThere_exits4_withoutTheLocalHint() {
        Run run = run(Map.of(), "status", "abc", "--url", "http://127.0.0.2:" + closedPort() + "/v1");
        assertEquals(ExitCodes.UNAVAILABLE, run.code(), run.err());
        assertTrue(!run.err().contains("run-local.sh"), run.err());
    }

    @Test
    void globalOptions_goBeforeOrAfterTheCommand() {
        // --json given before the command: still a usage error for the command's own mistake, in plain text.
        assertEquals(ExitCodes.USAGE, run("--json", "status").code());
        assertEquals(ExitCodes.UNAVAILABLE, run("--json", "status", "abc").code());
        assertEquals(ExitCodes.UNAVAILABLE, run("status", "abc", "--json").code());
    }

    @Test
    void version_isPrinted() {
        Run run = run("--version");
        assertEquals(ExitCodes.SUCCESS, run.code());
        assertTrue(!run.out().isBlank(), run.out());
    }
}
