package dev.ferry.functions;

import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import com.amazonaws.services.lambda.runtime.tests.EventLoader;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.JobIds;
import dev.ferry.core.Pools;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The submit handler of a deployment with two pools, over an in-memory store and a recording SQS:
 * {@code Large} serves {@code sd.#} and has a high-priority lane, {@code Light} serves
 * {@code resize} and {@code tts.*} and has none. The routing and priority tests extend it.
 */
abstract class PooledSubmit {

    static final Instant NOW = Instant.parse("2026-12-02T10:00:00Z");

    final List<String> events = new ArrayList<>();
    final InMemoryJobStore store = new InMemoryJobStore(events);
    final RecordingSqs sqs = new RecordingSqs(events);
    final Pools pools = Pools.from(FerryEnv.of(Map.of(Pools.POOLS, "Large, Light",
            Pools.queueVariable("Large"), "https://sqs.local/large", Pools.typesVariable("Large"), "sd.#",
            Pools.priorityQueueVariable("Large"), "https://sqs.local/large-high",
            Pools.queueVariable("Light"), "https://sqs.local/light", Pools.typesVariable("Light"), "resize, tts.*")));
    private final SubmitJobHandler handler = new SubmitJobHandler(new JobSubmitter(store, sqs, pools, new JobIds(),
            Clock.fixed(NOW, ZoneOffset.UTC), 262_144, d -> { }, UploadedInputs.none(), Deadlines.none()), store,
            new JobWaiter(new InMemoryJobQueries(store)::statuses), 25, Optional.empty());

    /** {@code POST /jobs} as API Gateway delivers it, with this body and key (none: null). */
    APIGatewayProxyResponseEvent submit(String body, String idempotencyKey) {
        APIGatewayProxyRequestEvent event = EventLoader.loadApiGatewayRestEvent("events/apigw-submit-job.json")
                .withBody(body);
        Map<String, String> headers = new HashMap<>(event.getHeaders());
        headers.remove("Idempotency-Key");
        if (idempotencyKey != null) {
            headers.put("Idempotency-Key", idempotencyKey);
        }
        return handler.handleRequest(event.withHeaders(headers), null);
    }

    /** The queues messages were sent to, in order. */
    List<String> sentTo() {
        return sqs.sent.stream().map(request -> request.queueUrl()).toList();
    }
}
