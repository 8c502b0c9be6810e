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
 * @param oversize share of jobs whose result is too large to store (they must fail at once)
 * @param refused share of submits whose input holds text SQS refuses (they must be a 400 and leave nothing)
 * @param loseResponse rate of the workers' SQS and DynamoDB calls whose response is lost after they were applied
 * @param throttle rate of the workers' calls answered with a throttling error
 * @param slow rate of the workers' calls whose (applied) answer is held past the SDK's attempt timeout
 * @param serverError rate of the workers' calls answered 500/503, half of them applied first
 * @param apiLoseResponse rate of the API functions' writes and sends whose response is lost
 * @param apiThrottle rate of the API functions' writes and sends that are throttled
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
                           double duplicates, double poison, double oversize, double refused,
                           double loseResponse, double throttle, double slow, double serverError,
                           double apiLoseResponse, double apiThrottle, Duration retention, Duration reapLag,
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
        option("--outage-seconds", "S", "longest outage", o -> secs(o.outageLength),
                (b, v) -> b.outageLength = seconds(v));
        option("--duplicates", "F", "share of jobs whose message is sent twice", o -> "" + o.duplicates,
                (b, v) -> b.duplicates = Double.parseDouble(v));
        option("--poison", "F", "share of jobs that always fail", o -> "" + o.poison,
                (b, v) -> b.poison = Double.parseDouble(v));
        option("--oversize", "F", "share of jobs whose result is too large to store", o -> "" + o.oversize,
                (b, v) -> b.oversize = Double.parseDouble(v));
        option("--refused", "F", "share of submits with text SQS refuses (U+FFFF, lone surrogates)",
                o -> "" + o.refused, (b, v) -> b.refused = Double.parseDouble(v));
        option("--lose-response", "P", "workers' calls: share whose response is lost after they were applied",
                o -> "" + o.loseResponse, (b, v) -> b.loseResponse = Double.parseDouble(v));
        option("--throttle", "P", "workers' calls: share throttled", o -> "" + o.throttle,
                (b, v) -> b.throttle = Double.parseDouble(v));
        option("--slow", "P", "workers' calls: share answered past the SDK's 4 s attempt timeout",
                o -> "" + o.slow, (b, v) -> b.slow = Double.parseDouble(v));
        option("--server-error", "P", "workers' calls: share answered 500/503 (half applied first)",
                o -> "" + o.serverError, (b, v) -> b.serverError = Double.parseDouble(v));
        option("--api-lose-response", "P", "API functions' writes and sends: share whose response is lost",
                o -> "" + o.apiLoseResponse, (b, v) -> b.apiLoseResponse = Double.parseDouble(v));
        option("--api-throttle", "P", "API functions' writes and sends: share throttled", o -> "" + o.apiThrottle,
                (b, v) -> b.apiThrottle = Double.parseDouble(v));
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
        double refused = 0.01;
        double loseResponse = 0.01;
        double throttle = 0.01;
        double slow = 0.006;
        double serverError = 0.01;
        double apiLoseResponse = 0.02;
        double apiThrottle = 0.02;
        Duration retention = Duration.ofSeconds(120);
        Duration reapLag = Duration.ofSeconds(60);
        Duration redriveEvery = Duration.ofSeconds(90);
        double redriveRefused = 0.5;
        int maxReceiveCount = 5;
        Duration settle = Duration.ofMinutes(10);
        Path out = Path.of("target", "chaos");

        ChaosOptions build() {
            return new ChaosOptions(jobs, workers, slots, seed, maxJob, killEvery, spotEvery, termEvery, outageEvery,
                    outageLength, duplicates, poison, oversize, refused, loseResponse, throttle, slow, serverError,
                    apiLoseResponse, apiThrottle, retention, reapLag, redriveEvery, redriveRefused, maxReceiveCount,
                    settle, out);
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
        for (double share : new double[] {o.duplicates, o.poison, o.oversize, o.refused, o.loseResponse, o.throttle,
                o.slow, o.serverError, o.apiLoseResponse, o.apiThrottle, o.redriveRefused}) {
            if (!(share >= 0 && share <= 1)) {
                throw new IllegalArgumentException("shares and rates are from 0 to 1, not " + share + "\n" + usage());
            }
        }
        if (o.poison + o.oversize + o.refused > 1) {
            throw new IllegalArgumentException("--poison, --oversize and --refused together exceed every job");
        }
        if (o.loseResponse + o.throttle + o.slow + o.serverError > 1 || o.apiLoseResponse + o.apiThrottle > 1) {
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
