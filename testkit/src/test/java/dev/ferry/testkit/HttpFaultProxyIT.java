package dev.ferry.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.services.dynamodbv2.local.main.ServerRunner;
import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;
import dev.ferry.core.AwsClients;
import dev.ferry.core.FerryEnv;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.elasticmq.rest.sqs.SQSRestServer;
import org.elasticmq.rest.sqs.SQSRestServerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.metrics.CoreMetric;
import software.amazon.awssdk.metrics.MetricCollection;
import software.amazon.awssdk.metrics.MetricPublisher;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeDefinition;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BillingMode;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.DynamoDbException;
import software.amazon.awssdk.services.dynamodb.model.KeySchemaElement;
import software.amazon.awssdk.services.dynamodb.model.KeyType;
import software.amazon.awssdk.services.dynamodb.model.ScalarAttributeType;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;
import software.amazon.awssdk.services.sqs.model.RequestThrottledException;
import software.amazon.awssdk.services.sqs.model.SqsException;

/**
 * The proxy's faults as the product meets them: SDK clients built by core's {@link AwsClients}
 * (URL-connection client, 10 s a call, 4 s an attempt, the SDK's default retries) through the
 * proxy to embedded ElasticMQ and DynamoDB Local, started here directly (local-stack's wrappers
 * would make a dependency cycle). What each fault does to a write: applied once, twice, or not at
 * all, and what the SDK makes of it.
 */
class HttpFaultProxyIT {

    private static final String REGION = "us-east-1";
    /** Longer than an attempt (4 s), well within a call (10 s). */
    private static final Duration PAST_THE_ATTEMPT_TIMEOUT = AwsClients.DEFAULT_API_CALL_ATTEMPT_TIMEOUT.plusSeconds(2);

    private static SQSRestServer elasticMq;
    private static DynamoDBProxyServer dynamoDbLocal;
    private static URI sqsEndpoint;
    private static URI dynamoDbEndpoint;
    private static SqsClient directSqs;
    private static DynamoDbClient directDynamoDb;

    private HttpFaultProxy sqsProxy;
    private HttpFaultProxy dynamoDbProxy;
    private SqsClient sqs;
    private DynamoDbClient dynamoDb;
    private String queueUrl;
    private String table;

    @BeforeAll
    static void startEmulators() throws Exception {
        elasticMq = SQSRestServerBuilder.withInterface("localhost").withDynamicPort().withAWSRegion(REGION)
                .withAWSAccountId("000000000000").start();
        sqsEndpoint = URI.create("http://localhost:" + elasticMq.waitUntilStarted().localAddress().getPort());
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        dynamoDbLocal = ServerRunner.createServerFromCommandLineArgs(
                new String[] {"-inMemory", "-disableTelemetry", "-port", Integer.toString(port)});
        dynamoDbLocal.safeStart();
        dynamoDbEndpoint = URI.create("http://localhost:" + port);
        directSqs = AwsClients.sqs(env(FerryEnv.AWS_ENDPOINT_URL_SQS, sqsEndpoint));
        directDynamoDb = AwsClients.dynamoDb(env(FerryEnv.AWS_ENDPOINT_URL_DYNAMODB, dynamoDbEndpoint));
    }

    @AfterAll
    static void stopEmulators() throws Exception {
        directSqs.close();
        directDynamoDb.close();
        elasticMq.stopAndWait();
        dynamoDbLocal.stop();
    }

    private static FerryEnv env(String endpointVariable, URI endpoint) {
        return FerryEnv.of(Map.of(FerryEnv.AWS_REGION, REGION, FerryEnv.AWS_ACCESS_KEY_ID, "local",
                FerryEnv.AWS_SECRET_ACCESS_KEY, "local", endpointVariable, endpoint.toString()));
    }

    @BeforeEach
    void startProxies() {
        sqsProxy = HttpFaultProxy.start("sqs", sqsEndpoint);
        dynamoDbProxy = HttpFaultProxy.start("dynamodb", dynamoDbEndpoint);
        sqs = AwsClients.sqs(env(FerryEnv.AWS_ENDPOINT_URL_SQS, sqsProxy.endpoint()));
        dynamoDb = AwsClients.dynamoDb(env(FerryEnv.AWS_ENDPOINT_URL_DYNAMODB, dynamoDbProxy.endpoint()));
        String name = "t" + UUID.randomUUID().toString().replace("-", "");
        queueUrl = directSqs.createQueue(r -> r.queueName(name)).queueUrl();
        table = name;
        directDynamoDb.createTable(r -> r.tableName(table).billingMode(BillingMode.PAY_PER_REQUEST)
                .attributeDefinitions(AttributeDefinition.builder().attributeName("id")
                        .attributeType(ScalarAttributeType.S).build())
                .keySchema(KeySchemaElement.builder().attributeName("id").keyType(KeyType.HASH).build()));
    }

