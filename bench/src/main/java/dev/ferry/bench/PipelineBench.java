package dev.ferry.bench;

import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import dev.ferry.core.DynamoDbJobStore;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.Job;
import dev.ferry.core.JobStatus;
import dev.ferry.core.JobStore;
import dev.ferry.core.Json;
import dev.ferry.functions.SubmitJobHandler;
import dev.ferry.local.LocalStack;
import dev.ferry.worker.JobTypes;
import dev.ferry.worker.Worker;
import dev.ferry.worker.WorkerConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

/**
 * {@code scripts/bench.sh pipeline}: issue 13's figures, all in one run on one local stack
 * ({@link LocalStack}: ElasticMQ, DynamoDB Local, the API), each beside its comparison.
 *
 * <ol>
 *   <li><b>Busy fraction</b>: for each job length, for each consumer in turn (the order rotated
 *       from one length to the next), a backlog submitted through Ferry's submit handler first,
 *       then the consumer started with one slot until every job is SUCCEEDED and its message
 *       deleted. Busy = handler time / wall time from the first job's start to the last one's end.</li>
 *   <li><b>Requests per job</b>: counted in the same runs by {@link CountingInterceptor}, submit
 *       (the same handler for all) and consumer apart.</li>
 *   <li><b>Submit path</b>: Ferry's {@link SubmitJobHandler} against {@link MinimalSubmitHandler}
 *       (the raw PutItem + SendMessage) in-process, alternating; then each cold in a fresh JVM on
 *       the functions jar ({@link ColdStartMain}), alternating; the deployable jars' sizes.</li>
 *   <li><b>Throughput</b>: jobs POSTed to the local API by 8 clients, 2 workers x 4 slots running
 *       0 ms jobs in-process, until all are done; where the time goes.</li>
 * </ol>
 */
final class PipelineBench {

    static final String TYPE = "sample";
    static final int THROUGHPUT_WORKERS = 2;
    static final int THROUGHPUT_SLOTS = 4;
    static final int THROUGHPUT_CLIENTS = 8;
    private static final Duration HTTP_TIMEOUT = Duration.ofSeconds(30);

    /** The consumers the busy-fraction part compares. */
    enum Consumer {
        FERRY("ferry", "Ferry's worker, in-process handler"),
        FERRY_WARM("ferry-warm", "Ferry's worker, warm handler (Python, line protocol)"),
        NAIVE("naive", "naive loop: receive 1, claim, run, finish, delete"),
        SPRING("spring", "Spring Cloud AWS SQS listener (1 at a time)");

        final String id;
        final String label;

        Consumer(String id, String label) {
            this.id = id;
            this.label = label;
        }
    }

    /** One consumer's run of one backlog. */
    record BusyRun(Consumer consumer, long lengthMs, int jobs, double busy, double gapP50Ms, double gapP99Ms,
                   double gapMeanMs, double wallMs, Map<String, RequestCounter.Count> submitRequests,
                   Map<String, RequestCounter.Count> consumerRequests) {
    }

    /** The submit path: in-process medians, cold starts, jar sizes. */
    record SubmitFigures(int rounds, Samples ferryMs, Samples minimalMs, Map<String, RequestCounter.Count> ferryRequests,
                         Map<String, RequestCounter.Count> minimalRequests, int coldRuns, Samples ferryColdMs,
                         Samples minimalColdMs, Samples ferryColdInProcessMs, Samples minimalColdInProcessMs,
                         Map<String, Long> jarBytes) {
        double overhead() {
            return ferryMs.percentile(50) / minimalMs.percentile(50);
        }

        double coldRatio() {
            return ferryColdMs.count() == 0 ? Double.NaN : ferryColdMs.percentile(50) / minimalColdMs.percentile(50);
        }
    }

