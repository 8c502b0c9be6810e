package dev.ferry.local;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /jobs} through HTTP on the local stack: newest first, page by page with opaque cursors
 * through every job of a type, by status, both, or none; every mistake a 400 naming the parameter,
 * a changed or foreign cursor included. (The table's indexes answer; the listing's role may only
 * query them: TemplateAgreementTest.)
 */
class ListJobsIT {

    private static final Duration FINISH = Duration.ofSeconds(60);
    /** Indexes follow their table within a moment (at once locally; within about a second in AWS). */
    private static final Duration INDEXED = Duration.ofSeconds(10);
    private static LocalStack stack;
    private static Api api;

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(1).workerSlots(2)
                .environmentOverrides(Map.of(
                        "FERRY_COMMAND_PAGED", "cat",
                        "FERRY_COMMAND_DONE", "cat",
                        // Exit 65: "the input was wrong", FAILED at once without another attempt.
                        "FERRY_COMMAND_BROKEN", "cat >/dev/null; echo 'no such prompt' >&2; exit 65"))
                .build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    private static List<String> ids(JsonNode page) {
        List<String> ids = new ArrayList<>();
        page.get("jobs").forEach(job -> ids.add(job.get("jobId").asText()));
        return ids;
    }

    private static String encode(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8);
    }

    @Test
    void pages_newestFirst_throughEveryJobOfAType() {
        List<String> submitted = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            submitted.add(api.submit("{\"type\":\"paged\",\"input\":{\"n\":" + i + "}}").jobId());
        }
        for (String jobId : submitted) {
            api.awaitStatus(jobId, "SUCCEEDED", FINISH);
        }
        await().atMost(INDEXED).until(() -> ids(api.list("type=paged&status=SUCCEEDED&limit=100").body()).size() == 7);

        List<String> listed = new ArrayList<>();
        List<Integer> sizes = new ArrayList<>();
        String cursor = null;
        do {
            Api.Response page = api.list("type=paged&limit=3" + (cursor == null ? "" : "&cursor=" + encode(cursor)));
            assertEquals(200, page.status(), page.body().toString());
            sizes.add(page.body().get("jobs").size());
            listed.addAll(ids(page.body()));
            cursor = page.body().get("nextCursor").isNull() ? null : page.body().get("nextCursor").asText();
        } while (cursor != null);

        assertEquals(List.of(3, 3, 1), sizes);
        List<String> newestFirst = new ArrayList<>(submitted);
        java.util.Collections.reverse(newestFirst);
        assertEquals(newestFirst, listed, "newest first, each job once");
    }

    @Test
    void filters_byStatus_byTypeAndStatus_orNone_showSummaries() {
        String done = api.submit("{\"type\":\"done\",\"input\":{\"secret\":\"not in a listing\"}}").jobId();
        api.awaitStatus(done, "SUCCEEDED", FINISH);
        String broken = api.submit("{\"type\":\"broken\",\"input\":{}}").jobId();
        api.awaitStatus(broken, "FAILED", FINISH);

        await().atMost(INDEXED).until(() -> ids(api.list("status=FAILED&type=broken").body()).contains(broken));
        JsonNode failed = api.list("status=FAILED&limit=100").body();
        assertTrue(ids(failed).contains(broken) && !ids(failed).contains(done), failed.toString());
        JsonNode succeeded = api.list("status=succeeded&type=done").body();
        assertEquals(List.of(done), ids(succeeded), "a status in any case; only that type");
        JsonNode all = api.list("limit=100").body();
        List<String> everyone = ids(all);
        assertTrue(everyone.indexOf(broken) >= 0 && everyone.indexOf(broken) < everyone.indexOf(done),
                "newest first: " + everyone);

        JsonNode summary = failed.get("jobs").get(ids(failed).indexOf(broken));
        assertEquals("broken", summary.get("type").asText());
        assertEquals("FAILED", summary.get("status").asText());
        assertEquals(1, summary.get("attempts").asInt());
        assertTrue(summary.get("error").asText().contains("no such prompt"), summary.toString());
        for (String field : List.of("createdAt", "updatedAt", "finishedAt")) {
            assertTrue(summary.hasNonNull(field), field + " in " + summary);
        }
        JsonNode doneSummary = succeeded.get("jobs").get(0);
        assertFalse(doneSummary.has("input") || doneSummary.has("result") || doneSummary.has("history"),
                "a summary, not the job: " + doneSummary);
        assertTrue(api.list("type=nothing-of-this-type").body().get("jobs").isEmpty());
        assertTrue(api.list("type=nothing-of-this-type").body().get("nextCursor").isNull());
    }

    @Test
    void mistakes_are400sNamingTheParameter_andAChangedOrForeignCursorIsOne() {
        for (int i = 0; i < 2; i++) {
            api.awaitStatus(api.submit("{\"type\":\"done\",\"input\":{\"i\":" + i + "}}").jobId(), "SUCCEEDED", FINISH);
        }
        await().atMost(INDEXED).until(() -> ids(api.list("type=done&limit=100").body()).size() >= 2);
        Map<String, String> refused = new java.util.LinkedHashMap<>();
        refused.put("status=DONE", "\"status\"");
        refused.put("limit=0", "\"limit\"");
        refused.put("limit=101", "\"limit\"");
        refused.put("limit=ten", "\"limit\"");
        refused.put("stauts=FAILED", "\"stauts\"");
        refused.put("type=a%20b", "\"type\"");
        refused.put("limit=1&limit=2", "\"limit\"");
        refused.put("cursor=abc", "\"cursor\"");
        String cursor = api.list("type=done&limit=1").body().get("nextCursor").asText();
        int dot = cursor.indexOf('.');
        String payload = new String(Base64.getUrlDecoder().decode(cursor.substring(0, dot)), StandardCharsets.UTF_8);
        String changedPayload = Base64.getUrlEncoder().withoutPadding().encodeToString(
                payload.replace("type=done", "type=paged").getBytes(StandardCharsets.UTF_8)) + cursor.substring(dot);
        refused.put("type=paged&cursor=" + encode(changedPayload), "changed");
        String changedSignature = cursor.substring(0, cursor.length() - 2)
                + (cursor.endsWith("AA") ? "BB" : "AA");
        refused.put("type=done&cursor=" + encode(changedSignature), "changed");
        refused.put("type=broken&cursor=" + encode(cursor), "another listing");
        refused.put("status=SUCCEEDED&type=done&cursor=" + encode(cursor), "another listing");
        refused.put("cursor=" + encode(cursor), "another listing");

        refused.forEach((query, named) -> {
            Api.Response response = api.list(query);
            assertEquals(400, response.status(), query + ": " + response.body());
            assertTrue(response.error().contains(named), query + ": " + response.error());
            assertFalse(response.error().contains("Exception"), response.error());
        });
        assertEquals(200, api.list("type=done&limit=1&cursor=" + encode(cursor)).status(), "the cursor as it came");
    }
}
