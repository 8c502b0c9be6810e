package dev.ferry.core;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Reads across many jobs: listings, counts, queue positions, recent run times (from the table's
 * secondary indexes, {@link JobTable#INDEXES}, never a scan), and the statuses of many jobs at
 * once (for the requests that wait for their jobs). Nothing here writes.
 *
 * <p>Listings and counts read indexes, which DynamoDB updates within about a second of a write:
 * a job that changed a moment ago may show its previous status. Records past their TTL (which
 * DynamoDB deletes up to days late) are left out, as {@link JobStore#get} leaves them out.
 */
public interface JobQueries {

    /** The most jobs one page holds. */
    int MAX_PAGE = 100;

    /**
     * Which jobs a listing holds.
     *
     * @param status only jobs in this status; null for any
     * @param type only jobs of this type; null for any
     */
    record Filter(JobStatus status, String type) {

        public static final Filter ALL = new Filter(null, null);

        public static Filter status(JobStatus status) {
            return new Filter(status, null);
        }
    }

    /**
     * One page of a listing, newest first.
     *
     * @param jobs summaries ({@link JobTable#SUMMARY}): no input, result, files or history
     * @param next where the next page starts (the index key of the last job read, as DynamoDB's
     *     {@code LastEvaluatedKey}), or null when this page is the last
     */
    record Page(List<Job> jobs, Map<String, String> next) {

        public Page {
            jobs = List.copyOf(jobs);
            next = next == null ? null : Map.copyOf(next);
        }
    }

    /**
     * A page of jobs matching {@code filter}, newest first. It holds at most {@code limit} jobs,
     * and fewer (even none) with a {@code next} when a filter that no index answers alone (a
     * status and a type together) left out most of what one page's reads found.
     *
     * @param limit 1 to {@link #MAX_PAGE}
     * @param after a previous page's {@code next}, or null for the first page
     * @throws IllegalArgumentException when {@code after} is not a position in this listing (the
     *     wrong attributes, another partition, a malformed id)
     */
    Page list(Filter filter, int limit, Map<String, String> after);

    /**
     * A count that stopped at a cap.
     *
     * @param value the count, at most the cap
     * @param more true when there are more than {@code value}
     */
    record Count(long value, boolean more) {
    }

    /** How many jobs are in {@code status}, counting at most {@code cap}. */
    Count count(JobStatus status, int cap);

    /** How many QUEUED jobs were created before {@code job}, counting at most {@code cap}. */
    Count queuedBefore(Job job, int cap);

    /** The job that has been in {@code status} since it was created longest ago (for QUEUED: the oldest waiting). */
    Optional<Job> oldest(JobStatus status);

    /**
     * How long the latest successful runs of {@code type} took, newest first: each succeeded job's
     * succeeding attempt, from its history. Fewer than {@code max} (even none) when the type has
     * had fewer successes lately.
     */
    List<Duration> recentRunTimes(String type, int max);

    /**
     * The statuses of these jobs, read strongly consistently in batches.
     *
     * @param found each job that has a live record, and its status
     * @param unprocessed jobs DynamoDB did not read this time (throttling): ask again
     */
    record Statuses(Map<String, JobStatus> found, Set<String> unprocessed) {

        public Statuses {
            found = Map.copyOf(found);
            unprocessed = Set.copyOf(unprocessed);
        }
    }

    /** The statuses of {@code jobIds}; a job in neither of the answer's parts has no live record. */
    Statuses statuses(Collection<String> jobIds);
}
