package dev.ferry.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * The interceptor as the SDK loads it (a global one, from the bench's classpath), on plain clients
 * against a small HTTP server that answers as SQS and DynamoDB do.
 */
class CountingInterceptorTest {

    private HttpServer server;
    private final List<String> bodies = new CopyOnWriteArrayList<>();
    private SqsClient sqs;
    private DynamoDbClient dynamoDb;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            bodies.add(body);
            String target = exchange.getRequestHeaders().getFirst("X-Amz-Target");
            String answer = target != null && target.startsWith("DynamoDB")
                    ? "{\"ConsumedCapacity\":{\"TableName\":\"jobs\",\"CapacityUnits\":3.0}}"
                    : "{}";
            byte[] bytes = answer.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/x-amz-json-1.0");
            exchange.sendResponseHeaders(200, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        });
        server.start();
        URI endpoint = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
        StaticCredentialsProvider credentials = StaticCredentialsProvider.create(AwsBasicCredentials.create("a", "b"));
        sqs = SqsClient.builder().region(Region.US_EAST_1).endpointOverride(endpoint).credentialsProvider(credentials)
                .httpClient(UrlConnectionHttpClient.create()).build();
        dynamoDb = DynamoDbClient.builder().region(Region.US_EAST_1).endpointOverride(endpoint)
                .credentialsProvider(credentials).httpClient(UrlConnectionHttpClient.create()).build();
    }

    @AfterEach
    void stop() {
        CountingInterceptor.stopCounting();
        sqs.close();
        dynamoDb.close();
        server.stop(0);
    }

    @Test
    void counts_callsOnTheWatchedQueueAndTable_perOperation_withDynamoDbsUnits() {
        RequestCounter counter = new RequestCounter();
        CountingInterceptor.countInto(counter, Set.of("http://queue/jobs", "jobs"));

        sqs.deleteMessage(request -> request.queueUrl("http://queue/jobs").receiptHandle("r1"));
        sqs.deleteMessage(request -> request.queueUrl("http://queue/jobs").receiptHandle("r2"));
        sqs.deleteMessage(request -> request.queueUrl("http://queue/other").receiptHandle("r3")); // not watched
        dynamoDb.putItem(request -> request.tableName("jobs").item(Map.of("jobId", AttributeValue.fromS("j1"))));
        CountingInterceptor.uncounted(() -> dynamoDb.putItem(request -> request.tableName("jobs")
                .item(Map.of("jobId", AttributeValue.fromS("j2")))));

        Map<String, RequestCounter.Count> counts = counter.snapshot();
        assertEquals(Map.of("Sqs.DeleteMessage", new RequestCounter.Count(2, 2.0),
                "DynamoDb.PutItem", new RequestCounter.Count(1, 3.0)), counts);
        // The counted write asked DynamoDB for its capacity; the uncounted one was sent as it was.
        List<String> puts = bodies.stream().filter(body -> body.contains("\"Item\"")).toList();
        assertEquals(2, puts.size());
        assertTrue(puts.get(0).contains("\"ReturnConsumedCapacity\":\"TOTAL\""), puts.get(0));
        assertTrue(!puts.get(1).contains("ReturnConsumedCapacity"), puts.get(1));
    }

    @Test
    void nothingIsCounted_whenNoCounterIsInForce() {
        RequestCounter counter = new RequestCounter();
        CountingInterceptor.countInto(counter, Set.of("http://queue/jobs"));
        CountingInterceptor.stopCounting();

        sqs.deleteMessage(request -> request.queueUrl("http://queue/jobs").receiptHandle("r1"));

        assertEquals(0, counter.calls());
    }
}
