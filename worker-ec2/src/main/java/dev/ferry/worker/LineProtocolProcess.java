package dev.ferry.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.Json;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A warm handler that speaks Ferry's own protocol: JSON lines over stdin and stdout, one job at a
 * time, simple enough for a 20-line Python handler.
 *
 * <pre>
 * handler → worker   {"ready": true}                                   once, when its model is loaded
 * worker → handler   {"id": "01J...:2", "jobId": "01J...", "type": "sd", "attempt": 2,
 *                     "input": {...}, "outputDir": "/var/lib/ferry/work/01J...-2/outputs"}
 * handler → worker   {"id": "01J...:2", "progress": 0.4, "message": "step 8 of 20"}   any number
 * handler → worker   {"id": "01J...:2", "result": {...}}                              one, or
 *                    {"id": "01J...:2", "error": "bad prompt", "retry": false}
 * </pre>
 *
 * <p>Its stderr is the job's log. A stdout line that is not one of these (a stray print) is kept
 * as a log line too. A handler that exits while it runs a job fails that attempt with the end of
 * its output as the error; one that runs past the job's timeout, or whose job the worker stops,
 * is stopped (and started again, model and all, before the slot takes another job): a Python
 * handler cannot be interrupted mid-call more gently than that. An error with {@code "retry":
 * false} fails the job at once; any other error is an attempt that failed.
 */
final class LineProtocolProcess implements WarmProcess {

    private static final Logger LOG = LoggerFactory.getLogger(LineProtocolProcess.class);

    private final Context context;
    private final String name;
    private final CountDownLatch ready = new CountDownLatch(1);
    private HandlerProcess process;
    private OutputStream stdin;
    /** The job under way: its events and how it ends. */
    private volatile Running running;

    private record Running(String id, JobExecution job, CompletableFuture<String> outcome) {
    }

    LineProtocolProcess(Context context) {
        this.context = Objects.requireNonNull(context, "context");
        this.name = context.spec().name().toLowerCase(java.util.Locale.ROOT) + "/slot-" + context.slot().index();
    }

    @Override
    public void start() throws JobFailedException, InterruptedException {
        Map<String, String> environment = new HashMap<>(context.environment());
        environment.put(CommandJobHandler.ENV_CUDA_VISIBLE_DEVICES, context.slot().cudaVisibleDevices());
        environment.put(CommandJobHandler.ENV_SLOT, Integer.toString(context.slot().index()));
        try {
            process = HandlerProcess.start(name, context.spec().command(), environment, context.workDir(), false,
                    this::stderr);
        } catch (IOException e) {
            throw new JobFailedException("could not start handler " + name + ": " + e.getMessage(), e);
        }
        stdin = process.stdin();
        process.readLines(process.stdout(), this::stdout, name + "-stdout");
        long deadline = System.nanoTime() + context.spec().setupTimeout().toNanos();
        while (!ready.await(100, TimeUnit.MILLISECONDS)) {
            if (!process.alive()) {
                throw new JobFailedException("handler " + name + " exited with " + process.exitCode()
                        + " before it was ready: " + tailOrNothing());
            }
            if (System.nanoTime() > deadline) {
                process.stop();
                throw new JobFailedException("handler " + name + " was not ready within "
                        + context.spec().setupTimeout() + " (FERRY_SETUP_TIMEOUT_" + context.spec().name()
                        + "); it never printed {\"ready\": true}: " + tailOrNothing());
            }
        }
    }

