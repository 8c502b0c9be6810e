package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Job;
import dev.ferry.core.JobStatus;
import dev.ferry.core.Json;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The listing's parameters, its answer's shape, and the errors a client can make or meet. */
class ListJobsHandlerTest {

    private static final Instant T0 = Instant.parse("2026-11-22T10:00:00Z");
    private final InMemoryJobStore store = new InMemoryJobStore();
    private final InMemoryJobQueries queries = new InMemoryJobQueries(store);
    private final ListJobsHandler handler = new ListJobsHandler(new JobListing(queries, new ListCursor("key")));

    private void job(int n, JobStatus status, String type) {
        String id = String.format("01JD3N3Y3ZX2W0K7Q8M9P4R%03d", n);
        store.jobs.put(id, Job.builder().jobId(id).type(type).input("{\"secret\":1}").result("{\"r\":1}")
                .status(status).attempts(1).createdAt(T0.plusSeconds(n)).updatedAt(T0.plusSeconds(n))
                .error(status == JobStatus.FAILED ? "x".repeat(500) : null).build());
    }

    private APIGatewayProxyResponseEvent call(Map<String, List<String>> query) {
        Map<String, String> single = new LinkedHashMap<>();
        query.forEach((name, values) -> single.put(name, values.get(values.size() - 1)));
        return handler.handleRequest(new APIGatewayProxyRequestEvent().withHttpMethod("GET").withPath("/jobs")
                .withQueryStringParameters(query.isEmpty() ? null : single)
                .withMultiValueQueryStringParameters(query.isEmpty() ? null : query), null);
    }

    private APIGatewayProxyResponseEvent call(String... nameValues) {
        Map<String, List<String>> query = new LinkedHashMap<>();
        for (int i = 0; i < nameValues.length; i += 2) {
            query.computeIfAbsent(nameValues[i], n -> new ArrayList<>()).add(nameValues[i + 1]);
        }
        return call(query);
    }

    private static List<String> ids(APIGatewayProxyResponseEvent response) {
        List<String> ids = new ArrayList<>();
        Json.parse(response.getBody()).get("jobs").forEach(j -> ids.add(j.get("jobId").asText().substring(23)));
        return ids;
    }

    @Test
    void noParameters_listTwentyNewestFirst_asSummaries() {
        for (int n = 0; n < 25; n++) {
            job(n, n % 2 == 0 ? JobStatus.SUCCEEDED : JobStatus.FAILED, "sd");
        }

        APIGatewayProxyResponseEvent response = call();

        assertEquals(200, response.getStatusCode());
        assertEquals("no-store", response.getHeaders().get("Cache-Control"));
        JsonNode body = Json.parse(response.getBody());
        assertEquals(20, body.get("jobs").size());
        assertEquals("024", ids(response).get(0));
        assertTrue(body.get("nextCursor").isTextual());
        JsonNode failed = body.get("jobs").get(1); // 023, failed
        assertEquals(List.of("jobId", "type", "status", "attempts", "createdAt", "updatedAt", "error"),
                iterable(failed.fieldNames()));
        assertEquals(JobView.SUMMARY_ERROR_CHARS, failed.get("error").asText().length(), "an error cut short");
        assertFalse(body.toString().contains("secret"), "no input in a listing");
    }

    private static List<String> iterable(java.util.Iterator<String> names) {
        List<String> list = new ArrayList<>();
        names.forEachRemaining(list::add);
        return list;
    }

    @Test
    void theCursor_continuesTheSameListing_toItsEnd() {
        for (int n = 0; n < 5; n++) {
            job(n, JobStatus.FAILED, n < 3 ? "a" : "b");
        }
        APIGatewayProxyResponseEvent first = call("status", "FAILED", "type", "a", "limit", "2");
        String cursor = Json.parse(first.getBody()).get("nextCursor").asText();

        APIGatewayProxyResponseEvent second = call("status", "FAILED", "type", "a", "limit", "2", "cursor", cursor);

        assertEquals(List.of("002", "001"), ids(first));
        assertEquals(List.of("000"), ids(second));
        assertTrue(Json.parse(second.getBody()).get("nextCursor").isNull());
        APIGatewayProxyResponseEvent other = call("status", "FAILED", "type", "b", "cursor", cursor);
        assertEquals(400, other.getStatusCode());
        assertTrue(Json.parse(other.getBody()).get("error").asText().contains("another listing"));
    }

    @Test
    void eachMistake_is400NamingItsParameter() {
        Map<String[], String> cases = new LinkedHashMap<>();
        cases.put(new String[] {"status", "DONE"}, "\"status\"");
        cases.put(new String[] {"limit", "0"}, "\"limit\"");
        cases.put(new String[] {"limit", "101"}, "\"limit\"");
        cases.put(new String[] {"limit", "99999999999"}, "\"limit\"");
        cases.put(new String[] {"limit", "-1"}, "\"limit\"");
        cases.put(new String[] {"type", "a/b"}, "\"type\"");
        cases.put(new String[] {"statsu", "FAILED"}, "\"statsu\"");
        cases.put(new String[] {"cursor", "e30.e30"}, "\"cursor\"");
        cases.put(new String[] {"status", "FAILED", "status", "QUEUED"}, "given 2 times");
        cases.forEach((query, named) -> {
            APIGatewayProxyResponseEvent response = call(query);
            assertEquals(400, response.getStatusCode(), String.join("=", query));
            assertTrue(Json.parse(response.getBody()).get("error").asText().contains(named), response.getBody());
        });
        assertEquals(200, call("status", "", "type", "", "limit", "100").getStatusCode(), "empty values: no filter");
    }

    @Test
    void anIndexThatCannotBeRead_is503WithRetryAfter() {
        queries.unavailable = true;

        APIGatewayProxyResponseEvent response = call();

        assertEquals(503, response.getStatusCode());
        assertTrue(response.getHeaders().containsKey("Retry-After"));
    }
}
