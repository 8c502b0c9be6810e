package dev.ferry.local;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.FerryEnv;
import dev.ferry.testkit.Fault;
import dev.ferry.testkit.FaultKind;
import dev.ferry.testkit.FaultRule;
import dev.ferry.testkit.HttpFaultProxy;
import dev.ferry.worker.Worker;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * AWS as it behaves and the emulators do not: every write is applied and its first response lost,
 * so the SDK retries it and the retry fails its own condition. Fault proxies sit between the API's
 * functions and the emulators, and between a worker and them; each request's first attempt loses
 * its answer (PutItem, UpdateItem, DeleteItem, SendMessage, DeleteMessage, ChangeMessageVisibility).
 * Every submit is still accepted at once, every job takes effect once with the attempts it really
 * used: a claim, an outcome, a back-off, a move to the DLQ, each recognised as its writer's own.
 */
class LostResponseIT {

    private static final Duration FINISH = Duration.ofSeconds(90);
    private static final List<String> WRITES = List.of("PutItem", "UpdateItem", "DeleteItem", "SendMessage",
            "DeleteMessage", "ChangeMessageVisibility");
    private static final List<HttpFaultProxy> PROXIES = new ArrayList<>();
    private static LocalStack stack;
    private static Api api;
    private static Worker worker;

    private static URI behindLossyProxy(String variable, URI endpoint) {
        HttpFaultProxy proxy = HttpFaultProxy.start(variable, endpoint);
        proxy.add(FaultRule.on(WRITES.toArray(String[]::new)).firstAttemptsOnly().then(Fault.loseResponse()));
        PROXIES.add(proxy);
        return proxy.endpoint();
    }

