package dev.ferry.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RequestCounterTest {

    @Test
    void counts_perServiceAndOperation_withTheirUnits() {
        RequestCounter counter = new RequestCounter();
        counter.record("Sqs", "ReceiveMessage", 1);
        counter.record("Sqs", "ReceiveMessage", 1);
        counter.record("DynamoDb", "UpdateItem", 2);
        counter.record("DynamoDb", "UpdateItem", 1);

        Map<String, RequestCounter.Count> counts = counter.snapshot();
        assertEquals(List.of("DynamoDb.UpdateItem", "Sqs.ReceiveMessage"), List.copyOf(counts.keySet()));
        assertEquals(new RequestCounter.Count(2, 3.0), counts.get("DynamoDb.UpdateItem"));
        assertEquals(new RequestCounter.Count(2, 2.0), counts.get("Sqs.ReceiveMessage"));
        assertEquals(4, counter.calls());
    }

    @Test
    void sum_addsOperationByOperation() {
        Map<String, RequestCounter.Count> submit = Map.of("DynamoDb.PutItem", new RequestCounter.Count(10, 10),
                "Sqs.SendMessage", new RequestCounter.Count(10, 10));
        Map<String, RequestCounter.Count> worker = Map.of("Sqs.SendMessage", new RequestCounter.Count(1, 1),
                "Sqs.DeleteMessageBatch", new RequestCounter.Count(2, 2));

        Map<String, RequestCounter.Count> total = RequestCounter.sum(submit, worker);

        assertEquals(new RequestCounter.Count(11, 11), total.get("Sqs.SendMessage"));
        assertEquals(new RequestCounter.Count(2, 2), total.get("Sqs.DeleteMessageBatch"));
        assertEquals(23, RequestCounter.calls(total));
    }

    @Test
    void dollarsPerMillionJobs_billsSqsByCall_andDynamoDbByUnit() {
        // 10 jobs: 30 SQS calls (a batch delete is one), 20 write units (one write of 2 KB counts 2), 5 read units.
        Map<String, RequestCounter.Count> counts = Map.of(
                "Sqs.SendMessage", new RequestCounter.Count(10, 10),
                "Sqs.ReceiveMessage", new RequestCounter.Count(18, 18),
                "Sqs.DeleteMessageBatch", new RequestCounter.Count(2, 2),
                "DynamoDb.PutItem", new RequestCounter.Count(10, 10),
                "DynamoDb.UpdateItem", new RequestCounter.Count(9, 10),
                "DynamoDb.GetItem", new RequestCounter.Count(10, 5));

        // per job: 3 SQS requests x $0.40 + 2 WRU x $0.625 + 0.5 RRU x $0.125 per million
        assertEquals(3 * 0.40 + 2 * 0.625 + 0.5 * 0.125, Prices.dollarsPerMillionJobs(counts, 10), 1e-12);
    }

    @Test
    void serviceNames_areTheSdksInOneSpelling() {
        assertEquals("Sqs", CountingInterceptor.serviceName("SQS"));
        assertEquals("DynamoDb", CountingInterceptor.serviceName("DynamoDB"));
        assertEquals("S3", CountingInterceptor.serviceName("S3"));
    }
}
