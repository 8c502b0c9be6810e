package dev.ferry.functions;

import dev.ferry.core.AwsErrors;
import dev.ferry.core.DynamoDbJobStore;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.Job;
import dev.ferry.core.JobFiles;
import dev.ferry.core.JobIds;
import dev.ferry.core.JobMessage;
import dev.ferry.core.JobStatus;
import dev.ferry.core.JobStore;
import dev.ferry.core.Json;
import dev.ferry.core.Pools;
import dev.ferry.core.SqsMessageText;
import dev.ferry.core.logging.LogContext;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.SendMessageRequest;

/**
 * Accepts jobs. The record is written first, PENDING, then the message is sent, then the record
 * reads QUEUED: a job is never on the queue without a record, and no record reads QUEUED without
 * its message having been sent.
 *
 * <ul>
 *   <li>Input SQS could never carry (U+FFFF, a lone surrogate) is a {@code 400} before anything is
 *       written; a message over the queue's limit a {@code 413}.</li>
 *   <li>The one who writes a PENDING record holds the right to send its message until
 *       {@code sendingUntil}. A replay with the same {@code Idempotency-Key} that finds it PENDING
 *       waits for that sender (briefly) rather than sending a second message; only once the hold
 *       has run out (the sender vanished) does one replay take it over, by a conditional write, and
 *       send. Fifty concurrent replays send nothing more.</li>
 *   <li>A send that fails leaves nothing behind: the record is deleted unless a worker already
 *       claimed it (its message did go out, the response was lost), and the client gets a
 *       {@code 503} or {@code 502} that says whether retrying helps. Where even the delete fails,
 *       the record stays PENDING: never counted as waiting, expiring by TTL, sent by a replay.</li>
 *   <li>Once the message is out the job is accepted ({@code 202}), even if marking it QUEUED then
 *       fails: a worker claims a PENDING job like a queued one, and its TTL outlives any message.</li>
 * </ul>
 */
public final class JobSubmitter {

    private static final Logger LOG = LoggerFactory.getLogger(JobSubmitter.class);
    /**
     * How long the writer of a PENDING record holds the right to send its message: its own write
     * and send, each bounded by the SDK's call timeout, with room to spare.
     */
    static final Duration SEND_HOLD = Duration.ofSeconds(30);
    /** How long a replay waits for the first request to queue the job before it answers 503. */
    static final Duration REPLAY_WAIT = Duration.ofSeconds(5);
    static final Duration REPLAY_POLL = Duration.ofMillis(100);

    private final JobStore store;
    private final SqsClient sqs;
    private final Pools pools;
    private final JobIds ids;
    private final Clock clock;
    private final int maxMessageBytes;
    private final Sleeper sleeper;
    private final UploadedInputs uploads;
    private final Deadlines deadlines;

    /** How a replay waits between reads; a test replaces it. */
    interface Sleeper {
        void sleep(Duration duration) throws InterruptedException;
    }

    public JobSubmitter(JobStore store, SqsClient sqs, String queueUrl, JobIds ids, Clock clock,
                        int maxMessageBytes, Set<String> allowedTypes) {
        this(store, sqs, queueUrl, ids, clock, maxMessageBytes, allowedTypes, d -> Thread.sleep(d.toMillis()),
                UploadedInputs.none());
    }

    JobSubmitter(JobStore store, SqsClient sqs, String queueUrl, JobIds ids, Clock clock,
                 int maxMessageBytes, Set<String> allowedTypes, Sleeper sleeper, UploadedInputs uploads) {
        this(store, sqs, queueUrl, ids, clock, maxMessageBytes, allowedTypes, sleeper, uploads, Deadlines.none());
    }

    /** One pool, {@value Pools#DEFAULT_POOL}: this queue, serving these types (empty: every type). */
    JobSubmitter(JobStore store, SqsClient sqs, String queueUrl, JobIds ids, Clock clock,
                 int maxMessageBytes, Set<String> allowedTypes, Sleeper sleeper, UploadedInputs uploads,
                 Deadlines deadlines) {
        this(store, sqs, Pools.single(queueUrl, Optional.empty(), allowedTypes, Optional.empty()), ids, clock,
                maxMessageBytes, sleeper, uploads, deadlines);
    }

