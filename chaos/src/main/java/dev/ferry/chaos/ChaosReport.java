package dev.ferry.chaos;

import dev.ferry.core.Job;
import dev.ferry.core.JobStatus;
import dev.ferry.core.Json;
import dev.ferry.testkit.CompletionWitness;
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
 *   <li><b>kills</b>: SIGKILLs of a worker process by the injector (Spot reclaims counted apart).
 * </ul>
 *
 * <p>It passes when lost, double_completed, stuck and wrong_status are 0, every poison job is
 * FAILED with its message in the DLQ, every oversize job FAILED at once (its one attempt per round
 * that ran to an outcome, never retried) saying it is too large, with its message in the DLQ,
 * every refused submit was a 400 naming the field that left nothing behind, and no redrive whose
 * move task was refused answered as if it had started.
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

    /**
     * What the count saw of one accepted job.
     *
     * @param record its record at the end; null if there is none
     * @param reaped its record as the TTL reaper deleted it; null if it was not
     * @param completions completions in its busiest round (the change stream)
     * @param inQueue its messages in the job queue at the end
     * @param inDlq its messages in the DLQ at the end
     * @param movedSinceFinished a move task out of the DLQ ran after it finished
     */
    record Seen(String jobId, ChaosMain.Kind kind, Job record, Job reaped, List<String> committedRuns, int starts,
                int completions, CompletionWitness.History history, int inQueue, int inDlq,
                boolean movedSinceFinished) {
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
        private int redriven;
        private final List<String> lost = new ArrayList<>();
        private final List<String> stuck = new ArrayList<>();
        private final List<String> doubled = new ArrayList<>();
        private final List<String> wrongStatus = new ArrayList<>();
        private final List<String> poisonMisplaced = new ArrayList<>();
        private final List<String> oversizeBad = new ArrayList<>();
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
            switch (status) {
                case SUCCEEDED -> {
                    succeeded++;
                    String run = Json.parse(job.result()).path("run").asText("");
                    if (!seen.committedRuns().contains(run)) {
                        lost.add(jobId + " (SUCCEEDED with run " + run + ", which committed nothing)");
                    }
                    discardedCommits += seen.committedRuns().size() - (seen.committedRuns().contains(run) ? 1 : 0);
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
                oversize(seen, job, placed);
            }
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
         * FAILED, saying the result is too large, its message in the DLQ, after one attempt per round
         * that ran to an outcome: never a failed attempt sent back to wait. Attempts a worker never
         * finished (it died, or its lease was taken over), given back, or started by a redrive are
         * the stream's to explain.
         */
        private void oversize(Seen seen, Job job, boolean placed) {
            CompletionWitness.History history = seen.history();
            int ranToOutcome = job.attempts() - job.preemptions() - history.takeovers();
            List<String> wrong = new ArrayList<>();
            if (job.status() != JobStatus.FAILED) {
                wrong.add("ended " + job.status());
            }
            if (job.error() == null || !job.error().contains("too large")) {
                wrong.add("error '" + job.error() + "'");
            }
            if (!placed) {
                wrong.add(seen.inDlq() + " in the DLQ, " + seen.inQueue() + " in the job queue");
            }
            if (history.retries() > 0) {
                wrong.add("retried " + history.retries() + " time(s)");
            }
            if (ranToOutcome != 1 + history.redriveRounds()) {
                wrong.add(ranToOutcome + " attempt(s) ran to an outcome in " + (1 + history.redriveRounds())
                        + " round(s) (attempts " + job.attempts() + ", preemptions " + job.preemptions()
                        + ", takeovers " + history.takeovers() + ")");
            }
            if (wrong.isEmpty()) {
                oversizeOk++;
            } else {
                oversizeBad.add(seen.jobId() + " (" + String.join("; ", wrong) + ")");
            }
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
            boolean passed = lost.isEmpty() && doubled.isEmpty() && stuck.isEmpty() && wrongStatus.isEmpty()
                    && poisonMisplaced.isEmpty() && oversizeBad.isEmpty() && refusedBad.isEmpty()
                    && redrivesBad.isEmpty();
            List<String> details = new ArrayList<>();
            proxies.forEach(line -> details.add("chaos: " + line));
            details.add(String.format(Locale.ROOT, "chaos: seed=%d wall=%ds poison=%d oversize=%d oversize_ok=%d"
                            + " refused_ok=%d runs=%d commits=%d discarded_commits=%d failed_not_poison=%d cancelled=%d"
                            + " redriven=%d dlq_messages=%d left_in_queue=%d hidden_at_end=%d ttl_reaped=%d"
                            + " ttl_reaped_accepted=%d ttl_reaped_unfinished=%d submits_given_up=%d", seed,
                    wall.toSeconds(), poisonJobs, oversizeJobs, oversizeOk, refusedOk, runs, commits, discardedCommits,
                    failedNotPoison, cancelled, redriven, inDlq, leftInQueue, hiddenAtEnd, ttlReaped,
                    ttlReapedAccepted, reapedUnfinished.size(), submitsGivenUp.size()));
            details.add("chaos: " + faults);
            list(details, "lost", lost);
            list(details, "stuck", stuck);
            list(details, "double_completed", doubled);
            list(details, "wrong_status", wrongStatus);
            list(details, "poison_not_failed_in_dlq", poisonMisplaced);
            list(details, "oversize_not_failed_at_once", oversizeBad);
            list(details, "refused_not_refused", refusedBad);
            list(details, "redrive_misreported", redrivesBad);
            list(details, "submits_given_up", submitsGivenUp);
            String summary = String.format(Locale.ROOT, "chaos: jobs=%d succeeded=%d failed=%d lost=%d"
                            + " double_completed=%d stuck=%d wrong_status=%d preempted=%d kills=%d", jobs, succeeded,
                    failed, lost.size(), doubled.size(), stuck.size(), wrongStatus.size(), preempted, kills);
            details.forEach(System.out::println);
            for (String[] check : new String[][] {
                    {Integer.toString(poisonMisplaced.size()), "poison job(s) not FAILED in the DLQ"},
                    {Integer.toString(oversizeBad.size()), "oversize job(s) not FAILED at once in the DLQ"},
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
