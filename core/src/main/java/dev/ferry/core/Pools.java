package dev.ferry.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The pools a deployment has and which job types each serves: where a job of a type is sent.
 *
 * <p>Read from the environment the template gives the functions and the workers:
 * {@value #POOLS} names the pools ({@code Large,Small}); for each pool {@code P},
 * {@code FERRY_POOL_P_QUEUE_URL} is its job queue, {@code FERRY_POOL_P_DLQ_URL} that queue's
 * dead-letter queue and {@code FERRY_POOL_P_TYPES} the job types it serves, comma-separated; a pool
 * may have a high-priority lane, {@code FERRY_POOL_P_PRIORITY_QUEUE_URL}, a second queue that
 * redrives to the same dead-letter queue and that the pool's workers receive from first. Without
 * {@value #POOLS} there is one pool, {@value #DEFAULT_POOL}: {@code FERRY_QUEUE_URL},
 * {@code FERRY_DLQ_URL}, {@value #PRIORITY_QUEUE_URL} (optional) and the types of
 * {@code FERRY_JOB_TYPES} (unset: every type).
 *
 * <p>A type is named exactly ({@code sd.xl}) or by a pattern of dot-separated segments, as a topic
 * exchange routes: {@code *} stands for one segment ({@code sd.*} serves {@code sd.xl}, not
 * {@code sd} nor {@code sd.xl.fast}), {@code #} for any number, none included ({@code sd.#}
 * serves {@code sd}, {@code sd.xl} and {@code sd.xl.fast}; {@code #} alone serves every type).
 * A type named exactly by a pool goes there, whatever patterns match it; else to the one pool
 * whose pattern matches it. So that this "one" holds, two pools naming the same type exactly, or
 * with patterns some type could match both, are refused when the configuration is read, naming
 * both: a job's pool never depends on the order pools are listed in.
 */
public final class Pools {

    /** The names of the pools, comma-separated; unset: the one pool {@value #DEFAULT_POOL}. */
    public static final String POOLS = "FERRY_POOLS";
    /** The pool of a deployment that declares none. */
    public static final String DEFAULT_POOL = "default";
    /** The high-priority lane of the one pool of a deployment that declares none (optional). */
    public static final String PRIORITY_QUEUE_URL = "FERRY_PRIORITY_QUEUE_URL";
    /** At most 32: {@code <stack>_<pool>-jobs-priority} must fit SQS's 80 characters with a 29-character stack. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z][A-Za-z0-9]{0,31}");
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9_-]+|\\*|#");

    /**
     * One pool: its name, queue, dead-letter queue, the job types it serves ({@link #types()},
     * exact names and patterns as configured) and its high-priority lane, if it has one.
     */
    public record Pool(String name, String queueUrl, Optional<String> deadLetterQueueUrl, List<String> types,
                       Optional<String> priorityQueueUrl) {
        public Pool {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(queueUrl, "queueUrl");
            Objects.requireNonNull(deadLetterQueueUrl, "deadLetterQueueUrl");
            Objects.requireNonNull(priorityQueueUrl, "priorityQueueUrl");
            types = List.copyOf(types);
            if (priorityQueueUrl.isPresent() && priorityQueueUrl.get().equals(queueUrl)) {
                throw new IllegalStateException("pool " + name + ": its high-priority lane is its queue " + queueUrl
                        + "; the lane must be a queue of its own");
            }
        }

        /** A pool without a high-priority lane. */
        public Pool(String name, String queueUrl, Optional<String> deadLetterQueueUrl, List<String> types) {
            this(name, queueUrl, deadLetterQueueUrl, types, Optional.empty());
        }

        /** The queues its workers receive from: its job queue, then its high-priority lane if it has one. */
        public List<String> queueUrls() {
            return priorityQueueUrl.map(lane -> List.of(queueUrl, lane)).orElseGet(() -> List.of(queueUrl));
        }
    }

    private final List<Pool> pools;
    private final Map<String, Pool> byName = new LinkedHashMap<>();
    private final Map<String, Pool> exact = new LinkedHashMap<>();
    private final List<Map.Entry<String[], Pool>> patterns = new ArrayList<>();

    private Pools(List<Pool> pools) {
        this.pools = List.copyOf(pools);
        for (Pool pool : pools) {
            if (byName.put(pool.name(), pool) != null) {
                throw new IllegalStateException(POOLS + " names pool " + pool.name() + " twice");
            }
            for (String type : pool.types()) {
                // An exact name is taken as it is (any type the API accepts); only a pattern is read by segments.
                if (isPattern(type)) {
                    String[] segments = segments(pool.name(), type);
                    for (Map.Entry<String[], Pool> other : patterns) {
                        if (other.getValue() != pool && overlap(segments, 0, other.getKey(), 0)) {
                            throw new IllegalStateException("pools " + other.getValue().name() + " and " + pool.name()
                                    + " could both serve one job type: their patterns \"" + String.join(".",
                                    other.getKey()) + "\" and \"" + type + "\" overlap; name such types exactly in one"
                                    + " pool, or make the patterns disjoint");
                        }
                    }
                    patterns.add(Map.entry(segments, pool));
                } else {
                    Pool earlier = exact.putIfAbsent(type, pool);
                    if (earlier != null && earlier != pool) {
                        throw new IllegalStateException("pools " + earlier.name() + " and " + pool.name()
                                + " both name job type \"" + type + "\"; a type is served by one pool");
                    }
                }
            }
        }
    }

    /** The pools of this list, in its order. */
    public static Pools of(List<Pool> pools) {
        if (pools.isEmpty()) {
            throw new IllegalStateException(POOLS + " names no pool");
        }
        return new Pools(pools);
    }

    /**
     * The one pool, {@value #DEFAULT_POOL}, of a deployment that declares none: this queue (and
     * lane, and dead-letter queue, where given), serving these types; none: every type.
     */
    public static Pools single(String queueUrl, Optional<String> deadLetterQueueUrl, Collection<String> types,
                               Optional<String> priorityQueueUrl) {
        return of(List.of(new Pool(DEFAULT_POOL, queueUrl, deadLetterQueueUrl,
                types.isEmpty() ? List.of("#") : types.stream().sorted().toList(), priorityQueueUrl)));
    }

    /** The configured pools; fails, naming the variable, on a missing queue or a type two pools serve. */
    public static Pools from(FerryEnv env) {
        Optional<String> names = env.optional(POOLS);
        if (names.isEmpty()) {
            return single(env.required(FerryEnv.QUEUE_URL), env.optional(FerryEnv.DLQ_URL), AcceptedJobTypes.from(env),
                    env.optional(PRIORITY_QUEUE_URL));
        }
        List<Pool> pools = new ArrayList<>();
        for (String name : list(names.get())) {
            if (!NAME.matcher(name).matches()) {
                throw new IllegalStateException(POOLS + ": pool name \"" + name + "\" must be a letter followed by"
                        + " at most 31 letters or digits (it names the pool's resources and variables)");
            }
            List<String> types = list(env.optional(typesVariable(name)).orElse(""));
            if (types.isEmpty()) {
                throw new IllegalStateException(typesVariable(name) + " is not set: pool " + name
                        + " would serve no job type");
            }
            pools.add(new Pool(name, env.required(queueVariable(name)), env.optional(deadLetterVariable(name)), types,
                    env.optional(priorityQueueVariable(name))));
        }
        return of(pools);
    }

    /** {@code FERRY_POOL_<name>_QUEUE_URL}. */
    public static String queueVariable(String pool) {
        return "FERRY_POOL_" + pool + "_QUEUE_URL";
    }

    /** {@code FERRY_POOL_<name>_PRIORITY_QUEUE_URL}: the pool's high-priority lane (optional). */
    public static String priorityQueueVariable(String pool) {
        return "FERRY_POOL_" + pool + "_PRIORITY_QUEUE_URL";
    }

    /** {@code FERRY_POOL_<name>_DLQ_URL}. */
    public static String deadLetterVariable(String pool) {
        return "FERRY_POOL_" + pool + "_DLQ_URL";
    }

    /** {@code FERRY_POOL_<name>_TYPES}. */
    public static String typesVariable(String pool) {
        return "FERRY_POOL_" + pool + "_TYPES";
    }

    /** The pool that serves jobs of this type; empty when none does. */
    public Optional<Pool> route(String type) {
        Pool named = exact.get(type);
        if (named != null) {
            return Optional.of(named);
        }
        String[] segments = type.split("\\.", -1);
        for (Map.Entry<String[], Pool> pattern : patterns) {
            if (matches(pattern.getKey(), 0, segments, 0)) {
                return Optional.of(pattern.getValue());
            }
        }
        return Optional.empty();
    }

    /**
     * The pool a recorded job belongs to: the one it was routed to at submit ({@link Job#pool()}),
     * else (a record from before pools, or of a pool no longer configured) the one its type routes
     * to now; empty when neither serves it.
     */
    public Optional<Pool> poolOf(Job job) {
        return Optional.ofNullable(job.pool()).flatMap(this::pool).or(() -> route(job.type()));
    }

    /** The pool of this name. */
    public Optional<Pool> pool(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    /** Every pool, in the configured order. */
    public List<Pool> all() {
        return pools;
    }

    /** The types the pools serve, for an error message: {@code sd.# (Large), thumbnail (Light)}. */
    public String describeServed() {
        List<String> served = new ArrayList<>();
        for (Pool pool : pools) {
            for (String type : pool.types()) {
                served.add(type + (pools.size() > 1 ? " (" + pool.name() + ")" : ""));
            }
        }
        return String.join(", ", served);
    }

    private static List<String> list(String commaSeparated) {
        return Arrays.stream(commaSeparated.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    private static String[] segments(String pool, String type) {
        String[] segments = type.split("\\.", -1);
        for (String segment : segments) {
            if (!SEGMENT.matcher(segment).matches()) {
                throw new IllegalStateException(typesVariable(pool) + ": \"" + type + "\" is neither a job type nor a"
                        + " pattern: segments between dots are letters, digits, '_' or '-', or a whole '*' or '#'");
            }
        }
        return segments;
    }

    /** A type with a '*' or '#' is a pattern (whose segments must then be well formed); any other, a name. */
    private static boolean isPattern(String type) {
        return type.contains("*") || type.contains("#");
    }

    /** Whether the pattern from {@code p} on matches the type's segments from {@code t} on. */
    private static boolean matches(String[] pattern, int p, String[] type, int t) {
        if (p == pattern.length) {
            return t == type.length;
        }
        if (pattern[p].equals("#")) {
            // None of the type's segments, or one more and still '#'.
            return matches(pattern, p + 1, type, t) || (t < type.length && matches(pattern, p, type, t + 1));
        }
        return t < type.length && (pattern[p].equals("*") || pattern[p].equals(type[t]))
                && matches(pattern, p + 1, type, t + 1);
    }

    /** Whether some type matches both patterns (from {@code i} and {@code j} on). */
    static boolean overlap(String[] a, int i, String[] b, int j) {
        if (i == a.length && j == b.length) {
            return true;
        }
        if (i < a.length && a[i].equals("#")) {
            // '#' takes nothing more, or takes b's next segment (whatever it stands for) and stays.
            if (overlap(a, i + 1, b, j) || (j < b.length && overlap(a, i, b, j + 1))) {
                return true;
            }
        }
        if (j < b.length && b[j].equals("#")) {
            if (overlap(a, i, b, j + 1) || (i < a.length && overlap(a, i + 1, b, j))) {
                return true;
            }
        }
        if (i == a.length || j == b.length || a[i].equals("#") || b[j].equals("#")) {
            return false;
        }
        boolean same = a[i].equals("*") || b[j].equals("*") || a[i].equals(b[j]);
        return same && overlap(a, i + 1, b, j + 1);
    }
}
