package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ferry's warm-handler protocol with a real Python handler written with the shipped helper
 * ({@code handlers/python/ferry_handler.py}): one process, many jobs; progress and log lines;
 * a do-not-retry error; a crash, a timeout and a stop mid-job; a setup that fails; restarts.
 */
class LineProtocolProcessTest {

    private static final Path HELPER = Path.of("..", "handlers", "python").toAbsolutePath().normalize();
    private static Path script;
    private final List<AutoCloseable> toClose = new CopyOnWriteArrayList<>();
    @TempDir
    Path dir;

    @BeforeAll
    static void python() throws Exception {
        assumeTrue(new ProcessBuilder("python3", "--version").start().waitFor() == 0, "python3 is needed");
        script = Path.of(LineProtocolProcessTest.class.getResource("/handlers/echo_handler.py").toURI());
    }

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable closeable : toClose) {
            closeable.close();
        }
    }

    private static JobTypes.Spec spec(Duration timeout, Duration setup) {
        return new JobTypes.Spec("ECHO", JobTypes.Kind.HANDLER, "exec python3 '" + script + "'", timeout, setup,
                ExitRules.none());
    }

    private Map<String, String> environment(Map<String, String> extra) {
        Map<String, String> env = new HashMap<>();
        env.put("PATH", System.getenv("PATH"));
        env.put("PYTHONPATH", HELPER.toString());
        env.put("PYTHONUNBUFFERED", "1");
        env.putAll(extra);
        return env;
    }

    private LineProtocolProcess started(Map<String, String> extra, Duration timeout) throws Exception {
        LineProtocolProcess process = new LineProtocolProcess(new WarmProcess.Context(new GpuSlot(1, "GPU-1"),
                spec(timeout, Duration.ofSeconds(30)), environment(extra), dir.resolve("handler")));
        toClose.add(process);
        process.start();
        return process;
    }

    /**
     * A warm handler of type {@code type} made of {@code lines} of Python, written to
     * {@code <name>.py} in the test's folder, started with a 30 s setup limit.
     */
    private LineProtocolProcess startedScript(String type, Duration timeout, String... lines) throws Exception {
        String name = type.toLowerCase(java.util.Locale.ROOT);
        Path script = dir.resolve(name + ".py");
        Files.writeString(script, String.join("\n", lines) + "\n");
        LineProtocolProcess process = new LineProtocolProcess(new WarmProcess.Context(new GpuSlot(0, "0"),
                new JobTypes.Spec(type, JobTypes.Kind.HANDLER, "exec python3 '" + script + "'", timeout,
                        Duration.ofSeconds(30), ExitRules.none()), environment(Map.of()), dir.resolve(name)));
        toClose.add(process);
        process.start();
        return process;
    }

    /** Collects what a job reports. */
    private static final class Events implements JobEvents {
        final List<String> log = new CopyOnWriteArrayList<>();
        final List<String> progress = new CopyOnWriteArrayList<>();

        @Override
        public void progress(double fraction, String message) {
            progress.add(fraction + " " + message);
        }

        @Override
        public void log(String line) {
            log.add(line);
        }
    }

    private JobExecution job(String input, int attempt, Events events) throws Exception {
        Path work = dir.resolve("job-" + attempt + "-" + System.nanoTime());
        Files.createDirectories(work.resolve("outputs"));
        return new JobExecution("01JOB", "echo", input, attempt, new GpuSlot(1, "GPU-1"), work, events);
    }

    @Test
    void oneProcess_runsManyJobs_reportingProgressAndLogs() throws Exception {
        LineProtocolProcess process = started(Map.of(), Duration.ofSeconds(30));
        Events events = new Events();

        JsonNode first = Json.parse(process.run(job("{\"n\":1}", 1, events), Duration.ofSeconds(30)));
        JsonNode second = Json.parse(process.run(job("{\"n\":2}", 2, new Events()), Duration.ofSeconds(30)));

        assertEquals(first.get("pid").asLong(), second.get("pid").asLong(), "the model stays loaded");
        assertEquals(2, second.get("input").get("n").asInt());
        assertEquals("GPU-1", first.get("cuda").asText());
        assertEquals(List.of("0.5 half way"), events.progress);
        assertTrue(events.log.contains("working on 01JOB attempt 1"), events.log.toString());
        assertTrue(process.alive());
    }

    @Test
    void aLogLineWrittenJustBeforeTheAnswer_isInTheJobsLogWhenTheAnswerIsReturned() throws Exception {
        // stderr and stdout are read by two threads: the answer must not overtake the line before it.
        LineProtocolProcess process = startedScript("LAST_WORDS", Duration.ofSeconds(30),
                "import json, sys",
                "print(json.dumps({'ready': True}), flush=True)",
                "for line in sys.stdin:",
                "    request = json.loads(line)",
                "    sys.stderr.write('the last words of ' + request['id'] + '\\n'); sys.stderr.flush()",
                "    sys.stdout.write(json.dumps({'id': request['id'], 'result': {}}) + '\\n'); sys.stdout.flush()");

        for (int attempt = 1; attempt <= 40; attempt++) {
            Events events = new Events();
            process.run(job("{}", attempt, events), Duration.ofSeconds(30));
            assertTrue(events.log.stream().anyMatch(line -> line.startsWith("the last words of ")),
                    "attempt " + attempt + ": " + events.log);
        }
    }

    @Test
    void aHandlerThatMarksTheEndOfEachJobsLog_isWaitedForUntilTheMark_andTheMarkIsNotLogged() throws Exception {
        // Its answer first, its last log line 150 ms later, then the mark: a quiet pipe would have
        // been taken for a complete log; the mark is exact.
        LineProtocolProcess process = startedScript("MARKED", Duration.ofSeconds(30),
                "import json, os, sys, time",
                "print(json.dumps({'ready': True, 'logEnd': True}), flush=True)",
                "for line in sys.stdin:",
                "    request = json.loads(line)",
                "    sys.stdout.write(json.dumps({'id': request['id'], 'result': {}}) + '\\n'); sys.stdout.flush()",
                "    time.sleep(0.15)",
                "    sys.stderr.write('late words of ' + request['id'] + '\\n'); sys.stderr.flush()",
                "    os.write(2, ('\\x1eferry-log-end ' + request['id'] + '\\n').encode())");

        for (int attempt = 1; attempt <= 3; attempt++) {
            Events events = new Events();
            process.run(job("{}", attempt, events), Duration.ofSeconds(30));
            assertEquals(List.of("late words of 01JOB:" + attempt), events.log, "attempt " + attempt);
        }
    }

    @Test
    void aMarkAfterLogTextWithoutANewline_stillEndsTheLog_andTheTextIsKept() throws Exception {
        LineProtocolProcess process = startedScript("GLUED", Duration.ofSeconds(30),
                "import json, os, sys",
                "print(json.dumps({'ready': True, 'logEnd': True}), flush=True)",
                "for line in sys.stdin:",
                "    request = json.loads(line)",
                "    sys.stderr.write('no newline here'); sys.stderr.flush()",
                "    os.write(2, ('\\x1eferry-log-end ' + request['id'] + '\\n').encode())",
                "    sys.stdout.write(json.dumps({'id': request['id'], 'result': {}}) + '\\n'); sys.stdout.flush()");

        Events events = new Events();
        long started = System.nanoTime();
        process.run(job("{}", 1, events), Duration.ofSeconds(30));
        assertEquals(List.of("no newline here"), events.log);
        assertTrue(System.nanoTime() - started < LineProtocolProcess.LOG_READ_WAIT.toNanos() * 4,
                "the mark was seen, not waited out");
    }

    @Test
    void aHandlerThatSaysLogEndButWritesNoMarks_isWaitedForOnce_thenByAQuietStderr() throws Exception {
        LineProtocolProcess process = startedScript("UNMARKED", Duration.ofSeconds(30),
                "import json, sys",
                "print(json.dumps({'ready': True, 'logEnd': True}), flush=True)",
                "for line in sys.stdin:",
                "    request = json.loads(line)",
                "    sys.stderr.write('words of ' + request['id'] + '\\n'); sys.stderr.flush()",
                "    sys.stdout.write(json.dumps({'id': request['id'], 'result': {}}) + '\\n'); sys.stdout.flush()");

        for (int attempt = 1; attempt <= 5; attempt++) {
            Events events = new Events();
            process.run(job("{}", attempt, events), Duration.ofSeconds(30));
            assertTrue(events.log.contains("words of 01JOB:" + attempt), "attempt " + attempt + ": " + events.log);
        }
    }

    @Test
    void theShippedPythonHelper_marksTheEndOfEachJobsLog() throws Exception {
        LineProtocolProcess process = started(Map.of(), Duration.ofSeconds(30));
        for (int attempt = 1; attempt <= 20; attempt++) {
            Events events = new Events();
            process.run(job("{\"n\":" + attempt + "}", attempt, events), Duration.ofSeconds(30));
            assertTrue(events.log.contains("working on 01JOB attempt " + attempt), events.log.toString());
            assertTrue(events.log.stream().noneMatch(line -> line.contains("ferry-log-end")), events.log.toString());
        }
    }

    @Test
    void filesWrittenToTheOutputDirectory_areThere() throws Exception {
        LineProtocolProcess process = started(Map.of(), Duration.ofSeconds(30));
        JobExecution job = job("{\"do\":\"file\"}", 1, new Events());

        process.run(job, Duration.ofSeconds(30));

        assertEquals("hello", Files.readString(job.outputDir().resolve("out.txt")));
    }

    @Test
    void noRetry_failsTheJobForGood_anyOtherErrorIsAnAttempt_andTheProcessGoesOn() throws Exception {
        LineProtocolProcess process = started(Map.of(), Duration.ofSeconds(30));

        JobFailedException bad = assertThrows(JobFailedException.class,
                () -> process.run(job("{\"do\":\"bad\"}", 1, new Events()), Duration.ofSeconds(30)));
        JobFailedException flaky = assertThrows(JobFailedException.class,
                () -> process.run(job("{\"do\":\"flaky\"}", 1, new Events()), Duration.ofSeconds(30)));

        assertFalse(bad.retryable());
        assertTrue(bad.getMessage().contains("field prompt is empty"), bad.getMessage());
        assertTrue(flaky.retryable());
        assertTrue(flaky.getMessage().contains("CUDA error"), flaky.getMessage());
        assertTrue(process.alive());
    }

    @Test
    void aHandlerThatDiesMidJob_failsTheAttemptWithItsLastOutput() throws Exception {
        LineProtocolProcess process = started(Map.of(), Duration.ofSeconds(30));

        JobFailedException died = assertThrows(JobFailedException.class,
                () -> process.run(job("{\"do\":\"crash\"}", 1, new Events()), Duration.ofSeconds(30)));

        assertTrue(died.retryable());
        assertTrue(died.getMessage().contains("exited with 3") && died.getMessage().contains("segfault in the model"),
                died.getMessage());
        assertFalse(process.alive());
    }

    @Test
    void aJobPastItsTimeout_stopsTheHandler() throws Exception {
        LineProtocolProcess process = started(Map.of(), Duration.ofSeconds(30));

        JobFailedException late = assertThrows(JobFailedException.class,
                () -> process.run(job("{\"do\":\"sleep\",\"seconds\":60}", 1, new Events()), Duration.ofMillis(500)));

        assertTrue(late.getMessage().startsWith("timed out after PT0.5S"), late.getMessage());
        assertFalse(process.alive());
    }

    @Test
    void aJobTheWorkerStops_stopsTheHandler_andTheInterruptGoesOn() throws Exception {
        LineProtocolProcess process = started(Map.of(), Duration.ofSeconds(30));
        ExecutorService thread = Executors.newSingleThreadExecutor();
        try {
            Future<String> running = thread.submit(() -> process.run(job("{\"do\":\"sleep\",\"seconds\":60}", 1,
                    new Events()), Duration.ofSeconds(90)));
            Thread.sleep(500);
            running.cancel(true);
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (process.alive() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertFalse(process.alive());
        } finally {
            thread.shutdownNow();
        }
    }

    @Test
    void aSetupThatFails_isReportedWithItsOutput() {
        LineProtocolProcess process = new LineProtocolProcess(new WarmProcess.Context(new GpuSlot(0, "0"),
                spec(Duration.ofSeconds(30), Duration.ofSeconds(30)), environment(Map.of("SETUP_FAILS", "1")),
                dir.resolve("failing")));
        toClose.add(process);

        JobFailedException failed = assertThrows(JobFailedException.class, process::start);

        assertTrue(failed.getMessage().contains("before it was ready") && failed.getMessage().contains("out of GPU memory"),
                failed.getMessage());
    }

    @Test
    void aSetupPastItsTimeout_isStopped() {
        LineProtocolProcess process = new LineProtocolProcess(new WarmProcess.Context(new GpuSlot(0, "0"),
                spec(Duration.ofSeconds(30), Duration.ofMillis(500)), environment(Map.of("SETUP_SECONDS", "30")),
                dir.resolve("slow")));
        toClose.add(process);

        JobFailedException failed = assertThrows(JobFailedException.class, process::start);

        assertTrue(failed.getMessage().contains("was not ready within PT0.5S"), failed.getMessage());
        assertFalse(process.alive());
    }

    @Test
    void warmHandler_startsOneProcessPerSlot_andAgainAfterItDied_countingTheRestart() throws Exception {
        JobTypes.Spec spec = spec(Duration.ofSeconds(30), Duration.ofSeconds(30));
        WarmHandler handler = new WarmHandler(Map.of("ECHO", spec), new CommandJobHandler(Map.of()), environment(Map.of()),
                dir, Map.of(JobTypes.Kind.HANDLER, LineProtocolProcess::new), Clock.systemUTC());
        toClose.add(handler::close);
        GpuSlot slot = new GpuSlot(0, "0");
        // The worker registers its restart metric on the SlotActivity that wraps the warm handler.
        List<String> restarted = new java.util.concurrent.CopyOnWriteArrayList<>();
        new SlotActivity(handler, List.of(slot), Clock.systemUTC()).onRestart(restarted::add);
        handler.awaitReady(slot);

        long pid = Json.parse(handler.run(new JobExecution("j1", "echo", "{}", 1, slot, dir.resolve("j1"),
                JobEvents.NONE))).get("pid").asLong();
        assertThrows(JobFailedException.class, () -> handler.run(new JobExecution("j2", "echo", "{\"do\":\"crash\"}",
                1, slot, dir.resolve("j2"), JobEvents.NONE)));
        handler.awaitReady(slot);
        long again = Json.parse(handler.run(new JobExecution("j3", "echo", "{}", 1, slot, dir.resolve("j3"),
                JobEvents.NONE))).get("pid").asLong();

        assertNotEquals(pid, again);
        WarmHandler.Status status = handler.statuses().get(0);
        assertEquals(WarmHandler.State.READY, status.state());
        assertEquals(1, status.restarts());
        assertEquals(List.of("ECHO"), restarted, "the restart reaches a listener given to the wrapper");
        assertTrue(status.lastError().contains("segfault"), status.lastError());
    }

    @Test
    void aResultThatIsNotJson_failsTheJobAtOnce_notAtItsTimeout() throws Exception {
        LineProtocolProcess process = started(Map.of(), Duration.ofSeconds(60));
        long started = System.nanoTime();

        JobFailedException nan = assertThrows(JobFailedException.class,
                () -> process.run(job("{\"do\":\"nan\"}", 1, new Events()), Duration.ofSeconds(60)));

        assertFalse(nan.retryable(), "the same result every time");
        assertTrue(nan.getMessage().contains("not JSON"), nan.getMessage());
        assertTrue(Duration.ofNanos(System.nanoTime() - started).toSeconds() < 30, "long before the timeout");
        assertTrue(process.alive());
    }

    @Test
    void aRawNanOnTheProtocol_isAProtocolError_forTheRunningJob() throws Exception {
        LineProtocolProcess process = startedScript("RAW", Duration.ofSeconds(60),
                "import json, sys",
                "print(json.dumps({'ready': True}), flush=True)",
                "for line in sys.stdin:",
                "    request = json.loads(line)",
                "    print('{\"id\": \"%s\", \"result\": {\"x\": NaN}}' % request['id'], flush=True)");

        JobFailedException failed = assertThrows(JobFailedException.class,
                () -> process.run(job("{}", 1, new Events()), Duration.ofSeconds(60)));

        assertFalse(failed.retryable());
        assertTrue(failed.getMessage().contains("NaN and Infinity are not JSON numbers"), failed.getMessage());
    }

    @Test
    void aHandlerThatStopsReadingItsInput_isStoppedAtTheTimeout_andClosesAtOnce() throws Exception {
        LineProtocolProcess process = startedScript("DEAF", Duration.ofSeconds(60),
                "import json, sys, time",
                "print(json.dumps({'ready': True}), flush=True)",
                "time.sleep(3600)");
        String huge = "{\"blob\":\"" + "y".repeat(1024 * 1024) + "\"}"; // far over a pipe's buffer

        long started = System.nanoTime();
        JobFailedException late = assertThrows(JobFailedException.class,
                () -> process.run(job(huge, 1, new Events()), Duration.ofSeconds(2)));

        assertTrue(late.getMessage().startsWith("timed out after PT2S"), late.getMessage());
        assertTrue(Duration.ofNanos(System.nanoTime() - started).toSeconds() < 15, "stopped at its timeout");
        assertFalse(process.alive());
        long closing = System.nanoTime();
        process.close();
        assertTrue(Duration.ofNanos(System.nanoTime() - closing).toSeconds() < 5, "close does not hang");
    }

    @Test
    void anEndlessLogLine_isCut_andCarriageReturnsMakeLines() throws Exception {
        LineProtocolProcess process = started(Map.of(), Duration.ofSeconds(30));
        Events events = new Events();

        process.run(job("{\"do\":\"long-line\"}", 1, events), Duration.ofSeconds(30));
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos(); // stderr may trail the result a little
        while (!events.log.contains("100%|##########|") && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }

        String cut = events.log.stream().filter(line -> line.startsWith("xxx")).findFirst().orElseThrow();
        assertTrue(cut.length() < 70_000 && cut.contains("more bytes of this line left out"), cut.substring(0, 100));
        assertTrue(events.log.contains("100%|##########|"), events.log.toString());
    }

    @Test
    void aJobThatFindsItsHandlerDead_isNotRun_andGoesBackUnspent() throws Exception {
        JobTypes.Spec spec = spec(Duration.ofSeconds(30), Duration.ofSeconds(30));
        WarmHandler handler = new WarmHandler(Map.of("ECHO", spec), new CommandJobHandler(Map.of()), environment(Map.of()),
                dir, Map.of(JobTypes.Kind.HANDLER, LineProtocolProcess::new), Clock.systemUTC());
        toClose.add(handler::close);
        GpuSlot slot = new GpuSlot(0, "0");
        handler.awaitReady(slot);
        assertThrows(JobFailedException.class, () -> handler.run(new JobExecution("j1", "echo", "{\"do\":\"crash\"}",
                1, slot, dir.resolve("j1"), JobEvents.NONE)));

        long started = System.nanoTime();
        JobNotRunException notRun = assertThrows(JobNotRunException.class, () -> handler.run(new JobExecution("j2",
                "echo", "{}", 1, slot, dir.resolve("j2"), JobEvents.NONE)));

        assertTrue(Duration.ofNanos(System.nanoTime() - started).toMillis() < 1000, "no setup inside the job");
        assertTrue(notRun.getMessage().contains("is not running"), notRun.getMessage());
    }
}
