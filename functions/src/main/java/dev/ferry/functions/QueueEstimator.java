package dev.ferry.functions;

import dev.ferry.core.AwsErrors;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.Job;
import dev.ferry.core.JobQueries;
import dev.ferry.core.JobStatus;
import dev.ferry.core.Pools;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

/**
 * A queued job's position and expected time to finish, for {@code GET /jobs/{jobId}}.
 *
 * <ul>
 *   <li><b>Position</b>: the QUEUED jobs created before it, counted on the status index (at most
 *       {@value #POSITION_CAP}; past that, "1000+"). Jobs waiting out a retry's back-off count too.</li>
 *   <li><b>Slots working</b>: {@value #FLEET_SLOTS} when set (a fleet of fixed size), else the job
 *       queue's in-flight messages: each running job holds one, and while jobs wait every working
 *       slot is busy, so that is the number of slots working (approximately: SQS's count is
 *       approximate, and includes a duplicate put off for a while).</li>
 *   <li><b>Run time</b>: the median of its type's last {@value #RUN_TIME_SAMPLES} successful runs
 *       (from its history), read through the type index.</li>
 *   <li><b>ETA</b>: {@code (position / slots, rounded down, + 1) x run time}: the waves of jobs
 *       ahead of it, then its own run; every job ahead assumed as long as one of its own type.</li>
 * </ul>
 *
 * <p>The slots and each type's run times are kept for a while per function instance
 * ({@link #SLOTS_KEPT}, {@link #RUN_TIMES_KEPT}), so that a client polling its job costs a count,
 * not three reads. A read that found none (no slot working, no run of the type yet) is kept only
 * {@link #EMPTY_KEPT}: the first slot or run to appear shows within seconds, not a minute later,
 * and a type that never succeeds costs its reads at most that often. A read that fails leaves the estimate out (logged): the job's own answer never
 * waits or fails on it.
 */
final class QueueEstimator {

    private static final Logger LOG = LoggerFactory.getLogger(QueueEstimator.class);
    /** A fleet's fixed number of slots, where in-flight messages would say less (see the class comment). */
    static final String FLEET_SLOTS = "FERRY_FLEET_SLOTS";
    static final int POSITION_CAP = 1_000;
    static final int RUN_TIME_SAMPLES = 20;
    static final Duration SLOTS_KEPT = Duration.ofSeconds(10);
    static final Duration RUN_TIMES_KEPT = Duration.ofSeconds(60);
    /** How long a read that found no slot working, or no run of a type, is kept. */
    static final Duration EMPTY_KEPT = Duration.ofSeconds(5);
    /** Types whose run times one instance keeps; beyond, it starts over. */
    static final int TYPES_KEPT = 1_000;

    /** How many slots work the queue now; empty when not known. */
    interface Slots {
        OptionalInt working();
    }

    private final JobQueries queries;
    private final java.util.function.Function<Job, Slots> slots;
    private final Clock clock;
    private final Map<String, Kept<List<Duration>>> runTimes = new ConcurrentHashMap<>();

    private record Kept<T>(T value, Instant until) {
    }

    QueueEstimator(JobQueries queries, Slots slots, Clock clock) {
        this(queries, job -> slots, clock);
        Objects.requireNonNull(slots, "slots");
    }

