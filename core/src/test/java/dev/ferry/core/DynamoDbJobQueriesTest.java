package dev.ferry.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchGetItemRequest;
import software.amazon.awssdk.services.dynamodb.model.BatchGetItemResponse;
import software.amazon.awssdk.services.dynamodb.model.KeysAndAttributes;
import software.amazon.awssdk.services.dynamodb.model.QueryRequest;
import software.amazon.awssdk.services.dynamodb.model.QueryResponse;
import software.amazon.awssdk.services.dynamodb.model.Select;

/**
 * The exact requests the queries send (index, key condition, filter, order, limits), how a page
 * is cut and where the next one starts, and what a position from a client must be before it
 * becomes an {@code ExclusiveStartKey}.
 */
class DynamoDbJobQueriesTest {

    private static final Instant NOW = Instant.parse("2026-11-22T10:00:00Z");
    private static final String LIVE_FILTER = "(attribute_not_exists(#expiresAt) OR #expiresAt >= :nowSeconds)";
    private final RecordingDynamoDb dynamoDb = new RecordingDynamoDb();
    private final DynamoDbJobQueries queries = new DynamoDbJobQueries(dynamoDb, "jobs", Clock.fixed(NOW, ZoneOffset.UTC));

    private static String id(int n) {
        return String.format("01JD3N3Y3ZX2W0K7Q8M9P4R%03d", n);
    }

    /** An index item as the status index returns it: keys and summary. */
    private static Map<String, AttributeValue> item(int n, JobStatus status) {
        Map<String, AttributeValue> item = new HashMap<>();
        item.put("jobId", AttributeValue.fromS(id(n)));
        item.put("status", AttributeValue.fromS(status.name()));
        item.put("type", AttributeValue.fromS("render"));
        item.put("listing", AttributeValue.fromS("all"));
        item.put("createdAt", AttributeValue.fromS(JobTable.sortableInstant(NOW.minusSeconds(n))));
        item.put("attempts", AttributeValue.fromN("1"));
        return item;
    }

    private static Map<String, AttributeValue> keyOf(Map<String, AttributeValue> item, String partition) {
        return Map.of("jobId", item.get("jobId"), "createdAt", item.get("createdAt"), partition, item.get(partition));
    }

    /** Answers queries in turn: each a page of items and, where given, its LastEvaluatedKey. */
    private void pages(List<QueryResponse> responses) {
        Deque<QueryResponse> left = new ArrayDeque<>(responses);
        dynamoDb.onQuery = r -> left.isEmpty() ? QueryResponse.builder().build() : left.poll();
    }

    private List<QueryRequest> queriesSent() {
        return dynamoDb.requests.stream().filter(QueryRequest.class::isInstance).map(QueryRequest.class::cast).toList();
    }

    @Test
    void eachFilter_readsTheIndexThatAnswersIt_newestFirst_withoutRecordsPastTheirTtl() {
        queries.list(JobQueries.Filter.status(JobStatus.FAILED), 20, null);
        queries.list(new JobQueries.Filter(null, "render"), 20, null);
        queries.list(JobQueries.Filter.ALL, 20, null);

        List<QueryRequest> sent = queriesSent();
        assertEquals(List.of("status-createdAt", "type-createdAt", "listing-createdAt"),
                sent.stream().map(QueryRequest::indexName).toList());
        assertEquals(List.of("status", "type", "listing"),
                sent.stream().map(r -> r.expressionAttributeNames().get("#pk")).toList());
        assertEquals(List.of("FAILED", "render", "all"),
                sent.stream().map(r -> r.expressionAttributeValues().get(":pk").s()).toList());
        for (QueryRequest request : sent) {
            assertEquals("jobs", request.tableName());
            assertEquals("#pk = :pk", request.keyConditionExpression());
            assertEquals(LIVE_FILTER, request.filterExpression());
            assertEquals(Long.toString(NOW.getEpochSecond()), request.expressionAttributeValues().get(":nowSeconds").n());
            assertEquals(false, request.scanIndexForward(), "newest first");
            assertEquals(21, request.limit(), "one more than the page: it tells whether there is a next");
            assertFalse(request.hasExclusiveStartKey());
        }
    }

