package dev.ferry.worker;

import dev.ferry.core.AwsClients;
import dev.ferry.core.DynamoDbJobStore;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.JobStore;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.ChangeMessageVisibilityRequest;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;
import software.amazon.awssdk.services.sqs.model.ReceiveMessageRequest;

/**
 * The GPU worker: long-polls the job queue for at most as many messages as it has free slots and
 * runs each through a {@link JobRun} (claim, heartbeat, fenced finish, then delete).
 *
 * <p>Slots are handed out, not counted: a free slot is taken before a receive, travels with the
 * message to its job, and comes back when the job is done. So the worker never holds a message it
 * has no GPU for, and each job knows which GPU is its own.
 */
public final class Worker implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Worker.class);
    /** Longest pause after failed receives in a row. */
    static final Duration MAX_POLL_BACKOFF = Duration.ofSeconds(30);
    /** The long poll's own call timeout: above the 20 s wait. */
    static final Duration RECEIVE_CALL_TIMEOUT = Duration.ofSeconds(35);

    private final SqsClient sqs;
    private final JobStore store;
    private final JobHandler handler;
    private final WorkerConfig config;
    private final QueueSettings queue;
    private final Clock clock;
    private final List<GpuSlot> slots;
    private final BlockingQueue<GpuSlot> freeSlots;
    private final ExecutorService jobThreads;
    private final ExecutorService handlerThreads;
    private final ScheduledExecutorService heartbeats;
    private final Backoff retryBackoff;
    private final Backoff pollBackoff;
    private final Thread poller;
    private final List<JobRun> running = new ArrayList<>();
    private volatile boolean stopping;

    public Worker(SqsClient sqs, JobStore store, JobHandler handler, List<GpuSlot> slots,
                  WorkerConfig config, QueueSettings queue, Clock clock) {
        this.sqs = Objects.requireNonNull(sqs, "sqs");
        this.store = Objects.requireNonNull(store, "store");
        this.handler = Objects.requireNonNull(handler, "handler");
        this.config = Objects.requireNonNull(config, "config");
        this.queue = Objects.requireNonNull(queue, "queue");
        this.clock = Objects.requireNonNull(clock, "clock");
        if (slots.isEmpty()) {
            throw new IllegalArgumentException("a worker needs at least one slot");
        }
        this.slots = List.copyOf(slots);
        this.freeSlots = new LinkedBlockingQueue<>(this.slots);
        this.jobThreads = Executors.newFixedThreadPool(slots.size(), named("ferry-job"));
        this.handlerThreads = Executors.newFixedThreadPool(slots.size(), named("ferry-handler"));
        this.heartbeats = Executors.newSingleThreadScheduledExecutor(named("ferry-heartbeat"));
        this.retryBackoff = Backoff.withJitter(config.retryBase(), config.retryMax());
        this.pollBackoff = Backoff.withJitter(Duration.ofSeconds(1), MAX_POLL_BACKOFF);
        this.poller = named("ferry-poller").newThread(this::pollLoop);
        config.heartbeat(queue); // fail fast on a heartbeat that is not shorter than the lease
    }

    /**
     * A worker configured from the environment: clients, store, slots ({@code FERRY_SLOTS} or
     * {@code nvidia-smi -L}) and the command handler ({@code FERRY_COMMAND_<TYPE>}).
     */
    public static Worker fromEnvironment(Map<String, String> environment) {
        FerryEnv env = FerryEnv.of(environment);
        WorkerConfig config = WorkerConfig.from(env);
        SqsClient sqs = AwsClients.sqs(env);
        JobStore store = DynamoDbJobStore.fromEnvironment(AwsClients.dynamoDb(env), env);
        List<GpuSlot> slots = GpuSlots.detect(environment, GpuSlots.NvidiaSmi.system());
        QueueSettings queue = QueueSettings.read(sqs, config.queueUrl());
        return new Worker(sqs, store, CommandJobHandler.fromEnvironment(environment), slots, config, queue,
                Clock.systemUTC());
    }

    public String workerId() {
        return config.workerId();
    }

    public List<GpuSlot> slots() {
        return slots;
    }

    public void start() {
        LOG.info("worker {} starting: {} slot(s) {}, queue {}, lease {}, heartbeat {}, maxReceiveCount {}",
                config.workerId(), slots.size(), slots.stream().map(GpuSlot::cudaVisibleDevices).toList(),
                config.queueUrl(), config.lease(queue), config.heartbeat(queue), queue.maxReceiveCount());
        poller.start();
    }

    private void pollLoop() {
        int failuresInRow = 0;
        while (!stopping) {
            List<GpuSlot> taken = new ArrayList<>();
            try {
                GpuSlot first = freeSlots.poll(1, TimeUnit.SECONDS);
                if (first == null) {
                    continue;
                }
                taken.add(first);
                freeSlots.drainTo(taken, 9); // SQS returns at most 10 messages per receive
                if (stopping) {
                    break;
                }
                List<Message> messages = receive(taken.size());
                failuresInRow = 0;
                if (stopping) {
                    // Received during the drain: hand them straight back rather than start them.
                    messages.forEach(m -> changeVisibility(m, Duration.ZERO, "worker stopping"));
                    break;
                }
                for (Message message : messages) {
                    GpuSlot slot = taken.remove(taken.size() - 1);
                    dispatch(message, slot);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (SdkException e) {
                failuresInRow++;
                Duration pause = pollBackoff.delay(failuresInRow);
                LOG.warn("receive from {} failed ({} in a row), next try in {} ms: {}", config.queueUrl(),
                        failuresInRow, pause.toMillis(), e.toString());
                if (!sleep(pause)) {
                    break;
                }
            } finally {
                freeSlots.addAll(taken);
            }
        }
        LOG.info("worker {} stopped receiving", config.workerId());
    }

    private List<Message> receive(int max) {
        return sqs.receiveMessage(ReceiveMessageRequest.builder()
                .queueUrl(config.queueUrl())
                .maxNumberOfMessages(max)
                .waitTimeSeconds(config.waitSeconds())
                .messageSystemAttributeNames(MessageSystemAttributeName.APPROXIMATE_RECEIVE_COUNT)
                .overrideConfiguration(o -> o.apiCallTimeout(RECEIVE_CALL_TIMEOUT)
                        .apiCallAttemptTimeout(RECEIVE_CALL_TIMEOUT))
                .build()).messages();
    }

    private void dispatch(Message message, GpuSlot slot) {
        JobRun run = new JobRun(message, slot, this);
        synchronized (running) {
            running.add(run);
        }
        try {
            jobThreads.execute(() -> {
                try {
                    run.run();
                } finally {
                    synchronized (running) {
                        running.remove(run);
                        running.notifyAll();
                    }
                    freeSlots.add(slot);
                }
            });
        } catch (RuntimeException e) {
            synchronized (running) {
                running.remove(run);
            }
            throw e;
        }
    }

    /**
     * Stops receiving, lets running jobs finish within {@code FERRY_DRAIN_GRACE}, then gives the
     * rest back (lease released, message visible again at once) and shuts down.
     */
    @Override
    public void close() {
        if (stopping) {
            return;
        }
        stopping = true;
        LOG.info("worker {} draining: no new jobs, {} running", config.workerId(), runningCount());
        try {
            poller.join(Duration.ofSeconds(config.waitSeconds() + 5L).toMillis());
            long deadline = System.nanoTime() + config.drainGrace().toNanos();
            synchronized (running) {
                while (!running.isEmpty() && System.nanoTime() < deadline) {
                    running.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
                }
                for (JobRun run : running) {
                    run.giveBack();
                }
            }
            jobThreads.shutdown();
            if (!jobThreads.awaitTermination(30, TimeUnit.SECONDS)) {
                LOG.warn("worker {}: jobs still running after they were given back", config.workerId());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            jobThreads.shutdownNow();
            handlerThreads.shutdownNow();
            heartbeats.shutdownNow();
            LOG.info("worker {} stopped", config.workerId());
        }
    }

    int runningCount() {
        synchronized (running) {
            return running.size();
        }
    }

    // What a JobRun needs from its worker.

    SqsClient sqs() { return sqs; }
    JobStore store() { return store; }
    JobHandler handler() { return handler; }
    WorkerConfig config() { return config; }
    QueueSettings queue() { return queue; }
    Clock clock() { return clock; }
    Backoff retryBackoff() { return retryBackoff; }
    ExecutorService handlerThreads() { return handlerThreads; }
    ScheduledExecutorService heartbeats() { return heartbeats; }

    /** Sets a message's visibility; logs rather than fails, since SQS will show it again anyway. */
    void changeVisibility(Message message, Duration timeout, String why) {
        long seconds = Math.min(Math.max(0, (timeout.toMillis() + 999) / 1000), WorkerConfig.MAX_VISIBILITY.toSeconds());
        try {
            sqs.changeMessageVisibility(ChangeMessageVisibilityRequest.builder()
                    .queueUrl(config.queueUrl())
                    .receiptHandle(message.receiptHandle())
                    .visibilityTimeout((int) seconds)
                    .build());
        } catch (SdkException e) {
            LOG.warn("could not set visibility of message {} to {} s ({}): {}", message.messageId(), seconds, why,
                    e.toString());
        }
    }

    private static boolean sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static ThreadFactory named(String prefix) {
        AtomicInteger counter = new AtomicInteger();
        return runnable -> {
            Thread thread = new Thread(runnable, prefix + "-" + counter.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }
}
