package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.Job;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;

/** The record's attempt budget, and the messages a job is never run on. */
class AttemptPolicyTest {

    private final AttemptPolicy policy = new AttemptPolicy(3, new Backoff(Duration.ofSeconds(10),
            Duration.ofMinutes(15), bound -> 0));

    private static Job job(int attempts, int preemptions, int redrives) {
        return Job.builder().jobId("j").attempts(attempts).preemptions(preemptions).redrives(redrives).build();
    }

    private static Delivery delivery(int receiveCount) {
        return Delivery.of(Message.builder().messageId("m").body("{}").attributes(Map.of(
                MessageSystemAttributeName.APPROXIMATE_RECEIVE_COUNT, Integer.toString(receiveCount))).build(),
                Instant.now(), new JobQueue(new software.amazon.awssdk.services.sqs.SqsClient() {
                    @Override
                    public String serviceName() {
                        return "sqs";
                    }

                    @Override
                    public void close() {
                    }
                }, "q", "dlq", 0, java.time.Clock.systemUTC()));
    }

    @Test
    void theBudgetCountsClaimsThatWereNotGivenBack_andGrowsWithEachRedrive() {
        assertFalse(policy.lastAttempt(job(2, 0, 0)));
        assertTrue(policy.lastAttempt(job(3, 0, 0)));
        assertFalse(policy.lastAttempt(job(5, 3, 0)), "three give-backs spend nothing");
        assertFalse(policy.pastBudget(job(3, 0, 0)));
        assertTrue(policy.pastBudget(job(4, 0, 0)));
        assertFalse(policy.lastAttempt(job(4, 0, 1)), "a redrive grants three more");
        assertTrue(policy.lastAttempt(job(6, 0, 1)));
    }

    @Test
    void theBackOff_doublesWithTheAttemptsOfThisRound() {
        assertEquals(Duration.ofSeconds(5), policy.retryDelay(job(1, 0, 0)));
        assertEquals(Duration.ofSeconds(10), policy.retryDelay(job(2, 0, 0)));
        assertEquals(Duration.ofSeconds(5), policy.retryDelay(job(4, 0, 1)), "a redrive starts a new round");
    }

    @Test
    void aMessageIsNeverRunOnItsLastTwoReceives_norTooNearItsTwelveHours() {
        Duration plenty = Duration.ofHours(11);
        Duration run = Duration.ofHours(1);
        assertFalse(policy.mustRearm(delivery(1), plenty, run));
        assertTrue(policy.mustRearm(delivery(2), plenty, run), "a failed re-send still leaves a receive to retry on");
        assertTrue(policy.mustRearm(delivery(3), plenty, run), "its death would let SQS dead-letter it unrecorded");
        assertTrue(policy.mustRearm(delivery(1), Duration.ofMinutes(30), run), "SQS could not keep it hidden that long");

        AttemptPolicy two = new AttemptPolicy(2, new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(2), b -> 0));
        assertFalse(two.mustRearm(delivery(1), plenty, run), "with two receives, the first must run");
        assertTrue(two.mustRearm(delivery(2), plenty, run));
    }
}
