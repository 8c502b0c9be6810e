package dev.ferry.local;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Submits as AWS makes them hard, through HTTP on the embedded stack: text SQS would refuse, a
 * form post, fifty identical submits at once, a job whose result cannot be stored, a job that says
 * "do not retry". Bad input leaves nothing behind; a failure the same attempt would repeat fails
 * the job once; fifty replays send one message.
 */
class SubmitIT {

    private static final Duration FINISH = Duration.ofSeconds(60);
    /** Prints a 250 KB JSON string: with a 200 KB input, more than a 400 KB DynamoDB item holds. */
    private static final String BIG_RESULT = "cat >/dev/null; printf '\"%250000s\"' '' | tr ' ' a";
    private static LocalStack stack;
    private static Api api;

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0)
                .environmentOverrides(Map.of("FERRY_COMMAND_BIG", BIG_RESULT)).build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    @Test
    void textSqsWouldRefuse_is400NamingTheField_andLeavesNothingBehind() {
        int before = Queues.depth(stack.sqs(), stack.queueUrl());
        int records = scanCount();
        for (String input : List.of("{\"prompt\":\"a cat \\uFFFF\"}", "{\"tags\":[\"ok\",\"\\uD800\"]}",
                "\"\\uFFFE\"")) {
            String key = "refused-" + input.length();
            Api.Response refused = api.submit("{\"type\":\"sample\",\"input\":" + input + "}", key);
            assertEquals(400, refused.status(), refused.body().toString());
            assertTrue(refused.error().startsWith("field \"input"), refused.error());
            assertTrue(!refused.error().contains("http") && !refused.error().contains("Exception"),
                    "no queue URL, no parser trace: " + refused.error());
            assertEquals(404, api.get(dev.ferry.core.JobIds.forIdempotencyKey("", key)).status());
        }
        assertEquals(before, Queues.depth(stack.sqs(), stack.queueUrl()));
        assertEquals(records, scanCount(), "no record was written");
    }

    @Test
    void aFormPost_is415_andLeavesNothingBehind() throws Exception {
        int records = scanCount();
        HttpResponse<String> form = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        stack.apiEndpoint().resolve("/jobs"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("{\"type\":\"sample\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(415, form.statusCode(), form.body());
        assertTrue(form.body().contains("Content-Type"), form.body());
        assertEquals(records, scanCount());
    }

    @Test
    void fiftyIdenticalSubmitsAtOnce_makeOneJob_andOneMessage() throws Exception {
        String body = "{\"type\":\"sample\",\"input\":{\"output\":\"once\"}}";
        ExecutorService clients = Executors.newFixedThreadPool(50);
        List<Future<Api.Response>> responses = new ArrayList<>();
        try {
            for (int i = 0; i < 50; i++) {
                responses.add(clients.submit(() -> new Api(stack.apiEndpoint()).submit(body, "fifty-at-once")));
            }
            Set<String> ids = new HashSet<>();
            List<Integer> statuses = new ArrayList<>();
            for (Future<Api.Response> response : responses) {
                Api.Response r = response.get();
                statuses.add(r.status());
                if (r.status() == 200 || r.status() == 202) {
                    ids.add(r.jobId());
                }
            }
            assertEquals(1, Collections.frequency(statuses, 202), statuses.toString());
            assertEquals(49, Collections.frequency(statuses, 200), statuses.toString());
            assertEquals(1, ids.size());
            String jobId = ids.iterator().next();
            assertEquals(1, Collections.frequency(Queues.peekJobIds(stack.sqs(), stack.queueUrl()), jobId),
                    "one message: a replay sends only when the first send may have failed, not when it races");
        } finally {
            clients.shutdownNow();
        }
    }

    @Test
    void aResultTooLargeForTheRecord_isStoredByReference_andWithoutABucketFailsTheJobOnce() {
        String input = "\"" + "i".repeat(200_000) + "\"";
        try (var worker = stack.startWorker(Map.of())) {
            String jobId = api.submit("{\"type\":\"big\",\"input\":" + input + "}").jobId();

            JsonNode done = api.awaitStatus(jobId, "SUCCEEDED", FINISH);

            assertEquals(250_002, api.download(done.get("resultUrl").asText()).length, done.toString());
        }
        // A worker with no bucket for job files: the result cannot be kept anywhere.
        try (var worker = stack.startWorker(Map.of("FERRY_BUCKET", ""))) {
            String jobId = api.submit("{\"type\":\"big\",\"input\":" + input + "}").jobId();

            JsonNode failed = api.awaitStatus(jobId, "FAILED", FINISH);

            assertEquals(1, failed.get("attempts").asInt(), "never burn GPU attempts on what cannot be stored");
            assertTrue(failed.get("error").asText().contains("too large to store"), failed.toString());
            await().atMost(FINISH).until(() -> Queues.peekJobIds(stack.sqs(), stack.deadLetterQueueUrl())
                    .contains(jobId));
        }
    }

    @Test
    void aJobThatSaysDoNotRetry_failsAtOnce_inTheDlq() {
        try (var worker = stack.startWorker(Map.of())) {
            String jobId = api.submit("{\"type\":\"sample\",\"input\":{\"failTimes\":\"twice\"}}").jobId();

            JsonNode failed = api.awaitStatus(jobId, "FAILED", FINISH);

            assertEquals(1, failed.get("attempts").asInt());
            String error = failed.get("error").asText();
            assertTrue(error.startsWith("(not retried) sample job: field \"failTimes\""), failed.toString());
            await().atMost(FINISH).until(() -> Queues.peekJobIds(stack.sqs(), stack.deadLetterQueueUrl())
                    .contains(jobId));
        }
    }

    private static int scanCount() {
        return stack.dynamoDb().scan(r -> r.tableName(stack.tableName())).count();
    }
}
