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
 * <p>What differs is the acknowledgement: a message the run settles is not deleted by this
 * function but answered as settled, and every other message of the batch as a batch item failure
 * ({@link BatchAcknowledgements}); the mapping deletes the settled ones. A run that could not
 * settle its message (its claim failed, its outcome could not be written, its job runs elsewhere)
 * leaves it out of sight for as long as the run said, to come back then, as on a worker.
 *
 * <p>A job may run only while the invocation has time left to write its outcome: its handler is
 * stopped {@link #OUTCOME_RESERVE} before the function's timeout and the attempt fails, to be
 * retried after its back-off ({@link InvocationTime}). A function killed anyway (out of memory, a
 * timeout) is a worker that died: its jobs' leases run out and their messages come back.
 *
 * <p>Configured as a worker is ({@link WorkerConfig}), plus {@value #WORKER_ENVIRONMENT}:
 * {@code infra/worker.env} in base64, the job commands, as the GPU workers get them; the function's
 * own variables win over it. {@code FERRY_SLOTS} (default {@value #DEFAULT_SLOTS}) is how many
 * messages of a batch run at once: the event source's batch size.
 */
public final class LambdaPoolHandler implements RequestHandler<SQSEvent, SQSBatchResponse>, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(LambdaPoolHandler.class);
    /** {@code infra/worker.env} in base64 (as the template's WorkerEnvironment parameter holds it). */
    public static final String WORKER_ENVIRONMENT = "FERRY_WORKER_ENVIRONMENT";
    /** Jobs of one batch run at once where {@code FERRY_SLOTS} is not set: Lambda's largest standard batch. */
    public static final int DEFAULT_SLOTS = 10;
    /** Kept from an invocation's time for what follows a job's handler: its outcome, its message. */
    public static final Duration OUTCOME_RESERVE = Duration.ofSeconds(10);

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
        this.handler = new InvocationTime(Worker.handlers(all, config), clock);
        Duration lease = config.lease(queueSettings);
        Duration heartbeat = config.heartbeat(queueSettings);
        this.leases = new LeaseKeeper(store, clock, lease, heartbeat, 3 * slots.size());
        this.handlerThreads = Executors.newFixedThreadPool(slots.size(), Worker.named("ferry-handler"));
        this.runThreads = Executors.newFixedThreadPool(slots.size(), Worker.named("ferry-job"));
        JobMetrics metrics = JobMetrics.fromEnvironment(env);
        handler.onRestart(metrics::handlerRestarted);
        this.runs = JobRun.Context.of(config, queueSettings, store, handler, leases, handlerThreads, clock,
                JobFiles.fromEnvironment(env), new LookAhead(new RunTimes(), LookAhead.maxHold(lease, heartbeat),
                        System::nanoTime), metrics);
        LOG.info("Lambda pool worker {}: queue {}, {} job(s) of a batch at once, lease {}, heartbeat {},"
                + " maxReceiveCount {}, DLQ {}", config.workerId(), config.queueUrl(), slots.size(), lease, heartbeat,
                queueSettings.maxReceiveCount(), queueSettings.deadLetterQueueUrl());
    }

    /**
     * The variables a pool function runs with: {@value #WORKER_ENVIRONMENT}'s lines, then the
     * function's own over them, and defaults for what a function has no use setting: its worker id
     * (the function's name and this environment's own suffix) and its slots.
     */
    static Map<String, String> functionEnvironment(Map<String, String> environment) {
        Map<String, String> all = new LinkedHashMap<>();
        Optional.ofNullable(environment.get(WORKER_ENVIRONMENT)).filter(value -> !value.isBlank())
                .ifPresent(encoded -> all.putAll(workerEnvironment(encoded)));
        all.putAll(environment);
        all.putIfAbsent(WorkerConfig.WORKER_ID, "lambda-" + environment.getOrDefault("AWS_LAMBDA_FUNCTION_NAME", "pool")
                + "-" + UUID.randomUUID().toString().substring(0, 8));
        all.putIfAbsent(WorkerConfig.SLOTS, String.valueOf(DEFAULT_SLOTS));
        return all;
    }

    /**
     * {@code infra/worker.env} from its base64: {@code KEY=value} a line, the value to the end of
     * the line with one pair of enclosing quotes removed (as systemd reads the file on a GPU
     * worker); blank lines and {@code #} comments skipped.
     *
     * @throws IllegalStateException not base64, or a line that is not {@code KEY=value}
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
        for (String line : text.split("\r?\n")) {
            number++;
            String trimmed = line.strip();
            if (trimmed.isEmpty() || trimmed.startsWith("#") || trimmed.startsWith(";")) {
                continue;
            }
            int equals = trimmed.indexOf('=');
            String key = equals < 0 ? "" : trimmed.substring(0, equals).strip();
            if (!key.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                throw new IllegalStateException(WORKER_ENVIRONMENT + " line " + number + " is not KEY=value: "
                        + (trimmed.length() > 80 ? trimmed.substring(0, 80) + "…" : trimmed));
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
    public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
        List<SQSEvent.SQSMessage> records = event == null || event.getRecords() == null ? List.of() : event.getRecords();
        Instant now = clock.instant();
        handler.runUntil(now.plusMillis(context.getRemainingTimeInMillis()).minus(OUTCOME_RESERVE));
        BatchAcknowledgements acks = new BatchAcknowledgements();
        JobQueue queue = new JobQueue(sqs, config.queueUrl(), queueSettings.deadLetterQueueUrl(), clock, acks);
        BlockingQueue<GpuSlot> free = new LinkedBlockingQueue<>(slots);
        List<Future<?>> started = new ArrayList<>();
        for (SQSEvent.SQSMessage record : records) {
            Delivery delivery = Delivery.of(message(record), now, queue);
            started.add(runThreads.submit(() -> runOn(free, delivery)));
        }
        for (Future<?> run : started) {
            try {
                run.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break; // what has not settled is answered as failed, and comes back
            } catch (ExecutionException e) {
                LOG.error("a run failed unexpectedly; its message comes back", e.getCause());
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

    /** One message's run on a free slot, its handlers ready first (a warm handler started once per environment). */
    private void runOn(BlockingQueue<GpuSlot> free, Delivery delivery) {
        GpuSlot slot;
        try {
            slot = free.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        try {
            handler.awaitReady(slot);
            new JobRun(delivery, slot, runs, () -> { }).run();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
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
