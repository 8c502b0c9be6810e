package dev.ferry.testkit;

import dev.ferry.core.JobStatus;
import dev.ferry.core.JobTable;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.DescribeStreamResponse;
import software.amazon.awssdk.services.dynamodb.model.GetRecordsResponse;
import software.amazon.awssdk.services.dynamodb.model.Record;
import software.amazon.awssdk.services.dynamodb.model.Shard;
import software.amazon.awssdk.services.dynamodb.model.ShardIteratorType;
import software.amazon.awssdk.services.dynamodb.model.StreamSpecification;
import software.amazon.awssdk.services.dynamodb.model.StreamViewType;
import software.amazon.awssdk.services.dynamodb.streams.DynamoDbStreamsClient;

/**
 * An independent witness of "completed twice": the job table's change stream (DynamoDB Streams,
 * old and new image of every write). The job record holds one result, so a second accepted
 * completion would only show as an overwrite; the stream sees every write that the table took,
 * including one whose answer was lost on the way back to the worker.
 *
 * <p>A job's <em>completions</em> are the writes that took it from a non-final state into
 * SUCCEEDED or FAILED, plus any write that changed a record already final (an overwrite), counted
 * per <em>round</em>: an operator's redrive (Redrive DLQ, Retry) asks for another round, so a claim
 * of a FAILED record starts a new one, and the redrive's own mark on the FAILED record (its
 * {@code redriveRequestedAt}, {@code redrives} and {@code updatedAt}) is no overwrite. A job
 * completed twice is one with two completions in one round.
 *
 * <p>It also tells, per job, the {@link History} of its attempts: failed attempts sent back to wait
 * (retries), leases taken over after they ran out, redrive rounds.
 */
public final class CompletionWitness {

    private static final Set<String> FINAL = Set.of(JobStatus.SUCCEEDED.name(), JobStatus.FAILED.name(),
            JobStatus.CANCELLED.name());

    private final DynamoDbStreamsClient streams;
    private final String streamArn;

    private CompletionWitness(DynamoDbStreamsClient streams, String streamArn) {
        this.streams = streams;
        this.streamArn = streamArn;
    }

    /**
     * Watches the table's stream (new and old images), turning it on where the table has none.
     * Call before any job runs. (The template gives the job table that stream, for webhooks.)
     */
    public static CompletionWitness enable(DynamoDbClient dynamoDb, DynamoDbStreamsClient streams, String table) {
        StreamSpecification current = dynamoDb.describeTable(r -> r.tableName(table)).table().streamSpecification();
        boolean enabled = current != null && Boolean.TRUE.equals(current.streamEnabled());
        if (enabled && current.streamViewType() != StreamViewType.NEW_AND_OLD_IMAGES) {
            throw new IllegalStateException("table " + table + " streams " + current.streamViewType()
                    + "; the witness needs NEW_AND_OLD_IMAGES");
        }
        if (!enabled) {
            dynamoDb.updateTable(r -> r.tableName(table).streamSpecification(StreamSpecification.builder()
                    .streamEnabled(true).streamViewType(StreamViewType.NEW_AND_OLD_IMAGES).build()));
        }
        String arn = dynamoDb.describeTable(r -> r.tableName(table)).table().latestStreamArn();
        return new CompletionWitness(Objects.requireNonNull(streams, "streams"),
                Objects.requireNonNull(arn, "the table has no stream"));
    }

