package dev.ferry.core;

import static software.amazon.awssdk.enhanced.dynamodb.mapper.StaticAttributeTags.primaryPartitionKey;

import java.time.Instant;
import software.amazon.awssdk.enhanced.dynamodb.EnhancedType;
import software.amazon.awssdk.enhanced.dynamodb.EnumAttributeConverter;
import software.amazon.awssdk.enhanced.dynamodb.TableSchema;
import software.amazon.awssdk.enhanced.dynamodb.mapper.StaticImmutableTableSchema;

/**
 * The jobs table's shape: attribute names and the enhanced client's schema for {@link Job}.
 * A static schema (no reflection) keeps Lambda cold starts and SnapStart restores short.
 */
public final class JobTable {

    /** Partition key. The template's table must use the same name. */
    public static final String JOB_ID = "jobId";
    /** TTL attribute (epoch seconds). The template's TimeToLiveSpecification must name it. */
    public static final String EXPIRES_AT = "expiresAt";

    public static final String TYPE = "type";
    public static final String INPUT = "input";
    public static final String REQUEST_HASH = "requestHash";
    public static final String IDEMPOTENCY_KEY = "idempotencyKey";
    public static final String STATUS = "status";
    public static final String ATTEMPTS = "attempts";
    public static final String VERSION = "version";
    public static final String PREEMPTIONS = "preemptions";
    public static final String REDRIVES = "redrives";
    public static final String LEASE_OWNER = "leaseOwner";
    public static final String LEASE_EXPIRES_AT = "leaseExpiresAt";
    public static final String LEASE_MESSAGE_ID = "leaseMessageId";
    public static final String LEASE_ID = "leaseId";
    public static final String SENDING_UNTIL = "sendingUntil";
    public static final String REDRIVE_REQUESTED_AT = "redriveRequestedAt";
    public static final String RESULT_KEY = "resultKey";
    public static final String FILES = "files";
    public static final String HISTORY = "history";
    public static final String UPLOADS = "uploads";
    public static final String RESULT = "result";
    public static final String ERROR = "error";
    public static final String CREATED_AT = "createdAt";
    public static final String UPDATED_AT = "updatedAt";
    public static final String ENQUEUED_AT = "enqueuedAt";
    public static final String FINISHED_AT = "finishedAt";
    // Cancel, deadline, progress (issue 11)
    public static final String CLAIMED_AT = "claimedAt";
    public static final String CANCEL_REQUESTED_AT = "cancelRequestedAt";
    public static final String CANCEL_REASON = "cancelReason";
    public static final String DEADLINE = "deadline";
    public static final String PROGRESS = "progress";
    public static final String PROGRESS_MESSAGE = "progressMessage";
    public static final String PROGRESS_AT = "progressAt";