    @Test
    void aStatusAndATypeTogether_searchTheSmallerPartition_forTheOther() {
        queries.list(new JobQueries.Filter(JobStatus.QUEUED, "render"), 10, null);
        queries.list(new JobQueries.Filter(JobStatus.SUCCEEDED, "render"), 10, null);

        List<QueryRequest> sent = queriesSent();
        assertEquals("status-createdAt", sent.get(0).indexName(), "few jobs wait: search them for the type");
        assertEquals(LIVE_FILTER + " AND #also = :also", sent.get(0).filterExpression());
        assertEquals("type", sent.get(0).expressionAttributeNames().get("#also"));
        assertEquals("render", sent.get(0).expressionAttributeValues().get(":also").s());
        assertEquals("type-createdAt", sent.get(1).indexName(), "many jobs succeed: search the type for them");
        assertEquals("status", sent.get(1).expressionAttributeNames().get("#also"));
        assertEquals("SUCCEEDED", sent.get(1).expressionAttributeValues().get(":also").s());
    }

    @Test
    void aFullPage_withOneMoreBehindIt_endsAtItsLastJob() {
        List<Map<String, AttributeValue>> items = new ArrayList<>();
        for (int n = 1; n <= 4; n++) {
            items.add(item(n, JobStatus.FAILED));
        }
        pages(List.of(QueryResponse.builder().items(items).count(4)
                .lastEvaluatedKey(keyOf(items.get(3), "status")).build()));

        JobQueries.Page page = queries.list(JobQueries.Filter.status(JobStatus.FAILED), 3, null);

        assertEquals(List.of(id(1), id(2), id(3)), page.jobs().stream().map(Job::jobId).toList());
        assertEquals(Map.of("jobId", id(3), "createdAt", JobTable.sortableInstant(NOW.minusSeconds(3)),
                "status", "FAILED"), page.next(), "the next page starts after the last job shown, not the one peeked at");
        assertEquals(JobStatus.FAILED, page.jobs().get(0).status());
        assertEquals(1, page.jobs().get(0).attempts());
    }

    @Test
    void theLastPage_hasNoNext() {
        pages(List.of(QueryResponse.builder().items(item(1, JobStatus.FAILED), item(2, JobStatus.FAILED)).build()));

        JobQueries.Page page = queries.list(JobQueries.Filter.status(JobStatus.FAILED), 3, null);

        assertEquals(2, page.jobs().size());
        assertNull(page.next());
    }

    @Test
    void aFilterThatLeavesMostOut_readsOn_untilThePageIsFull_andAsksOnlyForWhatIsMissing() {
        Map<String, AttributeValue> first = item(1, JobStatus.SUCCEEDED);
        Map<String, AttributeValue> second = item(5, JobStatus.SUCCEEDED);
        Map<String, AttributeValue> third = item(9, JobStatus.SUCCEEDED);
        pages(List.of(
                QueryResponse.builder().items(first).lastEvaluatedKey(keyOf(item(4, JobStatus.SUCCEEDED), "type")).build(),
                QueryResponse.builder().items(second, third).lastEvaluatedKey(keyOf(third, "type")).build()));

        JobQueries.Page page = queries.list(new JobQueries.Filter(JobStatus.SUCCEEDED, "render"), 2, null);

        assertEquals(List.of(id(1), id(5)), page.jobs().stream().map(Job::jobId).toList());
        assertEquals(id(5), page.next().get("jobId"));
        List<QueryRequest> sent = queriesSent();
        assertEquals(List.of(3, 2), sent.stream().map(QueryRequest::limit).toList());
        assertEquals(keyOf(item(4, JobStatus.SUCCEEDED), "type"), sent.get(1).exclusiveStartKey(),
                "the second read goes on where the first stopped");
    }

    @Test
    void aPageStopsAfterItsReads_andTheNextStartsWhereTheyEnded() {
        Map<String, AttributeValue> stop = keyOf(item(7, JobStatus.SUCCEEDED), "type");
        dynamoDb.onQuery = r -> QueryResponse.builder().lastEvaluatedKey(stop).build(); // a filter matching nothing

        JobQueries.Page page = queries.list(new JobQueries.Filter(JobStatus.SUCCEEDED, "render"), 20, null);

        assertTrue(page.jobs().isEmpty());
        assertEquals(Map.of("jobId", id(7), "createdAt", JobTable.sortableInstant(NOW.minusSeconds(7)),
                "type", "render"), page.next());
        assertEquals(DynamoDbJobQueries.MAX_READS_PER_PAGE, queriesSent().size(), "bounded: a page never reads on and on");
    }

