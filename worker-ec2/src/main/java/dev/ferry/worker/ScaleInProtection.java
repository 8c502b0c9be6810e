package dev.ferry.worker;

import dev.ferry.core.AwsClients;
import dev.ferry.core.AwsErrors;
import dev.ferry.core.FerryEnv;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.imds.Ec2MetadataClient;
import software.amazon.awssdk.services.autoscaling.AutoScalingClient;
import software.amazon.awssdk.services.autoscaling.model.AutoScalingInstanceDetails;

/**
 * Keeps Auto Scaling from choosing this instance for scale-in while it runs jobs: protected as
 * soon as it holds one, unprotected once it has been idle for {@link #UNPROTECT_AFTER_IDLE} (so
 * that back-to-back jobs do not make it flap). Target tracking scales in whichever instance its
 * termination policy picks; without this, a busy one can be chosen, and its jobs are given back
 * and start again from scratch elsewhere.
 *
 * <p>The calls run on a thread of their own and never hold up a job; one that fails is logged and
 * tried again with back-off. Off EC2, or on an instance in no Auto Scaling group, it is off (one
 * log line). The role needs {@code autoscaling:SetInstanceProtection} on its own group and
 * {@code autoscaling:DescribeAutoScalingInstances} (to learn the group from the instance id).
 */
