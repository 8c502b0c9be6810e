package dev.ferry.functions;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What Ferry keeps of one job's webhook deliveries (an item of the deliveries table, beside the
 * job's record, never in it): the latest attempts, which deliveries are settled, the job's latest
 * event (what "Resend" sends again), and whether the receiver said the URL is gone. Every list is
 * bounded, so the item stays a few kilobytes however long a job runs or a receiver fails.
 *
 * @param jobId the job
 * @param attempts the latest {@value #MAX_ATTEMPTS} delivery attempts, oldest first
 * @param settled ids of the latest {@value #MAX_SETTLED} deliveries that are done (delivered, or
 *     given up): a copy of such a delivery's message is not sent again
 * @param latest the newest event a delivery was made for; null before the first
 * @param goneAt when the receiver answered {@code 410 Gone}: no later event of the job is sent
 *     (a Resend still is); null if it never did
 * @param attemptsTotal every attempt ever recorded, also those no longer listed
 * @param revision the item's version: each write adds one, on the condition that it read the one before
 */
record WebhookDeliveries(String jobId, List<Attempt> attempts, List<String> settled, Event latest, Instant goneAt,
                         long attemptsTotal, long revision) {

    static final int MAX_ATTEMPTS = 20;
    static final int MAX_SETTLED = 50;
    /** Longest error text kept per attempt. */
    static final int MAX_ERROR_CHARS = 300;

    static final String DELIVERED = "delivered";
    static final String RETRYING = "retrying";
    static final String GAVE_UP = "gave up";
    static final String SKIPPED = "skipped";

    WebhookDeliveries {
        Objects.requireNonNull(jobId, "jobId");
        attempts = List.copyOf(attempts);
        settled = List.copyOf(settled);
    }

    /** A job none of whose deliveries has been recorded yet. */
    static WebhookDeliveries none(String jobId) {
        return new WebhookDeliveries(jobId, List.of(), List.of(), null, null, 0, 0);
    }

    /**
     * One delivery attempt.
     *
     * @param deliveryId the delivery ({@code Ferry-Webhook-Id}), the same on each of its attempts
     * @param event the event it carried
     * @param attempt 1 for the first, then 2, 3, ...
     * @param at when it was made
     * @param statusCode the receiver's answer; null when there was none (no connection, a timeout)
     * @param durationMs how long the request took
     * @param outcome {@value #DELIVERED}, {@value #RETRYING}, {@value #GAVE_UP} or {@value #SKIPPED}
     * @param error what went wrong; null when delivered
     */
    record Attempt(String deliveryId, String event, int attempt, Instant at, Integer statusCode, long durationMs,
                   String outcome, String error) {
        Attempt {
            Objects.requireNonNull(deliveryId, "deliveryId");
            Objects.requireNonNull(event, "event");
            Objects.requireNonNull(at, "at");
            Objects.requireNonNull(outcome, "outcome");
            if (error != null && error.length() > MAX_ERROR_CHARS) {
                error = error.substring(0, MAX_ERROR_CHARS - 1) + "…";
            }
        }
    }

    /**
     * An event a delivery was made for.
     *
     * @param deliveryId its first delivery's id (a Resend's delivery id starts with it)
     * @param event the event's name
     * @param version the job record's version that the event came with
     * @param at when it happened
     */
    record Event(String deliveryId, String event, long version, Instant at) {
    }

    /** Whether a delivery is done with: a later copy of its message is a duplicate. */
    boolean settled(String deliveryId) {
        return settled.contains(deliveryId);
    }

    /**
     * This state with one more attempt recorded, bounded, and one revision on.
     *
     * @param attempt the attempt
     * @param event the event it was for: becomes {@link #latest} if newer than the one there
     * @param gone the receiver answered {@code 410 Gone}
     */
    WebhookDeliveries with(Attempt attempt, Event event, boolean gone) {
        List<Attempt> moreAttempts = new ArrayList<>(attempts);
        moreAttempts.add(attempt);
        List<String> moreSettled = new ArrayList<>(settled);
        boolean done = !attempt.outcome().equals(RETRYING);
        if (done && !moreSettled.contains(attempt.deliveryId())) {
            moreSettled.add(attempt.deliveryId());
        }
        Event newest = latest == null || newer(event, latest) ? event : latest;
        Instant goneNow = gone ? attempt.at() : attempt.outcome().equals(DELIVERED) ? null : goneAt;
        return new WebhookDeliveries(jobId, last(moreAttempts, MAX_ATTEMPTS), last(moreSettled, MAX_SETTLED), newest,
                goneNow, attemptsTotal + 1, revision + 1);
    }

    private static boolean newer(Event candidate, Event current) {
        if (candidate.version() != current.version()) {
            return candidate.version() > current.version();
        }
        return candidate.at().isAfter(current.at());
    }

    private static <T> List<T> last(List<T> list, int most) {
        return list.size() <= most ? list : list.subList(list.size() - most, list.size());
    }
}
