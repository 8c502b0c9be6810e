package dev.ferry.local;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The admin page's history data through HTTP on the local stack, from real jobs: sample jobs that
 * sleep, and some that fail every attempt. The counts are exact; every run-time percentile is one
 * of the jobs' actual final-attempt run times (nearest-rank never makes a value up), the waits lie
 * within what the jobs actually waited, and p50 &le; p90 &le; p99 in every bucket.
 */
class HistoryIT {

    private static final Duration FINISH = Duration.ofSeconds(60);
    private static LocalStack stack;
    private static Api api;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(1).workerSlots(2)
                .environmentOverrides(Map.of("FERRY_WAIT_SECONDS", "1")).build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    private HttpResponse<String> get(String path, boolean withToken) {
        HttpRequest.Builder request = HttpRequest.newBuilder(stack.apiEndpoint().resolve(path)).GET();
        if (withToken) {
            request.header("Authorization", "Bearer " + stack.adminToken());
        }
        try {
            return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private JsonNode history(String query) {
        HttpResponse<String> response = get("/admin/api/history?" + query, true);
        assertEquals(200, response.statusCode(), response.body());
        return Json.parse(response.body());
    }

    @Test
    void history_countsRealJobs_andItsPercentilesAreTheirOwnTimes() {
        List<String> succeeding = new ArrayList<>();
        for (int sleepMs : new int[] {150, 300, 450, 600}) {
            succeeding.add(api.submit("{\"type\":\"sample\",\"input\":{\"sleepMs\":" + sleepMs + "}}").jobId());
        }
        List<String> failing = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            failing.add(api.submit("{\"type\":\"sample\",\"input\":{\"sleepMs\":100,\"failTimes\":"
                    + stack.maxReceiveCount() + "}}").jobId());
        }
        List<JsonNode> jobs = new ArrayList<>();
        succeeding.forEach(id -> jobs.add(api.awaitStatus(id, "SUCCEEDED", FINISH)));
        failing.forEach(id -> jobs.add(api.awaitStatus(id, "FAILED", FINISH)));

        // The indexes follow the table eventually: ask until they hold every finish.
        JsonNode chart = await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200))
                .until(() -> history("window=1h"), body -> sum(body.get("succeeded")) == 4 && sum(body.get("failed")) == 2);

        assertEquals(6, sum(chart.get("submitted")), chart.toString());
        assertEquals(0, sum(chart.get("cancelled")));
        assertEquals(60, chart.get("t").size());
        assertEquals("[\"sample\"]", chart.get("types").toString());
        assertEquals(6, chart.get("read").get("jobs").asInt());
        assertEquals(6, chart.get("read").get("timed").asInt());

        // What the jobs really took, from their own records.
        List<Double> runTimes = new ArrayList<>();
        double longestWait = 0;
        for (JsonNode job : jobs) {
            JsonNode history = job.get("history");
            JsonNode last = history.get(history.size() - 1);
            runTimes.add(seconds(last.get("startedAt"), last.get("endedAt")));
            longestWait = Math.max(longestWait, seconds(job.get("createdAt"), history.get(0).get("startedAt")));
        }
        int runBuckets = 0;
        for (int i = 0; i < chart.get("t").size(); i++) {
            JsonNode run = chart.get("run");
            if (run.get("p50").get(i).isNull()) {
                assertTrue(run.get("p99").get(i).isNull());
                continue;
            }
            runBuckets++;
            double p50 = run.get("p50").get(i).asDouble(), p90 = run.get("p90").get(i).asDouble(),
                    p99 = run.get("p99").get(i).asDouble();
            assertTrue(p50 <= p90 && p90 <= p99, "ordered: " + p50 + ", " + p90 + ", " + p99);
            for (double value : new double[] {p50, p90, p99}) {
                assertTrue(runTimes.contains(value), value + " s is one of the jobs' run times " + runTimes);
            }
            JsonNode wait = chart.get("wait");
            if (!wait.get("p50").get(i).isNull()) {
                double w50 = wait.get("p50").get(i).asDouble(), w99 = wait.get("p99").get(i).asDouble();
                assertTrue(0 <= w50 && w50 <= wait.get("p90").get(i).asDouble() && wait.get("p90").get(i).asDouble() <= w99
                        && w99 <= longestWait, "waits " + w50 + " .. " + w99 + " within 0 .. " + longestWait);
            }
        }
        assertTrue(runBuckets >= 1, "some bucket has run times: " + chart);
        assertTrue(runTimes.stream().filter(t -> t >= 0.15).count() >= 4, "the sleeps show: " + runTimes);
        System.out.printf("history of 6 jobs, 1 h window: %.1f read capacity units (DynamoDB Local's count)%n",
                chart.get("read").get("readCapacityUnits").asDouble());

        // One type, and a type without jobs.
        assertEquals(6, sum(history("window=24h&type=sample").get("submitted")));
        JsonNode none = history("window=7d&type=nothing-of-this-type");
        assertEquals(0, sum(none.get("submitted")));
        assertEquals(168, none.get("t").size());
        assertTrue(none.get("run").get("p50").get(167).isNull());
    }

    @Test
    void badParameters_are400NamingThem_andTheLibraryIsServedAsThePageAllowsIt() {
        HttpResponse<String> window = get("/admin/api/history?window=1y", true);
        assertEquals(400, window.statusCode());
        assertTrue(Json.parse(window.body()).get("error").asText().contains("\"window\""), window.body());
        HttpResponse<String> type = get("/admin/api/history?type=%2Fnot%2Fa%2Ftype", true);
        assertEquals(400, type.statusCode());
        assertTrue(Json.parse(type.body()).get("error").asText().contains("\"type\""), type.body());
        assertEquals(401, get("/admin/api/history", false).statusCode());

        HttpResponse<String> page = get("/admin", false);
        String csp = page.headers().firstValue("Content-Security-Policy").orElseThrow();
        java.util.regex.Matcher script = java.util.regex.Pattern
                .compile("src: \"(assets/uplot-[0-9.]+\\.min\\.js)\", integrity: \"(sha384-[^\"]+)\"").matcher(page.body());
        assertTrue(script.find(), "the page names the library and its integrity");
        assertTrue(csp.contains("'" + script.group(2) + "'"), csp);
        HttpResponse<String> library = get("/admin/" + script.group(1), false);
        assertEquals(200, library.statusCode());
        assertTrue(library.headers().firstValue("Cache-Control").orElse("").contains("max-age=31536000"));
        assertEquals(script.group(2), "sha384-" + java.util.Base64.getEncoder().encodeToString(sha384(library.body())));
    }

    private static byte[] sha384(String text) {
        try {
            return java.security.MessageDigest.getInstance("SHA-384").digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static double seconds(JsonNode from, JsonNode to) {
        return Duration.between(Instant.parse(from.asText()), Instant.parse(to.asText())).toMillis() / 1000.0;
    }

    private static int sum(JsonNode counts) {
        int sum = 0;
        for (JsonNode count : counts) {
            sum += count.asInt();
        }
        return sum;
    }
}
