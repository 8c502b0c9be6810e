package dev.ferry.worker;

import dev.ferry.core.FerryEnv;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A pool's rule for where a failed attempt's retry runs: an attempt whose error matches
 * {@link #when()} (a CUDA out-of-memory, say) is retried on another pool ({@link #pool()}, whose
 * job queue is {@link #queueUrl()}) instead of its own. The job's record names the new pool from
 * that retry on, and its back-off copy goes to that pool's queue. Only a retry moves: a failure
 * a retry would repeat, or the last attempt, ends the job where it is.
 *
 * <p>From the environment the pool's bootstrap gives its workers (the template's
 * {@code RetryElsewhereWhen} and {@code RetryElsewhereTo}): {@value #WHEN}, a regular expression
 * found anywhere in the attempt's error, case-sensitive as written ({@code (?i)} for not);
 * {@value #POOL}; {@value #QUEUE_URL}. Without {@value #WHEN} there is no rule (the template sets
 * the other two for every pool, to a queue no pool has where there is none).
 */
public record RetryElsewhere(Pattern when, String pool, String queueUrl) {

    public static final String WHEN = "FERRY_RETRY_ELSEWHERE_WHEN";
    public static final String POOL = "FERRY_RETRY_ELSEWHERE_POOL";
    public static final String QUEUE_URL = "FERRY_RETRY_ELSEWHERE_QUEUE_URL";

    public RetryElsewhere {
        Objects.requireNonNull(when, "when");
        Objects.requireNonNull(pool, "pool");
        Objects.requireNonNull(queueUrl, "queueUrl");
    }

    /**
     * The rule, or empty without one.
     *
     * @throws IllegalStateException a rule that is half set, whose pattern does not compile, or
     *     that sends a job to the pool it is in or to the worker's own queue; the message names the
     *     variable
     */
    public static Optional<RetryElsewhere> fromEnvironment(FerryEnv env, String ownQueueUrl) {
        Optional<String> when = env.optional(WHEN);
        if (when.isEmpty()) {
            return Optional.empty();
        }
        Optional<String> pool = env.optional(POOL);
        Optional<String> queue = env.optional(QUEUE_URL);
        if (pool.isEmpty() || queue.isEmpty()) {
            throw new IllegalStateException(WHEN + " is set, so the rule to retry elsewhere needs " + POOL + " (the"
                    + " pool) and " + QUEUE_URL + " (its job queue) too");
        }
        if (pool.get().equals(env.optional(FerryEnv.POOL).orElse("")) || queue.get().equals(ownQueueUrl)) {
            throw new IllegalStateException(POOL + " is " + pool.get() + ", the pool this worker serves: a job is"
                    + " retried elsewhere, or where it is, without a rule");
        }
        try {
            return Optional.of(new RetryElsewhere(Pattern.compile(when.get()), pool.get(), queue.get()));
        } catch (PatternSyntaxException e) {
            throw new IllegalStateException(WHEN + " is not a regular expression: " + e.getDescription() + " in '"
                    + when.get() + "'", e);
        }
    }

    /** Whether an attempt that failed with this error is retried on {@link #pool()}. */
    public boolean matches(String error) {
        return error != null && when.matcher(error).find();
    }
}
