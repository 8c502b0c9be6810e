package dev.ferry.testkit;

import java.util.Arrays;
import java.util.Objects;
import java.util.Random;
import java.util.Set;

/**
 * When {@link HttpFaultProxy} injects a {@link Fault}: on which operations, how often, how many
 * times. Built with {@link #on(String...)}:
 *
 * <pre>{@code
 * proxy.add(FaultRule.on("PutItem").next(1).then(Fault.loseResponse()));          // the next PutItem
 * proxy.add(FaultRule.on("SendMessage", "DeleteMessage").probability(0.05, seed)
 *         .then(Fault.throttle()));                                                 // 5% of them, forever
 * proxy.add(FaultRule.on().next(3).then(Fault.serverErrorBefore(503)));             // the next 3 calls of any kind
 * }</pre>
 *
 * <p>A matching call fires the rule with its probability (default 1), drawn from a
 * {@link Random} of the rule's own, seeded, so that a rule's draws do not depend on the other
 * rules; {@link #next(int) next(n)} stops it after {@code n} injections. Both together: each
 * matching call with that probability, until {@code n} were injected. Thread-safe: concurrent
 * calls never inject more than {@code n}.
 */
public final class FaultRule {

    private final Set<String> operations;
    private final double probability;
    private final Random random;
    private final int limit;
    private final Fault fault;
    private final boolean firstAttemptsOnly;
    private int injected;

    private FaultRule(Set<String> operations, double probability, Random random, int limit, Fault fault,
                      boolean firstAttemptsOnly) {
        this.firstAttemptsOnly = firstAttemptsOnly;
        this.operations = operations;
        this.probability = probability;
        this.random = random;
        this.limit = limit;
        this.fault = fault;
    }

    /**
     * A rule for these operations, by name as the SDK calls them ({@code PutItem},
     * {@code SendMessage}): the part of {@code X-Amz-Target} after the dot, or the query
     * protocol's {@code Action}. None: every request.
     */
    public static Builder on(String... operations) {
        for (String operation : operations) {
            if (operation == null || operation.isBlank()) {
                throw new IllegalArgumentException("an operation name is required: " + Arrays.toString(operations));
            }
        }
        return new Builder(Set.of(operations));
    }

    public static final class Builder {
        private final Set<String> operations;
        private double probability = 1.0;
        private long seed;
        private int limit = Integer.MAX_VALUE;
        private boolean firstAttemptsOnly;

        private Builder(Set<String> operations) {
            this.operations = operations;
        }

        /** Inject into the next {@code calls} matching calls (that the probability lets through), then stop. */
        public Builder next(int calls) {
            if (calls < 1) {
                throw new IllegalArgumentException("next(n) needs n >= 1, not " + calls);
            }
            this.limit = calls;
            return this;
        }

        /** Inject into each matching call with probability {@code p}, drawn from {@code new Random(seed)}. */
        public Builder probability(double p, long seed) {
            if (!(p >= 0 && p <= 1)) {
                throw new IllegalArgumentException("a probability is from 0 to 1, not " + p);
            }
            this.probability = p;
            this.seed = seed;
            return this;
        }

        /**
         * Only a call's first attempt (the SDK's {@code amz-sdk-request: attempt=1} header): its
         * retries pass, as when AWS applies a write, loses the response, and the SDK tries again.
         */
        public Builder firstAttemptsOnly() {
            this.firstAttemptsOnly = true;
            return this;
        }

        public FaultRule then(Fault fault) {
            return new FaultRule(operations, probability, new Random(seed), limit, Objects.requireNonNull(fault, "fault"),
                    firstAttemptsOnly);
        }
    }

    public Fault fault() {
        return fault;
    }

    /** The operations it applies to; empty: all. */
    public Set<String> operations() {
        return operations;
    }

    /** How many times it fired. */
    public synchronized int injected() {
        return injected;
    }

    /** Whether it has fired its {@link Builder#next(int)} times and fires no more. */
    public synchronized boolean spent() {
        return injected >= limit;
    }

    /**
     * Whether it fires for a call of {@code operation}: matches, draws, counts.
     *
     * @param attempt the SDK's attempt number of this call (1 when the header is absent)
     */
    synchronized boolean fires(String operation, int attempt) {
        if (injected >= limit || (!operations.isEmpty() && !operations.contains(operation))
                || (firstAttemptsOnly && attempt > 1)) {
            return false;
        }
        if (probability < 1.0 && random.nextDouble() >= probability) {
            return false;
        }
        injected++;
        return true;
    }

    @Override
    public String toString() {
        return "on " + (operations.isEmpty() ? "any operation" : String.join(",", operations.stream().sorted().toList()))
                + (probability < 1.0 ? " p=" + probability : "")
                + (limit < Integer.MAX_VALUE ? " next " + limit : "") + (firstAttemptsOnly ? " first attempts" : "")
                + ": " + fault;
    }
}