    /** Throughput end to end through the local API. */
    record ThroughputFigures(int jobs, double seconds, double submitSeconds, Samples postMs, double cpuSeconds,
                             int cpus, double loadAverage, Map<String, RequestCounter.Count> requests) {
        double jobsPerSecond() {
            return jobs / seconds;
        }

        double postsPerSecond() {
            return jobs / submitSeconds;
        }

        /** This JVM's CPU time over the CPUs' time in the window (0-1). */
        double cpuShare() {
            return cpuSeconds / (seconds * cpus);
        }
    }

    record Figures(List<BusyRun> busy, SubmitFigures submit, ThroughputFigures throughput, List<String> notes) {
    }

    private final PipelineOptions options;
    private final Path repository;
    private final Path workRoot;
    private final List<String> notes = new ArrayList<>();
    private LocalStack stack;
    private Set<String> resources;
    private SubmitJobHandler submitHandler;
    private int runCount;

    PipelineBench(PipelineOptions options, Path repository, Path workRoot) {
        this.options = options;
        this.repository = repository;
        this.workRoot = workRoot;
    }

    Figures run() throws InterruptedException {
        progress("starting the local stack (embedded SQS and DynamoDB, the API)");
        try (LocalStack started = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0).workerSlots(1)
                .build())) {
            stack = started;
            // The pool's queues (its high-priority lane's receives count too), its DLQ and the table.
            Set<String> counted = new java.util.HashSet<>(stack.pools().get(0).priorityQueueUrl().stream().toList());
            counted.addAll(List.of(stack.queueUrl(), stack.deadLetterQueueUrl(), stack.tableName()));
            resources = Set.copyOf(counted);
            submitHandler = new SubmitJobHandler(stack.environment().asMap());
            List<BusyRun> busy = busyFraction();
            SubmitFigures submit = submitPath();
            ThroughputFigures throughput = throughput();
            return new Figures(busy, submit, throughput, List.copyOf(notes));
        } finally {
            CountingInterceptor.stopCounting();
        }
    }

    // ---- 1 and 2: busy fraction, requests per job ----------------------------------------------

    private List<BusyRun> busyFraction() throws InterruptedException {
        List<Consumer> consumers = new ArrayList<>(List.of(Consumer.values()));
        Optional<String> noPython = pythonProblem();
        if (noPython.isPresent()) {
            consumers.remove(Consumer.FERRY_WARM);
            notes.add("ferry-warm skipped: " + noPython.get());
            progress("ferry-warm skipped: %s", noPython.get());
        }
        // Uncounted: this JVM's paths of every consumer compiled, the emulators warmed.
        for (Consumer consumer : consumers) {
            runBacklog(consumer, 5, options.quick() ? 3 : 5);
        }
        progress("busy fraction: warm-up done");
        List<BusyRun> runs = new ArrayList<>();
        for (int i = 0; i < options.lengths().size(); i++) {
            long length = options.lengths().get(i);
            List<Consumer> order = new ArrayList<>(consumers);
            java.util.Collections.rotate(order, -i);
            for (Consumer consumer : order) {
                long started = System.nanoTime();
                BusyRun run = runBacklog(consumer, length, options.jobsAt(length));
                runs.add(run);
                progress("busy fraction: %-10s %5d ms x %3d: busy %.3f, gap p50 %.1f ms p99 %.1f ms (%.1f s in all)",
                        consumer.id, length, run.jobs(), run.busy(), run.gapP50Ms(), run.gapP99Ms(),
                        (System.nanoTime() - started) / 1e9);
            }
        }
        return runs;
    }

    private BusyRun runBacklog(Consumer consumer, long lengthMs, int jobs) throws InterruptedException {
        RequestCounter submitCount = new RequestCounter();
        CountingInterceptor.countInto(submitCount, resources);
        List<String> ids = new ArrayList<>();
        String body = "{\"type\":\"" + TYPE + "\",\"input\":{\"sleepMs\":" + lengthMs + "}}";
        for (int i = 0; i < jobs; i++) {
            ids.add(submit(submitHandler, body));
        }
        CountingInterceptor.stopCounting();

        Timeline timeline = new Timeline();
        RequestCounter consumerCount = new RequestCounter();
        String workerId = "bench-" + consumer.id + "-" + (++runCount);
        FerryEnv env = workerEnvironment(workerId, consumer == Consumer.FERRY_WARM);
        SleepingWork work = new SleepingWork(timeline, lengthMs);
        CountingInterceptor.countInto(consumerCount, resources);
        try (SlotConsumer running = consumer(consumer, env, workerId, work, timeline)) {
            running.start();
            awaitDone(timeline, jobs, Duration.ofSeconds(30 + jobs * (lengthMs + 1000) / 1000));
        } finally {
            CountingInterceptor.stopCounting();
        }
        checkSucceeded(ids, consumer.id);
        Samples gaps = timeline.gaps();
        boolean any = gaps.count() > 0;
        return new BusyRun(consumer, lengthMs, jobs, timeline.busyFraction(), any ? gaps.percentile(50) : 0,
                any ? gaps.percentile(99) : 0, any ? gaps.mean() : 0, timeline.spanMillis(), submitCount.snapshot(),
                consumerCount.snapshot());
    }

    private SlotConsumer consumer(Consumer consumer, FerryEnv env, String workerId, SleepingWork work,
                                  Timeline timeline) {
        return switch (consumer) {
            case FERRY -> new FerryWorkerConsumer(env, new InProcessHandler(work), 1);
            case FERRY_WARM -> new FerryWorkerConsumer(env, new TimedWarmHandler(Worker.handlers(env.asMap()),
                    timeline), 1);
            case NAIVE -> new NaiveLoop(env, workerId, work);
            case SPRING -> new SpringListener(env, workerId, work);
        };
    }

    /**
     * The local stack's worker environment (its short leases and 1 s long poll), this run's worker
     * id and work directory; for the warm consumer, the sample type on the Python sleep handler.
     */
    private FerryEnv workerEnvironment(String workerId, boolean warmPython) {
        Map<String, String> env = new LinkedHashMap<>(stack.environment().asMap());
        // Deletes linger as deployed (1 s): the local stack sends each at once only so that its
        // tests see a finished job's message gone at once.
        env.remove(WorkerConfig.DELETE_LINGER);
        env.put(WorkerConfig.WORKER_ID, workerId);
        env.put(WorkerConfig.WORK_DIR, workRoot.resolve(workerId).toString());
        if (warmPython) {
            env.put(JobTypes.Kind.HANDLER.prefix() + JobTypes.envSuffix(TYPE),
                    "exec python3 '" + repository.resolve("bench/handlers/sleep_handler.py") + "'");
            env.put("PYTHONPATH", repository.resolve("handlers/python").toString());
        }
        return FerryEnv.of(env);
    }

    /** Waits until {@code jobs} jobs ran and the job queue holds no message (each was deleted). */
    private void awaitDone(Timeline timeline, int jobs, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (timeline.size() < jobs || queueDepth(stack.queueUrl()) > 0) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(timeline.size() + " of " + jobs + " jobs ran and "
                        + queueDepth(stack.queueUrl()) + " message(s) are still in the job queue after " + timeout);
            }
            Thread.sleep(timeline.size() < jobs ? 20 : 50);
        }
        if (timeline.size() != jobs) {
            throw new IllegalStateException(timeline.size() + " runs for " + jobs + " jobs: a job ran twice");
        }
    }

    private long queueDepth(String queueUrl) {
        List<QueueAttributeName> counts = List.of(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED);
        Map<QueueAttributeName, String> attributes = CountingInterceptor.uncounted(() -> stack.sqs()
                .getQueueAttributes(request -> request.queueUrl(queueUrl).attributeNames(counts)).attributes());
        return counts.stream().mapToLong(name -> Long.parseLong(attributes.getOrDefault(name, "0"))).sum();
    }

    /** Every job of a run reads SUCCEEDED (a strongly consistent read, not counted). */
    private void checkSucceeded(List<String> ids, String who) {
        JobStore store = new DynamoDbJobStore(stack.dynamoDb(), stack.tableName(), Duration.ofDays(1));
        for (String id : ids) {
            Optional<Job> job = CountingInterceptor.uncounted(() -> store.get(id));
            if (job.isEmpty() || job.get().status() != JobStatus.SUCCEEDED) {
                throw new IllegalStateException(who + ": job " + id + " is not SUCCEEDED: " + job);
            }
        }
    }

    private static String submit(RequestHandler<APIGatewayProxyRequestEvent, APIGatewayProxyResponseEvent> handler,
                                 String body) {
        APIGatewayProxyResponseEvent response = handler.handleRequest(submitEvent(body), null);
        if (response.getStatusCode() / 100 != 2) {
            throw new IllegalStateException("the submit handler answered " + response.getStatusCode() + ": "
                    + response.getBody());
        }
        return Json.parse(response.getBody()).path("jobId").asText();
    }

    private static APIGatewayProxyRequestEvent submitEvent(String body) {
        return new APIGatewayProxyRequestEvent().withHttpMethod("POST").withPath("/jobs").withResource("/jobs")
                .withHeaders(Map.of("Content-Type", "application/json")).withBody(body);
    }

    // ---- 3: the submit path ----------------------------------------------------------------------

    private SubmitFigures submitPath() throws InterruptedException {
        // A queue of its own: the jobs submitted here are never run.
        String queueUrl = stack.sqs().createQueue(request -> request.queueName("bench-submit-path")).queueUrl();
        Map<String, String> env = new LinkedHashMap<>(stack.environment().asMap());
        env.put(FerryEnv.QUEUE_URL, queueUrl); // the minimal handler's
        // Ferry's submit routes by pool: every pool's queue is the bench's own here.
        stack.pools().forEach(pool -> env.put(dev.ferry.core.Pools.queueVariable(pool.name()), queueUrl));
        SubmitJobHandler ferry = new SubmitJobHandler(env);
        MinimalSubmitHandler minimal = new MinimalSubmitHandler(env);
        String body = "{\"type\":\"" + TYPE + "\",\"input\":{\"sleepMs\":0}}";
        for (int i = 0; i < 30; i++) { // uncounted warm-up of both
            submit(ferry, body);
            submit(minimal, body);
        }
        Samples ferryMs = new Samples();
        Samples minimalMs = new Samples();
        RequestCounter ferryCount = new RequestCounter();
        RequestCounter minimalCount = new RequestCounter();
        Set<String> watched = Set.of(queueUrl, stack.tableName());
        for (int round = 0; round < options.submitRounds(); round++) {
            boolean ferryFirst = round % 2 == 0;
            for (int turn = 0; turn < 2; turn++) {
                boolean isFerry = ferryFirst == (turn == 0);
                CountingInterceptor.countInto(isFerry ? ferryCount : minimalCount, watched);
                long started = System.nanoTime();
                submit(isFerry ? ferry : minimal, body);
                (isFerry ? ferryMs : minimalMs).add((System.nanoTime() - started) / 1e6);
                CountingInterceptor.stopCounting();
            }
        }
        progress("submit path: in-process p50 Ferry %.2f ms, raw %.2f ms", ferryMs.percentile(50),
                minimalMs.percentile(50));

        Samples ferryCold = new Samples();
        Samples minimalCold = new Samples();
        Samples ferryColdIn = new Samples();
        Samples minimalColdIn = new Samples();
        Path functionsJar = repository.resolve("functions/target/ferry-functions.jar");
        if (!Files.isRegularFile(functionsJar)) {
            notes.add("cold start skipped: " + functionsJar + " is missing (build with mvn package)");
        } else {
            Path launcher = launcherClasses();
            for (int run = 0; run < options.coldStarts(); run++) {
                boolean ferryFirst = run % 2 == 0;
                for (int turn = 0; turn < 2; turn++) {
                    boolean isFerry = ferryFirst == (turn == 0);
                    double[] times = coldStart(launcher, functionsJar, isFerry ? SubmitJobHandler.class.getName()
                            : MinimalSubmitHandler.class.getName(), env);
                    (isFerry ? ferryCold : minimalCold).add(times[0]);
                    (isFerry ? ferryColdIn : minimalColdIn).add(times[1]);
                }
                progress("submit path: cold start %d of %d", run + 1, options.coldStarts());
            }
        }
        Map<String, Long> jars = new LinkedHashMap<>();
        for (String jar : List.of("functions/target/ferry-functions.jar", "worker-ec2/target/ferry-worker.jar")) {
            Path path = repository.resolve(jar);
            if (Files.isRegularFile(path)) {
                try {
                    jars.put(jar, Files.size(path));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            } else {
                notes.add(jar + " is missing: its size is not reported (build with mvn package)");
            }
        }
        return new SubmitFigures(options.submitRounds(), ferryMs, minimalMs, ferryCount.snapshot(),
                minimalCount.snapshot(), ferryCold.count(), ferryCold, minimalCold, ferryColdIn, minimalColdIn, jars);
    }

    /**
     * {@link ColdStartMain} and {@link MinimalSubmitHandler} copied to a directory of their own, so
     * that the child's classpath is the functions jar and these two classes, nothing else.
     */
    private Path launcherClasses() {
        try {
            Path classes = Path.of(ColdStartMain.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path target = workRoot.resolve("cold-start-classes");
            Path packageDir = Path.of("dev", "ferry", "bench");
            Files.createDirectories(target.resolve(packageDir));
            for (Class<?> type : List.of(ColdStartMain.class, MinimalSubmitHandler.class)) {
                String file = type.getSimpleName() + ".class";
                try (InputStream in = type.getResourceAsStream(file)) {
                    if (in == null) {
                        throw new IllegalStateException("cannot read " + file + " from " + classes);
                    }
                    Files.copy(in, target.resolve(packageDir).resolve(file));
                }
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy the cold-start classes", e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** One cold start: the child's wall time as seen from here, and its own init + first invoke (ms). */
    private double[] coldStart(Path launcher, Path functionsJar, String handlerClass, Map<String, String> env)
            throws InterruptedException {
        String javaBinary = ProcessHandle.current().info().command().orElse("java");
        ProcessBuilder builder = new ProcessBuilder(javaBinary, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Xshare:auto", "-cp", launcher + java.io.File.pathSeparator + functionsJar,
                ColdStartMain.class.getName(), handlerClass).redirectErrorStream(true);
        Map<String, String> childEnv = builder.environment();
        childEnv.keySet().removeIf(name -> name.startsWith("FERRY_") || name.startsWith("AWS_"));
        childEnv.putAll(env);
        childEnv.put("JAVA_TOOL_OPTIONS", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
        long started = System.nanoTime();
        try {
            Process process = builder.start();
            process.getOutputStream().close();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("cold start of " + handlerClass + " did not finish in 60 s");
            }
            double wall = (System.nanoTime() - started) / 1e6;
            if (process.exitValue() != 0) {
                throw new IllegalStateException("cold start of " + handlerClass + " failed: " + output);
            }
            double inProcess = Double.NaN;
            for (String line : output.lines().toList()) {
                if (line.startsWith("cold-start:")) {
                    double init = field(line, "init_ms");
                    double invoke = field(line, "invoke_ms");
                    inProcess = init + invoke;
                }
            }
            if (Double.isNaN(inProcess)) {
                throw new IllegalStateException("cold start of " + handlerClass + " printed no figures: " + output);
            }
            return new double[] {wall, inProcess};
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + javaBinary, e);
        }
    }

    static double field(String line, String name) {
        for (String part : line.split(" ")) {
            if (part.startsWith(name + "=")) {
                return Double.parseDouble(part.substring(name.length() + 1));
            }
        }
        throw new IllegalArgumentException("no " + name + " in: " + line);
    }

    // ---- 4: throughput ---------------------------------------------------------------------------

    private ThroughputFigures throughput() throws InterruptedException {
        int jobs = options.throughputJobs();
        Timeline timeline = new Timeline();
        SleepingWork work = new SleepingWork(timeline, 0);
        HttpClient http = HttpClient.newBuilder().connectTimeout(HTTP_TIMEOUT).build();
        URI post = stack.apiEndpoint().resolve("/jobs");
        String body = "{\"type\":\"" + TYPE + "\",\"input\":{\"sleepMs\":0}}";
        // Uncounted warm-up: the API's and the workers' paths compiled.
        throughputRound(http, post, body, 20, timeline, work, null);
        progress("throughput: warm-up done");
        RequestCounter counter = new RequestCounter();
        Timeline measured = new Timeline();
        ThroughputFigures figures = throughputRound(http, post, body, jobs, measured,
                new SleepingWork(measured, 0), counter);
        progress("throughput: %d jobs in %.1f s: %.0f jobs/s; POST p50 %.1f ms", jobs, figures.seconds(),
                figures.jobsPerSecond(), figures.postMs().percentile(50));
        return figures;
    }

    private ThroughputFigures throughputRound(HttpClient http, URI post, String body, int jobs,
                                              Timeline timeline, SleepingWork work,
                                              RequestCounter counter) throws InterruptedException {
        List<SlotConsumer> workers = new ArrayList<>();
        for (int i = 0; i < THROUGHPUT_WORKERS; i++) {
            FerryEnv env = workerEnvironment("bench-throughput-" + (++runCount), false);
            workers.add(new FerryWorkerConsumer(env, new InProcessHandler(work), THROUGHPUT_SLOTS));
        }
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        Samples postMs = new Samples();
        ExecutorService clients = Executors.newFixedThreadPool(THROUGHPUT_CLIENTS);
        try {
            workers.forEach(SlotConsumer::start);
            if (counter != null) {
                CountingInterceptor.countInto(counter, resources);
            }
            long cpuBefore = os.getProcessCpuTime();
            long started = System.nanoTime();
            List<Future<Double>> sent = new ArrayList<>();
            for (int i = 0; i < jobs; i++) {
                sent.add(clients.submit(() -> {
                    long begun = System.nanoTime();
                    HttpResponse<String> response = http.send(HttpRequest.newBuilder(post).timeout(HTTP_TIMEOUT)
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                            HttpResponse.BodyHandlers.ofString());
                    if (response.statusCode() != 202) {
                        throw new IllegalStateException("POST /jobs answered " + response.statusCode() + ": "
                                + response.body());
                    }
                    return (System.nanoTime() - begun) / 1e6;
                }));
            }
            for (Future<Double> future : sent) {
                postMs.add(future.get());
            }
            double submitSeconds = (System.nanoTime() - started) / 1e9;
            awaitDone(timeline, jobs, Duration.ofSeconds(60 + jobs / 5));
            double seconds = (System.nanoTime() - started) / 1e9;
            double cpu = (os.getProcessCpuTime() - cpuBefore) / 1e9;
            CountingInterceptor.stopCounting();
            return new ThroughputFigures(jobs, seconds, submitSeconds, postMs, cpu,
                    Runtime.getRuntime().availableProcessors(), Machine.currentLoadAverage(),
                    counter == null ? Map.of() : counter.snapshot());
        } catch (ExecutionException e) {
            throw new IllegalStateException("submitting through the API failed: " + e.getCause(), e.getCause());
        } finally {
            CountingInterceptor.stopCounting();
            clients.shutdownNow();
            workers.forEach(SlotConsumer::close);
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------

    /** Why the Python handler cannot run here, if it cannot: no python3, or files missing. */
    private Optional<String> pythonProblem() throws InterruptedException {
        Path module = repository.resolve("handlers/python/ferry_handler.py");
        Path handler = repository.resolve("bench/handlers/sleep_handler.py");
        if (!Files.isRegularFile(module) || !Files.isRegularFile(handler)) {
            return Optional.of(module + " or " + handler + " is missing (run from the repository)");
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

    static void progress(String format, Object... args) {
        System.err.printf(Locale.ROOT, "bench: " + format + "%n", args);
        System.err.flush();
    }
}
