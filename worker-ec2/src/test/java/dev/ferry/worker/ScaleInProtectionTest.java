package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.autoscaling.AutoScalingClient;
import software.amazon.awssdk.services.autoscaling.model.AutoScalingException;
import software.amazon.awssdk.services.autoscaling.model.AutoScalingInstanceDetails;
import software.amazon.awssdk.services.autoscaling.model.DescribeAutoScalingInstancesRequest;
import software.amazon.awssdk.services.autoscaling.model.DescribeAutoScalingInstancesResponse;
import software.amazon.awssdk.services.autoscaling.model.SetInstanceProtectionRequest;
import software.amazon.awssdk.services.autoscaling.model.SetInstanceProtectionResponse;

/** Protected while busy, unprotected once idle for a while, never flapping between jobs. */
class ScaleInProtectionTest {

    private static final Duration IDLE = Duration.ofMillis(300);
    private final List<String> calls = new CopyOnWriteArrayList<>();
    private final AtomicInteger failuresToGive = new AtomicInteger();
    private String group = "ferry-workers";

    private final AutoScalingClient autoScaling = new AutoScalingClient() {
        @Override
        public DescribeAutoScalingInstancesResponse describeAutoScalingInstances(DescribeAutoScalingInstancesRequest r) {
            return DescribeAutoScalingInstancesResponse.builder().autoScalingInstances(group == null ? List.of()
                    : List.of(AutoScalingInstanceDetails.builder().instanceId(r.instanceIds().get(0))
                            .autoScalingGroupName(group).build())).build();
        }

        @Override
        public SetInstanceProtectionResponse setInstanceProtection(SetInstanceProtectionRequest request) {
            if (failuresToGive.getAndDecrement() > 0) {
                throw AutoScalingException.builder().statusCode(400).message("Rate exceeded").build();
            }
            calls.add((request.protectedFromScaleIn() ? "protect " : "unprotect ") + request.autoScalingGroupName()
                    + " " + request.instanceIds());
            return SetInstanceProtectionResponse.builder().build();
        }

        @Override
        public String serviceName() {
            return "autoscaling";
        }

        @Override
        public void close() {
        }
    };

    private ScaleInProtection protection() {
        return ScaleInProtection.forInstance(autoScaling, "i-1", IDLE).orElseThrow().start();
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "not within 20 s");
            Thread.sleep(10);
        }
    }

    @Test
    void busyProtects_idleLongEnoughUnprotects() throws Exception {
        ScaleInProtection started = ScaleInProtection.forInstance(autoScaling, "i-1", IDLE).orElseThrow();
        started.accept(1);
        try (ScaleInProtection protection = started.start()) {
            await(protection::isProtected);
            protection.accept(2);
            protection.accept(0);
            await(() -> !protection.isProtected());
        }
        assertEquals(List.of("protect ferry-workers [i-1]", "unprotect ferry-workers [i-1]"), calls);
    }

    @Test
    void backToBackJobs_doNotFlap() throws Exception {
        ScaleInProtection started = ScaleInProtection.forInstance(autoScaling, "i-1", IDLE).orElseThrow();
        started.accept(1);
        try (ScaleInProtection protection = started.start()) {
            await(protection::isProtected);
            for (int i = 0; i < 20; i++) {
                protection.accept(0);
                protection.accept(1);
            }
            Thread.sleep(IDLE.toMillis() * 2);
            assertTrue(protection.isProtected());
        }
        assertEquals(List.of("protect ferry-workers [i-1]"), calls);
    }

    @Test
    void aRestartedWorker_liftsTheProtectionItsPredecessorLeft_onceIdle() throws Exception {
        try (ScaleInProtection ignored = protection()) {
            await(() -> calls.contains("unprotect ferry-workers [i-1]"));
        }
    }

    @Test
    void aFailedCall_isTriedAgain() throws Exception {
        failuresToGive.set(2);
        try (ScaleInProtection protection = protection()) {
            protection.accept(1);
            await(protection::isProtected);
        }
        assertTrue(calls.contains("protect ferry-workers [i-1]"));
    }

    @Test
    void anInstanceInNoGroup_isNotProtected() {
        group = null;
        assertTrue(ScaleInProtection.forInstance(autoScaling, "i-1", IDLE).isEmpty());
    }
}
