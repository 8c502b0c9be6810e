package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.AttemptRecord;
import dev.ferry.core.Job;
import dev.ferry.core.JobStatus;
import dev.ferry.core.JobTable;
import dev.ferry.core.Json;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchGetItemRequest;
import software.amazon.awssdk.services.dynamodb.model.BatchGetItemResponse;
import software.amazon.awssdk.services.dynamodb.model.ConsumedCapacity;
import software.amazon.awssdk.services.dynamodb.model.KeysAndAttributes;
import software.amazon.awssdk.services.dynamodb.model.QueryRequest;
import software.amazon.awssdk.services.dynamodb.model.QueryResponse;

/**
 * {@code GET /admin/api/history}: the requests it sends DynamoDB (an index query over the window
 * and its lookback, bounded; batch reads of the started jobs' histories, unprocessed keys asked
 * again), the answer it makes of them, and its 400s. The real DynamoDB side runs in HistoryIT.
 */
class AdminHistoryTest {

    private static final String TOKEN = "s3cr3t-admin-token-0123456789";
    private static final Instant NOW = Instant.parse("2026-12-01T10:30:20Z");
    private static final Instant START = Instant.parse("2026-12-01T09:31:00Z"); // 1 h window

    /** Answers queries from {@code items} in pages of {@code page}, and batch reads from {@code records}. */
    private static final class FakeDynamoDb implements DynamoDbClient {
        final List<QueryRequest> queries = new ArrayList<>();
        final List<BatchGetItemRequest> batchGets = new ArrayList<>();
        final List<Map<String, AttributeValue>> items = new ArrayList<>();
        final Map<String, Map<String, AttributeValue>> records = new HashMap<>();
        int page = 1000;
        boolean unprocessedOnce = true;

        @Override
        public QueryResponse query(QueryRequest request) {
            queries.add(request);
            int from = request.exclusiveStartKey() == null || request.exclusiveStartKey().isEmpty() ? 0
                    : Integer.parseInt(request.exclusiveStartKey().get("at").n());
            int to = Math.min(items.size(), from + Math.min(page, request.limit()));
            QueryResponse.Builder response = QueryResponse.builder().items(items.subList(from, to))
                    .consumedCapacity(ConsumedCapacity.builder().capacityUnits(0.5).build());
            if (to < items.size()) {
                response.lastEvaluatedKey(Map.of("at", AttributeValue.fromN(Integer.toString(to))));
            }
            return response.build();
        }

        @Override
        public BatchGetItemResponse batchGetItem(BatchGetItemRequest request) {
            batchGets.add(request);
            KeysAndAttributes asked = request.requestItems().get("jobs");
            List<Map<String, AttributeValue>> found = new ArrayList<>();
            List<Map<String, AttributeValue>> unprocessed = new ArrayList<>();
            for (Map<String, AttributeValue> key : asked.keys()) {
                if (unprocessedOnce && unprocessed.isEmpty() && asked.keys().size() > 1) {
                    unprocessed.add(key); // throttled: handed back once
                    continue;
                }
                Map<String, AttributeValue> record = records.get(key.get(JobTable.JOB_ID).s());
                if (record != null) {
                    found.add(record);
                }
            }
            unprocessedOnce = false;
            BatchGetItemResponse.Builder response = BatchGetItemResponse.builder().responses(Map.of("jobs", found))
                    .consumedCapacity(ConsumedCapacity.builder().capacityUnits(1.0).build());
            if (!unprocessed.isEmpty()) {
                response.unprocessedKeys(Map.of("jobs", asked.toBuilder().keys(unprocessed).build()));
            }
            return response.build();
        }

        @Override
        public String serviceName() {
            return "dynamodb";
        }

        @Override
        public void close() {
        }
    }

    private final FakeDynamoDb dynamoDb = new FakeDynamoDb();

    private static Instant at(int minute, int second) {
        return START.plusSeconds(minute * 60L + second);
    }

    /** A job of type "render" and its record: summary in the index, history in the table. */
    private void job(String id, JobStatus status, Instant created, Instant finished, List<AttemptRecord> history,
                     Instant claimedAt) {
        Job job = Job.builder().jobId(id).type("render").status(status).attempts(history.isEmpty() && claimedAt == null ? 0 : 1)
                .createdAt(created).enqueuedAt(created).updatedAt(created).finishedAt(finished).history(history)
                .claimedAt(claimedAt).input("{}").build();
        Map<String, AttributeValue> item = JobTable.SCHEMA.itemToMap(job, true);
        dynamoDb.items.add(item);
        dynamoDb.records.put(id, item);
    }

