package dev.ferry.chaos;

import dev.ferry.core.AttemptRecord;
import dev.ferry.core.Job;
import dev.ferry.core.JobFiles;
import dev.ferry.core.JobStatus;
import dev.ferry.core.Json;
import dev.ferry.testkit.CompletionWitness;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The soak's figures. Definitions (also in README, "Faults and the chaos soak"):
 *
 * <ul>
 *   <li><b>succeeded</b> / <b>failed</b>: accepted jobs whose record (or, once the TTL reaper
 *       deleted it, its last state) is SUCCEEDED / FAILED;
 *   <li><b>lost</b>: an accepted job (202 from the API) that at the end has no record and none was
 *       reaped, or a record still PENDING or QUEUED, or one reaped while not final, or that reads
 *       SUCCEEDED with a result whose run never committed its work in the ledger;
 *   <li><b>stuck</b>: an accepted job whose record is still RUNNING at the end (its lease long
 *       run out);
 *   <li><b>double_completed</b>: a job that the table's change stream shows completing (a write
 *       into SUCCEEDED or FAILED from a state that was not final, or a change to a final record
 *       other than a redrive's mark) more than once in one round (a redrive starts a round). Runs
 *       are not completions: a worker killed after its program committed has its result discarded
 *       by the fence, and the job's effect is still the one accepted result;
 *   <li><b>wrong_status</b>: a job whose record disagrees with where its messages are: FAILED ⇔ a
 *       message in the DLQ (and none in the job queue); QUEUED, RUNNING (or PENDING) ⇔ a message in
 *       the job queue (and none in the DLQ); SUCCEEDED or CANCELLED ⇔ none. A FAILED record the
 *       reaper deleted may have no message left if a move task out of the DLQ ran after it
 *       failed: the moved message found no record and was deleted, as it must be;
 *   <li><b>preempted</b>: give-backs counted on the records (a Spot notice, SIGTERM);
 *   <li><b>kills</b>: SIGKILLs of a worker process by the injector (Spot reclaims counted apart);
 *   <li><b>by_reference</b>: SUCCEEDED records whose result is an object in the bucket
 *       ({@code resultKey}) holding exactly what the job printed (SHA-256 of both);
 *   <li><b>files</b>: output files that SUCCEEDED records list, found in the bucket with the size
 *       listed and the bytes the job wrote;
 *   <li><b>logs</b>: attempts' logs ({@code logKey} of a history entry) found in the bucket;
 *   <li><b>missing_objects</b>: a result, file or log that a record (or the reaper's copy) names and
 *       the bucket does not have, or has with other bytes or another size than the record says: a
 *       lost result, file or log.
 * </ul>
 *
 * <p>It passes when lost, double_completed, stuck, wrong_status and missing_objects are 0, every
 * poison job is FAILED with its message in the DLQ, every oversize job SUCCEEDED by reference
 * (never retried), every oversize job run without a bucket FAILED at once saying so (its one
 * attempt that ran to an outcome; then, redriven, SUCCEEDED by reference), every job asked to
 * write a file lists it, every refused submit was a 400 naming the field that left nothing behind,
 * no redrive whose move task was refused answered as if it had started (a 202 must name the
 * refused pool's move in {@code failed}: another pool's may have started), and each kind asked for
 * happened at least once (an oversize job by reference, one failed without a bucket, a file, a
 * log, S3 calls and their faults through the workers' proxy): a check that saw nothing proves
 * nothing.
 */
public final class ChaosReport {

    private final String summary;
    private final List<String> details;
    private final boolean passed;

    private ChaosReport(String summary, List<String> details, boolean passed) {
        this.summary = summary;
        this.details = details;
        this.passed = passed;
    }

    /** The fixed-format last line. */
    public String summaryLine() {
        return summary;
    }

    public List<String> details() {
        return details;
    }

    public boolean passed() {
        return passed;
    }

    /** The job files bucket, as the count reads it (directly, not through the workers' proxy). */
    interface StoredObjects {
        /** The object's size, or empty when the bucket has no such key. */
        OptionalLong size(String key);

        /** The object's bytes (it exists). */
        byte[] read(String key);
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sha256(String text) {
        return sha256(text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * What the count saw of one accepted job.
     *
     * @param record its record at the end; null if there is none
     * @param reaped its record as the TTL reaper deleted it; null if it was not
     * @param completions completions in its busiest round (the change stream)
     * @param inQueue its messages in the job queue at the end
     * @param inDlq its messages in the DLQ at the end
     * @param movedSinceFinished a move task out of the DLQ ran after it finished
     * @param fileBytes the size of the output file it was asked to write; 0 for none
     */
    record Seen(String jobId, ChaosMain.Kind kind, Job record, Job reaped, List<String> committedRuns, int starts,
                int completions, CompletionWitness.History history, int inQueue, int inDlq,
                boolean movedSinceFinished, int fileBytes) {
    }

    static final class Builder {
        private final Path out;
        private int jobs;
        private int succeeded;
        private int failed;
        private int cancelled;
        private int failedNotPoison;
        private int poisonJobs;
        private int oversizeJobs;
        private int oversizeOk;
        private int noBucketJobs;
        private int noBucketOk;
        private int noBucketRedriven;
        private int filesAsked;
        private int byReference;
        private int filesOk;
        private int logsOk;
        private int redriven;
        private final List<String> lost = new ArrayList<>();
        private final List<String> stuck = new ArrayList<>();
        private final List<String> doubled = new ArrayList<>();
        private final List<String> wrongStatus = new ArrayList<>();
        private final List<String> poisonMisplaced = new ArrayList<>();
        private final List<String> oversizeBad = new ArrayList<>();
        private final List<String> noBucketBad = new ArrayList<>();
        private final List<String> filesBad = new ArrayList<>();
        private final List<String> missingObjects = new ArrayList<>();
        private final List<String> neverHappened = new ArrayList<>();
        private StoredObjects objects;
        private Set<String> noBucketFailedAtOnce = Set.of();
        private boolean expectOversize;
        private boolean expectNoBucket;
        private boolean expectFiles;
        private final List<String> reapedUnfinished = new ArrayList<>();
        private List<String> refusedBad = List.of();
        private List<String> submitsGivenUp = List.of();
        private List<String> redrivesBad = List.of();
        private List<String> proxies = List.of();
        private int refusedOk;
        private int ttlReaped;
        private int ttlReapedAccepted;
        private int preempted;
        private long runs;
        private long commits;
        private long discardedCommits;
        private Duration wall = Duration.ZERO;
        private String faults = "";
        private int kills;
        private int leftInQueue;
        private int inDlq;
        private int hiddenAtEnd;
        private long seed;

        Builder(Path out) {
            this.out = out;
        }

        void job(Seen seen) {
            String jobId = seen.jobId();
            jobs++;
            runs += seen.starts();
            commits += seen.committedRuns().size();
            if (seen.kind() == ChaosMain.Kind.POISON) {
                poisonJobs++;
            } else if (seen.kind() == ChaosMain.Kind.OVERSIZE) {
                oversizeJobs++;
            } else if (seen.kind() == ChaosMain.Kind.OVERSIZE_NO_BUCKET) {
                noBucketJobs++;
            }
            if (seen.fileBytes() > 0) {
                filesAsked++;
            }
            if (seen.completions() > 1) {
                doubled.add(jobId + " (" + seen.completions() + " completions in one round)");
            }
            Job job = seen.record() != null ? seen.record() : seen.reaped();
            if (job == null) {
                String deleted = seen.history().deletedWhile();
                lost.add(jobId + (deleted == null ? " (no record, none reaped)"
                        : " (no record: deleted while " + deleted + ", not by the reaper)"));
                return;
            }
            boolean reaped = seen.record() == null;
            String where = reaped ? "reaped while " : "";
            if (reaped) {
                ttlReapedAccepted++;
                if (!job.status().isFinal()) {
                    reapedUnfinished.add(jobId);
                    lost.add(jobId + " (its record was deleted by TTL while " + job.status() + ")");
                }
            }
            preempted += job.preemptions();
            if (job.redrives() > 0) {
                redriven++;
            }
            JobStatus status = job.status();
            boolean resultStored = objects(seen, job);
            switch (status) {
                case SUCCEEDED -> {
                    succeeded++;
                    if (seen.kind() == ChaosMain.Kind.CHAOS) {
                        String run = job.result() == null ? "" : Json.parse(job.result()).path("run").asText("");
                        if (!seen.committedRuns().contains(run)) {
                            lost.add(jobId + " (SUCCEEDED with run '" + run + "', which committed nothing"
                                    + (job.result() == null ? "; no result in the record" : "") + ")");
                        }
                        discardedCommits += seen.committedRuns().size() - (seen.committedRuns().contains(run) ? 1 : 0);
                    }
                }
                case FAILED -> {
                    failed++;
                    if (seen.kind() == ChaosMain.Kind.CHAOS) {
                        failedNotPoison++;
                    }
                }
                case CANCELLED -> cancelled++;
                case RUNNING -> {
                    if (!reaped) {
                        stuck.add(jobId + " (RUNNING, lease of " + job.leaseOwner() + ")");
                    }
                }
                default -> {
                    if (!reaped) {
                        lost.add(jobId + " (" + status + " at the end, error: " + job.error() + ")");
                    }
                }
            }
            boolean placed = placedRight(seen, job);
            if (!placed) {
                wrongStatus.add(jobId + " (" + where + status + (job.redriveRequestedAt() != null ? " redrive requested"
                        : "") + ", " + seen.inQueue() + " in the job queue, " + seen.inDlq() + " in the DLQ)");
            }
            if (seen.kind() == ChaosMain.Kind.POISON && (status != JobStatus.FAILED || !placed)) {
                poisonMisplaced.add(jobId + " (" + where + status + ", " + seen.inDlq() + " in the DLQ)");
            }
            if (seen.kind() == ChaosMain.Kind.OVERSIZE) {
                oversize(seen, job, placed, resultStored);
            } else if (seen.kind() == ChaosMain.Kind.OVERSIZE_NO_BUCKET) {
                oversizeNoBucket(seen, job, placed, resultStored);
            }
        }

        /**
         * Every object the record names is in the bucket as the record says: each history entry's
         * log, the result stored by reference (exactly what the job printed), each listed file (its
         * size; for a file the job was asked to write, also its bytes). A SUCCEEDED plain job lists
         * exactly the file it was asked to write, or none.
         *
         * @return whether the record's result is in the bucket, verified
         */
        private boolean objects(Seen seen, Job job) {
            String jobId = seen.jobId();
            for (AttemptRecord entry : job.history()) {
                if (entry.logKey() != null) {
                    OptionalLong size = objects.size(entry.logKey());
                    if (size.isEmpty()) {
                        missingObjects.add(jobId + " (attempt " + entry.attempt() + "'s log " + entry.logKey()
                                + " is not in the bucket)");
                    } else if (size.getAsLong() == 0) {
                        missingObjects.add(jobId + " (attempt " + entry.attempt() + "'s log " + entry.logKey()
                                + " is empty)");
                    } else {
                        logsOk++;
                    }
                }
            }
            boolean resultStored = false;
            if (job.resultKey() != null) {
                String key = job.resultKey();
                OptionalLong size = objects.size(key);
                boolean oversize = seen.kind() == ChaosMain.Kind.OVERSIZE || seen.kind() == ChaosMain.Kind.OVERSIZE_NO_BUCKET;
                if (size.isEmpty()) {
                    missingObjects.add(jobId + " (" + job.status() + ": its result " + key + " is not in the bucket)");
                } else if (!oversize) {
                    missingObjects.add(jobId + " (a " + seen.kind() + " job's small result stored by reference, " + key
                            + ")");
                } else if (!sha256(objects.read(key)).equals(sha256(ChaosMain.oversizeResult(jobId)))) {
                    missingObjects.add(jobId + " (its result " + key + " holds " + size.getAsLong()
                            + " bytes other than what the job printed)");
                } else {
                    resultStored = true;
                    if (job.status() == JobStatus.SUCCEEDED) {
                        byReference++;
                    }
                }
            }
            List<JobFiles.StoredFile> files = JobFiles.parseFiles(job.files());
            for (JobFiles.StoredFile file : files) {
                OptionalLong size = objects.size(file.key());
                if (size.isEmpty()) {
                    missingObjects.add(jobId + " (file " + file.name() + ", " + file.key() + ", is not in the bucket)");
                } else if (size.getAsLong() != file.size()) {
                    missingObjects.add(jobId + " (file " + file.key() + " is listed with " + file.size() + " bytes but"
                            + " holds " + size.getAsLong() + ")");
                }
            }
            if (seen.kind() == ChaosMain.Kind.CHAOS && job.status() == JobStatus.SUCCEEDED) {
                if (seen.fileBytes() == 0) {
                    if (!files.isEmpty()) {
                        filesBad.add(jobId + " (asked for no file, lists " + files.size() + ")");
                    }
                } else if (files.size() != 1 || !files.get(0).name().equals(ChaosMain.FILE_NAME)
                        || files.get(0).size() != seen.fileBytes()) {
                    filesBad.add(jobId + " (asked for " + ChaosMain.FILE_NAME + " of " + seen.fileBytes()
                            + " bytes, lists " + (job.files() == null ? "nothing" : job.files()) + ")");
                } else {
                    JobFiles.StoredFile file = files.get(0);
                    if (objects.size(file.key()).equals(OptionalLong.of(file.size()))) { // else counted above
                        if (sha256(objects.read(file.key())).equals(
                                sha256(ChaosMain.fileContent(jobId, seen.fileBytes())))) {
                            filesOk++;
                        } else {
                            missingObjects.add(jobId + " (file " + file.key() + " holds other bytes than the job wrote)");
                        }
                    }
                }
            }
            return resultStored;
        }

        /** Where its messages are agrees with its status (see wrong_status). */
        private static boolean placedRight(Seen seen, Job job) {
            boolean queued = seen.inQueue() > 0;
            boolean dead = seen.inDlq() > 0;
            return switch (job.status()) {
                case FAILED -> !queued && (dead || (seen.record() == null && seen.movedSinceFinished()));
                case PENDING, QUEUED, RUNNING -> queued && !dead;
                case SUCCEEDED, CANCELLED -> !queued && !dead;
            };
        }

        /**
         * SUCCEEDED with its result by reference ({@code resultKey}, no {@code result}), the object
         * exactly what the job printed, never a failed attempt sent back to wait: a result too large
         * for the record is never retried into failure. Attempts a worker never finished (it died, or
         * could not store what the job made within a lease, or its lease was taken over) or gave
         * back are not failures.
         */
        private void oversize(Seen seen, Job job, boolean placed, boolean resultStored) {
            CompletionWitness.History history = seen.history();
            List<String> wrong = new ArrayList<>();
            if (job.status() != JobStatus.SUCCEEDED) {
                wrong.add("ended " + job.status() + " (error '" + job.error() + "')");
            } else if (job.resultKey() == null) {
                wrong.add("SUCCEEDED without a result by reference" + (job.result() != null ? " (in the record)" : ""));
            } else if (!resultStored) {
                wrong.add("its result " + job.resultKey() + " is missing or wrong in the bucket");
            }
            if (!placed) {
                wrong.add(seen.inDlq() + " in the DLQ, " + seen.inQueue() + " in the job queue");
            }
            if (history.retries() > 0) {
                wrong.add("retried " + history.retries() + " time(s)");
            }
            if (wrong.isEmpty()) {
                oversizeOk++;
            } else {
                oversizeBad.add(seen.jobId() + " (" + String.join("; ", wrong) + ")");
            }
        }

        /**
         * Failed at once by the worker without a bucket ({@link #noBucket}); at the end either still
         * FAILED, saying its result is too large and there is no bucket, its message in the DLQ,
         * after that one attempt that ran to an outcome; or, redriven, SUCCEEDED by reference on a
         * worker with the bucket. Never retried.
         */
        private void oversizeNoBucket(Seen seen, Job job, boolean placed, boolean resultStored) {
            CompletionWitness.History history = seen.history();
            List<String> wrong = new ArrayList<>();
            if (!noBucketFailedAtOnce.contains(seen.jobId())) {
                wrong.add("did not fail at once on the worker without a bucket");
            }
            if (!placed) {
                wrong.add(seen.inDlq() + " in the DLQ, " + seen.inQueue() + " in the job queue");
            }
            if (history.retries() > 0) {
                wrong.add("retried " + history.retries() + " time(s)");
            }
            boolean redrivenOk = false;
            switch (job.status()) {
                case FAILED -> {
                    if (job.error() == null || !job.error().contains("too large") || !job.error().contains("no bucket")) {
                        wrong.add("error '" + job.error() + "'");
                    }
                    int ranToOutcome = job.attempts() - job.preemptions() - history.takeovers();
                    if (history.redriveRounds() > 0 || ranToOutcome != 1) {
                        wrong.add("FAILED after " + ranToOutcome + " attempt(s) that ran to an outcome in "
                                + (1 + history.redriveRounds()) + " round(s) (attempts " + job.attempts()
                                + ", preemptions " + job.preemptions() + ", takeovers " + history.takeovers() + ")");
                    }
                }
                case SUCCEEDED -> {
                    if (history.redriveRounds() == 0) {
                        wrong.add("SUCCEEDED without being redriven");
                    }
                    if (job.resultKey() == null || !resultStored) {
                        wrong.add("SUCCEEDED without its result by reference, verified");
                    } else {
                        redrivenOk = true;
                    }
                }
                default -> wrong.add("ended " + job.status());
            }
            if (wrong.isEmpty()) {
                noBucketOk++;
                if (redrivenOk) {
                    noBucketRedriven++;
                }
            } else {
                noBucketBad.add(seen.jobId() + " (" + String.join("; ", wrong) + ")");
            }
        }

        /** The bucket the records name objects in. Set before {@link #job}. */
        Builder objects(StoredObjects objects) {
            this.objects = objects;
            return this;
        }

        /** What the worker without a bucket did: the jobs it failed at once, and what went wrong with others. */
        Builder noBucket(Set<String> failedAtOnce, List<String> bad) {
            this.noBucketFailedAtOnce = Set.copyOf(failedAtOnce);
            this.noBucketBad.addAll(bad);
            return this;
        }

        /** Which kinds the options asked for: each must have happened at least once. */
        Builder expecting(boolean oversize, boolean noBucket, boolean files) {
            this.expectOversize = oversize;
            this.expectNoBucket = noBucket;
            this.expectFiles = files;
            return this;
        }

        /** Other things that should have happened and did not (the workers' S3 calls and faults). */
        Builder neverHappened(List<String> what) {
            this.neverHappened.addAll(what);
            return this;
        }

        Builder wall(Duration wall) {
            this.wall = wall;
            return this;
        }

        Builder faults(String line, int kills) {
            this.faults = line;
            this.kills = kills;
            return this;
        }

        Builder proxies(List<String> lines) {
            this.proxies = List.copyOf(lines);
            return this;
        }

        Builder queues(int leftInQueue, int inDlq, int hiddenAtEnd) {
            this.leftInQueue = leftInQueue;
            this.inDlq = inDlq;
            this.hiddenAtEnd = hiddenAtEnd;
            return this;
        }

        Builder refused(int ok, List<String> bad) {
            this.refusedOk = ok;
            this.refusedBad = List.copyOf(bad);
            return this;
        }

        Builder submitsGivenUp(List<String> keys) {
            this.submitsGivenUp = List.copyOf(keys);
            return this;
        }

        Builder redrivesBad(List<String> bad) {
            this.redrivesBad = List.copyOf(bad);
            return this;
        }

        /** Records the reaper deleted, of any job. */
        Builder reaped(int all) {
            this.ttlReaped = all;
            return this;
        }

        Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        ChaosReport build() {
            if (expectOversize && oversizeOk == 0) {
                neverHappened.add("an oversize job SUCCEEDED by reference (" + oversizeJobs + " accepted)");
            }
            if (expectNoBucket && noBucketFailedAtOnce.isEmpty()) {
                neverHappened.add("an oversize job FAILED at once without a bucket (" + noBucketJobs + " accepted)");
            }
            if (expectFiles && filesOk == 0) {
                neverHappened.add("an output file listed and found in the bucket (" + filesAsked + " asked for)");
            }
            if (logsOk == 0) {
                neverHappened.add("an attempt's log found in the bucket");
            }
            boolean passed = lost.isEmpty() && doubled.isEmpty() && stuck.isEmpty() && wrongStatus.isEmpty()
                    && poisonMisplaced.isEmpty() && oversizeBad.isEmpty() && refusedBad.isEmpty()
                    && redrivesBad.isEmpty() && noBucketBad.isEmpty() && filesBad.isEmpty()
                    && missingObjects.isEmpty() && neverHappened.isEmpty();
            List<String> details = new ArrayList<>();
            proxies.forEach(line -> details.add("chaos: " + line));
            details.add(String.format(Locale.ROOT, "chaos: seed=%d wall=%ds poison=%d oversize=%d oversize_ok=%d"
                            + " refused_ok=%d runs=%d commits=%d discarded_commits=%d failed_not_poison=%d cancelled=%d"
                            + " redriven=%d dlq_messages=%d left_in_queue=%d hidden_at_end=%d ttl_reaped=%d"
                            + " ttl_reaped_accepted=%d ttl_reaped_unfinished=%d submits_given_up=%d"
                            + " oversize_no_bucket=%d oversize_no_bucket_ok=%d no_bucket_redriven=%d files_asked=%d", seed,
                    wall.toSeconds(), poisonJobs, oversizeJobs, oversizeOk, refusedOk, runs, commits, discardedCommits,
                    failedNotPoison, cancelled, redriven, inDlq, leftInQueue, hiddenAtEnd, ttlReaped,
                    ttlReapedAccepted, reapedUnfinished.size(), submitsGivenUp.size(), noBucketJobs, noBucketOk,
                    noBucketRedriven, filesAsked));
            details.add("chaos: " + faults);
            list(details, "lost", lost);
            list(details, "stuck", stuck);
            list(details, "double_completed", doubled);
            list(details, "wrong_status", wrongStatus);
            list(details, "poison_not_failed_in_dlq", poisonMisplaced);
            list(details, "oversize_not_succeeded_by_reference", oversizeBad);
            list(details, "oversize_no_bucket_not_failed_at_once", noBucketBad);
            list(details, "files_not_listed", filesBad);
            list(details, "missing_objects", missingObjects);
            list(details, "never_happened", neverHappened);
            list(details, "refused_not_refused", refusedBad);
            list(details, "redrive_misreported", redrivesBad);
            list(details, "submits_given_up", submitsGivenUp);
            String summary = String.format(Locale.ROOT, "chaos: jobs=%d succeeded=%d failed=%d lost=%d"
                            + " double_completed=%d stuck=%d wrong_status=%d preempted=%d kills=%d"
                            + " by_reference=%d files=%d logs=%d missing_objects=%d", jobs, succeeded,
                    failed, lost.size(), doubled.size(), stuck.size(), wrongStatus.size(), preempted, kills,
                    byReference, filesOk, logsOk, missingObjects.size());
            details.forEach(System.out::println);
            for (String[] check : new String[][] {
                    {Integer.toString(poisonMisplaced.size()), "poison job(s) not FAILED in the DLQ"},
                    {Integer.toString(oversizeBad.size()), "oversize job(s) not SUCCEEDED by reference"},
                    {Integer.toString(noBucketBad.size()), "oversize job(s) without a bucket not FAILED at once in the DLQ"
                            + " (or, redriven, SUCCEEDED by reference)"},
                    {Integer.toString(filesBad.size()), "job(s) not listing the file they wrote"},
                    {Integer.toString(missingObjects.size()), "object(s) a record names missing or wrong in the bucket"},
                    {Integer.toString(neverHappened.size()), "kind(s) asked for that never happened: "
                            + String.join(", ", neverHappened)},
                    {Integer.toString(refusedBad.size()), "refused submit(s) accepted or leaving something behind"},
                    {Integer.toString(redrivesBad.size()), "redrive(s) answered as started when their task was refused"}}) {
                if (!check[0].equals("0")) {
                    System.out.println("chaos: FAIL: " + check[0] + " " + check[1]);
                }
            }
            try {
                List<String> all = new ArrayList<>(details);
                all.add(summary);
                Files.write(out.resolve("summary.txt"), all);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the summary", e);
            }
            return new ChaosReport(summary, details, passed);
        }

        private static void list(List<String> details, String what, List<String> ids) {
            if (!ids.isEmpty()) {
                details.add("chaos: " + what + ": " + ChaosMain.joinFirst(ids, 20));
            }
        }
    }
}
