package dev.ferry.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.Json;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A warm handler that is a SageMaker inference container, run unchanged:
 * {@code FERRY_SAGEMAKER_<TYPE>} is the command that serves it (on AWS
 * {@code docker run ... <image> serve}), told its port as SageMaker does
 * ({@code SAGEMAKER_BIND_TO_PORT}, and {@code PORT} too).
 *
 * <ul>
 *   <li>Ready: {@code GET /ping} answers 200.</li>
 *   <li>A job: {@code POST /invocations} with the job's input as the body
 *       ({@code application/json}). A 2xx answer in JSON is the result (its {@code data:} URLs
 *       written as files, as for Cog); any other content type (an image, audio, CSV) is written
 *       as a file, {@code output.<ext>}, and the result is {@code {"file": "output.png",
 *       "contentType": "image/png"}}. Any other status fails the attempt with the answer's body
 *       as the error (retried unless the type's {@link ExitRules} say otherwise).</li>
 *   <li>Logs: what the container prints while a job runs is that job's log.</li>
 *   <li>Stop: the contract has no cancel, so a job past its timeout, or one the worker stops,
 *       stops the container; it is started again before the slot's next job.</li>
 * </ul>
 */
final class SageMakerProcess extends ModelServerProcess {

    private static final Logger LOG = LoggerFactory.getLogger(SageMakerProcess.class);
    private static final int MAX_BODY_IN_ERROR = 4000;

    SageMakerProcess(Context context) {
        super(context, "SageMaker");
    }

    @Override
    protected void environment(Map<String, String> environment, int port) {
        environment.put("SAGEMAKER_BIND_TO_PORT", Integer.toString(port));
    }

    @Override
    protected Readiness readiness() throws InterruptedException {
        HttpResponse<String> ping = control(HttpRequest.newBuilder(base().resolve("/ping")).GET());
        if (ping == null) {
            return Readiness.notYet("no answer");
        }
        return ping.statusCode() == 200 ? Readiness.ready("200") : Readiness.notYet("HTTP " + ping.statusCode());
    }

    @Override
    protected void output(String line) {
        JobExecution job = running;
        if (job != null) {
            job.events().log(line);
        } else {
            LOG.info("sagemaker {}: {}", name, line);
        }
    }

    @Override
    public String run(JobExecution job, Duration timeout) throws JobFailedException, InterruptedException {
        running = job;
        try {
            HttpRequest post = HttpRequest.newBuilder(base().resolve("/invocations"))
                    .header("Content-Type", "application/json")
                    .header("Accept", "application/json, */*;q=0.5")
                    .timeout(timeout.plus(REQUEST_MARGIN))
                    .POST(HttpRequest.BodyPublishers.ofString(job.inputJson(), StandardCharsets.UTF_8))
                    .build();
            long deadline = System.nanoTime() + timeout.toNanos();
            CompletableFuture<HttpResponse<byte[]>> response = HTTP.sendAsync(post,
                    HttpResponse.BodyHandlers.ofByteArray());
            HttpResponse<byte[]> answer;
            try {
                answer = await(response, deadline);
            } catch (InterruptedException e) {
                response.cancel(true);
                stopForGood("the worker stopped its job, and the contract has no cancel");
                throw e;
            }
            if (answer == null) {
                response.cancel(true);
                stopForGood("its job ran past its timeout of " + timeout + ", and the contract has no cancel");
                throw timedOut(timeout);
            }
            return outcome(answer, job);
        } finally {
            running = null;
        }
    }

    private String outcome(HttpResponse<byte[]> answer, JobExecution job) throws JobFailedException, InterruptedException {
        byte[] body = answer.body() == null ? new byte[0] : answer.body();
        if (answer.statusCode() / 100 != 2) {
            String text = new String(body, StandardCharsets.UTF_8).strip();
            if (text.length() > MAX_BODY_IN_ERROR) {
                text = text.substring(0, MAX_BODY_IN_ERROR) + "...";
            }
            String error = "/invocations answered " + answer.statusCode() + ": " + (text.isEmpty() ? "no body" : text);
            HttpResponse<String> ping = control(HttpRequest.newBuilder(base().resolve("/ping")).GET());
            if (ping == null || ping.statusCode() != 200) {
                stopForGood("/ping answers " + (ping == null ? "nothing" : ping.statusCode()) + " after a failed job");
                error += " (the container no longer answers /ping with 200; it is started again)";
            }
            throw failed(error);
        }
        String contentType = answer.headers().firstValue("Content-Type").orElse("application/json");
        String type = contentType.toLowerCase(Locale.ROOT).split(";")[0].strip();
        boolean json = type.equals("application/json") || type.endsWith("+json");
        try {
            if (json) {
                JsonNode result;
                try {
                    result = Json.MAPPER.readTree(body);
                } catch (IOException e) {
                    result = null;
                }
                if (result == null || result.isMissingNode()) {
                    throw new JobFailedException("(not retried) /invocations answered " + contentType
                            + " that is not JSON: " + new String(body, 0, Math.min(body.length, 200),
                            StandardCharsets.UTF_8), false);
                }
                return DataUrls.writeFiles(result, job.outputDir()).toString();
            }
            if (job.outputDir() == null) {
                throw new JobFailedException("(not retried) /invocations answered " + contentType
                        + ", and this job has no output directory to keep it in", false);
            }
            String file = "output." + DataUrls.extension(type);
            Files.createDirectories(job.outputDir());
            Files.write(job.outputDir().resolve(file), body);
            ObjectNode result = Json.MAPPER.createObjectNode().put("file", file).put("contentType", contentType);
            return result.toString();
        } catch (IOException e) {
            throw new JobFailedException("could not write the answer into " + job.outputDir() + ": " + e.getMessage(), e);
        }
    }
}
