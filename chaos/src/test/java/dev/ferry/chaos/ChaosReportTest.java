package dev.ferry.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.AttemptRecord;
import dev.ferry.core.Job;
import dev.ferry.core.JobFiles;
import dev.ferry.core.JobStatus;
import dev.ferry.testkit.CompletionWitness;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The soak's checks of the job files bucket: every object a record names is there with the bytes
 * it should hold, each kind asked for happened, and the oversize jobs end as they must. Each check
 * is shown failing on what it is there to catch.
 */
class ChaosReportTest {

    private static final String PLAIN = "0PLAINJOB0000000000000000A";
    private static final String BIG = "0BIGJOB0000000000000000000";
    private static final String NO_BUCKET = "0NOBUCKETJOB00000000000000";
    private static final Instant NOW = Instant.parse("2025-01-01T00:00:00Z");

    @TempDir
    Path out;

    private final Map<String, byte[]> bucket = new HashMap<>();

    private final ChaosReport.StoredObjects objects = new ChaosReport.StoredObjects() {
        @Override
        public OptionalLong size(String key) {
            byte[] bytes = bucket.get(key);
            return bytes == null ? OptionalLong.empty() : OptionalLong.of(bytes.length);
        }

        @Override
        public byte[] read(String key) {
            return bucket.get(key);
        }
    };

    private void store(String key, String text) {
        bucket.put(key, text.getBytes(StandardCharsets.UTF_8));
    }

    private static AttemptRecord entry(int attempt, String outcome, String logKey) {
        return new AttemptRecord(attempt, "w1", 0, NOW, NOW, outcome, null, logKey);
    }

    /** A plain job that SUCCEEDED on attempt 1 with run w1/1, its log kept, its file (if any) listed. */
    private Job plain(int fileBytes) {
        store(JobFiles.logKey(PLAIN, 1), "chaos job ...\n");
        Job.Builder job = Job.builder().jobId(PLAIN).type(ChaosMain.TYPE).status(JobStatus.SUCCEEDED).attempts(1)
                .result("{\"run\":\"w1/1\"}").history(List.of(entry(1, AttemptRecord.SUCCEEDED, JobFiles.logKey(PLAIN, 1))));
        if (fileBytes > 0) {
            String key = JobFiles.attemptPrefix(PLAIN, 1) + "files/" + ChaosMain.FILE_NAME;
            store(key, ChaosMain.fileContent(PLAIN, fileBytes));
            job.files(JobFiles.filesJson(List.of(new JobFiles.StoredFile(ChaosMain.FILE_NAME, key,
                    "application/octet-stream", fileBytes))));
        }
        return job.build();
    }

    /** An oversize job SUCCEEDED by reference on attempt 1, its object what the job printed. */
    private Job big() {
        store(JobFiles.resultKey(BIG, 1), ChaosMain.oversizeResult(BIG));
        return Job.builder().jobId(BIG).type(ChaosMain.OVERSIZE_TYPE).status(JobStatus.SUCCEEDED).attempts(1)
                .resultKey(JobFiles.resultKey(BIG, 1)).history(List.of(entry(1, AttemptRecord.SUCCEEDED, null))).build();
    }

    private static ChaosReport.Seen seen(ChaosMain.Kind kind, Job job, int fileBytes, CompletionWitness.History history,
                                         int inDlq) {
        return new ChaosReport.Seen(job.jobId(), kind, job, null, List.of("w1/1"), 1, 1, history, 0, inDlq, false,
                fileBytes);
    }

    private static CompletionWitness.History history(int redriveRounds) {
        return new CompletionWitness.History(0, 0, redriveRounds, 0, null);
    }

    private ChaosReport.Builder report(boolean oversize, boolean noBucket, boolean files, Set<String> failedAtOnce) {
        return new ChaosReport.Builder(out).objects(objects).noBucket(failedAtOnce, List.of())
                .expecting(oversize, noBucket, files).neverHappened(List.of());
    }

