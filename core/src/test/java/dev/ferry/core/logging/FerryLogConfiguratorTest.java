package dev.ferry.core.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.MDC;

class FerryLogConfiguratorTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final LoggerContext context = new LoggerContext();
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    @BeforeEach
    void setUp() {
        // A context of its own, reading the MDC that LogContext writes (SLF4J's, here Logback's).
        context.setMDCAdapter(MDC.getMDCAdapter());
        context.start();
    }

    @AfterEach
    void tearDown() {
        LogContext.clear();
        context.stop();
    }

    private List<String> lines() {
        return out.toString(StandardCharsets.UTF_8).lines().toList();
    }

    @Test
    void json_eachLineIsAnObject_withTheJobFieldsAtTopLevel_andTheException() throws Exception {
        FerryLogConfigurator.install(context, FerryLogConfigurator.Format.JSON, Level.INFO, out);
        Logger log = context.getLogger("dev.ferry.worker.JobRun");

        LogContext.job("01KJOB", "sample");
        LogContext.worker("i-123", 2);
        LogContext.attempt(3);
        log.info("job {} claimed", "01KJOB");
        log.warn("handler failed", new IllegalStateException("boom"));
        log.debug("below the level");

        List<String> lines = lines();
        assertEquals(2, lines.size(), lines.toString());
        JsonNode first = JSON.readTree(lines.get(0));
        assertEquals("job 01KJOB claimed", first.get("message").asText());
        assertEquals("INFO", first.get("level").asText());
        assertEquals("dev.ferry.worker.JobRun", first.get("logger").asText());
        assertEquals("01KJOB", first.get("jobId").asText());
        assertEquals("sample", first.get("type").asText());
        assertEquals("3", first.get("attempt").asText());
        assertEquals("i-123", first.get("worker").asText());
        assertEquals("2", first.get("slot").asText());
        assertTrue(first.get("timestamp").asText().matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z"),
                first.get("timestamp").asText());
        assertFalse(first.has("@version") || first.has("level_value"), lines.get(0));
        JsonNode second = JSON.readTree(lines.get(1));
        assertEquals("WARN", second.get("level").asText());
        assertTrue(second.get("exception").asText().startsWith("java.lang.IllegalStateException: boom"),
                second.get("exception").asText());
        assertEquals("01KJOB", second.get("jobId").asText());
    }

    @Test
    void json_wrappedTask_carriesTheJobFieldsToAnotherThread_andLeavesItClean() throws Exception {
        FerryLogConfigurator.install(context, FerryLogConfigurator.Format.JSON, Level.INFO, out);
        Logger log = context.getLogger("dev.ferry.worker.LeaseKeeper");
        ExecutorService other = Executors.newSingleThreadExecutor();
        try {
            LogContext.job("01KJOB", "sample");
            other.submit(LogContext.wrap(() -> log.info("heartbeat"))).get();
            LogContext.clear();
            other.submit(() -> log.info("idle")).get();
        } finally {
            other.shutdown();
            other.awaitTermination(5, TimeUnit.SECONDS);
        }

        List<String> lines = lines();
        assertEquals("01KJOB", JSON.readTree(lines.get(0)).get("jobId").asText());
        assertFalse(JSON.readTree(lines.get(1)).has("jobId"), lines.get(1));
    }

    @Test
    void text_isAReadableLine() {
        FerryLogConfigurator.install(context, FerryLogConfigurator.Format.TEXT, Level.INFO, out);
        LogContext.job("01KJOB", "sample");

        context.getLogger("dev.ferry.worker.JobRun").info("job {} SUCCEEDED", "01KJOB");

        assertTrue(lines().get(0).matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} \\[INFO] JobRun - job 01KJOB SUCCEEDED"),
                lines().get(0));
    }

    @Test
    void format_defaultsToText_andRefusesAnUnknownOne_namingTheVariable() {
        assertEquals(FerryLogConfigurator.Format.TEXT, FerryLogConfigurator.format(null));
        assertEquals(FerryLogConfigurator.Format.JSON, FerryLogConfigurator.format(" JSON "));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> FerryLogConfigurator.format("xml"));
        assertTrue(e.getMessage().contains("FERRY_LOG_FORMAT"), e.getMessage());
        assertEquals(Level.INFO, FerryLogConfigurator.level(""));
        assertEquals(Level.DEBUG, FerryLogConfigurator.level("debug"));
        assertThrows(IllegalStateException.class, () -> FerryLogConfigurator.level("loud"));
    }
}
