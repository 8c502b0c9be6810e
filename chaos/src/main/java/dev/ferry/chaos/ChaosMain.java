package dev.ferry.chaos;

import dev.ferry.core.FerryEnv;
import dev.ferry.core.Job;
import dev.ferry.core.JobMessage;
import dev.ferry.core.JobStatus;
import dev.ferry.core.JobTable;
import dev.ferry.core.Json;
import dev.ferry.local.LocalStack;
import dev.ferry.testkit.CompletionWitness;
import dev.ferry.testkit.FakeImds;
import dev.ferry.testkit.HttpFaultProxy;
import dev.ferry.testkit.WorkerProcess;
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
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.streams.DynamoDbStreamsClient;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

/**
 * The chaos soak behind {@code scripts/chaos.sh}: the local stack (emulators and API) in this JVM,
 * several real worker processes that reach SQS and DynamoDB only through {@link HttpFaultProxy}s, each
 * with its own {@link FakeImds}, and a fault injector. It submits the jobs through the HTTP API
 * and, while they run, kills workers with SIGKILL, stops them with SIGTERM, sends them Spot
 * interruption notices (and kills them at the notice's time, as EC2 would), cuts them off from
 * SQS and DynamoDB, and sends some messages twice; a share of the jobs always fails. Then it lets
 * the rest finish and counts, from the ledger the jobs write, the table, its change stream and
 * both queues.
 *
 * <p>The last line printed is the summary, {@code chaos: jobs=... succeeded=... failed=... lost=...
 * double_completed=... stuck=... preempted=... kills=...}; the exit status is 0 only when nothing
 * was lost, completed twice or stuck, and every poison job is FAILED with its message in the DLQ.
 * See README, "Faults and the chaos soak", for what each figure means.
 */
public final class ChaosMain {

    static final String TYPE = "chaos";
    static final String POISON_TYPE = "chaos-poison";
    static final String LEDGER_VARIABLE = "CHAOS_LEDGER";
    /**
     * A chaos job: notes its start in the ledger, works for {@code sleep} seconds, notes its commit,
     * prints its run id as the result. Small appends with O_APPEND are atomic, so lines never mix.
     */
    static final String JOB_COMMAND = "input=$(cat); s=$(printf %s \"$input\" | sed -n 's/.*\"sleep\": *\"\\([0-9.]*\\)\".*/\\1/p');"
            + " run=\"$FERRY_WORKER_ID/$$\"; echo \"start $FERRY_JOB_ID $run\" >> \"$" + LEDGER_VARIABLE + "\";"
            + " sleep \"${s:-0}\"; echo \"commit $FERRY_JOB_ID $run\" >> \"$" + LEDGER_VARIABLE + "\";"
            + " printf '{\"run\":\"%s\"}\\n' \"$run\"";
    /** A poison job: always fails. */
    static final String POISON_COMMAND = "cat >/dev/null; sleep 0.1; echo 'poison: this job always fails' >&2; exit 3";
    /** The workers' timings: short, so that faults and their recovery are many within minutes. */
    static final Map<String, String> WORKER_TIMINGS = Map.of(
            WorkerConfig.LEASE, "3",
            WorkerConfig.HEARTBEAT, "1",
            WorkerConfig.RETRY_BASE, "0.5",
            WorkerConfig.RETRY_MAX, "2",
            WorkerConfig.DUPLICATE_DEFER, "3",
            WorkerConfig.WAIT_SECONDS, "1",
            WorkerConfig.DRAIN_GRACE, "1",
            WorkerConfig.NOTICE_POLL, "0.5",
            WorkerConfig.SPOT_MARGIN, "1",
            WorkerConfig.JOB_TIMEOUT, "60");
    private static final Duration SUBMIT_TIMEOUT = Duration.ofSeconds(30);

