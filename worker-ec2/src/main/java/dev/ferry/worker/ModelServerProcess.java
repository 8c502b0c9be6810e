package dev.ferry.worker;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A warm handler that is an existing model server speaking HTTP on a port Ferry assigns: the
 * shell command of its job type ({@code docker run ...}, or anything that serves the model)
 * started with {@code PORT} and the slot's {@code CUDA_VISIBLE_DEVICES}, polled until its health
 * check reads ready, then sent one job at a time. What the requests look like is the contract's
 * business ({@link CogProcess}, {@link SageMakerProcess}); this is what they share: the process,
 * the port, readiness, a request that runs while the process is watched, and being stopped for
 * good when the server is past saving (a server that is alive but broken is stopped, so that
 * {@link WarmHandler} starts it again before the slot's next job).
 */
abstract class ModelServerProcess implements WarmProcess {

    private static final Logger LOG = LoggerFactory.getLogger(ModelServerProcess.class);
    /** How often readiness is asked, and a running request's process looked at. */
    static final Duration POLL = Duration.ofMillis(200);
    /**
     * How long a server that dropped a job's request is given to be seen exiting (so the error says it
     * died, with its last output). Only a dropped request waits it; 2 s was too short on a loaded machine.
     */
    static final Duration EXIT_SEEN_WAIT = Duration.ofSeconds(10);
    /** How long the output of a server that exited may take to be read to its end, for the error. */
    static final Duration OUTPUT_READ_WAIT = Duration.ofSeconds(2);
    /** How long a health check or a cancel may take. */
    static final Duration CONTROL_TIMEOUT = Duration.ofSeconds(5);
    /** Added to a job's own timeout for its HTTP request: Ferry's timeout decides, never the client's. */
    static final Duration REQUEST_MARGIN = Duration.ofMinutes(1);
    /** The worker's one client for model servers: HTTP/1.1 (no h2c upgrade), no proxy, loopback only. */
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();

    /** What a health check said. */
    record Readiness(boolean ready, String failure, String state) {
        static Readiness notYet(String state) {
            return new Readiness(false, null, state);
        }

        static Readiness ready(String state) {
            return new Readiness(true, null, state);
        }

        static Readiness failed(String state, String why) {
            return new Readiness(false, why, state);
        }
    }

    protected final Context context;
    protected final String name;
    private final String kindName;
    private volatile HandlerProcess process;
    private volatile int port;
    private volatile boolean ready;
    /** Why it takes no more jobs, once it is past saving; null while it is fine. */
    private volatile String broken;
    /** The job under way, whose log the server's output is (where the contract says so). */
    protected volatile JobExecution running;

    ModelServerProcess(Context context, String kindName) {
        this.context = Objects.requireNonNull(context, "context");
        this.kindName = kindName;
        this.name = context.spec().name().toLowerCase(Locale.ROOT) + "/slot-" + context.slot().index();
    }

    /** The variables the server gets on top of the worker's, the slot's and {@code PORT}. */
    protected abstract void environment(Map<String, String> environment, int port);

    /** Asks the server whether it is ready; never throws for a server that cannot be reached yet. */
    protected abstract Readiness readiness() throws InterruptedException;

    /** One line of the server's output (stdout and stderr together). */
    protected abstract void output(String line);

    /** Called once the process runs, before readiness is first asked. */
    protected void started() throws IOException {
    }

    @Override
    public void start() throws JobFailedException, InterruptedException {
        try {
            port = freePort();
        } catch (IOException e) {
            throw new JobFailedException("no free port for " + kindName + " server " + name + ": " + e.getMessage(), e);
        }
        Map<String, String> environment = new HashMap<>(context.environment());
        environment.put(CommandJobHandler.ENV_CUDA_VISIBLE_DEVICES, context.slot().cudaVisibleDevices());
        environment.put("FERRY_SLOT", Integer.toString(context.slot().index()));
        environment.put("PORT", Integer.toString(port));
        environment(environment, port);
        try {
            process = HandlerProcess.start(name, context.spec().command(), environment, context.workDir(), true,
                    this::output);
            started();
        } catch (IOException e) {
            throw new JobFailedException("could not start " + kindName + " server " + name + ": " + e.getMessage(), e);
        }
        long deadline = System.nanoTime() + context.spec().setupTimeout().toNanos();
        String state = "no answer";
        while (true) {
            if (!process.alive()) {
                throw new JobFailedException(kindName + " server " + name + " exited with " + process.exitCode()
                        + " before it was ready: " + tail());
            }
            Readiness readiness = readiness();
            state = readiness.state();
            if (readiness.ready()) {
                ready = true;
                return;
            }
            if (readiness.failure() != null) {
                process.stop();
                throw new JobFailedException(kindName + " server " + name + " failed its setup (" + state + "): "
                        + readiness.failure());
            }
            if (System.nanoTime() > deadline) {
                process.stop();
                throw new JobFailedException(kindName + " server " + name + " was not ready within "
                        + context.spec().setupTimeout() + " (" + JobTypes.SETUP_TIMEOUT_PREFIX + context.spec().name()
                        + "); its health check last said " + state + ": " + tail());
            }
            Thread.sleep(POLL.toMillis());
        }
    }

    /** The server's address: {@code http://127.0.0.1:<port>}. */
    protected URI base() {
        return URI.create("http://127.0.0.1:" + port);
    }

    protected int port() {
        return port;
    }

    /**
     * Sends a small control request (a health check, a cancel) and returns its answer; null when
     * the server cannot be reached or does not answer within {@link #CONTROL_TIMEOUT}.
     */
    protected HttpResponse<String> control(HttpRequest.Builder request) throws InterruptedException {
        try {
            return HTTP.send(request.timeout(CONTROL_TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Waits for a job's response while watching the process.
     *
     * @return the response; null when {@code deadlineNanos} passed first (the request still runs)
     * @throws JobFailedException the process exited, or the server dropped the connection (it has
     *     been stopped: it is past saving)
     * @throws InterruptedException the worker stopped the job; the request still runs
     */
    protected <T> HttpResponse<T> await(CompletableFuture<HttpResponse<T>> response, long deadlineNanos)
            throws JobFailedException, InterruptedException {
        while (true) {
            try {
                return response.get(POLL.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                if (!process.alive()) {
                    process.awaitOutputRead(OUTPUT_READ_WAIT);
                    throw new JobFailedException(kindName + " server " + name + " exited with " + process.exitCode()
                            + " while it ran the job: " + tail());
                }
                if (System.nanoTime() - deadlineNanos > 0) {
                    return null;
                }
            } catch (ExecutionException e) {
                // A dropped connection is most often a server that died: its exit may take a moment to be seen.
                boolean exited = process.waitFor(EXIT_SEEN_WAIT);
                if (exited) {
                    process.awaitOutputRead(OUTPUT_READ_WAIT); // its last lines, for the error
                }
                String why = kindName + " server " + name + (!exited
                        ? " dropped the job's request (" + e.getCause() + ")"
                        : " exited with " + process.exitCode() + " while it ran the job");
                stopForGood(why);
                throw new JobFailedException(why + ": " + tail(), e.getCause());
            }
        }
    }

    /** Waits up to {@code wait} for {@code response}; null if it did not come. Not interruptible: a stop is under way. */
    protected static <T> HttpResponse<T> awaitQuietly(CompletableFuture<HttpResponse<T>> response, Duration wait) {
        boolean interrupted = false;
        long deadline = System.nanoTime() + wait.toNanos();
        try {
            while (true) {
                try {
                    return response.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (TimeoutException | ExecutionException e) {
                    return null;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The failure of a job that ran past its timeout; whether it is retried is the type's rules' call. */
    protected JobFailedException timedOut(Duration timeout) {
        String reason = "timed out after " + timeout;
        return new JobFailedException(reason, context.spec().exitRules().evaluate(null, reason) == ExitRules.Action.RETRY);
    }

    /** A job's failure with {@code error}, retried unless the type's rules say otherwise. */
    protected JobFailedException failed(String error) {
        boolean retry = context.spec().exitRules().evaluate(null, error) == ExitRules.Action.RETRY;
        return new JobFailedException((retry ? "" : "(not retried) ") + error, retry);
    }

    /**
     * The server is past saving (it did not let go of a job, it stopped answering, it reports
     * itself unhealthy): it takes no more jobs and is stopped, to be started again before the
     * slot's next job.
     */
    protected void stopForGood(String why) {
        if (broken == null) {
            broken = why;
            LOG.warn("{} server {}: {}; stopping it (it is started again before the slot's next job)", kindName,
                    describe(), why);
        }
        HandlerProcess current = process;
        if (current != null && current.alive()) {
            current.stop();
        }
    }

    /** The end of the server's output, for an error message. */
    protected String tail() {
        String tail = process == null ? "" : process.tail().strip();
        return tail.isEmpty() ? "it wrote nothing" : tail;
    }

    @Override
    public boolean alive() {
        HandlerProcess current = process;
        return current != null && ready && broken == null && current.alive();
    }

    @Override
    public String describe() {
        HandlerProcess current = process;
        return current == null ? name : current + " on port " + port;
    }

    @Override
    public void close() {
        HandlerProcess current = process;
        if (current != null && current.alive()) {
            current.stop();
        }
    }

    /** A port nothing listens on now, on the loopback interface. */
    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        }
    }
}
