package dev.ferry.chaos;

import dev.ferry.core.Job;
import dev.ferry.core.JobStatus;
import dev.ferry.core.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The soak's figures. Definitions (also in README, "Faults and the chaos soak"):
 *
 * <ul>
 *   <li><b>succeeded</b> / <b>failed</b>: accepted jobs whose record ends SUCCEEDED / FAILED;
 *   <li><b>lost</b>: an accepted job (202 from the API) that at the end has no record, or a record
 *       still QUEUED, or that reads SUCCEEDED with a result whose run never committed its work in
 *       the ledger;
 *   <li><b>stuck</b>: an accepted job whose record is still RUNNING at the end (its lease long
 *       run out);
 *   <li><b>double_completed</b>: a job that the table's change stream shows completing (a write
 *       into SUCCEEDED or FAILED from a state that was not final, or a change to a final record)
 *       more than once. Runs are not completions: a worker killed after its program committed has
 *       its result discarded by the fence, and the job's effect is still the one accepted result;
 *   <li><b>preempted</b>: give-backs counted on the records (a Spot notice, SIGTERM);
 *   <li><b>kills</b>: SIGKILLs of a worker process by the injector (Spot reclaims counted apart).
 * </ul>
 *
 * <p>It passes when lost, double_completed and stuck are 0 and every poison job is FAILED with
 * its message in the dead-letter queue.
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

    static final class Builder {
        private final Path out;
        private int jobs;
        private int succeeded;
        private int failed;
        private int failedNotPoison;
        private int poisonJobs;
        private final List<String> lost = new ArrayList<>();
        private final List<String> stuck = new ArrayList<>();
        private final List<String> doubled = new ArrayList<>();
        private final List<String> poisonMisplaced = new ArrayList<>();
        private final List<String> failedWithoutDlq = new ArrayList<>();
        private int preempted;
        private long runs;
        private long commits;
        private long discardedCommits;
        private int dlqOfSucceeded;
        private Duration wall = Duration.ZERO;
        private String faults = "";
        private int kills;
        private int leftInQueue;
        private int inDlq;
        private long seed;

        Builder(Path out) {
            this.out = out;
        }

        void job(String jobId, boolean poison, Job job, List<String> committedRuns, int starts, int completions,
                 boolean inDeadLetterQueue) {
            jobs++;
            runs += starts;
            commits += committedRuns.size();
            if (poison) {
                poisonJobs++;
            }
            if (completions > 1) {
                doubled.add(jobId + " (" + completions + " completions)");
            }
            if (job == null) {
                lost.add(jobId + " (no record)");
                return;
            }
            preempted += job.preemptions();
            JobStatus status = job.status();
            if (status == JobStatus.SUCCEEDED) {
                succeeded++;
                String run = Json.parse(job.result()).path("run").asText("");
                if (!committedRuns.contains(run)) {
                    lost.add(jobId + " (SUCCEEDED with run " + run + ", which committed nothing)");
                }
                discardedCommits += committedRuns.size() - (committedRuns.contains(run) ? 1 : 0);
                if (inDeadLetterQueue) {
                    dlqOfSucceeded++;
                }
            } else if (status == JobStatus.FAILED) {
                failed++;
                if (!poison) {
                    failedNotPoison++;
                }
                if (!inDeadLetterQueue) {
                    failedWithoutDlq.add(jobId);
                }
            } else if (status == JobStatus.RUNNING) {
                stuck.add(jobId + " (RUNNING, lease of " + job.leaseOwner() + ")");
            } else {
                lost.add(jobId + " (" + status + " at the end, error: " + job.error() + ")");
            }
            if (poison && (status != JobStatus.FAILED || !inDeadLetterQueue)) {
                poisonMisplaced.add(jobId + " (" + status + (inDeadLetterQueue ? ", in the DLQ" : ", not in the DLQ")
                        + ")");
            }
        }

        Builder wall(Duration wall) {
            this.wall = wall;
            return this;
        }

        Builder faults(int kills, int terms, int spotNotices, int spotReclaims, int sqsOutages, int dynamoDbOutages,
                       int bothOutages, int workerStarts, int duplicates, long sqsCutMillis, long dynamoDbCutMillis) {
            this.kills = kills;
            this.faults = String.format(Locale.ROOT, "faults: kills=%d sigterms=%d spot_notices=%d spot_reclaims=%d"
                            + " outages_sqs=%d outages_dynamodb=%d outages_both=%d cut_sqs=%.1fs cut_dynamodb=%.1fs"
                            + " duplicates_sent=%d worker_starts=%d", kills, terms, spotNotices, spotReclaims,
                    sqsOutages, dynamoDbOutages, bothOutages, sqsCutMillis / 1000.0, dynamoDbCutMillis / 1000.0,
                    duplicates, workerStarts);
            return this;
        }

        Builder queues(int leftInQueue, int inDlq) {
            this.leftInQueue = leftInQueue;
            this.inDlq = inDlq;
            return this;
        }

        Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        ChaosReport build() {
            boolean passed = lost.isEmpty() && doubled.isEmpty() && stuck.isEmpty() && poisonMisplaced.isEmpty();
            List<String> details = new ArrayList<>();
            details.add(String.format(Locale.ROOT, "chaos: seed=%d wall=%ds poison=%d runs=%d commits=%d"
                            + " discarded_commits=%d failed_not_poison=%d failed_not_in_dlq=%d dlq_messages=%d"
                            + " dlq_of_succeeded=%d left_in_queue=%d", seed, wall.toSeconds(), poisonJobs, runs,
                    commits, discardedCommits, failedNotPoison, failedWithoutDlq.size(), inDlq, dlqOfSucceeded,
                    leftInQueue));
            details.add("chaos: " + faults);
            list(details, "lost", lost);
            list(details, "stuck", stuck);
            list(details, "double_completed", doubled);
            list(details, "poison_not_failed_in_dlq", poisonMisplaced);
            list(details, "failed_not_in_dlq", failedWithoutDlq);
            String summary = String.format(Locale.ROOT, "chaos: jobs=%d succeeded=%d failed=%d lost=%d"
                            + " double_completed=%d stuck=%d preempted=%d kills=%d", jobs, succeeded, failed, lost.size(),
                    doubled.size(), stuck.size(), preempted, kills);
            details.forEach(System.out::println);
            if (!poisonMisplaced.isEmpty()) {
                System.out.println("chaos: FAIL: " + poisonMisplaced.size() + " poison job(s) not FAILED in the DLQ");
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