    private final ChaosOptions options;
    private final Random random;
    private final Path ledger;
    private final Path logs;
    private LocalStack stack;
    private HttpFaultProxy sqsProxy;
    private HttpFaultProxy dynamoDbProxy;
    private final Slot[] slots;
    private final Map<String, Boolean> accepted = new ConcurrentHashMap<>(); // jobId -> poison
    private final AtomicInteger workerStarts = new AtomicInteger();
    private final AtomicInteger duplicatesSent = new AtomicInteger();
    private final Counters counters = new Counters();
    private volatile boolean faultsOn = true;

    /** One place a worker runs; a dead one is replaced by the supervisor. */
    private static final class Slot {
        WorkerProcess process;
        FakeImds imds;
        long reclaimAtNanos = Long.MAX_VALUE; // a Spot notice's time: the machine goes away then
    }

    private static final class Counters {
        final AtomicInteger kills = new AtomicInteger();
        final AtomicInteger terms = new AtomicInteger();
        final AtomicInteger spotNotices = new AtomicInteger();
        final AtomicInteger spotReclaims = new AtomicInteger();
        final AtomicInteger sqsOutages = new AtomicInteger();
        final AtomicInteger dynamoDbOutages = new AtomicInteger();
        final AtomicInteger bothOutages = new AtomicInteger();
    }

    ChaosMain(ChaosOptions options) {
        this.options = options;
        this.random = new Random(options.seed());
        this.ledger = options.out().resolve("ledger.txt");
        this.logs = options.out().resolve("workers");
        this.slots = new Slot[options.workers()];
    }

    public static void main(String[] args) {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        ChaosOptions options;
        try {
            options = ChaosOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        ChaosReport report = new ChaosMain(options).run();
        System.out.println(report.summaryLine());
        System.out.flush();
        System.exit(report.passed() ? 0 : 1);
    }

    /** Runs the soak and counts. */
    ChaosReport run() {
        long started = System.nanoTime();
        try {
            prepare();
            say("seed %d: %d jobs, %d workers x %d slots, maxReceiveCount %d; output in %s", options.seed(),
                    options.jobs(), options.workers(), options.slots(), options.maxReceiveCount(), options.out());
            stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0)
                    .templateParameters(Map.of("MaxReceiveCount", Integer.toString(options.maxReceiveCount()),
                            "VisibilityTimeoutSeconds", WORKER_TIMINGS.get(WorkerConfig.LEASE)))
                    .build());
            URI dynamoDbEndpoint = URI.create(stack.environment().required(FerryEnv.AWS_ENDPOINT_URL_DYNAMODB));
            try (DynamoDbStreamsClient streams = CompletionWitness.localStreamsClient(dynamoDbEndpoint,
                    stack.environment().required(FerryEnv.AWS_REGION))) {
                CompletionWitness witness = CompletionWitness.enable(stack.dynamoDb(), streams, stack.tableName());
                sqsProxy = HttpFaultProxy.start("sqs", URI.create(stack.environment().required(FerryEnv.AWS_ENDPOINT_URL_SQS)));
                dynamoDbProxy = HttpFaultProxy.start("dynamodb", dynamoDbEndpoint);
                soak();
                return count(witness, Duration.ofNanos(System.nanoTime() - started));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } finally {
            for (Slot slot : slots) {
                if (slot != null && slot.process != null) {
                    slot.process.kill();
                }
                if (slot != null && slot.imds != null) {
                    slot.imds.close();
                }
            }
            if (sqsProxy != null) {
                sqsProxy.close();
            }
            if (dynamoDbProxy != null) {
                dynamoDbProxy.close();
            }
            if (stack != null) {
                stack.close();
            }
        }
    }

