package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * No hoarding, with look-ahead: a one-slot worker holds at most one message beyond the job it
 * runs and the ones whose outcomes it is writing, however many wait (seven here), and none through
 * a job that runs long: the job claimed ahead for it is given back, uncounted, once it overruns.
 */
class NoHoardingIT {

    private static LocalStack stack;
    private static Api api;

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(1).workerSlots(1)
                .environmentOverrides(Map.of("FERRY_WAIT_SECONDS", "1")).build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    private static String status(String jobId) {
        return api.get(jobId).body().get("status").asText();
    }

    private static int inFlight() {
        return Queues.inFlight(stack.sqs(), stack.queueUrl());
    }

    private static void awaitAll(List<String> jobs, Duration within, int[] maxInFlight) {
        long deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline) {
            maxInFlight[0] = Math.max(maxInFlight[0], inFlight());
            if (jobs.stream().allMatch(id -> status(id).equals("SUCCEEDED"))) {
                return;
            }
        }
    }

    @Test
    void oneSlot_shortJobs_holdsAtMostOneLookAheadBeyondItsRunningAndFinishingJobs() {
        List<String> jobs = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            jobs.add(api.submit("{\"type\":\"sample\",\"input\":{\"sleepMs\":400}}").jobId());
        }
        int[] maxInFlight = {0};
        awaitAll(jobs, Duration.ofSeconds(60), maxInFlight);
        // In flight for one slot: the job it runs, the (at most two) jobs whose outcomes it is still
        // writing (pipelined slots), and at most one look-ahead; never a message for every waiting job.
        assertTrue(maxInFlight[0] >= 1 && maxInFlight[0] <= 4,
                "one busy slot: its running job's message, its finishing jobs' and at most one look-ahead in"
                        + " flight, but " + maxInFlight[0]);
        for (String id : jobs) {
            assertEquals("SUCCEEDED", status(id));
        }
        assertEquals(0, Queues.depth(stack.sqs(), stack.queueUrl()));
    }

    @Test
    void oneSlot_jobThatOverrunsItsTypesRunTime_holdsNoMessageThroughIt() throws Exception {
        // Short runs first: the type's expected run time is well under a second.
        List<String> warmUp = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            warmUp.add(api.submit("{\"type\":\"sample\",\"input\":{\"sleepMs\":200}}").jobId());
        }
        awaitAll(warmUp, Duration.ofSeconds(60), new int[] {0});
        String longJob = api.submit("{\"type\":\"sample\",\"input\":{\"sleepMs\":6000}}").jobId();
        String next = api.submit("{\"type\":\"sample\",\"input\":{\"sleepMs\":200}}").jobId();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!status(longJob).equals("RUNNING") && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals("RUNNING", status(longJob));
        // Its look-ahead (if any) goes back once it overruns its expected end by a second or so.
        Thread.sleep(2_500);
        int maxDuringLongRun = 0;
        for (int i = 0; i < 20; i++) {
            maxDuringLongRun = Math.max(maxDuringLongRun, inFlight());
            Thread.sleep(50);
        }
        assertEquals("RUNNING", status(longJob), "still running: the samples were taken during the long job");
        assertEquals(1, maxDuringLongRun, "only the long job's own message is in flight");
        assertEquals("QUEUED", status(next));
        awaitAll(List.of(longJob, next), Duration.ofSeconds(60), new int[] {0});
        assertEquals("SUCCEEDED", status(longJob));
        assertEquals("SUCCEEDED", status(next));
        // Claimed ahead, then given back unrun as the long job overran: that claim spent nothing.
        var done = api.get(next).body();
        assertEquals(1, done.get("attempts").asInt(), done.toString());
        assertEquals(1, done.get("history").size(), done.toString());
    }
}
