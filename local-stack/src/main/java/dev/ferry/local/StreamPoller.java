package dev.ferry.local;

import com.amazonaws.services.lambda.runtime.events.DynamodbEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.Json;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ExpiredIteratorException;
import software.amazon.awssdk.services.dynamodb.model.GetRecordsResponse;
import software.amazon.awssdk.services.dynamodb.model.Record;
import software.amazon.awssdk.services.dynamodb.model.Shard;
import software.amazon.awssdk.services.dynamodb.model.ShardIteratorType;
import software.amazon.awssdk.services.dynamodb.streams.DynamoDbStreamsClient;

/**
 * A DynamoDB stream event source mapping, locally: reads the table's stream (DynamoDB Local serves
 * {@code DescribeStream}, {@code GetShardIterator}, {@code GetRecords}) and invokes the function
 * with each batch, as Lambda does: the records as Lambda writes them, only those its filter passes,
 * one batch at a time per shard, in order. A batch that fails is retried (after a pause) from its
 * first record, or from the record the function reports as failed, until it succeeds or its retries
 * ({@code MaximumRetryAttempts}, -1 for no limit) run out; records before it are not sent again.
 *
 * <p>It keeps no checkpoint: it starts at the stream's start on a table this start created, and
 * at its end on one that existed (what happened while the stack was stopped is not delivered).
 */
