package dev.ferry.functions;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.GetItemRequest;
import software.amazon.awssdk.services.dynamodb.model.GetItemResponse;
import software.amazon.awssdk.services.dynamodb.model.PutItemRequest;
import software.amazon.awssdk.services.dynamodb.model.PutItemResponse;

/**
 * The webhook deliveries table in memory: GetItem, and PutItem with the two conditions
 * {@link WebhookDeliveryStore} writes, evaluated as DynamoDB would (a failed one answers with the
 * item, as ReturnValuesOnConditionCheckFailure=ALL_OLD asks). Requests are recorded.
 */
class DeliveriesTable implements DynamoDbClient {

    final Map<String, Map<String, AttributeValue>> items = new ConcurrentHashMap<>();
    final List<PutItemRequest> puts = java.util.Collections.synchronizedList(new ArrayList<>());
    /** The next put is applied, then its response is lost: the SDK's retry fails its condition. */
    volatile boolean loseNextResponse;
    /** Before the next put is checked, another writer puts this item. */
    volatile Map<String, AttributeValue> racingWrite;
    volatile boolean unavailable;
    /** Every put fails (reads still work). */
    volatile boolean putsFail;

    @Override
    public GetItemResponse getItem(GetItemRequest request) {
        if (unavailable) {
            throw SdkClientException.create("Unable to execute HTTP request: Connect timed out");
        }
        Map<String, AttributeValue> item = items.get(request.key().get("jobId").s());
        return GetItemResponse.builder().item(item).build();
    }

    @Override
    public synchronized PutItemResponse putItem(PutItemRequest request) {
        if (unavailable) {
            throw SdkClientException.create("Unable to execute HTTP request: Connect timed out");
        }
        if (putsFail) {
            throw SdkClientException.create("Unable to execute HTTP request: Read timed out");
        }
        puts.add(request);
        String jobId = request.item().get("jobId").s();
        if (racingWrite != null) {
            items.put(jobId, racingWrite);
            racingWrite = null;
        }
        check(request, items.get(jobId));
        items.put(jobId, request.item());
        if (loseNextResponse) {
            loseNextResponse = false;
            check(request, items.get(jobId)); // the SDK's retry: fails, and gets the item back
        }
        return PutItemResponse.builder().build();
    }

    private static void check(PutItemRequest request, Map<String, AttributeValue> current) {
        boolean holds = switch (request.conditionExpression()) {
            case WebhookDeliveryStore.CREATE_CONDITION -> current == null;
            case WebhookDeliveryStore.UPDATE_CONDITION -> current != null && current.get("revision")
                    .equals(request.expressionAttributeValues().get(":revision"));
            default -> throw new AssertionError("unexpected condition " + request.conditionExpression());
        };
        if (!holds) {
            throw ConditionalCheckFailedException.builder().message("The conditional request failed")
                    .item(current).build();
        }
    }

    @Override
    public String serviceName() {
        return "dynamodb";
    }

    @Override
    public void close() {
    }
}