    @Test
    void aPositionFromAClient_becomesTheStartKey_onlyIfItIsOneOfThisListing() {
        Map<String, String> position = Map.of("jobId", id(3), "createdAt", JobTable.sortableInstant(NOW), "status",
                "FAILED");

        queries.list(JobQueries.Filter.status(JobStatus.FAILED), 5, position);

        assertEquals(Map.of("jobId", AttributeValue.fromS(id(3)), "createdAt",
                AttributeValue.fromS(JobTable.sortableInstant(NOW)), "status", AttributeValue.fromS("FAILED")),
                queriesSent().get(0).exclusiveStartKey());
        for (Map<String, String> wrong : List.of(
                Map.of("jobId", id(3), "createdAt", "2026-11-22T10:00:00Z", "status", "QUEUED"),
                Map.of("jobId", id(3), "createdAt", "2026-11-22T10:00:00Z", "type", "FAILED"),
                Map.of("jobId", id(3), "createdAt", "2026-11-22T10:00:00Z", "status", "FAILED", "error", "x"),
                Map.of("jobId", "../etc", "createdAt", "2026-11-22T10:00:00Z", "status", "FAILED"),
                Map.of("jobId", id(3), "createdAt", "yesterday", "status", "FAILED"))) {
            assertThrows(IllegalArgumentException.class,
                    () -> queries.list(JobQueries.Filter.status(JobStatus.FAILED), 5, wrong), wrong.toString());
        }
        assertEquals(1, queriesSent().size(), "nothing is sent for a wrong position");
        assertThrows(IllegalArgumentException.class, () -> queries.list(JobQueries.Filter.ALL, 0, null));
        assertThrows(IllegalArgumentException.class, () -> queries.list(JobQueries.Filter.ALL, 101, null));
    }

    @Test
    void count_stopsOneOverItsCap_andSaysThereAreMore() {
        pages(List.of(QueryResponse.builder().count(2).lastEvaluatedKey(keyOf(item(2, JobStatus.QUEUED), "status"))
                        .build(),
                QueryResponse.builder().count(2).lastEvaluatedKey(keyOf(item(4, JobStatus.QUEUED), "status")).build()));

        JobQueries.Count count = queries.count(JobStatus.QUEUED, 3);

        assertEquals(new JobQueries.Count(3, true), count);
        List<QueryRequest> sent = queriesSent();
        assertEquals(Select.COUNT, sent.get(0).select());
        assertEquals(List.of(4, 2), sent.stream().map(QueryRequest::limit).toList(), "never reads past cap + 1");
        assertEquals("status-createdAt", sent.get(0).indexName());
        assertEquals(LIVE_FILTER, sent.get(0).filterExpression());
    }

    @Test
    void count_thatEndsBelowItsCap_isExact() {
        pages(List.of(QueryResponse.builder().count(3).build()));

        assertEquals(new JobQueries.Count(3, false), queries.count(JobStatus.FAILED, 1000));
    }

    @Test
    void queuePosition_countsQueuedJobsCreatedBeforeIt() {
        pages(List.of(QueryResponse.builder().count(7).build()));
        Job job = Job.builder().jobId(id(1)).status(JobStatus.QUEUED).createdAt(NOW).build();

        assertEquals(new JobQueries.Count(7, false), queries.queuedBefore(job, 1000));

        QueryRequest sent = queriesSent().get(0);
        assertEquals("#pk = :pk AND #sk < :before", sent.keyConditionExpression());
        assertEquals("QUEUED", sent.expressionAttributeValues().get(":pk").s());
        assertEquals("createdAt", sent.expressionAttributeNames().get("#sk"));
        assertEquals("2026-11-22T10:00:00.000000000Z", sent.expressionAttributeValues().get(":before").s(),
                "as createdAt is written, so that the job does not count itself");
    }

    @Test
    void oldest_readsOldestFirst() {
        pages(List.of(QueryResponse.builder().items(item(9, JobStatus.QUEUED)).build()));

        assertEquals(id(9), queries.oldest(JobStatus.QUEUED).orElseThrow().jobId());
        assertEquals(true, queriesSent().get(0).scanIndexForward());
    }

