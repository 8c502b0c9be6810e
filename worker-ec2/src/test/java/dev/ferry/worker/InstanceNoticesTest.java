package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.FerryEnv;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.imds.Ec2MetadataClient;
import software.amazon.awssdk.imds.Ec2MetadataClientException;
import software.amazon.awssdk.imds.Ec2MetadataResponse;

class InstanceNoticesTest {

    private static final Instant NOW = Instant.parse("2026-11-22T08:00:00Z");

    /** Answers from a map; 404 for anything else; counts the reads of each path. */
    private static final class FakeMetadata implements Ec2MetadataClient {
        final Map<String, String> answers = new HashMap<>();
        final Map<String, Integer> reads = new HashMap<>();

        @Override
        public Ec2MetadataResponse get(String path) {
            reads.merge(path, 1, Integer::sum);
            String answer = answers.get(path);
            if (answer == null) {
                throw Ec2MetadataClientException.builder().statusCode(404).message("404").build();
            }
            return Ec2MetadataResponse.create(answer);
        }

        @Override
        public void close() {
        }
    }

    private static WorkerConfig config(Map<String, String> extra) {
        Map<String, String> env = new HashMap<>(extra);
        env.put(FerryEnv.QUEUE_URL, "http://localhost:9324/000000000000/ferry-jobs");
        return WorkerConfig.from(FerryEnv.of(env));
    }

    private static InstanceNotices watcher(FakeMetadata metadata, List<InstanceNotices.Notice> seen) {
        return new InstanceNotices(metadata, "fake", Duration.ofSeconds(5), Clock.systemUTC(), seen::add);
    }

    @Test
    void quietInstance_reportsNothing_andStopsAskingForALifecycleStateItDoesNotHave() {
        FakeMetadata metadata = new FakeMetadata();
        List<InstanceNotices.Notice> seen = new ArrayList<>();
        InstanceNotices notices = watcher(metadata, seen);

        notices.pollOnce();
        notices.pollOnce();

        assertTrue(seen.isEmpty());
        assertEquals(2, metadata.reads.get(InstanceNotices.SPOT_INSTANCE_ACTION));
        assertEquals(1, metadata.reads.get(InstanceNotices.TARGET_LIFECYCLE_STATE), "404: not in an Auto Scaling group");
    }

    @Test
    void spotNotice_isReportedOnce_withItsTime() {
        FakeMetadata metadata = new FakeMetadata();
        List<InstanceNotices.Notice> seen = new ArrayList<>();
        InstanceNotices notices = watcher(metadata, seen);
        metadata.answers.put(InstanceNotices.SPOT_INSTANCE_ACTION,
                "{\"action\": \"terminate\", \"time\": \"2026-11-22T08:02:00Z\"}");

        notices.pollOnce();
        notices.pollOnce();

        assertEquals(1, seen.size());
        assertEquals(InstanceNotices.Kind.SPOT_INTERRUPTION, seen.get(0).kind());
        assertEquals(Instant.parse("2026-11-22T08:02:00Z"), seen.get(0).actionTime());
    }

    @Test
    void autoScalingTermination_andRebalance_areReported() {
        FakeMetadata metadata = new FakeMetadata();
        List<InstanceNotices.Notice> seen = new ArrayList<>();
        InstanceNotices notices = watcher(metadata, seen);
        metadata.answers.put(InstanceNotices.TARGET_LIFECYCLE_STATE, "InService");
        notices.pollOnce();
        assertTrue(seen.isEmpty());

        metadata.answers.put(InstanceNotices.REBALANCE_RECOMMENDATION, "{\"noticeTime\": \"2026-11-22T08:00:00Z\"}");
        metadata.answers.put(InstanceNotices.TARGET_LIFECYCLE_STATE, "Terminated");
        notices.pollOnce();

        assertEquals(List.of(InstanceNotices.Kind.AUTOSCALING_TERMINATION, InstanceNotices.Kind.REBALANCE_RECOMMENDATION),
                seen.stream().map(InstanceNotices.Notice::kind).toList());
    }

    @Test
    void drainGrace_spotIsTimeLeftLessTheMargin_cappedByTheDrainGrace() {
        WorkerConfig config = config(Map.of(WorkerConfig.SPOT_MARGIN, "30", WorkerConfig.DRAIN_GRACE, "60"));
        InstanceNotices.Notice twoMinutes = new InstanceNotices.Notice(InstanceNotices.Kind.SPOT_INTERRUPTION,
                NOW.plusSeconds(120), "terminate");
        InstanceNotices.Notice fortySeconds = new InstanceNotices.Notice(InstanceNotices.Kind.SPOT_INTERRUPTION,
                NOW.plusSeconds(40), "terminate");
        InstanceNotices.Notice late = new InstanceNotices.Notice(InstanceNotices.Kind.SPOT_INTERRUPTION,
                NOW.plusSeconds(10), "terminate");

        assertEquals(Optional.of(Duration.ofSeconds(60)), twoMinutes.drainGrace(config, NOW));
        assertEquals(Optional.of(Duration.ofSeconds(10)), fortySeconds.drainGrace(config, NOW));
        assertEquals(Optional.of(Duration.ZERO), late.drainGrace(config, NOW));
    }

    @Test
    void drainGrace_autoScalingUsesTheDrainGrace_rebalanceOnlyWhenConfigured() {
        InstanceNotices.Notice asg = new InstanceNotices.Notice(InstanceNotices.Kind.AUTOSCALING_TERMINATION, null, "x");
        InstanceNotices.Notice rebalance = new InstanceNotices.Notice(InstanceNotices.Kind.REBALANCE_RECOMMENDATION,
                null, "x");

        assertEquals(Optional.of(Duration.ofSeconds(90)), asg.drainGrace(config(Map.of()), NOW));
        assertEquals(Optional.empty(), rebalance.drainGrace(config(Map.of()), NOW));
        assertEquals(Optional.of(Duration.ofSeconds(90)),
                rebalance.drainGrace(config(Map.of(WorkerConfig.DRAIN_ON_REBALANCE, "true")), NOW));
    }
}
