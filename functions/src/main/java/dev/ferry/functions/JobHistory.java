package dev.ferry.functions;

import dev.ferry.core.JobStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;

/**
 * Jobs counted into a window's buckets, and their queue waits and run times as percentiles per
 * bucket. Each event counts in the bucket in which it happened:
 * <ul>
 *   <li><b>submitted</b>: when the job was created;</li>
 *   <li><b>succeeded, failed, cancelled</b>: when it finished (its {@code finishedAt}), by its final status;</li>
 *   <li><b>queue wait</b> (queued, i.e. its message first sent, to its first attempt's start): when it first started;</li>
 *   <li><b>run time</b> (its final attempt, start to end): when it finished.</li>
 * </ul>
 * A bucket holds {@code [start, start + width)}. Percentiles are nearest-rank: the p-th of n sorted
 * values is the {@code ceil(p / 100 * n)}-th, always a value that was observed; a bucket without
 * values has none ({@code null}).
 */
final class JobHistory {

    static final List<Integer> PERCENTILES = List.of(50, 90, 99);

    /** One chart's series, column-wise (index i is bucket i), times in seconds. */
    record Series(List<Instant> bucketStarts, long[] submitted, long[] succeeded, long[] failed, long[] cancelled,
                  List<Double[]> waitPercentiles, List<Double[]> runPercentiles) {
    }

    private JobHistory() {
    }

    static Series of(HistoryWindow window, Instant now, Collection<JobTimes> jobs) {
        Instant start = window.start(now);
        long width = window.bucket().toMillis();
        int count = window.bucketCount();
        long[] submitted = new long[count];
        long[] succeeded = new long[count];
        long[] failed = new long[count];
        long[] cancelled = new long[count];
        List<List<Duration>> waits = buckets(count);
        List<List<Duration>> runs = buckets(count);
        for (JobTimes job : jobs) {
            int created = bucket(start, width, count, job.createdAt());
            if (created >= 0) {
                submitted[created]++;
            }
            int finished = bucket(start, width, count, job.finishedAt());
            if (finished >= 0) {
                if (job.status() == JobStatus.SUCCEEDED) {
                    succeeded[finished]++;
                } else if (job.status() == JobStatus.FAILED) {
                    failed[finished]++;
                } else if (job.status() == JobStatus.CANCELLED) {
                    cancelled[finished]++;
                }
                if (job.runTime() != null && job.status().isFinal()) {
                    runs.get(finished).add(job.runTime());
                }
            }
            int started = bucket(start, width, count, job.firstStartedAt());
            Duration wait = job.queueWait();
            if (started >= 0 && wait != null) {
                waits.get(started).add(wait);
            }
        }
        List<Instant> starts = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            starts.add(start.plusMillis(i * width));
        }
        return new Series(starts, submitted, succeeded, failed, cancelled, percentiles(waits), percentiles(runs));
    }

    /** The bucket that holds {@code at}, or -1 where it is null or outside the window. */
    private static int bucket(Instant start, long width, int count, Instant at) {
        if (at == null || at.isBefore(start)) {
            return -1;
        }
        long index = Math.floorDiv(Duration.between(start, at).toMillis(), width);
        return index < count ? (int) index : -1;
    }

    private static List<List<Duration>> buckets(int count) {
        List<List<Duration>> buckets = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            buckets.add(new ArrayList<>());
        }
        return buckets;
    }

    /** One array per percentile of {@link #PERCENTILES}, one entry (seconds, or null) per bucket. */
    private static List<Double[]> percentiles(List<List<Duration>> buckets) {
        List<Double[]> series = new ArrayList<>();
        for (int p : PERCENTILES) {
            series.add(new Double[buckets.size()]);
        }
        for (int i = 0; i < buckets.size(); i++) {
            List<Duration> values = buckets.get(i);
            if (values.isEmpty()) {
                continue;
            }
            long[] millis = values.stream().mapToLong(Duration::toMillis).sorted().toArray();
            for (int k = 0; k < PERCENTILES.size(); k++) {
                series.get(k)[i] = percentile(millis, PERCENTILES.get(k)) / 1000.0;
            }
        }
        return series;
    }

    /** The nearest-rank {@code p}-th percentile of {@code sorted} (not empty, ascending). */
    static long percentile(long[] sorted, int p) {
        if (sorted.length == 0 || p < 1 || p > 100) {
            throw new IllegalArgumentException("percentile " + p + " of " + Arrays.toString(sorted));
        }
        // ceil(p * n / 100) in whole numbers: floating point makes 0.99 * 100 into 99.00000000000001.
        long rank = ((long) p * sorted.length + 99) / 100;
        return sorted[(int) Math.max(1, rank) - 1];
    }
}
