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
 * handler → worker   {"ready": true, "logEnd": true}                   once, when its model is loaded
 * worker → handler   {"id": "01J...:2", "jobId": "01J...", "type": "sd", "attempt": 2,
 *                     "input": {...}, "outputDir": "/var/lib/ferry/work/01J...-2/outputs"}
 * handler → worker   {"id": "01J...:2", "progress": 0.4, "message": "step 8 of 20"}   any number
 * handler → worker   {"id": "01J...:2", "result": {...}}                              one, or
 *                    {"id": "01J...:2", "error": "bad prompt", "retry": false}
 * </pre>
 *
 * <p>Its stderr is the job's log. A stdout line that is not one of these (a stray print) is kept
 * as a log line too. The two pipes are read by two threads, so a log line written just before the
 * answer may be read just after it: a handler that says {@code "logEnd": true} in its ready line
 * writes the line {@value #LOG_END}{@code <id>} on stderr before each answer, and the answer waits
 * for it ({@link #LOG_READ_WAIT} at most); for one that does not, the answer waits until the
 * stderr reader has sat idle for {@link HandlerProcess#LOG_QUIET} (10 ms or more a job). A
 * handler that exits while it runs a job fails that attempt with the end of its output as the error; one that runs past the job's timeout, or whose job the worker stops,
 * is stopped (and started again, model and all, before the slot takes another job): a Python
 * handler cannot be interrupted mid-call more gently than that. An error with {@code "retry":
 * false} fails the job at once; any other error is an attempt that failed.
 */
final class LineProtocolProcess implements WarmProcess {

    private static final Logger LOG = LoggerFactory.getLogger(LineProtocolProcess.class);

    /** The longest protocol line read whole; a result over it fails its job, saying so. */
    static final int PROTOCOL_LINE_MAX_BYTES = 16 * 1024 * 1024;

    private final Context context;
    private final String name;
    private final CountDownLatch ready = new CountDownLatch(1);
    /** Volatile: a close from another thread may come while {@link #start} is under way. */
    private volatile HandlerProcess process;
    private volatile OutputStream stdin;
    /** Set while a request is being written: a close must then stop the process, not wait on the pipe. */
    private volatile boolean writing;
    private volatile boolean closed;
    /** The job under way: its events and how it ends. */
    private volatile Running running;
    /**
     * Where log lines go between jobs: the last job's log, until the next job starts. What a
     * handler wrote on stderr just before its result may be read a moment after the result.
     */
    private volatile JobEvents lastLog;
    /** The longest an answer waits for the log lines written before it to be read ({@link HandlerProcess#awaitLogRead}). */
    static final Duration LOG_READ_WAIT = Duration.ofMillis(250);

    /** Starts the stderr line a handler that said {@code "logEnd": true} writes after a job's log (RS, then a name). */
    static final String LOG_END = "\u001eferry-log-end ";
    /** Whether the answers wait for the handler's log-end marks: it said {@code "logEnd": true}, and marks come. */
    private volatile boolean marksLogEnd;
    /** Whether it said {@code "logEnd": true} when ready. */
    private volatile boolean declaredLogEnd;
    /** The id of the last job whose log-end mark was read. */
    private String logEndedFor;
    private final Object logEnds = new Object();

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
        if (closed) {
            process.stop();
            throw new InterruptedException("handler " + name + " closed while it started");
        }
        stdin = process.stdin();
        process.readLines(process.stdout(), PROTOCOL_LINE_MAX_BYTES, false, this::stdout, name + "-stdout");
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
        long deadline = System.nanoTime() + timeout.toNanos();
        String id = job.jobId() + ":" + job.attempt();
        Running current = new Running(id, job, new CompletableFuture<>());
        running = current;
        lastLog = job.events();
        try {
            send(request(id, job), job, timeout, deadline);
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
                    throw timedOut(job, timeout);
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

    /**
     * The request line. The input goes in as the record holds it, never parsed and written again,
     * so that no number loses digits on the way.
     */
    private static String request(String id, JobExecution job) {
        ObjectNode head = Json.MAPPER.createObjectNode()
                .put("id", id).put("jobId", job.jobId()).put("type", job.type()).put("attempt", job.attempt());
        if (job.outputDir() != null) {
            head.put("outputDir", job.outputDir().toString());
        }
        String fields = head.toString();
        return fields.substring(0, fields.length() - 1) + ",\"input\":" + job.inputJson().strip() + "}\n";
    }

    /**
     * Writes the request on a thread of its own: a handler that stops reading its stdin must not
     * hold the job past its timeout, nor the worker's drain. Waiting on the write is waiting on
     * the job: a timeout or a stop ends the process, which breaks the pipe.
     */
    private void send(String request, JobExecution job, Duration timeout, long deadline)
            throws JobFailedException, InterruptedException {
        byte[] bytes = request.getBytes(StandardCharsets.UTF_8);
        CompletableFuture<Void> written = CompletableFuture.runAsync(() -> {
            writing = true;
            try {
                stdin.write(bytes);
                stdin.flush();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            } finally {
                writing = false;
            }
        }, runnable -> {
            Thread writer = new Thread(runnable, "ferry-" + name + "-stdin");
            writer.setDaemon(true);
            writer.start();
        });
        Running current = running;
        while (true) {
            try {
                written.get(100, TimeUnit.MILLISECONDS);
                return;
            } catch (TimeoutException e) {
                // An answer may come before the whole request is read (a handler that refuses it early).
                if (current != null && current.outcome().isDone()) {
                    return;
                }
                if (!process.alive()) {
                    throw died("exited before it read the whole job");
                }
                if (System.nanoTime() > deadline) {
                    throw timedOut(job, timeout);
                }
            } catch (ExecutionException e) {
                throw died("could not be sent the job (" + e.getCause().getMessage() + ")");
            } catch (InterruptedException e) {
                process.stop(); // unblocks the writer: its pipe breaks
                throw e;
            }
        }
    }

    private JobFailedException timedOut(JobExecution job, Duration timeout) {
        LOG.warn("handler {}: job {} ran past its timeout of {}; stopping the handler", name, job.jobId(), timeout);
        process.stop();
        String reason = "timed out after " + timeout;
        return new JobFailedException(reason, context.spec().exitRules().evaluate(null, reason) == ExitRules.Action.RETRY);
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

    /** A stderr line: the running (or last) job's log, or the mark that a job's log is complete. */
    private void stderr(String line) {
        int mark = line.indexOf(LOG_END);
        if (mark >= 0) {
            if (mark > 0) {
                stderr(line.substring(0, mark)); // the job's last words, written without a newline
            }
            synchronized (logEnds) {
                logEndedFor = line.substring(mark + LOG_END.length()).strip();
                logEnds.notifyAll();
            }
            if (declaredLogEnd) {
                marksLogEnd = true; // marks come again after one was missed (a stall, a cut line)
            }
            return;
        }
        JobEvents log = lastLog;
        if (log != null) {
            log.log(line);
        }
        if (running == null) {
            LOG.info("handler {}: {}", name, line); // between jobs: the worker's log has it too
        }
    }

    /**
     * A stdout line: a protocol message, else a log line. A line that names the running job but is
     * not a message Ferry can read (cut at {@value #PROTOCOL_LINE_MAX_BYTES} bytes, or not JSON:
     * a NaN in a result) fails the job at once, rather than leaving it to run into its timeout.
     */
    private void stdout(String line, long cut) {
        Running current = running;
        boolean forCurrent = current != null && line.startsWith("{") && namesJob(line, current.id());
        JsonNode message = null;
        if (line.startsWith("{") && cut == 0) {
            try {
                message = Json.parse(line);
            } catch (IllegalArgumentException e) {
                message = null;
            }
        }
        if (message == null || !message.isObject()) {
            if (forCurrent) {
                String why = cut > 0 ? "a line over " + PROTOCOL_LINE_MAX_BYTES + " bytes (write large results to"
                        + " files in outputDir)" : "a line that is not JSON (NaN and Infinity are not JSON numbers)";
                current.outcome().completeExceptionally(new JobFailedException("handler " + name + " answered with "
                        + why + ": " + abbreviate(line), false));
                return;
            }
            stderr(cut == 0 ? line : abbreviate(line) + " … (" + cut + " more bytes left out)");
            return;
        }
        if (message.path("ready").asBoolean(false)) {
            declaredLogEnd = message.path("logEnd").asBoolean(false);
            marksLogEnd = declaredLogEnd;
            ready.countDown();
            return;
        }
        String id = message.path("id").asText(null);
        if (current == null || id == null || !id.equals(current.id())) {
            if (id != null) {
                LOG.warn("handler {}: a message for {}, which it is not running: {}", name, id, abbreviate(line));
            } else {
                stderr(line);
            }
            return;
        }
        if (message.has("result") || message.has("error")) {
            // What it wrote on stderr before its answer belongs to this job's log, not the next one's.
            awaitLogEnd(current.id());
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

    /**
     * Until what the handler wrote on stderr before answering job {@code id} has been read: its
     * log-end mark where it writes one, else a quiet stderr reader; {@link #LOG_READ_WAIT} at most.
     */
    private void awaitLogEnd(String id) {
        if (!marksLogEnd) {
            HandlerProcess handler = process;
            if (handler != null) {
                handler.awaitLogRead(LOG_READ_WAIT);
            }
            return;
        }
        long deadline = System.nanoTime() + LOG_READ_WAIT.toNanos();
        synchronized (logEnds) {
            long left;
            while (!id.equals(logEndedFor) && (left = deadline - System.nanoTime()) > 0) {
                try {
                    TimeUnit.NANOSECONDS.timedWait(logEnds, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            if (!id.equals(logEndedFor)) {
                // A handler that said logEnd but does not write the marks would cost every job this wait.
                marksLogEnd = false;
                LOG.warn("handler {}: no log-end mark for {} within {} although it said \"logEnd\": true; waiting"
                        + " for a quiet stderr until a mark comes again", name, id, LOG_READ_WAIT);
            }
        }
    }

    /** Whether a line that could not be read names {@code id} as its job (however it is spaced). */
    private static boolean namesJob(String line, String id) {
        return java.util.regex.Pattern.compile("\"id\"\\s*:\\s*\"" + java.util.regex.Pattern.quote(id) + "\"")
                .matcher(line.length() > 4096 ? line.substring(0, 4096) : line).find();
    }

    private static String abbreviate(String line) {
        return line.length() <= 300 ? line : line.substring(0, 300) + "…";
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
        closed = true;
        HandlerProcess current = process;
        if (current == null || !current.alive()) {
            return;
        }
        if (writing) {
            current.stop(); // a write blocked on a full pipe would hold stdin's lock: no gentle end of input
            return;
        }
        try {
            stdin.close(); // end of input: a well-behaved handler exits by itself
            if (!current.waitFor(Duration.ofSeconds(2))) {
                current.stop();
            }
        } catch (IOException e) {
            current.stop();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            current.stop();
        }
    }
}