    /** @param slots the slots working the queue of a job's pool */
    QueueEstimator(JobQueries queries, java.util.function.Function<Job, Slots> slots, Clock clock) {
        this.queries = Objects.requireNonNull(queries, "queries");
        this.slots = Objects.requireNonNull(slots, "slots");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * {@value #FLEET_SLOTS} if set, else the in-flight messages of the queues of the job's pool (its
     * job queue and its high-priority lane: the slots working that pool).
     */
    static QueueEstimator fromEnvironment(FerryEnv env, JobQueries queries, SqsClient sqs) {
        int fixed = env.intValue(FLEET_SLOTS, 0);
        if (fixed < 0) {
            throw new IllegalStateException("environment variable " + FLEET_SLOTS + " must be a number of slots"
                    + " (or unset: the job queue's in-flight messages), but is " + fixed);
        }
        if (fixed > 0) {
            return new QueueEstimator(queries, () -> OptionalInt.of(fixed), Clock.systemUTC());
        }
        Pools pools = Pools.from(env);
        Map<String, Slots> byPool = new ConcurrentHashMap<>();
        for (Pools.Pool pool : pools.all()) {
            byPool.put(pool.name(), inFlight(sqs, pool.queueUrls(), Clock.systemUTC()));
        }
        Slots none = OptionalInt::empty;
        return new QueueEstimator(queries, job -> pools.poolOf(job).map(pool -> byPool.get(pool.name())).orElse(none),
                Clock.systemUTC());
    }

    /** One queue's in-flight messages (see {@link #inFlight(SqsClient, List, Clock)}). */
    static Slots inFlight(SqsClient sqs, String queueUrl, Clock clock) {
        return inFlight(sqs, List.of(queueUrl), clock);
    }

    /** The queues' in-flight messages, summed, read at most every {@link #SLOTS_KEPT}; empty when there are none. */
    static Slots inFlight(SqsClient sqs, List<String> queueUrls, Clock clock) {
        return new Slots() {
            private volatile Kept<Integer> kept;

            @Override
            public OptionalInt working() {
                Kept<Integer> current = kept;
                if (current == null || clock.instant().isAfter(current.until())) {
                    int working = 0;
                    for (String queueUrl : queueUrls) {
                        working += Integer.parseInt(sqs.getQueueAttributes(r -> r.queueUrl(queueUrl).attributeNames(
                                QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE)).attributes()
                                .getOrDefault(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE, "0"));
                    }
                    current = new Kept<>(working, clock.instant().plus(working > 0 ? SLOTS_KEPT : EMPTY_KEPT));
                    kept = current;
                }
                return current.value() > 0 ? OptionalInt.of(current.value()) : OptionalInt.empty();
            }
        };
    }

    /** The estimate for a QUEUED job; empty for any other, or when its position cannot be read. */
    Optional<QueueEstimate> estimate(Job job) {
        if (job.status() != JobStatus.QUEUED) {
            return Optional.empty();
        }
        JobQueries.Count ahead;
        try {
            ahead = queries.queuedBefore(job, POSITION_CAP);
        } catch (SdkException e) {
            LOG.warn("job {}: no queue position ({})", job.jobId(), AwsErrors.describe(e));
            return Optional.empty();
        }
        if (ahead.more()) {
            return Optional.of(new QueueEstimate(ahead.value(), true, null));
        }
        Long eta = null;
        try {
            OptionalInt working = slots.apply(job).working();
            Optional<Duration> runTime = median(runTimes(job.type()));
            if (working.isPresent() && runTime.isPresent()) {
                eta = eta(ahead.value(), working.getAsInt(), runTime.get());
            }
        } catch (SdkException e) {
            LOG.warn("job {}: no ETA ({})", job.jobId(), AwsErrors.describe(e));
        }
        return Optional.of(new QueueEstimate(ahead.value(), false, eta));
    }

    /** {@code (ahead / slots + 1) x runTime}, in whole seconds, rounded up. */
    static long eta(long ahead, int slots, Duration runTime) {
        long waves = ahead / Math.max(1, slots) + 1;
        long millis = runTime.toMillis() * waves;
        return (millis + 999) / 1000;
    }

    static Optional<Duration> median(List<Duration> samples) {
        if (samples.isEmpty()) {
            return Optional.empty();
        }
        List<Duration> sorted = new ArrayList<>(samples);
        sorted.sort(null);
        int middle = sorted.size() / 2;
        return Optional.of(sorted.size() % 2 == 1 ? sorted.get(middle)
                : sorted.get(middle - 1).plus(sorted.get(middle)).dividedBy(2));
    }

    private List<Duration> runTimes(String type) {
        Instant now = clock.instant();
        Kept<List<Duration>> kept = runTimes.get(type);
        if (kept != null && !now.isAfter(kept.until())) {
            return kept.value();
        }
        List<Duration> read = queries.recentRunTimes(type, RUN_TIME_SAMPLES);
        if (runTimes.size() >= TYPES_KEPT) {
            runTimes.clear();
        }
        runTimes.put(type, new Kept<>(read, now.plus(read.isEmpty() ? EMPTY_KEPT : RUN_TIMES_KEPT)));
        return read;
    }
}
