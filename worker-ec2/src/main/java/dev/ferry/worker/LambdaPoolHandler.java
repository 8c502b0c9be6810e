package dev.ferry.worker;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import dev.ferry.core.AwsClients;
import dev.ferry.core.DynamoDbJobStore;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.JobFiles;
import dev.ferry.core.JobStore;
import dev.ferry.core.logging.LogContext;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;

/**
 * A Lambda pool's function: the worker, with an invocation's batch of messages from the pool's
 * queue for its receive. Lambda's event source mapping receives; each message becomes a
 * {@link JobRun} on a slot of its own, the same run a GPU worker makes (claim by jobId, lease and
 * heartbeat, fenced outcome, back-off by a delayed copy, dead-letter move, a duplicate of a running
 * job put off), so the pool keeps every rule the GPU pools keep.
 *
 * <p>What differs is the acknowledgement: a message the run settles is deleted at once and
 * answered as settled, and every other message of the batch as a batch item failure
 * ({@link BatchAcknowledgements}). A run that could not settle its message (its claim failed, its
 * outcome could not be written, its job runs elsewhere) leaves it out of sight for as long as the
 * run said, to come back then, as on a worker.
 *
 * <p>A job may run only while the invocation has time left to write its outcome: a message that
 * comes with less than {@link #MIN_START} of it left is put back as a fresh copy, unclaimed; a
 * handler still running {@link #OUTCOME_RESERVE} before the function's timeout is stopped and its
 * attempt fails, to be retried after its back-off ({@link InvocationTime}); and the invocation
 * answers {@link #ANSWER_MARGIN} before its end with what is settled by then. A function killed
 * anyway (out of memory) is a worker that died: its jobs' leases run out and their messages come
 * back.
 *
 * <p>Configured as a worker is ({@link WorkerConfig}), by the function's variables, plus the job
 * commands of {@value #WORKER_ENVIRONMENT}: {@code infra/worker.env} in base64, as the GPU workers
 * get it, of which a Lambda pool takes only each type's command, timeout and exit rules (the
 * workers' other settings are theirs). Job types run as a command per job; a warm handler
 * ({@code FERRY_HANDLER_<TYPE>}, Cog, SageMaker) is not a Lambda pool's: its model would load
 * within an invocation's time, once per slot. {@code FERRY_SLOTS} (default {@value #DEFAULT_SLOTS})
 * is how many messages of a batch run at once: the event source's batch size.
 */