    @Test
    void everyObjectInPlace_passes_andIsCounted() {
        ChaosReport.Builder report = report(true, false, true, Set.of());
        report.job(seen(ChaosMain.Kind.CHAOS, plain(100), 100, history(0), 0));
        report.job(seen(ChaosMain.Kind.OVERSIZE, big(), 0, history(0), 0));

        ChaosReport built = report.build();

        assertTrue(built.passed(), built.details().toString());
        assertTrue(built.summaryLine().endsWith(" by_reference=1 files=1 logs=1 missing_objects=0"), built.summaryLine());
    }

    @Test
    void aResultByReferenceNotInTheBucket_isAMissingObject_andTheOversizeJobIsWrong() {
        Job job = big();
        bucket.remove(job.resultKey());
        ChaosReport.Builder report = report(true, false, false, Set.of());
        report.job(seen(ChaosMain.Kind.CHAOS, plain(0), 0, history(0), 0));
        report.job(seen(ChaosMain.Kind.OVERSIZE, job, 0, history(0), 0));

        ChaosReport built = report.build();

        assertFalse(built.passed());
        assertTrue(built.summaryLine().endsWith(" by_reference=0 files=0 logs=1 missing_objects=1"), built.summaryLine());
        assertTrue(built.details().stream().anyMatch(line -> line.startsWith("chaos: oversize_not_succeeded_by_reference: "
                + BIG)), built.details().toString());
    }

    @Test
    void aResultWithOtherBytes_isWrong_evenAtTheRightSize() {
        Job job = big();
        String printed = ChaosMain.oversizeResult(BIG);
        store(job.resultKey(), printed.substring(0, printed.length() - 3) + "x\"}");
        ChaosReport.Builder report = report(false, false, false, Set.of());
        report.job(seen(ChaosMain.Kind.CHAOS, plain(0), 0, history(0), 0));
        report.job(seen(ChaosMain.Kind.OVERSIZE, job, 0, history(0), 0));

        ChaosReport built = report.build();

        assertFalse(built.passed());
        assertTrue(built.summaryLine().endsWith(" missing_objects=1"), built.summaryLine());
    }

    @Test
    void aFileOfAnotherSize_orOneNotListed_orALogNotKept_fails() {
        Job wrongSize = plain(100);
        bucket.put(JobFiles.attemptPrefix(PLAIN, 1) + "files/" + ChaosMain.FILE_NAME, new byte[99]);
        ChaosReport.Builder first = report(false, false, true, Set.of());
        first.job(seen(ChaosMain.Kind.CHAOS, wrongSize, 100, history(0), 0));
        ChaosReport one = first.build();
        assertFalse(one.passed());
        assertTrue(one.summaryLine().endsWith(" files=0 logs=1 missing_objects=1"), one.summaryLine());

        Job unlisted = plain(0);
        ChaosReport.Builder second = report(false, false, true, Set.of());
        second.job(seen(ChaosMain.Kind.CHAOS, unlisted, 100, history(0), 0));
        ChaosReport two = second.build();
        assertFalse(two.passed());
        assertTrue(two.details().stream().anyMatch(line -> line.startsWith("chaos: files_not_listed: " + PLAIN)));

        Job logLost = plain(0);
        bucket.remove(JobFiles.logKey(PLAIN, 1));
        ChaosReport.Builder third = report(false, false, false, Set.of());
        third.job(seen(ChaosMain.Kind.CHAOS, logLost, 0, history(0), 0));
        ChaosReport three = third.build();
        assertFalse(three.passed());
        assertTrue(three.details().stream().anyMatch(line -> line.contains("log " + JobFiles.logKey(PLAIN, 1)
                + " is not in the bucket")), three.details().toString());
    }