    private void prepare() {
        try {
            Files.createDirectories(logs);
            Files.deleteIfExists(ledger);
            Files.createFile(ledger);
            try (var old = Files.list(logs)) {
                for (Path log : old.toList()) {
                    Files.delete(log);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare " + options.out(), e);
        }
    }

    private void soak() throws InterruptedException {
        for (int i = 0; i < slots.length; i++) {
            slots[i] = new Slot();
            startWorker(slots[i]);
        }
        Thread supervisor = daemon("chaos-supervisor", this::supervise);
        Thread faults = daemon("chaos-faults", this::injectFaults);
        supervisor.start();
        faults.start();

        submitAll();
        say("submitted %d jobs (%d with a duplicate message)", accepted.size(), duplicatesSent.get());
        // Faults go on while most of the work runs, then stop, and the rest must settle.
        long faultDeadline = System.nanoTime() + Duration.ofMinutes(30).toNanos();
        int target = (int) Math.ceil(accepted.size() * 0.9);
        long lastReport = 0;
        while (System.nanoTime() < faultDeadline) {
            int finished = finishedCount();
            if (finished >= target) {
                break;
            }
            if (System.nanoTime() - lastReport > Duration.ofSeconds(15).toNanos()) {
                progress(finished);
                lastReport = System.nanoTime();
            }
            Thread.sleep(1_000);
        }
        faultsOn = false;
        faults.join(Duration.ofSeconds(30).toMillis());
        sqsProxy.restore();
        dynamoDbProxy.restore();
        say("faults stopped; settling (up to %d s)", options.settle().toSeconds());
        long settleDeadline = System.nanoTime() + options.settle().toNanos();
        while (System.nanoTime() < settleDeadline && finishedCount() < accepted.size()) {
            if (System.nanoTime() - lastReport > Duration.ofSeconds(15).toNanos()) {
                progress(finishedCount());
                lastReport = System.nanoTime();
            }
            Thread.sleep(1_000);
        }
        // Duplicates, re-armed copies and watchdogs still in the queue are deleted once received.
        long drainDeadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < drainDeadline && depth(stack.queueUrl()) > 0) {
            Thread.sleep(500);
        }
        supervisor.interrupt();
        supervisor.join(5_000);
        for (Slot slot : slots) {
            slot.process.terminate();
        }
        for (Slot slot : slots) {
            if (slot.process.waitFor(Duration.ofSeconds(30)) < 0) {
                slot.process.kill();
            }
        }
    }

    private void progress(int finished) {
        say("%d/%d final; kills %d, SIGTERMs %d, Spot notices %d, outages %d, workers started %d", finished,
                accepted.size(), counters.kills.get(), counters.terms.get(), counters.spotNotices.get(),
                counters.sqsOutages.get() + counters.dynamoDbOutages.get() + counters.bothOutages.get(),
                workerStarts.get());
    }

    // Workers

    private synchronized void startWorker(Slot slot) {
        if (slot.imds != null) {
            slot.imds.close();
        }
        slot.imds = FakeImds.start();
        String id = "w" + workerStarts.incrementAndGet();
        Map<String, String> env = new LinkedHashMap<>();
        for (String name : List.of("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")) {
            String value = System.getenv(name);
            if (value != null) {
                env.put(name, value);
            }
        }
        env.put(FerryEnv.QUEUE_URL, stack.queueUrl());
        env.put(FerryEnv.TABLE, stack.tableName());
        env.put(FerryEnv.AWS_REGION, stack.environment().required(FerryEnv.AWS_REGION));
        env.put(FerryEnv.AWS_ACCESS_KEY_ID, "local");
        env.put(FerryEnv.AWS_SECRET_ACCESS_KEY, "local");
        env.put(FerryEnv.AWS_ENDPOINT_URL_SQS, sqsProxy.endpoint().toString());
        env.put(FerryEnv.AWS_ENDPOINT_URL_DYNAMODB, dynamoDbProxy.endpoint().toString());
        env.put(WorkerConfig.METADATA_ENDPOINT, slot.imds.endpoint().toString());
        env.put(WorkerConfig.WORKER_ID, id);
        env.put(WorkerConfig.SLOTS, Integer.toString(options.slots()));
        env.putAll(WORKER_TIMINGS);
        env.put(WorkerConfig.COMMAND_PREFIX + "CHAOS", JOB_COMMAND);
        env.put(WorkerConfig.COMMAND_PREFIX + "CHAOS_POISON", POISON_COMMAND);
        env.put(LEDGER_VARIABLE, ledger.toAbsolutePath().toString());
        slot.reclaimAtNanos = Long.MAX_VALUE;
        slot.process = WorkerProcess.start(id, env, logs.resolve(id + ".log"));
    }

    /** Replaces dead workers; takes Spot machines away at their notice's time. */
    private void supervise() {
        while (!Thread.currentThread().isInterrupted()) {
            for (Slot slot : slots) {
                synchronized (this) {
                    if (slot.process.isAlive() && System.nanoTime() >= slot.reclaimAtNanos) {
                        slot.process.kill(); // the instance-action time: EC2 takes the machine
                        counters.spotReclaims.incrementAndGet();
                    }
                    if (!slot.process.isAlive()) {
                        startWorker(slot);
                    }
                }
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    // Faults

    private void injectFaults() {
        long now = System.nanoTime();
        long nextKill = next(now, options.killEvery());
        long nextSpot = next(now, options.spotEvery());
        long nextTerm = next(now, options.termEvery());
        long nextOutage = next(now, options.outageEvery());
        long outageEnds = Long.MAX_VALUE;
        while (faultsOn) {
            now = System.nanoTime();
            if (now >= nextKill) {
                victim().ifPresent(slot -> {
                    slot.process.kill();
                    counters.kills.incrementAndGet();
                });
                nextKill = next(now, options.killEvery());
            }
            if (now >= nextTerm) {
                victim().ifPresent(slot -> {
                    slot.process.terminate();
                    counters.terms.incrementAndGet();
                });
                nextTerm = next(now, options.termEvery());
            }
            if (now >= nextSpot) {
                victim().ifPresent(slot -> {
                    // 1-4 s of notice, less the 1 s margin, at most the 1 s grace: some jobs finish, the rest go back.
                    long noticeMillis = 1_000 + (long) (randomDouble() * 3_000);
                    slot.imds.spotInterruption("terminate", Instant.now().plusMillis(noticeMillis));
                    slot.reclaimAtNanos = System.nanoTime() + noticeMillis * 1_000_000;
                    counters.spotNotices.incrementAndGet();
                });
                nextSpot = next(now, options.spotEvery());
            }
            if (outageEnds == Long.MAX_VALUE && now >= nextOutage) {
                int which = randomInt(3);
                if (which != 1) {
                    sqsProxy.cut();
                }
                if (which != 0) {
                    dynamoDbProxy.cut();
                }
                (which == 0 ? counters.sqsOutages : which == 1 ? counters.dynamoDbOutages : counters.bothOutages)
                        .incrementAndGet();
                long lengthMillis = 1_000 + (long) (randomDouble() * Math.max(0, options.outageLength().toMillis() - 1_000));
                outageEnds = now + lengthMillis * 1_000_000;
            }
            if (now >= outageEnds) {
                sqsProxy.restore();
                dynamoDbProxy.restore();
                outageEnds = Long.MAX_VALUE;
                nextOutage = next(now, options.outageEvery());
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** A random live worker that has been up for a moment (one that never got to start proves little). */
    private synchronized java.util.Optional<Slot> victim() {
        List<Slot> alive = new ArrayList<>();
        for (Slot slot : slots) {
            if (slot.process.isAlive() && slot.reclaimAtNanos == Long.MAX_VALUE) {
                alive.add(slot);
            }
        }
        return alive.isEmpty() ? java.util.Optional.empty() : java.util.Optional.of(alive.get(randomInt(alive.size())));
    }

    /** Now plus a random time around {@code mean} (half to one and a half); never for a zero mean. */
    private long next(long now, Duration mean) {
        if (mean.isZero()) {
            return Long.MAX_VALUE;
        }
        return now + (long) (mean.toNanos() * (0.5 + randomDouble()));
    }

    private synchronized double randomDouble() {
        return random.nextDouble();
    }

    private synchronized int randomInt(int bound) {
        return random.nextInt(bound);
    }

    // Submitting

    private void submitAll() throws InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        URI submit = stack.apiEndpoint().resolve("/jobs");
        // Decided up front from the seed, so that a run can be repeated.
        List<String[]> plan = new ArrayList<>();
        for (int i = 0; i < options.jobs(); i++) {
            boolean poison = randomDouble() < options.poison();
            boolean duplicate = randomDouble() < options.duplicates();
            long sleepMillis = 50 + (long) (randomDouble() * Math.max(0, options.maxJob().toMillis() - 50));
            plan.add(new String[] {poison ? POISON_TYPE : TYPE,
                    String.format(Locale.ROOT, "%d.%03d", sleepMillis / 1000, sleepMillis % 1000),
                    Boolean.toString(duplicate), "chaos-" + options.seed() + "-" + i});
        }
        ExecutorService submitters = Executors.newFixedThreadPool(4);
        try {
            for (String[] job : plan) {
                submitters.execute(() -> submitOne(http, submit, job[0], job[1], Boolean.parseBoolean(job[2]), job[3]));
            }
        } finally {
            submitters.shutdown();
            long deadline = System.nanoTime() + Duration.ofMinutes(30).toNanos();
            while (!submitters.awaitTermination(15, TimeUnit.SECONDS)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("submitting took over 30 minutes");
                }
                say("submitting: %d/%d accepted", accepted.size(), options.jobs());
                progress(finishedCount());
            }
        }
    }

    private void submitOne(HttpClient http, URI submit, String type, String sleep, boolean duplicate, String key) {
        String input = "{\"sleep\":\"" + sleep + "\"}";
        String body = "{\"type\":\"" + type + "\",\"input\":" + input + "}";
        for (int attempt = 1; ; attempt++) {
            try {
                HttpResponse<String> response = http.send(HttpRequest.newBuilder(submit)
                        .timeout(SUBMIT_TIMEOUT)
                        .header("Content-Type", "application/json")
                        .header("Idempotency-Key", key) // a retried submit is the same job
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() == 202 || response.statusCode() == 200) {
                    String jobId = Json.parse(response.body()).get("jobId").asText();
                    if (accepted.putIfAbsent(jobId, type.equals(POISON_TYPE)) == null && duplicate) {
                        // At-least-once delivery, played out: the same job's message a second time, a little later.
                        stack.sqs().sendMessage(r -> r.queueUrl(stack.queueUrl()).delaySeconds(randomInt(6))
                                .messageBody(new JobMessage(jobId, type, Json.parse(input)).toJson()));
                        duplicatesSent.incrementAndGet();
                    }
                    return;
                }
                if (attempt >= 5) {
                    throw new IllegalStateException("submit refused with " + response.statusCode() + ": " + response.body());
                }
            } catch (IOException e) {
                if (attempt >= 5) {
                    throw new UncheckedIOException("submit failed " + attempt + " times", e);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    // Counting

    private int finishedCount() {
        int finished = 0;
        for (Map<String, AttributeValue> item : scanStatuses()) {
            String status = item.get(JobTable.STATUS).s();
            if (status.equals(JobStatus.SUCCEEDED.name()) || status.equals(JobStatus.FAILED.name())) {
                finished++;
            }
        }
        return finished;
    }

    private List<Map<String, AttributeValue>> scanStatuses() {
        List<Map<String, AttributeValue>> items = new ArrayList<>();
        stack.dynamoDb().scanPaginator(r -> r.tableName(stack.tableName())
                        .projectionExpression("#s").expressionAttributeNames(Map.of("#s", JobTable.STATUS)))
                .forEach(page -> items.addAll(page.items()));
        return items;
    }

    private int depth(String queueUrl) {
        Map<QueueAttributeName, String> a = stack.sqs().getQueueAttributes(r -> r.queueUrl(queueUrl).attributeNames(
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE,
                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED)).attributes();
        return a.values().stream().mapToInt(Integer::parseInt).sum();
    }

    /** Every message a queue holds, received once each (hidden for the rest of the run). */
    private List<String> drainJobIds(String queueUrl) {
        List<String> ids = new ArrayList<>();
        for (int empty = 0; empty < 3; ) {
            List<Message> batch = stack.sqs().receiveMessage(r -> r.queueUrl(queueUrl).maxNumberOfMessages(10)
                    .visibilityTimeout(600).waitTimeSeconds(1)).messages();
            if (batch.isEmpty()) {
                empty++;
            }
            for (Message message : batch) {
                try {
                    ids.add(JobMessage.parse(message.body()).jobId());
                } catch (IllegalArgumentException e) {
                    ids.add("(not a job: " + message.messageId() + ")");
                }
            }
        }
        return ids;
    }

    private ChaosReport count(CompletionWitness witness, Duration wall) {
        Map<String, Job> jobs = new HashMap<>();
        stack.dynamoDb().scanPaginator(r -> r.tableName(stack.tableName()).consistentRead(true))
                .forEach(page -> page.items().forEach(item -> {
                    Job job = JobTable.SCHEMA.mapToItem(item);
                    jobs.put(job.jobId(), job);
                }));
        Ledger runs = Ledger.read(ledger);
        List<String> leftInQueue = drainJobIds(stack.queueUrl());
        List<String> inDlq = drainJobIds(stack.deadLetterQueueUrl());
        CompletionWitness.Completions completions = witness.read();
        ChaosReport.Builder report = new ChaosReport.Builder(options.out());
        Set<String> dlqIds = Set.copyOf(inDlq);
        for (Map.Entry<String, Boolean> entry : accepted.entrySet()) {
            String jobId = entry.getKey();
            boolean poison = entry.getValue();
            Job job = jobs.get(jobId);
            int completed = completions.perJob().getOrDefault(jobId, 0);
            report.job(jobId, poison, job, runs.commitsOf(jobId), runs.startsOf(jobId), completed,
                    dlqIds.contains(jobId));
        }
        return report.wall(wall)
                .faults(counters.kills.get(), counters.terms.get(), counters.spotNotices.get(),
                        counters.spotReclaims.get(), counters.sqsOutages.get(), counters.dynamoDbOutages.get(),
                        counters.bothOutages.get(), workerStarts.get(), duplicatesSent.get(),
                        sqsProxy.cutMillis(), dynamoDbProxy.cutMillis())
                .queues(leftInQueue.size(), inDlq.size())
                .seed(options.seed())
                .build();
    }

    /** What the chaos jobs wrote: per job id, the run ids that started and the ones that committed. */
    record Ledger(Map<String, List<String>> starts, Map<String, List<String>> commits) {

        static Ledger read(Path file) {
            Map<String, List<String>> starts = new HashMap<>();
            Map<String, List<String>> commits = new HashMap<>();
            try {
                for (String line : Files.readAllLines(file)) {
                    String[] parts = line.split(" ");
                    if (parts.length != 3) {
                        continue; // a torn line cannot happen with O_APPEND; ignore anything else
                    }
                    (parts[0].equals("start") ? starts : commits).computeIfAbsent(parts[1], k -> new ArrayList<>())
                            .add(parts[2]);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the ledger " + file, e);
            }
            return new Ledger(starts, commits);
        }

        List<String> commitsOf(String jobId) {
            return commits.getOrDefault(jobId, List.of());
        }

        int startsOf(String jobId) {
            return starts.getOrDefault(jobId, List.of()).size();
        }
    }

    private static Thread daemon(String name, Runnable body) {
        Thread thread = new Thread(body, name);
        thread.setDaemon(true);
        return thread;
    }

    static void say(String format, Object... args) {
        System.out.println("chaos " + java.time.LocalTime.now().withNano(0) + " " + String.format(Locale.ROOT, format, args));
        System.out.flush();
    }

    static String joinFirst(List<String> ids, int max) {
        return ids.stream().limit(max).collect(Collectors.joining(" ")) + (ids.size() > max ? " ..." : "");
    }
}
