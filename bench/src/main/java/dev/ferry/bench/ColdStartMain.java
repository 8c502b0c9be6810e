package dev.ferry.bench;

import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import java.lang.management.ManagementFactory;
import java.util.Map;

/**
 * The cold-start child: a fresh JVM on the functions jar (and this class), as a Lambda runtime would
 * start one: load the handler class named in {@code args[0]}, make it with its no-arg constructor
 * (configuration from the environment), serve one {@code POST /jobs} event, print one line
 * {@code cold-start: class=... status=... init_ms=... invoke_ms=... since_jvm_start_ms=...} and exit.
 * Self-contained (the JDK and the Lambda events only), so it adds no class of the benchmark.
 */
public final class ColdStartMain {

    private ColdStartMain() {
    }

    @SuppressWarnings("unchecked")
    public static void main(String[] args) throws Exception {
        long started = System.nanoTime();
        Class<?> type = Class.forName(args[0]);
        RequestHandler<APIGatewayProxyRequestEvent, APIGatewayProxyResponseEvent> handler =
                (RequestHandler<APIGatewayProxyRequestEvent, APIGatewayProxyResponseEvent>)
                        type.getConstructor().newInstance();
        long made = System.nanoTime();
        APIGatewayProxyRequestEvent event = new APIGatewayProxyRequestEvent().withHttpMethod("POST")
                .withPath("/jobs").withResource("/jobs").withHeaders(Map.of("Content-Type", "application/json"))
                .withBody("{\"type\":\"sample\",\"input\":{\"sleepMs\":0}}");
        APIGatewayProxyResponseEvent response = handler.handleRequest(event, null);
        long done = System.nanoTime();
        long sinceJvm = System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime();
        System.out.printf(java.util.Locale.ROOT, "cold-start: class=%s status=%d init_ms=%.1f invoke_ms=%.1f"
                        + " since_jvm_start_ms=%d%n", args[0], response.getStatusCode(), (made - started) / 1e6,
                (done - made) / 1e6, sinceJvm);
        System.exit(response.getStatusCode() / 100 == 2 ? 0 : 1);
    }
}