    @Test
    void aKindAskedForThatNeverHappened_failsTheRun() {
        ChaosReport.Builder report = report(true, true, true, Set.of());
        report.job(seen(ChaosMain.Kind.CHAOS, plain(0), 0, history(0), 0));

        ChaosReport built = report.build();

        assertFalse(built.passed(), "no oversize job, none without a bucket, no file: nothing was shown");
        String never = built.details().stream().filter(line -> line.startsWith("chaos: never_happened: ")).findFirst()
                .orElseThrow();
        assertTrue(never.contains("an oversize job SUCCEEDED by reference"), never);
        assertTrue(never.contains("an oversize job FAILED at once without a bucket"), never);
        assertTrue(never.contains("an output file listed and found"), never);
    }

    @Test
    void noLogAtAll_failsTheRun() {
        Job job = plain(0).toBuilder().history(List.of(entry(1, AttemptRecord.SUCCEEDED, null))).build();
        ChaosReport.Builder report = report(false, false, false, Set.of());
        report.job(seen(ChaosMain.Kind.CHAOS, job, 0, history(0), 0));

        assertFalse(report.build().passed());
    }

    private Job noBucketFailed() {
        return Job.builder().jobId(NO_BUCKET).type(ChaosMain.OVERSIZE_TYPE).status(JobStatus.FAILED).attempts(1)
                .error("the result is 250048 bytes, too large to store: ... and no bucket (FERRY_BUCKET) is configured")
                .history(List.of(entry(1, AttemptRecord.FAILED, null))).build();
    }

    @Test
    void withoutABucket_failedAtOnce_orRedrivenIntoSuccess_passes() {
        assertNull(ChaosMain.noBucketVerdict(noBucketFailed()));
        store(JobFiles.resultKey(NO_BUCKET, 2), ChaosMain.oversizeResult(NO_BUCKET));
        Job redriven = noBucketFailed().toBuilder().status(JobStatus.SUCCEEDED).attempts(2).redrives(1).error(null)
                .resultKey(JobFiles.resultKey(NO_BUCKET, 2)).build();

        ChaosReport.Builder failed = report(false, true, false, Set.of(NO_BUCKET));
        failed.job(seen(ChaosMain.Kind.CHAOS, plain(0), 0, history(0), 0));
        failed.job(seen(ChaosMain.Kind.OVERSIZE_NO_BUCKET, noBucketFailed(), 0, history(0), 1));
        ChaosReport one = failed.build();
        ChaosReport.Builder succeeded = report(false, true, false, Set.of(NO_BUCKET));
        succeeded.job(seen(ChaosMain.Kind.CHAOS, plain(0), 0, history(0), 0));
        succeeded.job(seen(ChaosMain.Kind.OVERSIZE_NO_BUCKET, redriven, 0, history(1), 0));
        ChaosReport two = succeeded.build();

        assertTrue(one.passed(), one.details().toString());
        assertTrue(two.passed(), two.details().toString());
        assertTrue(two.summaryLine().contains(" by_reference=1 "), two.summaryLine());
        assertTrue(two.details().stream().anyMatch(line -> line.contains(" oversize_no_bucket=1 oversize_no_bucket_ok=1"
                + " no_bucket_redriven=1 ")), two.details().toString());
    }