    @BeforeAll
    static void start() {
        Backends.assumePlainHttpEndpoints();
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0)
                .functionEndpoints(LostResponseIT::behindLossyProxy).build());
        api = new Api(stack.apiEndpoint());
        Map<String, String> env = new HashMap<>(stack.environment().asMap());
        for (String variable : List.of(FerryEnv.AWS_ENDPOINT_URL_SQS, FerryEnv.AWS_ENDPOINT_URL_DYNAMODB)) {
            env.put(variable, behindLossyProxy(variable, URI.create(env.get(variable))).toString());
        }
        env.put("FERRY_WORKER_ID", "lossy");
        env.put("FERRY_DUPLICATE_DEFER", "1"); // the duplicates lost responses make are looked at again soon
        worker = Worker.fromEnvironment(env);
        worker.start();
    }

    @AfterAll
    static void stop() {
        if (worker != null) {
            worker.close();
        }
        if (stack != null) {
            stack.close();
        }
        PROXIES.forEach(HttpFaultProxy::close);
    }

    @Test
    void everyWriteWhoseResponseIsLost_isRecognisedByItsWriter_andEachJobTakesEffectOnce() {
        Api.Response ok = api.submit("{\"type\":\"sample\",\"input\":{\"output\":\"once\"}}");
        Api.Response retried = api.submit("{\"type\":\"sample\",\"input\":{\"failTimes\":1,\"output\":\"twice\"}}",
                "lost-1");
        Api.Response failing = api.submit("{\"type\":\"sample\",\"input\":{\"failTimes\":99}}");
        for (Api.Response accepted : List.of(ok, retried, failing)) {
            assertEquals(202, accepted.status(), "a create whose response was lost is the caller's own: "
                    + accepted.body());
            assertEquals("QUEUED", accepted.body().get("status").asText());
        }

        JsonNode done = api.awaitStatus(ok.jobId(), "SUCCEEDED", FINISH);
        assertEquals(1, done.get("attempts").asInt(), "a claim whose response was lost is still this worker's");
        assertEquals(1, Queues.runs(stack.sampleLedger(), ok.jobId()));
        JsonNode second = api.awaitStatus(retried.jobId(), "SUCCEEDED", FINISH);
        assertEquals(2, second.get("attempts").asInt(), "one failure, one back-off, one success");
        assertEquals(2, Queues.runs(stack.sampleLedger(), retried.jobId()));
        JsonNode failed = api.awaitStatus(failing.jobId(), "FAILED", FINISH);
        assertEquals(stack.maxReceiveCount(), failed.get("attempts").asInt(), "exactly its budget, no more");
        await().atMost(FINISH).until(() -> Queues.peekJobIds(stack.sqs(), stack.deadLetterQueueUrl())
                .contains(failing.jobId()));
        // Re-sent messages (a SendMessage retried after a lost response) are duplicates: deleted unrun.
        await().atMost(FINISH).until(() -> Queues.depth(stack.sqs(), stack.queueUrl()) == 0);
        assertEquals(1, Queues.runs(stack.sampleLedger(), ok.jobId()));

        int lost = PROXIES.stream().mapToInt(p -> p.injected(FaultKind.LOSE_RESPONSE)).sum();
        assertTrue(lost > 20, "the faults were injected: " + lost);
        assertTrue(PROXIES.stream().anyMatch(p -> p.injected(FaultKind.LOSE_RESPONSE, "UpdateItem") > 0));
        assertTrue(PROXIES.stream().anyMatch(p -> p.injected(FaultKind.LOSE_RESPONSE, "PutItem") > 0));
    }

    @Test
    void aLambdaPoolsWritesWhoseResponsesAreLost_areItsOwn_andItsJobRunsOnce() {
        // The template's Lambda pool (Light, echo = cat): its function's DynamoDB and SQS calls go through the
        // lossy proxies too (the claim, the outcome, its message's visibility and delete).
        Api.Response accepted = api.submit("{\"type\":\"echo\",\"input\":{\"lost\":\"responses\"}}");
        assertEquals(202, accepted.status(), accepted.raw().body());
        assertEquals("Light", accepted.body().get("pool").asText());

        JsonNode done = api.awaitStatus(accepted.jobId(), "SUCCEEDED", FINISH);
        assertEquals("responses", done.at("/result/lost").asText(), done.toString());
        assertEquals(1, done.get("attempts").asInt(), "a claim whose response was lost is still the function's");
        assertEquals(1, done.get("history").size(), done.toString());
        assertTrue(done.at("/history/0/worker").asText().startsWith("lambda-"), done.toString());
        String light = stack.pool("Light").queueUrl();
        await().atMost(FINISH).until(() -> Queues.depth(stack.sqs(), light) == 0);
        assertEquals(0, Queues.depth(stack.sqs(), stack.pool("Light").deadLetterQueueUrl()));
    }

    @Test
    void aCancelWhoseResponsesAreLost_isAnsweredAsIfTheyArrived_andTheWorkersCancelIsRecognisedAsItsOwn() {
        Api.Response accepted = api.submit("{\"type\":\"sample\",\"input\":{\"sleepMs\":300000}}");
        api.awaitStatus(accepted.jobId(), "RUNNING", FINISH);

        // Each UpdateItem is applied and its first answer lost: the retry of the first (QUEUED -> CANCELLED)
        // finds the job RUNNING, the retry of the request finds its own request and applies nothing new.
        Api.Response cancel = api.cancel(accepted.jobId());

        assertEquals(202, cancel.status(), cancel.body().toString());
        JsonNode cancelled = api.awaitStatus(accepted.jobId(), "CANCELLED", FINISH);
        assertEquals("cancelled by the client", cancelled.get("cancelReason").asText());
        assertEquals(1, cancelled.get("history").size(), "one entry, though its write was retried: "
                + cancelled.get("history"));
        assertEquals("cancelled", cancelled.get("history").get(0).get("outcome").asText());
        assertEquals(1, cancelled.get("attempts").asInt());
        Api.Response again = api.cancel(accepted.jobId());
        assertEquals(200, again.status(), again.body().toString());
        assertEquals(cancelled.get("finishedAt"), again.body().get("finishedAt"));
        assertEquals(1, Queues.runs(stack.sampleLedger(), accepted.jobId()));
    }
}