    /** A streams client for DynamoDB Local (same endpoint, any credentials). */
    public static DynamoDbStreamsClient localStreamsClient(URI endpoint, String region) {
        return DynamoDbStreamsClient.builder()
                .endpointOverride(endpoint)
                .region(software.amazon.awssdk.regions.Region.of(region))
                .credentialsProvider(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
                        software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create("local", "local")))
                .httpClient(software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient.create())
                .build();
    }

    /**
     * What the stream holds now: per job id its completions in the round with the most (1 for a
     * job completed once, in every round it was redriven into), each job's {@link History}, and how
     * many writes it saw.
     */
    public record Completions(Map<String, Integer> perJob, Map<String, History> histories, long writes) {
        /** Jobs completed more than once in one round. */
        public List<String> doubled() {
            return perJob.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).sorted().toList();
        }

        /** The job's history; all zero for a job the stream never saw. */
        public History history(String jobId) {
            return histories.getOrDefault(jobId, History.NONE);
        }
    }

    /**
     * What the stream shows of one job's attempts.
     *
     * @param retries failed attempts sent back to wait: RUNNING to QUEUED without a preemption
     *     counted (a give-back counts one), but not a claim given back unrun ({@code unclaim}: its
     *     attempt taken back, the job never ran)
     * @param takeovers claims of a RUNNING record whose lease ran out (its worker died or stalled),
     *     not counting a take-over of a lease given back
     * @param redriveRounds claims of a FAILED record: rounds an operator's redrive asked for
     * @param failures writes into FAILED
     * @param deletedWhile the status the record had when it was deleted (by TTL, or anything
     *     else); null if it never was
     */
    public record History(int retries, int takeovers, int redriveRounds, int failures, String deletedWhile) {
        static final History NONE = new History(0, 0, 0, 0, null);
    }

    /** Per job while reading: completions in the current round, the most in any round, the history. */
    private static final class Tally {
        int round;
        int most;
        int retries;
        int takeovers;
        int redriveRounds;
        int failures;
        String deletedWhile;

        void completed() {
            round++;
            most = Math.max(most, round);
        }
    }

    /** Reads the whole stream from its start. Call once the table is quiet. */
    public Completions read() {
        Map<String, Tally> tallies = new HashMap<>();
        long writes = 0;
        for (Shard shard : shards()) {
            String iterator = streams.getShardIterator(r -> r.streamArn(streamArn).shardId(shard.shardId())
                    .shardIteratorType(ShardIteratorType.TRIM_HORIZON)).shardIterator();
            while (iterator != null) {
                String current = iterator;
                GetRecordsResponse page = streams.getRecords(r -> r.shardIterator(current).limit(1000));
                for (Record record : page.records()) {
                    writes++;
                    count(record, tallies);
                }
                iterator = page.records().isEmpty() ? null : page.nextShardIterator();
            }
        }
        return completions(tallies, writes);
    }

    /** What these change records, in stream order, show (for tests: the same counting as {@link #read()}). */
    static Completions of(List<Record> records) {
        Map<String, Tally> tallies = new HashMap<>();
        records.forEach(record -> count(record, tallies));
        return completions(tallies, records.size());
    }

    private static Completions completions(Map<String, Tally> tallies, long writes) {
        Map<String, Integer> perJob = new HashMap<>();
        Map<String, History> histories = new HashMap<>();
        tallies.forEach((jobId, t) -> {
            if (t.most > 0) {
                perJob.put(jobId, t.most);
            }
            histories.put(jobId, new History(t.retries, t.takeovers, t.redriveRounds, t.failures, t.deletedWhile));
        });
        return new Completions(Map.copyOf(perJob), Map.copyOf(histories), writes);
    }

    private List<Shard> shards() {
        List<Shard> shards = new ArrayList<>();
        String start = null;
        do {
            String from = start;
            DescribeStreamResponse page = streams.describeStream(r -> r.streamArn(streamArn).exclusiveStartShardId(from));
            shards.addAll(page.streamDescription().shards());
            start = page.streamDescription().lastEvaluatedShardId();
        } while (start != null);
        return shards;
    }

    private static void count(Record record, Map<String, Tally> tallies) {
        Map<String, AttributeValue> now = record.dynamodb().newImage();
        if (now == null || now.isEmpty()) {
            Map<String, AttributeValue> gone = record.dynamodb().oldImage();
            if (gone != null && gone.containsKey(JobTable.JOB_ID)) {
                tallies.computeIfAbsent(gone.get(JobTable.JOB_ID).s(), k -> new Tally()).deletedWhile = status(gone);
            }
            return;
        }
        Map<String, AttributeValue> before = record.dynamodb().oldImage();
        String to = status(now);
        String from = before == null ? null : status(before);
        Tally tally = tallies.computeIfAbsent(now.get(JobTable.JOB_ID).s(), k -> new Tally());
        String running = JobStatus.RUNNING.name();
        boolean preempted = number(now, JobTable.PREEMPTIONS) > (before == null ? 0 : number(before, JobTable.PREEMPTIONS));
        if (running.equals(to) && JobStatus.FAILED.name().equals(from)) {
            tally.redriveRounds++;
            tally.round = 0;
        } else if (running.equals(to) && running.equals(from) && !preempted
                && !Objects.equals(text(before, JobTable.LEASE_ID), text(now, JobTable.LEASE_ID))) {
            tally.takeovers++;
        } else if (JobStatus.QUEUED.name().equals(to) && running.equals(from) && !preempted
                && number(now, JobTable.ATTEMPTS) >= number(before, JobTable.ATTEMPTS)) {
            // (A claim given back unrun, JobStore.unclaim, takes its attempt back: not a retry.)
            tally.retries++;
        }
        if (JobStatus.FAILED.name().equals(to) && !JobStatus.FAILED.name().equals(from)) {
            tally.failures++;
        }
        boolean completed = isFinal(to) && !isFinal(from);
        boolean overwritten = isFinal(from) && isFinal(to) && !Objects.equals(before, now) && !redriveMark(before, now);
        if (completed || overwritten) {
            tally.completed();
        }
    }

    /** The only change is an operator's redrive request on a FAILED record: it stays FAILED, marked. */
    private static boolean redriveMark(Map<String, AttributeValue> before, Map<String, AttributeValue> now) {
        if (!JobStatus.FAILED.name().equals(status(before)) || !JobStatus.FAILED.name().equals(status(now))) {
            return false;
        }
        Map<String, AttributeValue> a = new HashMap<>(before);
        Map<String, AttributeValue> b = new HashMap<>(now);
        for (String mark : List.of(JobTable.REDRIVE_REQUESTED_AT, JobTable.REDRIVES, JobTable.UPDATED_AT)) {
            a.remove(mark);
            b.remove(mark);
        }
        return a.equals(b);
    }

    private static long number(Map<String, AttributeValue> image, String attribute) {
        AttributeValue value = image.get(attribute);
        return value == null || value.n() == null ? 0 : Long.parseLong(value.n());
    }

    private static String text(Map<String, AttributeValue> image, String attribute) {
        AttributeValue value = image == null ? null : image.get(attribute);
        return value == null ? null : value.s();
    }

    private static boolean isFinal(String status) {
        return status != null && FINAL.contains(status);
    }

    private static String status(Map<String, AttributeValue> image) {
        AttributeValue status = image.get(JobTable.STATUS);
        return status == null ? null : status.s();
    }
}
