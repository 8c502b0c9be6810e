package dev.ferry.worker;

import dev.ferry.core.FerryEnv;
import dev.ferry.core.Pools;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

/**
 * The worker's settings, read once from the environment. The queue's own visibility timeout and
 * {@code maxReceiveCount} are read from the queue itself at start (see {@link QueueSettings}), so
 * the worker cannot disagree with the template about them.
 */
public final class WorkerConfig {

    /** Jobs run at once on a machine without GPUs; unset: one per GPU that {@code nvidia-smi -L} lists. */
    public static final String SLOTS = "FERRY_SLOTS";
    /** Prefix: {@code FERRY_COMMAND_<TYPE>} is the command line that runs a job of that type. */
    public static final String COMMAND_PREFIX = "FERRY_COMMAND_";
    /** Prefix: {@code FERRY_TIMEOUT_<TYPE>} is how long a job of that type may run. */
    public static final String TIMEOUT_PREFIX = "FERRY_TIMEOUT_";
    /** How long a job may run when its type has no timeout of its own; default 1 hour. */
    public static final String JOB_TIMEOUT = "FERRY_JOB_TIMEOUT";
    /** This worker's name in leases; default host name, pid and a random suffix. */
    public static final String WORKER_ID = "FERRY_WORKER_ID";
    /** How long a lease (and the message's visibility) lasts past each heartbeat; default: the queue's visibility timeout. */
    public static final String LEASE = "FERRY_LEASE";
    /** How often a running job's lease and visibility are extended; default a third of the lease. */
    public static final String HEARTBEAT = "FERRY_HEARTBEAT";
    /** First retry delay after a failed attempt; doubles per attempt. */
    public static final String RETRY_BASE = "FERRY_RETRY_BASE";
    /** Longest retry delay. */
    public static final String RETRY_MAX = "FERRY_RETRY_MAX";
    /** How long a duplicate message of a job running elsewhere is put out of sight. */
    public static final String DUPLICATE_DEFER = "FERRY_DUPLICATE_DEFER";
    /**
     * The high-priority lane's queue (optional; {@link Pools#PRIORITY_QUEUE_URL}): received from
     * first, redriving to the same dead-letter queue as the job queue.
     */
    public static final String PRIORITY_QUEUE_URL = Pools.PRIORITY_QUEUE_URL;
    /** Long-poll wait per receive, seconds, 0-20. */
    public static final String WAIT_SECONDS = "FERRY_WAIT_SECONDS";
    /** On shutdown, how long running jobs may take to finish before they are given back. */
    public static final String DRAIN_GRACE = "FERRY_DRAIN_GRACE";
    /** How long a finished job's delete may wait to share a DeleteMessageBatch (0: sent at once). */
    public static final String DELETE_LINGER = "FERRY_DELETE_LINGER";
    public static final Duration DEFAULT_DELETE_LINGER = Duration.ofSeconds(1);
    public static final Duration MAX_DELETE_LINGER = Duration.ofSeconds(10);
    /**
     * How often the instance metadata service is asked for a Spot interruption notice, a
     * rebalance recommendation or an Auto Scaling termination; 0 turns the watch off.
     */
    public static final String NOTICE_POLL = "FERRY_NOTICE_POLL";
    /**
     * On a Spot interruption notice: how long before the instance-action time every running job
     * must have been given back. Jobs may finish until then (at most {@code FERRY_DRAIN_GRACE}).
     */
    public static final String SPOT_MARGIN = "FERRY_SPOT_MARGIN";
    /** {@code true}: a rebalance recommendation drains the worker like a termination; default: logged only. */
    public static final String DRAIN_ON_REBALANCE = "FERRY_DRAIN_ON_REBALANCE";
    /** Where jobs and warm handlers get directories of their own; default a folder in the system's temp directory. */
    public static final String WORK_DIR = "FERRY_WORK_DIR";
    /** The SDK's own name: the instance metadata service's endpoint (default {@code http://169.254.169.254}). */
    public static final String METADATA_ENDPOINT = "AWS_EC2_METADATA_SERVICE_ENDPOINT";
    /** The SDK's own name: {@code true} means there is no instance metadata service to ask. */
    public static final String METADATA_DISABLED = "AWS_EC2_METADATA_DISABLED";

