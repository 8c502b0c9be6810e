package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import com.amazonaws.services.lambda.runtime.tests.EventLoader;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ferry.core.JobIds;
import dev.ferry.core.logging.FerryLogConfigurator;
import dev.ferry.core.logging.LogContext;
import dev.ferry.core.metrics.BoundedDimension;
import dev.ferry.core.metrics.EmfWriter;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The submit function in the deployed configuration: JSON log lines that carry the job's id as a
 * field, and the accepted job counted as an embedded-metric-format line.
 */
class SubmitJobLogTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Instant NOW = Instant.parse("2026-12-01T10:00:00Z");
    private final ByteArrayOutputStream log = new ByteArrayOutputStream();
    private final List<String> metricLines = new ArrayList<>();
    private final List<String> events = new ArrayList<>();
    private final InMemoryJobStore store = new InMemoryJobStore(events);
    private final RecordingSqs sqs = new RecordingSqs(events);

    @AfterEach
    void tearDown() {
        LogContext.clear();
        ((LoggerContext) LoggerFactory.getILoggerFactory()).reset();
        ((LoggerContext) LoggerFactory.getILoggerFactory()).getStatusManager().clear();
        new FerryLogConfigurator().configure((LoggerContext) LoggerFactory.getILoggerFactory());
    }

    @Test
    void submit_inJsonMode_everyLineOfTheRequestIsJson_withTheJobIdField_andTheJobIsCounted() throws Exception {
        FerryLogConfigurator.install((LoggerContext) LoggerFactory.getILoggerFactory(), FerryLogConfigurator.Format.JSON,
                Level.INFO, log);
        ApiMetrics metrics = new ApiMetrics(new EmfWriter(Optional.of("Ferry/test"), metricLines::add,
                Clock.fixed(NOW, ZoneOffset.UTC)), new BoundedDimension(5));
        SubmitJobHandler handler = new SubmitJobHandler(new JobSubmitter(store, sqs, "https://sqs.local/jobs",
                new JobIds(), Clock.fixed(NOW, ZoneOffset.UTC), 1_024, Set.of()), store,
                new JobWaiter(new InMemoryJobQueries(store)::statuses), 25, Optional.empty(), WebhookUrlPolicy.STRICT,
                metrics);

        var response = handler.handleRequest(EventLoader.loadApiGatewayRestEvent("events/apigw-submit-job.json"), null);

        String jobId = JSON.readTree(response.getBody()).get("jobId").asText();
        List<String> lines = log.toString(StandardCharsets.UTF_8).lines().toList();
        assertFalse(lines.isEmpty(), "the submit logged nothing");
        for (String line : lines) {
            JsonNode node = JSON.readTree(line);
            assertEquals(jobId, node.path("jobId").asText(), line);
            assertEquals("sdxl", node.path("type").asText(), line);
        }
        assertEquals(List.of("{\"_aws\":{\"Timestamp\":1796119200000,\"CloudWatchMetrics\":["
                + "{\"Namespace\":\"Ferry/test\",\"Dimensions\":[[\"Type\"],[]],"
                + "\"Metrics\":[{\"Name\":\"JobsSubmitted\",\"Unit\":\"Count\"}]}]},"
                + "\"Type\":\"sdxl\",\"jobId\":\"" + jobId + "\",\"JobsSubmitted\":1}"), metricLines);
    }
}
