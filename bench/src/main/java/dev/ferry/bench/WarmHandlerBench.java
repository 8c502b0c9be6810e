package dev.ferry.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.Json;
import dev.ferry.local.LocalStack;
import dev.ferry.local.SampleHandler;
import dev.ferry.local.SampleJob;
import dev.ferry.worker.GpuSlot;
import dev.ferry.worker.JobExecution;
import dev.ferry.worker.JobFailedException;
import dev.ferry.worker.JobHandler;
import dev.ferry.worker.JobTypes;
import dev.ferry.worker.WarmHandler;
import dev.ferry.worker.Worker;
import dev.ferry.worker.WorkerConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

/**
 * {@code scripts/bench.sh warm-handlers}: what a warm handler saves against a command per job, in
 * one run on one machine, the kinds side by side.
 *
 * <ol>
 *   <li><b>Handler level</b>: {@link JobHandler#run} called directly, one slot, 20 ms jobs, for a
 *       command per job (a JVM, {@link SampleJob}; and a plain {@code /bin/sh}, the floor of any
 *       process per job) and a warm handler (a JVM, {@link SampleHandler}; and Python on
 *       {@code handlers/python/ferry_handler.py}). Each handler is built as the worker builds it,
 *       by {@link Worker#handlers(Map)} from {@code FERRY_COMMAND_SAMPLE} or
 *       {@code FERRY_HANDLER_SAMPLE}; a warm one is made ready ({@link JobHandler#awaitReady}) before
 *       the clock runs, and that setup is reported apart. The kinds take turns in rounds, the order
 *       reversed every other round, so drift hits each alike.</li>
 *   <li><b>End to end</b>: the local stack ({@link LocalStack}), a backlog of 20 ms jobs queued
 *       through its HTTP API, then one worker with one slot started on it, until all read
 *       SUCCEEDED; the sample type warm (the stack's default) and as a command per job, in rounds
 *       warm, command, command, warm.</li>
 *   <li><b>Start to first job</b>: a handler whose setup takes {@code --setup-ms}
 *       ({@code FERRY_SAMPLE_SETUP_MS}: the warm handler pays it once, the command on every job),
 *       from the handler's creation to the first and the tenth job done.</li>
 * </ol>
 */
final class WarmHandlerBench {

    static final String TYPE = "sample";
    /** What each job does: sleep this long. */
    static final long JOB_MS = 20;
    static final String INPUT = "{\"sleepMs\":" + JOB_MS + "}";
    /** Jobs per kind before the clock runs: this JVM's code paths and the handler's get compiled. */
    static final int WARM_UP_JOBS = 3;
    /** Start to first job also reports the time to this many jobs. */
    static final int FIRST_JOBS = 10;
    static final GpuSlot SLOT = new GpuSlot(0, "0");
    private static final Duration HTTP_TIMEOUT = Duration.ofSeconds(30);

    /** How a job type runs, as the benchmark compares them. */
    enum Kind {
        COMMAND_JVM("command-jvm", "command per job, a JVM (SampleJob)", false),
        COMMAND_SH("command-sh", "command per job, /bin/sh (cat; sleep 0.02; echo {})", false),
        WARM_JVM("warm-jvm", "warm handler, a JVM (SampleHandler)", true),
        WARM_PYTHON("warm-python", "warm handler, Python (ferry_handler)", true);

        final String id;
        final String label;
        final boolean warm;

        Kind(String id, String label, boolean warm) {
            this.id = id;
            this.label = label;
            this.warm = warm;
        }

        /** The variable that names this kind's command: {@code FERRY_COMMAND_SAMPLE} or {@code FERRY_HANDLER_SAMPLE}. */
        String variable() {
            return (warm ? JobTypes.Kind.HANDLER : JobTypes.Kind.COMMAND).prefix() + JobTypes.envSuffix(TYPE);
        }
    }

    /** Figures of one kind. */
    interface PerKind {
        Kind kind();
    }

    /** One kind at the handler level: each job's wall time, its setup (warm only), the processes that ran its jobs. */
    record HandlerFigures(Kind kind, Samples wall, Double setupMs, int processes) implements PerKind {
        Samples overhead() {
            return wall.minus(JOB_MS);
        }
    }

    /** One kind through the pipeline, over its rounds. */
    record PipelineFigures(Kind kind, int jobs, int rounds, double steadyMsPerJob, double startToLastMsPerJob,
                           double startToFirstMs, int processes) implements PerKind {
        double jobsPerSecond() {
            return 1000.0 / steadyMsPerJob;
        }

        double overheadMs() {
            return steadyMsPerJob - JOB_MS;
        }
    }

