package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.JobMessage;
import dev.ferry.core.Json;
import dev.ferry.testkit.Fault;
import dev.ferry.testkit.FaultKind;
import dev.ferry.testkit.FaultRule;
import dev.ferry.testkit.HttpFaultProxy;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The template's Lambda pool ({@code Light}, job type {@code echo}) through the HTTP API: its jobs
 * are run by the pool's function ({@code LightPoolFunction}, the worker's
 * {@code LambdaPoolHandler}) on its queue's event source mapping, as Lambda invokes it (batches,
 * partial batch failures), with no GPU worker anywhere in the stack. The same claim, fence,
 * back-off and dead-letter rules as a GPU pool's: a job delivered several times runs once; one
 * that keeps failing goes through its attempts into the pool's dead-letter queue, and the pool's
 * Redrive DLQ brings it back.
 */
class LambdaPoolIT {

    private static final Duration WAIT = Duration.ofSeconds(90);
    private static final String LIGHT = "Light";
    @TempDir
    static Path dir;
    private static LocalStack stack;
    private static Api api;
    private static Path ledger;
    private static HttpFaultProxy dynamoDb;

    @BeforeAll
    static void start() {
        ledger = dir.resolve("runs.log");
        // echo as the template has it (cat), but it notes each run and takes a second (input naming
        // "slow": four); input naming "boom" fails (exit 1: retryable) until the file "fixed" exists.
        String echo = "in=$(cat); echo \"$FERRY_JOB_ID $FERRY_ATTEMPT\" >> " + ledger + "; sleep 1; case \"$in\" in"
                + " *slow*) sleep 3;; *boom*) if [ ! -f " + dir.resolve("fixed") + " ]; then echo boom >&2; exit 1;"
                + " fi;; esac; printf '%s' \"$in\"";
        Backends.assumePlainHttpEndpoints();
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0)
                // The functions reach DynamoDB through a proxy that a test may cut (an outage).
                .functionEndpoints((variable, endpoint) -> {
                    if (!variable.equals(FerryEnv.AWS_ENDPOINT_URL_DYNAMODB)) {
                        return endpoint;
                    }
                    dynamoDb = HttpFaultProxy.start("dynamodb", endpoint);
                    return dynamoDb.endpoint();
                })
                .environmentOverrides(Map.of("FERRY_COMMAND_ECHO", echo,
                        // A duplicate of a running job is looked at again 2 s later (not 10 minutes).
                        "FERRY_DUPLICATE_DEFER", "2"))
                .build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
        if (dynamoDb != null) {
            dynamoDb.close();
        }
    }

    @Test
    void aRunWhoseOutcomeCannotBeWritten_leavesItsMessageUnsettled_andTheJobRunsAgainOnceTheTableIsBack() {
        String jobId = api.submit("{\"type\":\"echo\",\"input\":{\"pace\":\"slow\",\"n\":\"outage\"}}").jobId();
        await().atMost(WAIT).until(() -> Queues.runs(ledger, jobId) == 1);
        // From the job's first second on, every update the function makes fails (a 500, before it reaches the
        // table): no heartbeat, no outcome. The run cannot settle its message, so it is answered as a batch
        // item failure and stays in the queue, out of sight until its lease's visibility runs out.
        FaultRule failing = dynamoDb.add(FaultRule.on("UpdateItem").then(Fault.serverErrorBefore(500)));
        try {
            await().atMost(WAIT).until(() -> dynamoDb.injected(FaultKind.SERVER_ERROR, "UpdateItem") > 0);
            // Beyond the run (4 s) and its outcome's tries (a lease: 10 s locally).
            await().pollDelay(Duration.ofSeconds(16)).atMost(WAIT).until(() -> true);
            assertEquals(1, Queues.depth(stack.sqs(), stack.pool(LIGHT).queueUrl()), "the message is kept");
            assertEquals("RUNNING", api.get(jobId).body().get("status").asText(), "its outcome was never written");
        } finally {
            dynamoDb.remove(failing);
        }
        JsonNode done = api.awaitStatus(jobId, "SUCCEEDED", WAIT);
        assertEquals(2, Queues.runs(ledger, jobId), "run again: its first result was never recorded");
        assertEquals(2, done.get("attempts").asInt(), done.toString());
        assertEquals("outage", done.at("/result/n").asText());
        await().atMost(WAIT).until(() -> Queues.depth(stack.sqs(), stack.pool(LIGHT).queueUrl()) == 0);
        assertEquals(0, Queues.depth(stack.sqs(), stack.pool(LIGHT).deadLetterQueueUrl()));
    }

    @Test
    void theLambdaPool_isTheTemplatesOwn_andHasNoWorkersNorLane() {
        LocalStack.LocalPool light = stack.pool(LIGHT);
        assertEquals(java.util.Optional.of("LightPoolFunction"), light.function());
        assertFalse(light.workers());
        assertTrue(light.priorityQueueUrl().isEmpty());

        Api.Response high = api.submit("{\"type\":\"echo\",\"priority\":\"high\",\"input\":{}}");
        assertEquals(400, high.status(), high.raw().body());
        assertTrue(high.raw().body().contains("high-priority lane"), high.raw().body());
    }

    @Test
    void aJobDeliveredFourTimes_runsOnceOnTheFunction_andEveryCopyIsDeleted() {
        // The function busy with a slow job, so that the next invocation's batch holds the job's four
        // copies at once: one claims it, the other three find it running and are answered as batch
        // item failures, put off; they come back once it has SUCCEEDED and are deleted unrun.
        String queue = stack.pool(LIGHT).queueUrl();
        String slow = api.submit("{\"type\":\"echo\",\"input\":{\"pace\":\"slow\"}}").jobId();
        await().atMost(WAIT).until(() -> Queues.runs(ledger, slow) == 1);
        Api.Response accepted = api.submit("{\"type\":\"echo\",\"input\":{\"hello\":\"lambda\"}}");
        assertEquals(202, accepted.status(), accepted.raw().body());
        assertEquals(LIGHT, accepted.body().get("pool").asText(), accepted.raw().body());
        String jobId = accepted.jobId();
        // SQS delivers at least once: three more copies of the job's message, as a duplicate send or a
        // redelivery would make them, beside the one the API sent.
        String body = new JobMessage(jobId, "echo", Json.parse("{\"hello\":\"lambda\"}"), null).toJson();
        for (int i = 0; i < 3; i++) {
            stack.sqs().sendMessage(r -> r.queueUrl(queue).messageBody(body));
        }

        JsonNode done = api.awaitStatus(jobId, "SUCCEEDED", WAIT);
        assertEquals("lambda", done.at("/result/hello").asText(), done.toString());
        assertEquals(1, done.get("attempts").asInt(), done.toString());
        assertEquals(1, done.get("history").size(), done.toString());
        assertTrue(done.at("/history/0/worker").asText().startsWith("lambda-"), done.toString());

        // Every copy is deleted unrun (put off while the job ran, then found SUCCEEDED), none dead-lettered.
        await().atMost(WAIT).until(() -> Queues.depth(stack.sqs(), queue) == 0);
        assertEquals(1, Queues.runs(ledger, jobId), "runs of " + jobId);
        assertEquals("SUCCEEDED", api.get(slow).body().get("status").asText());
        assertEquals(0, Queues.depth(stack.sqs(), stack.pool(LIGHT).deadLetterQueueUrl()));
    }

    @Test
    void aFailingJob_spendsItsAttempts_landsInThePoolsDeadLetterQueue_andItsRedriveRunsItAgain() throws Exception {
        String jobId = api.submit("{\"type\":\"echo\",\"input\":{\"say\":\"boom\"}}").jobId();
        JsonNode failed = api.awaitStatus(jobId, "FAILED", WAIT);
        int budget = stack.maxReceiveCount();
        assertEquals(budget, failed.get("attempts").asInt(), failed.toString());
        assertTrue(failed.get("error").asText().contains("boom"), failed.toString());
        List<String> outcomes = java.util.stream.StreamSupport.stream(failed.get("history").spliterator(), false)
                .map(entry -> entry.get("outcome").asText()).toList();
        assertEquals("failed", outcomes.get(outcomes.size() - 1), failed.toString());
        assertTrue(outcomes.subList(0, outcomes.size() - 1).stream().allMatch("retrying"::equals), failed.toString());
        assertEquals(budget, Queues.runs(ledger, jobId), "one run an attempt");
        String deadLetters = stack.pool(LIGHT).deadLetterQueueUrl();
        await().atMost(WAIT).until(() -> Queues.depth(stack.sqs(), deadLetters) == 1);

        Files.createFile(dir.resolve("fixed"));
        HttpResponse<String> redrive = Api.admin(stack, "POST", "redrive?pool=" + LIGHT);
        assertEquals(202, redrive.statusCode(), redrive.body());
        assertEquals(1, Json.parse(redrive.body()).get("requeuedJobs").asInt(), redrive.body());
        JsonNode done = api.awaitRedriven(jobId, "SUCCEEDED", WAIT);
        assertEquals("boom", done.at("/result/say").asText(), done.toString());
        await().atMost(WAIT).until(() -> Queues.depth(stack.sqs(), deadLetters) == 0);
    }

}