    private static AttemptRecord attempt(Instant started, Instant ended, String outcome) {
        return new AttemptRecord(1, "w-1", 0, started, ended, outcome, null, null);
    }

    private AdminHandler handler(int maxJobs, int maxTimed) {
        return new AdminHandler(AdminServices.of(new RecordingSqs(new ArrayList<>()), new InMemoryJobStore()),
                new AdminToken(TOKEN), Optional.empty(), Optional.of(new AdminHistory(
                        new JobHistoryReader(dynamoDb, "jobs", maxJobs, maxTimed), Clock.fixed(NOW, ZoneOffset.UTC))), Optional.empty());
    }

    private static APIGatewayProxyRequestEvent get(Map<String, String> query, String token) {
        APIGatewayProxyRequestEvent event = new APIGatewayProxyRequestEvent().withHttpMethod("GET")
                .withPath("/admin/api/history").withPathParameters(Map.of("proxy", "api/history"))
                .withQueryStringParameters(query);
        return token == null ? event : event.withHeaders(Map.of("Authorization", "Bearer " + token));
    }

    private static String id(int n) {
        return String.format("01JD3N3Y3ZX2W0K7Q8M9P4R5%02d", n);
    }

    @Test
    void history_queriesTheListingIndexOverTheWindowAndItsLookback_readsStartedJobsHistories_andCharts() {
        // Newest first, as the index answers.
        job(id(3), JobStatus.QUEUED, at(59, 0), null, List.of(), null);
        job(id(2), JobStatus.FAILED, at(10, 0), at(12, 30),
                List.of(attempt(at(10, 4), at(12, 30), AttemptRecord.FAILED)), null);
        job(id(1), JobStatus.SUCCEEDED, at(10, 0), at(11, 0),
                List.of(attempt(at(10, 2), at(10, 30), AttemptRecord.RETRYING),
                        attempt(at(10, 40), at(11, 0), AttemptRecord.SUCCEEDED)), null);
        job(id(0), JobStatus.RUNNING, at(0, 0), null, List.of(), at(0, 30));

        APIGatewayProxyResponseEvent response = handler(100, 100).handleRequest(get(Map.of("window", "1h"), TOKEN), null);

        assertEquals(200, response.getStatusCode(), response.getBody());
        QueryRequest query = dynamoDb.queries.get(0);
        assertEquals("listing-createdAt", query.indexName());
        assertEquals("#pk = :pk AND #createdAt BETWEEN :from AND :to", query.keyConditionExpression());
        assertEquals("all", query.expressionAttributeValues().get(":pk").s());
        assertEquals("2026-11-30T09:31:00.000000000Z", query.expressionAttributeValues().get(":from").s(), "24 h lookback");
        assertEquals("2026-12-01T10:31:00.000000000Z", query.expressionAttributeValues().get(":to").s());
        assertFalse(query.scanIndexForward());
        assertFalse(query.projectionExpression().contains("history"), "the index holds no history");
        KeysAndAttributes batch = dynamoDb.batchGets.get(0).requestItems().get("jobs");
        assertEquals(3, batch.keys().size(), "the three started jobs, not the queued one");
        assertFalse(batch.consistentRead());
        assertEquals("#jobId, #history, #claimedAt", batch.projectionExpression());
        assertEquals(2, dynamoDb.batchGets.size(), "the throttled key asked again");

        JsonNode body = Json.parse(response.getBody());
        assertEquals("1h", body.get("window").asText());
        assertEquals(60, body.get("bucketSeconds").asInt());
        assertEquals(60, body.get("t").size());
        assertEquals(START.getEpochSecond(), body.get("t").get(0).asLong());
        assertEquals(1, body.get("submitted").get(0).asInt());
        assertEquals(2, body.get("submitted").get(10).asInt());
        assertEquals(1, body.get("submitted").get(59).asInt());
        assertEquals(1, body.get("succeeded").get(11).asInt());
        assertEquals(1, body.get("failed").get(12).asInt());
        // Waits: id(0) 30 s (its claim: first attempt still running) in bucket 0; id(1) 2 s and id(2) 4 s in bucket 10.
        assertEquals(30.0, body.get("wait").get("p50").get(0).asDouble());
        assertEquals(2.0, body.get("wait").get("p50").get(10).asDouble());
        assertEquals(4.0, body.get("wait").get("p99").get(10).asDouble());
        // Run times of the final attempt: id(1) 20 s (not its retried first), id(2) 146 s.
        assertEquals(20.0, body.get("run").get("p50").get(11).asDouble());
        assertEquals(146.0, body.get("run").get("p90").get(12).asDouble());
        assertTrue(body.get("run").get("p50").get(10).isNull());
        assertEquals("[\"render\"]", body.get("types").toString());
        JsonNode read = body.get("read");
        assertEquals(4, read.get("jobs").asInt());
        assertFalse(read.get("jobsTruncated").asBoolean());
        assertEquals(3, read.get("timed").asInt());
        assertFalse(read.get("timesTruncated").asBoolean());
        assertEquals(0.5 + 2 * 1.0, read.get("readCapacityUnits").asDouble(), "one query, two batch reads");
    }