    /**
     * One kind's start to first job: from the handler's creation to the first and the tenth job
     * done, the mean over its runs; the processes of one run.
     */
    record FirstJobFigures(Kind kind, int runs, double firstMs, double tenthMs, int processes) implements PerKind {
    }

    /** Everything one run measured; a part that did not run is empty. */
    record Figures(List<HandlerFigures> handler, List<String> notes, List<PipelineFigures> pipeline,
                   List<FirstJobFigures> firstJob) {
    }

    private final WarmHandlerOptions options;
    private final Path repository;
    private final Path workRoot;
    private final List<String> notes = new ArrayList<>();

    WarmHandlerBench(WarmHandlerOptions options, Path repository, Path workRoot) {
        this.options = options;
        this.repository = repository;
        this.workRoot = workRoot;
    }

    Figures run() throws InterruptedException {
        List<HandlerFigures> handler = List.of();
        List<PipelineFigures> pipeline = List.of();
        List<FirstJobFigures> firstJob = List.of();
        if (options.parts().contains(WarmHandlerOptions.Part.HANDLER)) {
            handler = handlerLevel();
            WarmHandlerReport.printHandler(System.out, handler);
        }
        if (options.parts().contains(WarmHandlerOptions.Part.E2E)) {
            pipeline = endToEnd();
            WarmHandlerReport.printPipeline(System.out, pipeline);
        }
        if (options.parts().contains(WarmHandlerOptions.Part.FIRST_JOB)) {
            firstJob = startToFirstJob();
            WarmHandlerReport.printFirstJob(System.out, firstJob, options.setupMs());
        }
        return new Figures(handler, List.copyOf(notes), pipeline, firstJob);
    }

    // ---- handler level ---------------------------------------------------------------------

    private List<HandlerFigures> handlerLevel() throws InterruptedException {
        List<Kind> kinds = new ArrayList<>(List.of(Kind.COMMAND_JVM, Kind.COMMAND_SH, Kind.WARM_JVM));
        Optional<String> noPython = pythonProblem();
        if (noPython.isEmpty()) {
            kinds.add(Kind.WARM_PYTHON);
        } else {
            notes.add("warm-python skipped: " + noPython.get());
            progress("warm-python skipped: %s", noPython.get());
        }
        Map<Kind, JobHandler> handlers = new EnumMap<>(Kind.class);
        Map<Kind, Double> setup = new EnumMap<>(Kind.class);
        Map<Kind, Samples> walls = new EnumMap<>(Kind.class);
        Map<Kind, Set<Long>> pids = new EnumMap<>(Kind.class);
        try {
            for (Kind kind : kinds) {
                long started = System.nanoTime();
                JobHandler handler = Worker.handlers(environment(kind, Map.of()));
                handlers.put(kind, handler);
                handler.awaitReady(SLOT); // a warm handler starts here; the worker waits for it the same way
                if (kind.warm) {
                    if (!(handler instanceof WarmHandler)) {
                        throw new IllegalStateException(kind.variable() + " did not give a warm handler but "
                                + handler.getClass().getName());
                    }
                    setup.put(kind, millisSince(started));
                }
                walls.put(kind, new Samples());
                pids.put(kind, new HashSet<>());
            }
            for (Kind kind : kinds) {
                for (int i = 0; i < WARM_UP_JOBS; i++) {
                    runJob(handlers.get(kind), kind, "warm-up-" + i);
                }
            }
            int done = 0;
            for (int round = 0; round < options.rounds(); round++) {
                int jobs = (options.jobs() * (round + 1)) / options.rounds() - done; // spread as evenly as it goes
                done += jobs;
                List<Kind> order = new ArrayList<>(kinds);
                if (round % 2 == 1) {
                    Collections.reverse(order);
                }
                for (Kind kind : order) {
                    for (int i = 0; i < jobs; i++) {
                        long started = System.nanoTime();
                        String result = runJob(handlers.get(kind), kind, "r" + round + "-" + i);
                        walls.get(kind).add(millisSince(started));
                        pid(result).ifPresent(pids.get(kind)::add);
                    }
                }
                progress("handler level: round %d of %d done (%d jobs per kind)", round + 1, options.rounds(), done);
            }
        } finally {
            handlers.values().forEach(JobHandler::close);
        }
        List<HandlerFigures> figures = new ArrayList<>();
        for (Kind kind : kinds) {
            figures.add(new HandlerFigures(kind, walls.get(kind), setup.get(kind), pids.get(kind).size()));
        }
        return figures;
    }