public final class ScaleInProtection implements IntConsumer, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ScaleInProtection.class);
    /** {@code false} turns the protection off; default on wherever the instance is in a group. */
    public static final String ENABLED = "FERRY_SCALE_IN_PROTECTION";
    /** The SDK's own name for an Auto Scaling endpoint override. */
    public static final String ENDPOINT = "AWS_ENDPOINT_URL_AUTO_SCALING";
    /** How long the worker stays protected once it is idle. */
    public static final Duration UNPROTECT_AFTER_IDLE = Duration.ofSeconds(10);
    static final Duration RETRY_BASE = Duration.ofSeconds(1);
    static final Duration RETRY_MAX = Duration.ofMinutes(1);

    private final AutoScalingClient autoScaling;
    private final String instanceId;
    private final String groupName;
    private final Duration unprotectAfterIdle;
    private final Clock clock;
    private final Thread thread;
    private int busy;
    private Instant idleSince;
    /** Null until the first call: a restarted worker may find its instance still protected by its predecessor. */
    private Boolean protectedNow;
    private boolean closed;

    ScaleInProtection(AutoScalingClient autoScaling, String instanceId, String groupName, Duration unprotectAfterIdle,
                      Clock clock) {
        this.autoScaling = Objects.requireNonNull(autoScaling, "autoScaling");
        this.instanceId = Objects.requireNonNull(instanceId, "instanceId");
        this.groupName = Objects.requireNonNull(groupName, "groupName");
        this.unprotectAfterIdle = Objects.requireNonNull(unprotectAfterIdle, "unprotectAfterIdle");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.idleSince = clock.instant();
        this.thread = new Thread(this::loop, "ferry-scale-in-protection");
        this.thread.setDaemon(true);
    }

    /**
     * Finds this instance and its Auto Scaling group (the instance id from the metadata service,
     * the group from {@code DescribeAutoScalingInstances}); empty off EC2, outside a group, or when
     * turned off. Takes up to a few seconds: call it off the start-up path.
     */
    public static Optional<ScaleInProtection> discover(WorkerConfig config, FerryEnv env) {
        if (env.optional(ENABLED).map(v -> v.equalsIgnoreCase("false")).orElse(false)) {
            LOG.info("scale-in protection is off ({}=false)", ENABLED);
            return Optional.empty();
        }
        if (config.metadataDisabled()) {
            LOG.info("scale-in protection is off: no instance metadata service ({}=true)", WorkerConfig.METADATA_DISABLED);
            return Optional.empty();
        }
        String instanceId;
        try (Ec2MetadataClient metadata = InstanceNotices.metadataClient(config)) {
            instanceId = metadata.get("/latest/meta-data/instance-id").asString().strip();
        } catch (RuntimeException e) {
            LOG.info("scale-in protection is off: no instance metadata service ({}); not on EC2", e.getMessage());
            return Optional.empty();
        }
        AutoScalingClient autoScaling = AwsClients.configure(AutoScalingClient.builder(), env, ENDPOINT).build();
        Optional<ScaleInProtection> protection = forInstance(autoScaling, instanceId, UNPROTECT_AFTER_IDLE);
        if (protection.isEmpty()) {
            autoScaling.close();
        }
        return protection;
    }

    /**
     * The protection of {@code instanceId}, in the group {@code DescribeAutoScalingInstances} says
     * it is in; empty when it is in none, or the group cannot be read.
     */
    public static Optional<ScaleInProtection> forInstance(AutoScalingClient autoScaling, String instanceId,
                                                          Duration unprotectAfterIdle) {
        try {
            Optional<String> group = autoScaling.describeAutoScalingInstances(r -> r.instanceIds(instanceId))
                    .autoScalingInstances().stream().map(AutoScalingInstanceDetails::autoScalingGroupName).findFirst();
            if (group.isEmpty()) {
                LOG.info("scale-in protection is off: instance {} is in no Auto Scaling group", instanceId);
                return Optional.empty();
            }
            LOG.info("scale-in protection on: instance {} in group {}, protected while it runs jobs", instanceId,
                    group.get());
            return Optional.of(new ScaleInProtection(autoScaling, instanceId, group.get(), unprotectAfterIdle,
                    Clock.systemUTC()));
        } catch (SdkException e) {
            LOG.warn("scale-in protection is off: could not find instance {}'s Auto Scaling group: {}", instanceId,
                    AwsErrors.describe(e));
            return Optional.empty();
        }
    }

    public ScaleInProtection start() {
        thread.start();
        return this;
    }

    /** The worker now holds {@code jobs} jobs. Only notes it; the calls happen on the protection's thread. */
    @Override
    public synchronized void accept(int jobs) {
        if (jobs == 0 && busy > 0) {
            idleSince = clock.instant();
        }
        busy = jobs;
        notifyAll();
    }

    /** Whether the instance is protected as far as this worker knows (its last call succeeded). */
    public synchronized boolean isProtected() {
        return Boolean.TRUE.equals(protectedNow);
    }

    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            notifyAll();
        }
        try {
            thread.join(Duration.ofSeconds(5).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        autoScaling.close();
    }

    private void loop() {
        Backoff backoff = Backoff.withJitter(RETRY_BASE, RETRY_MAX);
        int failures = 0;
        while (true) {
            boolean want;
            synchronized (this) {
                while (true) {
                    if (closed) {
                        return;
                    }
                    if (busy > 0 && !Boolean.TRUE.equals(protectedNow)) {
                        want = true;
                        break;
                    }
                    if (busy == 0 && !Boolean.FALSE.equals(protectedNow)) {
                        Duration idleFor = Duration.between(idleSince, clock.instant());
                        if (idleFor.compareTo(unprotectAfterIdle) >= 0) {
                            want = false;
                            break;
                        }
                        waitQuietly(unprotectAfterIdle.minus(idleFor));
                    } else {
                        waitQuietly(Duration.ZERO);
                    }
                }
            }
            try {
                autoScaling.setInstanceProtection(r -> r.autoScalingGroupName(groupName).instanceIds(instanceId)
                        .protectedFromScaleIn(want));
                synchronized (this) {
                    protectedNow = want;
                }
                failures = 0;
                LOG.info("instance {} {} scale-in", instanceId, want ? "protected from" : "no longer protected from");
            } catch (SdkException e) {
                failures++;
                Duration pause = backoff.delay(failures);
                LOG.warn("could not {} instance {} ({} in a row), next try in {} ms: {}", want ? "protect" : "unprotect",
                        instanceId, failures, pause.toMillis(), AwsErrors.describe(e));
                synchronized (this) {
                    waitQuietly(pause);
                }
            }
        }
    }

    /** Waits on this object's monitor; zero waits until notified. Must hold the monitor. */
    private void waitQuietly(Duration duration) {
        try {
            wait(duration.isZero() ? 0 : Math.max(1, duration.toMillis()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closed = true;
        }
    }
}
