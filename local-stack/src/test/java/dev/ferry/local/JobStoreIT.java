package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.DynamoDbJobStore;
import dev.ferry.core.Job;
import dev.ferry.core.JobIds;
import dev.ferry.core.JobStatus;
import dev.ferry.core.JobStore;
import dev.ferry.core.Lease;
import java.time.Instant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The store's conditions against DynamoDB Local: what the unit tests assert as text, enforced for real. */
class JobStoreIT {

    private static final Instant T0 = Instant.parse("2026-11-22T10:00:00Z");
    private static LocalStack stack;
    private static DynamoDbJobStore store;
    private final JobIds ids = new JobIds();

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0).build());
        store = new DynamoDbJobStore(stack.dynamoDb(), stack.tableName());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    private Job newJob() {
        Job job = Job.builder().jobId(ids.newId()).type("t").input("{}").requestHash("h").status(JobStatus.QUEUED)
                .attempts(0).version(0L).createdAt(T0).updatedAt(T0).build();
        assertInstanceOf(JobStore.Created.class, store.create(job));
        return job;
    }

    private Lease claim(Job job, String worker, Instant now) {
        JobStore.Claimed claimed = assertInstanceOf(JobStore.Claimed.class,
                store.claim(job.jobId(), worker, "m-" + worker, now.plusSeconds(60), now));
        return claimed.job().lease().orElseThrow();
    }

    @Test
    void create_twice_keepsTheFirst() {
        Job job = newJob();

        JobStore.CreateResult again = store.create(job.toBuilder().requestHash("other").build());

        assertEquals("h", assertInstanceOf(JobStore.AlreadyExists.class, again).job().requestHash());
    }

    @Test
    void claim_whileLeaseHeld_isRefused_showingTheHolder() {
        Job job = newJob();
        claim(job, "w1", T0);

        JobStore.ClaimResult second = store.claim(job.jobId(), "w2", "m-2", T0.plusSeconds(70), T0.plusSeconds(10));

        assertEquals("w1", assertInstanceOf(JobStore.NotClaimable.class, second).current().leaseOwner());
    }

    @Test
    void claim_whenLeaseExpired_takesOver_withANewToken() {
        Job job = newJob();
        Lease first = claim(job, "w1", T0);

        Lease second = claim(job, "w2", T0.plusSeconds(61));

        assertEquals(first.token() + 1, second.token());
        assertEquals(2, store.get(job.jobId()).orElseThrow().attempts());
    }

    @Test
    void zombie_cannotCompleteRenewOrFail_afterTakeover() {
        Job job = newJob();
        Lease zombie = claim(job, "w1", T0);
        Lease current = claim(job, "w2", T0.plusSeconds(61));

        assertFalse(store.renewLease(zombie, T0.plusSeconds(200)));
        assertFalse(store.complete(zombie, "{\"by\":\"zombie\"}", T0.plusSeconds(62)));
        assertFalse(store.fail(zombie, "zombie error", T0.plusSeconds(62)));
        assertTrue(store.complete(current, "{\"by\":\"w2\"}", T0.plusSeconds(63)));

        Job done = store.get(job.jobId()).orElseThrow();
        assertEquals(JobStatus.SUCCEEDED, done.status());
        assertEquals("{\"by\":\"w2\"}", done.result());
        assertEquals(null, done.leaseOwner());
    }

    @Test
    void sameWorker_cannotFinishTwice() {
        Job job = newJob();
        Lease lease = claim(job, "w1", T0);

        assertTrue(store.complete(lease, "{}", T0.plusSeconds(1)));
        assertFalse(store.complete(lease, "{}", T0.plusSeconds(2)));
    }

    @Test
    void finishedJob_cannotBeClaimed_evenWithAnExpiredLeaseTime() {
        Job job = newJob();
        Lease lease = claim(job, "w1", T0);
        store.fail(lease, "boom", T0.plusSeconds(1));

        JobStore.ClaimResult later = store.claim(job.jobId(), "w2", "m", T0.plusSeconds(999), T0.plusSeconds(900));

        JobStore.NotClaimable refused = assertInstanceOf(JobStore.NotClaimable.class, later);
        assertEquals(JobStatus.FAILED, refused.current().status());
        assertEquals("boom", refused.current().error());
    }

    @Test
    void retryLater_returnsItToTheQueue_forTheNextClaim() {
        Job job = newJob();
        Lease lease = claim(job, "w1", T0);

        assertTrue(store.retryLater(lease, "exit 1", T0.plusSeconds(1)));
        Lease next = claim(job, "w2", T0.plusSeconds(2));

        assertEquals(lease.token() + 2, next.token());
        assertEquals("exit 1", store.get(job.jobId()).orElseThrow().error());
    }

    @Test
    void claimOrEnqueue_ofAMissingRecord_neverCreatesOne() {
        String missing = ids.newId();

        assertInstanceOf(JobStore.Missing.class, store.claim(missing, "w1", "m", T0.plusSeconds(60), T0));
        assertThrows(IllegalStateException.class, () -> store.markEnqueued(missing, T0));
        assertTrue(store.get(missing).isEmpty());
    }

    @Test
    void release_returnsTheJobWithoutAFailure_andTheNextClaimRunsIt() {
        Job job = newJob();
        Lease lease = claim(job, "w1", T0);

        assertTrue(store.release(lease, T0.plusSeconds(1)));
        assertFalse(store.release(lease, T0.plusSeconds(2)));
        Job released = store.get(job.jobId()).orElseThrow();
        assertEquals(JobStatus.QUEUED, released.status());
        assertEquals(1, released.preemptions());
        assertEquals(null, released.error());
        claim(job, "w2", T0.plusSeconds(3));
    }

    @Test
    void requeueAndCancel_actOnlyOnFailedJobs() {
        Job job = newJob();
        Lease lease = claim(job, "w1", T0);
        assertFalse(store.requeueFailed(job.jobId(), T0), "a running job is not requeued");
        store.fail(lease, "boom", T0.plusSeconds(1));

        assertTrue(store.requeueFailed(job.jobId(), T0.plusSeconds(2)));
        Job requeued = store.get(job.jobId()).orElseThrow();
        assertEquals(JobStatus.QUEUED, requeued.status());
        assertEquals(1, requeued.redrives());
        assertEquals(1, requeued.attempts(), "attempt history is kept");
        assertFalse(store.cancelFailed(job.jobId(), T0.plusSeconds(3)), "a queued job is not cancelled");

        Lease again = claim(job, "w2", T0.plusSeconds(4));
        store.fail(again, "boom again", T0.plusSeconds(5));
        assertTrue(store.cancelFailed(job.jobId(), T0.plusSeconds(6)));
        assertEquals(JobStatus.CANCELLED, store.get(job.jobId()).orElseThrow().status());
        assertInstanceOf(JobStore.NotClaimable.class,
                store.claim(job.jobId(), "w3", "m", T0.plusSeconds(99), T0.plusSeconds(7)));
    }

    @Test
    void scan_readsRecordsWithoutTheirPayloads() {
        Job job = newJob();

        JobStore.ScanResult result = store.scan(100_000);

        Job seen = result.jobs().stream().filter(j -> j.jobId().equals(job.jobId())).findFirst().orElseThrow();
        assertEquals(JobStatus.QUEUED, seen.status());
        assertEquals(null, seen.input());
        assertEquals(1, store.scan(1).jobs().size());
        assertTrue(store.scan(1).truncated());
    }
}
