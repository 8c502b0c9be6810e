package dev.ferry.chaos;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What {@code scripts/chaos.sh} is asked to do; every option has a default, and {@link #usage()}
 * lists them.
 *
 * @param jobs jobs submitted through the HTTP API
 * @param workers worker processes kept running (a killed one is replaced)
 * @param slots job slots per worker
 * @param seed seed of every random choice (job durations, poison, duplicates, victims, timing)
 * @param maxJob longest job; durations are uniform from 50 ms
 * @param killEvery mean time between two SIGKILLs of a random worker
 * @param spotEvery mean time between two Spot interruption notices to a random worker
 * @param termEvery mean time between two SIGTERMs (a deploy) of a random worker
 * @param outageEvery mean time between two outages (SQS, DynamoDB or both cut off from the workers)
 * @param outageLength longest outage; lengths are uniform from a second
 * @param duplicates share of jobs whose message is sent a second time
 * @param poison share of jobs that always fail
 * @param maxReceiveCount the job queue's attempt budget
 * @param settle how long to wait, once the faults stop, for every job to be final
 * @param out where the ledger, the worker logs and the summary go
 */
public record ChaosOptions(int jobs, int workers, int slots, long seed, Duration maxJob, Duration killEvery,
                           Duration spotEvery, Duration termEvery, Duration outageEvery, Duration outageLength,
                           double duplicates, double poison, int maxReceiveCount, Duration settle, Path out) {

    public static final int DEFAULT_JOBS = 5000;

    static ChaosOptions defaults() {
        return new ChaosOptions(DEFAULT_JOBS, 4, 4, System.nanoTime(), Duration.ofMillis(2_500), Duration.ofSeconds(5),
                Duration.ofSeconds(9), Duration.ofSeconds(23), Duration.ofSeconds(30), Duration.ofSeconds(6),
                0.05, 0.02, 5, Duration.ofMinutes(10), Path.of("target", "chaos"));
    }

    /** Reads {@code --name value} pairs over the defaults; {@link IllegalArgumentException} names a bad one. */
    public static ChaosOptions parse(String... args) {
        ChaosOptions o = defaults();
        for (int i = 0; i < args.length; i++) {
            String name = args[i];
            if (name.equals("--help") || name.equals("-h")) {
                throw new IllegalArgumentException(usage());
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(name + " needs a value\n" + usage());
            }
            String value = args[++i];
            try {
                o = with(o, name, value);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(name + " must be a number, but is '" + value + "'");
            }
        }
        if (o.jobs < 1 || o.workers < 1 || o.slots < 1 || o.maxReceiveCount < 2) {
            throw new IllegalArgumentException("--jobs, --workers and --slots must be at least 1, --max-receive-count"
                    + " at least 2");
        }
        if (o.duplicates < 0 || o.duplicates > 1 || o.poison < 0 || o.poison > 1) {
            throw new IllegalArgumentException("--duplicates and --poison are shares, from 0 to 1");
        }
        return o;
    }

    private static ChaosOptions with(ChaosOptions o, String name, String v) {
        switch (name) {
            case "--jobs": return new ChaosOptions(Integer.parseInt(v), o.workers, o.slots, o.seed, o.maxJob,
                    o.killEvery, o.spotEvery, o.termEvery, o.outageEvery, o.outageLength, o.duplicates, o.poison,
                    o.maxReceiveCount, o.settle, o.out);
            case "--workers": return new ChaosOptions(o.jobs, Integer.parseInt(v), o.slots, o.seed, o.maxJob,
                    o.killEvery, o.spotEvery, o.termEvery, o.outageEvery, o.outageLength, o.duplicates, o.poison,
                    o.maxReceiveCount, o.settle, o.out);
            case "--slots": return new ChaosOptions(o.jobs, o.workers, Integer.parseInt(v), o.seed, o.maxJob,
                    o.killEvery, o.spotEvery, o.termEvery, o.outageEvery, o.outageLength, o.duplicates, o.poison,
                    o.maxReceiveCount, o.settle, o.out);
            case "--seed": return new ChaosOptions(o.jobs, o.workers, o.slots, Long.parseLong(v), o.maxJob,
                    o.killEvery, o.spotEvery, o.termEvery, o.outageEvery, o.outageLength, o.duplicates, o.poison,
                    o.maxReceiveCount, o.settle, o.out);
            case "--max-job-ms": return new ChaosOptions(o.jobs, o.workers, o.slots, o.seed,
                    Duration.ofMillis(Long.parseLong(v)), o.killEvery, o.spotEvery, o.termEvery, o.outageEvery,
                    o.outageLength, o.duplicates, o.poison, o.maxReceiveCount, o.settle, o.out);
            case "--kill-every": return new ChaosOptions(o.jobs, o.workers, o.slots, o.seed, o.maxJob, seconds(v),
                    o.spotEvery, o.termEvery, o.outageEvery, o.outageLength, o.duplicates, o.poison,
                    o.maxReceiveCount, o.settle, o.out);
            case "--spot-every": return new ChaosOptions(o.jobs, o.workers, o.slots, o.seed, o.maxJob, o.killEvery,
                    seconds(v), o.termEvery, o.outageEvery, o.outageLength, o.duplicates, o.poison,
                    o.maxReceiveCount, o.settle, o.out);
            case "--term-every": return new ChaosOptions(o.jobs, o.workers, o.slots, o.seed, o.maxJob, o.killEvery,
                    o.spotEvery, seconds(v), o.outageEvery, o.outageLength, o.duplicates, o.poison,
                    o.maxReceiveCount, o.settle, o.out);
            case "--outage-every": return new ChaosOptions(o.jobs, o.workers, o.slots, o.seed, o.maxJob, o.killEvery,
                    o.spotEvery, o.termEvery, seconds(v), o.outageLength, o.duplicates, o.poison,
                    o.maxReceiveCount, o.settle, o.out);
            case "--outage-seconds": return new ChaosOptions(o.jobs, o.workers, o.slots, o.seed, o.maxJob,
                    o.killEvery, o.spotEvery, o.termEvery, o.outageEvery, seconds(v), o.duplicates, o.poison,
                    o.maxReceiveCount, o.settle, o.out);
            case "--duplicates": return new ChaosOptions(o.jobs, o.workers, o.slots, o.seed, o.maxJob, o.killEvery,
                    o.spotEvery, o.termEvery, o.outageEvery, o.outageLength, Double.parseDouble(v), o.poison,
                    o.maxReceiveCount, o.settle, o.out);
            case "--poison": return new ChaosOptions(o.jobs, o.workers, o.slots, o.seed, o.maxJob, o.killEvery,
                    o.spotEvery, o.termEvery, o.outageEvery, o.outageLength, o.duplicates, Double.parseDouble(v),
                    o.maxReceiveCount, o.settle, o.out);
            case "--max-receive-count": return new ChaosOptions(o.jobs, o.workers, o.slots, o.seed, o.maxJob,
                    o.killEvery, o.spotEvery, o.termEvery, o.outageEvery, o.outageLength, o.duplicates, o.poison,
                    Integer.parseInt(v), o.settle, o.out);
            case "--settle-seconds": return new ChaosOptions(o.jobs, o.workers, o.slots, o.seed, o.maxJob,
                    o.killEvery, o.spotEvery, o.termEvery, o.outageEvery, o.outageLength, o.duplicates, o.poison,
                    o.maxReceiveCount, seconds(v), o.out);
            case "--out": return new ChaosOptions(o.jobs, o.workers, o.slots, o.seed, o.maxJob, o.killEvery,
                    o.spotEvery, o.termEvery, o.outageEvery, o.outageLength, o.duplicates, o.poison,
                    o.maxReceiveCount, o.settle, Path.of(v));
            default: throw new IllegalArgumentException("unknown option " + name + "\n" + usage());
        }
    }

    /** Seconds, {@code 0} for "never". */
    private static Duration seconds(String v) {
        return Duration.ofMillis(Math.round(Double.parseDouble(v) * 1000));
    }

    static String usage() {
        ChaosOptions d = defaults();
        List<String> lines = new ArrayList<>();
        lines.add("usage: scripts/chaos.sh [--name value]...   (every option has a default)");
        lines.add("  --jobs N                 jobs to submit (" + d.jobs + ")");
        lines.add("  --workers N              worker processes kept running (" + d.workers + ")");
        lines.add("  --slots N                job slots per worker (" + d.slots + ")");
        lines.add("  --seed N                 seed of every random choice (time-based)");
        lines.add("  --max-job-ms N           longest job, uniform from 50 ms (" + d.maxJob.toMillis() + ")");
        lines.add("  --kill-every S           mean seconds between SIGKILLs of a random worker, 0: never ("
                + secs(d.killEvery) + ")");
        lines.add("  --spot-every S           ... between Spot interruption notices (" + secs(d.spotEvery) + ")");
        lines.add("  --term-every S           ... between SIGTERMs, a deploy (" + secs(d.termEvery) + ")");
        lines.add("  --outage-every S         ... between SQS/DynamoDB outages (" + secs(d.outageEvery) + ")");
        lines.add("  --outage-seconds S       longest outage (" + secs(d.outageLength) + ")");
        lines.add("  --duplicates F           share of jobs whose message is sent twice (" + d.duplicates + ")");
        lines.add("  --poison F               share of jobs that always fail (" + d.poison + ")");
        lines.add("  --max-receive-count N    the queue's attempt budget (" + d.maxReceiveCount + ")");
        lines.add("  --settle-seconds S       wait for the last jobs once the faults stop (" + secs(d.settle) + ")");
        lines.add("  --out DIR                ledger, worker logs, summary (" + d.out + ")");
        return String.join("\n", lines);
    }

    private static String secs(Duration d) {
        return String.format(Locale.ROOT, "%.0f", d.toMillis() / 1000.0);
    }
}
