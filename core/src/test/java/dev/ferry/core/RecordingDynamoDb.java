package dev.ferry.core;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import software.amazon.awssdk.awscore.AwsRequest;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
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

    @Override
    public PutItemResponse putItem(PutItemRequest request) {
        requests.add(request);
        return onPut.apply(request);
    }

    @Override
    public UpdateItemResponse updateItem(UpdateItemRequest request) {
        requests.add(request);
        return onUpdate.apply(request);
    }

    @Override
    public GetItemResponse getItem(GetItemRequest request) {
        requests.add(request);
        return onGet.apply(request);
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

    @Override
    public String serviceName() {
        return "dynamodb";
    }

    @Override
    public void close() {
    }
}
