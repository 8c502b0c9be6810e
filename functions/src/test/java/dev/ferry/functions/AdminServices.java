package dev.ferry.functions;

import java.time.Clock;
import java.util.Optional;
import software.amazon.awssdk.services.sqs.SqsClient;

/** An {@link AdminService} on fakes: an in-memory store and its queries, a fixed cursor key. */
final class AdminServices {

    static final String CURSOR_KEY = "test-cursor-key";

    private AdminServices() {
    }

    static AdminService of(SqsClient sqs, InMemoryJobStore store) {
        return of(sqs, store, new InMemoryJobQueries(store));
    }

    static AdminService of(SqsClient sqs, InMemoryJobStore store, InMemoryJobQueries queries) {
        return new AdminService(sqs, store, queries, new JobListing(queries, new ListCursor(CURSOR_KEY)),
                "https://sqs/jobs", "https://sqs/dlq", Clock.systemUTC(), Optional.empty());
    }
}
