package dev.ferry.bench;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import java.net.URI;
import java.util.Map;
import java.util.UUID;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * The floor of a submit function, for the submit path's figures: the same two calls as Ferry's
 * submit (a conditional PutItem of the job's record, a SendMessage of its message) and nothing
 * else: no validation, no idempotency, no mark-as-sent. The same SDK clients (URL-connection), built
 * once in the constructor as a Lambda handler builds them. Self-contained (the JDK, the SDK and the
 * Lambda events only): the cold-start child runs it on the functions jar's classpath alone.
 */
public final class MinimalSubmitHandler
        implements RequestHandler<APIGatewayProxyRequestEvent, APIGatewayProxyResponseEvent> {

    private final DynamoDbClient dynamoDb;
    private final SqsClient sqs;
    private final String table;
    private final String queueUrl;

    public MinimalSubmitHandler() {
        this(System.getenv());
    }

    public MinimalSubmitHandler(Map<String, String> env) {
        StaticCredentialsProvider credentials = StaticCredentialsProvider.create(AwsBasicCredentials.create(
                env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")));
        Region region = Region.of(env.get("AWS_REGION"));
        this.dynamoDb = DynamoDbClient.builder().region(region).credentialsProvider(credentials)
                .endpointOverride(URI.create(env.get("AWS_ENDPOINT_URL_DYNAMODB")))
                .httpClient(UrlConnectionHttpClient.create()).build();
        this.sqs = SqsClient.builder().region(region).credentialsProvider(credentials)
                .endpointOverride(URI.create(env.get("AWS_ENDPOINT_URL_SQS")))
                .httpClient(UrlConnectionHttpClient.create()).build();
        this.table = env.get("FERRY_TABLE");
        this.queueUrl = env.get("FERRY_QUEUE_URL");
    }

    @Override
    public APIGatewayProxyResponseEvent handleRequest(APIGatewayProxyRequestEvent event, Context context) {
        String jobId = "min-" + UUID.randomUUID();
        String body = event.getBody();
        dynamoDb.putItem(request -> request.tableName(table)
                .item(Map.of("jobId", AttributeValue.fromS(jobId), "status", AttributeValue.fromS("QUEUED"),
                        "input", AttributeValue.fromS(body == null ? "{}" : body)))
                .conditionExpression("attribute_not_exists(jobId)"));
        sqs.sendMessage(request -> request.queueUrl(queueUrl)
                .messageBody("{\"jobId\":\"" + jobId + "\",\"body\":" + (body == null ? "{}" : body) + "}"));
        return new APIGatewayProxyResponseEvent().withStatusCode(202).withBody("{\"jobId\":\"" + jobId + "\"}");
    }
}
