package dev.ferry.functions;

import dev.ferry.core.FerryEnv;
import dev.ferry.core.Job;
import dev.ferry.core.JobIds;
import dev.ferry.core.JobMessage;
import dev.ferry.core.JobStatus;
import dev.ferry.core.JobStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.SendMessageRequest;

/**
 * Accepts jobs: writes the record first, then sends the message, so a job is never on the queue
 * without a record. A retry with the same {@code Idempotency-Key} lands on the same record and
 * re-sends the message if the first attempt never recorded a send; the duplicate that may make is
 * absorbed by the worker's claim.
 */
public final class JobSubmitter {

    private static final Logger LOG = LoggerFactory.getLogger(JobSubmitter.class);

    private final JobStore store;
    private final SqsClient sqs;
    private final String queueUrl;
    private final JobIds ids;
    private final Clock clock;
    private final int maxMessageBytes;
    private final Duration retention;
    private final Set<String> allowedTypes;

    public JobSubmitter(JobStore store, SqsClient sqs, String queueUrl, JobIds ids, Clock clock,
                        int maxMessageBytes, Duration retention, Set<String> allowedTypes) {
        this.store = Objects.requireNonNull(store, "store");
        this.sqs = Objects.requireNonNull(sqs, "sqs");
        this.queueUrl = Objects.requireNonNull(queueUrl, "queueUrl");
        this.ids = Objects.requireNonNull(ids, "ids");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.maxMessageBytes = maxMessageBytes;
        this.retention = Objects.requireNonNull(retention, "retention");
        this.allowedTypes = Set.copyOf(allowedTypes);
    }

    public static JobSubmitter fromEnvironment(FerryEnv env, JobStore store, SqsClient sqs) {
        Set<String> types = env.optional(FerryEnv.JOB_TYPES)
                .map(list -> Arrays.stream(list.split(",")).map(String::trim).filter(t -> !t.isEmpty())
                        .collect(Collectors.toSet()))
                .orElse(Set.of());
        return new JobSubmitter(store, sqs, env.required(FerryEnv.QUEUE_URL), new JobIds(), Clock.systemUTC(),
                env.intValue(FerryEnv.MAX_MESSAGE_BYTES, FerryEnv.DEFAULT_MAX_MESSAGE_BYTES),
                Duration.ofDays(env.intValue(FerryEnv.RETENTION_DAYS, FerryEnv.DEFAULT_RETENTION_DAYS)),
                types);
    }

    /** What a submit produced: the job, and whether this request created it. */
    public record Submitted(Job job, boolean created) {
    }

    /**
     * @param scope whose idempotency keys these are (the caller's API key id; empty locally)
     * @throws ApiException 400/409/413 for the client's mistakes, 503 when a dependency failed
     *     before the job was safely queued (retrying is then safe)
     */
    public Submitted submit(SubmitRequest request, String scope) {
        if (!allowedTypes.isEmpty() && !allowedTypes.contains(request.type())) {
            throw ApiException.badRequest("field \"type\": unknown job type \"" + request.type()
                    + "\"; this deployment accepts " + allowedTypes.stream().sorted().toList());
        }
        String jobId = request.idempotencyKey()
                .map(key -> JobIds.forIdempotencyKey(scope == null ? "" : scope, key))
                .orElseGet(ids::newId);
        JobMessage message = new JobMessage(jobId, request.type(), request.input());
        int size = message.sizeInBytes();
        if (size > maxMessageBytes) {
            throw new ApiException(413, "field \"input\" is too large: the job's message would be " + size
                    + " bytes and the queue takes at most " + maxMessageBytes);
        }
        Instant now = clock.instant();
        Job job = Job.builder()
                .jobId(jobId)
                .type(request.type())
                .input(request.input().toString())
                .requestHash(request.fingerprint())
                .idempotencyKey(request.idempotencyKey().orElse(null))
                .status(JobStatus.QUEUED)
                .attempts(0)
                .version(0L)
                .createdAt(now)
                .updatedAt(now)
                .expiresAt(now.plus(retention).getEpochSecond())
                .build();

        JobStore.CreateResult created;
        try {
            created = store.create(job);
        } catch (SdkException e) {
            LOG.warn("could not record job {}: {}", jobId, e.toString());
            throw new ApiException(503, "could not record the job, nothing was queued; retry: " + e.getMessage());
        }
        if (created instanceof JobStore.AlreadyExists existing) {
            Job current = existing.job();
            if (!job.requestHash().equals(current.requestHash())) {
                throw new ApiException(409, "header Idempotency-Key \"" + request.idempotencyKey().orElse("")
                        + "\" was already used for a different request (job " + current.jobId() + ")");
            }
            if (current.enqueuedAt() != null) {
                LOG.info("idempotent replay of job {} (status {})", jobId, current.status());
                return new Submitted(current, false);
            }
            LOG.info("idempotent replay of job {} whose message was never recorded as sent: sending it", jobId);
            return new Submitted(enqueue(current, message), false);
        }
        return new Submitted(enqueue(job, message), true);
    }

    private Job enqueue(Job job, JobMessage message) {
        try {
            sqs.sendMessage(SendMessageRequest.builder().queueUrl(queueUrl).messageBody(message.toJson()).build());
        } catch (SdkException e) {
            LOG.warn("job {} recorded but its message was not sent: {}", job.jobId(), e.toString());
            throw new ApiException(503, "job " + job.jobId() + " was recorded but could not be queued;"
                    + " retry with the same Idempotency-Key to queue it: " + e.getMessage());
        }
        Instant now = clock.instant();
        try {
            store.markEnqueued(job.jobId(), now);
        } catch (SdkException e) {
            // The message is on the queue; only the note of it is missing. A replay would send a
            // second message, which the worker's claim absorbs.
            LOG.warn("job {} queued, but recording the send failed: {}", job.jobId(), e.toString());
        }
        LOG.info("job {} of type {} queued", job.jobId(), job.type());
        return job.toBuilder().enqueuedAt(now).build();
    }
}
