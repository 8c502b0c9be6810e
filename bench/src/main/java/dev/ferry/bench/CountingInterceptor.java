package dev.ferry.bench;

import java.util.Set;
import java.util.function.Supplier;
import software.amazon.awssdk.core.SdkRequest;
import software.amazon.awssdk.core.SdkResponse;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttribute;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.interceptor.SdkExecutionAttribute;
import software.amazon.awssdk.services.dynamodb.model.ConsumedCapacity;
import software.amazon.awssdk.services.dynamodb.model.DeleteItemRequest;
import software.amazon.awssdk.services.dynamodb.model.GetItemRequest;
import software.amazon.awssdk.services.dynamodb.model.PutItemRequest;
import software.amazon.awssdk.services.dynamodb.model.QueryRequest;
import software.amazon.awssdk.services.dynamodb.model.ReturnConsumedCapacity;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemRequest;

/**
 * Counts every SQS and DynamoDB request made on the benchmark's queue and table into the
 * {@link RequestCounter} in force ({@link #countInto}), per operation, with the capacity units
 * DynamoDB reports for it (asked for by adding {@code ReturnConsumedCapacity=TOTAL} to the request;
 * a call that fails, a refused condition among them, counts one unit, as DynamoDB bills it).
 *
 * <p>It is an SDK <em>global</em> interceptor (listed in
 * {@code software/amazon/awssdk/global/handlers/execution.interceptors} on the bench classpath),
 * so it sees the clients Ferry's own code builds ({@code SubmitJobHandler}, {@code Worker},
 * {@code AwsClients}) as they are, without a hook in the product; the peers' clients get it the
 * same way. The benchmark's own bookkeeping calls ({@link #uncounted}) are left out.
 */
public final class CountingInterceptor implements ExecutionInterceptor {

    private static final ExecutionAttribute<Boolean> COUNTED = new ExecutionAttribute<>("FerryBenchCounted");
    private static final ThreadLocal<Boolean> UNCOUNTED = ThreadLocal.withInitial(() -> false);
    private static volatile RequestCounter active;
    private static volatile Set<String> resources = Set.of();

    /** Counts requests on {@code queueUrlsAndTables} into {@code counter} from now on. */
    static void countInto(RequestCounter counter, Set<String> queueUrlsAndTables) {
        resources = Set.copyOf(queueUrlsAndTables);
        active = counter;
    }

    static void stopCounting() {
        active = null;
    }

    /** Runs {@code call} on this thread without counting its requests (the benchmark's own reads). */
    static <T> T uncounted(Supplier<T> call) {
        UNCOUNTED.set(true);
        try {
            return call.get();
        } finally {
            UNCOUNTED.set(false);
        }
    }

    @Override
    public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
        RequestCounter counter = active;
        boolean counted = counter != null && !UNCOUNTED.get() && onResource(context.request());
        attributes.putAttribute(COUNTED, counted);
    }

    @Override
    public SdkRequest modifyRequest(Context.ModifyRequest context, ExecutionAttributes attributes) {
        SdkRequest request = context.request();
        if (!Boolean.TRUE.equals(attributes.getAttribute(COUNTED))) {
            return request;
        }
        if (request instanceof PutItemRequest put) {
            return put.toBuilder().returnConsumedCapacity(ReturnConsumedCapacity.TOTAL).build();
        } else if (request instanceof UpdateItemRequest update) {
            return update.toBuilder().returnConsumedCapacity(ReturnConsumedCapacity.TOTAL).build();
        } else if (request instanceof GetItemRequest get) {
            return get.toBuilder().returnConsumedCapacity(ReturnConsumedCapacity.TOTAL).build();
        } else if (request instanceof DeleteItemRequest delete) {
            return delete.toBuilder().returnConsumedCapacity(ReturnConsumedCapacity.TOTAL).build();
        } else if (request instanceof QueryRequest query) {
            return query.toBuilder().returnConsumedCapacity(ReturnConsumedCapacity.TOTAL).build();
        }
        return request;
    }

    @Override
    public void afterExecution(Context.AfterExecution context, ExecutionAttributes attributes) {
        if (Boolean.TRUE.equals(attributes.getAttribute(COUNTED))) {
            record(attributes, units(context.response()));
        }
    }

    @Override
    public void onExecutionFailure(Context.FailedExecution context, ExecutionAttributes attributes) {
        if (Boolean.TRUE.equals(attributes.getAttribute(COUNTED))) {
            record(attributes, 1.0);
        }
    }

    private static void record(ExecutionAttributes attributes, double units) {
        RequestCounter counter = active;
        if (counter != null) {
            counter.record(serviceName(attributes.getAttribute(SdkExecutionAttribute.SERVICE_NAME)),
                    attributes.getAttribute(SdkExecutionAttribute.OPERATION_NAME), units);
        }
    }

    /** {@code Sqs} or {@code DynamoDb}, whatever the SDK calls the service. */
    static String serviceName(String sdkName) {
        if (sdkName == null) {
            return "Unknown";
        }
        return switch (sdkName.toLowerCase(java.util.Locale.ROOT)) {
            case "sqs" -> "Sqs";
            case "dynamodb" -> "DynamoDb";
            default -> sdkName;
        };
    }

    private static boolean onResource(SdkRequest request) {
        Set<String> watched = resources;
        return request.getValueForField("QueueUrl", String.class).map(watched::contains).orElse(false)
                || request.getValueForField("TableName", String.class).map(watched::contains).orElse(false);
    }

    /** DynamoDB's consumed capacity units where it reports them; else one (an SQS request). */
    private static double units(SdkResponse response) {
        return response.getValueForField("ConsumedCapacity", ConsumedCapacity.class)
                .map(ConsumedCapacity::capacityUnits)
                .filter(units -> units != null && units > 0)
                .orElse(1.0);
    }
}
