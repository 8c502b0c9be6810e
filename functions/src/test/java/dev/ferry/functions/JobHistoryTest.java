package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ferry.core.JobStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Bucketing and nearest-rank percentiles, with numbers worked out by hand. */
class JobHistoryTest {

    /** 1-hour window, 1-minute buckets: now 10:30:20 → buckets 09:31 .. 10:30 (the current one last). */
    private static final Instant NOW = Instant.parse("2026-12-01T10:30:20Z");
    private static final Instant FIRST = Instant.parse("2026-12-01T09:31:00Z");

    private static Instant at(int minute, int second) {
        return FIRST.plusSeconds(minute * 60L + second);
    }

    @Test
    void window_endsWithTheBucketThatHoldsNow_alignedToItsWidth() {
        assertEquals(Instant.parse("2026-12-01T10:31:00Z"), HistoryWindow.HOUR_1.end(NOW));
        assertEquals(FIRST, HistoryWindow.HOUR_1.start(NOW));
        assertEquals(60, HistoryWindow.HOUR_1.bucketCount());
        assertEquals(72, HistoryWindow.HOURS_6.bucketCount());
        assertEquals(96, HistoryWindow.HOURS_24.bucketCount());
        assertEquals(168, HistoryWindow.DAYS_7.bucketCount());
        assertEquals(Instant.parse("2026-12-01T11:00:00Z"), HistoryWindow.DAYS_7.end(NOW));
        assertEquals(Instant.parse("2026-12-01T10:45:00Z"), HistoryWindow.HOURS_24.end(NOW));
    }

    @Test
    void submitted_countsWhenCreated_finished_whenFinished_byFinalStatus() {
        List<JobTimes> jobs = List.of(
                // created in bucket 0, finished in bucket 2
                new JobTimes("a", JobStatus.SUCCEEDED, at(0, 5), at(0, 5), at(0, 10), at(2, 0), Duration.ofSeconds(110)),
                // created in bucket 0, still running
                new JobTimes("a", JobStatus.RUNNING, at(0, 59), at(0, 59), at(1, 0), null, null),
                // created before the window, failed in bucket 1
                new JobTimes("b", JobStatus.FAILED, FIRST.minusSeconds(30), FIRST.minusSeconds(30), FIRST.minusSeconds(20),
                        at(1, 30), Duration.ofSeconds(3)),
                // cancelled while queued, in bucket 59 (the current one)
                new JobTimes("b", JobStatus.CANCELLED, at(59, 0), at(59, 0), null, at(59, 19), null),
                // queued, in bucket 59
                new JobTimes("a", JobStatus.QUEUED, at(59, 1), null, null, null, null),
                // finished after the window (a clock ahead): not counted
                new JobTimes("a", JobStatus.SUCCEEDED, at(59, 2), at(59, 2), at(59, 3), at(60, 0), Duration.ofSeconds(1)));

        JobHistory.Series series = JobHistory.of(HistoryWindow.HOUR_1, NOW, jobs);

        assertEquals(60, series.bucketStarts().size());
        assertEquals(FIRST, series.bucketStarts().get(0));
        assertEquals(at(59, 0), series.bucketStarts().get(59));
        assertEquals(2, series.submitted()[0]);
        assertEquals(3, series.submitted()[59]);
        assertEquals(5, sum(series.submitted()));
        assertEquals(1, series.succeeded()[2]);
        assertEquals(1, sum(series.succeeded()));
        assertEquals(1, series.failed()[1]);
        assertEquals(1, sum(series.failed()));
        assertEquals(1, series.cancelled()[59]);
        assertEquals(1, sum(series.cancelled()));
    }

