package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SageMaker's container contract with a container of the tests' own
 * ({@code src/test/resources/sagemaker/serve.py}, Python's standard library): one container
 * serves most tests; those that stop or break one start their own.
 */
class SageMakerProcessTest {

    private static final GpuSlot SLOT = new GpuSlot(2, "GPU-2");
    private static final AtomicInteger JOBS = new AtomicInteger();
    private static final List<AutoCloseable> TO_CLOSE = new CopyOnWriteArrayList<>();
    private static Path container;
    private static SageMakerProcess shared;
    @TempDir
    static Path dir;

    @BeforeAll
    static void sharedContainer() throws Exception {
        assumeTrue(new ProcessBuilder("python3", "--version").start().waitFor() == 0, "python3 is needed");
        container = Path.of(SageMakerProcessTest.class.getResource("/sagemaker/serve.py").toURI());
        shared = started(Map.of("SETUP_SECONDS", "1"), Duration.ofSeconds(60));
    }

    @AfterAll
    static void closeAll() throws Exception {
        for (AutoCloseable closeable : TO_CLOSE) {
            closeable.close();
        }
    }

    private static JobTypes.Spec spec(Duration timeout) {
        return new JobTypes.Spec("EMBED", JobTypes.Kind.SAGEMAKER, "exec python3 '" + container + "'", timeout,
                Duration.ofSeconds(30),
                ExitRules.parse("FERRY_EVALUATE_ON_EXIT_EMBED", "[{\"onReason\": \"*bad prompt*\", \"action\": \"EXIT\"}]"));
    }

    private static Map<String, String> environment(Map<String, String> extra) {
        Map<String, String> environment = new HashMap<>(extra);
        environment.put("PATH", System.getenv("PATH"));
        return environment;
    }

    private static SageMakerProcess started(Map<String, String> extra, Duration timeout) throws Exception {
        SageMakerProcess process = new SageMakerProcess(new WarmProcess.Context(SLOT, spec(timeout), environment(extra),
                dir.resolve("container-" + JOBS.incrementAndGet())));
        TO_CLOSE.add(process);
        process.start();
        return process;
    }

    private static final class Events implements JobEvents {
        final List<String> log = new CopyOnWriteArrayList<>();

        @Override
        public void progress(double fraction, String message) {
        }

        @Override
        public void log(String line) {
            log.add(line);
        }
    }

    private static JobExecution job(String input, Events events) throws Exception {
        int n = JOBS.incrementAndGet();
        Path work = dir.resolve("job-" + n);
        Files.createDirectories(work.resolve("outputs"));
        return new JobExecution("01JOB" + n, "embed", input, 1, SLOT, work, events);
    }

    private static JsonNode run(WarmProcess process, String input) throws Exception {
        return Json.parse(process.run(job(input, new Events()), Duration.ofSeconds(30)));
    }

    @Test
    void oneContainer_waitsForPing_runsManyJobsInOneProcess_toldItsPortAsSageMakerDoes() throws Exception {
        Events events = new Events();

        JsonNode first = Json.parse(shared.run(job("{\"n\":1}", events), Duration.ofSeconds(30)));
        JsonNode second = run(shared, "{\"n\":2}");

        assertEquals(first.get("pid").asLong(), second.get("pid").asLong(), "the model stays loaded");
        assertEquals(2, second.get("input").get("n").asInt(), "the job's input is the body");
        assertEquals(first.get("port").asText(), first.get("bindPort").asText());
        assertEquals("GPU-2", first.get("cuda").asText());
        assertEquals("2", first.get("slot").asText());
        assertEquals(List.of("invoked with echo"), events.log, "what it prints while the job runs is the job's log");
    }

    @Test
    void aNon2xxAnswer_failsTheAttemptWithItsBody_retriedByTheTypesRules_andTheContainerGoesOn() throws Exception {
        long pid = run(shared, "{}").get("pid").asLong();

        JobFailedException failed = assertThrows(JobFailedException.class,
                () -> shared.run(job("{\"do\":\"fail\"}", new Events()), Duration.ofSeconds(30)));
        JobFailedException bad = assertThrows(JobFailedException.class,
                () -> shared.run(job("{\"do\":\"bad\"}", new Events()), Duration.ofSeconds(30)));

        assertEquals("/invocations answered 500: model error: CUDA error: an illegal memory access", failed.getMessage());
        assertTrue(failed.retryable());
        assertEquals("(not retried) /invocations answered 400: {\"message\": \"bad prompt\"}", bad.getMessage());
        assertFalse(bad.retryable());
        assertTrue(shared.alive());
        assertEquals(pid, run(shared, "{}").get("pid").asLong());
    }

    @Test
    void anAnswerThatIsNotJson_isAFile_andDataUrlsInJsonAreFilesToo() throws Exception {
        JobExecution image = job("{\"do\":\"image\"}", new Events());
        JobExecution datauri = job("{\"do\":\"datauri\"}", new Events());

        JsonNode fromImage = Json.parse(shared.run(image, Duration.ofSeconds(30)));
        JsonNode fromJson = Json.parse(shared.run(datauri, Duration.ofSeconds(30)));

        assertEquals("{\"file\":\"output.png\",\"contentType\":\"image/png\"}", fromImage.toString());
        byte[] png = Files.readAllBytes(image.outputDir().resolve("output.png"));
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(png, 4));
        assertEquals("mask.png", fromJson.get("mask").asText());
        assertTrue(Files.size(datauri.outputDir().resolve("mask.png")) > 8);
    }

    @Test
    void aJobPastItsTimeout_stopsTheContainer_andTheWarmHandlerStartsItAgain() throws Exception {
        JobTypes.Spec spec = spec(Duration.ofSeconds(1));
        WarmHandler handler = new WarmHandler(Map.of("EMBED", spec), new CommandJobHandler(Map.of()),
                environment(Map.of()), dir.resolve("warm"), WarmHandler.standardFactories(), Clock.systemUTC());
        TO_CLOSE.add(handler::close);
        handler.awaitReady(SLOT);

        long pid = Json.parse(handler.run(job("{}", new Events()))).get("pid").asLong();
        JobFailedException late = assertThrows(JobFailedException.class,
                () -> handler.run(job("{\"do\":\"sleep\",\"seconds\":60}", new Events())));
        handler.awaitReady(SLOT);
        long again = Json.parse(handler.run(job("{}", new Events()))).get("pid").asLong();

        assertEquals("timed out after PT1S", late.getMessage());
        assertNotEquals(pid, again, "SageMaker's contract has no cancel: the container was stopped");
        assertEquals(1, handler.statuses().get(0).restarts());
    }

    @Test
    void aJobTheWorkerStops_stopsTheContainer_andTheInterruptGoesOn() throws Exception {
        SageMakerProcess process = started(Map.of(), Duration.ofSeconds(60));
        AtomicReference<Throwable> ended = new AtomicReference<>();
        ExecutorService thread = Executors.newSingleThreadExecutor();
        try {
            JobExecution job = job("{\"do\":\"sleep\",\"seconds\":60}", new Events());
            Future<?> running = thread.submit(() -> {
                try {
                    process.run(job, Duration.ofSeconds(60));
                } catch (Exception e) {
                    ended.set(e);
                }
            });
            Thread.sleep(500);
            running.cancel(true);
            thread.shutdown();
            assertTrue(thread.awaitTermination(20, TimeUnit.SECONDS));
        } finally {
            thread.shutdownNow();
        }

        assertTrue(ended.get() instanceof InterruptedException, String.valueOf(ended.get()));
        assertFalse(process.alive());
    }

    @Test
    void aContainerThatDiesMidJob_failsTheAttemptWithItsOutput() throws Exception {
        SageMakerProcess process = started(Map.of(), Duration.ofSeconds(60));

        JobFailedException died = assertThrows(JobFailedException.class,
                () -> process.run(job("{\"do\":\"die\"}", new Events()), Duration.ofSeconds(30)));

        assertTrue(died.retryable());
        assertTrue(died.getMessage().contains("exited with 3 while it ran the job")
                && died.getMessage().contains("invoked with die"), died.getMessage());
        assertFalse(process.alive());
    }

    @Test
    void aSetupThatFails_isReportedWithItsOutput() {
        SageMakerProcess process = new SageMakerProcess(new WarmProcess.Context(SLOT, spec(Duration.ofSeconds(30)),
                environment(Map.of("SETUP_FAILS", "1")), dir.resolve("failing")));
        TO_CLOSE.add(process);

        JobFailedException failed = assertThrows(JobFailedException.class, process::start);

        assertTrue(failed.getMessage().contains("exited with 1 before it was ready")
                && failed.getMessage().contains("cannot load the model: out of GPU memory"), failed.getMessage());
    }

    @Test
    void aContainerNeverReady_isStoppedAfterTheSetupTimeout() {
        JobTypes.Spec slow = new JobTypes.Spec("EMBED", JobTypes.Kind.SAGEMAKER, "exec python3 '" + container + "'",
                Duration.ofSeconds(30), Duration.ofMillis(800), ExitRules.none());
        SageMakerProcess process = new SageMakerProcess(new WarmProcess.Context(SLOT, slow,
                environment(Map.of("SETUP_SECONDS", "60")), dir.resolve("slow")));
        TO_CLOSE.add(process);

        JobFailedException failed = assertThrows(JobFailedException.class, process::start);

        assertTrue(failed.getMessage().contains("was not ready within PT0.8S (FERRY_SETUP_TIMEOUT_EMBED)")
                && failed.getMessage().contains("HTTP 503"), failed.getMessage());
        assertFalse(process.alive());
    }
}