    /**
     * @param pools where each job type is sent; a type no pool serves is refused
     * @param deadlines each job type's default deadline (and the rules every deadline follows)
     */
    JobSubmitter(JobStore store, SqsClient sqs, Pools pools, JobIds ids, Clock clock, int maxMessageBytes,
                 Sleeper sleeper, UploadedInputs uploads, Deadlines deadlines) {
        this.deadlines = Objects.requireNonNull(deadlines, "deadlines");
        this.store = Objects.requireNonNull(store, "store");
        this.sqs = Objects.requireNonNull(sqs, "sqs");
        this.pools = Objects.requireNonNull(pools, "pools");
        this.ids = Objects.requireNonNull(ids, "ids");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.maxMessageBytes = maxMessageBytes;
        this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
        this.uploads = Objects.requireNonNull(uploads, "uploads");
    }

    public static JobSubmitter fromEnvironment(FerryEnv env, JobStore store, SqsClient sqs) {
        return new JobSubmitter(store, sqs, Pools.from(env), new JobIds(), Clock.systemUTC(),
                env.intValue(FerryEnv.MAX_MESSAGE_BYTES, FerryEnv.DEFAULT_MAX_MESSAGE_BYTES),
                d -> Thread.sleep(d.toMillis()), new UploadedInputs(JobFiles.fromEnvironment(env),
                        env.intValue(FerryEnv.MAX_INPUT_UPLOAD_BYTES, FerryEnv.DEFAULT_MAX_INPUT_UPLOAD_BYTES)),
                Deadlines.fromEnvironment(env));
    }

    /** What a submit produced: the job, and whether this request created it. */
    public record Submitted(Job job, boolean created) {
    }

