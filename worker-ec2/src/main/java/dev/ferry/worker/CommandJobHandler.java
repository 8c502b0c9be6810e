package dev.ferry.worker;

import dev.ferry.core.FerryEnv;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs each job as a program: the command line configured for the job's type, through
 * {@code /bin/sh -c}.
 *
 * <p>The program's contract:
 *
 * <ul>
 *   <li>stdin: the job's input JSON, then end of file;
 *   <li>environment: the worker's own, plus {@value #ENV_CUDA_VISIBLE_DEVICES} (the job's
 *       {@link GpuSlot}), {@value #ENV_JOB_ID}, {@value #ENV_JOB_TYPE}, {@value #ENV_ATTEMPT}
 *       (1 on the first run) and {@value #ENV_OUTPUT_DIR} (files written there become the job's
 *       files); it runs in the worker's working directory, so relative paths in the command
 *       line mean what they meant when the worker started;
 *   <li>stdout: the result, one JSON document and nothing else, at most
 *       {@value #DEFAULT_MAX_OUTPUT_BYTES} bytes unless configured otherwise (sized to fit in a
 *       DynamoDB item, 400 KB at most, beside the rest of the job's record);
 *   <li>stderr: free text, the job's log; its last {@value #STDERR_TAIL_BYTES} bytes become the
 *       job's error when the program exits with a non-zero code. A line
 *       {@code ferry:progress <fraction> [message]} ({@code ferry:progress 0.4 step 8 of 20}) is the
 *       job's progress instead: a fraction from 0 to 1 and an optional short text, shown by
 *       {@code GET /jobs/{jobId}}; it is neither a log line nor part of the error;
 *   <li>exit code 0 means success; any other is a failed attempt, retried with back-off until
 *       the job is out of attempts, except exit code {@value ExitRules#NO_RETRY_EXIT_CODE}
 *       ("do not retry": bad input), which fails the job at once, and whatever the type's
 *       {@link ExitRules} ({@code FERRY_EVALUATE_ON_EXIT[_<TYPE>]}) decide. Output that is not JSON,
 *       or over the limit, is not retried either: the same run would print it again.
 * </ul>
 *
 * <p>A program that runs past its timeout, prints more than the limit, or whose worker interrupts
 * it, is stopped together with
 * every process it started: SIGTERM, {@link #KILL_GRACE} to exit, then SIGKILL.
 * Processes that it leaves running in the background when it exits by itself are no longer its
 * descendants and cannot be found; a command must wait for what it starts.
 */
public final class CommandJobHandler implements JobHandler {

    /** Prefix of the variable that holds a job type's command line: {@code FERRY_COMMAND_<TYPE>}. */
    public static final String ENV_COMMAND_PREFIX = WorkerConfig.COMMAND_PREFIX;
    /** Prefix of the variable that holds a job type's timeout: {@code FERRY_TIMEOUT_<TYPE>}. */
    public static final String ENV_TIMEOUT_PREFIX = WorkerConfig.TIMEOUT_PREFIX;
    /** Timeout of job types that have no {@code FERRY_TIMEOUT_<TYPE>}. */
    public static final String ENV_JOB_TIMEOUT = WorkerConfig.JOB_TIMEOUT;
    /** Used when {@value #ENV_JOB_TIMEOUT} is not set. */
    public static final Duration DEFAULT_JOB_TIMEOUT = JobTypes.DEFAULT_JOB_TIMEOUT;
    /** The longest a job may run ({@link JobTypes#MAX_TIMEOUT}). */
    public static final Duration MAX_TIMEOUT = JobTypes.MAX_TIMEOUT;

    /** Set for the program: the GPU it may use, from {@link GpuSlot#cudaVisibleDevices()}. */
    public static final String ENV_CUDA_VISIBLE_DEVICES = "CUDA_VISIBLE_DEVICES";
    /** Set for the program: Ferry's job id. */
    public static final String ENV_JOB_ID = "FERRY_JOB_ID";
    /** Set for the program: the job's type, as submitted. */
    public static final String ENV_JOB_TYPE = "FERRY_JOB_TYPE";
    /** Set for the program: which run of the job this is, counting from 1. */
    public static final String ENV_ATTEMPT = "FERRY_ATTEMPT";
    /** Set for a warm handler: the index of its GPU slot. */
    public static final String ENV_SLOT = "FERRY_SLOT";
    /** Set for the program where the attempt has a work directory: files written there become the job's files. */
    public static final String ENV_OUTPUT_DIR = "FERRY_OUTPUT_DIR";

    /** The most a program may print on stdout unless the constructor says otherwise. */
    public static final int DEFAULT_MAX_OUTPUT_BYTES = 256 * 1024;
    /** How much of the end of stderr is kept for the job's error. */
    public static final int STDERR_TAIL_BYTES = 4 * 1024;
    /**
     * How long a program that is being stopped has between SIGTERM and SIGKILL. Stopping one takes
     * at most twice this (the second wait is for SIGKILL to land).
     */
    public static final Duration KILL_GRACE = Duration.ofSeconds(5);

    private static final Logger LOG = LoggerFactory.getLogger(CommandJobHandler.class);

    /** How a program reports progress: a stderr line that starts with this, then a fraction and a message. */
    public static final String PROGRESS_PREFIX = "ferry:progress ";

    private static final String SHELL = "/bin/sh";
    private static final byte[] PROGRESS_PREFIX_BYTES = PROGRESS_PREFIX.getBytes(StandardCharsets.UTF_8);
    private static final Pattern PROGRESS = Pattern.compile("ferry:progress[ \\t]+([0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
            + "(?:[ \\t]+(.*))?");
    /** How long the pipes may stay open once the program has exited (a background child holds them). */
    private static final Duration PIPE_CLOSE_GRACE = Duration.ofSeconds(2);
    private static final long POLL_MILLIS = 10;
    private static final int NOT_JSON_PREFIX_CHARS = 120;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            // Keep decimals exactly as the program printed them, not rounded through double.
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .build();

    /**
     * What to run for one job type.
     *
     * @param command a shell command line, run with {@code /bin/sh -c}
     * @param timeout how long one run may take before it is killed; positive
     */
    public record CommandSpec(String command, Duration timeout, ExitRules exitRules) {
        /**
         * @param command a shell command line; not blank
         * @param timeout positive, at most {@link #MAX_TIMEOUT}
         * @param exitRules which failures are worth another attempt
         * @throws IllegalArgumentException the command is blank or the timeout out of range
         */
        public CommandSpec {
            Objects.requireNonNull(command, "command");
            Objects.requireNonNull(timeout, "timeout");
            Objects.requireNonNull(exitRules, "exitRules");
            if (command.isBlank()) {
                throw new IllegalArgumentException("command is blank");
            }
            if (timeout.isZero() || timeout.isNegative() || timeout.compareTo(MAX_TIMEOUT) > 0) {
                throw new IllegalArgumentException("timeout must be positive and at most " + MAX_TIMEOUT
                        + " (SQS keeps a message out of sight for 12 hours at most, less one lease), got " + timeout);
            }
        }

        /** A command with the default rules: exit code {@value ExitRules#NO_RETRY_EXIT_CODE} is not retried. */
        public CommandSpec(String command, Duration timeout) {
            this(command, timeout, ExitRules.none());
        }
    }

    private final Map<String, CommandSpec> bySuffix;
    private final int maxOutputBytes;
    private final String shell;
    private final Map<String, String> baseEnvironment;

    /**
     * @param byType the command of each job type. A type is matched through {@link #envSuffix},
     *     the rule that names its environment variables, so {@code "sd-xl"} and {@code "SD_XL"}
     *     are the same type here
     * @throws IllegalArgumentException two keys are the same type
     */
    public CommandJobHandler(Map<String, CommandSpec> byType) {
        this(byType, DEFAULT_MAX_OUTPUT_BYTES);
    }

    /**
     * @param byType as in {@link #CommandJobHandler(Map)}
     * @param maxOutputBytes the most a program may print on stdout; positive
     */
    public CommandJobHandler(Map<String, CommandSpec> byType, int maxOutputBytes) {
        this(byType, maxOutputBytes, System.getenv(), SHELL);
    }

    /**
     * @param byType as in {@link #CommandJobHandler(Map)}
     * @param maxOutputBytes the most a program may print on stdout; positive
     * @param baseEnvironment the environment every program starts from (the worker's own
     *     configuration, which the local stack keeps apart from the JVM's real environment)
     */
    public CommandJobHandler(Map<String, CommandSpec> byType, int maxOutputBytes, Map<String, String> baseEnvironment) {
        this(byType, maxOutputBytes, baseEnvironment, SHELL);
    }

    /** For tests: {@code shell} replaces {@code /bin/sh}. */
    CommandJobHandler(Map<String, CommandSpec> byType, int maxOutputBytes, String shell) {
        this(byType, maxOutputBytes, System.getenv(), shell);
    }

    private CommandJobHandler(Map<String, CommandSpec> byType, int maxOutputBytes, Map<String, String> baseEnvironment,
                              String shell) {
        if (maxOutputBytes <= 0) {
            throw new IllegalArgumentException("maxOutputBytes must be positive, got " + maxOutputBytes);
        }
        Map<String, String> typeBySuffix = new HashMap<>();
        Map<String, CommandSpec> specs = new HashMap<>();
        byType.forEach((type, spec) -> {
            String suffix = envSuffix(type);
            String other = typeBySuffix.putIfAbsent(suffix, type);
            if (other != null) {
                throw new IllegalArgumentException("job types '" + other + "' and '" + type
                        + "' are the same type: both are " + ENV_COMMAND_PREFIX + suffix);
            }
            specs.put(suffix, Objects.requireNonNull(spec, type));
        });
        this.bySuffix = Map.copyOf(specs);
        this.maxOutputBytes = maxOutputBytes;
        this.shell = Objects.requireNonNull(shell, "shell");
        this.baseEnvironment = Map.copyOf(baseEnvironment);
    }

    /**
     * Reads the commands from the environment: {@code FERRY_COMMAND_<TYPE>} is a job type's
     * command line, {@code FERRY_TIMEOUT_<TYPE>} its timeout, {@value #ENV_JOB_TIMEOUT} the timeout
     * of types without one (default 1 hour). A timeout is a number of seconds ({@code 90}) or an
     * ISO-8601 duration ({@code PT90S}). {@code <TYPE>} is {@link #envSuffix} of the job type.
     *
     * @param env the environment, usually {@link System#getenv()}
     * @return a handler for every job type that has a command; one with none fails every job
     * @throws IllegalArgumentException a variable is malformed; the message names it
     */
    public static CommandJobHandler fromEnvironment(Map<String, String> env) {
        return fromTypes(JobTypes.fromEnvironment(env), env);
    }

    /** A handler for the {@link JobTypes.Kind#COMMAND} types of {@code types}. */
    static CommandJobHandler fromTypes(Map<String, JobTypes.Spec> types, Map<String, String> env) {
        Map<String, CommandSpec> byType = new TreeMap<>();
        types.values().stream().filter(spec -> spec.kind() == JobTypes.Kind.COMMAND).forEach(spec ->
                byType.put(spec.name(), new CommandSpec(spec.command(), spec.timeout(), spec.exitRules())));
        if (byType.isEmpty()) {
            LOG.info("no {}<TYPE> variable is set: no job type runs as a command per job", ENV_COMMAND_PREFIX);
        } else {
            LOG.info("commands configured for job types {}", byType.entrySet().stream()
                    .map(e -> e.getKey() + " (timeout " + e.getValue().timeout() + ")")
                    .collect(Collectors.joining(", ")));
        }
        return new CommandJobHandler(byType, DEFAULT_MAX_OUTPUT_BYTES, env);
    }

    /**
     * The {@code <TYPE>} part of the variables of a job type.
     *
     * @param type a job type, such as {@code "sd-xl.v2"}
     * @return the type in upper case ({@link Locale#ROOT}), every character outside
     *     {@code [A-Z0-9]} replaced by {@code _}: {@code "SD_XL_V2"}
     */
    public static String envSuffix(String type) {
        return JobTypes.envSuffix(type);
    }

    /** The type's timeout; the default one for a type without a command (its jobs fail at once). */
    @Override
    public Duration timeout(String type) {
        return command(type).map(CommandSpec::timeout).orElse(DEFAULT_JOB_TIMEOUT);
    }

    /**
     * @param type a job type, matched through {@link #envSuffix}
     * @return what runs a job of that type; empty when nothing does
     */
    public Optional<CommandSpec> command(String type) {
        return Optional.ofNullable(bySuffix.get(envSuffix(type)));
    }

    /**
     * Runs the job's program and returns what it printed on stdout, as compact JSON.
     *
     * @throws JobFailedException no command for the type, the program could not start, exited with
     *     a non-zero code, timed out, printed too much or printed something that is not JSON
     * @throws InterruptedException the calling thread was interrupted; the program and every
     *     process it started have been killed
     */
    @Override
    public String run(JobExecution job) throws JobFailedException, InterruptedException {
        CommandSpec spec = command(job.type()).orElseThrow(() -> new JobFailedException("no command for job type '"
                + job.type() + "': set " + ENV_COMMAND_PREFIX + envSuffix(job.type()) + " on the worker"));
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        ProcessBuilder builder = new ProcessBuilder(shell, "-c", spec.command());
        Map<String, String> environment = builder.environment();
        environment.clear();
        environment.putAll(baseEnvironment);
        environment.put(ENV_CUDA_VISIBLE_DEVICES, job.slot().cudaVisibleDevices());
        environment.put(ENV_JOB_ID, job.jobId());
        environment.put(ENV_JOB_TYPE, job.type());
        environment.put(ENV_ATTEMPT, String.valueOf(job.attempt()));
        if (job.outputDir() != null) {
            environment.put(ENV_OUTPUT_DIR, job.outputDir().toString());
        }
        long startNanos = System.nanoTime();
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new JobFailedException("could not start " + shell + " for job type '" + job.type() + "': "
                    + e.getMessage(), e);
        }
        LOG.info("job {} ({}, attempt {}) started as pid {} on slot {} ({}={})", job.jobId(), job.type(),
                job.attempt(), process.pid(), job.slot().index(), ENV_CUDA_VISIBLE_DEVICES,
                job.slot().cudaVisibleDevices());

        String threadPrefix = "ferry-job-" + job.jobId() + "-";
        byte[] input = job.inputJson().getBytes(StandardCharsets.UTF_8);
        startDaemon(threadPrefix + "stdin", () -> writeAndClose(process.getOutputStream(), input, job));
        CompletableFuture<byte[]> stdout = readAsync(threadPrefix + "stdout",
                () -> process.getInputStream().readNBytes(maxOutputBytes + 1));
        CompletableFuture<byte[]> stderr = readAsync(threadPrefix + "stderr",
                () -> readTail(process.getErrorStream(), STDERR_TAIL_BYTES, job.events()));

        int exitCode = awaitExit(process, stdout, job, spec, startNanos);
        LOG.info("job {} ({}) pid {} exited with {} after {} ms", job.jobId(), job.type(), process.pid(),
                exitCode, millisSince(startNanos));
        byte[] out = awaitPipe(stdout, exitCode);
        byte[] err = awaitPipe(stderr, exitCode);
        if (exitCode != 0) {
            String tail = new String(err, StandardCharsets.UTF_8).trim();
            boolean retry = spec.exitRules().evaluate(exitCode, tail) == ExitRules.Action.RETRY;
            throw new JobFailedException("exit " + exitCode + (retry ? "" : " (not retried)") + ": "
                    + (tail.isEmpty() ? "nothing on stderr" : tail), retry);
        }
        if (out.length > maxOutputBytes) {
            throw outputTooBig();
        }
        return compactJson(out);
    }

    /**
     * Waits until the program exits, within its timeout, and kills its process tree when it runs
     * out of time, prints too much, or the calling thread is interrupted.
     */
    private int awaitExit(Process process, CompletableFuture<byte[]> stdout, JobExecution job, CommandSpec spec,
            long startNanos) throws JobFailedException, InterruptedException {
        Duration timeout = spec.timeout();
        long deadline = startNanos + timeout.toNanos();
        try {
            // Either the program exits, or stdout ends: closed early, or over the limit.
            CompletableFuture.anyOf(process.onExit(), stdout).get(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            if (stdout.isDone() && !stdout.isCompletedExceptionally() && stdout.join().length > maxOutputBytes) {
                killTree(process, job, startNanos, "its output is over the limit");
                throw outputTooBig();
            }
            if (!process.waitFor(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)) {
                throw new TimeoutException();
            }
            return process.exitValue();
        } catch (TimeoutException e) {
            killTree(process, job, startNanos, "it timed out");
            String reason = "timed out after " + timeout;
            throw new JobFailedException(reason, spec.exitRules().evaluate(null, reason) == ExitRules.Action.RETRY);
        } catch (InterruptedException e) {
            killTree(process, job, startNanos, "the worker interrupted it");
            throw e;
        } catch (ExecutionException e) {
            killTree(process, job, startNanos, "its stdout could not be read");
            throw new JobFailedException("could not read the program's stdout: " + e.getCause(), e.getCause());
        }
    }

    /** What a pipe read once the program has exited: its reader finishes as soon as the pipe closes. */
    private static byte[] awaitPipe(CompletableFuture<byte[]> pipe, int exitCode)
            throws JobFailedException, InterruptedException {
        try {
            return pipe.get(PIPE_CLOSE_GRACE.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new JobFailedException("exit " + exitCode + ", but a process it started in the background still "
                    + "holds its stdout or stderr open; the command must wait for the processes it starts");
        } catch (ExecutionException e) {
            throw new JobFailedException("could not read the program's output: " + e.getCause(), e.getCause());
        }
    }

    /**
     * Stops the program and everything it started: SIGTERM to all, {@link #KILL_GRACE} to exit,
     * then SIGKILL to what is left. Never throws; an interrupt that arrives meanwhile is kept as
     * the thread's interrupt status.
     */
    private static void killTree(Process process, JobExecution job, long startNanos, String why) {
        // Collected before anything is killed: once a process dies, the OS hands its children to
        // init and they are no longer found among its descendants.
        List<ProcessHandle> tree = new ArrayList<>();
        tree.add(process.toHandle());
        process.descendants().forEach(tree::add);
        LOG.info("job {} ({}) pid {} killed after {} ms because {}, with its {} descendant(s)", job.jobId(),
                job.type(), process.pid(), millisSince(startNanos), why, tree.size() - 1);
        tree.forEach(ProcessHandle::destroy);
        boolean interrupted = awaitDeath(tree, KILL_GRACE);
        List<ProcessHandle> survivors = new ArrayList<>();
        for (ProcessHandle handle : tree) {
            if (isRunning(handle)) {
                survivors.add(handle);
                handle.descendants().forEach(survivors::add); // started after the first look
            }
        }
        if (!survivors.isEmpty()) {
            survivors.forEach(ProcessHandle::destroyForcibly);
            interrupted |= awaitDeath(survivors, KILL_GRACE);
            List<Long> unkillable = survivors.stream().filter(CommandJobHandler::isRunning).map(ProcessHandle::pid)
                    .toList();
            if (!unkillable.isEmpty()) {
                LOG.warn("job {}: pids {} are still alive after SIGKILL", job.jobId(), unkillable);
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Polls until none of {@code processes} is alive or {@code grace} has passed. Processes that are
     * not this JVM's children give no prompt exit notice, hence the polling.
     *
     * @return whether the thread was interrupted meanwhile (the wait goes on regardless)
     */
    private static boolean awaitDeath(List<ProcessHandle> processes, Duration grace) {
        boolean interrupted = false;
        long deadline = System.nanoTime() + grace.toNanos();
        while (processes.stream().anyMatch(CommandJobHandler::isRunning) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        return interrupted;
    }

    /**
     * Alive and not a zombie. A zombie has exited and freed its memory and GPU, and waits only for
     * its parent, or init, to reap it; {@link ProcessHandle#isAlive} counts it alive, and in a
     * container whose init never reaps, it stays so.
     */
    private static boolean isRunning(ProcessHandle process) {
        if (!process.isAlive()) {
            return false;
        }
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(process.pid()), "stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z'; // "pid (comm) state ..."
        } catch (IOException e) {
            return true; // no /proc (not Linux), or reaped just now: the next look decides
        }
    }

    private static void writeAndClose(OutputStream stdin, byte[] input, JobExecution job) {
        try (stdin) {
            stdin.write(input);
        } catch (IOException e) {
            // The program may exit, or close its stdin, without reading all of it: its exit code
            // and output say whether it did its job.
            LOG.debug("job {}: stdin not fully written: {}", job.jobId(), e.toString());
        }
    }

    /** A progress line, read: {@code ferry:progress 0.4 step 8 of 20}. */
    record ProgressLine(double fraction, String message) {
    }

    /** The progress a stderr line reports, or empty when it is not a well-formed progress line. */
    static Optional<ProgressLine> progressLine(String line) {
        java.util.regex.Matcher matcher = PROGRESS.matcher(line.strip());
        if (!matcher.matches()) {
            return Optional.empty();
        }
        double fraction = Double.parseDouble(matcher.group(1));
        String message = matcher.group(2) == null || matcher.group(2).isBlank() ? null : matcher.group(2).strip();
        return Double.isFinite(fraction) ? Optional.of(new ProgressLine(fraction, message)) : Optional.empty();
    }

    /**
     * Reads stderr to its end and returns its last {@code limit} bytes, progress lines left out;
     * every complete line also goes to {@code events}: a progress line as progress, any other as a
     * log line.
     */
    private static byte[] readTail(InputStream in, int limit, JobEvents events) throws IOException {
        Tail tail = new Tail(limit);
        byte[] chunk = new byte[8192];
        java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();
        boolean decided = false; // whether this line is known to be a progress line or not
        boolean progress = false;
        for (int n; (n = in.read(chunk)) != -1; ) {
            for (int i = 0; i < n; i++) {
                byte b = chunk[i];
                if (b == '\n') {
                    if (!decided) {
                        progress = false; // shorter than the prefix
                        tail.add(line.toByteArray());
                    }
                    endLine(line, progress, events);
                    if (!progress) {
                        tail.add(b);
                    }
                    decided = false;
                    line.reset();
                    continue;
                }
                if (line.size() < 64 * 1024) {
                    line.write(b);
                }
                if (decided) {
                    if (!progress) {
                        tail.add(b);
                    }
                } else if (line.size() == PROGRESS_PREFIX_BYTES.length) {
                    decided = true;
                    progress = Arrays.equals(line.toByteArray(), PROGRESS_PREFIX_BYTES);
                    if (!progress) {
                        tail.add(line.toByteArray());
                    }
                }
            }
        }
        if (line.size() > 0) {
            if (!decided) {
                tail.add(line.toByteArray());
            }
            endLine(line, decided && progress, events);
        }
        return tail.bytes();
    }

    private static void endLine(java.io.ByteArrayOutputStream line, boolean progress, JobEvents events) {
        String text = line.toString(StandardCharsets.UTF_8);
        if (!progress) {
            events.log(text);
            return;
        }
        Optional<ProgressLine> reported = progressLine(text);
        if (reported.isPresent()) {
            events.progress(reported.get().fraction(), reported.get().message());
        } else {
            events.log(text + "   [not read as progress: write \"" + PROGRESS_PREFIX + "<fraction 0-1> [message]\"]");
        }
    }

    /** The last bytes of a stream, in a ring. */
    private static final class Tail {
        private final byte[] ring;
        private long total;

        Tail(int limit) {
            this.ring = new byte[limit];
        }

        void add(byte b) {
            ring[(int) (total++ % ring.length)] = b;
        }

        void add(byte[] bytes) {
            int skipped = Math.max(0, bytes.length - ring.length); // what cannot survive still counts
            total += skipped;
            for (int i = skipped; i < bytes.length; i++) {
                add(bytes[i]);
            }
        }

        byte[] bytes() {
            int limit = ring.length;
            int size = (int) Math.min(total, limit);
            byte[] tail = new byte[size];
            for (int i = 0; i < size; i++) {
                tail[i] = ring[(int) ((total - size + i) % limit)];
            }
            int start = 0;
            if (total > limit) {
                // A cut through a UTF-8 character: drop its continuation bytes.
                while (start < size && start < 3 && (tail[start] & 0xC0) == 0x80) {
                    start++;
                }
            }
            return start == 0 ? tail : Arrays.copyOfRange(tail, start, size);
        }
    }

    private static String compactJson(byte[] out) throws JobFailedException {
        JsonNode result;
        try {
            result = JSON.readTree(out);
        } catch (IOException e) {
            String text = new String(out, StandardCharsets.UTF_8).strip();
            String prefix = text.length() <= NOT_JSON_PREFIX_CHARS ? text : text.substring(0, NOT_JSON_PREFIX_CHARS) + "...";
            throw new JobFailedException("output is not JSON (stdout must be the result as one JSON document): " + prefix,
                    false);
        }
        if (result == null || result.isMissingNode()) {
            throw new JobFailedException("output is not JSON: stdout was empty (the program must print its result "
                    + "there as one JSON document)", false);
        }
        return result.toString();
    }

    private JobFailedException outputTooBig() {
        return new JobFailedException("output exceeded the limit of " + maxOutputBytes + " bytes on stdout; write large"
                + " outputs to files and return their names", false);
    }

    private static long millisSince(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    private interface IoSupplier<T> {
        T get() throws IOException;
    }

    private static CompletableFuture<byte[]> readAsync(String threadName, IoSupplier<byte[]> read) {
        CompletableFuture<byte[]> result = new CompletableFuture<>();
        startDaemon(threadName, () -> {
            try {
                result.complete(read.get());
            } catch (IOException | RuntimeException e) {
                result.completeExceptionally(e);
            }
        });
        return result;
    }

    /** Daemon: a pipe held open by a stray process must not keep the worker's JVM alive. */
    private static void startDaemon(String name, Runnable task) {
        Thread thread = new Thread(task, name);
        thread.setDaemon(true);
        thread.start();
    }
}
