package dev.ferry.functions;

import dev.ferry.core.Job;
import dev.ferry.core.JobQueries;
import dev.ferry.core.JobStatus;
import dev.ferry.core.JobTable;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import software.amazon.awssdk.core.exception.SdkClientException;

/**
 * {@link JobQueries} over an {@link InMemoryJobStore}'s records, ordered as the indexes order
 * them (newest first, by creation), for handler tests. The real queries are tested word for word
 * (DynamoDbJobQueriesTest) and against DynamoDB Local (JobQueriesIT).
 */
class InMemoryJobQueries implements JobQueries {

    private final InMemoryJobStore store;
    volatile boolean unavailable;
    /** Run times {@link #recentRunTimes} answers, by type. */
    final Map<String, List<Duration>> runTimes = new HashMap<>();
    final AtomicInteger statusReads = new AtomicInteger();

    InMemoryJobQueries(InMemoryJobStore store) {
        this.store = store;
    }

    private void checkAvailable() {
        if (unavailable) {
            throw SdkClientException.create("Unable to execute HTTP request: Connect timed out");
        }
    }

    private Stream<Job> live() {
        Instant now = Instant.now();
        return store.jobs.values().stream().filter(job -> !job.expiredAt(now) && job.createdAt() != null);
    }

    private static final Comparator<Job> NEWEST_FIRST = Comparator
            .comparing((Job job) -> JobTable.sortableInstant(job.createdAt()))
            .thenComparing(Job::jobId).reversed();

    private static Map<String, String> position(Job job) {
        return Map.of(JobTable.CREATED_AT, JobTable.sortableInstant(job.createdAt()), JobTable.JOB_ID, job.jobId(),
                "filter", "any");
    }

    @Override
    public Page list(Filter filter, int limit, Map<String, String> after) {
        checkAvailable();
        if (after != null && !after.keySet().equals(Set.of(JobTable.CREATED_AT, JobTable.JOB_ID, "filter"))) {
            throw new IllegalArgumentException("it is not a position in this listing");
        }
        List<Job> matching = live()
                .filter(job -> filter.status() == null || job.status() == filter.status())
                .filter(job -> filter.type() == null || filter.type().equals(job.type()))
                .sorted(NEWEST_FIRST)
                .filter(job -> after == null || NEWEST_FIRST.compare(job, Job.builder().jobId(after.get(JobTable.JOB_ID))
                        .createdAt(Instant.parse(after.get(JobTable.CREATED_AT))).build()) > 0)
                .toList();
        List<Job> page = matching.subList(0, Math.min(limit, matching.size()));
        return new Page(page, matching.size() > limit ? position(page.get(page.size() - 1)) : null);
    }

    @Override
    public Count count(JobStatus status, int cap) {
        checkAvailable();
        long n = live().filter(job -> job.status() == status).count();
        return new Count(Math.min(n, cap), n > cap);
    }

    @Override
    public Count queuedBefore(Job job, int cap) {
        checkAvailable();
        long n = live().filter(other -> other.status() == JobStatus.QUEUED
                && other.createdAt().isBefore(job.createdAt())).count();
        return new Count(Math.min(n, cap), n > cap);
    }

    @Override
    public Optional<Job> oldest(JobStatus status) {
        checkAvailable();
        return live().filter(job -> job.status() == status).min(NEWEST_FIRST.reversed());
    }

    @Override
    public List<Duration> recentRunTimes(String type, int max) {
        checkAvailable();
        List<Duration> times = runTimes.getOrDefault(type, List.of());
        return new ArrayList<>(times.subList(0, Math.min(max, times.size())));
    }

    @Override
    public Statuses statuses(Collection<String> jobIds) {
        statusReads.incrementAndGet();
        checkAvailable();
        Map<String, JobStatus> found = new HashMap<>();
        for (String jobId : jobIds) {
            store.get(jobId).ifPresent(job -> found.put(jobId, job.status()));
        }
        return new Statuses(found, Set.of());
    }
}
