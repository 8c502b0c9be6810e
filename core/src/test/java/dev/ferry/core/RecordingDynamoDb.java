package dev.ferry.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import software.amazon.awssdk.awscore.AwsRequest;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.BatchGetItemRequest;
import software.amazon.awssdk.services.dynamodb.model.BatchGetItemResponse;
import software.amazon.awssdk.services.dynamodb.model.QueryRequest;
import software.amazon.awssdk.services.dynamodb.model.QueryResponse;
import software.amazon.awssdk.services.dynamodb.model.DeleteItemRequest;
import software.amazon.awssdk.services.dynamodb.model.DeleteItemResponse;
import software.amazon.awssdk.services.dynamodb.model.GetItemRequest;
import software.amazon.awssdk.services.dynamodb.model.GetItemResponse;
import software.amazon.awssdk.services.dynamodb.model.PutItemRequest;
import software.amazon.awssdk.services.dynamodb.model.PutItemResponse;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemRequest;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemResponse;

/** A DynamoDbClient that records each request and answers with what the test scripted. */
final class RecordingDynamoDb implements DynamoDbClient {

    final List<AwsRequest> requests = new ArrayList<>();
    Function<PutItemRequest, PutItemResponse> onPut = r -> PutItemResponse.builder().build();
    Function<UpdateItemRequest, UpdateItemResponse> onUpdate = r -> UpdateItemResponse.builder().build();
    Function<GetItemRequest, GetItemResponse> onGet = r -> GetItemResponse.builder().build();
    Function<DeleteItemRequest, DeleteItemResponse> onDelete = r -> DeleteItemResponse.builder().build();
    Function<QueryRequest, QueryResponse> onQuery = r -> QueryResponse.builder().build();
    Function<BatchGetItemRequest, BatchGetItemResponse> onBatchGet = r -> BatchGetItemResponse.builder().build();

    @Override
    public PutItemResponse putItem(PutItemRequest request) {
        requests.add(request);
        Placeholders.check(request.expressionAttributeNames(), request.expressionAttributeValues(),
                request.conditionExpression());
        return onPut.apply(request);
    }

    @Override
    public UpdateItemResponse updateItem(UpdateItemRequest request) {
        requests.add(request);
        Placeholders.check(request.expressionAttributeNames(), request.expressionAttributeValues(),
                request.updateExpression(), request.conditionExpression());
        return onUpdate.apply(request);
    }

    @Override
    public DeleteItemResponse deleteItem(DeleteItemRequest request) {
        requests.add(request);
        Placeholders.check(request.expressionAttributeNames(), request.expressionAttributeValues(),
                request.conditionExpression());
        return onDelete.apply(request);
    }

    @Override
    public GetItemResponse getItem(GetItemRequest request) {
        requests.add(request);
        return onGet.apply(request);
    }

    @Override
    public QueryResponse query(QueryRequest request) {
        requests.add(request);
        Placeholders.check(request.expressionAttributeNames(), request.expressionAttributeValues(),
                request.keyConditionExpression(), request.filterExpression(), request.projectionExpression());
        return onQuery.apply(request);
    }

    @Override
    public BatchGetItemResponse batchGetItem(BatchGetItemRequest request) {
        requests.add(request);
        request.requestItems().values().forEach(keys -> Placeholders.check(keys.expressionAttributeNames(), Map.of(),
                keys.projectionExpression()));
        return onBatchGet.apply(request);
    }

    @SuppressWarnings("unchecked")
    <T extends AwsRequest> T last(Class<T> type) {
        for (int i = requests.size() - 1; i >= 0; i--) {
            if (type.isInstance(requests.get(i))) {
                return (T) requests.get(i);
            }
        }
        throw new AssertionError("no " + type.getSimpleName() + " was sent");
    }

    /** DynamoDB refuses a request with a placeholder it does not use, or uses one it does not define. */
    static final class Placeholders {
        private static final java.util.regex.Pattern PLACEHOLDER = java.util.regex.Pattern.compile("[#:][A-Za-z0-9_]+");

        static void check(Map<String, String> names, Map<String, ?> values, String... expressions) {
            java.util.Set<String> used = new java.util.HashSet<>();
            for (String expression : expressions) {
                if (expression != null) {
                    PLACEHOLDER.matcher(expression).results().forEach(m -> used.add(m.group()));
                }
            }
            java.util.Set<String> defined = new java.util.HashSet<>(names.keySet());
            defined.addAll(values.keySet());
            if (!used.equals(defined)) {
                throw new AssertionError("placeholders used " + new java.util.TreeSet<>(used) + " but defined "
                        + new java.util.TreeSet<>(defined));
            }
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
