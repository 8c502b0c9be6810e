package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.FerryEnv;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.cloudformation.CloudFormationClient;
import software.amazon.awssdk.services.cloudformation.model.CloudFormationException;
import software.amazon.awssdk.services.cloudformation.model.DescribeStacksRequest;
import software.amazon.awssdk.services.cloudformation.model.DescribeStacksResponse;
import software.amazon.awssdk.services.cloudformation.model.Output;
import software.amazon.awssdk.services.cloudformation.model.Stack;

/** A worker anywhere finds a deployed stack's queue and table by the stack's name. */
class StackTargetTest {

    private static CloudFormationClient stackWith(List<Output> outputs) {
        return new CloudFormationClient() {
            @Override
            public DescribeStacksResponse describeStacks(DescribeStacksRequest request) {
                if (!request.stackName().equals("ferry")) {
                    throw CloudFormationException.builder().statusCode(400)
                            .message("Stack with id " + request.stackName() + " does not exist").build();
                }
                return DescribeStacksResponse.builder().stacks(Stack.builder().stackName("ferry").outputs(outputs)
                        .build()).build();
            }

            @Override
            public String serviceName() {
                return "cloudformation";
            }

            @Override
            public void close() {
            }
        };
    }

    private static final List<Output> FERRY_OUTPUTS = List.of(
            Output.builder().outputKey("JobQueueUrl").outputValue("https://sqs.eu-west-1.amazonaws.com/1/ferry-jobs").build(),
            Output.builder().outputKey("JobsTableName").outputValue("ferry-jobs").build(),
            Output.builder().outputKey("FilesBucketName").outputValue("ferry-files-1-eu-west-1").build(),
            Output.builder().outputKey("ApiUrl").outputValue("https://x").build());

    @Test
    void theStacksOutputs_fillInTheQueueTableAndBucket() {
        Map<String, String> env = StackTarget.resolve(Map.of(StackTarget.STACK, "ferry"), "ferry",
                stackWith(FERRY_OUTPUTS));

        assertEquals("https://sqs.eu-west-1.amazonaws.com/1/ferry-jobs", env.get(FerryEnv.QUEUE_URL));
        assertEquals("ferry-jobs", env.get(FerryEnv.TABLE));
        assertEquals("ferry-files-1-eu-west-1", env.get(FerryEnv.BUCKET));
    }

    private static Output output(String key, String value) {
        return Output.builder().outputKey(key).outputValue(value).build();
    }

    @Test
    void aStackWithPools_givesAWorkerItsPoolsQueues_theOnlyPoolOrTheOneNamed() {
        List<Output> onePool = List.of(output("GpuJobQueueUrl", "https://sqs/1/ferry-Gpu-jobs"),
                output("GpuPriorityQueueUrl", "https://sqs/1/ferry-Gpu-jobs-priority"),
                output("GpuJobDeadLetterQueueUrl", "https://sqs/1/ferry-Gpu-jobs-dlq"),
                output("JobsTableName", "ferry-jobs"));
        Map<String, String> env = StackTarget.resolve(Map.of(StackTarget.STACK, "ferry"), "ferry", stackWith(onePool));
        assertEquals("https://sqs/1/ferry-Gpu-jobs", env.get(FerryEnv.QUEUE_URL));
        assertEquals("https://sqs/1/ferry-Gpu-jobs-priority", env.get(WorkerConfig.PRIORITY_QUEUE_URL));
        assertEquals("Gpu", env.get(FerryEnv.POOL));

        List<Output> twoPools = new java.util.ArrayList<>(onePool);
        twoPools.add(output("LargeJobQueueUrl", "https://sqs/1/ferry-Large-jobs"));
        IllegalStateException which = assertThrows(IllegalStateException.class,
                () -> StackTarget.resolve(Map.of(StackTarget.STACK, "ferry"), "ferry", stackWith(twoPools)));
        assertTrue(which.getMessage().contains("the stack has pools [Gpu, Large]; set FERRY_POOL"), which.getMessage());

        Map<String, String> large = StackTarget.resolve(Map.of(StackTarget.STACK, "ferry", FerryEnv.POOL, "Large"),
                "ferry", stackWith(twoPools));
        assertEquals("https://sqs/1/ferry-Large-jobs", large.get(FerryEnv.QUEUE_URL));
        assertEquals(null, large.get(WorkerConfig.PRIORITY_QUEUE_URL), "Large has no lane output here");
        IllegalStateException unknown = assertThrows(IllegalStateException.class, () -> StackTarget.resolve(
                Map.of(StackTarget.STACK, "ferry", FerryEnv.POOL, "Small"), "ferry", stackWith(twoPools)));
        assertTrue(unknown.getMessage().contains("has no output SmallJobQueueUrl"), unknown.getMessage());
    }

    @Test
    void explicitValues_win_andWithoutAStackNothingIsAsked() {
        Map<String, String> env = StackTarget.resolve(Map.of(StackTarget.STACK, "ferry", FerryEnv.TABLE, "mine"),
                "ferry", stackWith(FERRY_OUTPUTS));
        assertEquals("mine", env.get(FerryEnv.TABLE));

        Map<String, String> plain = Map.of(FerryEnv.QUEUE_URL, "q", FerryEnv.TABLE, "t");
        assertSame(plain, StackTarget.resolve(plain));
    }

    @Test
    void aMissingStackOrANonFerryStack_stopsTheWorker_sayingWhy() {
        IllegalStateException missing = assertThrows(IllegalStateException.class,
                () -> StackTarget.resolve(Map.of(StackTarget.STACK, "nope"), "nope", stackWith(FERRY_OUTPUTS)));
        assertTrue(missing.getMessage().startsWith("FERRY_STACK=nope: cannot read the stack"), missing.getMessage());

        IllegalStateException notFerry = assertThrows(IllegalStateException.class,
                () -> StackTarget.resolve(Map.of(StackTarget.STACK, "ferry"), "ferry", stackWith(List.of())));
        assertTrue(notFerry.getMessage().contains("has no output JobQueueUrl"), notFerry.getMessage());
    }
}
