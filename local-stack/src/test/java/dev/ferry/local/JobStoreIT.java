package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.AttemptRecord;
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
        store = DynamoDbJobStore.fromEnvironment(stack.dynamoDb(), stack.environment());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    private Job newJob() {
        Job job = Job.builder().jobId(ids.newId()).type("t").input("{}").requestHash("h").status(JobStatus.PENDING)
                .attempts(0).version(0L).createdAt(T0).updatedAt(T0).sendingUntil(T0.plusSeconds(30).toEpochMilli())
                .expiresAt(Instant.now().plus(DynamoDbJobStore.PENDING_RETENTION).getEpochSecond()).build();
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
    void takeOverOfALeaseThatRanOut_recordsTheLostAttemptOnce_andAStaleTakeOverIsRefused() {
        Job job = newJob();
        claim(job, "w1", T0);

        Lease second = claim(job, "w2", T0.plusSeconds(61));
        // w3 saw the same expired lease a moment before w2 took it: its take-over must not apply.
        JobStore.ClaimResult late = store.claim(job.jobId(), "w3", "m-w3", T0.plusSeconds(130), T0.plusSeconds(62));

        assertEquals("w2", assertInstanceOf(JobStore.NotClaimable.class, late).current().leaseOwner());
        Job taken = store.get(job.jobId()).orElseThrow();
        assertEquals(second.token(), taken.version());
        assertEquals(1, taken.history().size(), "one entry for the lease that was lost: " + taken.history());
        AttemptRecord lost = taken.history().get(0);
        assertEquals(AttemptRecord.LEASE_LOST, lost.outcome());
        assertEquals("w1", lost.worker());
        assertEquals(1, lost.attempt());
        assertEquals(T0, lost.startedAt());
        assertEquals(T0.plusSeconds(60), lost.endedAt(), "when its lease ran out");
        assertEquals(T0.plusSeconds(61), taken.claimedAt());
    }

    @Test
    void cancel_ofAWaitingJob_isFinal_andNoWorkerClaimsIt() {
        Job job = newJob();
        assertTrue(store.markQueued(job.jobId(), T0).isPresent());

        Job cancelled = store.cancelWaiting(job.jobId(), Job.CANCELLED_BY_CLIENT, T0.plusSeconds(1)).orElseThrow();
        Job again = store.cancelWaiting(job.jobId(), Job.CANCELLED_BY_CLIENT, T0.plusSeconds(2)).orElseThrow();

        assertEquals(JobStatus.CANCELLED, cancelled.status());
        assertEquals(Job.CANCELLED_BY_CLIENT, cancelled.cancelReason());
        assertEquals(cancelled, again, "a retry finds what the first try left and changes nothing");
        assertTrue(cancelled.expiresAt() != null && cancelled.finishedAt() != null);
        assertEquals(JobStatus.CANCELLED, assertInstanceOf(JobStore.NotClaimable.class,
                store.claim(job.jobId(), "w1", "m", T0.plusSeconds(70), T0.plusSeconds(3))).current().status());
        assertEquals(JobStatus.CANCELLED, store.requestCancel(job.jobId(), "x", T0.plusSeconds(4)).orElseThrow().status());
        assertTrue(store.cancelWaiting(ids.newId(), Job.CANCELLED_BY_CLIENT, T0).isEmpty(), "no record: none made");
    }

    @Test
    void cancel_ofARunningJob_isRequested_theRenewalSaysSo_andOnlyCancelCanEndTheLease() {
        Job job = newJob();
        Lease lease = claim(job, "w1", T0);
        assertEquals(JobStatus.RUNNING, store.cancelWaiting(job.jobId(), Job.CANCELLED_BY_CLIENT, T0.plusSeconds(1))
                .orElseThrow().status(), "a running job is not cancelled at once");

        Job requested = store.requestCancel(job.jobId(), Job.CANCELLED_BY_CLIENT, T0.plusSeconds(1)).orElseThrow();
        assertEquals(requested, store.requestCancel(job.jobId(), "other", T0.plusSeconds(2)).orElseThrow(),
                "asked twice: the first request stands");

        assertEquals(T0.plusSeconds(1), requested.cancelRequestedAt());
        assertEquals(lease.token(), requested.version(), "the worker's fence is untouched");
        assertTrue(store.recordProgress(lease, 0.5, "half", T0.plusSeconds(2)), "progress goes on while it stops");
        assertEquals(JobStore.Renewal.CANCEL_REQUESTED, store.renewLease(lease, T0.plusSeconds(90)));
        assertFalse(store.complete(lease, JobStore.Completion.of("{}"), T0.plusSeconds(3)));
        assertFalse(store.retryLater(lease, "exit 1", null, T0.plusSeconds(3)));
        assertFalse(store.fail(lease, "exit 1", null, T0.plusSeconds(3)));
        assertFalse(store.release(lease, null, T0.plusSeconds(3)));
        AttemptRecord entry = new AttemptRecord(1, "w1", 0, T0, T0.plusSeconds(3), AttemptRecord.CANCELLED, null, null);
        assertTrue(store.cancel(lease, "deadline passed", entry, T0.plusSeconds(3)));
        assertTrue(store.cancel(lease, "deadline passed", entry, T0.plusSeconds(3)), "its own write, recognised");

        Job done = store.get(job.jobId()).orElseThrow();
        assertEquals(JobStatus.CANCELLED, done.status());
        assertEquals(Job.CANCELLED_BY_CLIENT, done.cancelReason(), "the client's reason stays");
        assertEquals(java.util.List.of(entry), done.history());
        assertEquals(0.5, done.progress());
        assertEquals("half", done.progressMessage());
        assertEquals(null, done.leaseOwner());
        assertTrue(done.expiresAt() != null);
    }

    @Test
    void cancelUnrun_ofAJobPastItsDeadline_doesNotCountTheClaim() {
        Job job = newJob();
        Lease lease = claim(job, "w1", T0);

        assertTrue(store.cancelUnrun(lease, "deadline passed before it started", T0.plusSeconds(1)));

        Job done = store.get(job.jobId()).orElseThrow();
        assertEquals(JobStatus.CANCELLED, done.status());
        assertEquals(0, done.attempts());
        assertEquals("deadline passed before it started", done.cancelReason());
    }

    @Test
    void unclaim_ofAClaimMadeAhead_leavesTheJobAsIfNeverClaimed_recognisesItsOwnWrite_andIsFenced() {
        Job job = newJob();
        Lease ahead = claim(job, "w1", T0);

        assertTrue(store.unclaim(ahead, T0.plusSeconds(1)));
        assertTrue(store.unclaim(ahead, T0.plusSeconds(1)), "a retry after a lost response finds its own write");

        Job back = store.get(job.jobId()).orElseThrow();
        assertEquals(JobStatus.QUEUED, back.status());
        assertEquals(0, back.attempts(), "the claim made ahead is not counted");
        assertEquals(0, back.preemptions());
        assertEquals(java.util.List.of(), back.history());
        assertEquals(null, back.claimedAt());
        assertEquals(null, back.leaseOwner());
        assertEquals(ahead.token() + 1, back.version(), "the token moved on: the old lease writes nothing more");
        assertFalse(store.complete(ahead, JobStore.Completion.of("{}"), T0.plusSeconds(2)));

        Lease next = claim(job, "w2", T0.plusSeconds(2));
        assertEquals(1, store.get(job.jobId()).orElseThrow().attempts());
        assertFalse(store.unclaim(ahead, T0.plusSeconds(3)), "a stale lease cannot give the new claim back");
        store.requestCancel(job.jobId(), Job.CANCELLED_BY_CLIENT, T0.plusSeconds(3));
        assertFalse(store.unclaim(next, T0.plusSeconds(4)), "asked to cancel: only a cancel may end the lease");
        assertTrue(store.cancelUnrun(next, Job.CANCELLED_BY_CLIENT, T0.plusSeconds(4)));
        assertEquals(0, store.get(job.jobId()).orElseThrow().attempts());
    }

    @Test
    void progress_isWrittenUnderTheLease_clearedByTheNextClaim() {
        Job job = newJob();
        Lease first = claim(job, "w1", T0);
        assertTrue(store.recordProgress(first, 0.25, null, T0.plusSeconds(1)));
        assertEquals(0.25, store.get(job.jobId()).orElseThrow().progress());
        assertTrue(store.retryLater(first, "exit 1", null, T0.plusSeconds(2)));
        assertFalse(store.recordProgress(first, 0.5, null, T0.plusSeconds(3)), "not under a lease that ended");

        claim(job, "w2", T0.plusSeconds(4));
        Job second = store.get(job.jobId()).orElseThrow();
        assertEquals(null, second.progress());
        assertEquals(null, second.progressAt());
    }

    @Test
    void zombie_cannotCompleteRenewOrFail_afterTakeover() {
        Job job = newJob();
        Lease zombie = claim(job, "w1", T0);
        Lease current = claim(job, "w2", T0.plusSeconds(61));

        assertEquals(JobStore.Renewal.LOST, store.renewLease(zombie, T0.plusSeconds(200)));
        assertFalse(store.complete(zombie, JobStore.Completion.of("{\"by\":\"zombie\"}"), T0.plusSeconds(62)));
        assertFalse(store.fail(zombie, "zombie error", null, T0.plusSeconds(62)));
        assertTrue(store.complete(current, JobStore.Completion.of("{\"by\":\"w2\"}"), T0.plusSeconds(63)));

        Job done = store.get(job.jobId()).orElseThrow();
        assertEquals(JobStatus.SUCCEEDED, done.status());
        assertEquals("{\"by\":\"w2\"}", done.result());
        assertEquals(null, done.leaseOwner());
    }

    @Test
    void sameWorker_finishingTwice_changesNothing_andIsRecognisedAsItsOwnWrite() {
        // The second call is what the SDK's retry of a write whose response was lost looks like.
        Job job = newJob();
        Lease lease = claim(job, "w1", T0);

        assertTrue(store.complete(lease, JobStore.Completion.of("{\"n\":1}"), T0.plusSeconds(1)));
        Job first = store.get(job.jobId()).orElseThrow();
        assertTrue(store.complete(lease, JobStore.Completion.of("{\"n\":1}"), T0.plusSeconds(2)));

        assertEquals(first, store.get(job.jobId()).orElseThrow(), "applied once");
        assertFalse(store.fail(lease, "boom", null, T0.plusSeconds(3)), "not what this lease wrote");
    }

    @Test
    void history_keepsOneEntryPerAttempt_evenWhenAnOutcomeWriteIsRetried() {
        Job job = newJob();
        Lease first = claim(job, "w1", T0);
        AttemptRecord failed = new AttemptRecord(1, "w1", 0, T0, T0.plusSeconds(1), AttemptRecord.RETRYING,
                "exit 1", "jobs/" + job.jobId() + "/1/log.txt");
        assertTrue(store.retryLater(first, "exit 1", failed, T0.plusSeconds(1)));
        assertTrue(store.retryLater(first, "exit 1", failed, T0.plusSeconds(1)), "its own write, recognised");
        Lease second = claim(job, "w2", T0.plusSeconds(2));
        AttemptRecord succeeded = new AttemptRecord(2, "w2", 1, T0.plusSeconds(2), T0.plusSeconds(3),
                AttemptRecord.SUCCEEDED, null, null);
        JobStore.Completion completion = new JobStore.Completion(null, "jobs/" + job.jobId() + "/2/result.json",
                "[{\"name\":\"out.png\",\"key\":\"jobs/x/2/out.png\",\"bytes\":3}]", succeeded);
        assertTrue(store.complete(second, completion, T0.plusSeconds(3)));
        assertTrue(store.complete(second, completion, T0.plusSeconds(3)), "its own write, recognised");

        Job done = store.get(job.jobId()).orElseThrow();
        assertEquals(java.util.List.of(failed, succeeded), done.history());
        assertEquals(null, done.result(), "stored by reference");
        assertEquals(completion.resultKey(), done.resultKey());
        assertEquals(completion.filesJson(), done.files());
        assertEquals(null, done.error(), "the earlier attempt's error is gone with its success");
    }

    @Test
    void aRetryThatFindsAnotherWorkersLease_isNotMistakenForItsOwn() {
        Job job = newJob();
        Lease first = claim(job, "w1", T0);
        assertTrue(store.retryLater(first, "exit 1", null, T0.plusSeconds(1)));
        claim(job, "w1", T0.plusSeconds(2)); // the same worker again, with a new claim

        assertFalse(store.retryLater(first, "exit 1", null, T0.plusSeconds(3)), "the record moved on: a new lease id");
    }

    @Test
    void givenBackLease_isTakenOverAtOnce_countingAPreemptionNotAnAttempt() {
        Job job = newJob();
        Lease running = claim(job, "w1", T0);

        JobStore.Claimed copy = assertInstanceOf(JobStore.Claimed.class, store.claimGivenBack(job.jobId(),
                running.leaseId(), "w2", "m-copy", T0.plusSeconds(61), T0.plusSeconds(1)));

        assertEquals(2, copy.job().attempts());
        assertEquals(1, copy.job().preemptions());
        assertInstanceOf(JobStore.NotClaimable.class, store.claimGivenBack(job.jobId(), running.leaseId(), "w3",
                "m-copy-2", T0.plusSeconds(61), T0.plusSeconds(2)), "only the lease that was given back");
        assertFalse(store.release(running, null, T0.plusSeconds(3)), "the giver's late release is fenced out");
    }

    @Test
    void finishedJob_cannotBeClaimed_evenWithAnExpiredLeaseTime() {
        Job job = newJob();
        Lease lease = claim(job, "w1", T0);
        store.fail(lease, "boom", null, T0.plusSeconds(1));

        JobStore.ClaimResult later = store.claim(job.jobId(), "w2", "m", T0.plusSeconds(999), T0.plusSeconds(900));

        JobStore.NotClaimable refused = assertInstanceOf(JobStore.NotClaimable.class, later);
        assertEquals(JobStatus.FAILED, refused.current().status());
        assertEquals("boom", refused.current().error());
    }

    @Test
    void retryLater_returnsItToTheQueue_forTheNextClaim() {
        Job job = newJob();
        Lease lease = claim(job, "w1", T0);

        assertTrue(store.retryLater(lease, "exit 1", null, T0.plusSeconds(1)));
        Lease next = claim(job, "w2", T0.plusSeconds(2));

        assertEquals(lease.token() + 2, next.token());
        assertEquals("exit 1", store.get(job.jobId()).orElseThrow().error());
    }

    @Test
    void claimOrMark_ofAMissingRecord_neverCreatesOne() {
        String missing = ids.newId();

        assertInstanceOf(JobStore.Missing.class, store.claim(missing, "w1", "m", T0.plusSeconds(60), T0));
        assertTrue(store.markQueued(missing, T0).isEmpty());
        assertTrue(store.takeOverSending(missing, T0.plusSeconds(30), T0) == false);
        assertTrue(store.get(missing).isEmpty());
    }

    @Test
    void submitLifecycle_pendingThenQueued_theTtlOnlyWhilePendingAndOnceFinished() {
        Job job = newJob();
        assertTrue(store.get(job.jobId()).orElseThrow().expiresAt() != null, "PENDING: a safety TTL");

        Job queued = store.markQueued(job.jobId(), T0.plusSeconds(1)).orElseThrow();
        assertEquals(JobStatus.QUEUED, queued.status());
        assertEquals(null, queued.expiresAt(), "a waiting job never expires");
        assertEquals(null, queued.sendingUntil());
        assertEquals(JobStatus.QUEUED, store.markQueued(job.jobId(), T0.plusSeconds(2)).orElseThrow().status());

        Lease lease = claim(job, "w1", T0.plusSeconds(3));
        assertEquals(null, store.get(job.jobId()).orElseThrow().expiresAt());
        store.complete(lease, JobStore.Completion.of("{}"), T0.plusSeconds(4));
        assertEquals(T0.plusSeconds(4).plus(java.time.Duration.ofDays(30)).getEpochSecond(),
                store.get(job.jobId()).orElseThrow().expiresAt(), "finished: kept for the retention");
    }

    @Test
    void aPendingJobIsClaimable_itsMessageMayHaveGoneOutWhileItsMarkFailed() {
        Job job = newJob();
        Lease lease = claim(job, "w1", T0);
        assertEquals(null, store.get(job.jobId()).orElseThrow().expiresAt());
        assertEquals(1L, lease.token());
    }

    @Test
    void sendingHold_isTakenOverOnlyOnceItRanOut_andAnUnsentRecordIsDeletedOnlyWhileUnclaimed() {
        Job job = newJob();
        assertFalse(store.takeOverSending(job.jobId(), T0.plusSeconds(40), T0.plusSeconds(10)), "held until T0+30");
        assertTrue(store.takeOverSending(job.jobId(), T0.plusSeconds(70), T0.plusSeconds(40)));
        assertFalse(store.takeOverSending(job.jobId(), T0.plusSeconds(71), T0.plusSeconds(41)));

        assertTrue(store.deleteUnsent(job.jobId()).isEmpty());
        assertTrue(store.get(job.jobId()).isEmpty());

        Job claimed = newJob();
        claim(claimed, "w1", T0);
        assertEquals(JobStatus.RUNNING, store.deleteUnsent(claimed.jobId()).orElseThrow().status());
    }

    @Test
    void expiredRecord_readsAsGone_andASubmitOfTheSameIdReplacesIt() {
        Job old = newJob().toBuilder().status(JobStatus.SUCCEEDED).expiresAt(Instant.now().getEpochSecond() - 60)
                .build();
        stack.dynamoDb().putItem(r -> r.tableName(stack.tableName()).item(
                dev.ferry.core.JobTable.SCHEMA.itemToMap(old, true)));
        assertTrue(store.get(old.jobId()).isEmpty(), "DynamoDB deletes late: reads must not return it");

        Job again = old.toBuilder().status(JobStatus.PENDING).requestHash("new")
                .expiresAt(Instant.now().plus(DynamoDbJobStore.PENDING_RETENTION).getEpochSecond()).build();
        assertInstanceOf(JobStore.Created.class, store.create(again));
        assertEquals("new", store.get(old.jobId()).orElseThrow().requestHash());
    }

    @Test
    void release_returnsTheJobWithoutAFailure_andTheNextClaimRunsIt() {
        Job job = newJob();
        Lease lease = claim(job, "w1", T0);

        assertTrue(store.release(lease, null, T0.plusSeconds(1)));
        assertTrue(store.release(lease, null, T0.plusSeconds(2)), "a retry of its own release: recognised, not applied again");
        Job released = store.get(job.jobId()).orElseThrow();
        assertEquals(JobStatus.QUEUED, released.status());
        assertEquals(1, released.preemptions());
        assertEquals(null, released.error());
        claim(job, "w2", T0.plusSeconds(3));
    }

    @Test
    void redriveAndCancel_actOnlyOnFailedJobs_andAMarkedFailedJobIsClaimable() {
        Job job = newJob();
        Lease lease = claim(job, "w1", T0);
        assertFalse(store.requestRedrive(job.jobId(), T0), "a running job is not redriven");
        store.fail(lease, "boom", null, T0.plusSeconds(1));
        assertInstanceOf(JobStore.NotClaimable.class,
                store.claim(job.jobId(), "w2", "m", T0.plusSeconds(99), T0.plusSeconds(2)), "FAILED is final...");

        assertTrue(store.requestRedrive(job.jobId(), T0.plusSeconds(2)));
        assertTrue(store.requestRedrive(job.jobId(), T0.plusSeconds(3)), "asking twice is not an error");
        Job marked = store.get(job.jobId()).orElseThrow();
        assertEquals(JobStatus.FAILED, marked.status(), "still FAILED until a worker claims its moved message");
        assertEquals(1, marked.redrives(), "one redrive, however often it was asked");

        Lease again = claim(job, "w2", T0.plusSeconds(4));
        Job running = store.get(job.jobId()).orElseThrow();
        assertEquals(2, running.attempts(), "attempt history is kept");
        assertEquals(null, running.redriveRequestedAt());
        assertEquals(null, running.expiresAt());
        assertFalse(store.cancelFailed(job.jobId(), T0.plusSeconds(5)), "a running job is not cancelled");

        store.fail(again, "boom again", null, T0.plusSeconds(5));
        assertTrue(store.cancelFailed(job.jobId(), T0.plusSeconds(6)));
        assertTrue(store.cancelFailed(job.jobId(), T0.plusSeconds(7)), "cancelling twice is not an error");
        assertEquals(JobStatus.CANCELLED, store.get(job.jobId()).orElseThrow().status());
        assertInstanceOf(JobStore.NotClaimable.class,
                store.claim(job.jobId(), "w3", "m", T0.plusSeconds(99), T0.plusSeconds(8)));
    }

    @Test
    void scan_readsRecordsWithoutTheirPayloads() {
        Job job = newJob();

        JobStore.ScanResult result = store.scan(100_000);

        Job seen = result.jobs().stream().filter(j -> j.jobId().equals(job.jobId())).findFirst().orElseThrow();
        assertEquals(JobStatus.PENDING, seen.status());
        assertEquals(null, seen.input());
        assertEquals(1, store.scan(1).jobs().size());
        assertTrue(store.scan(1).truncated());
    }
}