    private static String runJob(JobHandler handler, Kind kind, String jobId) throws InterruptedException {
        try {
            return handler.run(new JobExecution("bench-" + kind.id + "-" + jobId, TYPE, INPUT, 1, SLOT));
        } catch (JobFailedException e) {
            throw new IllegalStateException(kind.id + " job " + jobId + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * What a handler of {@code kind} is built from: this process's environment without its
     * {@code FERRY_*} and {@code AWS_*} variables (as the local stack passes it on to job programs),
     * the kind's variable, and {@code extra}.
     */
    private Map<String, String> environment(Kind kind, Map<String, String> extra) {
        Map<String, String> env = new TreeMap<>();
        System.getenv().forEach((name, value) -> {
            if (!name.startsWith("FERRY_") && !name.startsWith("AWS_")) {
                env.put(name, value);
            }
        });
        // WorkerConfig, which Worker.handlers reads for the work directory, requires a queue; the
        // handlers never use it.
        env.put(FerryEnv.QUEUE_URL, "http://localhost/no-queue-at-the-handler-level");
        env.put(WorkerConfig.WORK_DIR, workRoot.resolve(kind.id).toString());
        env.put(kind.variable(), command(kind));
        if (kind == Kind.WARM_PYTHON) {
            env.put("PYTHONPATH", repository.resolve("handlers/python").toString());
        }
        env.putAll(extra);
        return env;
    }

    private String command(Kind kind) {
        return switch (kind) {
            case COMMAND_JVM -> SampleJob.command();
            case COMMAND_SH -> "cat >/dev/null; sleep " + String.format(Locale.ROOT, "%.3f", JOB_MS / 1000.0)
                    + "; echo '{}'";
            case WARM_JVM -> SampleHandler.command();
            case WARM_PYTHON -> "exec python3 " + shellQuote(pythonHandler().toString());
        };
    }

    private Path pythonHandler() {
        return repository.resolve("bench/handlers/sleep_handler.py");
    }

    /** Why the Python handler cannot run here, if it cannot: no python3, or files missing. */
    private Optional<String> pythonProblem() throws InterruptedException {
        Path module = repository.resolve("handlers/python/ferry_handler.py");
        if (!Files.isRegularFile(module) || !Files.isRegularFile(pythonHandler())) {
            return Optional.of(module + " or " + pythonHandler() + " is missing (run from the repository)");
        }
        try {
            Process probe = new ProcessBuilder("/bin/sh", "-c", "python3 -c 'import json, sys'")
                    .redirectErrorStream(true).start();
            probe.getOutputStream().close();
            if (!probe.waitFor(30, TimeUnit.SECONDS)) {
                probe.destroyForcibly();
                return Optional.of("python3 did not answer within 30 s");
            }
            return probe.exitValue() == 0 ? Optional.empty() : Optional.of("python3 is not on PATH or does not run");
        } catch (IOException e) {
            return Optional.of("cannot start /bin/sh: " + e.getMessage());
        }
    }

    // ---- end to end ------------------------------------------------------------------------

    private List<PipelineFigures> endToEnd() throws InterruptedException {
        List<Kind> order = List.of(Kind.WARM_JVM, Kind.COMMAND_JVM, Kind.COMMAND_JVM, Kind.WARM_JVM);
        int perRound = Math.max(2, options.e2eJobs() / 2);
        progress("end to end: starting the local stack (embedded SQS and DynamoDB, the API)");
        Map<Kind, List<Round>> rounds = new EnumMap<>(Kind.class);
        HttpClient http = HttpClient.newBuilder().connectTimeout(HTTP_TIMEOUT).build();
        try (LocalStack stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0).workerSlots(1)
                .build())) {
            // Uncounted: the stack's and the worker's code paths compiled, the emulators warmed, for both kinds.
            pipelineRound(stack, http, Kind.WARM_JVM, -1, Math.min(10, perRound));
            progress("end to end: warm-up round done");
            for (int i = 0; i < order.size(); i++) {
                Kind kind = order.get(i);
                Round round = pipelineRound(stack, http, kind, i, perRound);
                rounds.computeIfAbsent(kind, k -> new ArrayList<>()).add(round);
                progress("end to end: round %d of %d (%s, %d jobs) took %.1f s from the worker's start", i + 1,
                        order.size(), kind.id, perRound, round.lastMs / 1000);
            }
        }
        List<PipelineFigures> figures = new ArrayList<>();
        for (Kind kind : List.of(Kind.COMMAND_JVM, Kind.WARM_JVM)) {
            List<Round> mine = rounds.get(kind);
            double span = mine.stream().mapToDouble(r -> r.lastMs - r.firstMs).sum();
            int gaps = mine.stream().mapToInt(r -> r.jobs - 1).sum();
            double startToLast = mine.stream().mapToDouble(r -> r.lastMs).sum();
            int jobs = mine.stream().mapToInt(r -> r.jobs).sum();
            double startToFirst = mine.stream().mapToDouble(r -> r.firstMs).average().orElseThrow();
            int processes = mine.stream().mapToInt(r -> r.processes).sum();
            figures.add(new PipelineFigures(kind, jobs, mine.size(), span / gaps, startToLast / jobs, startToFirst,
                    processes));
        }
        return figures;
    }

    /** One backlog through one worker: times from the worker's start, in milliseconds. */
    private record Round(int jobs, double firstMs, double lastMs, int processes) {
    }

    private Round pipelineRound(LocalStack stack, HttpClient http, Kind kind, int index, int jobs)
            throws InterruptedException {
        List<String> ids = submit(http, stack.apiEndpoint(), jobs);
        Map<String, String> env = new LinkedHashMap<>(stack.environment().asMap());
        // The ledger is the tests' way to count runs (a locked, synced append per job); not Ferry's cost.
        env.remove(SampleJob.LEDGER);
        String name = index < 0 ? "warm-up" : Integer.toString(index + 1);
        env.put(WorkerConfig.WORKER_ID, "bench-" + kind.id + "-" + name);
        env.put(WorkerConfig.WORK_DIR, workRoot.resolve("e2e-" + name).toString());
        if (kind == Kind.COMMAND_JVM) {
            // As the local stack does when FERRY_COMMAND_SAMPLE is overridden: a type runs one way only.
            env.remove(Kind.WARM_JVM.variable());
            env.put(Kind.COMMAND_JVM.variable(), SampleJob.command());
        }
        Instant started = Instant.now();
        Worker worker = Worker.fromEnvironment(env);
        try {
            worker.start();
            awaitQueueEmpty(stack, Duration.ofSeconds(60 + 5L * jobs));
        } finally {
            worker.close();
        }
        double first = Double.MAX_VALUE;
        double last = 0;
        Set<Long> pids = new HashSet<>();
        for (String id : ids) {
            JsonNode job = get(http, stack.apiEndpoint().resolve("/jobs/" + id));
            if (!"SUCCEEDED".equals(job.path("status").asText())) {
                throw new IllegalStateException("end to end, " + kind.id + ": job " + id + " is not SUCCEEDED: " + job);
            }
            double finished = Duration.between(started, Instant.parse(job.path("finishedAt").asText())).toNanos() / 1e6;
            first = Math.min(first, finished);
            last = Math.max(last, finished);
            JsonNode pid = job.path("result").path("pid");
            if (pid.isIntegralNumber()) {
                pids.add(pid.asLong());
            }
        }
        return new Round(jobs, first, last, pids.size());
    }

    /** Submits {@code count} sample jobs through the API, a few at a time; their ids. */
    private static List<String> submit(HttpClient http, URI api, int count) throws InterruptedException {
        ExecutorService senders = Executors.newFixedThreadPool(4);
        try {
            List<Future<String>> sent = new ArrayList<>();
            String body = "{\"type\":\"" + TYPE + "\",\"input\":" + INPUT + "}";
            for (int i = 0; i < count; i++) {
                sent.add(senders.submit(() -> {
                    HttpRequest request = HttpRequest.newBuilder(api.resolve("/jobs")).timeout(HTTP_TIMEOUT)
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(body)).build();
                    HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
                    if (response.statusCode() != 202) {
                        throw new IllegalStateException("POST /jobs answered " + response.statusCode() + ": "
                                + response.body());
                    }
                    return Json.parse(response.body()).path("jobId").asText();
                }));
            }
            List<String> ids = new ArrayList<>();
            for (Future<String> future : sent) {
                ids.add(future.get());
            }
            return ids;
        } catch (ExecutionException e) {
            throw new IllegalStateException("submitting the backlog failed: " + e.getCause(), e.getCause());
        } finally {
            senders.shutdownNow();
        }
    }