    @Test
    void recentRunTimes_readTheTypesLatestSuccesses_thenTheirHistories() {
        pages(List.of(QueryResponse.builder().items(item(1, JobStatus.SUCCEEDED), item(2, JobStatus.SUCCEEDED)).build()));
        AttemptRecord failed = new AttemptRecord(1, "w", 0, NOW.minusSeconds(100), NOW.minusSeconds(90),
                AttemptRecord.RETRYING, "boom", null);
        AttemptRecord succeeded = new AttemptRecord(2, "w", 0, NOW.minusSeconds(80), NOW.minusSeconds(68),
                AttemptRecord.SUCCEEDED, null, null);
        Job withHistory = Job.builder().jobId(id(1)).history(List.of(failed, succeeded)).build();
        Job withoutTimes = Job.builder().jobId(id(2)).history(List.of(new AttemptRecord(1, "w", 0, null, null,
                AttemptRecord.SUCCEEDED, null, null))).build();
        dynamoDb.onBatchGet = r -> BatchGetItemResponse.builder().responses(Map.of("jobs", List.of(
                JobTable.SCHEMA.itemToMap(withoutTimes, true), JobTable.SCHEMA.itemToMap(withHistory, true)))).build();

        List<Duration> times = queries.recentRunTimes("render", 20);

        assertEquals(List.of(Duration.ofSeconds(12)), times, "the attempt that succeeded, not the failed one");
        QueryRequest query = queriesSent().get(0);
        assertEquals("type-createdAt", query.indexName());
        assertEquals("SUCCEEDED", query.expressionAttributeValues().get(":also").s());
        BatchGetItemRequest batch = dynamoDb.last(BatchGetItemRequest.class);
        KeysAndAttributes keys = batch.requestItems().get("jobs");
        assertEquals(List.of(id(1), id(2)), keys.keys().stream().map(k -> k.get("jobId").s()).toList());
        assertEquals("#jobId, #history", keys.projectionExpression());
    }

    @Test
    void statuses_areReadConsistently_inBatchesOf100_leavingOutWhatIsPastItsTtl() {
        List<String> ids = new ArrayList<>();
        for (int n = 0; n < 150; n++) {
            ids.add(id(n));
        }
        List<BatchGetItemRequest> batches = new ArrayList<>();
        dynamoDb.onBatchGet = r -> {
            batches.add(r);
            if (batches.size() > 1) {
                return BatchGetItemResponse.builder().responses(Map.of("jobs", List.of())).unprocessedKeys(Map.of("jobs",
                        KeysAndAttributes.builder().keys(Map.of("jobId", AttributeValue.fromS(id(120)))).build())).build();
            }
            return BatchGetItemResponse.builder().responses(Map.of("jobs", List.of(
                    Map.of("jobId", AttributeValue.fromS(id(1)), "status", AttributeValue.fromS("RUNNING")),
                    Map.of("jobId", AttributeValue.fromS(id(2)), "status", AttributeValue.fromS("SUCCEEDED"),
                            "expiresAt", AttributeValue.fromN(Long.toString(NOW.getEpochSecond() + 60))),
                    Map.of("jobId", AttributeValue.fromS(id(3)), "status", AttributeValue.fromS("SUCCEEDED"),
                            "expiresAt", AttributeValue.fromN(Long.toString(NOW.getEpochSecond() - 1)))))).build();
        };

        JobQueries.Statuses statuses = queries.statuses(ids);

        assertEquals(Map.of(id(1), JobStatus.RUNNING, id(2), JobStatus.SUCCEEDED), statuses.found(),
                "a record past its TTL is gone, as a read sees it");
        assertEquals(Set.of(id(120)), statuses.unprocessed());
        assertEquals(List.of(100, 50), batches.stream().map(b -> b.requestItems().get("jobs").keys().size()).toList());
        assertEquals(true, batches.get(0).requestItems().get("jobs").consistentRead());
        assertEquals("#jobId, #status, #expiresAt", batches.get(0).requestItems().get("jobs").projectionExpression());
    }

    @Test
    void createdAt_isWrittenWithAFixedWidth_soThatTextOrderIsTimeOrder() {
        Instant whole = Instant.parse("2026-11-22T10:00:00Z");
        Instant fraction = Instant.parse("2026-11-22T10:00:00.5Z");
        Instant micros = Instant.parse("2026-11-22T10:00:00.123456Z");
        List<String> written = List.of(whole, micros, fraction).stream().map(JobTable::sortableInstant).toList();

        assertEquals(List.of("2026-11-22T10:00:00.000000000Z", "2026-11-22T10:00:00.123456000Z",
                "2026-11-22T10:00:00.500000000Z"), written);
        assertTrue(whole.toString().compareTo(fraction.toString()) > 0, "Instant.toString's text would sort them wrong");
        Job job = Job.builder().jobId(id(1)).createdAt(micros).build();
        Map<String, AttributeValue> item = JobTable.SCHEMA.itemToMap(job, true);
        assertEquals("2026-11-22T10:00:00.123456000Z", item.get("createdAt").s());
        assertEquals("all", item.get("listing").s(), "every record is in the unfiltered listing");
        assertEquals(job, JobTable.SCHEMA.mapToItem(item), "read back as written");
        assertEquals(whole, JobTable.SCHEMA.mapToItem(Map.of("jobId", AttributeValue.fromS(id(1)),
                "createdAt", AttributeValue.fromS("2026-11-22T10:00:00Z"))).createdAt(), "records written before");
    }
}
