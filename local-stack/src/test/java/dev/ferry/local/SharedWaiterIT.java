package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.FerryEnv;
import dev.ferry.testkit.HttpFaultProxy;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Requests that wait share one poller per function instance: counted at the functions' DynamoDB
 * endpoint (through a proxy that only counts), ten requests waiting at once read their jobs once
 * before and once after the wait each (GetItem), and every read in between is one BatchGetItem
 * for all of them, at most one per tick of the waiter, never one per request.
 */
class SharedWaiterIT {

    private static final int REQUESTS = 10;
    private static final long TICK_MILLIS = 250;
    private static final List<HttpFaultProxy> PROXIES = new ArrayList<>();
    private static HttpFaultProxy dynamoDb;
    private static LocalStack stack;
    private static Api api;

    private static URI counted(String variable, URI endpoint) {
        HttpFaultProxy proxy = HttpFaultProxy.start(variable, endpoint);
        PROXIES.add(proxy);
        if (variable.equals(FerryEnv.AWS_ENDPOINT_URL_DYNAMODB)) {
            dynamoDb = proxy;
        }
        return proxy.endpoint();
    }

    @BeforeAll
    static void start() {
        Backends.assumePlainHttpEndpoints();
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0)
                .functionEndpoints(SharedWaiterIT::counted).build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
        PROXIES.forEach(HttpFaultProxy::close);
    }

    @Test
    void tenRequestsWaitingAtOnce_shareOneReadPerTick() throws Exception {
        List<String> jobIds = new ArrayList<>();
        for (int i = 0; i < REQUESTS; i++) {
            jobIds.add(api.submit("{\"type\":\"sample\",\"input\":{\"output\":" + i + "}}").jobId()); // no worker: they wait
        }
        int getItemBefore = dynamoDb.requests("GetItem");
        int batchBefore = dynamoDb.requests("BatchGetItem");
        ExecutorService clients = Executors.newFixedThreadPool(REQUESTS);
        long started = System.nanoTime();
        List<Future<Api.Response>> responses = new ArrayList<>();
        try {
            for (String jobId : jobIds) {
                responses.add(clients.submit(() -> new Api(stack.apiEndpoint()).get(jobId,
                        List.<String[]>of(new String[] {"Prefer", "wait=3"}))));
            }
            for (Future<Api.Response> response : responses) {
                Api.Response answer = response.get();
                assertEquals(200, answer.status());
                assertEquals("QUEUED", answer.body().get("status").asText());
                assertEquals("wait=3", answer.raw().headers().firstValue("Preference-Applied").orElse(""));
            }
        } finally {
            clients.shutdownNow();
        }
        long elapsedMillis = (System.nanoTime() - started) / 1_000_000;

        assertEquals(2 * REQUESTS, dynamoDb.requests("GetItem") - getItemBefore,
                "each request reads its job before and after waiting, never while it waits");
        int batches = dynamoDb.requests("BatchGetItem") - batchBefore;
        assertTrue(batches >= 1, "the waiter read the jobs");
        assertTrue(batches <= elapsedMillis / TICK_MILLIS + 1, batches + " reads in " + elapsedMillis + " ms: more than"
                + " one per tick, so not shared (ten requests polling alone would make about " + 5 * REQUESTS + ")");
    }
}
