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
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.KeySchemaElement;
import software.amazon.awssdk.services.dynamodb.model.KeyType;
import software.amazon.awssdk.services.dynamodb.model.ReturnValuesOnConditionCheckFailure;
import software.amazon.awssdk.services.dynamodb.model.TimeToLiveStatus;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.ListMessageMoveTasksResultEntry;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

/**
 * The embedded emulators, and what Ferry relies on them to do as SQS and DynamoDB do: redrive to
 * the dead-letter queue after {@code maxReceiveCount} receives, conditional writes, message move
 * tasks (the admin page's "Redrive DLQ"). Each test builds the template's resources under a stack
 * name of its own, so tests share the emulators but no queue or table.
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

    @TempDir
    Path temp;

    @BeforeAll
    static void startEmulators() {
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
    void emulators_listenOnDifferentLocalhostPorts() {
        assertEquals("localhost", embeddedSqs.endpoint().getHost());
        assertEquals("localhost", embeddedDynamoDb.endpoint().getHost());
        assertNotEquals(embeddedSqs.endpoint().getPort(), embeddedDynamoDb.endpoint().getPort());
        assertTrue(sqs.listQueues().queueUrls().stream().allMatch(url -> url.startsWith(embeddedSqs.endpoint() + "/")),
                "queue URLs carry the port actually bound");
    }

    @Test
    void resources_areCreatedAsTheTemplateDeclaresThem() {
        SamTemplate template = template(Map.of("MaxReceiveCount", "4", "VisibilityTimeoutSeconds", "45"));
        LocalResources resources = LocalResources.create(template, sqs, dynamoDb, s3);

        Map<String, String> jobQueue = sqs.getQueueAttributes(r -> r.queueUrl(resources.queueUrl("JobQueue"))
                .attributeNamesWithStrings("All")).attributesAsStrings();
        assertEquals("45", jobQueue.get("VisibilityTimeout"));
        assertEquals("20", jobQueue.get("ReceiveMessageWaitTimeSeconds"));
        assertEquals("{\"deadLetterTargetArn\":\"" + resources.queueArn("JobDeadLetterQueue") + "\",\"maxReceiveCount\":4}",
                jobQueue.get("RedrivePolicy"));
        assertEquals("arn:aws:sqs:us-east-1:000000000000:" + template.queue("JobDeadLetterQueue").name(),
                resources.queueArn("JobDeadLetterQueue"));

        String table = resources.tableName("JobsTable");
        assertEquals(template.tables().get(0).name(), table);
        assertEquals(List.of(KeySchemaElement.builder().attributeName("jobId").keyType(KeyType.HASH).build()),
                dynamoDb.describeTable(r -> r.tableName(table)).table().keySchema());
        var ttl = dynamoDb.describeTimeToLive(r -> r.tableName(table)).timeToLiveDescription();
        assertEquals(TimeToLiveStatus.ENABLED, ttl.timeToLiveStatus());
        assertEquals("expiresAt", ttl.attributeName());

        String bucket = resources.bucketName("FilesBucket");
        assertEquals(template.pseudoParameters().stackName() + "-files-000000000000-us-east-1", bucket);
        s3.headBucket(r -> r.bucket(bucket));

        Map<String, String> submitEnv = template.environment("SubmitJobFunction", resources);
        assertEquals(resources.queueUrl("JobQueue"), submitEnv.get(FerryEnv.QUEUE_URL));
        assertEquals(table, submitEnv.get(FerryEnv.TABLE));
        assertEquals(bucket, submitEnv.get(FerryEnv.BUCKET));
    }

    @Test
    void creatingAgain_usesWhatExists_andCreatesNothing() {
        SamTemplate first = template(Map.of("VisibilityTimeoutSeconds", "45"));
        LocalResources created = LocalResources.create(first, sqs, dynamoDb, s3);
        assertEquals(4, created.created().size(), "two queues, the table, the bucket: " + created.created());

        LocalResources again = LocalResources.create(first, sqs, dynamoDb, s3);

        assertEquals(List.of(), again.created(), "nothing new, and nothing to delete on close");
        assertEquals(created.queueUrl("JobQueue"), again.queueUrl("JobQueue"));
    }

    @Test
    void existingResourcesThatDiffer_areNeverChanged_unlessAskedToReconcile() {
        SamTemplate first = template(Map.of("VisibilityTimeoutSeconds", "45"));
        LocalResources.create(first, sqs, dynamoDb, s3);
        SamTemplate second = SamTemplate.load(first.path(), Map.of("VisibilityTimeoutSeconds", "60", "MaxReceiveCount", "2"),
                first.pseudoParameters());

        TemplateException refused = assertThrows(TemplateException.class, () -> LocalResources.create(second, sqs, dynamoDb, s3));

        assertTrue(refused.getMessage().contains("VisibilityTimeout is 45 (the template says 60)"), refused.getMessage());
        assertTrue(refused.getMessage().contains("RedrivePolicy is"), refused.getMessage());
        assertTrue(refused.getMessage().contains("FERRY_RECONCILE"), refused.getMessage());
        String url = sqs.getQueueUrl(r -> r.queueName(second.queue("JobQueue").name())).queueUrl();
        assertEquals("45", sqs.getQueueAttributes(r -> r.queueUrl(url).attributeNamesWithStrings("VisibilityTimeout"))
                .attributesAsStrings().get("VisibilityTimeout"), "left as it was");

        LocalResources reconciled = LocalResources.create(second, sqs, dynamoDb, s3, true);
        Map<String, String> attributes = sqs.getQueueAttributes(r -> r.queueUrl(reconciled.queueUrl("JobQueue"))
                .attributeNamesWithStrings("All")).attributesAsStrings();
        assertEquals("60", attributes.get("VisibilityTimeout"));
        assertTrue(attributes.get("RedrivePolicy").endsWith("\"maxReceiveCount\":2}"), attributes.get("RedrivePolicy"));
    }

    @Test
    void deleteCreated_deletesWhatThisStartCreated_andNothingElse() {
        SamTemplate template = template(Map.of());
        String other = sqs.createQueue(r -> r.queueName(template.pseudoParameters().stackName() + "-unrelated")).queueUrl();
        LocalResources created = LocalResources.create(template, sqs, dynamoDb, s3);

        created.deleteCreated(sqs, dynamoDb, s3);

        List<String> left = sqs.listQueues(r -> r.queueNamePrefix(template.pseudoParameters().stackName())).queueUrls();
        assertEquals(List.of(other), left);
        assertTrue(dynamoDb.listTables().tableNames().stream().noneMatch(name -> name.equals(template.tables().get(0).name())));
        String bucket = template.bucket("FilesBucket").name();
        assertTrue(s3.listBuckets().buckets().stream().noneMatch(b -> b.name().equals(bucket)), bucket);
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
    void redriveAllowPolicy_thatExcludesTheQueue_isEnforcedAsSqsWould() throws IOException {
        Path template = Files.writeString(temp.resolve("template.yaml"), """
                Resources:
                  Jobs:
                    Type: AWS::SQS::Queue
                    Properties:
                      QueueName: !Sub "${AWS::StackName}-jobs"
                      RedrivePolicy: {deadLetterTargetArn: !GetAtt DeadLetters.Arn, maxReceiveCount: 2}
                  DeadLetters:
                    Type: AWS::SQS::Queue
                    Properties:
                      QueueName: !Sub "${AWS::StackName}-dead"
                      RedriveAllowPolicy:
                        redrivePermission: byQueue
                        sourceQueueArns: [!Sub "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:other"]
                """);
        SamTemplate narrow = SamTemplate.load(template, Map.of(),
                new SamTemplate.PseudoParameters("allow" + STACKS.incrementAndGet(), REGION, EmbeddedSqs.ACCOUNT_ID));

        TemplateException error = assertThrows(TemplateException.class, () -> LocalResources.create(narrow, sqs, dynamoDb, s3));

        assertTrue(error.getMessage().contains("Jobs names DeadLetters as its dead-letter queue, but DeadLetters's"
                + " RedriveAllowPolicy (byQueue [arn:aws:sqs:us-east-1:000000000000:other]) does not allow"),
                error.getMessage());
    }

    @Test
    void message_receivedMaxReceiveCountTimesWithoutDelete_movesToTheDeadLetterQueue() {
        LocalResources resources = LocalResources.create(template(Map.of("MaxReceiveCount", "3")), sqs, dynamoDb, s3);
        String jobs = resources.queueUrl("JobQueue");
        String deadLetters = resources.queueUrl("JobDeadLetterQueue");
        sqs.sendMessage(r -> r.queueUrl(jobs).messageBody("{\"jobId\":\"j1\"}"));

        for (int receive = 1; receive <= 3; receive++) {
            Message message = receiveOne(jobs).orElseThrow();
            assertEquals(Integer.toString(receive),
                    message.attributes().get(MessageSystemAttributeName.APPROXIMATE_RECEIVE_COUNT));
            makeVisibleAgain(jobs, message);
        }

        assertTrue(receiveOne(jobs).isEmpty(), "the fourth receive finds it gone from the job queue");
        Message dead = receiveOne(deadLetters).orElseThrow();
        assertEquals("{\"jobId\":\"j1\"}", dead.body());
        assertEquals(resources.queueArn("JobQueue"),
                dead.attributes().get(MessageSystemAttributeName.DEAD_LETTER_QUEUE_SOURCE_ARN));
    }

    @Test
    void messageMoveTask_returnsDeadLetters_toTheQueueTheyCameFrom() {
        // The template's least MaxReceiveCount: 2 receives, then the dead-letter queue.
        LocalResources resources = LocalResources.create(template(Map.of("MaxReceiveCount", "2")), sqs, dynamoDb, s3);
        String jobs = resources.queueUrl("JobQueue");
        String deadLetters = resources.queueUrl("JobDeadLetterQueue");
        String deadLetterArn = resources.queueArn("JobDeadLetterQueue");
        String messageId = sqs.sendMessage(r -> r.queueUrl(jobs).messageBody("{\"jobId\":\"j2\"}")).messageId();
        for (int receive = 1; receive <= 2; receive++) {
            makeVisibleAgain(jobs, receiveOne(jobs).orElseThrow());
        }
        assertTrue(receiveOne(jobs).isEmpty());
        awaitCount(deadLetters, QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES, 1);

        // As the admin page will: no DestinationArn, so each message goes back to its source queue.
        String taskHandle = sqs.startMessageMoveTask(r -> r.sourceArn(deadLetterArn)).taskHandle();

        ListMessageMoveTasksResultEntry task = await("the move task to complete", () -> sqs
                .listMessageMoveTasks(r -> r.sourceArn(deadLetterArn)).results().stream()
                .filter(t -> t.taskHandle().equals(taskHandle) && t.status().equals("COMPLETED"))
                .findFirst().orElse(null));
        assertEquals(1L, task.approximateNumberOfMessagesMoved());
        Message back = receiveOne(jobs).orElseThrow();
        assertEquals("{\"jobId\":\"j2\"}", back.body());
        assertEquals("1", back.attributes().get(MessageSystemAttributeName.APPROXIMATE_RECEIVE_COUNT),
                "a redriven message starts a new receive count");
        // Unlike SQS, ElasticMQ keeps the message id on a move: a test that needs the id to change
        // (dedup must use Ferry's jobId, never the messageId) cannot rely on ElasticMQ for it.
        assertEquals(messageId, back.messageId());
        assertEquals("0", sqs.getQueueAttributes(r -> r.queueUrl(deadLetters)
                .attributeNames(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES))
                .attributesAsStrings().get("ApproximateNumberOfMessages"));
    }

    @Test
    void conditionalPut_secondAttributeNotExists_failsWithTheExistingItem() {
        LocalResources resources = LocalResources.create(template(Map.of()), sqs, dynamoDb, s3);
        String table = resources.tableName("JobsTable");
        Map<String, AttributeValue> item = Map.of("jobId", AttributeValue.fromS("j3"),
                "status", AttributeValue.fromS("QUEUED"));
        dynamoDb.putItem(r -> r.tableName(table).item(item).conditionExpression("attribute_not_exists(jobId)"));

        ConditionalCheckFailedException failed = assertThrows(ConditionalCheckFailedException.class,
                () -> dynamoDb.putItem(r -> r.tableName(table)
                        .item(Map.of("jobId", AttributeValue.fromS("j3"), "status", AttributeValue.fromS("RUNNING")))
                        .conditionExpression("attribute_not_exists(jobId)")
                        .returnValuesOnConditionCheckFailure(ReturnValuesOnConditionCheckFailure.ALL_OLD)));

        assertEquals(item, failed.item());
        assertEquals("QUEUED", dynamoDb.getItem(r -> r.tableName(table).key(Map.of("jobId", AttributeValue.fromS("j3"))))
                .item().get("status").s());
    }

    @Test
    void expiredItem_isDeletedWithinSeconds_unlikeDynamoDb() {
        LocalResources resources = LocalResources.create(template(Map.of()), sqs, dynamoDb, s3);
        String table = resources.tableName("JobsTable");
        Map<String, AttributeValue> key = Map.of("jobId", AttributeValue.fromS("j4"));
        long anHourAgo = System.currentTimeMillis() / 1000 - 3600;
        dynamoDb.putItem(r -> r.tableName(table).item(Map.of("jobId", AttributeValue.fromS("j4"),
                "expiresAt", AttributeValue.fromN(Long.toString(anHourAgo)))));

        // DynamoDB deletes expired items within days and serves them until then; DynamoDB Local
        // sweeps them out almost at once. A test must not expect an expired record to linger.
        await("the expired item to be deleted", () -> dynamoDb.getItem(r -> r.tableName(table).key(key)).hasItem()
                ? null : Boolean.TRUE);
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

    private static Optional<Message> receiveOne(String queueUrl) {
        return sqs.receiveMessage(r -> r.queueUrl(queueUrl).maxNumberOfMessages(1).waitTimeSeconds(1)
                        .messageSystemAttributeNames(MessageSystemAttributeName.ALL))
                .messages().stream().findFirst();
    }

    private static void makeVisibleAgain(String queueUrl, Message message) {
        sqs.changeMessageVisibility(r -> r.queueUrl(queueUrl).receiptHandle(message.receiptHandle()).visibilityTimeout(0));
    }

    private static void awaitCount(String queueUrl, QueueAttributeName attribute, int count) {
        await(attribute + " of " + queueUrl + " to be " + count, () -> sqs.getQueueAttributes(r -> r.queueUrl(queueUrl)
                .attributeNames(attribute)).attributes().get(attribute).equals(Integer.toString(count)) ? Boolean.TRUE : null);
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
