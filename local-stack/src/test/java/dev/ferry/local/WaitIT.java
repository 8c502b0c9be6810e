package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.JobIds;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code Prefer: wait=<seconds>} through HTTP on the local stack: a submit or a read that waits is
 * answered with the finished job (its result and files) or, when the time runs out, with the job as
 * it is; {@code Preference-Applied} says how long was granted (60 s at most locally); an invalid
 * wait is ignored, or a 400 under {@code handling=strict}, which leaves nothing behind.
 *
 * <p>The stack has no worker of its own: jobs stay QUEUED unless a test starts one.
 */
class WaitIT {

    private static LocalStack stack;
    private static Api api;

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0).build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    private static String applied(Api.Response response) {
        return response.raw().headers().firstValue("Preference-Applied").orElse(null);
    }

    private static List<String[]> prefer(String... values) {
        return java.util.Arrays.stream(values).map(value -> new String[] {"Prefer", value}).toList();
    }

    @Test
    void aSubmitThatWaits_isAnsweredWithTheFinishedJob_itsResultAndFiles() {
        try (var worker = stack.startWorker(Map.of())) {
            Api.Response response = api.submit("{\"type\":\"sample\",\"input\":{\"sleepMs\":300,\"output\":\"waited\","
                    + "\"image\":{\"width\":32,\"height\":32}}}", null, Map.of("Prefer", "wait=50"));

            assertEquals(202, response.status(), "accepted, as without the wait: " + response.body());
            assertEquals("wait=50", applied(response));
            JsonNode job = response.body();
            assertEquals("SUCCEEDED", job.get("status").asText());
            assertEquals("waited", job.get("result").get("output").asText());
            assertEquals("image.png", job.get("files").get(0).get("name").asText());
            assertTrue(api.download(job.get("files").get(0).get("url").asText()).length > 0, "a URL that works");
        }
    }

    @Test
    void aReadThatWaits_isAnsweredWhenTheJobFinishes_andAFinishedJobAtOnce() {
        String jobId = api.submit("{\"type\":\"sample\",\"input\":{\"sleepMs\":500,\"output\":\"later\"}}").jobId();
        try (var worker = stack.startWorker(Map.of())) {
            Api.Response response = api.get(jobId, prefer("wait=50"));

            assertEquals(200, response.status());
            assertEquals("SUCCEEDED", response.body().get("status").asText(), response.body().toString());
            assertEquals("later", response.body().get("result").get("output").asText());
            assertEquals("wait=50", applied(response));
        }
        Api.Response longer = api.get(jobId, prefer("wait=3600"));

        assertEquals("wait=60", applied(longer), "longer than allowed: granted as 60 s, and said so");
        assertEquals("SUCCEEDED", longer.body().get("status").asText());
    }

    @Test
    void whenTheTimeRunsOut_theJobIsShownAsItIs() {
        String jobId = api.submit("{\"type\":\"sample\",\"input\":{\"output\":\"nobody runs this\"}}").jobId();

        Api.Response response = api.get(jobId, prefer("respond-async", "wait=1"));

        assertEquals(200, response.status());
        assertEquals("QUEUED", response.body().get("status").asText());
        assertEquals("wait=1", applied(response), "two Prefer headers are one list");
        assertTrue(response.body().get("queue").get("estimate").asBoolean(), response.body().toString());
    }

    @Test
    void anInvalidWait_isIgnored_andUnderHandlingStrict_is400_thatLeavesNothingBehind() {
        String jobId = api.submit("{\"type\":\"sample\",\"input\":{\"output\":\"nobody runs this either\"}}").jobId();

        Api.Response ignored = api.get(jobId, prefer("wait=soon"));
        Api.Response strict = api.get(jobId, prefer("handling=strict, wait=soon"));
        Api.Response strictSubmit = api.submit("{\"type\":\"sample\",\"input\":{}}", "strict-wait-1",
                Map.of("Prefer", "handling=strict, wait=0"));

        assertEquals(200, ignored.status());
        assertEquals(null, applied(ignored));
        assertEquals(400, strict.status());
        assertTrue(strict.error().startsWith("header Prefer: wait=soon"), strict.error());
        assertEquals(400, strictSubmit.status(), strictSubmit.body().toString());
        assertEquals(404, api.get(JobIds.forIdempotencyKey("", "strict-wait-1")).status(), "nothing was recorded");
        assertFalse(strict.error().contains("Exception"));
    }
}
