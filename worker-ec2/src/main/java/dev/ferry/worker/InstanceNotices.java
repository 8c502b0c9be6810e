package dev.ferry.worker;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Json;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.imds.Ec2MetadataClient;
import software.amazon.awssdk.imds.Ec2MetadataClientException;

/**
 * Watches the instance metadata service (IMDSv2, through the SDK's {@link Ec2MetadataClient}:
 * a session token, then the reads) for the three signs that this machine is going away:
 *
 * <ul>
 *   <li>{@value #SPOT_INSTANCE_ACTION}: a Spot interruption notice, {@code {"action":
 *       "terminate", "time": "..."}}, about two minutes ahead; 404 while there is none;
 *   <li>{@value #TARGET_LIFECYCLE_STATE}: the Auto Scaling group's plan for the instance;
 *       {@code Terminated} (or a warm pool's {@code Warmed:Stopped} / {@code Warmed:Hibernated})
 *       means it is being taken out; 404 outside an Auto Scaling group;
 *   <li>{@value #REBALANCE_RECOMMENDATION}: a rebalance recommendation, a Spot instance's early
 *       sign of elevated risk, which need not be followed by an interruption.
 * </ul>
 *
 * <p>Each kind of notice is reported once. Off EC2 the first request fails to connect: the watch
 * stops with one log line, and start-up never waits for it (it runs on its own thread).
 */
public final class InstanceNotices implements AutoCloseable {

    static final String SPOT_INSTANCE_ACTION = "/latest/meta-data/spot/instance-action";
    static final String TARGET_LIFECYCLE_STATE = "/latest/meta-data/autoscaling/target-lifecycle-state";
    static final String REBALANCE_RECOMMENDATION = "/latest/meta-data/events/recommendations/rebalance";
    /** Lifecycle states that take the instance out of service. */
    static final Set<String> LEAVING_STATES = Set.of("Terminated", "Warmed:Stopped", "Warmed:Hibernated");
    /** IMDS answers on the local link in milliseconds; anything slower is no IMDS. */
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(1);
    static final Duration READ_TIMEOUT = Duration.ofSeconds(2);

    private static final Logger LOG = LoggerFactory.getLogger(InstanceNotices.class);

    /** What the metadata service said. */
    public enum Kind {
        /** A Spot interruption notice: the instance is stopped, hibernated or terminated at {@link Notice#actionTime()}. */
        SPOT_INTERRUPTION,
        /** The Auto Scaling group is taking the instance out of service. */
        AUTOSCALING_TERMINATION,
        /** A rebalance recommendation: elevated risk of a Spot interruption. */
        REBALANCE_RECOMMENDATION
    }

    /**
     * One notice.
     *
     * @param kind what was noticed
     * @param actionTime when the instance goes away, if the notice says so (Spot only), else null
     * @param detail the metadata service's own words, for the log
     */
    public record Notice(Kind kind, Instant actionTime, String detail) {
        public Notice {
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(detail, "detail");
        }

        /**
         * How long running jobs may go on before they are given back, or empty when this notice
         * does not drain the worker (a rebalance recommendation, unless configured to). Spot: the
         * time left until the instance-action time less {@code FERRY_SPOT_MARGIN}, at most
         * {@code FERRY_DRAIN_GRACE}; Auto Scaling: {@code FERRY_DRAIN_GRACE}.
         */
        public Optional<Duration> drainGrace(WorkerConfig config, Instant now) {
            switch (kind) {
                case SPOT_INTERRUPTION: {
                    if (actionTime == null) {
                        return Optional.of(Duration.ZERO);
                    }
                    Duration left = Duration.between(now, actionTime).minus(config.spotMargin());
                    if (left.isNegative()) {
                        return Optional.of(Duration.ZERO);
                    }
                    return Optional.of(left.compareTo(config.drainGrace()) < 0 ? left : config.drainGrace());
                }
                case AUTOSCALING_TERMINATION:
                    return Optional.of(config.drainGrace());
                default:
                    return config.drainOnRebalance() ? Optional.of(config.drainGrace()) : Optional.empty();
            }
        }
    }

    private final Ec2MetadataClient client;
    private final String endpointDescription;
    private final Duration interval;
    private final Clock clock;
    private final Consumer<Notice> listener;
    private final Set<Kind> reported = EnumSet.noneOf(Kind.class);
    private final Thread thread;
    private volatile boolean closed;
    private volatile boolean reachable;
    private boolean inAutoScalingGroup = true;
    private int failuresInRow;

    /**
     * @param client the SDK's metadata client, with its endpoint and retry policy
     * @param endpointDescription where it points, for the log
     * @param interval time between two rounds of reads
     * @param listener told of each notice once, on the watcher's thread
     */
    public InstanceNotices(Ec2MetadataClient client, String endpointDescription, Duration interval, Clock clock,
                           Consumer<Notice> listener) {
        this.client = Objects.requireNonNull(client, "client");
        this.endpointDescription = Objects.requireNonNull(endpointDescription, "endpointDescription");
        this.interval = Objects.requireNonNull(interval, "interval");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.listener = Objects.requireNonNull(listener, "listener");
        if (interval.isZero() || interval.isNegative()) {
            throw new IllegalArgumentException("interval must be positive, got " + interval);
        }
        this.thread = new Thread(this::watch, "ferry-notices");
        this.thread.setDaemon(true);
    }