    @Test
    void withoutABucket_retried_orSucceededUnredriven_orNotFailedInThePhase_fails() {
        Job retried = noBucketFailed().toBuilder().attempts(2).history(List.of(entry(1, AttemptRecord.RETRYING, null),
                entry(2, AttemptRecord.FAILED, null))).build();
        assertTrue(ChaosMain.noBucketVerdict(retried).contains("[retrying, failed]"), ChaosMain.noBucketVerdict(retried));
        assertTrue(ChaosMain.noBucketVerdict(noBucketFailed().toBuilder().error("exit 3: boom").build())
                .contains("error 'exit 3: boom'"));

        store(JobFiles.resultKey(NO_BUCKET, 1), ChaosMain.oversizeResult(NO_BUCKET));
        Job succeeded = noBucketFailed().toBuilder().status(JobStatus.SUCCEEDED).error(null)
                .resultKey(JobFiles.resultKey(NO_BUCKET, 1)).build();
        ChaosReport.Builder report = report(false, true, false, Set.of(NO_BUCKET));
        report.job(seen(ChaosMain.Kind.CHAOS, plain(0), 0, history(0), 0));
        report.job(seen(ChaosMain.Kind.OVERSIZE_NO_BUCKET, succeeded, 0, history(0), 0));
        ChaosReport built = report.build();
        assertFalse(built.passed(), "a bucketless job may only succeed once redriven");

        ChaosReport.Builder notInPhase = report(false, true, false, Set.of());
        notInPhase.job(seen(ChaosMain.Kind.CHAOS, plain(0), 0, history(0), 0));
        notInPhase.job(seen(ChaosMain.Kind.OVERSIZE_NO_BUCKET, noBucketFailed(), 0, history(0), 1));
        assertFalse(notInPhase.build().passed());
    }

    @Test
    void theOversizeResult_isWhatTheCommandPrints_asTheWorkerKeepsIt() throws Exception {
        String jobId = "01KAS0ABCDEFGHJKMNPQRSTVWX";

        String printed = run(ChaosMain.OVERSIZE_COMMAND, Map.of("FERRY_JOB_ID", jobId), "{}");

        assertEquals(ChaosMain.oversizeResult(jobId) + "\n", printed);
        assertEquals(ChaosMain.oversizeResult(jobId), dev.ferry.core.Json.parse(printed).toString(),
                "the worker's compact JSON is the same text");
        assertTrue(printed.length() > 100 * 1024 && printed.length() < 256 * 1024, "over the record's share, within"
                + " the output limit: " + printed.length());
    }

    @Test
    void theJobCommand_writesTheFileAskedFor_andLogsOnStderr() throws Exception {
        String jobId = "01KAS0ABCDEFGHJKMNPQRSTVWX";
        Path outputs = java.nio.file.Files.createDirectories(out.resolve("outputs"));
        Path ledger = out.resolve("ledger.txt");
        Map<String, String> env = Map.of("FERRY_JOB_ID", jobId, "FERRY_WORKER_ID", "w9", "FERRY_OUTPUT_DIR",
                outputs.toString(), ChaosMain.LEDGER_VARIABLE, ledger.toString());

        String printed = run(ChaosMain.JOB_COMMAND, env, "{\"sleep\":\"0.01\",\"file\":\"100\"}");

        assertTrue(printed.startsWith("{\"run\":\"w9/"), printed);
        assertEquals(ChaosMain.fileContent(jobId, 100), java.nio.file.Files.readString(outputs.resolve(ChaosMain.FILE_NAME)));
        assertEquals(2, java.nio.file.Files.readAllLines(ledger).size(), "start and commit");
        Path none = java.nio.file.Files.createDirectories(out.resolve("none"));
        Map<String, String> noFile = new HashMap<>(env);
        noFile.put("FERRY_OUTPUT_DIR", none.toString());
        run(ChaosMain.JOB_COMMAND, noFile, "{\"sleep\":\"0.01\"}");
        try (var listing = java.nio.file.Files.list(none)) {
            assertEquals(0, listing.count(), "no file when none is asked for");
        }
    }

    private static String run(String command, Map<String, String> env, String input) throws Exception {
        ProcessBuilder builder = new ProcessBuilder("/bin/sh", "-c", command);
        builder.environment().putAll(env);
        Path errors = java.nio.file.Files.createTempFile("chaos-stderr", ".txt");
        builder.redirectError(errors.toFile());
        Process process = builder.start();
        process.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
        process.getOutputStream().close();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, process.waitFor());
        assertFalse(java.nio.file.Files.readString(errors).isBlank(), "a line on stderr: the attempt's log");
        java.nio.file.Files.delete(errors);
        return out;
    }
}
