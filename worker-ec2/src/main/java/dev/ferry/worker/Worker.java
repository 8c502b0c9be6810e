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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.ChangeMessageVisibilityRequest;
import software.amazon.awssdk.services.sqs.model.DeleteMessageRequest;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;
import software.amazon.awssdk.services.sqs.model.ReceiveMessageRequest;
import software.amazon.awssdk.services.sqs.model.SendMessageRequest;

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
    /** How long a drain waits for given-back jobs to be written back after their deadline. */
    static final Duration GIVE_BACK_TIMEOUT = Duration.ofSeconds(30);
    /** SQS's longest {@code DelaySeconds}. */
    static final Duration MAX_DELAY = Duration.ofMinutes(15);
    /** How long a starting worker keeps trying to reach its queue. */
    static final Duration START_RETRY_LIMIT = Duration.ofMinutes(5);

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
    private final AtomicBoolean draining = new AtomicBoolean();
    private final CountDownLatch drained = new CountDownLatch(1);
    /** When running jobs are given back ({@link System#nanoTime()}); a later drain may only bring it forward. */
    private long drainDeadline = Long.MAX_VALUE;

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
        QueueSettings queue = readQueueSettings(sqs, config.queueUrl());
        return new Worker(sqs, store, CommandJobHandler.fromEnvironment(environment), slots, config, queue,
                Clock.systemUTC());
    }

    /**
     * The queue's settings, read at start; while SQS cannot be reached, tried again with back-off
     * for up to {@link #START_RETRY_LIMIT}, then given up (the process exits, its supervisor starts
     * it again).
     */
    static QueueSettings readQueueSettings(SqsClient sqs, String queueUrl) {
        Backoff backoff = Backoff.withJitter(Duration.ofSeconds(1), MAX_POLL_BACKOFF);
        long deadline = System.nanoTime() + START_RETRY_LIMIT.toNanos();
        for (int failures = 1; ; failures++) {
            try {
                return QueueSettings.read(sqs, queueUrl);
            } catch (SdkException e) {
                Duration pause = backoff.delay(failures);
                if (System.nanoTime() + pause.toNanos() > deadline) {
                    throw new IllegalStateException("cannot read the settings of queue " + queueUrl + " after "
                            + failures + " tries over " + START_RETRY_LIMIT + ": " + e, e);
                }
                LOG.warn("cannot read the settings of queue {} ({} in a row), next try in {} ms: {}", queueUrl,
                        failures, pause.toMillis(), e.toString());
                if (!sleep(pause)) {
                    throw new IllegalStateException("interrupted while starting", e);
                }
            }
        }
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
                for (Message message : messages) {
                    GpuSlot slot = taken.remove(taken.size() - 1);
                    if (!dispatch(message, slot)) {
                        taken.add(slot);
                    }
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
                .messageAttributeNames(JobRun.LAST_ATTEMPT_OF)
                .overrideConfiguration(o -> o.apiCallTimeout(RECEIVE_CALL_TIMEOUT)
                        .apiCallAttemptTimeout(RECEIVE_CALL_TIMEOUT))
                .build()).messages();
    }

    /**
     * Starts a job for the message, or, once the worker is draining, hands the message straight
     * back (as a fresh copy: a machine going away spends no attempt). False when not started.
     */
    private boolean dispatch(Message message, GpuSlot slot) {
        JobRun run = new JobRun(message, slot, this);
        boolean refused;
        synchronized (running) {
            // Checked under the lock the drain gives jobs back under: no job starts after that.
            refused = stopping;
            if (!refused) {
                running.add(run);
            }
        }
        if (refused) {
            requeueFresh(message, "received while the worker drains");
            return false;
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
        return true;
    }

    /** {@link #drain} with {@code FERRY_DRAIN_GRACE}: SIGTERM, a deploy, the local stack closing. */
    @Override
    public void close() {
        drain(config.drainGrace(), "shutdown");
    }

    /**
     * The one drain path, for SIGTERM, a Spot interruption notice and an Auto Scaling
     * termination: stops receiving, lets running jobs finish within {@code grace}, then gives the
     * rest back (the job's message sent again as a fresh copy, so the interruption spends none of
     * its attempts; lease released; the old message deleted) and stops. Returns once done.
     *
     * <p>A second call while a drain runs may bring the deadline forward (a Spot notice during a
     * SIGTERM drain), never back, and returns when the first one is done.
     */
    public void drain(Duration grace, String why) {
        long deadline = System.nanoTime() + Math.max(0, grace.toNanos());
        synchronized (running) {
            if (deadline < drainDeadline) {
                drainDeadline = deadline;
                running.notifyAll();
            }
        }
        if (!draining.compareAndSet(false, true)) {
            if (drained.getCount() == 0) {
                return;
            }
            LOG.info("worker {}: {} during the drain; running jobs given back within {} ms", config.workerId(), why,
                    Math.max(0, grace.toMillis()));
            awaitDrained();
            return;
        }
        stopping = true;
        LOG.info("worker {} draining ({}): no new jobs, {} running, given back after {} ms unless done",
                config.workerId(), why, runningCount(), Math.max(0, grace.toMillis()));
        try {
            synchronized (running) {
                long now;
                while (!running.isEmpty() && (now = System.nanoTime()) < drainDeadline) {
                    running.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(drainDeadline - now)));
                }
                if (!running.isEmpty()) {
                    LOG.info("worker {}: giving back {} running job(s)", config.workerId(), running.size());
                }
                for (JobRun run : running) {
                    run.giveBack();
                }
            }
            jobThreads.shutdown();
            if (!jobThreads.awaitTermination(GIVE_BACK_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("worker {}: jobs still running after they were given back", config.workerId());
            }
            // A receive in progress hands back what it gets (dispatch sees stopping).
            poller.join(Duration.ofSeconds(config.waitSeconds() + 5L).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            jobThreads.shutdownNow();
            handlerThreads.shutdownNow();
            heartbeats.shutdownNow();
            LOG.info("worker {} stopped", config.workerId());
            drained.countDown();
        }
    }

    private void awaitDrained() {
        try {
            drained.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether a drain has begun: the worker takes no new jobs. */
    public boolean draining() {
        return stopping;
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

    /**
     * Sends a copy of {@code message}: same body, the given message attributes, delivered after
     * {@code delay} (at most 15 minutes). A copy starts with a receive count of 0.
     *
     * @return whether SQS took it
     */
    boolean sendCopy(Message message, Map<String, MessageAttributeValue> attributes, Duration delay, String why) {
        long seconds = Math.min(Math.max(0, (delay.toMillis() + 999) / 1000), MAX_DELAY.toSeconds());
        try {
            String copyId = sqs.sendMessage(SendMessageRequest.builder()
                    .queueUrl(config.queueUrl())
                    .messageBody(message.body())
                    .messageAttributes(attributes)
                    .delaySeconds((int) seconds)
                    .build()).messageId();
            LOG.debug("message {} copied as {} (delay {} s): {}", message.messageId(), copyId, seconds, why);
            return true;
        } catch (SdkException e) {
            LOG.warn("could not send a copy of message {} ({}): {}", message.messageId(), why, e.toString());
            return false;
        }
    }

    /** Deletes a message; logs rather than fails (a message that comes back again is handled then). */
    boolean delete(Message message, String jobId) {
        try {
            sqs.deleteMessage(DeleteMessageRequest.builder()
                    .queueUrl(config.queueUrl())
                    .receiptHandle(message.receiptHandle())
                    .build());
            return true;
        } catch (SdkException e) {
            LOG.warn("job {}: could not delete message {}: {}", jobId, message.messageId(), e.toString());
            return false;
        }
    }

    /**
     * Puts a message back without spending its receive: a fresh copy now, then the old one
     * deleted. Where no copy can be sent, it is made visible again instead (which spends one).
     */
    void requeueFresh(Message message, String why) {
        if (sendCopy(message, message.messageAttributes(), Duration.ZERO, why)) {
            delete(message, "-");
        } else {
            changeVisibility(message, Duration.ZERO, why);
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
