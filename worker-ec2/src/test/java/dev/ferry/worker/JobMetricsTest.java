package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ferry.core.AttemptRecord;
import dev.ferry.core.Job;
import dev.ferry.core.metrics.BoundedDimension;
import dev.ferry.core.metrics.EmfWriter;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class JobMetricsTest {

    private static final Instant NOW = Instant.parse("2026-12-01T10:00:00Z");
    private final List<String> lines = new ArrayList<>();
    private final JobMetrics metrics = new JobMetrics(
            new EmfWriter(Optional.of("Ferry/test"), lines::add, Clock.fixed(NOW, ZoneOffset.UTC)), "gpu",
            new BoundedDimension(1));

    private static Job job(String type, int attempts) {
        return Job.builder().jobId("01KJOB").type(type).attempts(attempts)
                .enqueuedAt(NOW.minusSeconds(90)).claimedAt(NOW.minusSeconds(30)).build();
    }

    @Test
    void ended_succeeded_countsTheJobByOutcome_andItsRunTimeAndAttemptsByType() {
        metrics.ended(job("sample", 2), AttemptRecord.SUCCEEDED, NOW.minusMillis(4_250), NOW);

        assertEquals(List.of("{\"_aws\":{\"Timestamp\":1796119200000,\"CloudWatchMetrics\":["
                + "{\"Namespace\":\"Ferry/test\",\"Dimensions\":[[\"Pool\",\"Type\",\"Outcome\"],[\"Pool\",\"Outcome\"]],"
                + "\"Metrics\":[{\"Name\":\"Jobs\",\"Unit\":\"Count\"}]},"
                + "{\"Namespace\":\"Ferry/test\",\"Dimensions\":[[\"Pool\",\"Type\"],[\"Pool\"]],"
                + "\"Metrics\":[{\"Name\":\"RunTime\",\"Unit\":\"Milliseconds\"},{\"Name\":\"Attempts\",\"Unit\":\"Count\"}]}]},"
                + "\"Pool\":\"gpu\",\"Type\":\"sample\",\"Outcome\":\"succeeded\",\"jobId\":\"01KJOB\",\"attempt\":\"2\","
                + "\"Jobs\":1,\"RunTime\":4250,\"Attempts\":2}"), lines);
    }

    @Test
    void ended_givenBack_isAPreemption_withoutAttempts() {
        metrics.ended(job("sample", 1), AttemptRecord.GIVEN_BACK, NOW.minusSeconds(1), NOW);

        String line = lines.get(0);
        assertEquals(true, line.contains("\"Metrics\":[{\"Name\":\"RunTime\",\"Unit\":\"Milliseconds\"},"
                + "{\"Name\":\"Preemptions\",\"Unit\":\"Count\"}]"), line);
        assertEquals(true, line.contains("\"Outcome\":\"given back\""), line);
        assertEquals(true, line.endsWith("\"Jobs\":1,\"RunTime\":1000,\"Preemptions\":1}"), line);
    }

    @Test
    void claimed_firstAttempt_waitedFromTheSubmit() {
        metrics.claimed(job("sample", 1));

        assertEquals(List.of("{\"_aws\":{\"Timestamp\":1796119200000,\"CloudWatchMetrics\":["
                + "{\"Namespace\":\"Ferry/test\",\"Dimensions\":[[\"Pool\",\"Type\"],[\"Pool\"]],"
                + "\"Metrics\":[{\"Name\":\"QueueWait\",\"Unit\":\"Milliseconds\"}]}]},"
                + "\"Pool\":\"gpu\",\"Type\":\"sample\",\"jobId\":\"01KJOB\",\"QueueWait\":60000}"), lines);
    }

    @Test
    void handlerRestarted_pastTheTypeBound_countsAsOther() {
        metrics.handlerRestarted("sample");
        metrics.handlerRestarted("made-up");

        assertEquals(true, lines.get(0).contains("\"Type\":\"sample\",\"HandlerRestarts\":1}"), lines.get(0));
        assertEquals(true, lines.get(1).contains("\"Type\":\"other\",\"HandlerRestarts\":1}"), lines.get(1));
    }
}