    @Override
    public String run(JobExecution job, Duration timeout) throws JobFailedException, InterruptedException {
        String id = job.jobId() + ":" + job.attempt();
        Running current = new Running(id, job, new CompletableFuture<>());
        running = current;
        try {
            ObjectNode request = Json.MAPPER.createObjectNode()
                    .put("id", id).put("jobId", job.jobId()).put("type", job.type()).put("attempt", job.attempt());
            request.set("input", Json.parse(job.inputJson()));
            if (job.outputDir() != null) {
                request.put("outputDir", job.outputDir().toString());
            }
            try {
                stdin.write((request.toString() + "\n").getBytes(StandardCharsets.UTF_8));
                stdin.flush();
            } catch (IOException e) {
                throw died("could not send it the job (" + e.getMessage() + ")");
            }
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                String result = outcome(current, Duration.ofMillis(100));
                if (result != null) {
                    return result;
                }
                if (!process.alive()) {
                    // Its last lines may still be on their way: give the readers a moment.
                    result = outcome(current, Duration.ofMillis(200));
                    if (result != null) {
                        return result;
                    }
                    throw died("exited with " + process.exitCode() + " while it ran the job");
                }
                if (System.nanoTime() > deadline) {
                    LOG.warn("handler {}: job {} ran past its timeout of {}; stopping the handler", name, job.jobId(),
                            timeout);
                    process.stop();
                    String reason = "timed out after " + timeout;
                    throw new JobFailedException(reason,
                            context.spec().exitRules().evaluate(null, reason) == ExitRules.Action.RETRY);
                }
            }
        } catch (InterruptedException e) {
            LOG.info("handler {}: job {} stopped by the worker; stopping the handler (started again before the next"
                    + " job)", name, job.jobId());
            process.stop();
            throw e;
        } finally {
            running = null;
        }
    }

    /** The job's result if it ended within {@code wait}; null if it has not; its failure thrown. */
    private String outcome(Running current, Duration wait) throws JobFailedException, InterruptedException {
        try {
            return current.outcome().get(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            return null;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof JobFailedException failed) {
                throw failed;
            }
            throw new JobFailedException("handler " + name + " failed: " + e.getCause(), e.getCause());
        }
    }

    private JobFailedException died(String what) {
        return new JobFailedException("handler " + name + " " + what + ": " + tailOrNothing());
    }

    private String tailOrNothing() {
        String tail = process == null ? "" : process.tail().strip();
        return tail.isEmpty() ? "it wrote nothing on stderr" : tail;
    }

    /** A stderr line: the running job's log. */
    private void stderr(String line) {
        Running current = running;
        if (current != null) {
            current.job().events().log(line);
        } else {
            LOG.info("handler {}: {}", name, line);
        }
    }

    /** A stdout line: a protocol message, else a log line. */
    private void stdout(String line) {
        JsonNode message = null;
        if (line.startsWith("{")) {
            try {
                message = Json.parse(line);
            } catch (IllegalArgumentException e) {
                message = null;
            }
        }
        if (message == null || !message.isObject()) {
            stderr(line);
            return;
        }
        if (message.path("ready").asBoolean(false)) {
            ready.countDown();
            return;
        }
        Running current = running;
        String id = message.path("id").asText(null);
        if (current == null || id == null || !id.equals(current.id())) {
            if (id != null) {
                LOG.warn("handler {}: a message for {}, which it is not running: {}", name, id, line);
            } else {
                stderr(line);
            }
            return;
        }
        if (message.has("result")) {
            current.outcome().complete(message.get("result").toString());
        } else if (message.has("error")) {
            boolean retry = message.path("retry").asBoolean(true);
            String error = message.get("error").isTextual() ? message.get("error").asText() : message.get("error").toString();
            current.outcome().completeExceptionally(new JobFailedException(
                    (retry ? "" : "(not retried) ") + error, retry));
        } else if (message.has("progress")) {
            current.job().events().progress(message.path("progress").asDouble(0),
                    message.path("message").isMissingNode() ? null : message.path("message").asText());
        } else {
            stderr(line);
        }
    }

    @Override
    public boolean alive() {
        return process != null && process.alive() && ready.getCount() == 0;
    }

    @Override
    public String describe() {
        return process == null ? name : process.toString();
    }

    @Override
    public void close() {
        if (process != null && process.alive()) {
            try {
                stdin.close(); // end of input: a well-behaved handler exits by itself
                if (!process.waitFor(Duration.ofSeconds(2))) {
                    process.stop();
                }
            } catch (IOException e) {
                process.stop();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.stop();
            }
        }
    }
}