    @AfterEach
    void stopProxies() {
        sqs.close();
        dynamoDb.close();
        sqsProxy.close();
        dynamoDbProxy.close();
    }

    private static Map<String, AttributeValue> item(String id, int value) {
        return Map.of("id", AttributeValue.fromS(id), "v", AttributeValue.fromN(Integer.toString(value)));
    }

    private void putIfAbsent(String id, int value, MetricPublisher... publishers) {
        dynamoDb.putItem(r -> r.tableName(table).item(item(id, value)).conditionExpression("attribute_not_exists(id)")
                .overrideConfiguration(o -> List.of(publishers).forEach(o::addMetricPublisher)));
    }

    private Map<String, AttributeValue> stored(String id) {
        return directDynamoDb.getItem(r -> r.tableName(table).key(Map.of("id", AttributeValue.fromS(id)))
                .consistentRead(true)).item();
    }

    /** Every message in the queue, received once each. */
    private List<String> bodiesInQueue() {
        List<String> bodies = new ArrayList<>();
        for (int empty = 0; empty < 2; ) {
            List<Message> batch = directSqs.receiveMessage(r -> r.queueUrl(queueUrl).maxNumberOfMessages(10)
                    .visibilityTimeout(60).waitTimeSeconds(0)).messages();
            if (batch.isEmpty()) {
                empty++;
            }
            batch.forEach(m -> bodies.add(m.body()));
        }
        return bodies;
    }

    /** Per attempt of each call it sees, the SDK's own classification of the attempt's failure ({@code CoreMetric.ERROR_TYPE}). */
    private static final class AttemptErrors implements MetricPublisher {
        final List<String> perAttempt = new CopyOnWriteArrayList<>();

        @Override
        public void publish(MetricCollection call) {
            for (MetricCollection attempt : call.childrenWithName("ApiCallAttempt").toList()) {
                List<String> errors = attempt.metricValues(CoreMetric.ERROR_TYPE);
                perAttempt.add(errors.isEmpty() ? "ok" : String.join(",", errors));
            }
        }

        @Override
        public void close() {
        }
    }

    // LOSE_RESPONSE

    @Test
    void conditionalPutItem_whoseResponseIsLost_isApplied_andTheSdksRetryFailsTheCondition() {
        dynamoDbProxy.add(FaultRule.on("PutItem").next(1).then(Fault.loseResponse()));

        assertThrows(ConditionalCheckFailedException.class, () -> putIfAbsent("a", 1));

        assertEquals(item("a", 1), stored("a"));
        assertEquals(2, dynamoDbProxy.requests("PutItem"), "the SDK retried once");
        assertEquals(1, dynamoDbProxy.injected(FaultKind.LOSE_RESPONSE, "PutItem"));
    }

    @Test
    void sendMessage_whoseResponseIsLost_leavesTwoMessages() {
        sqsProxy.add(FaultRule.on("SendMessage").next(1).then(Fault.loseResponse()));

        sqs.sendMessage(r -> r.queueUrl(queueUrl).messageBody("once"));

        assertEquals(List.of("once", "once"), bodiesInQueue());
        assertEquals(2, sqsProxy.requests("SendMessage"));
        assertEquals(1, sqsProxy.injected(FaultKind.LOSE_RESPONSE, "SendMessage"));
    }

    // THROTTLE

    @Test
    void throttledPutItem_isThrottlingToTheSdk_retried_andAppliedOnceTheRuleIsSpent() {
        dynamoDbProxy.add(FaultRule.on("PutItem").next(2).then(Fault.throttle()));
        AttemptErrors attempts = new AttemptErrors();

        putIfAbsent("b", 2, attempts);

        assertEquals(List.of("Throttling", "Throttling", "ok"), attempts.perAttempt);
        assertEquals(item("b", 2), stored("b"));
        assertEquals(2, dynamoDbProxy.injected(FaultKind.THROTTLE, "PutItem"));
    }