    /**
     * @param scope whose idempotency keys these are (the caller's API key id; empty locally)
     * @throws ApiException 400/409/413 for the client's mistakes; 503 (with Retry-After) when a
     *     dependency failed and retrying is safe; 502 when it refused for good
     */
    public Submitted submit(SubmitRequest request, String scope) {
        // Nothing is written for a type no pool serves: refused here, not accepted and dead-lettered later.
        Pools.Pool pool = pools.route(request.type()).orElseThrow(() -> ApiException.badRequest(
                "field \"type\": unknown job type \"" + request.type() + "\"; no pool serves it. This deployment"
                        + " serves " + pools.describeServed()));
        if (request.highPriority() && pool.priorityQueueUrl().isEmpty()) {
            // Refused, not sent to the normal queue: a client that asked for high would believe its job jumps the queue.
            throw ApiException.badRequest("field \"" + SubmitRequest.PRIORITY + "\": pool " + pool.name()
                    + " (which serves job type \"" + request.type() + "\") has no high-priority lane; send \""
                    + SubmitRequest.NORMAL + "\" or leave the field out");
        }
        Optional<SqsMessageText.Refused> refused = SqsMessageText.firstRefused(request.input(), "input");
        if (refused.isPresent()) {
            throw ApiException.badRequest(refused.get().message());
        }
        String jobId = request.idempotencyKey()
                .map(key -> JobIds.forIdempotencyKey(scope == null ? "" : scope, key))
                .orElseGet(ids::newId);
        LogContext.job(jobId, request.type()); // every line of this submit carries the job's id
        Instant deadline;
        Map<String, String> checkedUploads;
        try {
            deadline = deadlines.resolve(request.type(), request.deadline(), clock.instant()).orElse(null);
            Optional<String> inputUpload = request.inputUpload();
            checkedUploads = inputUpload.isPresent()
                    ? uploads.checkInputUpload(inputUpload.get())
                    : uploads.checkInline(request.input());
        } catch (ApiException e) {
            JobMessage message = new JobMessage(jobId, request.type(), request.input());
            // A replay of a job accepted earlier is answered with it, even once its uploads expired (or
            // the deadline its body names has passed).
            Optional<Job> earlier = e.statusCode() < 500 && request.idempotencyKey().isPresent()
                    ? existing(jobId) : Optional.empty();
            if (earlier.isPresent() && earlier.get().requestHash().equals(request.fingerprint())) {
                return new Submitted(replay(earlier.get(), message), false);
            }
            throw e;
        }
        JobMessage message = new JobMessage(jobId, request.type(), request.input(), deadline);
        int size = message.sizeInBytes();
        if (size > maxMessageBytes) {
            throw new ApiException(413, "field \"input\" is too large: the job's message would be " + size
                    + " bytes and the queue takes at most " + maxMessageBytes + "; upload it (POST /uploads) and send"
                    + " \"inputUpload\": \"<uploadId>\" instead");
        }
        Instant now = clock.instant();
        Instant holdUntil = now.plus(SEND_HOLD);
        Job job = Job.builder()
                .jobId(jobId)
                .type(request.type())
                .pool(pool.name())
                .priority(request.highPriority() ? Job.HIGH_PRIORITY : null)
                .input(request.input().toString())
                .requestHash(request.fingerprint())
                .idempotencyKey(request.idempotencyKey().orElse(null))
                .status(JobStatus.PENDING)
                .attempts(0)
                .version(0L)
                .createdAt(now)
                .updatedAt(now)
                .sendingUntil(holdUntil.toEpochMilli())
                .expiresAt(now.plus(DynamoDbJobStore.PENDING_RETENTION).getEpochSecond())
                .uploads(checkedUploads.isEmpty() ? null : Json.MAPPER.valueToTree(checkedUploads).toString())
                .webhookUrl(request.webhook().map(WebhookRequest::url).orElse(null))
                .webhookEvents(request.webhook().map(WebhookRequest::events).orElse(null))
                .deadline(deadline)
                .build();

        JobStore.CreateResult created;
        try {
            created = store.create(job);
        } catch (SdkException e) {
            LOG.warn("could not record job {}: {}", jobId, AwsErrors.describe(e));
            throw ApiException.fromAws("could not record the job, nothing was queued", e);
        }
        if (created instanceof JobStore.AlreadyExists existing) {
            Job current = existing.job();
            if (!job.requestHash().equals(current.requestHash())) {
                throw new ApiException(409, "header Idempotency-Key \"" + request.idempotencyKey().orElse("")
                        + "\" was already used for a different request (job " + current.jobId() + ")");
            }
            return new Submitted(replay(current, message), false);
        }
        return new Submitted(send(job, message, holdUntil), true);
    }

    private Optional<Job> existing(String jobId) {
        try {
            return store.get(jobId);
        } catch (SdkException e) {
            throw ApiException.fromAws("could not check for an earlier job with this Idempotency-Key", e);
        }
    }

    /**
     * A replay of a submit whose record exists. A PENDING one is being sent by the first request:
     * wait for it; if its hold runs out first, take the sending over (one replay wins) and send.
     */
    private Job replay(Job found, JobMessage message) {
        long deadline = System.nanoTime() + REPLAY_WAIT.toNanos();
        Job current = found;
        while (true) {
            if (current.status() != JobStatus.PENDING) {
                LOG.info("idempotent replay of job {} (status {})", current.jobId(), current.status());
                return current;
            }
            Instant now = clock.instant();
            if (current.sendingUntil() == null || current.sendingUntil() < now.toEpochMilli()) {
                Instant holdUntil = now.plus(SEND_HOLD);
                boolean taken;
                try {
                    taken = store.takeOverSending(current.jobId(), holdUntil, now);
                } catch (SdkException e) {
                    throw ApiException.fromAws("could not check whether job " + current.jobId() + " was queued", e);
                }
                if (taken) {
                    LOG.info("idempotent replay of job {} whose first sender is gone: sending its message",
                            current.jobId());
                    // The job as first accepted: its deadline, not one this replay asked for.
                    return send(current, new JobMessage(message.jobId(), message.type(), message.input(),
                            current.deadline()), holdUntil);
                }
            }
            if (System.nanoTime() > deadline) {
                throw ApiException.unavailable("job " + current.jobId() + " is still being queued by an earlier"
                        + " request with this Idempotency-Key", Duration.ofSeconds(2));
            }
            try {
                sleeper.sleep(REPLAY_POLL);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw ApiException.unavailable("interrupted while waiting for job " + current.jobId(),
                        Duration.ofSeconds(1));
            }
            try {
                Optional<Job> read = store.get(current.jobId());
                if (read.isEmpty()) {
                    // Its first request failed and removed it: nothing was queued.
                    throw ApiException.unavailable("the earlier request with this Idempotency-Key failed before job "
                            + current.jobId() + " was queued, and nothing was kept", Duration.ofSeconds(1));
                }
                current = read.get();
            } catch (SdkException e) {
                throw ApiException.fromAws("could not check whether job " + current.jobId() + " was queued", e);
            }
        }
    }

