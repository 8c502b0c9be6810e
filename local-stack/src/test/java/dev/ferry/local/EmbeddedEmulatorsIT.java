package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.AwsClients;
import dev.ferry.core.FerryEnv;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * The embedded emulators themselves: their ports, DynamoDB Local's native library, and where they
 * differ from AWS. Skipped on any other backend ({@link Backends#assumeEmbedded}); what Ferry
 * relies on every backend to do is {@link BackendContractIT}. Each test builds the template's
 * resources under a stack name of its own, so tests share the emulators but no queue or table.
 */
class EmbeddedEmulatorsIT {

    private static final String REGION = "us-east-1";
    private static final Duration AWAIT = Duration.ofSeconds(30);
    private static final AtomicInteger STACKS = new AtomicInteger();

    private static EmbeddedSqs embeddedSqs;
    private static EmbeddedDynamoDb embeddedDynamoDb;
    private static EmbeddedS3 embeddedS3;
    private static SqsClient sqs;
    private static DynamoDbClient dynamoDb;
    private static S3Client s3;

    @org.junit.jupiter.api.io.TempDir
    Path temp;

    @BeforeAll
    static void startEmulators() {
        Backends.assumeEmbedded("EmbeddedEmulatorsIT");
        embeddedSqs = EmbeddedSqs.start(REGION);
        embeddedDynamoDb = EmbeddedDynamoDb.start();
        embeddedS3 = EmbeddedS3.start();
        FerryEnv env = FerryEnv.of(Map.of(
                FerryEnv.AWS_REGION, REGION,
                FerryEnv.AWS_ENDPOINT_URL_SQS, embeddedSqs.endpoint().toString(),
                FerryEnv.AWS_ENDPOINT_URL_DYNAMODB, embeddedDynamoDb.endpoint().toString(),
                FerryEnv.AWS_ENDPOINT_URL_S3, embeddedS3.endpoint().toString(),
                FerryEnv.AWS_ACCESS_KEY_ID, EmbeddedS3.ACCESS_KEY_ID,
                FerryEnv.AWS_SECRET_ACCESS_KEY, EmbeddedS3.SECRET_ACCESS_KEY,
                FerryEnv.AWS_REQUEST_CHECKSUM_CALCULATION, EmbeddedS3.CHECKSUM_WHEN_REQUIRED));
        sqs = AwsClients.sqs(env);
        dynamoDb = AwsClients.dynamoDb(env);
        s3 = AwsClients.s3(env);
    }

    @AfterAll
    static void stopEmulators() {
        if (sqs != null) {
            sqs.close();
            dynamoDb.close();
            s3.close();
        }
        if (embeddedSqs != null) {
            embeddedSqs.close();
        }
        if (embeddedDynamoDb != null) {
            embeddedDynamoDb.close();
        }
        if (embeddedS3 != null) {
            embeddedS3.close();
        }
    }

    /** The real template, with this test's own stack name and the given parameters. */
    private static SamTemplate template(Map<String, String> parameters) {
        return SamTemplate.load(SamTemplate.find(Path.of("")), parameters,
                new SamTemplate.PseudoParameters("it" + STACKS.incrementAndGet(), REGION, EmbeddedSqs.ACCOUNT_ID));
    }

    @Test
    void bucket_isCreatedWithoutTheLifecycleS3ProxyCannotKeep_andDeleteCreatedEmptiesAndDeletesIt() throws IOException {
        Path file = Files.writeString(temp.resolve("template.yaml"), """
                Resources:
                  Files:
                    Type: AWS::S3::Bucket
                    Properties:
                      BucketName: !Sub "${AWS::StackName}-files-${AWS::AccountId}-${AWS::Region}"
                      LifecycleConfiguration:
                        Rules: [{Id: ExpireUploads, Status: Enabled, Prefix: uploads/, ExpirationInDays: 1}]
                  Fn:
                    Type: AWS::Serverless::Function
                    Properties:
                      Handler: example.Handler
                      Environment: {Variables: {FERRY_BUCKET: !Ref Files}}
                """);
        String stack = "it" + STACKS.incrementAndGet();
        SamTemplate template = SamTemplate.load(file, Map.of(),
                new SamTemplate.PseudoParameters(stack, REGION, EmbeddedSqs.ACCOUNT_ID));
        String unrelated = stack + "-unrelated";
        s3.createBucket(r -> r.bucket(unrelated));

        LocalResources created = LocalResources.create(template, sqs, dynamoDb, s3);
        String bucket = stack + "-files-000000000000-us-east-1";
        assertEquals(List.of(bucket), created.created());
        assertEquals(bucket, template.environment("Fn", created).get("FERRY_BUCKET"));
        s3.putObject(r -> r.bucket(bucket).key("jobs/j1/1/result.json"), RequestBody.fromString("{}"));
        s3.putObject(r -> r.bucket(bucket).key("uploads/up_1"), RequestBody.fromString("input"));
        assertEquals(List.of(), LocalResources.create(template, sqs, dynamoDb, s3).created(),
                "used as it is: S3Proxy keeps no lifecycle rules, so there is nothing to differ");

        created.deleteCreated(sqs, dynamoDb, s3);

        List<String> buckets = s3.listBuckets().buckets().stream().map(b -> b.name()).toList();
        assertFalse(buckets.contains(bucket), buckets.toString());
        assertTrue(buckets.contains(unrelated), buckets.toString());
    }


    @Test
    void emulators_listenOnDifferentLocalhostPorts() {
        assertEquals("localhost", embeddedSqs.endpoint().getHost());
        assertEquals("localhost", embeddedDynamoDb.endpoint().getHost());
        assertNotEquals(embeddedSqs.endpoint().getPort(), embeddedDynamoDb.endpoint().getPort());
        assertTrue(sqs.listQueues().queueUrls().stream().allMatch(url -> url.startsWith(embeddedSqs.endpoint() + "/")),
                "queue URLs carry the port actually bound");
    }

    @Test
    void expiredItem_isDeletedWithinSeconds_fromATableWithoutIndexes_unlikeDynamoDb() {
        // DynamoDB deletes expired items within days and serves them until then; DynamoDB Local
        // sweeps them out almost at once, but only from a table without global secondary indexes.
        // The jobs table has three (the listings'), so there an expired record lingers as it does in
        // DynamoDB, and Ferry's reads (JobStore.get, JobQueries) leave it out themselves. A test must
        // expect an expired record neither to linger nor to be gone.
        String table = "ttl-probe-" + System.nanoTime();
        dynamoDb.createTable(r -> r.tableName(table).billingMode("PAY_PER_REQUEST")
                .attributeDefinitions(a -> a.attributeName("jobId").attributeType("S"))
                .keySchema(k -> k.attributeName("jobId").keyType("HASH")));
        try {
            dynamoDb.updateTimeToLive(r -> r.tableName(table)
                    .timeToLiveSpecification(t -> t.attributeName("expiresAt").enabled(true)));
            Map<String, AttributeValue> key = Map.of("jobId", AttributeValue.fromS("j4"));
            long anHourAgo = System.currentTimeMillis() / 1000 - 3600;
            dynamoDb.putItem(r -> r.tableName(table).item(Map.of("jobId", AttributeValue.fromS("j4"),
                    "expiresAt", AttributeValue.fromN(Long.toString(anHourAgo)))));

            await("the expired item to be deleted", () -> dynamoDb.getItem(r -> r.tableName(table).key(key)).hasItem()
                    ? null : Boolean.TRUE);
        } finally {
            dynamoDb.deleteTable(r -> r.tableName(table));
        }
    }

    @Test
    void fixedPorts_thatAreTaken_failNamingThePort() throws IOException {
        try (ServerSocket taken = new ServerSocket(0)) {
            int port = taken.getLocalPort();
            IllegalStateException dynamo = assertThrows(IllegalStateException.class, () -> EmbeddedDynamoDb.start(port));
            assertEquals("DynamoDB Local: port " + port + " on localhost is already in use", dynamo.getMessage());
        }
        int sqsPort = embeddedSqs.endpoint().getPort();
        IllegalStateException elasticMq = assertThrows(IllegalStateException.class,
                () -> EmbeddedSqs.start(sqsPort, REGION));
        assertEquals("ElasticMQ (SQS): port " + sqsPort + " on localhost is already in use", elasticMq.getMessage());
    }

    @Test
    void nativeLibrary_isChosenForThePlatform_orRefusedNamingIt() {
        assertEquals("sqlite4java/libsqlite4java-linux-amd64.so", EmbeddedDynamoDb.nativeLibraryResource("Linux", "amd64"));
        assertEquals("sqlite4java/libsqlite4java-osx.dylib", EmbeddedDynamoDb.nativeLibraryResource("Mac OS X", "x86_64"));
        IllegalStateException arm = assertThrows(IllegalStateException.class,
                () -> EmbeddedDynamoDb.nativeLibraryResource("Mac OS X", "aarch64"));
        assertTrue(arm.getMessage().contains("this JVM runs on Mac OS X aarch64"), arm.getMessage());
    }

    /** Polls until {@code condition} gives a value; fails after {@link #AWAIT}. */
    private static <T> T await(String what, Supplier<T> condition) {
        long deadline = System.nanoTime() + AWAIT.toNanos();
        while (true) {
            T value = condition.get();
            if (value != null) {
                return value;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + AWAIT + " waiting for " + what);
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what, e);
            }
        }
    }
}
