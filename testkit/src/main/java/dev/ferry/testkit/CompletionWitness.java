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
 * SUCCEEDED or FAILED, plus any write that changed a record already final (an overwrite).
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

    /** Turns the table's stream on (new and old images) and starts watching it. Call before any job runs. */
    public static CompletionWitness enable(DynamoDbClient dynamoDb, DynamoDbStreamsClient streams, String table) {
        dynamoDb.updateTable(r -> r.tableName(table).streamSpecification(StreamSpecification.builder()
                .streamEnabled(true).streamViewType(StreamViewType.NEW_AND_OLD_IMAGES).build()));
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

    /** What the stream holds now: completions per job id, and how many writes it saw. */
    public record Completions(Map<String, Integer> perJob, long writes) {
        /** Jobs completed more than once. */
        public List<String> doubled() {
            return perJob.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).sorted().toList();
        }
    }

    /** Reads the whole stream from its start. Call once the table is quiet. */
    public Completions read() {
        Map<String, Integer> perJob = new HashMap<>();
        long writes = 0;
        for (Shard shard : shards()) {
            String iterator = streams.getShardIterator(r -> r.streamArn(streamArn).shardId(shard.shardId())
                    .shardIteratorType(ShardIteratorType.TRIM_HORIZON)).shardIterator();
            while (iterator != null) {
                String current = iterator;
                GetRecordsResponse page = streams.getRecords(r -> r.shardIterator(current).limit(1000));
                for (Record record : page.records()) {
                    writes++;
                    count(record, perJob);
                }
                iterator = page.records().isEmpty() ? null : page.nextShardIterator();
            }
        }
        return new Completions(Map.copyOf(perJob), writes);
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

    private static void count(Record record, Map<String, Integer> perJob) {
        Map<String, AttributeValue> now = record.dynamodb().newImage();
        if (now == null || now.isEmpty()) {
            return;
        }
        Map<String, AttributeValue> before = record.dynamodb().oldImage();
        String to = status(now);
        String from = before == null ? null : status(before);
        boolean completed = isFinal(to) && !isFinal(from);
        boolean overwritten = isFinal(from) && isFinal(to) && !Objects.equals(before, now);
        if (completed || overwritten) {
            perJob.merge(now.get(JobTable.JOB_ID).s(), 1, Integer::sum);
        }
    }

    private static boolean isFinal(String status) {
        return status != null && FINAL.contains(status);
    }

    private static String status(Map<String, AttributeValue> image) {
        AttributeValue status = image.get(JobTable.STATUS);
        return status == null ? null : status.s();
    }
}