    /** Sends the job's message while holding the right to, then marks the record QUEUED. */
    private Job send(Job job, JobMessage message, Instant holdUntil) {
        try {
            sqs.sendMessage(SendMessageRequest.builder().queueUrl(queueUrlOf(job)).messageBody(message.toJson())
                    .build());
        } catch (SdkException e) {
            LOG.warn("job {} recorded but its message was not sent: {}", job.jobId(), AwsErrors.describe(e));
            return unsent(job, e);
        }
        Instant now = clock.instant();
        try {
            Optional<Job> marked = store.markQueued(job.jobId(), now);
            LOG.info("job {} of type {} queued", job.jobId(), job.type());
            // The answer shows the job as this request left it, QUEUED, even where a worker was quicker
            // than the mark (the record then reads RUNNING or further: GET /jobs shows that).
            return marked.filter(j -> j.status() == JobStatus.QUEUED).orElseGet(() -> queued(job, now));
        } catch (SdkException e) {
            // The message is out: the job is accepted. Its record reads PENDING until a worker claims it.
            LOG.warn("job {} queued, but marking its record QUEUED failed: {}", job.jobId(), AwsErrors.describe(e));
            return queued(job, now);
        }
    }

    /**
     * The queue of the pool the job was recorded for, in the lane recorded: a replay that takes the
     * sending over sends there too, even if the pools changed since (a record from before pools, or
     * of a pool no longer configured, goes by its type). A job recorded high whose pool has lost its
     * lane since goes to the pool's queue: it was accepted, and running later beats never running.
     */
    private String queueUrlOf(Job job) {
        Pools.Pool pool = pools.poolOf(job).orElseThrow(() -> ApiException.badRequest("field \"type\": job " + job.jobId() + " is of type \""
                        + job.type() + "\", which no pool serves any more; submit it with a type this deployment"
                        + " serves: " + pools.describeServed()));
        if (!job.highPriority()) {
            return pool.queueUrl();
        }
        return pool.priorityQueueUrl().orElseGet(() -> {
            LOG.warn("job {} was accepted for the high-priority lane of pool {}, which has none now: sent to its"
                    + " queue", job.jobId(), pool.name());
            return pool.queueUrl();
        });
    }

    private static Job queued(Job job, Instant now) {
        return job.toBuilder().status(JobStatus.QUEUED).enqueuedAt(now).updatedAt(now).sendingUntil(null)
                .expiresAt(null).build();
    }

    /**
     * The send failed, perhaps after SQS took the message (a lost response): take the record back
     * unless a worker has claimed it, which proves the message went out.
     */
    private Job unsent(Job job, SdkException sendFailure) {
        Optional<Job> current;
        try {
            current = store.deleteUnsent(job.jobId());
        } catch (SdkException e) {
            LOG.warn("job {}: could not remove its unsent record either: {}", job.jobId(), AwsErrors.describe(e));
            throw ApiException.fromAws("job " + job.jobId() + " was recorded but may not be queued;"
                    + " retry with the same Idempotency-Key to make sure", sendFailure);
        }
        if (current.isPresent() && current.get().status() != JobStatus.PENDING) {
            LOG.info("job {}: its send reported a failure, but a worker already has it ({})", job.jobId(),
                    current.get().status());
            return current.get();
        }
        throw ApiException.fromAws("could not queue the job, nothing was kept", sendFailure);
    }
}
