package dev.ferry.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.Job;
import dev.ferry.core.JobIds;
import dev.ferry.core.JobMessage;
import dev.ferry.core.JobStatus;
import dev.ferry.core.JobTable;
import dev.ferry.core.Json;
import dev.ferry.local.LocalStack;
import dev.ferry.testkit.CompletionWitness;
import dev.ferry.testkit.FakeImds;
import dev.ferry.testkit.Fault;
import dev.ferry.testkit.FaultKind;
import dev.ferry.testkit.FaultRule;
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
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.streams.DynamoDbStreamsClient;
import software.amazon.awssdk.services.sqs.model.ListMessageMoveTasksResultEntry;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

/**
 * The chaos soak behind {@code scripts/chaos.sh}: the local stack (emulators and API) in this JVM,
 * several real worker processes that reach SQS, DynamoDB and the job files bucket (S3) only through
 * {@link HttpFaultProxy}s, each with its own {@link FakeImds}, the API's functions behind fault
 * proxies of their own, and a fault injector. It submits the jobs through the HTTP API and, while
 * they run:
 *
 * <ul>
 *   <li>kills workers with SIGKILL, stops them with SIGTERM, sends them Spot interruption notices
 *       (and kills them at the notice's time, as EC2 would), cuts them off from SQS, DynamoDB, S3;
 *   <li>makes the workers' SQS and DynamoDB calls lose their response after being applied, be
 *       throttled, answer past the SDK's attempt timeout, or fail with a 500/503, by seeded chance;
 *       their S3 calls the same (a late answer being only late: the S3 client has no attempt timeout);
 *       and the API's writes and sends lose their response or be throttled (the soak's client
 *       retries a submit with the same {@code Idempotency-Key});
 *   <li>expires finished records as DynamoDB's TTL does ({@link TtlReaper}), with a short retention;
 *   <li>sends some messages twice; a share of the jobs always fails, a share writes an output file, a
 *       share prints a result too large for its record (kept by reference in the bucket), a smaller
 *       share does that first on a worker without a bucket (and must fail at once), a share of the
 *       submits holds text SQS refuses;
 *   <li>clicks Redrive DLQ now and then, some of those with the move task made to fail to start.
 * </ul>
 *
 * Then it lets the rest finish and counts, from the ledger the jobs write, the table, the records
 * the reaper deleted, the table's change stream, both queues and the bucket (every result, file and
 * log a record names must be there, holding what it should).
 *
 * <p>The last line printed is the summary, {@code chaos: jobs=... succeeded=... failed=... lost=...
 * double_completed=... stuck=... wrong_status=... preempted=... kills=... by_reference=... files=...
 * logs=... missing_objects=...}; the exit status is 0 only when nothing was lost, completed twice,
 * stuck or misplaced, no object a record names is missing, every poison, oversize, refused job and
 * redrive behaved, and each kind asked for happened. See README, "Faults and the chaos soak", for
 * each figure.
 */
public final class ChaosMain {

    static final String TYPE = "chaos";
    static final String POISON_TYPE = "chaos-poison";
    static final String OVERSIZE_TYPE = "chaos-oversize";
    static final String LEDGER_VARIABLE = "CHAOS_LEDGER";
    /** The output file a chaos job asked for writes: its job id, line after line, cut at the size asked. */
    static final String FILE_NAME = "out.bin";
    /**
     * A chaos job: notes its start in the ledger, says so on stderr (its log), works for
     * {@code sleep} seconds, writes {@link #FILE_NAME} of {@code file} bytes if asked
     * ({@link #fileContent}), notes its commit, prints its run id as the result. Small appends with
     * O_APPEND are atomic, so lines never mix.
     */
    static final String JOB_COMMAND = "input=$(cat); s=$(printf %s \"$input\" | sed -n 's/.*\"sleep\": *\"\\([0-9.]*\\)\".*/\\1/p');"
            + " f=$(printf %s \"$input\" | sed -n 's/.*\"file\": *\"\\([0-9]*\\)\".*/\\1/p');"
            + " run=\"$FERRY_WORKER_ID/$$\"; echo \"start $FERRY_JOB_ID $run\" >> \"$" + LEDGER_VARIABLE + "\";"
            + " echo \"chaos job $FERRY_JOB_ID, run $run: works ${s:-0} s${f:+, writes $f bytes}\" >&2;"
            + " sleep \"${s:-0}\";"
            + " if [ -n \"$f\" ]; then yes \"$FERRY_JOB_ID\" | head -c \"$f\" > \"$FERRY_OUTPUT_DIR/" + FILE_NAME + "\"; fi;"
            + " echo \"commit $FERRY_JOB_ID $run\" >> \"$" + LEDGER_VARIABLE + "\";"
            + " printf '{\"run\":\"%s\"}\\n' \"$run\"";
    /** The largest output file a chaos job writes; sizes are uniform from 1 byte. */
    static final int MAX_FILE_BYTES = 4096;
    /** A poison job: always fails. */
    static final String POISON_COMMAND = "cat >/dev/null; sleep 0.1; echo 'poison: this job always fails' >&2; exit 3";
    /** Characters of an oversize job's input and of its result: together past a DynamoDB item's 400 KB. */
    static final int OVERSIZE_INPUT_CHARS = 200_000;
    static final int OVERSIZE_RESULT_CHARS = 250_000;
    /**
     * An oversize job: prints a valid JSON result within the output limit (256 KiB) that, with its
     * input, cannot be stored in the job's record: {@link #oversizeResult(String)}, made of its job
     * id, so that the object it is stored as can be checked byte for byte. With a bucket it must
     * succeed by reference; on a worker without one it must fail at once, never retried.
     */
    static final String OVERSIZE_COMMAND = "cat >/dev/null; echo \"chaos-oversize job $FERRY_JOB_ID: a result of "
            + OVERSIZE_RESULT_CHARS + " characters\" >&2; printf '{\"jobId\":\"%s\",\"blob\":\"' \"$FERRY_JOB_ID\";"
            + " yes \"$FERRY_JOB_ID\" | tr -d '\\n' | head -c " + OVERSIZE_RESULT_CHARS + "; printf '\"}\\n'";
    /** The workers' timings: short, so that faults and their recovery are many within minutes. */
    static final Map<String, String> WORKER_TIMINGS = Map.ofEntries(
            Map.entry(WorkerConfig.LEASE, "3"),
            Map.entry(WorkerConfig.HEARTBEAT, "1"),
            Map.entry(WorkerConfig.RETRY_BASE, "0.5"),
            Map.entry(WorkerConfig.RETRY_MAX, "2"),
            Map.entry(WorkerConfig.DUPLICATE_DEFER, "3"),
            Map.entry(WorkerConfig.WAIT_SECONDS, "1"),
            Map.entry(WorkerConfig.DRAIN_GRACE, "1"),
            Map.entry(WorkerConfig.NOTICE_POLL, "0.5"),
            Map.entry(WorkerConfig.SPOT_MARGIN, "1"),
            Map.entry(WorkerConfig.JOB_TIMEOUT, "60"),
            // Lingering deletes, as deployed: a worker killed with deletes waiting leaves their
            // messages to come back (the local stack's own workers delete at once).
            Map.entry(WorkerConfig.DELETE_LINGER, "0.5"));
    /** The workers' calls the proxies fault: every one a worker makes on the job's path. */
    static final List<String> WORKER_DYNAMODB_OPERATIONS = List.of("UpdateItem");
    static final List<String> WORKER_SQS_OPERATIONS = List.of("SendMessage", "DeleteMessage", "DeleteMessageBatch",
            "ChangeMessageVisibility", "ReceiveMessage", "GetQueueAttributes");
    /** The API's writes and sends. */
    static final List<String> API_DYNAMODB_OPERATIONS = List.of("PutItem", "UpdateItem", "DeleteItem");
    static final List<String> API_SQS_OPERATIONS = List.of("SendMessage");
    /** The workers' S3 calls: outputs, large results and logs stored; inputs read (a job that names an upload). */
    static final List<String> WORKER_S3_OPERATIONS = List.of("PutObject", "GetObject", "HeadObject");
    /** A slow answer: past the SDK's 4 s attempt timeout, within its 10 s call timeout. */
    static final Duration SLOW_HOLD = Duration.ofSeconds(5);
    /**
     * A slow S3 answer. Core's S3 client has no call or attempt timeout (it moves files of any size),
     * only a 30 s socket timeout: a hold is just a late answer. 4 s is past a worker's lease here
     * (3 s), so storing what a job made outlasts a lease that the heartbeat must keep.
     */
    static final Duration S3_SLOW_HOLD = Duration.ofSeconds(4);
    /** How long the worker without a bucket may take to fail its jobs before the others start. */
    private static final Duration NO_BUCKET_PHASE = Duration.ofSeconds(120);
    private static final Duration SUBMIT_TIMEOUT = Duration.ofSeconds(30);
    /** How often a submit is tried (503, 502, no answer) before the soak gives it up. */
    private static final int SUBMIT_TRIES = 30;

