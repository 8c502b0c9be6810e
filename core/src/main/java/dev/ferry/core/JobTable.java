package dev.ferry.core;

import static software.amazon.awssdk.enhanced.dynamodb.mapper.StaticAttributeTags.primaryPartitionKey;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import software.amazon.awssdk.enhanced.dynamodb.AttributeConverter;
import software.amazon.awssdk.enhanced.dynamodb.AttributeValueType;
import software.amazon.awssdk.enhanced.dynamodb.EnhancedType;
import software.amazon.awssdk.enhanced.dynamodb.EnumAttributeConverter;
import software.amazon.awssdk.enhanced.dynamodb.TableSchema;
import software.amazon.awssdk.enhanced.dynamodb.mapper.StaticImmutableTableSchema;

/**
 * The jobs table's shape: attribute names, its secondary indexes and the enhanced client's schema
 * for {@link Job}. A static schema (no reflection) keeps Lambda cold starts and SnapStart restores
 * short.
 *
 * <p><b>Indexes.</b> Listings, queue positions and the admin page's lists read three global
 * secondary indexes, never a scan. Each is sorted by {@link #CREATED_AT}, which every record has
 * (so an index added to a table that holds records takes them all in), written with a fixed
 * number of digits so that text order is time order; ties need no tie-breaker, because an index's
 * keys need not be unique and a page's last key carries the job id. The unfiltered listing's
 * partition is {@link #LISTING}, the same value on every record, written with the record.
 */
public final class JobTable {

    /** Partition key. The template's table must use the same name. */
    public static final String JOB_ID = "jobId";
    /** TTL attribute (epoch seconds). The template's TimeToLiveSpecification must name it. */
    public static final String EXPIRES_AT = "expiresAt";

    public static final String TYPE = "type";
    /** The pool the job was routed to (issue 14). */
    public static final String POOL = "pool";
    /** {@code high} for a job sent to its pool's high-priority lane; absent (normal) otherwise. */
    public static final String PRIORITY = "priority";
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
    /**
     * The unfiltered listing's partition key: {@link #LISTING_ALL} on every record, written when it
     * is created (never read back into a {@link Job}).
     */
    public static final String LISTING = "listing";
    public static final String LISTING_ALL = "all";

    /**
     * A global secondary index of the table: its name, partition key and sort key. The template
     * declares the same (TemplateAgreementTest).
     */
    public record Index(String name, String partitionKey, String sortKey) {

        /** The attributes a job's position in this index consists of: what a page's last key holds. */
        public List<String> keyAttributes() {
            return List.of(partitionKey, sortKey, JOB_ID);
        }

        /** What the index holds besides its keys and the table's: {@link #SUMMARY} less its own keys. */
        public List<String> nonKeyAttributes() {
            List<String> attributes = new ArrayList<>(SUMMARY);
            attributes.removeAll(keyAttributes());
            return List.copyOf(attributes);
        }
    }

    /** Jobs of one status, newest first: status filters, queue positions, the admin page's lists. */
    public static final Index BY_STATUS = new Index("status-createdAt", STATUS, CREATED_AT);
    /** Jobs of one type, newest first: type filters, a type's recent run times. */
    public static final Index BY_TYPE = new Index("type-createdAt", TYPE, CREATED_AT);
    /** Every job, newest first: the unfiltered listing (one partition: see README, Limits). */
    public static final Index BY_CREATED = new Index("listing-createdAt", LISTING, CREATED_AT);
    public static final List<Index> INDEXES = List.of(BY_STATUS, BY_TYPE, BY_CREATED);

    /**
     * What a job's summary shows, projected into every index (besides the keys): small and
     * bounded, never the input, result, files or history. Attributes that change on every
     * heartbeat (the lease) stay out, so that renewing a lease writes no index.
     */
    public static final List<String> SUMMARY = List.of(TYPE, STATUS, ATTEMPTS, PREEMPTIONS, REDRIVES, UPDATED_AT,
            ENQUEUED_AT, FINISHED_AT, EXPIRES_AT, REDRIVE_REQUESTED_AT, ERROR);

    /** {@link #CREATED_AT} as stored: UTC, always nine fraction digits, so that text order is time order. */
    private static final DateTimeFormatter SORTABLE_INSTANT =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSSSSS'Z'").withZone(ZoneOffset.UTC);
    /** The client's webhook: where to POST the job's events, and which. */
    public static final String WEBHOOK_URL = "webhookUrl";
    public static final String WEBHOOK_EVENTS = "webhookEvents";
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
            .addAttribute(String.class, a -> a.name(POOL).getter(Job::pool).setter(Job.Builder::pool))
            .addAttribute(String.class, a -> a.name(PRIORITY).getter(Job::priority).setter(Job.Builder::priority))
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
            .addAttribute(Instant.class, a -> a.name(CREATED_AT).getter(Job::createdAt).setter(Job.Builder::createdAt)
                    .attributeConverter(new SortableInstantConverter()))
            .addAttribute(String.class, a -> a.name(LISTING).getter(job -> LISTING_ALL).setter((builder, value) -> {
            }))
            .addAttribute(Instant.class, a -> a.name(UPDATED_AT).getter(Job::updatedAt).setter(Job.Builder::updatedAt))
            .addAttribute(Instant.class, a -> a.name(ENQUEUED_AT).getter(Job::enqueuedAt).setter(Job.Builder::enqueuedAt))
            .addAttribute(Instant.class, a -> a.name(FINISHED_AT).getter(Job::finishedAt).setter(Job.Builder::finishedAt))
            .addAttribute(Long.class, a -> a.name(EXPIRES_AT).getter(Job::expiresAt).setter(Job.Builder::expiresAt))
            .addAttribute(String.class, a -> a.name(WEBHOOK_URL).getter(Job::webhookUrl).setter(Job.Builder::webhookUrl))
            .addAttribute(EnhancedType.listOf(String.class), a -> a.name(WEBHOOK_EVENTS)
                    .getter(job -> job.webhookEvents().isEmpty() ? null : job.webhookEvents())
                    .setter(Job.Builder::webhookEvents))
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

    /**
     * {@code instant} as {@link #CREATED_AT} is stored: {@code 2026-11-22T10:00:00.120000000Z}.
     * Records written before this format was used hold {@link Instant#toString()}'s text (0, 3, 6
     * or 9 fraction digits); they sort among the others within their second.
     */
    public static String sortableInstant(Instant instant) {
        return SORTABLE_INSTANT.format(instant);
    }

    /** Writes {@link #sortableInstant}, reads any ISO-8601 instant. */
    static final class SortableInstantConverter implements AttributeConverter<Instant> {
        @Override
        public software.amazon.awssdk.services.dynamodb.model.AttributeValue transformFrom(Instant input) {
            return software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromS(sortableInstant(input));
        }

        @Override
        public Instant transformTo(software.amazon.awssdk.services.dynamodb.model.AttributeValue input) {
            return Instant.parse(input.s());
        }

        @Override
        public EnhancedType<Instant> type() {
            return EnhancedType.of(Instant.class);
        }

        @Override
        public AttributeValueType attributeValueType() {
            return AttributeValueType.S;
        }
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
