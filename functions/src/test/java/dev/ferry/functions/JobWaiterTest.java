package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.JobQueries;
import dev.ferry.core.JobStatus;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.threeten.extra.MutableClock;
import software.amazon.awssdk.core.exception.SdkClientException;

/**
 * The shared waiter, ticked by hand on a clock the test moves: one read for every job that is due,
 * never one per request; a wait ends when its job is final or gone, or when its time is up; reads
 * slow down while a job runs; a failed or throttled read is tried again.
 */
class JobWaiterTest {

    private static final Instant T0 = Instant.parse("2026-11-22T10:00:00Z");

    private final MutableClock clock = MutableClock.of(T0, ZoneOffset.UTC);
    private final Map<String, JobStatus> statuses = new HashMap<>();
    private final Set<String> unprocessed = new HashSet<>();
    private final List<Set<String>> reads = new ArrayList<>();
    private RuntimeException failure;
    private final JobWaiter waiter = new JobWaiter(this::read, clock, false);

    private JobQueries.Statuses read(Collection<String> jobIds) {
        reads.add(new TreeSet<>(jobIds));
        if (failure != null) {
            throw failure;
        }
        Map<String, JobStatus> found = new HashMap<>();
        jobIds.forEach(id -> {
            if (statuses.containsKey(id) && !unprocessed.contains(id)) {
                found.put(id, statuses.get(id));
            }
        });
        Set<String> notRead = new HashSet<>(unprocessed);
        notRead.retainAll(jobIds);
        return new JobQueries.Statuses(found, notRead);
    }

    private void tickAfter(Duration duration) {
        clock.add(duration);
        waiter.tick();
    }

    @Test
    void manyRequests_waitingForManyJobs_costOneReadPerTick() {
        List<CompletableFuture<Boolean>> waits = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            statuses.put("job-" + i, JobStatus.RUNNING);
            waits.add(waiter.await("job-" + i, Duration.ofSeconds(20)));
        }
        waits.add(waiter.await("job-0", Duration.ofSeconds(20))); // two requests, one job

        tickAfter(JobWaiter.FIRST_POLL);

        assertEquals(1, reads.size(), "one read for every job that is due");
        assertEquals(30, reads.get(0).size());
        statuses.put("job-0", JobStatus.SUCCEEDED);
        statuses.put("job-7", JobStatus.CANCELLED);
        tickAfter(JobWaiter.TICK);

        assertEquals(2, reads.size());
        assertTrue(waits.get(0).join() && waits.get(30).join(), "both requests for job-0 are answered");
        assertTrue(waits.get(7).join());
        assertFalse(waits.get(1).isDone());
        assertEquals(28, waiter.watched());
    }

    @Test
    void aWait_endsWhenItsTimeIsUp_withFalse_andItsJobIsNoLongerRead() {
        statuses.put("slow", JobStatus.QUEUED);
        CompletableFuture<Boolean> wait = waiter.await("slow", Duration.ofSeconds(1));

        tickAfter(Duration.ofMillis(500));
        assertFalse(wait.isDone());
        tickAfter(Duration.ofMillis(500));

        assertFalse(wait.join(), "the time ran out first");
        int readsSoFar = reads.size();
        tickAfter(Duration.ofSeconds(5));
        assertEquals(readsSoFar, reads.size());
        assertEquals(0, waiter.watched());
    }

    @Test
    void aJobWithoutRecord_endsItsWait_asFinal() {
        CompletableFuture<Boolean> wait = waiter.await("gone", Duration.ofSeconds(10));

        tickAfter(JobWaiter.FIRST_POLL);

        assertTrue(wait.join(), "the caller reads it again and answers 404");
    }

    @Test
    void aRunningJob_isReadLessAndLessOften_upToOnceASecond() {
        statuses.put("long", JobStatus.RUNNING);
        waiter.await("long", Duration.ofSeconds(60));
        List<Instant> readAt = new ArrayList<>();
        for (int i = 0; i < 120; i++) { // 30 s of ticks
            int before = reads.size();
            tickAfter(JobWaiter.TICK);
            if (reads.size() > before) {
                readAt.add(clock.instant());
            }
        }
        List<Long> gaps = new ArrayList<>();
        for (int i = 1; i < readAt.size(); i++) {
            gaps.add(Duration.between(readAt.get(i - 1), readAt.get(i)).toMillis());
        }
        assertEquals(List.of(250L, 500L, 750L, 1000L), gaps.subList(0, 4),
                "250, 375, 562, 843 ms, then 1 s, each at the next tick");
        assertTrue(gaps.stream().allMatch(gap -> gap <= 1000), gaps.toString());
        assertTrue(readAt.size() < 40, "about one read a second, not four: " + readAt.size());
    }

    @Test
    void aFailedRead_isTriedAgainLater_andTheWaitStillEndsOnTime() {
        statuses.put("j", JobStatus.RUNNING);
        CompletableFuture<Boolean> wait = waiter.await("j", Duration.ofSeconds(2));
        failure = SdkClientException.create("Unable to execute HTTP request: Connect timed out");

        tickAfter(JobWaiter.FIRST_POLL);
        assertFalse(wait.isDone(), "an outage is no answer");
        failure = null;
        statuses.put("j", JobStatus.FAILED);
        tickAfter(Duration.ofMillis(500));

        assertTrue(wait.join());

        failure = SdkClientException.create("Unable to execute HTTP request: Connect timed out");
        statuses.put("k", JobStatus.RUNNING);
        CompletableFuture<Boolean> outage = waiter.await("k", Duration.ofSeconds(1));
        for (int i = 0; i < 4; i++) {
            tickAfter(JobWaiter.TICK);
        }
        assertFalse(outage.join(), "its own deadline ends it, reads failing or not");
    }

    @Test
    void aJobDynamoDbDidNotRead_isReadAgainAtTheNextTick() {
        statuses.put("throttled", JobStatus.SUCCEEDED);
        unprocessed.add("throttled");
        CompletableFuture<Boolean> wait = waiter.await("throttled", Duration.ofSeconds(10));

        tickAfter(JobWaiter.FIRST_POLL);
        assertFalse(wait.isDone());
        unprocessed.clear();
        tickAfter(JobWaiter.TICK);

        assertTrue(wait.join());
    }

    @Test
    void aRequestThatWentAway_isForgotten() {
        statuses.put("j", JobStatus.RUNNING);
        CompletableFuture<Boolean> wait = waiter.await("j", Duration.ofSeconds(30));
        wait.complete(false); // as waitFor does when its thread is interrupted

        tickAfter(JobWaiter.FIRST_POLL);

        assertEquals(0, waiter.watched());
        assertTrue(reads.isEmpty());
    }

    @Test
    void scheduled_waitFor_answersFromItsOwnThread_andForgetsTheJob() {
        statuses.put("quick", JobStatus.SUCCEEDED);
        JobWaiter scheduled = new JobWaiter(this::read);

        assertTrue(scheduled.waitFor("quick", Duration.ofSeconds(30)));
        assertEquals(0, scheduled.watched());
        statuses.put("again", JobStatus.FAILED);
        assertTrue(scheduled.waitFor("again", Duration.ofSeconds(30)), "started again after it stopped");
    }
}