    public static final TableSchema<Job> SCHEMA = StaticImmutableTableSchema.builder(Job.class, Job.Builder.class)
            .newItemBuilder(Job::builder, Job.Builder::build)
            .addAttribute(String.class, a -> a.name(JOB_ID).getter(Job::jobId).setter(Job.Builder::jobId)
                    .tags(primaryPartitionKey()))
            .addAttribute(String.class, a -> a.name(TYPE).getter(Job::type).setter(Job.Builder::type))
            .addAttribute(String.class, a -> a.name(INPUT).getter(Job::input).setter(Job.Builder::input))
            .addAttribute(String.class, a -> a.name(REQUEST_HASH).getter(Job::requestHash).setter(Job.Builder::requestHash))
            .addAttribute(String.class, a -> a.name(IDEMPOTENCY_KEY).getter(Job::idempotencyKey)
                    .setter(Job.Builder::idempotencyKey))
            .addAttribute(EnhancedType.of(JobStatus.class), a -> a.name(STATUS).getter(Job::status)
                    .setter(Job.Builder::status).attributeConverter(EnumAttributeConverter.create(JobStatus.class)))
            .addAttribute(Integer.class, a -> a.name(ATTEMPTS).getter(Job::attempts).setter(Job.Builder::attempts))
            .addAttribute(Integer.class, a -> a.name(PREEMPTIONS).getter(Job::preemptions)
                    .setter(Job.Builder::preemptions))
            .addAttribute(Integer.class, a -> a.name(REDRIVES).getter(Job::redrives).setter(Job.Builder::redrives))
            .addAttribute(Long.class, a -> a.name(VERSION).getter(Job::version).setter(Job.Builder::version))
            .addAttribute(String.class, a -> a.name(LEASE_OWNER).getter(Job::leaseOwner).setter(Job.Builder::leaseOwner))
            .addAttribute(Long.class, a -> a.name(LEASE_EXPIRES_AT).getter(Job::leaseExpiresAt)
                    .setter(Job.Builder::leaseExpiresAt))
            .addAttribute(String.class, a -> a.name(LEASE_MESSAGE_ID).getter(Job::leaseMessageId)
                    .setter(Job.Builder::leaseMessageId))
            .addAttribute(String.class, a -> a.name(LEASE_ID).getter(Job::leaseId).setter(Job.Builder::leaseId))
            .addAttribute(Long.class, a -> a.name(SENDING_UNTIL).getter(Job::sendingUntil)
                    .setter(Job.Builder::sendingUntil))
            .addAttribute(Instant.class, a -> a.name(REDRIVE_REQUESTED_AT).getter(Job::redriveRequestedAt)
                    .setter(Job.Builder::redriveRequestedAt))
            .addAttribute(String.class, a -> a.name(RESULT_KEY).getter(Job::resultKey).setter(Job.Builder::resultKey))
            .addAttribute(String.class, a -> a.name(FILES).getter(Job::files).setter(Job.Builder::files))
            .addAttribute(String.class, a -> a.name(UPLOADS).getter(Job::uploads).setter(Job.Builder::uploads))
            .addAttribute(EnhancedType.listOf(AttemptRecord.class), a -> a.name(HISTORY).getter(Job::history)
                    .setter(Job.Builder::history).attributeConverter(new HistoryConverter()))
            .addAttribute(String.class, a -> a.name(RESULT).getter(Job::result).setter(Job.Builder::result))
            .addAttribute(String.class, a -> a.name(ERROR).getter(Job::error).setter(Job.Builder::error))
            .addAttribute(Instant.class, a -> a.name(CREATED_AT).getter(Job::createdAt).setter(Job.Builder::createdAt))
            .addAttribute(Instant.class, a -> a.name(UPDATED_AT).getter(Job::updatedAt).setter(Job.Builder::updatedAt))
            .addAttribute(Instant.class, a -> a.name(ENQUEUED_AT).getter(Job::enqueuedAt).setter(Job.Builder::enqueuedAt))
            .addAttribute(Instant.class, a -> a.name(FINISHED_AT).getter(Job::finishedAt).setter(Job.Builder::finishedAt))
            .addAttribute(Long.class, a -> a.name(EXPIRES_AT).getter(Job::expiresAt).setter(Job.Builder::expiresAt))
            .addAttribute(Instant.class, a -> a.name(CLAIMED_AT).getter(Job::claimedAt).setter(Job.Builder::claimedAt))
            .addAttribute(Instant.class, a -> a.name(CANCEL_REQUESTED_AT).getter(Job::cancelRequestedAt)
                    .setter(Job.Builder::cancelRequestedAt))
            .addAttribute(String.class, a -> a.name(CANCEL_REASON).getter(Job::cancelReason)
                    .setter(Job.Builder::cancelReason))
            .addAttribute(Instant.class, a -> a.name(DEADLINE).getter(Job::deadline).setter(Job.Builder::deadline))
            .addAttribute(Double.class, a -> a.name(PROGRESS).getter(Job::progress).setter(Job.Builder::progress))
            .addAttribute(String.class, a -> a.name(PROGRESS_MESSAGE).getter(Job::progressMessage)
                    .setter(Job.Builder::progressMessage))
            .addAttribute(Instant.class, a -> a.name(PROGRESS_AT).getter(Job::progressAt)
                    .setter(Job.Builder::progressAt))
            .build();

    private JobTable() {
    }

    /** The history as DynamoDB holds it: a list of maps, appended to by each outcome write. */
    static final class HistoryConverter implements software.amazon.awssdk.enhanced.dynamodb.AttributeConverter<
            java.util.List<AttemptRecord>> {
        @Override
        public software.amazon.awssdk.services.dynamodb.model.AttributeValue transformFrom(
                java.util.List<AttemptRecord> input) {
            return software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromL(
                    input.stream().map(AttemptRecord::toAttributeValue).toList());
        }

        @Override
        public java.util.List<AttemptRecord> transformTo(software.amazon.awssdk.services.dynamodb.model.AttributeValue input) {
            return input.hasL() ? input.l().stream().map(AttemptRecord::fromAttributeValue).toList() : java.util.List.of();
        }

        @Override
        public EnhancedType<java.util.List<AttemptRecord>> type() {
            return EnhancedType.listOf(AttemptRecord.class);
        }

        @Override
        public software.amazon.awssdk.enhanced.dynamodb.AttributeValueType attributeValueType() {
            return software.amazon.awssdk.enhanced.dynamodb.AttributeValueType.L;
        }
    }
}
