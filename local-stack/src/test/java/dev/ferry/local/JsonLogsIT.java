package dev.ferry.local;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ferry.core.FerryEnv;
import dev.ferry.testkit.WorkerProcess;
import dev.ferry.worker.WorkerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real worker process in the deployed configuration (Logback, {@code FERRY_LOG_FORMAT=json},
 * metrics on): every line of its output that speaks of a job is a JSON object carrying the job's
 * id as a field, and the job's outcome is an embedded-metric-format line.
 */
class JsonLogsIT {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private LocalStack stack;
    private WorkerProcess process;

    @AfterEach
    void stop() {
        if (process != null) {
            process.kill();
        }
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void workerInJsonMode_everyLineOfAJobIsJsonWithItsJobId_andItsOutcomeIsAMetric() throws Exception {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0).build());
        Api api = new Api(stack.apiEndpoint());
        Map<String, String> env = new HashMap<>(FaultTestSupport.workerEnv(stack, "json-worker", Map.of()));
        env.putAll(Backends.credentialEnvironment(stack)); // a process inherits nothing
        env.put(WorkerConfig.SLOTS, "1");
        env.put(WorkerConfig.METADATA_DISABLED, "true");
        // A type of the GPU pool (echo runs on the template's Lambda pool).
        env.put(WorkerConfig.COMMAND_PREFIX + "HELLO", "cat");
        env.put(FerryEnv.LOG_FORMAT, "json");
        env.put(FerryEnv.METRICS_NAMESPACE, "Ferry/test");
        Path log = dir.resolve("worker.log");
        process = WorkerProcess.start("json-worker", env, log,
                List.of("-Dslf4j.provider=ch.qos.logback.classic.spi.LogbackServiceProvider"));

        String jobId = api.submit("{\"type\":\"hello\",\"input\":{\"hello\":\"logs\"}}").jobId();
        await().atMost(WAIT).until(() -> "SUCCEEDED".equals(api.get(jobId, List.of()).body().path("status").asText()));
        process.terminate();
        assertTrue(process.waitFor(WAIT) >= 0, "the worker did not stop");

        List<JsonNode> jobLines = new ArrayList<>();
        List<JsonNode> metricLines = new ArrayList<>();
        for (String line : Files.readAllLines(log)) {
            if (!line.contains(jobId)) {
                continue;
            }
            JsonNode node = parse(line);
            if (node.has("_aws")) {
                metricLines.add(node);
                continue;
            }
            assertEquals(jobId, node.path("jobId").asText(), "no jobId field: " + line);
            assertEquals("hello", node.path("type").asText(), line);
            assertEquals("json-worker", node.path("worker").asText(), line);
            assertEquals("0", node.path("slot").asText(), line);
            jobLines.add(node);
        }
        assertTrue(jobLines.stream().anyMatch(n -> n.path("message").asText().contains("claimed")
                && n.path("attempt").asText().equals("1")), "no claim line: " + jobLines);
        assertTrue(jobLines.stream().anyMatch(n -> n.path("message").asText().contains("SUCCEEDED")),
                "no success line: " + jobLines);
        assertTrue(metricLines.stream().anyMatch(n -> n.path("Jobs").asInt() == 1
                && n.path("Outcome").asText().equals("succeeded") && n.path("Type").asText().equals("hello")
                && n.path("Pool").asText().equals(stack.pools().get(0).name()) && n.has("RunTime")),
                "no outcome metric (its Pool the worker's): " + metricLines);
        assertTrue(metricLines.stream().anyMatch(n -> n.has("QueueWait")), "no queue wait metric: " + metricLines);
    }

    private static JsonNode parse(String line) {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            throw new AssertionError("not a JSON line: " + line, e);
        }
    }
}
