package dev.ferry.bench;

import java.util.Map;

/**
 * Public list prices of the requests a job makes, and what a million jobs cost at them.
 *
 * <p>US East (N. Virginia), as published on 2026-12-01 (read that day from the AWS pricing pages as
 * quoted by cloudburn.io's March 2026 SQS guide and airbyte.com's DynamoDB pricing guide): SQS
 * standard queues $0.40 per million requests, each 64 KB chunk of a payload a request, a batch of up
 * to 10 messages one request; DynamoDB on-demand $0.625 per million write request units (1 KB each)
 * and $0.125 per million read request units (4 KB strongly consistent, or two eventually
 * consistent reads). Free tiers left out.
 */
final class Prices {

    static final String REGION = "us-east-1";
    static final String DATE = "2026-12-01";
    static final double SQS_PER_MILLION_REQUESTS = 0.40;
    static final double DYNAMODB_PER_MILLION_WRITE_UNITS = 0.625;
    static final double DYNAMODB_PER_MILLION_READ_UNITS = 0.125;

    private Prices() {
    }

    /** Whether a DynamoDB operation is billed as a write (else a read). */
    static boolean write(String operation) {
        return operation.endsWith("PutItem") || operation.endsWith("UpdateItem") || operation.endsWith("DeleteItem")
                || operation.endsWith("BatchWriteItem") || operation.endsWith("TransactWriteItems");
    }

    /**
     * Dollars per million jobs, for requests counted over {@code jobs} jobs: SQS by calls (a batch
     * call is one request, as SQS bills it; the messages here are far below 64 KB), DynamoDB by the
     * capacity units it reported.
     */
    static double dollarsPerMillionJobs(Map<String, RequestCounter.Count> counts, long jobs) {
        double dollars = 0;
        for (Map.Entry<String, RequestCounter.Count> entry : counts.entrySet()) {
            String operation = entry.getKey();
            RequestCounter.Count count = entry.getValue();
            if (operation.startsWith("Sqs.")) {
                dollars += count.calls() * SQS_PER_MILLION_REQUESTS;
            } else if (operation.startsWith("DynamoDb.")) {
                dollars += count.units() * (write(operation) ? DYNAMODB_PER_MILLION_WRITE_UNITS
                        : DYNAMODB_PER_MILLION_READ_UNITS);
            }
        }
        return dollars / jobs; // (requests / jobs) per job x price per million requests = dollars per million jobs
    }
}
