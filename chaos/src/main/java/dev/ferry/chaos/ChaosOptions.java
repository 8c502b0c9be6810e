package dev.ferry.chaos;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * What {@code scripts/chaos.sh} is asked to do; every option has a default, and {@link #usage()}
 * lists them. Rates are per request, shares per job; {@code 0} turns a fault off.
 *
 * @param jobs jobs submitted through the HTTP API
 * @param workers worker processes kept running (a killed one is replaced)
 * @param slots job slots per worker
 * @param seed seed of every random choice (job kinds and durations, duplicates, victims, timing, fault draws)
 * @param maxJob longest job; durations are uniform from 50 ms
 * @param killEvery mean time between two SIGKILLs of a random worker
 * @param spotEvery mean time between two Spot interruption notices to a random worker
 * @param termEvery mean time between two SIGTERMs (a deploy) of a random worker
 * @param outageEvery mean time between two outages (SQS, DynamoDB or both cut off from the workers)
 * @param outageLength longest outage; lengths are uniform from a second
 * @param duplicates share of jobs whose message is sent a second time
 * @param poison share of jobs that always fail
 * @param oversize share of jobs whose result is too large for their record: stored by reference in
 *     the bucket (they must succeed, the object holding exactly what the job printed)
 * @param oversizeNoBucket share of jobs as large, run by a worker without a bucket before the others
 *     start (they must fail at once; a redrive runs them where there is one)
 * @param files share of the plain jobs that write an output file into {@code FERRY_OUTPUT_DIR}
 * @param refused share of submits whose input holds text SQS refuses (they must be a 400 and leave nothing)
 * @param loseResponse rate of the workers' SQS and DynamoDB calls whose response is lost after they were applied
 * @param throttle rate of the workers' calls answered with a throttling error
 * @param slow rate of the workers' calls whose (applied) answer is held past the SDK's attempt timeout
 * @param serverError rate of the workers' calls answered 500/503, half of them applied first
 * @param apiLoseResponse rate of the API functions' writes and sends whose response is lost
 * @param apiThrottle rate of the API functions' writes and sends that are throttled
 * @param s3LoseResponse rate of the workers' S3 calls whose response is lost after they were applied
 * @param s3Throttle rate of the workers' S3 calls answered 503 SlowDown
 * @param s3Slow rate of the workers' S3 calls whose (applied) answer is held {@code ChaosMain.S3_SLOW_HOLD}
 * @param s3ServerError rate of the workers' S3 calls answered 500/503, half of them applied first
 * @param s3OutageEvery mean time between two S3 outages (the bucket cut off from the workers)
 * @param retention how long a finished job's record lives ({@code FERRY_RETENTION_DAYS}); zero: the
 *     product's default, and no TTL reaper
 * @param reapLag the TTL reaper deletes an expired record up to this late
 * @param redriveEvery mean time between two clicks on Redrive DLQ
 * @param redriveRefused share of those whose move task is made to fail to start
 * @param maxReceiveCount the job queue's attempt budget
 * @param settle how long to wait, once the faults stop, for every job to be final
 * @param out where the ledger, the worker logs and the summary go
 */
public record ChaosOptions(int jobs, int workers, int slots, long seed, Duration maxJob, Duration killEvery,
                           Duration spotEvery, Duration termEvery, Duration outageEvery, Duration outageLength,
                           double duplicates, double poison, double oversize, double oversizeNoBucket,
                           double files, double refused,
                           double loseResponse, double throttle, double slow, double serverError,
                           double apiLoseResponse, double apiThrottle, double s3LoseResponse, double s3Throttle,
                           double s3Slow, double s3ServerError, Duration s3OutageEvery, Duration retention,
                           Duration reapLag,
                           Duration redriveEvery, double redriveRefused, int maxReceiveCount, Duration settle,
                           Path out) {

    public static final int DEFAULT_JOBS = 5000;

    /** The options, in the order {@link #usage()} lists them. */
    private static final Map<String, Option> OPTIONS = new LinkedHashMap<>();

    private record Option(String argument, String help, Function<ChaosOptions, String> shown,
                          BiConsumer<Builder, String> set) {
    }

    private static void option(String name, String argument, String help, Function<ChaosOptions, String> shown,
                               BiConsumer<Builder, String> set) {
        OPTIONS.put(name, new Option(argument, help, shown, set));
    }

    static {
        option("--jobs", "N", "jobs to submit", o -> "" + o.jobs, (b, v) -> b.jobs = Integer.parseInt(v));
        option("--workers", "N", "worker processes kept running", o -> "" + o.workers,
                (b, v) -> b.workers = Integer.parseInt(v));
        option("--slots", "N", "job slots per worker", o -> "" + o.slots, (b, v) -> b.slots = Integer.parseInt(v));
        option("--seed", "N", "seed of every random choice", o -> "time-based", (b, v) -> b.seed = Long.parseLong(v));
        option("--max-job-ms", "N", "longest job, uniform from 50 ms", o -> "" + o.maxJob.toMillis(),
                (b, v) -> b.maxJob = Duration.ofMillis(Long.parseLong(v)));
        option("--kill-every", "S", "mean seconds between SIGKILLs of a random worker, 0: never",
                o -> secs(o.killEvery), (b, v) -> b.killEvery = seconds(v));
        option("--spot-every", "S", "... between Spot interruption notices", o -> secs(o.spotEvery),
                (b, v) -> b.spotEvery = seconds(v));
        option("--term-every", "S", "... between SIGTERMs, a deploy", o -> secs(o.termEvery),
                (b, v) -> b.termEvery = seconds(v));
        option("--outage-every", "S", "... between SQS/DynamoDB outages", o -> secs(o.outageEvery),
                (b, v) -> b.outageEvery = seconds(v));
        option("--outage-seconds", "S", "longest outage (of S3 too)", o -> secs(o.outageLength),
                (b, v) -> b.outageLength = seconds(v));
        option("--duplicates", "F", "share of jobs whose message is sent twice", o -> "" + o.duplicates,
                (b, v) -> b.duplicates = Double.parseDouble(v));
        option("--poison", "F", "share of jobs that always fail", o -> "" + o.poison,
                (b, v) -> b.poison = Double.parseDouble(v));
        option("--oversize", "F", "share of jobs whose result is too large for the record: by reference in S3",
                o -> "" + o.oversize, (b, v) -> b.oversize = Double.parseDouble(v));
        option("--oversize-no-bucket", "F", "share of jobs as large, run first by a worker without a bucket: they"
                + " must fail at once", o -> "" + o.oversizeNoBucket, (b, v) -> b.oversizeNoBucket = Double.parseDouble(v));
        option("--files", "F", "share of the plain jobs that write an output file", o -> "" + o.files,
                (b, v) -> b.files = Double.parseDouble(v));
        option("--refused", "F", "share of submits with text SQS refuses (U+FFFF, lone surrogates)",
                o -> "" + o.refused, (b, v) -> b.refused = Double.parseDouble(v));
        option("--lose-response", "P", "workers' SQS/DynamoDB calls: share whose response is lost after they were"
                + " applied",
                o -> "" + o.loseResponse, (b, v) -> b.loseResponse = Double.parseDouble(v));
        option("--throttle", "P", "workers' SQS/DynamoDB calls: share throttled", o -> "" + o.throttle,
                (b, v) -> b.throttle = Double.parseDouble(v));
        option("--slow", "P", "workers' SQS/DynamoDB calls: share answered past the SDK's 4 s attempt timeout",
                o -> "" + o.slow, (b, v) -> b.slow = Double.parseDouble(v));
        option("--server-error", "P", "workers' SQS/DynamoDB calls: share answered 500/503 (half applied first)",
                o -> "" + o.serverError, (b, v) -> b.serverError = Double.parseDouble(v));
        option("--api-lose-response", "P", "API functions' writes and sends: share whose response is lost",
                o -> "" + o.apiLoseResponse, (b, v) -> b.apiLoseResponse = Double.parseDouble(v));
        option("--api-throttle", "P", "API functions' writes and sends: share throttled", o -> "" + o.apiThrottle,
                (b, v) -> b.apiThrottle = Double.parseDouble(v));
        option("--s3-lose-response", "P", "workers' S3 calls: share whose response is lost after they were applied",
                o -> "" + o.s3LoseResponse, (b, v) -> b.s3LoseResponse = Double.parseDouble(v));
        option("--s3-throttle", "P", "workers' S3 calls: share throttled (503 SlowDown)", o -> "" + o.s3Throttle,
                (b, v) -> b.s3Throttle = Double.parseDouble(v));
        option("--s3-slow", "P", "workers' S3 calls: share answered 4 s late (past a lease; no attempt timeout)",
                o -> "" + o.s3Slow, (b, v) -> b.s3Slow = Double.parseDouble(v));
        option("--s3-server-error", "P", "workers' S3 calls: share answered 500/503 (half applied first)",
                o -> "" + o.s3ServerError, (b, v) -> b.s3ServerError = Double.parseDouble(v));
        option("--s3-outage-every", "S", "mean seconds between S3 outages (the bucket cut off from the workers)",
                o -> secs(o.s3OutageEvery), (b, v) -> b.s3OutageEvery = seconds(v));
        option("--retention-seconds", "S", "FERRY_RETENTION_DAYS of finished jobs, reaped as TTL does; 0: the"
                + " product's default, no reaper", o -> secs(o.retention), (b, v) -> b.retention = seconds(v));
        option("--reap-lag-seconds", "S", "the reaper deletes an expired record up to this late",
                o -> secs(o.reapLag), (b, v) -> b.reapLag = seconds(v));
        option("--redrive-every", "S", "mean seconds between clicks on Redrive DLQ, 0: never",
                o -> secs(o.redriveEvery), (b, v) -> b.redriveEvery = seconds(v));
        option("--redrive-refused", "F", "share of redrives whose move task is made to fail to start",
                o -> "" + o.redriveRefused, (b, v) -> b.redriveRefused = Double.parseDouble(v));
        option("--max-receive-count", "N", "the queue's attempt budget", o -> "" + o.maxReceiveCount,
                (b, v) -> b.maxReceiveCount = Integer.parseInt(v));
        option("--settle-seconds", "S", "wait for the last jobs once the faults stop", o -> secs(o.settle),
                (b, v) -> b.settle = seconds(v));
        option("--out", "DIR", "ledger, worker logs, summary", o -> o.out.toString(), (b, v) -> b.out = Path.of(v));
    }

    /** Every field, mutable, for parsing. */
    private static final class Builder {
        int jobs = DEFAULT_JOBS;
        int workers = 4;
        int slots = 4;
        long seed = System.nanoTime();
        Duration maxJob = Duration.ofMillis(2_500);
        Duration killEvery = Duration.ofSeconds(5);
        Duration spotEvery = Duration.ofSeconds(9);
        Duration termEvery = Duration.ofSeconds(23);
        Duration outageEvery = Duration.ofSeconds(30);
        Duration outageLength = Duration.ofSeconds(6);
        double duplicates = 0.05;
        double poison = 0.02;
        double oversize = 0.005;
        double oversizeNoBucket = 0.002;
        double files = 0.1;
        double refused = 0.01;
        double loseResponse = 0.01;
        double throttle = 0.01;
        double slow = 0.006;
        double serverError = 0.01;
        double apiLoseResponse = 0.02;
        double apiThrottle = 0.02;
        double s3LoseResponse = 0.02;
        double s3Throttle = 0.02;
        double s3Slow = 0.01;
        double s3ServerError = 0.02;
        Duration s3OutageEvery = Duration.ofSeconds(40);
        Duration retention = Duration.ofSeconds(120);
        Duration reapLag = Duration.ofSeconds(60);
        Duration redriveEvery = Duration.ofSeconds(90);
        double redriveRefused = 0.5;
        int maxReceiveCount = 5;
        Duration settle = Duration.ofMinutes(10);
        Path out = Path.of("target", "chaos");

        ChaosOptions build() {
            return new ChaosOptions(jobs, workers, slots, seed, maxJob, killEvery, spotEvery, termEvery, outageEvery,
                    outageLength, duplicates, poison, oversize, oversizeNoBucket, files, refused, loseResponse, throttle,
                    slow, serverError, apiLoseResponse, apiThrottle, s3LoseResponse, s3Throttle, s3Slow, s3ServerError,
                    s3OutageEvery, retention, reapLag, redriveEvery, redriveRefused, maxReceiveCount, settle, out);
        }
    }

    static ChaosOptions defaults() {
        return new Builder().build();
    }

    /** Reads {@code --name value} pairs over the defaults; {@link IllegalArgumentException} names a bad one. */
    public static ChaosOptions parse(String... args) {
        Builder b = new Builder();
        for (int i = 0; i < args.length; i++) {
            String name = args[i];
            if (name.equals("--help") || name.equals("-h")) {
                throw new IllegalArgumentException(usage());
            }
            Option option = OPTIONS.get(name);
            if (option == null) {
                throw new IllegalArgumentException("unknown option " + name + "\n" + usage());
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(name + " needs a value\n" + usage());
            }
            String value = args[++i];
            try {
                option.set().accept(b, value);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(name + " must be a number, but is '" + value + "'");
            }
        }
        ChaosOptions o = b.build();
        if (o.jobs < 1 || o.workers < 1 || o.slots < 1 || o.maxReceiveCount < 2) {
            throw new IllegalArgumentException("--jobs, --workers and --slots must be at least 1, --max-receive-count"
                    + " at least 2");
        }
        for (double share : new double[] {o.duplicates, o.poison, o.oversize, o.oversizeNoBucket, o.files, o.refused,
                o.loseResponse, o.throttle, o.slow, o.serverError, o.apiLoseResponse, o.apiThrottle, o.s3LoseResponse,
                o.s3Throttle, o.s3Slow, o.s3ServerError, o.redriveRefused}) {
            if (!(share >= 0 && share <= 1)) {
                throw new IllegalArgumentException("shares and rates are from 0 to 1, not " + share + "\n" + usage());
            }
        }
        if (o.poison + o.oversize + o.oversizeNoBucket + o.refused > 1) {
            throw new IllegalArgumentException("--poison, --oversize, --oversize-no-bucket and --refused together exceed"
                    + " every job");
        }
        if (o.loseResponse + o.throttle + o.slow + o.serverError > 1 || o.apiLoseResponse + o.apiThrottle > 1
                || o.s3LoseResponse + o.s3Throttle + o.s3Slow + o.s3ServerError > 1) {
            throw new IllegalArgumentException("the fault rates of one proxy together exceed every request");
        }
        return o;
    }

    /** Seconds, {@code 0} for "never". */
    private static Duration seconds(String v) {
        return Duration.ofMillis(Math.round(Double.parseDouble(v) * 1000));
    }

    static String usage() {
        ChaosOptions d = defaults();
        List<String> lines = new ArrayList<>();
        lines.add("usage: scripts/chaos.sh [--name value]...   (every option has a default)");
        OPTIONS.forEach((name, option) -> lines.add(String.format(Locale.ROOT, "  %-24s %s (%s)",
                name + " " + option.argument(), option.help(), option.shown().apply(d))));
        return String.join("\n", lines);
    }

    private static String secs(Duration d) {
        return String.format(Locale.ROOT, "%.0f", d.toMillis() / 1000.0);
    }
}