    /**
     * A watcher configured as {@code config} says, or empty when the watch is off
     * ({@code AWS_EC2_METADATA_DISABLED=true} or {@code FERRY_NOTICE_POLL=0}).
     */
    public static Optional<InstanceNotices> fromConfig(WorkerConfig config, Consumer<Notice> listener) {
        if (config.noticesDisabled()) {
            LOG.info("Spot and Auto Scaling notices are not watched ({}=true or {}=0)", WorkerConfig.METADATA_DISABLED,
                    WorkerConfig.NOTICE_POLL);
            return Optional.empty();
        }
        String where = config.metadataEndpoint().map(Object::toString).orElse("the SDK's default endpoint");
        return Optional.of(new InstanceNotices(metadataClient(config), where, config.noticePoll(), Clock.systemUTC(),
                listener));
    }

    /**
     * The SDK's IMDSv2 client at the configured endpoint, with short timeouts and no retries
     * inside one read (its callers ask again on their own schedule).
     */
    static Ec2MetadataClient metadataClient(WorkerConfig config) {
        Ec2MetadataClient.Builder builder = Ec2MetadataClient.builder()
                .httpClient(UrlConnectionHttpClient.builder()
                        .connectionTimeout(CONNECT_TIMEOUT)
                        .socketTimeout(READ_TIMEOUT)
                        .build())
                .retryPolicy(policy -> policy.numRetries(0));
        config.metadataEndpoint().ifPresent(builder::endpoint);
        return builder.build();
    }

    public InstanceNotices start() {
        thread.start();
        return this;
    }

    /** Whether a read has succeeded: false off EC2 (and before the first round). */
    public boolean reachable() {
        return reachable;
    }

    /** Whether the watch still runs: false once stopped, or given up off EC2. */
    public boolean watching() {
        return thread.isAlive();
    }

    private void watch() {
        while (!closed) {
            try {
                pollOnce();
                if (!reachable) {
                    reachable = true;
                    LOG.info("watching {} every {} for Spot interruption, Auto Scaling termination and rebalance"
                            + " notices", endpointDescription, interval);
                }
                failuresInRow = 0;
            } catch (SdkClientException e) {
                if (!reachable) {
                    // Never reached: not on EC2, or the metadata service is off. Say so once and stop.
                    LOG.info("no instance metadata service at {} ({}): not on EC2 or IMDS is off, so Spot and Auto"
                            + " Scaling notices are not watched", endpointDescription, rootMessage(e));
                    return;
                }
                failuresInRow++;
                if (failuresInRow == 1 || failuresInRow % 60 == 0) {
                    LOG.warn("instance metadata read failed ({} in a row), asking again in {}: {}", failuresInRow,
                            interval, rootMessage(e));
                }
            } catch (RuntimeException e) {
                LOG.warn("instance metadata watch: unexpected {}; asking again in {}", e.toString(), interval);
            }
            try {
                Thread.sleep(interval.toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** One round of reads; each kind of notice is reported once. Visible for tests. */
    void pollOnce() {
        if (!reported.contains(Kind.SPOT_INTERRUPTION)) {
            read(SPOT_INSTANCE_ACTION).ifPresent(body -> report(spotNotice(body)));
        }
        if (inAutoScalingGroup && !reported.contains(Kind.AUTOSCALING_TERMINATION)) {
            Optional<String> state = read(TARGET_LIFECYCLE_STATE);
            if (state.isEmpty()) {
                inAutoScalingGroup = false; // 404: not in an Auto Scaling group; no need to ask again
            } else if (LEAVING_STATES.contains(state.get().strip())) {
                report(new Notice(Kind.AUTOSCALING_TERMINATION, null, "target-lifecycle-state " + state.get().strip()));
            }
        }
        if (!reported.contains(Kind.REBALANCE_RECOMMENDATION)) {
            read(REBALANCE_RECOMMENDATION).ifPresent(body ->
                    report(new Notice(Kind.REBALANCE_RECOMMENDATION, null, body.strip())));
        }
    }

    private Notice spotNotice(String body) {
        Instant time = null;
        try {
            JsonNode node = Json.parse(body);
            JsonNode raw = node.get("time");
            if (raw != null && raw.isTextual()) {
                time = Instant.parse(raw.asText());
            }
        } catch (IllegalArgumentException | DateTimeParseException e) {
            LOG.warn("Spot instance-action notice without a readable time ({}): giving jobs back at once: {}",
                    e.getMessage(), body);
        }
        return new Notice(Kind.SPOT_INTERRUPTION, time, body.strip());
    }

    private void report(Notice notice) {
        reported.add(notice.kind());
        LOG.warn("instance notice: {} ({}), seen at {}", notice.kind(), notice.detail(), clock.instant());
        listener.accept(notice);
    }

    /** The body, or empty on 404 (nothing to say). */
    private Optional<String> read(String path) {
        try {
            return Optional.of(client.get(path).asString());
        } catch (Ec2MetadataClientException e) {
            if (e.statusCode() == 404) {
                return Optional.empty();
            }
            throw e;
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root == e ? e.getMessage() : e.getMessage() + " (" + root + ")";
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        client.close();
    }
}