    @Test
    void waits_countWhenFirstStarted_runTimes_whenFinished_asNearestRankPercentiles() {
        List<JobTimes> jobs = new ArrayList<>();
        // Ten jobs first started in bucket 3 after waits of 1..10 s; each ran 10 x its wait, finishing in bucket 5.
        for (int i = 1; i <= 10; i++) {
            Instant queued = at(3, 0).minusSeconds(i);
            jobs.add(new JobTimes("a", JobStatus.SUCCEEDED, queued, queued, at(3, 0), at(5, i),
                    Duration.ofMillis(i * 10_000L)));
        }
        // One started in bucket 3 after 0.25 s, still running: a wait, no run time.
        jobs.add(new JobTimes("a", JobStatus.RUNNING, at(3, 10), at(3, 10), at(3, 10).plusMillis(250), null, null));
        // Queued at 9:30:40 (before the window), started in bucket 0: its wait counts in bucket 0.
        jobs.add(new JobTimes("a", JobStatus.SUCCEEDED, FIRST.minusSeconds(20), null, at(0, 40), at(0, 50),
                Duration.ofSeconds(10)));

        JobHistory.Series series = JobHistory.of(HistoryWindow.HOUR_1, NOW, jobs);

        // Waits in bucket 3, sorted: 0.25, 1, 2, ..., 10 (n = 11). p50: rank ceil(5.5) = 6 -> 5 s;
        // p90: rank ceil(9.9) = 10 -> 9 s; p99: rank ceil(10.89) = 11 -> 10 s.
        assertEquals(5.0, series.waitPercentiles().get(0)[3]);
        assertEquals(9.0, series.waitPercentiles().get(1)[3]);
        assertEquals(10.0, series.waitPercentiles().get(2)[3]);
        // Bucket 0: one wait, from its creation (no enqueuedAt): 60 s, all percentiles.
        assertEquals(60.0, series.waitPercentiles().get(0)[0]);
        assertEquals(60.0, series.waitPercentiles().get(2)[0]);
        // Run times in bucket 5: 10, 20, ..., 100 s (n = 10). p50: rank 5 -> 50; p90: rank 9 -> 90; p99: rank 10 -> 100.
        assertEquals(50.0, series.runPercentiles().get(0)[5]);
        assertEquals(90.0, series.runPercentiles().get(1)[5]);
        assertEquals(100.0, series.runPercentiles().get(2)[5]);
        assertEquals(10.0, series.runPercentiles().get(1)[0]);
        // Buckets without values have none.
        assertNull(series.waitPercentiles().get(0)[4]);
        assertNull(series.runPercentiles().get(2)[3]);
        assertEquals(0, sum(series.submitted()) - 11, "the 11 created in the window");
    }

    @Test
    void percentile_isNearestRank_neverInterpolated() {
        long[] hundred = new long[100];
        for (int i = 0; i < 100; i++) {
            hundred[i] = i + 1;
        }
        assertEquals(50, JobHistory.percentile(hundred, 50));
        assertEquals(90, JobHistory.percentile(hundred, 90));
        assertEquals(99, JobHistory.percentile(hundred, 99), "0.99 x 100 is 99 exactly, not 99.00000000000001");
        assertEquals(7, JobHistory.percentile(new long[] {7}, 1));
        assertEquals(7, JobHistory.percentile(new long[] {7}, 99));
        assertEquals(3, JobHistory.percentile(new long[] {1, 2, 3, 4}, 75));
        assertEquals(4, JobHistory.percentile(new long[] {1, 2, 3, 4}, 76));
        assertThrows(IllegalArgumentException.class, () -> JobHistory.percentile(new long[0], 50));
    }

    @Test
    void noJobs_zeroCounts_andNoPercentiles() {
        JobHistory.Series series = JobHistory.of(HistoryWindow.DAYS_7, NOW, List.of());
        assertArrayEquals(new long[168], series.submitted());
        assertArrayEquals(new long[168], series.failed());
        assertArrayEquals(new Double[168], series.waitPercentiles().get(1));
        assertArrayEquals(new Double[168], series.runPercentiles().get(2));
    }

    @Test
    void waitBeforeItsQueueing_aSkewedClock_isLeftOut() {
        JobTimes skewed = new JobTimes("a", JobStatus.RUNNING, at(1, 0), at(1, 5), at(1, 2), null, null);
        assertNull(skewed.queueWait());
        assertNull(JobHistory.of(HistoryWindow.HOUR_1, NOW, List.of(skewed)).waitPercentiles().get(0)[1]);
    }

    private static long sum(long[] values) {
        long sum = 0;
        for (long value : values) {
            sum += value;
        }
        return sum;
    }
}