    @Test
    void dynamoDbsOtherThrottlingCode_isThrottlingToTheSdkToo() {
        dynamoDbProxy.add(FaultRule.on("GetItem").next(1).then(Fault.throttle("ThrottlingException")));
        AttemptErrors attempts = new AttemptErrors();

        dynamoDb.getItem(r -> r.tableName(table).key(Map.of("id", AttributeValue.fromS("none")))
                .overrideConfiguration(o -> o.addMetricPublisher(attempts)));

        assertEquals(List.of("Throttling", "ok"), attempts.perAttempt);
    }

    @Test
    void throttledSendMessage_isAThrottlingException_retried_andSentOnceWhenTheRuleStops() {
        FaultRule rule = sqsProxy.add(FaultRule.on("SendMessage").then(Fault.throttle()));

        SqsException e = assertThrows(SqsException.class,
                () -> sqs.sendMessage(r -> r.queueUrl(queueUrl).messageBody("throttled")));

        assertInstanceOf(RequestThrottledException.class, e);
        assertTrue(e.isThrottlingException(), e.toString());
        assertEquals("RequestThrottled", e.awsErrorDetails().errorCode());
        assertEquals(400, e.statusCode());
        int attempts = sqsProxy.requests("SendMessage");
        assertTrue(attempts > 1, "retried: " + attempts + " attempts");
        assertEquals(attempts, sqsProxy.injected(FaultKind.THROTTLE, "SendMessage"));
        assertEquals(List.of(), bodiesInQueue(), "a throttled call did nothing");

        sqsProxy.remove(rule);
        sqs.sendMessage(r -> r.queueUrl(queueUrl).messageBody("through"));
        assertEquals(List.of("through"), bodiesInQueue());
    }

    // SLOW

    @Test
    void slowPutItem_isAbandonedAtTheAttemptTimeout_andTheRetryFindsItApplied() {
        dynamoDbProxy.add(FaultRule.on("PutItem").next(1).then(Fault.slow(PAST_THE_ATTEMPT_TIMEOUT)));
        long start = System.nanoTime();

        assertThrows(ConditionalCheckFailedException.class, () -> putIfAbsent("c", 3));

        long millis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(millis >= AwsClients.DEFAULT_API_CALL_ATTEMPT_TIMEOUT.toMillis()
                && millis < PAST_THE_ATTEMPT_TIMEOUT.toMillis(), "abandoned after the attempt timeout: " + millis + " ms");
        assertEquals(item("c", 3), stored("c"));
        assertEquals(2, dynamoDbProxy.requests("PutItem"));
        assertEquals(1, dynamoDbProxy.injected(FaultKind.SLOW, "PutItem"));
    }

    @Test
    void slowSendMessage_isSentTwice() {
        sqsProxy.add(FaultRule.on("SendMessage").next(1).then(Fault.slow(PAST_THE_ATTEMPT_TIMEOUT)));
        AttemptErrors attempts = new AttemptErrors();

        sqs.sendMessage(r -> r.queueUrl(queueUrl).messageBody("slow")
                .overrideConfiguration(o -> o.addMetricPublisher(attempts)));

        assertEquals(List.of("ConfiguredTimeout", "ok"), attempts.perAttempt);
        assertEquals(List.of("slow", "slow"), bodiesInQueue());
    }

    // SERVER_ERROR

    @Test
    void serverErrorBeforeForwarding_isRetried_andTheMessageSentOnce() {
        sqsProxy.add(FaultRule.on("SendMessage").next(1).then(Fault.serverErrorBefore(503)));
        AttemptErrors attempts = new AttemptErrors();

        sqs.sendMessage(r -> r.queueUrl(queueUrl).messageBody("503")
                .overrideConfiguration(o -> o.addMetricPublisher(attempts)));

        assertEquals(List.of("ServerError", "ok"), attempts.perAttempt);
        assertEquals(List.of("503"), bodiesInQueue());
        assertEquals(1, sqsProxy.injected(FaultKind.SERVER_ERROR, "SendMessage"));
    }

    @Test
    void serverErrorAfterForwarding_appliesAnUnconditionalUpdateTwice() {
        directDynamoDb.putItem(r -> r.tableName(table).item(item("d", 0)));
        dynamoDbProxy.add(FaultRule.on("UpdateItem").next(1).then(Fault.serverErrorAfter(500)));
        AttemptErrors attempts = new AttemptErrors();

        dynamoDb.updateItem(r -> r.tableName(table).key(Map.of("id", AttributeValue.fromS("d")))
                .updateExpression("ADD v :one").expressionAttributeValues(Map.of(":one", AttributeValue.fromN("1")))
                .overrideConfiguration(o -> o.addMetricPublisher(attempts)));

        assertEquals(List.of("ServerError", "ok"), attempts.perAttempt);
        assertEquals(item("d", 2), stored("d"));
    }