    @Test
    void history_ofOneType_queriesTheTypeIndex_andStopsAtItsBound_sayingWhereItsJobsBegin() {
        for (int i = 9; i >= 0; i--) {
            job(id(i), JobStatus.QUEUED, at(i, 0), null, List.of(), null);
        }
        dynamoDb.page = 3;

        JsonNode body = Json.parse(handler(5, 2).handleRequest(get(Map.of("type", "render", "window", "1h"), TOKEN), null)
                .getBody());

        assertEquals("type-createdAt", dynamoDb.queries.get(0).indexName());
        assertEquals("render", dynamoDb.queries.get(0).expressionAttributeValues().get(":pk").s());
        assertEquals(List.of(5, 2), dynamoDb.queries.stream().map(QueryRequest::limit).toList(), "never past the bound");
        JsonNode read = body.get("read");
        assertEquals(5, read.get("jobs").asInt());
        assertTrue(read.get("jobsTruncated").asBoolean());
        assertEquals(at(5, 0).toString(), read.get("jobsFrom").asText());
        assertEquals(5, sum(body.get("submitted")), "the five read, of ten");
        assertTrue(dynamoDb.batchGets.isEmpty(), "none started");
    }

    @Test
    void badWindowTypeOrParameter_is400NamingIt_andNoTokenIs401() {
        AdminHandler handler = handler(10, 10);
        APIGatewayProxyResponseEvent window = handler.handleRequest(get(Map.of("window", "2h"), TOKEN), null);
        assertEquals(400, window.getStatusCode());
        assertTrue(error(window).contains("\"window\"") && error(window).contains("1h, 6h, 24h, 7d"), window.getBody());
        APIGatewayProxyResponseEvent type = handler.handleRequest(get(Map.of("type", "no spaces"), TOKEN), null);
        assertEquals(400, type.getStatusCode());
        assertTrue(error(type).contains("\"type\""), type.getBody());
        APIGatewayProxyResponseEvent unknown = handler.handleRequest(get(Map.of("from", "yesterday"), TOKEN), null);
        assertEquals(400, unknown.getStatusCode());
        assertTrue(error(unknown).contains("\"from\""), unknown.getBody());
        assertEquals(401, handler.handleRequest(get(Map.of(), null), null).getStatusCode());
        assertTrue(dynamoDb.queries.isEmpty(), "nothing read for a refused request");
    }

    @Test
    void noJobs_answersZeroCountsAndNullPercentiles_withTheDefaultWindow() {
        JsonNode body = Json.parse(handler(10, 10).handleRequest(get(null, TOKEN), null).getBody());
        assertEquals("6h", body.get("window").asText());
        assertEquals(72, body.get("t").size());
        assertEquals(0, sum(body.get("submitted")));
        assertTrue(body.get("wait").get("p99").get(71).isNull());
        assertEquals(0, body.get("types").size());
    }

    private static String error(APIGatewayProxyResponseEvent response) {
        return Json.parse(response.getBody()).get("error").asText();
    }

    private static int sum(JsonNode counts) {
        int sum = 0;
        for (JsonNode count : counts) {
            sum += count.asInt();
        }
        return sum;
    }
}
