package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.FerryEnv;
import dev.ferry.core.Pools;
import dev.ferry.core.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
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
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.ListMessageMoveTasksResultEntry;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

/**
 * What Ferry relies on SQS and DynamoDB to do, on the backend the suite runs on ({@link Backends}):
 * the template's resources created as declared, found again and never silently changed, deleted
 * exactly; redrive to the dead-letter queue after {@code maxReceiveCount} receives; conditional
 * writes that answer with the record they were checked against; message move tasks (the admin
 * page's "Redrive DLQ"), where the backend has them. Each test builds the template's resources
 * under a stack name of its own and deletes them afterwards.
 */
class BackendContractIT {

    private static final Duration AWAIT = Duration.ofSeconds(30);
    private static final AtomicInteger STACKS = new AtomicInteger();
    private static final List<LocalResources> CREATED = new ArrayList<>();
    private static final List<String> OTHER_QUEUES = new ArrayList<>();

    /** Only for its clients, region, account and a name of its own: no worker, no test uses its queues. */
    private static LocalStack stack;
    private static SqsClient sqs;
    private static DynamoDbClient dynamoDb;
    private static S3Client s3;
    private static String region;
    private static String account;

    @TempDir
    Path temp;

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0).build());
        sqs = stack.sqs();
        dynamoDb = stack.dynamoDb();
        s3 = stack.s3();
        region = stack.environment().required(FerryEnv.AWS_REGION);
        String arn = sqs.getQueueAttributes(r -> r.queueUrl(stack.queueUrl()).attributeNames(QueueAttributeName.QUEUE_ARN))
                .attributes().get(QueueAttributeName.QUEUE_ARN);
        account = arn.split(":")[4];
    }

    @AfterEach
    void deleteWhatTheTestCreated() {
        for (LocalResources resources : CREATED) {
            resources.deleteCreated(sqs, dynamoDb, s3);
        }
        CREATED.clear();
        OTHER_QUEUES.forEach(url -> sqs.deleteQueue(r -> r.queueUrl(url)));
        OTHER_QUEUES.clear();
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    /** The real template, with this test's own stack name and the given parameters. */
    private static SamTemplate template(Map<String, String> parameters) {
        return SamTemplate.load(SamTemplate.find(Path.of("")), parameters,
                new SamTemplate.PseudoParameters(stack.stackName() + "-c" + STACKS.incrementAndGet(), region, account));
    }

    /** Creates the template's resources, to be deleted after the test. */
    private static LocalResources create(SamTemplate template) {
        LocalResources resources = LocalResources.create(template, sqs, dynamoDb, s3);
        CREATED.add(resources);
        return resources;
    }

    @Test
    void resources_areCreatedAsTheTemplateDeclaresThem() {
        SamTemplate template = template(Map.of("MaxReceiveCount", "4", "VisibilityTimeoutSeconds", "45"));
        LocalResources resources = create(template);

        Map<String, String> jobQueue = sqs.getQueueAttributes(r -> r.queueUrl(resources.queueUrl("GpuJobQueue"))
                .attributeNamesWithStrings("All")).attributesAsStrings();
        assertEquals("45", jobQueue.get("VisibilityTimeout"));
        assertEquals("20", jobQueue.get("ReceiveMessageWaitTimeSeconds"));
        // Compared as JSON: backends format it differently (moto puts spaces after the separators).
        assertEquals(Json.parse("{\"deadLetterTargetArn\":\"" + resources.queueArn("GpuJobDeadLetterQueue")
                + "\",\"maxReceiveCount\":4}"), Json.parse(jobQueue.get("RedrivePolicy")));
        assertEquals(sqs.getQueueAttributes(r -> r.queueUrl(resources.queueUrl("GpuJobDeadLetterQueue"))
                        .attributeNames(QueueAttributeName.QUEUE_ARN)).attributes().get(QueueAttributeName.QUEUE_ARN),
                resources.queueArn("GpuJobDeadLetterQueue"), "the ARN Ferry derives is the backend's own");

        String table = resources.tableName("JobsTable");
        assertEquals(template.tables().get(0).name(), table);
        assertEquals(List.of(KeySchemaElement.builder().attributeName("jobId").keyType(KeyType.HASH).build()),
                dynamoDb.describeTable(r -> r.tableName(table)).table().keySchema());
        var ttl = dynamoDb.describeTimeToLive(r -> r.tableName(table)).timeToLiveDescription();
        assertEquals(TimeToLiveStatus.ENABLED, ttl.timeToLiveStatus());
        assertEquals("expiresAt", ttl.attributeName());
        var indexes = dynamoDb.describeTable(r -> r.tableName(table)).table().globalSecondaryIndexes();
        assertEquals(java.util.Set.of("status-createdAt", "type-createdAt", "listing-createdAt"),
                indexes.stream().map(i -> i.indexName()).collect(java.util.stream.Collectors.toSet()));
        for (var index : indexes) {
            assertEquals(List.of(KeyType.HASH, KeyType.RANGE), index.keySchema().stream().map(KeySchemaElement::keyType)
                    .toList(), index.indexName());
            assertEquals("createdAt", index.keySchema().get(1).attributeName());
            assertEquals("INCLUDE", index.projection().projectionTypeAsString());
        }

        String bucket = resources.bucketName("FilesBucket");
        assertEquals(template.pseudoParameters().stackName() + "-files-" + account + "-" + region, bucket);
        s3.headBucket(r -> r.bucket(bucket));

        Map<String, String> submitEnv = template.environment("SubmitJobFunction", resources);
        assertEquals(resources.queueUrl("GpuJobQueue"), submitEnv.get(Pools.queueVariable("Gpu")));
        assertEquals(resources.queueUrl("GpuPriorityQueue"), submitEnv.get(Pools.priorityQueueVariable("Gpu")));
        assertEquals(table, submitEnv.get(FerryEnv.TABLE));
        assertEquals(bucket, submitEnv.get(FerryEnv.BUCKET));
    }

    @Test
    void creatingAgain_usesWhatExists_andCreatesNothing() {
        SamTemplate first = template(Map.of("VisibilityTimeoutSeconds", "45"));
        LocalResources created = create(first);
        assertEquals(11, created.created().size(), "seven queues (the GPU pool's jobs and priority lane, its DLQ;"
                + " the Lambda pool's jobs and DLQ; webhooks and theirs), three tables (jobs, webhook deliveries,"
                + " workers), the bucket: " + created.created());

        LocalResources again = LocalResources.create(first, sqs, dynamoDb, s3);

        assertEquals(List.of(), again.created(), "nothing new, and nothing to delete on close");
        assertEquals(created.queueUrl("GpuJobQueue"), again.queueUrl("GpuJobQueue"));
    }

    @Test
    void existingResourcesThatDiffer_areNeverChanged_unlessAskedToReconcile() {
        SamTemplate first = template(Map.of("VisibilityTimeoutSeconds", "45"));
        create(first);
        SamTemplate second = SamTemplate.load(first.path(), Map.of("VisibilityTimeoutSeconds", "60", "MaxReceiveCount", "2"),
                first.pseudoParameters());

        TemplateException refused = assertThrows(TemplateException.class, () -> LocalResources.create(second, sqs, dynamoDb, s3));

        assertTrue(refused.getMessage().contains("VisibilityTimeout is 45 (the template says 60)"), refused.getMessage());
        assertTrue(refused.getMessage().contains("RedrivePolicy is"), refused.getMessage());
        assertTrue(refused.getMessage().contains("FERRY_RECONCILE"), refused.getMessage());
        String url = sqs.getQueueUrl(r -> r.queueName(second.queue("GpuJobQueue").name())).queueUrl();
        assertEquals("45", sqs.getQueueAttributes(r -> r.queueUrl(url).attributeNamesWithStrings("VisibilityTimeout"))
                .attributesAsStrings().get("VisibilityTimeout"), "left as it was");

        LocalResources reconciled = LocalResources.create(second, sqs, dynamoDb, s3, true);
        Map<String, String> attributes = sqs.getQueueAttributes(r -> r.queueUrl(reconciled.queueUrl("GpuJobQueue"))
                .attributeNamesWithStrings("All")).attributesAsStrings();
        assertEquals("60", attributes.get("VisibilityTimeout"));
        assertEquals(2, Json.parse(attributes.get("RedrivePolicy")).get("maxReceiveCount").asInt(),
                attributes.get("RedrivePolicy"));
    }

    @Test
    void aTableWithoutTheIndexes_isReported_andReconcilingAddsThem_filledFromTheRecords() throws IOException {
        // A stack deployed before the indexes: the same template without them.
        String current = Files.readString(SamTemplate.find(Path.of("")));
        String before = current.replaceAll("(?s)\\n      GlobalSecondaryIndexes:\\n.*?(?=\\n      TimeToLiveSpecification:)", "")
                .replaceAll("(?m)^        - AttributeName: (status|type|listing|createdAt)\\n          AttributeType: S\\n", "");
        assertTrue(!before.contains("GlobalSecondaryIndexes") && !before.contains("AttributeName: listing"),
                "the template without its indexes");
        SamTemplate now = template(Map.of());
        Path file = Files.writeString(temp.resolve("before-indexes.yaml"), before);
        SamTemplate old = SamTemplate.load(file, Map.of(), now.pseudoParameters());
        LocalResources created = create(old);
        String table = created.tableName("JobsTable");
        dynamoDb.putItem(r -> r.tableName(table).item(Map.of("jobId", AttributeValue.fromS("01JD3N3Y3ZX2W0K7Q8M9P4R5S6"),
                "status", AttributeValue.fromS("FAILED"), "type", AttributeValue.fromS("t"),
                "createdAt", AttributeValue.fromS("2026-11-22T10:00:00Z"))));

        TemplateException refused = assertThrows(TemplateException.class, () -> LocalResources.create(now, sqs, dynamoDb, s3));

        assertTrue(refused.getMessage().contains("table " + table + " exists with settings other than the template's: it"
                + " has no index status-createdAt"), refused.getMessage());
        assertTrue(refused.getMessage().contains("no index listing-createdAt") && refused.getMessage().contains(
                "FERRY_RECONCILE"), refused.getMessage());
        var unchanged = dynamoDb.describeTable(r -> r.tableName(table)).table();
        assertTrue(!unchanged.hasGlobalSecondaryIndexes() || unchanged.globalSecondaryIndexes().isEmpty(),
                "left as it was");

        LocalResources.create(now, sqs, dynamoDb, s3, true);

        assertEquals(3, dynamoDb.describeTable(r -> r.tableName(table)).table().globalSecondaryIndexes().size());
        org.awaitility.Awaitility.await().atMost(AWAIT).until(() -> dynamoDb.query(r -> r.tableName(table)
                .indexName("status-createdAt").keyConditionExpression("#s = :s")
                .expressionAttributeNames(Map.of("#s", "status"))
                .expressionAttributeValues(Map.of(":s", AttributeValue.fromS("FAILED")))).count() == 1);
    }

    @Test
    void deleteCreated_deletesWhatThisStartCreated_andNothingElse() {
        SamTemplate template = template(Map.of());
        String other = sqs.createQueue(r -> r.queueName(template.pseudoParameters().stackName() + "-unrelated")).queueUrl();
        OTHER_QUEUES.add(other);
        LocalResources created = create(template);

        created.deleteCreated(sqs, dynamoDb, s3);
        CREATED.remove(created);

        List<String> left = sqs.listQueues(r -> r.queueNamePrefix(template.pseudoParameters().stackName())).queueUrls();
        assertEquals(List.of(other), left);
        assertTrue(dynamoDb.listTables().tableNames().stream().noneMatch(name -> name.equals(template.tables().get(0).name())));
        String bucket = template.bucket("FilesBucket").name();
        assertTrue(s3.listBuckets().buckets().stream().noneMatch(b -> b.name().equals(bucket)), bucket);
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
                new SamTemplate.PseudoParameters(stack.stackName() + "-a" + STACKS.incrementAndGet(), region, account));

        TemplateException error = assertThrows(TemplateException.class, () -> create(narrow));

        assertTrue(error.getMessage().contains("Jobs names DeadLetters as its dead-letter queue, but DeadLetters's"
                + " RedriveAllowPolicy (byQueue [arn:aws:sqs:" + region + ":" + account + ":other]) does not allow"),
                error.getMessage());
    }

    @Test
    void message_receivedMaxReceiveCountTimesWithoutDelete_movesToTheDeadLetterQueue() {
        LocalResources resources = create(template(Map.of("MaxReceiveCount", "3")));
        String jobs = resources.queueUrl("GpuJobQueue");
        String deadLetters = resources.queueUrl("GpuJobDeadLetterQueue");
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
    }

    @Test
    void deadLetteredMessage_namesTheQueueItCameFrom() {
        // What a move task without a DestinationArn goes by. Ferry itself never reads it: its own
        // mover, where a backend has no move tasks, sends to the job queue by its URL.
        Backends.assumeNotKnownToLack("moto", "the DeadLetterQueueSourceArn attribute on a message its redrive"
                + " policy moved (moto 5.2.5 never sets it)");
        LocalResources resources = create(template(Map.of("MaxReceiveCount", "2")));
        String jobs = resources.queueUrl("GpuJobQueue");
        sqs.sendMessage(r -> r.queueUrl(jobs).messageBody("{\"jobId\":\"j5\"}"));
        for (int receive = 1; receive <= 2; receive++) {
            makeVisibleAgain(jobs, receiveOne(jobs).orElseThrow());
        }
        assertTrue(receiveOne(jobs).isEmpty());

        Message dead = await("the message in the dead-letter queue", () ->
                receiveOne(resources.queueUrl("GpuJobDeadLetterQueue")).orElse(null));

        assertEquals(resources.queueArn("GpuJobQueue"),
                dead.attributes().get(MessageSystemAttributeName.DEAD_LETTER_QUEUE_SOURCE_ARN));
    }

    @Test
    void messageMoveTask_returnsDeadLetters_toTheQueueTheyCameFrom() {
        Backends.assumeMessageMoveTasks(stack);
        // The template's least MaxReceiveCount: 2 receives, then the dead-letter queue.
        LocalResources resources = create(template(Map.of("MaxReceiveCount", "2")));
        String jobs = resources.queueUrl("GpuJobQueue");
        String deadLetters = resources.queueUrl("GpuJobDeadLetterQueue");
        String deadLetterArn = resources.queueArn("GpuJobDeadLetterQueue");
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
        if (Backends.embedded()) {
            // Unlike SQS, ElasticMQ keeps the message id on a move: a test that needs the id to change
            // (dedup must use Ferry's jobId, never the messageId) cannot rely on ElasticMQ for it.
            assertEquals(messageId, back.messageId());
        }
        assertEquals("0", sqs.getQueueAttributes(r -> r.queueUrl(deadLetters)
                .attributeNames(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES))
                .attributesAsStrings().get("ApproximateNumberOfMessages"));
    }

    @Test
    void concurrentConditionalWrites_underOneCondition_exactlyOneWins() throws Exception {
        // What a claim is: one conditional write. DynamoDB checks and writes each item atomically,
        // so of writers racing on one condition exactly one wins. moto's threaded server does not:
        // it checks and writes without a lock, and two writers can both win (about one item in 30
        // with 8 writers here); scripts/test-backends.sh runs moto with DynamoDB's requests one at
        // a time for that reason (README, Tests, "Backends").
        LocalResources resources = create(template(Map.of()));
        String table = resources.tableName("JobsTable");
        int writers = 8;
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(writers);
        try {
            for (int item = 0; item < 30; item++) {
                String jobId = "race-" + item;
                dynamoDb.putItem(r -> r.tableName(table).item(Map.of("jobId", AttributeValue.fromS(jobId),
                        "status", AttributeValue.fromS("PENDING"))));
                java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(writers);
                List<java.util.concurrent.Future<Boolean>> wins = new ArrayList<>();
                for (int writer = 0; writer < writers; writer++) {
                    String owner = "w" + writer;
                    wins.add(pool.submit(() -> {
                        start.await();
                        try {
                            dynamoDb.updateItem(r -> r.tableName(table).key(Map.of("jobId", AttributeValue.fromS(jobId)))
                                    .updateExpression("SET #status = :running, #owner = :owner")
                                    .conditionExpression("#status = :pending")
                                    .expressionAttributeNames(Map.of("#status", "status", "#owner", "leaseOwner"))
                                    .expressionAttributeValues(Map.of(":running", AttributeValue.fromS("RUNNING"),
                                            ":owner", AttributeValue.fromS(owner), ":pending", AttributeValue.fromS("PENDING"))));
                            return true;
                        } catch (ConditionalCheckFailedException e) {
                            return false;
                        }
                    }));
                }
                int won = 0;
                for (java.util.concurrent.Future<Boolean> win : wins) {
                    won += win.get() ? 1 : 0;
                }
                assertEquals(1, won, "writers that passed one condition on " + jobId);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void conditionalPut_secondAttributeNotExists_failsWithTheExistingItem() {
        LocalResources resources = create(template(Map.of()));
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
