package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cog's HTTP prediction API with the real Cog ({@link CogVenv}: cog and coglet from PyPI, no
 * Docker) serving a small CPU model of the tests' own ({@code src/test/resources/cog/predict.py}).
 * One server serves most tests, as a slot's would serve its jobs; the tests that stop or break a
 * server start their own.
 */
class CogProcessTest {

    private static final GpuSlot SLOT = new GpuSlot(1, "GPU-1");
    /** The shared server sends input files over 1 KiB as http URLs, so both ways are tried. */
    private static final long DATA_URL_MAX = 1024;
    private static final AtomicInteger JOBS = new AtomicInteger();
    private static final List<AutoCloseable> TO_CLOSE = new CopyOnWriteArrayList<>();
    private static Path model;
    private static Path bin;
    private static CogProcess shared;
    @TempDir
    static Path dir;

    @BeforeAll
    static void sharedServer() throws Exception {
        bin = CogVenv.bin();
        model = Path.of(CogProcessTest.class.getResource("/cog/predict.py").toURI());
        shared = new CogProcess(context(spec("Runner", Duration.ofSeconds(60)), Map.of(), "shared"), DATA_URL_MAX);
        TO_CLOSE.add(shared);
        shared.start();
    }

    @AfterAll
    static void closeAll() throws Exception {
        for (AutoCloseable closeable : TO_CLOSE) {
            closeable.close();
        }
    }

    /** The command a worker would be given: Cog's server in the model's folder, the venv's Python. */
    private static JobTypes.Spec spec(String modelClass, Duration timeout) {
        String command = "cd '" + model.getParent() + "' && COG_PREDICT_TYPE_STUB='" + model + ":" + modelClass
                + "' exec python -m cog.server.http --host 127.0.0.1";
        return new JobTypes.Spec("PAINT", JobTypes.Kind.COG, command, timeout, Duration.ofSeconds(60),
                ExitRules.parse("FERRY_EVALUATE_ON_EXIT_PAINT", "[{\"onReason\": \"*bad prompt*\", \"action\": \"EXIT\"}]"));
    }

    private static WarmProcess.Context context(JobTypes.Spec spec, Map<String, String> extra, String name) {
        Map<String, String> environment = new HashMap<>();
        environment.put("PATH", bin + ":" + System.getenv("PATH"));
        environment.put("HOME", System.getProperty("user.home"));
        environment.putAll(extra);
        return new WarmProcess.Context(SLOT, spec, environment, dir.resolve(name));
    }

    private static CogProcess started(String modelClass, Map<String, String> extra) throws Exception {
        CogProcess process = new CogProcess(context(spec(modelClass, Duration.ofSeconds(60)), extra,
                "server-" + JOBS.incrementAndGet()));
        TO_CLOSE.add(process);
        process.start();
        return process;
    }

    /** What a job reported, and when its first log line came. */
    private static final class Events implements JobEvents {
        final List<String> log = new CopyOnWriteArrayList<>();
        final List<Double> progress = new CopyOnWriteArrayList<>();
        final AtomicReference<Long> firstLogNanos = new AtomicReference<>();

        @Override
        public void progress(double fraction, String message) {
            progress.add(fraction);
        }

        @Override
        public void log(String line) {
            firstLogNanos.compareAndSet(null, System.nanoTime());
            log.add(line);
        }
    }

    private static JobExecution job(String input, Events events) throws Exception {
        int n = JOBS.incrementAndGet();
        Path work = dir.resolve("job-" + n);
        Files.createDirectories(work.resolve("outputs"));
        return new JobExecution("01JOB" + n, "paint", input, 1, SLOT, work, events);
    }

    private static JsonNode run(WarmProcess process, String input) throws Exception {
        return Json.parse(process.run(job(input, new Events()), Duration.ofSeconds(60)));
    }

    @Test
    void oneServer_runsManyJobs_inOneProcess_onTheSlotsGpu() throws Exception {
        JsonNode first = run(shared, "{\"text\":\"one\"}");
        JsonNode second = run(shared, "{\"text\":\"two\"}");
        JsonNode third = run(shared, "{\"text\":\"three\"}");

        assertEquals(first.get("pid").asLong(), third.get("pid").asLong(), "the model stays loaded");
        assertEquals(first.get("loadedAt").asDouble(), third.get("loadedAt").asDouble(), "setup ran once");
        assertEquals("two", second.get("text").asText());
        assertEquals("GPU-1", first.get("cuda").asText());
        assertEquals("1", first.get("slot").asText());
        assertTrue(shared.alive());
    }

