package dev.ferry.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.ferry.core.Json;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A warm handler that is a Cog model's own server, run unchanged: {@code FERRY_COG_<TYPE>} is the
 * command that serves it on {@code $PORT} (on AWS {@code docker run ... r8.im/...}; anywhere,
 * {@code python -m cog.server.http}), and Ferry speaks Cog's HTTP prediction API to it.
 *
 * <ul>
 *   <li>Ready: {@code GET /health-check} reads {@code READY}; {@code SETUP_FAILED} or
 *       {@code DEFUNCT} fail the start at once with Cog's setup logs.</li>
 *   <li>A job: {@code PUT /predictions/<jobId>-<attempt>} with {@code {"input": <job input>}},
 *       synchronous (idempotent: the id is the attempt's). {@code succeeded} → the prediction's
 *       {@code output} is the result; {@code failed} → the attempt fails with Cog's error (retried
 *       unless the type's {@link ExitRules} say otherwise); an HTTP 422 (Cog refused the input) is
 *       not retried.</li>
 *   <li>Files: every {@code data:} URL in the output is written into the job's output directory
 *       ({@link DataUrls#writeFiles}) and replaced by the file's name. An input value that is the
 *       path of a file in the job's work directory (an upload Ferry downloaded) goes to Cog as a
 *       {@code data:} URL, or above {@link #DEFAULT_DATA_URL_MAX_BYTES} as an {@code http} URL the
 *       worker serves on the loopback interface while the job runs.</li>
 *   <li>Logs and progress: the request names a webhook on the worker ({@link CallbackServer}) for
 *       the {@code logs} and {@code completed} events, so the job's log grows while it runs and
 *       progress comes from a {@code progress} metric or tqdm's bars ({@link PredictionLog}). The
 *       outcome never depends on a webhook: a server that cannot reach the worker (a container
 *       on a bridge network) still runs the job, and its logs come with the final prediction,
 *       where Cog puts them (it does for a success).</li>
 *   <li>Stop: a job past its timeout, or one the worker stops (a drain, a lost lease), is canceled
 *       with {@code POST /predictions/<id>/cancel}; the server keeps its model loaded for the next
 *       job if the prediction ends within {@link #CANCEL_GRACE} and the server reads {@code READY}
 *       again. Otherwise it is stopped and started again before the slot's next job.</li>
 * </ul>
 */
final class CogProcess extends ModelServerProcess {

    private static final Logger LOG = LoggerFactory.getLogger(CogProcess.class);
    /** How long a canceled prediction has to end before the server is stopped. */
    static final Duration CANCEL_GRACE = Duration.ofSeconds(5);
    /** How long a failed or canceled prediction's last webhook is waited for (it carries the logs). */
    static final Duration COMPLETED_WEBHOOK_WAIT = Duration.ofSeconds(1);
    /** How long a server may read BUSY after a prediction ended before it is taken for broken. */
    static final Duration HEALTHY_WAIT = Duration.ofSeconds(3);
    /** Input files up to this size go to Cog inline, as data URLs; larger ones as http URLs. */
    static final long DEFAULT_DATA_URL_MAX_BYTES = 16L * 1024 * 1024;
    private static final Set<String> TERMINAL = Set.of("succeeded", "failed", "canceled");
    private static final int MAX_BODY_IN_ERROR = 2000;

    private final long dataUrlMaxBytes;
    private volatile CallbackServer callbacks;
    private volatile String lastHealth = "unknown";

    CogProcess(Context context) {
        this(context, DEFAULT_DATA_URL_MAX_BYTES);
    }

    CogProcess(Context context, long dataUrlMaxBytes) {
        super(context, "Cog");
        this.dataUrlMaxBytes = dataUrlMaxBytes;
    }

    @Override
    protected void environment(Map<String, String> environment, int port) {
        // PORT, CUDA_VISIBLE_DEVICES and FERRY_SLOT are all Cog's server needs.
    }

    @Override
    protected void started() throws IOException {
        callbacks = CallbackServer.start(name);
    }

    @Override
    protected Readiness readiness() throws InterruptedException {
        JsonNode health = health();
        if (health == null) {
            return Readiness.notYet("no answer");
        }
        String status = health.path("status").asText("no status");
        switch (status) {
            case "READY":
                return Readiness.ready(status);
            case "SETUP_FAILED":
            case "DEFUNCT":
                String logs = health.path("setup").path("logs").asText("").strip();
                return Readiness.failed(status, logs.isEmpty() ? "no setup logs; its output: " + tail() : logs);
            default:
                return Readiness.notYet(status);
        }
    }

    /** {@code GET /health-check}; null when it does not answer with JSON. */
    private JsonNode health() throws InterruptedException {
        HttpResponse<String> response = control(HttpRequest.newBuilder(base().resolve("/health-check")).GET());
        if (response == null || response.statusCode() != 200) {
            return null;
        }
        try {
            return Json.parse(response.body());
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    @Override
    protected void output(String line) {
        // The server's own log; a job's log comes from its prediction.
        if (alive()) {
            LOG.debug("cog {}: {}", name, line);
        } else {
            LOG.info("cog {}: {}", name, line);
        }
    }

    @Override
    public String run(JobExecution job, Duration timeout) throws JobFailedException, InterruptedException {
        String id = predictionId(job);
        PredictionLog log = new PredictionLog(job.events());
        CompletableFuture<CallbackServer.Webhook> completed = new CompletableFuture<>();
        CallbackServer server = callbacks;
        server.follow(id, webhook -> {
            log.update(webhook.logs(), webhook.metrics());
            if (TERMINAL.contains(webhook.status())) {
                completed.complete(webhook);
            }
        });
        List<String> served = new ArrayList<>();
        running = job;
        try {
            ObjectNode body = Json.MAPPER.createObjectNode();
            body.set("input", inputs(Json.parse(job.inputJson()), job, served));
            body.put("webhook", server.webhookUrl(id));
            body.putArray("webhook_events_filter").add("logs").add("completed");
            HttpRequest put = HttpRequest.newBuilder(base().resolve("/predictions/" + id))
                    .header("Content-Type", "application/json")
                    .timeout(timeout.plus(REQUEST_MARGIN))
                    .PUT(HttpRequest.BodyPublishers.ofString(body.toString(), StandardCharsets.UTF_8))
                    .build();
            long deadline = System.nanoTime() + timeout.toNanos();
            CompletableFuture<HttpResponse<String>> response = HTTP.sendAsync(put,
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            HttpResponse<String> answer;
            try {
                answer = await(response, deadline);
            } catch (InterruptedException e) {
                cancel(id, response, log, completed, "the worker stopped the job");
                throw e;
            }
            if (answer == null) {
                cancel(id, response, log, completed, "it ran past its timeout of " + timeout);
                throw timedOut(timeout);
            }
            return outcome(answer, job, log, completed);
        } finally {
            running = null;
            server.forget(id);
            served.forEach(server::unserve);
        }
    }

    /** The attempt's prediction id: unique per attempt, so a retried PUT never starts it twice. */
    static String predictionId(JobExecution job) {
        return (job.jobId() + "-" + job.attempt()).replaceAll("[^A-Za-z0-9_-]", "_");
    }

    private String outcome(HttpResponse<String> answer, JobExecution job, PredictionLog log,
                           CompletableFuture<CallbackServer.Webhook> completed)
            throws JobFailedException, InterruptedException {
        int code = answer.statusCode();
        String body = answer.body() == null ? "" : answer.body();
        if (code == 422) {
            finishLogs(log, null, completed);
            throw new JobFailedException("(not retried) Cog refused the input: " + trimmed(body), false);
        }
        if (code == 409) {
            stopForGood("it answered 409 (" + trimmed(body) + ") though Ferry sends it one job at a time");
            throw new JobFailedException("Cog server " + name + " was busy with another prediction: " + trimmed(body));
        }
        JsonNode prediction = null;
        try {
            prediction = Json.parse(body);
        } catch (IllegalArgumentException e) {
            // below: not a prediction
        }
        if (code / 100 != 2 || prediction == null || !prediction.isObject()) {
            finishLogs(log, null, completed);
            checkHealth("an answer that is not a prediction");
            throw failed("Cog answered HTTP " + code + " without a prediction: " + trimmed(body));
        }
        String status = prediction.path("status").asText("");
        switch (status) {
            case "succeeded" -> {
                // Cog sends its webhooks at most every half second, so the last progress metric may
                // come only with the answer: take it from there too (the same value twice is one).
                log.update(null, prediction.get("metrics"));
                log.finish(logsOf(prediction));
                JsonNode output = prediction.has("output") ? prediction.get("output") : NullNode.getInstance();
                try {
                    return DataUrls.writeFiles(output, job.outputDir()).toString();
                } catch (IOException e) {
                    throw new JobFailedException("could not write the prediction's files into " + job.outputDir()
                            + ": " + e.getMessage(), e);
                }
            }
            case "failed" -> {
                finishLogs(log, prediction, completed);
                String error = prediction.path("error").isTextual() ? prediction.path("error").asText()
                        : "the prediction failed without an error";
                if (!checkHealth("a failed prediction")) {
                    error += " (the server reads " + lastHealth + " since; it is started again)";
                }
                throw failed(error);
            }
            case "canceled" -> {
                finishLogs(log, prediction, completed);
                checkHealth("a canceled prediction");
                throw failed("the Cog server canceled the prediction");
            }
            default -> {
                finishLogs(log, prediction, completed);
                throw failed("Cog answered a prediction in status '" + status + "': " + trimmed(body));
            }
        }
    }

    /**
     * Cancels prediction {@code id} with Cog's cancel and waits {@link #CANCEL_GRACE} for it to
     * end; stops the server if it does not, or is not {@code READY} after it.
     */
    private void cancel(String id, CompletableFuture<HttpResponse<String>> response, PredictionLog log,
                        CompletableFuture<CallbackServer.Webhook> completed, String why) {
        LOG.info("cog {}: prediction {} is canceled: {}", describe(), id, why);
        boolean interrupted = false;
        HttpResponse<String> acknowledged = null;
        try {
            acknowledged = control(HttpRequest.newBuilder(base().resolve("/predictions/" + id + "/cancel"))
                    .POST(HttpRequest.BodyPublishers.noBody()));
        } catch (InterruptedException e) {
            interrupted = true; // stopped again: no time to wait for Cog
        }
        HttpResponse<String> ended = interrupted ? null : awaitQuietly(response, CANCEL_GRACE);
        JsonNode prediction = null;
        if (ended != null) {
            try {
                prediction = Json.parse(ended.body());
            } catch (IllegalArgumentException e) {
                prediction = null;
            }
        }
        if (prediction != null && TERMINAL.contains(prediction.path("status").asText())) {
            try {
                finishLogs(log, prediction, completed);
                if (checkHealth("a canceled prediction")) {
                    LOG.info("cog {}: prediction {} ended {}; the server stays up", describe(), id,
                            prediction.path("status").asText());
                }
            } catch (InterruptedException e) {
                interrupted = true;
                stopForGood("stopped while it was asked whether it is ready again");
            }
        } else {
            response.cancel(true);
            stopForGood("prediction " + id + " did not end within " + CANCEL_GRACE + " of Cog's cancel"
                    + (acknowledged == null ? " (the cancel got no answer)"
                    : " (the cancel was answered " + acknowledged.statusCode() + ")"));
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The rest of a prediction's logs: Cog leaves them out of a failed or canceled prediction's
     * answer, but its {@code completed} webhook has them, so that one is waited for a moment.
     */
    private void finishLogs(PredictionLog log, JsonNode prediction, CompletableFuture<CallbackServer.Webhook> completed)
            throws InterruptedException {
        String logs = prediction == null ? null : logsOf(prediction);
        CallbackServer.Webhook last = null;
        try {
            last = completed.get(COMPLETED_WEBHOOK_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException e) {
            // no webhook reached the worker: the answer's logs are all there is
        }
        if (last != null && last.logs() != null && (logs == null || last.logs().length() > logs.length())) {
            logs = last.logs();
        }
        log.finish(logs);
    }

    /**
     * Whether the server is {@code READY} again after {@code after}; one that is not (its model
     * process crashed: {@code UNHEALTHY}, {@code DEFUNCT}, or no answer) is stopped for good.
     */
    private boolean checkHealth(String after) throws InterruptedException {
        long deadline = System.nanoTime() + HEALTHY_WAIT.toNanos();
        while (true) {
            JsonNode health = health();
            lastHealth = health == null ? "no answer" : health.path("status").asText("no status");
            if (lastHealth.equals("READY")) {
                return true;
            }
            if (!lastHealth.equals("BUSY") || System.nanoTime() - deadline > 0) {
                stopForGood("it reads " + lastHealth + " after " + after);
                return false;
            }
            Thread.sleep(100);
        }
    }

    private static String logsOf(JsonNode prediction) {
        return prediction.path("logs").isTextual() ? prediction.path("logs").asText() : null;
    }

    /**
     * The job's input with every path of a file in its work directory made a URL Cog can read.
     * Paths anywhere else are left as they are: Ferry sends only files it put there itself.
     */
    private JsonNode inputs(JsonNode input, JobExecution job, List<String> served) throws JobFailedException {
        if (job.workDir() == null) {
            return input;
        }
        Path root;
        try {
            root = job.workDir().toRealPath();
        } catch (IOException e) {
            return input;
        }
        return withUrls(input, root, served);
    }

    private JsonNode withUrls(JsonNode node, Path root, List<String> served) throws JobFailedException {
        if (node.isTextual()) {
            Path file = fileIn(node.textValue(), root);
            if (file == null) {
                return node;
            }
            try {
                if (Files.size(file) <= dataUrlMaxBytes) {
                    return TextNode.valueOf(DataUrls.encode(DataUrls.mediaType(file), Files.readAllBytes(file)));
                }
            } catch (IOException e) {
                throw new JobFailedException("could not read input file " + file + ": " + e.getMessage(), e);
            }
            String url = callbacks.serve(file);
            served.add(url);
            return TextNode.valueOf(url);
        }
        if (node.isArray()) {
            ArrayNode copy = ((ArrayNode) node).arrayNode();
            for (JsonNode item : node) {
                copy.add(withUrls(item, root, served));
            }
            return copy;
        }
        if (node.isObject()) {
            ObjectNode copy = ((ObjectNode) node).objectNode();
            for (Map.Entry<String, JsonNode> field : node.properties()) {
                copy.set(field.getKey(), withUrls(field.getValue(), root, served));
            }
            return copy;
        }
        return node;
    }

    /** The file {@code text} names if it is an absolute path of a regular file inside {@code root}; else null. */
    private static Path fileIn(String text, Path root) {
        if (!text.startsWith("/") || text.length() > 4096) {
            return null;
        }
        try {
            Path path = Path.of(text);
            if (!Files.isRegularFile(path)) {
                return null;
            }
            Path real = path.toRealPath();
            return real.startsWith(root) ? real : null;
        } catch (InvalidPathException | IOException e) {
            return null;
        }
    }

    private static String trimmed(String body) {
        String text = body.strip();
        return text.length() <= MAX_BODY_IN_ERROR ? text : text.substring(0, MAX_BODY_IN_ERROR) + "...";
    }

    @Override
    public void close() {
        CallbackServer server = callbacks;
        if (server != null) {
            server.close();
        }
        super.close();
    }
}
