package dev.ferry.testkit;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * A real worker process, {@code java dev.ferry.worker.WorkerMain}, on this JVM's classpath, with
 * its own environment and its output in a log file: what a GPU machine runs, so that it can be
 * killed with SIGKILL ({@link #kill()}) or SIGTERM ({@link #terminate()}) like one.
 */
public final class WorkerProcess {

    /** Small, quick to start: the worker itself does little but wait on the network. */
    static final List<String> JVM_OPTIONS = List.of("-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Xshare:auto", "-XX:CICompilerCount=1", "-Dorg.slf4j.simpleLogger.showDateTime=true",
            "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS");

    private final String workerId;
    private final Process process;
    private final Path log;

    private WorkerProcess(String workerId, Process process, Path log) {
        this.workerId = workerId;
        this.process = process;
        this.log = log;
    }

    /**
     * Starts a worker.
     *
     * @param environment its whole environment (nothing is inherited)
     * @param log where its stdout and stderr go (appended)
     */
    public static WorkerProcess start(String workerId, Map<String, String> environment, Path log) {
        return start(workerId, environment, log, List.of());
    }

    /**
     * Starts a worker with more JVM options, after the defaults (a {@code -D} given here wins). The
     * SLF4J backend this JVM was told to use ({@code slf4j.provider}) is the worker's too, unless
     * {@code jvmOptions} names another.
     */
    public static WorkerProcess start(String workerId, Map<String, String> environment, Path log,
                                      List<String> jvmOptions) {
        Objects.requireNonNull(workerId, "workerId");
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(JVM_OPTIONS);
        String provider = System.getProperty("slf4j.provider");
        if (provider != null) {
            command.add("-Dslf4j.provider=" + provider);
            command.add("-Dslf4j.internal.verbosity=WARN");
        }
        command.addAll(jvmOptions);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add("dev.ferry.worker.WorkerMain");
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().clear();
        builder.environment().putAll(environment);
        builder.redirectErrorStream(true);
        builder.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        try {
            return new WorkerProcess(workerId, builder.start(), log);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start worker " + workerId, e);
        }
    }

    public String workerId() {
        return workerId;
    }

    public long pid() {
        return process.pid();
    }

    public Path log() {
        return log;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** SIGKILL: no shutdown hook, no give-back; its job programs live on as orphans. */
    public void kill() {
        process.destroyForcibly();
    }

    /** SIGTERM: the worker drains (its shutdown hook) and exits. */
    public void terminate() {
        process.destroy();
    }

    /**
     * Waits for the process to exit.
     *
     * @return its exit status, or -1 if it still runs after {@code timeout}
     */
    public int waitFor(Duration timeout) throws InterruptedException {
        return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : -1;
    }
}