    // REFUSE

    @Test
    void refusedStartMessageMoveTask_failsWithThatCode_unretried() {
        sqsProxy.add(FaultRule.on("StartMessageMoveTask")
                .then(Fault.refuse(403, "AccessDenied", "not authorized to perform sqs:StartMessageMoveTask")));

        SqsException e = assertThrows(SqsException.class, () -> sqs.startMessageMoveTask(r -> r.sourceArn(
                "arn:aws:sqs:" + REGION + ":000000000000:dlq")));

        assertEquals("AccessDenied", e.awsErrorDetails().errorCode());
        assertEquals(403, e.statusCode());
        assertEquals("not authorized to perform sqs:StartMessageMoveTask", e.awsErrorDetails().errorMessage());
        assertFalse(e.isThrottlingException());
        assertEquals(1, sqsProxy.requests("StartMessageMoveTask"), "not retried");
    }

    @Test
    void refusedPutItem_failsWithThatCode_andWritesNothing() {
        dynamoDbProxy.add(FaultRule.on("PutItem").then(Fault.refuse(400, "AccessDeniedException", "no")));

        DynamoDbException e = assertThrows(DynamoDbException.class, () -> putIfAbsent("e", 5));

        assertEquals("AccessDeniedException", e.awsErrorDetails().errorCode());
        assertEquals(Map.of(), stored("e"));
        assertEquals(1, dynamoDbProxy.injected(FaultKind.REFUSE, "PutItem"));
    }

    // Cut

    @Test
    void cut_failsTheCallInFlightAndNewOnes_restoreLetsThemThrough() throws Exception {
        CompletableFuture<Integer> longPoll = CompletableFuture.supplyAsync(() -> sqs.receiveMessage(r -> r
                .queueUrl(queueUrl).waitTimeSeconds(5).overrideConfiguration(o -> o.apiCallTimeout(Duration.ofSeconds(8))
                        .apiCallAttemptTimeout(Duration.ofSeconds(7)))).messages().size());
        Thread.sleep(1_000);
        sqsProxy.cut();
        long cutAt = System.nanoTime();

        Exception inFlight = assertThrows(Exception.class, () -> longPoll.get(10, TimeUnit.SECONDS));
        assertInstanceOf(SdkClientException.class, inFlight.getCause(), inFlight.toString());
        assertTrue(System.nanoTime() - cutAt < 4_000_000_000L, "the long poll lost its answer at the cut");
        assertThrows(SdkClientException.class, () -> sqs.sendMessage(r -> r.queueUrl(queueUrl).messageBody("cut")));
        assertTrue(sqsProxy.refused() > 0);

        sqsProxy.restore();
        sqs.sendMessage(r -> r.queueUrl(queueUrl).messageBody("restored"));
        // The cut long poll may still be waiting inside ElasticMQ and take the message, unseen (as
        // SQS would: a receive whose answer is lost hides its messages for their visibility timeout).
        Map<QueueAttributeName, String> counts = directSqs.getQueueAttributes(r -> r.queueUrl(queueUrl)
                .attributeNames(QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES,
                        QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE)).attributes();
        assertEquals(1, counts.values().stream().mapToInt(Integer::parseInt).sum(), counts.toString());
        assertTrue(sqsProxy.cutMillis() > 0);
    }

    @Test
    void counters_sumUpPerKindAndOperation() throws IOException {
        sqsProxy.add(FaultRule.on("SendMessage").next(1).then(Fault.loseResponse()));
        sqsProxy.add(FaultRule.on("GetQueueAttributes").next(1).then(Fault.throttle()));

        sqs.sendMessage(r -> r.queueUrl(queueUrl).messageBody("x"));
        sqs.getQueueAttributes(r -> r.queueUrl(queueUrl));

        assertEquals("sqs: requests=4 lose_response=1(SendMessage=1) slow=0 throttle=1(GetQueueAttributes=1)"
                + " server_error=0 refuse=0", sqsProxy.summary());
        assertEquals(1, sqsProxy.injected(FaultKind.THROTTLE));
        assertEquals(Map.of("SendMessage", 1), sqsProxy.injectedByOperation().get(FaultKind.LOSE_RESPONSE));
    }
}