    public static final Duration DEFAULT_RETRY_BASE = Duration.ofSeconds(10);
    public static final Duration DEFAULT_RETRY_MAX = Duration.ofMinutes(15);
    public static final Duration DEFAULT_DUPLICATE_DEFER = Duration.ofMinutes(10);
    public static final int DEFAULT_WAIT_SECONDS = 20;
    public static final Duration DEFAULT_DRAIN_GRACE = Duration.ofSeconds(90);
    public static final Duration DEFAULT_NOTICE_POLL = Duration.ofSeconds(5);
    public static final Duration DEFAULT_SPOT_MARGIN = Duration.ofSeconds(30);
    /** SQS's ceiling for a message's delay: a retry is sent again with the back-off as its delay. */
    public static final Duration MAX_RETRY_DELAY = Duration.ofMinutes(15);
    /** The shortest lease that works: SQS counts visibility in whole seconds. */
    public static final Duration MIN_LEASE = Duration.ofSeconds(1);
    /**
     * The longest lease: a vanished worker's job waits this long to be taken over, and each
     * heartbeat asks SQS for this much more visibility, which it grants for 12 hours at most.
     */
    public static final Duration MAX_LEASE = Duration.ofHours(1);

    private final String queueUrl;
    private final Optional<String> priorityQueueUrl;
    private final Optional<RetryElsewhere> retryElsewhere;
    private final String workerId;
    private final Optional<Duration> lease;
    private final Optional<Duration> heartbeat;
    private final Duration retryBase;
    private final Duration retryMax;
    private final Duration duplicateDefer;
    private final int waitSeconds;
    private final Duration drainGrace;
    private final Duration deleteLinger;
    private final Duration noticePoll;
    private final Duration spotMargin;
    private final boolean drainOnRebalance;
    private final Optional<URI> metadataEndpoint;
    private final boolean metadataDisabled;
    private final java.nio.file.Path workDir;

    private WorkerConfig(FerryEnv env) {
        this.queueUrl = queueUrl(env);
        this.priorityQueueUrl = priorityQueueUrl(env);
        if (priorityQueueUrl.isPresent() && priorityQueueUrl.get().equals(queueUrl)) {
            throw new IllegalStateException("the high-priority lane (" + PRIORITY_QUEUE_URL + " or the pool's "
                    + "FERRY_POOL_<P>_PRIORITY_QUEUE_URL) is the job queue itself, " + queueUrl
                    + "; the lane must be a queue of its own");
        }
        this.retryElsewhere = RetryElsewhere.fromEnvironment(env, queueUrl);
        this.workerId = env.optional(WORKER_ID).orElseGet(WorkerConfig::defaultWorkerId);
        this.workDir = env.optional(WORK_DIR).map(java.nio.file.Path::of).orElseGet(() -> java.nio.file.Path.of(
                System.getProperty("java.io.tmpdir"), "ferry-" + workerId.replaceAll("[^A-Za-z0-9._-]", "_")));
        this.lease = env.optional(LEASE).map(raw -> positive(LEASE, FerryEnv.parseDuration(LEASE, raw)));
        this.heartbeat = env.optional(HEARTBEAT).map(raw -> positive(HEARTBEAT, FerryEnv.parseDuration(HEARTBEAT, raw)));
        this.retryBase = positive(RETRY_BASE, env.duration(RETRY_BASE, DEFAULT_RETRY_BASE));
        this.retryMax = env.duration(RETRY_MAX, DEFAULT_RETRY_MAX);
        if (retryMax.compareTo(retryBase) < 0 || retryMax.compareTo(MAX_RETRY_DELAY) > 0) {
            throw new IllegalStateException(RETRY_MAX + " must be between " + RETRY_BASE + " (" + retryBase
                    + ") and 15 minutes (a retry is its message sent again with SQS's DelaySeconds), but is "
                    + retryMax);
        }
        this.duplicateDefer = positive(DUPLICATE_DEFER, env.duration(DUPLICATE_DEFER, DEFAULT_DUPLICATE_DEFER));
        this.waitSeconds = env.intValue(WAIT_SECONDS, DEFAULT_WAIT_SECONDS);
        if (waitSeconds < 0 || waitSeconds > 20) {
            throw new IllegalStateException(WAIT_SECONDS + " must be 0-20, but is " + waitSeconds);
        }
        this.drainGrace = env.duration(DRAIN_GRACE, DEFAULT_DRAIN_GRACE);
        this.deleteLinger = env.duration(DELETE_LINGER, DEFAULT_DELETE_LINGER);
        if (deleteLinger.isNegative() || deleteLinger.compareTo(MAX_DELETE_LINGER) > 0) {
            throw new IllegalStateException(DELETE_LINGER + " must be 0-10 s, but is " + deleteLinger);
        }
        this.noticePoll = env.duration(NOTICE_POLL, DEFAULT_NOTICE_POLL);
        this.spotMargin = env.duration(SPOT_MARGIN, DEFAULT_SPOT_MARGIN);
        this.drainOnRebalance = bool(env, DRAIN_ON_REBALANCE);
        this.metadataEndpoint = env.optional(METADATA_ENDPOINT).map(raw -> {
            try {
                URI uri = new URI(raw);
                if (uri.getScheme() == null || uri.getHost() == null) {
                    throw new URISyntaxException(raw, "not an absolute http URL");
                }
                return uri;
            } catch (URISyntaxException e) {
                throw new IllegalStateException(METADATA_ENDPOINT + " must be a URL such as http://169.254.169.254,"
                        + " but is '" + raw + "'", e);
            }
        });
        this.metadataDisabled = bool(env, METADATA_DISABLED);
    }