    @Test
    void fileOutputs_becomeFilesInTheOutputDirectory_namedInTheResult() throws Exception {
        JobExecution job = job("{\"text\":\"files\"}", new Events());

        JsonNode result = Json.parse(shared.run(job, Duration.ofSeconds(60)));

        assertEquals("image.png", result.get("image").asText());
        assertEquals("[\"frames-0.txt\",\"frames-1.txt\"]", result.get("frames").toString());
        byte[] png = Files.readAllBytes(job.outputDir().resolve("image.png"));
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(png, 4));
        assertEquals("frame 1 of files", Files.readString(job.outputDir().resolve("frames-1.txt")));
        assertFalse(result.toString().contains("data:"), result.toString());
    }

    @Test
    void logsAndProgress_reachTheJobsEvents_whileItRuns() throws Exception {
        Events events = new Events();

        shared.run(job("{\"seconds\":2,\"steps\":4}", events), Duration.ofSeconds(60));
        long ended = System.nanoTime();

        assertTrue(events.log.contains("working on hello"), events.log.toString());
        assertTrue(events.log.contains("done"), events.log.toString());
        assertTrue(events.log.stream().anyMatch(line -> line.contains("2/4")), events.log.toString());
        assertTrue(events.progress.containsAll(List.of(0.25, 0.5, 0.75, 1.0)), events.progress.toString());
        assertTrue(ended - events.firstLogNanos.get() > Duration.ofMillis(1000).toNanos(),
                "the first line came while the job ran, not with its result");
    }

    @Test
    void aProgressMetric_isTheJobsProgress() throws Exception {
        Events events = new Events();

        shared.run(job("{\"do\":\"metric\",\"steps\":2,\"seconds\":2}", events), Duration.ofSeconds(60));

        assertEquals(List.of(0.5, 1.0), events.progress, "step 1 of 2 would be 0.5 too, but a metric comes first");
        assertEquals(List.of("working on hello", "step 1 of 2", "step 2 of 2"), events.log);
    }

    @Test
    void aFailure_failsTheAttemptWithCogsErrorAndLogs_retriedByTheTypesRules_andTheServerGoesOn() throws Exception {
        long pid = run(shared, "{}").get("pid").asLong();
        Events events = new Events();

        JobFailedException flaky = assertThrows(JobFailedException.class, () -> shared.run(
                job("{\"do\":\"fail\",\"text\":\"CUDA error: an illegal memory access\"}", events), Duration.ofSeconds(60)));
        JobFailedException bad = assertThrows(JobFailedException.class, () -> shared.run(
                job("{\"do\":\"fail\",\"text\":\"bad prompt\"}", new Events()), Duration.ofSeconds(60)));

        assertTrue(flaky.retryable());
        assertTrue(flaky.getMessage().contains("ValueError: CUDA error: an illegal memory access"), flaky.getMessage());
        assertTrue(events.log.contains("about to fail"), "a failed prediction's logs: " + events.log);
        assertFalse(bad.retryable(), "FERRY_EVALUATE_ON_EXIT_PAINT says EXIT");
        assertTrue(bad.getMessage().startsWith("(not retried) "), bad.getMessage());
        assertTrue(shared.alive());
        assertEquals(pid, run(shared, "{}").get("pid").asLong());
    }

    @Test
    void aJobPastItsTimeout_isCanceledThroughCog_andTheServerKeepsItsModel() throws Exception {
        long pid = run(shared, "{}").get("pid").asLong();
        Events events = new Events();
        long started = System.nanoTime();

        JobFailedException late = assertThrows(JobFailedException.class, () -> shared.run(
                job("{\"do\":\"sleep\",\"seconds\":60}", events), Duration.ofSeconds(1)));

        assertEquals("timed out after PT1S", late.getMessage());
        assertTrue(late.retryable());
        assertTrue(Duration.ofNanos(System.nanoTime() - started).compareTo(Duration.ofSeconds(1 + 5)) < 0);
        assertTrue(events.log.contains("canceled cleanly"), "the model saw Cog's cancel: " + events.log);
        assertTrue(shared.alive());
        assertEquals(pid, run(shared, "{}").get("pid").asLong());
    }

    @Test
    void aJobTheWorkerStops_isCanceledThroughCog_theInterruptGoesOn_andTheServerKeepsItsModel() throws Exception {
        long pid = run(shared, "{}").get("pid").asLong();
        Events events = new Events();
        AtomicReference<Throwable> ended = new AtomicReference<>();
        ExecutorService thread = Executors.newSingleThreadExecutor();
        try {
            JobExecution job = job("{\"do\":\"sleep\",\"seconds\":60}", events);
            Future<?> running = thread.submit(() -> {
                try {
                    shared.run(job, Duration.ofSeconds(60));
                } catch (Exception e) {
                    ended.set(e);
                }
            });
            Thread.sleep(1000);
            running.cancel(true);
            thread.shutdown();
            assertTrue(thread.awaitTermination(20, java.util.concurrent.TimeUnit.SECONDS));
        } finally {
            thread.shutdownNow();
        }

        assertTrue(ended.get() instanceof InterruptedException, String.valueOf(ended.get()));
        assertTrue(events.log.contains("canceled cleanly"), events.log.toString());
        assertTrue(shared.alive());
        assertEquals(pid, run(shared, "{}").get("pid").asLong());
    }

    @Test
    void inputFiles_inTheJobsWorkDirectory_reachCogAsUrls_otherPathsStayText() throws Exception {
        JobExecution small = job("{}", new Events());
        Path photo = small.workDir().resolve("inputs").resolve("photo.png");
        Files.createDirectories(photo.getParent());
        Files.write(photo, new byte[100]);
        JobExecution large = job("{}", new Events());
        Path video = large.workDir().resolve("inputs").resolve("clip.mp4");
        Files.createDirectories(video.getParent());
        byte[] bytes = new byte[50_000];
        new java.util.Random(7).nextBytes(bytes);
        Files.write(video, bytes);

        JsonNode inline = Json.parse(shared.run(new JobExecution(small.jobId(), "paint",
                "{\"do\":\"read\",\"file\":\"" + photo + "\"}", 1, SLOT, small.workDir(), small.events()),
                Duration.ofSeconds(60)));
        JsonNode served = Json.parse(shared.run(new JobExecution(large.jobId(), "paint",
                "{\"do\":\"read\",\"file\":\"" + video + "\"}", 1, SLOT, large.workDir(), large.events()),
                Duration.ofSeconds(60)));
        JsonNode elsewhere = run(shared, "{\"text\":\"" + model + "\"}");

        assertEquals(100, inline.get("size").asInt(), "a data: URL");
        assertEquals(50_000, served.get("size").asInt());
        assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)),
                served.get("sha256").asText());
        assertTrue(served.get("name").asText().endsWith("clip.mp4"), "an http URL keeps the file's name (Cog adds a"
                + " prefix): " + served.get("name"));
        assertEquals(model.toString(), elsewhere.get("text").asText(), "a path outside the job's directory");
    }

    @Test
    void aCrashedModel_failsItsAttempt_andTheWarmHandlerStartsTheServerAgain() throws Exception {
        JobTypes.Spec spec = spec("Runner", Duration.ofSeconds(60));
        WarmHandler handler = new WarmHandler(Map.of("PAINT", spec), new CommandJobHandler(Map.of()),
                context(spec, Map.of(), "unused").environment(), dir.resolve("warm"), WarmHandler.standardFactories(),
                Clock.systemUTC());
        TO_CLOSE.add(handler::close);
        handler.awaitReady(SLOT);

        long pid = Json.parse(handler.run(job("{}", new Events()))).get("pid").asLong();
        JobFailedException crashed = assertThrows(JobFailedException.class,
                () -> handler.run(job("{\"do\":\"crash\"}", new Events())));
        handler.awaitReady(SLOT);
        long again = Json.parse(handler.run(job("{}", new Events()))).get("pid").asLong();

        assertTrue(crashed.retryable());
        assertTrue(crashed.getMessage().contains("crashed") && crashed.getMessage().contains("started again"),
                crashed.getMessage());
        assertNotEquals(pid, again);
        WarmHandler.Status status = handler.statuses().get(0);
        assertEquals(WarmHandler.State.READY, status.state());
        assertEquals(1, status.restarts());
    }

    @Test
    void aModelThatIgnoresTheCancel_isStopped() throws Exception {
        CogProcess process = started("Runner", Map.of());
        Events events = new Events();
        long started = System.nanoTime();

        JobFailedException late = assertThrows(JobFailedException.class, () -> process.run(
                job("{\"do\":\"stubborn\",\"seconds\":60}", events), Duration.ofSeconds(1)));

        assertEquals("timed out after PT1S", late.getMessage());
        assertFalse(process.alive());
        assertTrue(events.log.contains("ignoring the cancel"), events.log.toString());
        assertTrue(Duration.ofNanos(System.nanoTime() - started).compareTo(Duration.ofSeconds(20)) < 0);
    }

    @Test
    void aSetupThatFails_isReportedWithCogsSetupLogs() {
        CogProcess process = new CogProcess(context(spec("Runner", Duration.ofSeconds(60)), Map.of("SETUP_FAILS", "1"),
                "failing"));
        TO_CLOSE.add(process);

        JobFailedException failed = assertThrows(JobFailedException.class, process::start);

        assertTrue(failed.getMessage().contains("SETUP_FAILED")
                && failed.getMessage().contains("cannot load the model: out of GPU memory"), failed.getMessage());
        assertFalse(process.alive());
    }

    @Test
    void aServerThatExitsBeforeItIsReady_isReportedWithItsOutput() {
        JobTypes.Spec spec = new JobTypes.Spec("PAINT", JobTypes.Kind.COG,
                "echo 'Unable to find image r8.im/nobody/nothing:latest locally' >&2; exit 125", Duration.ofSeconds(60),
                Duration.ofSeconds(60), ExitRules.none());
        CogProcess process = new CogProcess(new WarmProcess.Context(SLOT, spec, Map.of("PATH", System.getenv("PATH")),
                dir.resolve("exits")));
        TO_CLOSE.add(process);

        JobFailedException failed = assertThrows(JobFailedException.class, process::start);

        assertTrue(failed.getMessage().contains("exited with 125")
                && failed.getMessage().contains("Unable to find image"), failed.getMessage());
    }

    @Test
    void anOlderModel_BasePredictorWithPredict_isServedToo() throws Exception {
        CogProcess process = started("Predictor", Map.of());

        Events events = new Events();

        String result = process.run(job("{\"text\":\"hi\"}", events), Duration.ofSeconds(60));

        assertTrue(Json.parse(result).asText().startsWith("hi from "), result);
        assertEquals(List.of("predicting"), events.log);
    }
}
