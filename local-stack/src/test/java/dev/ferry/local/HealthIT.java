package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.Pools;
import dev.ferry.core.Json;
import dev.ferry.functions.HealthHandler;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /health} on the local stack: 200 with every dependency answering (the embedded
 * DynamoDB, SQS and S3), and 503 naming the one that does not, here a dead-letter queue that does
 * not exist on the emulator.
 */
class HealthIT {

    private static LocalStack stack;

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0).build());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    @Test
    void health_withEveryDependencyUp_is200NamingEachCheck() throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                stack.apiEndpoint().resolve("/health")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        JsonNode body = Json.parse(response.body());
        assertEquals("ok", body.get("status").asText());
        // Each pool's queues, named by the pool (the template's one pool, Gpu).
        for (String check : new String[] {"jobsTable", "Gpu.jobQueue", "Gpu.priorityQueue", "Gpu.deadLetterQueue",
                "filesBucket"}) {
            assertEquals("ok", body.at("/checks/" + check + "/status").asText(), check + ": " + body);
        }
    }

    @Test
    void health_withADependencyDown_is503NamingIt_andNoAccountDetails() {
        Map<String, String> env = new LinkedHashMap<>(stack.environment().asMap());
        String dlq = env.get(Pools.deadLetterVariable("Gpu"));
        env.put(Pools.deadLetterVariable("Gpu"), dlq.substring(0, dlq.lastIndexOf('/') + 1) + "ferry-gone-dlq");
        APIGatewayProxyResponseEvent response = new HealthHandler(env).handleRequest(
                new APIGatewayProxyRequestEvent().withHttpMethod("GET").withPath("/health"), null);
        assertEquals(503, response.getStatusCode(), response.getBody());
        JsonNode body = Json.parse(response.getBody());
        assertEquals("unavailable", body.get("status").asText());
        assertEquals("Gpu.deadLetterQueue", body.get("failed").asText(), body.toString());
        assertEquals("failed", body.at("/checks/Gpu.deadLetterQueue/status").asText());
        assertEquals("ok", body.at("/checks/Gpu.jobQueue/status").asText());
        assertFalse(response.getBody().contains("ferry-gone-dlq"), "no resource names to an unauthenticated caller");
    }
}