    private static JsonNode get(HttpClient http, URI uri) throws InterruptedException {
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(uri).timeout(HTTP_TIMEOUT).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IllegalStateException("GET " + uri + " answered " + response.statusCode() + ": "
                        + response.body());
            }
            return Json.parse(response.body());
        } catch (IOException e) {
            throw new UncheckedIOException("GET " + uri + " failed", e);
        }
    }

    /**
     * Waits until the job queue holds no message, visible, in flight or delayed: a message is
     * deleted only after its job's final state is written, so every job has finished.
     */
    private static void awaitQueueEmpty(LocalStack stack, Duration timeout) throws InterruptedException {
        List<QueueAttributeName> counts = List.of(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Map<QueueAttributeName, String> attributes = stack.sqs().getQueueAttributes(request -> request
                    .queueUrl(stack.queueUrl()).attributeNames(counts)).attributes();
            long left = counts.stream().mapToLong(name -> Long.parseLong(attributes.getOrDefault(name, "0"))).sum();
            if (left == 0) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("end to end: " + left + " message(s) still in the job queue after "
                        + timeout + ": " + attributes);
            }
            Thread.sleep(100);
        }
    }

    // ---- start to first job ----------------------------------------------------------------

    private List<FirstJobFigures> startToFirstJob() throws InterruptedException {
        // Uncounted, no setup, one job each: this JVM's side of both kinds loaded and compiled, so
        // the kind measured first does not pay for it.
        for (Kind kind : List.of(Kind.WARM_JVM, Kind.COMMAND_JVM)) {
            firstJobs(kind, 0, 1);
        }
        // Warm, command, warm: the warm handler's two runs straddle the command's, so drift (the
        // machine's load, the stack of the part before still closing) weighs on both alike; the
        // command runs once, its ten setups being most of this part's time.
        Map<Kind, List<FirstJobRun>> runs = new EnumMap<>(Kind.class);
        for (Kind kind : List.of(Kind.WARM_JVM, Kind.COMMAND_JVM, Kind.WARM_JVM)) {
            FirstJobRun run = firstJobs(kind, options.setupMs(), FIRST_JOBS);
            runs.computeIfAbsent(kind, k -> new ArrayList<>()).add(run);
            progress("start to first job: %s first %.0f ms, %d jobs %.0f ms", kind.id, run.firstMs, FIRST_JOBS,
                    run.lastMs);
        }
        List<FirstJobFigures> figures = new ArrayList<>();
        runs.forEach((kind, mine) -> figures.add(new FirstJobFigures(kind, mine.size(),
                mine.stream().mapToDouble(FirstJobRun::firstMs).average().orElseThrow(),
                mine.stream().mapToDouble(FirstJobRun::lastMs).average().orElseThrow(),
                mine.stream().mapToInt(FirstJobRun::processes).max().orElseThrow())));
        return figures;
    }

    /** One handler from its creation: when its first and last job were done (ms), by how many processes. */
    private record FirstJobRun(double firstMs, double lastMs, int processes) {
    }

    private FirstJobRun firstJobs(Kind kind, long setupMs, int jobs) throws InterruptedException {
        Map<String, String> setup = Map.of(SampleJob.SETUP_MS, Long.toString(setupMs));
        long started = System.nanoTime();
        JobHandler handler = Worker.handlers(environment(kind, setup));
        double first = 0;
        double last = 0;
        Set<Long> pids = new HashSet<>();
        try {
            handler.awaitReady(SLOT); // as the worker does before it takes the first message
            for (int i = 1; i <= jobs; i++) {
                pid(runJob(handler, kind, "first-" + i)).ifPresent(pids::add);
                last = millisSince(started);
                if (i == 1) {
                    first = last;
                }
            }
        } finally {
            handler.close();
        }
        return new FirstJobRun(first, last, pids.size());
    }

    // ---- helpers ---------------------------------------------------------------------------

    private static Optional<Long> pid(String resultJson) {
        JsonNode pid = Json.parse(resultJson).path("pid");
        return pid.isIntegralNumber() ? Optional.of(pid.asLong()) : Optional.empty();
    }

    private static double millisSince(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e6;
    }

    private static String shellQuote(String value) {
        return "'" + value.replace("'", "'\\''") + "'";
    }

    static void progress(String format, Object... args) {
        System.err.printf(Locale.ROOT, "bench: " + format + "%n", args);
        System.err.flush();
    }
}