    private static boolean bool(FerryEnv env, String name) {
        String raw = env.optional(name).orElse("false").toLowerCase(java.util.Locale.ROOT);
        if (!raw.equals("true") && !raw.equals("false")) {
            throw new IllegalStateException(name + " must be true or false, but is '" + raw + "'");
        }
        return raw.equals("true");
    }

    public static WorkerConfig from(FerryEnv env) {
        return new WorkerConfig(Objects.requireNonNull(env, "env"));
    }

    private static Duration positive(String name, Duration value) {
        if (value.isZero() || value.isNegative()) {
            throw new IllegalStateException(name + " must be positive, but is " + value);
        }
        return value;
    }

    private static String defaultWorkerId() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            host = "unknown-host";
        }
        String pid = ManagementFactory.getRuntimeMXBean().getName().split("@")[0];
        return host + "-" + pid + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    public String queueUrl() { return queueUrl; }

    /**
     * {@code FERRY_QUEUE_URL} if set; else, in a deployment with pools ({@value Pools#POOLS}), the
     * queue of the pool this worker serves ({@code FERRY_POOL}, which must then be one of them).
     */
    static String queueUrl(FerryEnv env) {
        Optional<String> direct = env.optional(FerryEnv.QUEUE_URL);
        if (direct.isPresent() || env.optional(Pools.POOLS).isEmpty()) {
            return env.required(FerryEnv.QUEUE_URL);
        }
        return servedPool(env).queueUrl();
    }

    /**
     * The high-priority lane this worker receives from first ({@link Lanes}), if its pool has one:
     * {@value #PRIORITY_QUEUE_URL} if set; else, where {@code FERRY_QUEUE_URL} is unset in a
     * deployment with pools, its pool's {@code FERRY_POOL_<P>_PRIORITY_QUEUE_URL}. (A worker given
     * its queue directly is given its lane directly too: the pool's lane may not be its queue's.)
     */
    public Optional<String> priorityQueueUrl() { return priorityQueueUrl; }

    /** The pool's rule for retrying an attempt that failed a certain way on another pool, if it has one. */
    public Optional<RetryElsewhere> retryElsewhere() { return retryElsewhere; }

    static Optional<String> priorityQueueUrl(FerryEnv env) {
        Optional<String> direct = env.optional(PRIORITY_QUEUE_URL);
        if (direct.isPresent() || env.optional(FerryEnv.QUEUE_URL).isPresent() || env.optional(Pools.POOLS).isEmpty()) {
            return direct;
        }
        return servedPool(env).priorityQueueUrl();
    }

    /** The pool this worker serves, in a deployment with pools ({@code FERRY_POOL}). */
    private static Pools.Pool servedPool(FerryEnv env) {
        Pools pools = Pools.from(env);
        String pool = env.optional(FerryEnv.POOL).orElseThrow(() -> new IllegalStateException(FerryEnv.POOL
                + " is not set: this deployment has pools (" + pools.all().stream().map(Pools.Pool::name).toList()
                + ") and a worker serves one of them; set " + FerryEnv.POOL + " or " + FerryEnv.QUEUE_URL));
        return pools.pool(pool).orElseThrow(() -> new IllegalStateException(FerryEnv.POOL + " is " + pool
                + ", which is none of this deployment's pools " + pools.all().stream().map(Pools.Pool::name).toList()));
    }
    /** Where jobs and warm handlers get directories of their own. */
    public java.nio.file.Path workDir() { return workDir; }
    public String workerId() { return workerId; }
    /**
     * The lease length: configured, or else the queue's visibility timeout; applied to each
     * message as it is received.
     *
     * @throws IllegalStateException outside {@link #MIN_LEASE}..{@link #MAX_LEASE}; the message
     *     names where the value came from
     */
    public Duration lease(QueueSettings queue) {
        Duration length = lease.orElse(queue.visibilityTimeout());
        if (length.compareTo(MIN_LEASE) < 0 || length.compareTo(MAX_LEASE) > 0) {
            String source = lease.isPresent() ? LEASE : "the job queue's VisibilityTimeout (template parameter"
                    + " VisibilityTimeoutSeconds; or set " + LEASE + ")";
            throw new IllegalStateException(source + " is " + length.toSeconds() + " s; the lease must be "
                    + MIN_LEASE.toSeconds() + " s to " + MAX_LEASE.toSeconds() + " s");
        }
        return length;
    }
    public Duration heartbeat(QueueSettings queue) {
        Duration leaseLength = lease(queue);
        Duration beat = heartbeat.orElse(leaseLength.dividedBy(3));
        if (beat.compareTo(leaseLength) >= 0) {
            throw new IllegalStateException(HEARTBEAT + " (" + beat + ") must be shorter than the lease (" + leaseLength + ")");
        }
        return beat;
    }
    public Duration retryBase() { return retryBase; }
    public Duration retryMax() { return retryMax; }
    public Duration duplicateDefer() { return duplicateDefer; }
    public int waitSeconds() { return waitSeconds; }
    public Duration drainGrace() { return drainGrace; }

    /**
     * How long a delete may linger: {@value #DELETE_LINGER} (1 s by default), but never more than
     * half of what a running job's message keeps out of sight between two heartbeats (lease less
     * heartbeat), so a finished job's message is deleted before it could be seen again.
     */
    public Duration deleteLinger(QueueSettings queue) {
        Duration bound = LookAhead.maxHold(lease(queue), heartbeat(queue)); // the look-ahead's own bound
        return deleteLinger.compareTo(bound) > 0 ? bound : deleteLinger;
    }
    /** How often notices are polled; zero when the watch is off. */
    public Duration noticePoll() { return noticePoll; }
    public Duration spotMargin() { return spotMargin; }
    public boolean drainOnRebalance() { return drainOnRebalance; }
    /** The metadata service's endpoint when configured; else the SDK's default. */
    public Optional<URI> metadataEndpoint() { return metadataEndpoint; }
    /** {@code AWS_EC2_METADATA_DISABLED=true}: there is no instance metadata service to ask. */
    public boolean metadataDisabled() { return metadataDisabled; }
    /** No metadata service to ask: {@code AWS_EC2_METADATA_DISABLED=true} or {@code FERRY_NOTICE_POLL=0}. */
    public boolean noticesDisabled() { return metadataDisabled || noticePoll.isZero(); }
}