    /** What a planned job is. */
    enum Kind {
        /** Works for a while, notes its run in the ledger, succeeds. */
        CHAOS(TYPE),
        /** Always fails. */
        POISON(POISON_TYPE),
        /** Prints a result too large for its record: stored by reference in the bucket, it succeeds. */
        OVERSIZE(OVERSIZE_TYPE),
        /**
         * The same, run first by a worker without a bucket: it fails at once (and succeeds by
         * reference if a redrive runs it again where there is one).
         */
        OVERSIZE_NO_BUCKET(OVERSIZE_TYPE),
        /** Its input holds text SQS refuses: the API must refuse it and keep nothing. */
        REFUSED(TYPE);

        final String type;

        Kind(String type) {
            this.type = type;
        }
    }

    private final ChaosOptions options;
    private final Random random;
    private final Path ledger;
    private final Path logs;
    private LocalStack stack;
    private HttpFaultProxy sqsProxy;
    private HttpFaultProxy dynamoDbProxy;
    private HttpFaultProxy apiSqsProxy;
    private HttpFaultProxy apiDynamoDbProxy;
    private HttpFaultProxy s3Proxy;
    private TtlReaper reaper;
    private final Slot[] slots;
    private final Map<String, Kind> accepted = new ConcurrentHashMap<>();
    /** Accepted jobs that write an output file: how many bytes. */
    private final Map<String, Integer> fileBytes = new ConcurrentHashMap<>();
    /** Oversize jobs that the worker without a bucket failed at once, as it must; and those it did not. */
    private final Set<String> noBucketFailedAtOnce = ConcurrentHashMap.newKeySet();
    private final List<String> noBucketBad = new CopyOnWriteArrayList<>();
    /** The workers' S3 requests while the fault rules were on. */
    private int s3RequestsUnderFaults;
    private final Set<String> refusedIds = ConcurrentHashMap.newKeySet();
    private final AtomicInteger refusedOk = new AtomicInteger();
    private final List<String> refusedBad = new CopyOnWriteArrayList<>();
    private final List<String> submitsGivenUp = new CopyOnWriteArrayList<>();
    private final AtomicInteger submitRetries = new AtomicInteger();
    private final AtomicInteger workerStarts = new AtomicInteger();
    private final AtomicInteger duplicatesSent = new AtomicInteger();
    private final Counters counters = new Counters();
    private final Redrives redrives = new Redrives();
    private final List<FaultRule> faultRules = new ArrayList<>();
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
        final AtomicInteger s3Outages = new AtomicInteger();
    }

    /** Clicks on Redrive DLQ and what became of them. */
    static final class Redrives {
        final AtomicInteger clicks = new AtomicInteger();
        final AtomicInteger started = new AtomicInteger();
        final AtomicInteger refused = new AtomicInteger();
        final AtomicInteger conflicts = new AtomicInteger();
        final AtomicInteger otherFailures = new AtomicInteger();
        final AtomicInteger refusalsInjected = new AtomicInteger();
        final AtomicInteger competingMoves = new AtomicInteger();
        final AtomicInteger jobsMarked = new AtomicInteger();
        /**
         * When each move task out of the DLQ (the admin's, or a competing one) was last seen running:
         * it may have moved any message that reached the DLQ before then.
         */
        final List<Instant> moveEnds = new CopyOnWriteArrayList<>();
        /** A redrive whose move task was made to fail, answered as if it had started. */
        final List<String> bad = new CopyOnWriteArrayList<>();

        String line() {
            return String.format(Locale.ROOT, "redrives=%d(started=%d,refused=%d,conflict=%d,other=%d)"
                            + " move_task_refusals=%d competing_moves=%d redrive_marked=%d", clicks.get(), started.get(),
                    refused.get(), conflicts.get(), otherFailures.get(), refusalsInjected.get(), competingMoves.get(),
                    jobsMarked.get());
        }

        /** A move task ran after {@code when}. */
        boolean movedSince(Instant when) {
            return when != null && moveEnds.stream().anyMatch(end -> !end.isBefore(when));
        }
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
            say("seed %d: %d jobs, %d workers x %d slots, maxReceiveCount %d, retention %s; output in %s",
                    options.seed(), options.jobs(), options.workers(), options.slots(), options.maxReceiveCount(),
                    options.retention().isZero() ? "default" : options.retention(), options.out());
            Map<String, String> overrides = new LinkedHashMap<>();
            retention().ifPresent(r -> overrides.put(FerryEnv.RETENTION_DAYS, r));
            // The workers' lease is FERRY_LEASE, applied on each receive: the queue keeps the template's
            // visibility timeout, which only a message nobody received through a worker ever uses.
            stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0)
                    .templateParameters(Map.of("MaxReceiveCount", Integer.toString(options.maxReceiveCount())))
                    .environmentOverrides(overrides)
                    .functionEndpoints(this::apiProxy)
                    .build());
            URI dynamoDbEndpoint = URI.create(stack.environment().required(FerryEnv.AWS_ENDPOINT_URL_DYNAMODB));
            try (DynamoDbStreamsClient streams = CompletionWitness.localStreamsClient(dynamoDbEndpoint,
                    stack.environment().required(FerryEnv.AWS_REGION))) {
                CompletionWitness witness = CompletionWitness.enable(stack.dynamoDb(), streams, stack.tableName());
                if (!options.retention().isZero()) {
                    leaveTtlToTheReaper();
                }
                sqsProxy = HttpFaultProxy.start("workers-sqs",
                        URI.create(stack.environment().required(FerryEnv.AWS_ENDPOINT_URL_SQS)));
                dynamoDbProxy = HttpFaultProxy.start("workers-dynamodb", dynamoDbEndpoint);
                // Path-style S3 (AwsClients.s3 with an endpoint): the proxy sees each request's operation.
                s3Proxy = HttpFaultProxy.start("workers-s3",
                        URI.create(stack.environment().required(FerryEnv.AWS_ENDPOINT_URL_S3)));
                soak();
                return count(witness, Duration.ofNanos(System.nanoTime() - started));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } finally {
            if (reaper != null) {
                reaper.stop();
            }
            for (Slot slot : slots) {
                if (slot != null && slot.process != null) {
                    slot.process.kill();
                }
                if (slot != null && slot.imds != null) {
                    slot.imds.close();
                }
            }
            for (HttpFaultProxy proxy : new HttpFaultProxy[] {sqsProxy, dynamoDbProxy, s3Proxy, apiSqsProxy,
                    apiDynamoDbProxy}) {
                if (proxy != null) {
                    proxy.close();
                }
            }
            if (stack != null) {
                stack.close();
            }
        }
    }

    /**
     * DynamoDB Local deletes an expired item within seconds, without a lag and without telling
     * anyone its last state: its TTL is turned off, and {@link TtlReaper} plays DynamoDB's.
     */
    private void leaveTtlToTheReaper() {
        stack.dynamoDb().updateTimeToLive(r -> r.tableName(stack.tableName()).timeToLiveSpecification(t -> t
                .attributeName(JobTable.EXPIRES_AT).enabled(false)));
        var ttl = stack.dynamoDb().describeTimeToLive(r -> r.tableName(stack.tableName())).timeToLiveDescription();
        if (ttl.timeToLiveStatus() != software.amazon.awssdk.services.dynamodb.model.TimeToLiveStatus.DISABLED) {
            throw new IllegalStateException("DynamoDB Local's TTL could not be turned off: " + ttl);
        }
    }

    /** {@code FERRY_RETENTION_DAYS} for the functions and the workers: the retention as ISO-8601, if short. */
    private Optional<String> retention() {
        return options.retention().isZero() ? Optional.empty() : Optional.of(options.retention().toString());
    }

    /** The API's functions reach each emulator through a fault proxy of their own. */
    private URI apiProxy(String variable, URI emulator) {
        if (variable.equals(FerryEnv.AWS_ENDPOINT_URL_SQS)) {
            apiSqsProxy = HttpFaultProxy.start("api-sqs", emulator);
            return apiSqsProxy.endpoint();
        }
        if (variable.equals(FerryEnv.AWS_ENDPOINT_URL_DYNAMODB)) {
            apiDynamoDbProxy = HttpFaultProxy.start("api-dynamodb", emulator);
            return apiDynamoDbProxy.endpoint();
        }
        return emulator;
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
        List<Planned> plan = plan();
        addFaultRules();
        failWithoutBucket(plan.stream().filter(job -> job.kind() == Kind.OVERSIZE_NO_BUCKET).toList());
        for (int i = 0; i < slots.length; i++) {
            slots[i] = new Slot();
            startWorker(slots[i]);
        }
        Thread supervisor = daemon("chaos-supervisor", this::supervise);
        Thread faults = daemon("chaos-faults", this::injectFaults);
        Thread redriver = daemon("chaos-redrive", this::redriveNowAndThen);
        Thread reaperThread = null;
        if (!options.retention().isZero()) {
            reaper = new TtlReaper(stack.dynamoDb(), stack.tableName(), options.reapLag(), options.seed());
            reaperThread = daemon("chaos-ttl", reaper);
            reaperThread.start();
        }
        supervisor.start();
        faults.start();
        redriver.start();

        submitAll(plan.stream().filter(job -> job.kind() != Kind.OVERSIZE_NO_BUCKET).toList());
        say("submitted: %d accepted (%d with a duplicate message), %d refused as they must be, %d given up",
                accepted.size(), duplicatesSent.get(), refusedOk.get(), submitsGivenUp.size());
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
        redriver.join(Duration.ofSeconds(60).toMillis());
        s3RequestsUnderFaults = WORKER_S3_OPERATIONS.stream().mapToInt(s3Proxy::requests).sum();
        removeFaultRules();
        sqsProxy.restore();
        dynamoDbProxy.restore();
        s3Proxy.restore();
        awaitMoveTasks(Duration.ofMinutes(5));
        say("faults stopped; settling (up to %d s)", options.settle().toSeconds());
        // Settled: every job final, and nothing left in the job queue (duplicates, moved messages, copies
        // of jobs whose records expired are all received and deleted, or run, by then).
        long settleDeadline = System.nanoTime() + options.settle().toNanos();
        while (System.nanoTime() < settleDeadline && (finishedCount() < accepted.size() || depth(stack.queueUrl()) > 0)) {
            if (System.nanoTime() - lastReport > Duration.ofSeconds(15).toNanos()) {
                progress(finishedCount());
                lastReport = System.nanoTime();
            }
            Thread.sleep(1_000);
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
        if (reaperThread != null) {
            reaper.stop();
            reaperThread.interrupt();
            reaperThread.join(30_000);
        }
    }

    private void progress(int finished) {
        say("%d/%d final; kills %d, SIGTERMs %d, Spot notices %d, outages %d, redrives %d, reaped %d, workers started %d;"
                        + " injected: %s", finished, accepted.size(), counters.kills.get(), counters.terms.get(),
                counters.spotNotices.get(),
                counters.sqsOutages.get() + counters.dynamoDbOutages.get() + counters.bothOutages.get(),
                redrives.clicks.get(), reaper == null ? 0 : reaper.reaped().size(), workerStarts.get(),
                injectedTotals());
    }

    // Workers

    private synchronized void startWorker(Slot slot) {
        if (slot.imds != null) {
            slot.imds.close();
        }
        slot.imds = FakeImds.start();
        String id = "w" + workerStarts.incrementAndGet();
        slot.reclaimAtNanos = Long.MAX_VALUE;
        slot.process = WorkerProcess.start(id, workerEnvironment(id, slot.imds, true), logs.resolve(id + ".log"));
    }

    /**
     * A worker's whole environment: the queue, the table and, with {@code bucket}, the job files
     * bucket, each reached through its workers' proxy; the S3Proxy credentials of the stack (which
     * ElasticMQ and DynamoDB Local accept too: they take any key); short timings; the soak's job types.
     */
    private Map<String, String> workerEnvironment(String id, FakeImds imds, boolean bucket) {
        FerryEnv stackEnv = stack.environment();
        Map<String, String> env = new LinkedHashMap<>();
        for (String name : List.of("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")) {
            String value = System.getenv(name);
            if (value != null) {
                env.put(name, value);
            }
        }
        env.put(FerryEnv.QUEUE_URL, stack.queueUrl());
        env.put(FerryEnv.TABLE, stack.tableName());
        env.put(FerryEnv.AWS_REGION, stackEnv.required(FerryEnv.AWS_REGION));
        env.put(FerryEnv.AWS_ACCESS_KEY_ID, stackEnv.required(FerryEnv.AWS_ACCESS_KEY_ID));
        env.put(FerryEnv.AWS_SECRET_ACCESS_KEY, stackEnv.required(FerryEnv.AWS_SECRET_ACCESS_KEY));
        env.put(FerryEnv.AWS_ENDPOINT_URL_SQS, sqsProxy.endpoint().toString());
        env.put(FerryEnv.AWS_ENDPOINT_URL_DYNAMODB, dynamoDbProxy.endpoint().toString());
        if (bucket) {
            env.put(FerryEnv.BUCKET, stack.bucketName().orElseThrow(() -> new IllegalStateException(
                    "the local stack has no job files bucket (" + FerryEnv.BUCKET + ")")));
            env.put(FerryEnv.AWS_ENDPOINT_URL_S3, s3Proxy.endpoint().toString());
            stackEnv.optional(FerryEnv.AWS_REQUEST_CHECKSUM_CALCULATION)
                    .ifPresent(value -> env.put(FerryEnv.AWS_REQUEST_CHECKSUM_CALCULATION, value));
        }
        retention().ifPresent(r -> env.put(FerryEnv.RETENTION_DAYS, r));
        env.put(WorkerConfig.METADATA_ENDPOINT, imds.endpoint().toString());
        env.put(WorkerConfig.WORKER_ID, id);
        env.put(WorkerConfig.SLOTS, Integer.toString(options.slots()));
        env.putAll(WORKER_TIMINGS);
        env.put(WorkerConfig.COMMAND_PREFIX + "CHAOS", JOB_COMMAND);
        env.put(WorkerConfig.COMMAND_PREFIX + "CHAOS_POISON", POISON_COMMAND);
        env.put(WorkerConfig.COMMAND_PREFIX + "CHAOS_OVERSIZE", OVERSIZE_COMMAND);
        env.put(LEDGER_VARIABLE, ledger.toAbsolutePath().toString());
        return env;
    }

    /**
     * Before any other worker starts: a worker without a bucket, alone, runs the oversize jobs meant
     * for it, under the proxies' fault rules. Each must end FAILED at once, saying its result is too
     * large and there is no bucket, after one attempt that ran to an outcome (its record's history:
     * one entry, failed). Then it is stopped. Its failures wait in the DLQ for the redrives, which
     * run them where there is a bucket: there they must succeed by reference.
     */
    private void failWithoutBucket(List<Planned> jobs) throws InterruptedException {
        if (jobs.isEmpty()) {
            return;
        }
        FakeImds imds = FakeImds.start();
        String id = "nb" + workerStarts.incrementAndGet();
        WorkerProcess worker = WorkerProcess.start(id, workerEnvironment(id, imds, false), logs.resolve(id + ".log"));
        try {
            submitAll(jobs);
            long deadline = System.nanoTime() + NO_BUCKET_PHASE.toNanos();
            Map<String, Job> failed = new HashMap<>();
            while (System.nanoTime() < deadline) {
                for (Planned job : jobs) {
                    if (accepted.containsKey(job.jobId()) && !failed.containsKey(job.jobId())) {
                        Job record = record(job.jobId());
                        if (record != null && record.status().isFinal()) {
                            failed.put(job.jobId(), record);
                        }
                    }
                }
                if (failed.size() >= jobs.stream().filter(job -> accepted.containsKey(job.jobId())).count()) {
                    break;
                }
                Thread.sleep(250);
            }
            for (Planned job : jobs) {
                if (!accepted.containsKey(job.jobId())) {
                    continue; // given up at submit: counted there
                }
                Job record = failed.get(job.jobId());
                String verdict = record == null ? "not final after " + NO_BUCKET_PHASE.toSeconds() + " s"
                        : noBucketVerdict(record);
                if (verdict == null) {
                    noBucketFailedAtOnce.add(job.jobId());
                } else {
                    noBucketBad.add(job.jobId() + " (on the worker without a bucket: " + verdict + ")");
                }
            }
            say("without a bucket: %d of %d oversize job(s) failed at once, as they must",
                    noBucketFailedAtOnce.size(), jobs.size());
        } finally {
            worker.terminate();
            if (worker.waitFor(Duration.ofSeconds(30)) < 0) {
                worker.kill();
            }
            imds.close();
        }
    }

    /** Null when {@code record} is FAILED as a worker without a bucket must leave it; else what is wrong. */
    static String noBucketVerdict(Job record) {
        List<String> wrong = new ArrayList<>();
        if (record.status() != JobStatus.FAILED) {
            wrong.add("ended " + record.status());
        }
        if (record.error() == null || !record.error().contains("too large") || !record.error().contains("no bucket")) {
            wrong.add("error '" + record.error() + "'");
        }
        List<String> outcomes = record.history().stream().map(dev.ferry.core.AttemptRecord::outcome)
                .filter(outcome -> !outcome.equals(dev.ferry.core.AttemptRecord.GIVEN_BACK)).toList();
        if (!outcomes.equals(List.of(dev.ferry.core.AttemptRecord.FAILED))) {
            wrong.add("attempts that ran to an outcome: " + outcomes);
        }
        return wrong.isEmpty() ? null : String.join("; ", wrong);
    }

    private Job record(String jobId) {
        var item = stack.dynamoDb().getItem(r -> r.tableName(stack.tableName()).consistentRead(true)
                .key(Map.of(JobTable.JOB_ID, AttributeValue.fromS(jobId)))).item();
        return item == null || item.isEmpty() ? null : JobTable.SCHEMA.mapToItem(item);
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

    /**
     * The proxies' rules, by seeded chance, each with a random of its own: on the workers' calls,
     * lost responses, throttling, slow answers and server errors (half before the call is applied,
     * half after); the same on their S3 calls, at rates of their own; on the API's writes and sends,
     * lost responses and throttling.
     */
    private void addFaultRules() {
        long seed = options.seed();
        for (HttpFaultProxy proxy : List.of(sqsProxy, dynamoDbProxy)) {
            String[] operations = (proxy == sqsProxy ? WORKER_SQS_OPERATIONS : WORKER_DYNAMODB_OPERATIONS)
                    .toArray(String[]::new);
            seed = seed * 31 + 1;
            rule(proxy, operations, options.loseResponse(), seed + 1, Fault.loseResponse());
            rule(proxy, operations, options.throttle(), seed + 2, Fault.throttle());
            rule(proxy, operations, options.slow(), seed + 3, Fault.slow(SLOW_HOLD));
            rule(proxy, operations, options.serverError() / 2, seed + 4, Fault.serverErrorBefore(500));
            rule(proxy, operations, options.serverError() / 2, seed + 5, Fault.serverErrorAfter(503));
        }
        for (HttpFaultProxy proxy : List.of(apiSqsProxy, apiDynamoDbProxy)) {
            String[] operations = (proxy == apiSqsProxy ? API_SQS_OPERATIONS : API_DYNAMODB_OPERATIONS)
                    .toArray(String[]::new);
            seed = seed * 31 + 1;
            rule(proxy, operations, options.apiLoseResponse(), seed + 1, Fault.loseResponse());
            rule(proxy, operations, options.apiThrottle(), seed + 2, Fault.throttle());
        }
        String[] s3Operations = WORKER_S3_OPERATIONS.toArray(String[]::new);
        seed = seed * 31 + 1;
        rule(s3Proxy, s3Operations, options.s3LoseResponse(), seed + 1, Fault.loseResponse());
        rule(s3Proxy, s3Operations, options.s3Throttle(), seed + 2, Fault.throttle());
        rule(s3Proxy, s3Operations, options.s3Slow(), seed + 3, Fault.slow(S3_SLOW_HOLD));
        rule(s3Proxy, s3Operations, options.s3ServerError() / 2, seed + 4, Fault.serverErrorBefore(500));
        rule(s3Proxy, s3Operations, options.s3ServerError() / 2, seed + 5, Fault.serverErrorAfter(503));
    }

    private void rule(HttpFaultProxy proxy, String[] operations, double probability, long seed, Fault fault) {
        if (probability > 0) {
            faultRules.add(proxy.add(FaultRule.on(operations).probability(probability, seed).then(fault)));
        }
    }

    private void removeFaultRules() {
        for (HttpFaultProxy proxy : List.of(sqsProxy, dynamoDbProxy, s3Proxy, apiSqsProxy, apiDynamoDbProxy)) {
            faultRules.forEach(proxy::remove);
        }
    }

    private void injectFaults() {
        long now = System.nanoTime();
        long nextKill = next(now, options.killEvery());
        long nextSpot = next(now, options.spotEvery());
        long nextTerm = next(now, options.termEvery());
        long nextOutage = next(now, options.outageEvery());
        long outageEnds = Long.MAX_VALUE;
        long nextS3Outage = next(now, options.s3OutageEvery());
        long s3OutageEnds = Long.MAX_VALUE;
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
            // The bucket on a schedule of its own: what a finished job made is stored for up to a lease,
            // then the attempt is left to come back.
            if (s3OutageEnds == Long.MAX_VALUE && now >= nextS3Outage) {
                s3Proxy.cut();
                counters.s3Outages.incrementAndGet();
                long lengthMillis = 1_000 + (long) (randomDouble() * Math.max(0, options.outageLength().toMillis() - 1_000));
                s3OutageEnds = now + lengthMillis * 1_000_000;
            }
            if (now >= s3OutageEnds) {
                s3Proxy.restore();
                s3OutageEnds = Long.MAX_VALUE;
                nextS3Outage = next(now, options.s3OutageEvery());
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** A random live worker that has been up for a moment (one that never got to start proves little). */
    private synchronized Optional<Slot> victim() {
        List<Slot> alive = new ArrayList<>();
        for (Slot slot : slots) {
            if (slot.process.isAlive() && slot.reclaimAtNanos == Long.MAX_VALUE) {
                alive.add(slot);
            }
        }
        return alive.isEmpty() ? Optional.empty() : Optional.of(alive.get(randomInt(alive.size())));
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

    /** Faults injected so far by all five proxies, per kind. */
    private String injectedTotals() {
        Map<FaultKind, Integer> totals = new LinkedHashMap<>();
        for (HttpFaultProxy proxy : List.of(sqsProxy, dynamoDbProxy, s3Proxy, apiSqsProxy, apiDynamoDbProxy)) {
            for (FaultKind kind : FaultKind.values()) {
                totals.merge(kind, proxy.injected(kind), Integer::sum);
            }
        }
        return totals.entrySet().stream().map(e -> e.getKey().name().toLowerCase(Locale.ROOT) + "=" + e.getValue())
                .collect(Collectors.joining(" "));
    }

    // Redrive DLQ

    /** While the faults go on: Redrive DLQ through the admin API now and then, some made to fail to start. */
    private void redriveNowAndThen() {
        if (options.redriveEvery().isZero()) {
            return;
        }
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        long nextRedrive = next(System.nanoTime(), options.redriveEvery());
        while (faultsOn) {
            if (System.nanoTime() >= nextRedrive) {
                // The share asked for, spread evenly from the first click on, refusals and competing tasks by turns.
                int click = redrives.clicks.get() + 1;
                boolean failing = Math.ceil(click * options.redriveRefused()) > Math.ceil((click - 1) * options.redriveRefused());
                int failingSoFar = (int) Math.ceil((click - 1) * options.redriveRefused());
                boolean refuse = failing && failingSoFar % 2 == 0;
                boolean compete = failing && !refuse;
                try {
                    redriveOnce(http, refuse, compete);
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException e) {
                    redrives.otherFailures.incrementAndGet();
                    say("redrive: %s", e);
                }
                nextRedrive = next(System.nanoTime(), options.redriveEvery());
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * One click on Redrive DLQ. {@code refuse}: SQS refuses the move task (AccessDenied at the API's
     * SQS proxy); {@code compete}: a move task out of the DLQ, slow, is started first, so the admin's
     * cannot start. Either way every job must stay FAILED with its message in the DLQ.
     */
    private void redriveOnce(HttpClient http, boolean refuse, boolean compete) throws InterruptedException {
        redrives.clicks.incrementAndGet();
        FaultRule refusal = null;
        if (refuse) {
            refusal = apiSqsProxy.add(FaultRule.on("StartMessageMoveTask").next(1).then(Fault.refuse(403,
                    "AccessDenied", "User is not authorized to perform: sqs:startmessagemovetask (chaos soak)")));
        }
        if (compete) {
            try {
                stack.sqs().startMessageMoveTask(r -> r.sourceArn(deadLetterQueueArn()).maxNumberOfMessagesPerSecond(1));
                redrives.competingMoves.incrementAndGet();
            } catch (SdkException e) {
                say("redrive: the competing move task did not start either: %s", e.getMessage());
            }
        }
        Instant clicked = Instant.now();
        int status;
        String body;
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(stack.apiEndpoint().resolve("/admin/api/redrive"))
                    .timeout(Duration.ofSeconds(60))
                    .header("Authorization", "Bearer " + stack.adminToken())
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            status = response.statusCode();
            body = response.body();
        } catch (IOException e) {
            status = -1;
            body = e.toString();
        } finally {
            if (refusal != null) {
                apiSqsProxy.remove(refusal);
            }
        }
        boolean refusalFired = refusal != null && refusal.injected() > 0;
        if (refusalFired) {
            redrives.refusalsInjected.incrementAndGet();
        }
        if (status == 202) {
            JsonNode answer = Json.parse(body);
            redrives.started.incrementAndGet();
            redrives.jobsMarked.addAndGet(answer.path("requeuedJobs").asInt());
            // With several pools a redrive is a move task per pool: one refused while another started is a
            // 202 that names the refused pool's failure; a 202 that hides it says a redrive started that did not.
            if (refusalFired && answer.path("failed").isEmpty()) {
                redrives.bad.add("redrive at " + clicked + ": its move task was refused, yet it answered 202 without"
                        + " saying so: " + body);
            } else if (refusalFired) {
                redrives.refused.incrementAndGet();
            }
        } else if (status == 409) {
            redrives.conflicts.incrementAndGet();
        } else if (refusalFired && status >= 400) {
            redrives.refused.incrementAndGet();
        } else {
            // A 503 (the table throttled all of the SDK's tries) or no answer: nothing is promised but consistency.
            redrives.otherFailures.incrementAndGet();
        }
        say("redrive%s: %d %s", refuse ? " (move task refused)" : compete ? " (a move task already running)" : "",
                status, body.length() > 200 ? body.substring(0, 200) + "..." : body);
        awaitMoveTasks(Duration.ofMinutes(2)); // whatever started: when it was last seen running
    }

    private String dlqArn;
    /** Move tasks seen ended, by their start time. */
    private final Set<Long> endedTasks = ConcurrentHashMap.newKeySet();

    private synchronized String deadLetterQueueArn() {
        if (dlqArn == null) {
            dlqArn = stack.sqs().getQueueAttributes(r -> r.queueUrl(stack.deadLetterQueueUrl())
                    .attributeNames(QueueAttributeName.QUEUE_ARN)).attributes().get(QueueAttributeName.QUEUE_ARN);
        }
        return dlqArn;
    }

    /**
     * Waits for the move task out of the DLQ that still runs (if any) to end, and notes a time by
     * which every task seen had ended: the last time it was seen running, or, for one that had
     * ended when first seen, the time it was seen so.
     */
    private void awaitMoveTasks(Duration atMost) throws InterruptedException {
        long deadline = System.nanoTime() + atMost.toNanos();
        while (true) {
            Instant asked = Instant.now();
            List<ListMessageMoveTasksResultEntry> tasks = stack.sqs().listMessageMoveTasks(r -> r
                    .sourceArn(deadLetterQueueArn()).maxResults(10)).results();
            for (ListMessageMoveTasksResultEntry task : tasks) {
                if ("RUNNING".equals(task.status()) || endedTasks.add(task.startedTimestamp())) {
                    redrives.moveEnds.add(asked);
                }
            }
            if (tasks.stream().noneMatch(t -> "RUNNING".equals(t.status()))) {
                return;
            }
            if (System.nanoTime() > deadline) {
                say("a move task out of the DLQ still runs after %d s", atMost.toSeconds());
                return;
            }
            Thread.sleep(500);
        }
    }

    // Submitting

    /** What to submit: every job's kind, duration, duplicate, key. Decided up front from the seed. */
    private List<Planned> plan() {
        int n = options.jobs();
        List<Kind> kinds = new ArrayList<>(Collections.nCopies(n, Kind.CHAOS));
        int at = 0;
        for (Map.Entry<Kind, Double> share : List.of(Map.entry(Kind.POISON, options.poison()),
                Map.entry(Kind.OVERSIZE, options.oversize()), Map.entry(Kind.OVERSIZE_NO_BUCKET, options.oversizeNoBucket()),
                Map.entry(Kind.REFUSED, options.refused()))) {
            // An exact number of each (at least one when asked for), spread by the shuffle below.
            int count = share.getValue() == 0 ? 0 : Math.max(1, (int) Math.round(n * share.getValue()));
            for (int i = 0; i < count && at < n; i++) {
                kinds.set(at++, share.getKey());
            }
        }
        Collections.shuffle(kinds, new Random(random.nextLong()));
        // An exact number of the plain jobs write a file (at least one when asked for).
        List<Integer> plain = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (kinds.get(i) == Kind.CHAOS) {
                plain.add(i);
            }
        }
        Collections.shuffle(plain, new Random(random.nextLong()));
        int writers = options.files() == 0 || plain.isEmpty() ? 0
                : Math.min(plain.size(), Math.max(1, (int) Math.round(plain.size() * options.files())));
        Set<Integer> writing = new java.util.HashSet<>(plain.subList(0, writers));
        List<Planned> plan = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            boolean duplicate = randomDouble() < options.duplicates();
            long sleepMillis = 50 + (long) (randomDouble() * Math.max(0, options.maxJob().toMillis() - 50));
            int file = writing.contains(i) ? 1 + randomInt(MAX_FILE_BYTES) : 0;
            plan.add(new Planned(kinds.get(i), String.format(Locale.ROOT, "%d.%03d", sleepMillis / 1000,
                    sleepMillis % 1000), duplicate, "chaos-" + options.seed() + "-" + i, randomInt(4), file));
        }
        return plan;
    }

    /** One job to submit; {@code variant} picks the refused text; {@code file}: bytes of output file to write, or 0. */
    record Planned(Kind kind, String sleep, boolean duplicate, String key, int variant, int file) {
        /** The body, exactly as sent (JSON escapes written out where the text needs them). */
        String body() {
            String input = switch (kind) {
                case CHAOS -> "{\"sleep\":\"" + sleep + "\"" + (file > 0 ? ",\"file\":\"" + file + "\"" : "") + "}";
                case POISON -> "{\"sleep\":\"" + sleep + "\"}";
                case OVERSIZE, OVERSIZE_NO_BUCKET -> "{\"pad\":\"" + "p".repeat(OVERSIZE_INPUT_CHARS) + "\"}";
                case REFUSED -> switch (variant) {
                    case 0 -> "{\"sleep\":\"" + sleep + "\",\"text\":\"ok \\uffff here\"}"; // an escape: U+FFFF
                    case 1 -> "{\"sleep\":\"" + sleep + "\",\"text\":\"ok \uFFFF here\"}"; // the character itself
                    case 2 -> "{\"sleep\":\"" + sleep + "\",\"text\":[\"fine\",\"lone \\ud800 surrogate\"]}";
                    default -> "{\"sleep\":\"" + sleep + "\",\"text\":\"reversed \\ufffe bom\"}";
                };
            };
            return "{\"type\":\"" + kind.type + "\",\"input\":" + input + "}";
        }

        String jobId() {
            return JobIds.forIdempotencyKey("", key); // the local API has no API keys: the scope is empty
        }
    }

    /** What {@link #OVERSIZE_COMMAND} prints for {@code jobId}, as the worker keeps it (compact JSON). */
    static String oversizeResult(String jobId) {
        return "{\"jobId\":\"" + jobId + "\",\"blob\":\"" + repeated(jobId, OVERSIZE_RESULT_CHARS) + "\"}";
    }

    /** What {@link #JOB_COMMAND} writes into {@link #FILE_NAME} for {@code jobId}: {@code yes <jobId> | head -c bytes}. */
    static String fileContent(String jobId, int bytes) {
        return repeated(jobId + "\n", bytes);
    }

    private static String repeated(String text, int length) {
        return text.repeat(length / text.length() + 1).substring(0, length);
    }

    private void submitAll(List<Planned> plan) throws InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        URI submit = stack.apiEndpoint().resolve("/jobs");
        ExecutorService submitters = Executors.newFixedThreadPool(4);
        try {
            for (Planned job : plan) {
                submitters.execute(() -> {
                    if (job.kind() == Kind.REFUSED) {
                        submitRefused(http, submit, job);
                    } else {
                        submitOne(http, submit, job);
                    }
                });
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

    /**
     * Submits as a client would: on a 503 or 502, or no answer at all, the same request again with
     * the same {@code Idempotency-Key}, after a pause. Accepted only on a 202 (or a replay's 200).
     */
    private void submitOne(HttpClient http, URI submit, Planned job) {
        String body = job.body();
        long pauseMillis = 200;
        String last = "";
        for (int attempt = 1; attempt <= SUBMIT_TRIES; attempt++) {
            try {
                HttpResponse<String> response = post(http, submit, job.key(), body);
                int status = response.statusCode();
                if (status == 202 || status == 200) {
                    String jobId = Json.parse(response.body()).get("jobId").asText();
                    if (!jobId.equals(job.jobId())) {
                        throw new IllegalStateException("job " + job.key() + " was accepted as " + jobId
                                + ", not as its Idempotency-Key's id " + job.jobId());
                    }
                    if (job.file() > 0) {
                        fileBytes.put(jobId, job.file());
                    }
                    if (accepted.putIfAbsent(jobId, job.kind()) == null && job.duplicate()) {
                        // At-least-once delivery, played out: the same job's message a second time, a little later.
                        JobMessage message = new JobMessage(jobId, job.kind().type, Json.parse(body).get("input"));
                        stack.sqs().sendMessage(r -> r.queueUrl(stack.queueUrl()).delaySeconds(randomInt(6))
                                .messageBody(message.toJson()));
                        duplicatesSent.incrementAndGet();
                    }
                    return;
                }
                last = status + " " + response.body();
                if (status != 503 && status != 502) {
                    break;
                }
            } catch (IOException e) {
                last = e.toString();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            submitRetries.incrementAndGet();
            try {
                Thread.sleep(pauseMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            pauseMillis = Math.min(5_000, pauseMillis * 2);
        }
        submitsGivenUp.add(job.key() + " (" + (last.length() > 200 ? last.substring(0, 200) : last) + ")");
    }

    /** A submit whose input SQS would refuse: a 400 that names the field, and nothing kept. */
    private void submitRefused(HttpClient http, URI submit, Planned job) {
        refusedIds.add(job.jobId());
        try {
            HttpResponse<String> response = post(http, submit, job.key(), job.body());
            String error = response.body();
            if (response.statusCode() != 400 || !error.contains("input.text")) {
                refusedBad.add(job.jobId() + " (answered " + response.statusCode() + ": " + error + ")");
                return;
            }
            HttpResponse<String> get = http.send(HttpRequest.newBuilder(stack.apiEndpoint().resolve("/jobs/" + job.jobId()))
                    .timeout(SUBMIT_TIMEOUT).GET().build(), HttpResponse.BodyHandlers.ofString());
            if (get.statusCode() != 404) {
                refusedBad.add(job.jobId() + " (refused, but GET /jobs/{id} answered " + get.statusCode() + ")");
                return;
            }
            refusedOk.incrementAndGet();
        } catch (IOException e) {
            refusedBad.add(job.jobId() + " (no answer: " + e + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static HttpResponse<String> post(HttpClient http, URI submit, String key, String body)
            throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(submit)
                .timeout(SUBMIT_TIMEOUT)
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", key) // a retried submit is the same job
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    // Counting

    /** Accepted jobs whose record is final (SUCCEEDED, FAILED, CANCELLED), in the table or reaped so. */
    private int finishedCount() {
        Set<String> finished = new java.util.HashSet<>();
        for (Map<String, AttributeValue> item : scanStatuses()) {
            String jobId = item.get(JobTable.JOB_ID).s();
            if (accepted.containsKey(jobId) && JobStatus.valueOf(item.get(JobTable.STATUS).s()).isFinal()) {
                finished.add(jobId);
            }
        }
        if (reaper != null) {
            reaper.reaped().forEach((jobId, reaped) -> {
                if (accepted.containsKey(jobId) && reaped.job().status().isFinal()) {
                    finished.add(jobId);
                }
            });
        }
        return finished.size();
    }

    private List<Map<String, AttributeValue>> scanStatuses() {
        List<Map<String, AttributeValue>> items = new ArrayList<>();
        stack.dynamoDb().scanPaginator(r -> r.tableName(stack.tableName())
                        .projectionExpression("#id, #s")
                        .expressionAttributeNames(Map.of("#id", JobTable.JOB_ID, "#s", JobTable.STATUS)))
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

    /** Every message a queue holds, received once each (hidden for the rest of the run): job id → messages. */
    private Map<String, Integer> drainJobIds(String queueUrl) {
        Map<String, Integer> ids = new HashMap<>();
        for (int empty = 0; empty < 3; ) {
            List<Message> batch = stack.sqs().receiveMessage(r -> r.queueUrl(queueUrl).maxNumberOfMessages(10)
                    .visibilityTimeout(600).waitTimeSeconds(1)).messages();
            if (batch.isEmpty()) {
                empty++;
            }
            for (Message message : batch) {
                String id;
                try {
                    id = JobMessage.parse(message.body()).jobId();
                } catch (IllegalArgumentException e) {
                    id = "(not a job: " + message.messageId() + ")";
                }
                ids.merge(id, 1, Integer::sum);
            }
        }
        return ids;
    }

    private ChaosReport count(CompletionWitness witness, Duration wall) {
        int hidden = depth(stack.queueUrl());
        Map<String, Job> jobs = new HashMap<>();
        stack.dynamoDb().scanPaginator(r -> r.tableName(stack.tableName()).consistentRead(true))
                .forEach(page -> page.items().forEach(item -> {
                    Job job = JobTable.SCHEMA.mapToItem(item);
                    jobs.put(job.jobId(), job);
                }));
        Map<String, TtlReaper.Reaped> reaped = reaper == null ? Map.of() : reaper.reaped();
        Ledger runs = Ledger.read(ledger);
        Map<String, Integer> inQueue = drainJobIds(stack.queueUrl());
        Map<String, Integer> inDlq = drainJobIds(stack.deadLetterQueueUrl());
        CompletionWitness.Completions completions = witness.read();
        String bucket = stack.bucketName().orElseThrow();
        Map<String, Long> objects = new HashMap<>();
        stack.s3().listObjectsV2Paginator(r -> r.bucket(bucket).prefix("jobs/")).contents()
                .forEach(object -> objects.put(object.key(), object.size()));
        ChaosReport.Builder report = new ChaosReport.Builder(options.out())
                .objects(new ChaosReport.StoredObjects() {
                    @Override
                    public java.util.OptionalLong size(String key) {
                        Long size = objects.get(key);
                        return size == null ? java.util.OptionalLong.empty() : java.util.OptionalLong.of(size);
                    }

                    @Override
                    public byte[] read(String key) {
                        return stack.s3().getObjectAsBytes(r -> r.bucket(bucket).key(key)).asByteArray();
                    }
                })
                .noBucket(noBucketFailedAtOnce, noBucketBad)
                .expecting(options.oversize() > 0, options.oversizeNoBucket() > 0, options.files() > 0)
                .neverHappened(s3NeverHappened());
        for (Map.Entry<String, Kind> entry : accepted.entrySet()) {
            String jobId = entry.getKey();
            Job record = jobs.get(jobId);
            TtlReaper.Reaped copy = record == null ? reaped.get(jobId) : null;
            Instant finishedAt = record != null ? record.finishedAt() : copy == null ? null : copy.job().finishedAt();
            report.job(new ChaosReport.Seen(jobId, entry.getValue(), record, copy == null ? null : copy.job(),
                    runs.commitsOf(jobId), runs.startsOf(jobId), completions.perJob().getOrDefault(jobId, 0),
                    completions.history(jobId), inQueue.getOrDefault(jobId, 0), inDlq.getOrDefault(jobId, 0),
                    redrives.movedSince(finishedAt), fileBytes.getOrDefault(jobId, 0)));
        }
        for (String jobId : refusedIds) {
            if (jobs.containsKey(jobId) || reaped.containsKey(jobId) || inQueue.containsKey(jobId)
                    || inDlq.containsKey(jobId)) {
                refusedBad.add(jobId + " (refused, yet its record or a message of it is there at the end)");
            }
        }
        List<String> proxies = new ArrayList<>();
        for (HttpFaultProxy proxy : List.of(sqsProxy, dynamoDbProxy, s3Proxy, apiSqsProxy, apiDynamoDbProxy)) {
            proxies.add("proxy " + proxy.summary());
        }
        return report.wall(wall)
                .faults(String.format(Locale.ROOT, "faults: kills=%d sigterms=%d spot_notices=%d spot_reclaims=%d"
                                + " outages_sqs=%d outages_dynamodb=%d outages_both=%d cut_sqs=%.1fs cut_dynamodb=%.1fs"
                                + " outages_s3=%d cut_s3=%.1fs duplicates_sent=%d worker_starts=%d %s %s submit_retries=%d",
                        counters.kills.get(), counters.terms.get(), counters.spotNotices.get(),
                        counters.spotReclaims.get(), counters.sqsOutages.get(), counters.dynamoDbOutages.get(),
                        counters.bothOutages.get(), sqsProxy.cutMillis() / 1000.0, dynamoDbProxy.cutMillis() / 1000.0,
                        counters.s3Outages.get(), s3Proxy.cutMillis() / 1000.0,
                        duplicatesSent.get(), workerStarts.get(), injectedTotals(), redrives.line(),
                        submitRetries.get()), counters.kills.get())
                .proxies(proxies)
                .queues(inQueue.values().stream().mapToInt(Integer::intValue).sum(),
                        inDlq.values().stream().mapToInt(Integer::intValue).sum(), hidden)
                .refused(refusedOk.get(), refusedBad)
                .submitsGivenUp(submitsGivenUp)
                .redrivesBad(redrives.bad)
                .reaped(reaped.size())
                .seed(options.seed())
                .build();
    }

    /**
     * The S3 faults that cannot have gone missing by chance: none at all through the workers' S3
     * proxy (the workers would not be using the bucket), or a fault kind that its rate expected at
     * least 10 times over the requests seen while the rules were on (the chance of none is then
     * below 1 in 20000) and that never fired (its rule named operations the proxy never saw).
     */
    private List<String> s3NeverHappened() {
        List<String> never = new ArrayList<>();
        if (s3RequestsUnderFaults == 0) {
            never.add("an S3 call from a worker through the workers-s3 proxy while the faults were on");
        }
        for (Map.Entry<FaultKind, Double> rate : List.of(Map.entry(FaultKind.LOSE_RESPONSE, options.s3LoseResponse()),
                Map.entry(FaultKind.THROTTLE, options.s3Throttle()), Map.entry(FaultKind.SLOW, options.s3Slow()),
                Map.entry(FaultKind.SERVER_ERROR, options.s3ServerError()))) {
            double expected = rate.getValue() * s3RequestsUnderFaults;
            if (expected >= 10 && s3Proxy.injected(rate.getKey()) == 0) {
                never.add(String.format(Locale.ROOT, "an S3 %s (%.0f expected of %d requests)",
                        rate.getKey().name().toLowerCase(Locale.ROOT), expected, s3RequestsUnderFaults));
            }
        }
        return never;
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