final class StreamPoller implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(StreamPoller.class);
    static final Duration IDLE_PAUSE = Duration.ofMillis(200);
    static final Duration RETRY_PAUSE = Duration.ofSeconds(1);

    private final SamTemplate.EventSource source;
    private final DynamoDbStreamsClient streams;
    private final String streamArn;
    private final String region;
    private final LocalFunction function;
    private final EventFilter filter;
    private final Thread thread;
    private final Map<String, Position> shards = new LinkedHashMap<>();
    private final Set<String> finished = new HashSet<>();
    private boolean fromStart;
    private volatile boolean stopped;
    private boolean failing;

    /** Where a shard is read from: its iterator, and the last record handled (to start again after it). */
    private static final class Position {
        String iterator;
        String lastSequence;
        List<Record> pending = List.of();
        int retries;
    }

    StreamPoller(SamTemplate.EventSource source, DynamoDbStreamsClient streams, String streamArn, boolean fromStart,
                 String region, LocalFunction function) {
        this.source = Objects.requireNonNull(source, "source");
        this.streams = Objects.requireNonNull(streams, "streams");
        this.streamArn = Objects.requireNonNull(streamArn, "streamArn");
        this.fromStart = fromStart;
        this.region = Objects.requireNonNull(region, "region");
        this.function = Objects.requireNonNull(function, "function");
        this.filter = EventFilter.of(source.filterPatterns(), source.name());
        this.thread = new Thread(this::run, "ferry-stream-" + source.name());
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    private void run() {
        while (!stopped) {
            boolean busy;
            try {
                discoverShards();
                busy = false;
                for (Map.Entry<String, Position> shard : new ArrayList<>(shards.entrySet())) {
                    busy |= poll(shard.getKey(), shard.getValue());
                }
                failing = false;
            } catch (SdkException e) {
                // Once per outage at WARN: a backend that stays down would flood the log otherwise.
                if (!failing) {
                    LOG.warn("{}: reading the stream failed, trying again every {}: {}", source.name(), IDLE_PAUSE,
                            e.toString());
                } else {
                    LOG.debug("{}: reading the stream failed again: {}", source.name(), e.toString());
                }
                failing = true;
                busy = false;
            }
            if (!busy && !pause(IDLE_PAUSE)) {
                return;
            }
        }
    }

    private void discoverShards() {
        List<Shard> all = new ArrayList<>();
        String after = null;
        do {
            String start = after;
            var description = streams.describeStream(r -> r.streamArn(streamArn).exclusiveStartShardId(start))
                    .streamDescription();
            all.addAll(description.shards());
            after = description.lastEvaluatedShardId();
        } while (after != null);
        Set<String> present = new HashSet<>();
        all.forEach(shard -> present.add(shard.shardId()));
        for (Shard shard : all) {
            String id = shard.shardId();
            if (shards.containsKey(id) || finished.contains(id)) {
                continue;
            }
            String parent = shard.parentShardId();
            boolean parentPending = parent != null && present.contains(parent) && !finished.contains(parent);
            if (parentPending && shards.containsKey(parent)) {
                continue; // a child waits for its parent's records: a job's changes stay in order
            }
            ShardIteratorType type = fromStart || parentPending ? ShardIteratorType.TRIM_HORIZON
                    : ShardIteratorType.LATEST;
            Position position = new Position();
            position.iterator = streams.getShardIterator(r -> r.streamArn(streamArn).shardId(id)
                    .shardIteratorType(type)).shardIterator();
            shards.put(id, position);
        }
        // Shards found from now on were made after this start: all of their records are new.
        fromStart = true;
    }

    /** Reads (or retries) one batch of a shard; true if it had records. */
    private boolean poll(String shardId, Position position) {
        if (position.pending.isEmpty()) {
            if (position.iterator == null) {
                shards.remove(shardId);
                finished.add(shardId);
                return false;
            }
            GetRecordsResponse response;
            try {
                response = streams.getRecords(r -> r.shardIterator(position.iterator).limit(source.batchSize()));
            } catch (ExpiredIteratorException | software.amazon.awssdk.services.dynamodb.model.TrimmedDataAccessException e) {
                // Expired, or pointing before the oldest record the stream still holds (DynamoDB Local
                // says so of an iterator taken at TRIM_HORIZON just as the shard was made): retrying the
                // same iterator fails for ever, so take a fresh one.
                position.iterator = streams.getShardIterator(r -> r.streamArn(streamArn).shardId(shardId)
                        .shardIteratorType(position.lastSequence == null ? ShardIteratorType.TRIM_HORIZON
                                : ShardIteratorType.AFTER_SEQUENCE_NUMBER)
                        .sequenceNumber(position.lastSequence)).shardIterator();
                return true;
            }
            position.iterator = response.nextShardIterator();
            position.pending = response.records();
            position.retries = 0;
            if (position.pending.isEmpty()) {
                return false;
            }
        }
        List<JsonNode> passed = new ArrayList<>();
        for (Record record : position.pending) {
            JsonNode json = lambdaRecord(record);
            if (filter.matches(json)) {
                passed.add(json);
            }
        }
        String failedFrom = passed.isEmpty() ? null : invoke(passed);
        if (failedFrom == null) {
            position.lastSequence = position.pending.get(position.pending.size() - 1).dynamodb().sequenceNumber();
            position.pending = List.of();
            return true;
        }
        List<Record> rest = new ArrayList<>();
        boolean from = false;
        for (Record record : position.pending) {
            from |= record.dynamodb().sequenceNumber().equals(failedFrom) || failedFrom.isEmpty();
            if (from) {
                rest.add(record);
            } else {
                position.lastSequence = record.dynamodb().sequenceNumber();
            }
        }
        position.retries++;
        if (source.maximumRetryAttempts() >= 0 && position.retries > source.maximumRetryAttempts()) {
            LOG.error("{}: a batch failed {} times; its {} record(s) are dropped (MaximumRetryAttempts)", source.name(),
                    position.retries, rest.size());
            position.pending = List.of();
            return true;
        }
        position.pending = rest;
        pause(RETRY_PAUSE);
        return true;
    }

    /** Invokes the function; null when the whole batch succeeded, else where to retry from ("" for all). */
    private String invoke(List<JsonNode> records) {
        try {
            Object answer = function.invokeWith(LambdaEvents.event(DynamodbEvent.class, records));
            if (!source.reportBatchItemFailures()) {
                return null;
            }
            List<String> failed = LambdaEvents.batchItemFailures(answer);
            return failed.isEmpty() ? null : failed.get(0);
        } catch (RuntimeException e) {
            LOG.warn("{}: the function failed on a batch of {} record(s), which is retried: {}", source.name(),
                    records.size(), e.toString());
            return "";
        }
    }

    /** The record as Lambda's event source mapping writes it. */
    private JsonNode lambdaRecord(Record record) {
        ObjectNode json = Json.MAPPER.createObjectNode()
                .put("eventID", record.eventID())
                .put("eventName", record.eventNameAsString())
                .put("eventVersion", record.eventVersion() == null ? "1.1" : record.eventVersion())
                .put("eventSource", "aws:dynamodb")
                .put("awsRegion", record.awsRegion() == null ? region : record.awsRegion());
        var change = record.dynamodb();
        ObjectNode dynamodb = json.putObject("dynamodb");
        if (change.approximateCreationDateTime() != null) {
            dynamodb.put("ApproximateCreationDateTime", change.approximateCreationDateTime().getEpochSecond());
        }
        dynamodb.set("Keys", image(change.keys()));
        if (change.hasNewImage()) {
            dynamodb.set("NewImage", image(change.newImage()));
        }
        if (change.hasOldImage()) {
            dynamodb.set("OldImage", image(change.oldImage()));
        }
        dynamodb.put("SequenceNumber", change.sequenceNumber());
        if (change.sizeBytes() != null) {
            dynamodb.put("SizeBytes", change.sizeBytes());
        }
        dynamodb.put("StreamViewType", change.streamViewTypeAsString());
        json.put("eventSourceARN", streamArn);
        return json;
    }

    private static ObjectNode image(Map<String, AttributeValue> image) {
        ObjectNode node = Json.MAPPER.createObjectNode();
        image.forEach((name, value) -> node.set(name, value(value)));
        return node;
    }

    /** An attribute in DynamoDB's JSON: {@code {"S": "..."}}, {@code {"N": "..."}}, {@code {"M": {...}}}, ... */
    static JsonNode value(AttributeValue value) {
        ObjectNode node = Json.MAPPER.createObjectNode();
        switch (value.type()) {
            case S -> node.put("S", value.s());
            case N -> node.put("N", value.n());
            case B -> node.put("B", Base64.getEncoder().encodeToString(value.b().asByteArray()));
            case BOOL -> node.put("BOOL", value.bool());
            case NUL -> node.put("NULL", true);
            case SS -> value.ss().forEach(node.putArray("SS")::add);
            case NS -> value.ns().forEach(node.putArray("NS")::add);
            case BS -> {
                ArrayNode list = node.putArray("BS");
                value.bs().forEach(b -> list.add(Base64.getEncoder().encodeToString(b.asByteArray())));
            }
            case M -> node.set("M", image(value.m()));
            case L -> {
                ArrayNode list = node.putArray("L");
                value.l().forEach(item -> list.add(value(item)));
            }
            default -> throw new IllegalArgumentException("an attribute of an unknown type: " + value);
        }
        return node;
    }

    /** Sleeps; false when the poller was stopped meanwhile. */
    private boolean pause(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
            return !stopped;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public void close() {
        stopped = true;
        thread.interrupt();
        try {
            thread.join(Duration.ofSeconds(10).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
