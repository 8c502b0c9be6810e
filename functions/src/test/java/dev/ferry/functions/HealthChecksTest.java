package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Json;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.services.sqs.model.QueueDoesNotExistException;

class HealthChecksTest {

    private static APIGatewayProxyResponseEvent get(HealthHandler handler) {
        return handler.handleRequest(new APIGatewayProxyRequestEvent().withHttpMethod("GET").withPath("/health"), null);
    }

    @Test
    void allAnswering_is200Ok_withEachCheck() {
        Map<String, HealthChecks.Probe> probes = new LinkedHashMap<>();
        probes.put("jobsTable", () -> { });
        probes.put("jobQueue", () -> { });
        APIGatewayProxyResponseEvent response = get(new HealthHandler(new HealthChecks(probes, Duration.ofSeconds(2),
                Duration.ZERO)));
        assertEquals(200, response.getStatusCode());
        JsonNode body = Json.parse(response.getBody());
        assertEquals("ok", body.get("status").asText());
        assertEquals("ok", body.at("/checks/jobsTable/status").asText());
        assertEquals("ok", body.at("/checks/jobQueue/status").asText());
    }

    @Test
    void aFailingOrSlowDependency_is503NamingIt_withTheErrorCodeButNotItsMessage() {
        Map<String, HealthChecks.Probe> probes = new LinkedHashMap<>();
        probes.put("jobsTable", () -> { });
        probes.put("deadLetterQueue", () -> {
            throw QueueDoesNotExistException.builder().statusCode(400).awsErrorDetails(AwsErrorDetails.builder()
                    .errorCode("AWS.SimpleQueueService.NonExistentQueue")
                    .errorMessage("arn:aws:sqs:us-east-1:123456789012:secret-name does not exist").build()).build();
        });
        probes.put("jobQueue", () -> {
            try {
                Thread.sleep(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        long started = System.nanoTime();
        APIGatewayProxyResponseEvent response = get(new HealthHandler(new HealthChecks(probes, Duration.ofMillis(300),
                Duration.ZERO)));
        assertTrue(Duration.ofNanos(System.nanoTime() - started).compareTo(Duration.ofSeconds(2)) < 0,
                "checks run at once, each within the timeout");
        assertEquals(503, response.getStatusCode());
        JsonNode body = Json.parse(response.getBody());
        assertEquals("unavailable", body.get("status").asText());
        assertEquals("deadLetterQueue, jobQueue", body.get("failed").asText());
        assertEquals("ok", body.at("/checks/jobsTable/status").asText());
        assertEquals("AWS.SimpleQueueService.NonExistentQueue (HTTP 400)", body.at("/checks/deadLetterQueue/error").asText());
        assertEquals("no answer within 300 ms", body.at("/checks/jobQueue/error").asText());
        assertFalse(response.getBody().contains("123456789012"), "no account ids or names to an unauthenticated caller");
    }

    @Test
    void answers_areCachedForAFewSeconds_soCallsCostNoMoreAwsCalls() {
        AtomicInteger calls = new AtomicInteger();
        HealthChecks checks = new HealthChecks(Map.of("jobsTable", calls::incrementAndGet), Duration.ofSeconds(2),
                Duration.ofSeconds(5));
        for (int i = 0; i < 20; i++) {
            assertTrue(checks.check().ok());
        }
        assertEquals(1, calls.get());
    }

    @Test
    void otherMethods_are405() {
        HealthHandler handler = new HealthHandler(new HealthChecks(Map.of(), Duration.ofSeconds(1), Duration.ZERO));
        assertEquals(405, handler.handleRequest(new APIGatewayProxyRequestEvent().withHttpMethod("POST"), null)
                .getStatusCode());
    }
}