public final class LambdaPoolHandler implements RequestHandler<SQSEvent, SQSBatchResponse>, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(LambdaPoolHandler.class);
    /** {@code infra/worker.env} in base64 (as the template's WorkerEnvironment parameter holds it). */
    public static final String WORKER_ENVIRONMENT = "FERRY_WORKER_ENVIRONMENT";
    /** Jobs of one batch run at once where {@code FERRY_SLOTS} is not set: Lambda's largest standard batch. */
    public static final int DEFAULT_SLOTS = 10;
    /**
     * Kept from an invocation's time for what follows a job's handler: its process tree killed (up
     * to twice {@link CommandJobHandler#KILL_GRACE}), its log and result stored, its outcome, its message.
     */
    public static final Duration OUTCOME_RESERVE = Duration.ofSeconds(30);
    /** A message that comes with less of the invocation left than this (beyond the reserve) is not started. */
    static final Duration MIN_START = Duration.ofSeconds(5);
    /** The invocation answers this long before its end, with what is settled by then. */
    static final Duration ANSWER_MARGIN = Duration.ofSeconds(2);
    /** The variables of {@value #WORKER_ENVIRONMENT} a Lambda pool takes: a job type's command, timeout, exit rules. */
    private static final List<String> JOB_VARIABLES = List.of(WorkerConfig.COMMAND_PREFIX, WorkerConfig.TIMEOUT_PREFIX,
            WorkerConfig.JOB_TIMEOUT, ExitRules.VARIABLE);

    private final WorkerConfig config;
    private final SqsClient sqs;
    private final QueueSettings queueSettings;
    private final List<GpuSlot> slots;
    private final InvocationTime handler;
    private final LeaseKeeper leases;
    private final ExecutorService handlerThreads;
    private final ExecutorService runThreads;
    private final JobRun.Context runs;
    private final Clock clock;

    /** As Lambda's runtime makes it: configured by the process environment. */
    public LambdaPoolHandler() {
        this(System.getenv());
    }

    /**
     * @throws IllegalStateException a setting, the queue or the table is not usable (the message
     *     says which): Lambda reports the function's initialization failed
     */
    public LambdaPoolHandler(Map<String, String> environment) {
        Map<String, String> all = functionEnvironment(environment);
        FerryEnv env = FerryEnv.of(all);
        this.clock = Clock.systemUTC();
        this.config = WorkerConfig.from(env);
        this.sqs = AwsClients.sqs(env);
        software.amazon.awssdk.services.dynamodb.DynamoDbClient dynamoDb = AwsClients.dynamoDb(env);
        StackTarget.checkTable(dynamoDb, env.required(FerryEnv.TABLE)); // as a worker does: a Ferry job table, or no start
        JobStore store = DynamoDbJobStore.fromEnvironment(dynamoDb, env);
        this.queueSettings = QueueSettings.read(sqs, config.queueUrl());
        this.slots = GpuSlots.detect(all, () -> Optional.empty());
        Map<String, JobTypes.Spec> types = JobTypes.fromEnvironment(all);
        List<String> warm = types.values().stream().filter(spec -> spec.kind().warm()).map(JobTypes.Spec::name).toList();
        if (!warm.isEmpty()) {
            LOG.warn("job types {} are set as warm handlers, which a Lambda pool does not run: its jobs of those"
                    + " types fail as unknown types; give them a command (FERRY_COMMAND_<TYPE>) or a GPU pool", warm);
        }
        this.handler = new InvocationTime(CommandJobHandler.fromTypes(types, all), clock);
        Duration lease = config.lease(queueSettings);
        Duration heartbeat = config.heartbeat(queueSettings);
        this.leases = new LeaseKeeper(store, clock, lease, heartbeat, 3 * slots.size());
        // Not fixed pools: a run still finishing as its invocation answered keeps its threads, and the next
        // invocation's runs (at most FERRY_SLOTS of them: each takes a slot) must not wait for it.
        this.handlerThreads = Executors.newCachedThreadPool(Worker.named("ferry-handler"));
        this.runThreads = Executors.newCachedThreadPool(Worker.named("ferry-job"));
        JobMetrics metrics = JobMetrics.fromEnvironment(env);
        this.runs = JobRun.Context.of(config, queueSettings, store, handler, leases, handlerThreads, clock,
                JobFiles.fromEnvironment(env), new LookAhead(new RunTimes(), LookAhead.maxHold(lease, heartbeat),
                        System::nanoTime), metrics);
        LOG.info("Lambda pool worker {}: queue {}, {} job(s) of a batch at once, lease {}, heartbeat {},"
                + " maxReceiveCount {}, DLQ {}", config.workerId(), config.queueUrl(), slots.size(), lease, heartbeat,
                queueSettings.maxReceiveCount(), queueSettings.deadLetterQueueUrl());
    }

    /**
     * The variables a pool function runs with: the job types' variables of
     * {@value #WORKER_ENVIRONMENT}, then the function's own over them, and defaults for what a
     * function has no use setting: its worker id (the function's name and this environment's own
     * suffix) and its slots.
     */
    static Map<String, String> functionEnvironment(Map<String, String> environment) {
        Map<String, String> all = new LinkedHashMap<>();
        Optional.ofNullable(environment.get(WORKER_ENVIRONMENT)).filter(value -> !value.isBlank())
                .ifPresent(encoded -> {
                    List<String> ignored = new ArrayList<>();
                    workerEnvironment(encoded).forEach((name, value) -> {
                        if (JOB_VARIABLES.stream().anyMatch(name::startsWith)) {
                            all.put(name, value);
                        } else {
                            ignored.add(name);
                        }
                    });
                    if (!ignored.isEmpty()) {
                        LOG.info("{}: {} are the GPU workers' settings, not a Lambda pool's (it takes job types'"
                                + " commands, timeouts and exit rules)", WORKER_ENVIRONMENT, ignored);
                    }
                });
        all.putAll(environment);
        all.putIfAbsent(WorkerConfig.WORKER_ID, "lambda-" + environment.getOrDefault("AWS_LAMBDA_FUNCTION_NAME", "pool")
                + "-" + UUID.randomUUID().toString().substring(0, 8));
        all.putIfAbsent(WorkerConfig.SLOTS, String.valueOf(DEFAULT_SLOTS));
        return all;
    }

    /**
     * {@code infra/worker.env} from its base64, read as systemd reads it on a GPU worker: a line
     * ending in a backslash goes on on the next; {@code KEY=value} a line, the value to the end of
     * the line with one pair of enclosing quotes removed; blank lines and {@code #} or {@code ;}
     * comments skipped, and (as systemd does, with a warning) a line that is no assignment.
     *
     * @throws IllegalStateException not base64
     */
    static Map<String, String> workerEnvironment(String base64) {
        String text;
        try {
            text = new String(Base64.getMimeDecoder().decode(base64.strip()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(WORKER_ENVIRONMENT + " is not base64 (infra/worker.env, as"
                    + " scripts/deploy.sh encodes it): " + e.getMessage(), e);
        }
        Map<String, String> variables = new LinkedHashMap<>();
        int number = 0;
        StringBuilder continued = new StringBuilder();
        for (String raw : text.split("\r?\n", -1)) {
            number++;
            String stripped = raw.strip();
            if (continued.isEmpty() && (stripped.startsWith("#") || stripped.startsWith(";"))) {
                continue;
            }
            if (stripped.endsWith("\\")) {
                continued.append(stripped, 0, stripped.length() - 1).append(' ');
                continue;
            }
            String trimmed = continued.append(stripped).toString().strip();
            continued.setLength(0);
            if (trimmed.isEmpty()) {
                continue;
            }
            int equals = trimmed.indexOf('=');
            String key = equals < 0 ? "" : trimmed.substring(0, equals).strip();
            if (!key.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                LOG.warn("{} line {} is no KEY=value assignment; ignored, as systemd ignores it: {}", WORKER_ENVIRONMENT,
                        number, trimmed.length() > 80 ? trimmed.substring(0, 80) + "…" : trimmed);
                continue;
            }
            String value = trimmed.substring(equals + 1).strip();
            if (value.length() >= 2 && (value.charAt(0) == '"' || value.charAt(0) == '\'')
                    && value.charAt(value.length() - 1) == value.charAt(0)) {
                value = value.substring(1, value.length() - 1);
            }
            variables.put(key, value);
        }
        return variables;
    }

    /**
     * Runs the batch's messages, at most one per slot at a time, each from claim to its message's
     * fate; answers those not settled as batch item failures.
     */
    @Override
    public synchronized SQSBatchResponse handleRequest(SQSEvent event, Context context) {
        // synchronized: Lambda runs one invocation at a time in an environment; so does this, called otherwise.
        List<SQSEvent.SQSMessage> records = event == null || event.getRecords() == null ? List.of() : event.getRecords();
        Instant now = clock.instant();
        Instant ends = now.plusMillis(context.getRemainingTimeInMillis());
        Instant runUntil = ends.minus(OUTCOME_RESERVE);
        handler.runUntil(runUntil);
        BatchAcknowledgements[] acknowledged = new BatchAcknowledgements[1];
        JobQueue queue = new JobQueue(sqs, config.queueUrl(), queueSettings.deadLetterQueueUrl(), clock,
                deletes -> acknowledged[0] = new BatchAcknowledgements(deletes));
        BatchAcknowledgements acks = acknowledged[0];
        BlockingQueue<GpuSlot> free = new LinkedBlockingQueue<>(slots);
        List<Future<?>> started = new ArrayList<>();
        for (SQSEvent.SQSMessage record : records) {
            Delivery delivery = Delivery.of(message(record), now, queue);
            started.add(runThreads.submit(() -> runOn(free, delivery, runUntil)));
        }
        Instant answerBy = ends.minus(ANSWER_MARGIN);
        for (Future<?> run : started) {
            try {
                run.get(Math.max(0, Duration.between(clock.instant(), answerBy).toMillis()), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break; // what has not settled is answered as failed, and comes back
            } catch (ExecutionException e) {
                LOG.error("a run failed unexpectedly; its message comes back", e.getCause());
            } catch (TimeoutException e) {
                // Still finishing at the invocation's end: answered unsettled. Its message comes back; its record,
                // whatever the run writes of it yet, decides what is done with it then.
                LOG.warn("the invocation ends with a run still finishing; its message is answered unsettled");
            }
        }
        List<String> failed = acks.unsettled(records.stream().map(SQSEvent.SQSMessage::getMessageId).toList());
        if (!failed.isEmpty()) {
            LOG.info("{} of {} message(s) not settled in this invocation; they come back: {}", failed.size(),
                    records.size(), failed);
        }
        return SQSBatchResponse.builder().withBatchItemFailures(failed.stream()
                .map(id -> SQSBatchResponse.BatchItemFailure.builder().withItemIdentifier(id).build()).toList())
                .build();
    }

    /**
     * One message's run on a free slot; none where too little of the invocation is left for one: then
     * the message is put back as a fresh copy, unclaimed, without spending a receive.
     */
    private void runOn(BlockingQueue<GpuSlot> free, Delivery delivery, Instant runUntil) {
        GpuSlot slot;
        try {
            slot = free.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        try {
            if (Duration.between(clock.instant(), runUntil).compareTo(MIN_START) < 0) {
                delivery.queue().requeueFresh(delivery, "too little of the invocation left to run it");
                return;
            }
            new JobRun(delivery, slot, runs, () -> { }).run();
        } catch (RuntimeException e) {
            // Not settled: the message comes back when the visibility its receive or its run set runs out.
            LOG.error("message {}: its run failed: {}", delivery.messageId(), e.toString(), e);
        } finally {
            LogContext.clear();
            free.add(slot);
        }
    }

    /** The event's message as SQS gives it to a worker: the attributes a run reads off it included. */
    static Message message(SQSEvent.SQSMessage record) {
        Map<String, MessageAttributeValue> attributes = new HashMap<>();
        if (record.getMessageAttributes() != null) {
            record.getMessageAttributes().forEach((name, value) -> {
                if (value != null && value.getStringValue() != null) {
                    attributes.put(name, MessageAttributeValue.builder().dataType(value.getDataType())
                            .stringValue(value.getStringValue()).build());
                }
            });
        }
        return Message.builder()
                .messageId(Objects.requireNonNull(record.getMessageId(), "messageId"))
                .receiptHandle(record.getReceiptHandle())
                .body(record.getBody())
                .attributesWithStrings(record.getAttributes() == null ? Map.of() : record.getAttributes())
                .messageAttributes(attributes)
                .build();
    }

    /** Stops the warm handlers and the threads (the local stack, as it stops; Lambda just ends the environment). */
    @Override
    public void close() {
        handler.close();
        leases.close();
        runThreads.shutdownNow();
        handlerThreads.shutdownNow();
    }
}
