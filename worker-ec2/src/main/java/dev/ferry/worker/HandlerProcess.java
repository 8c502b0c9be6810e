package dev.ferry.worker;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operating-system side of a warm handler: a shell command started with its slot's
 * environment, its output read line by line, the last of it kept for errors, and the whole
 * process tree stopped on {@link #stop()} (SIGTERM, a grace, SIGKILL). What the lines mean is the
 * protocol's business ({@link LineProtocolProcess}, the model-server handlers).
 */
final class HandlerProcess {

    private static final Logger LOG = LoggerFactory.getLogger(HandlerProcess.class);
    /** How much of its recent output is kept for an error message. */
    static final int TAIL_CHARS = 4 * 1024;
    /** The longest log line kept whole; the rest of a longer one is dropped, and said so. */
    static final int LOG_LINE_MAX_BYTES = 64 * 1024;
    /** How long a process being stopped has between SIGTERM and SIGKILL. */
    static final Duration STOP_GRACE = Duration.ofSeconds(10);
    private static final String SHELL = "/bin/sh";

    private final String name;
    private final Process process;
    private final Deque<String> tail = new ArrayDeque<>();
    /** The threads reading its output ({@link #readLines}). */
    private final java.util.List<Thread> readers = new java.util.concurrent.CopyOnWriteArrayList<>();
    private int tailChars;

    /** The stream read into the log (stderr, or stdout too where merged). */
    private volatile WatchedStream log;

    private HandlerProcess(String name, Process process) {
        this.name = name;
        this.process = process;
    }

    /**
     * Starts {@code command} with {@code environment} (nothing else inherited), stdin and stdout
     * as pipes for the caller, stderr read line by line into {@code stderr} (and the tail). With
     * {@code mergeStdout}, stdout goes the same way and the caller gets no stdout stream.
     *
     * @param name for logs and threads, e.g. {@code sd-xl/slot-0}
     * @throws IOException the shell could not be started
     */
    static HandlerProcess start(String name, String command, Map<String, String> environment, Path workDir,
                                boolean mergeStdout, Consumer<String> stderr) throws IOException {
        Files.createDirectories(workDir);
        // The worker's own working directory: relative paths in the command line mean what they say.
        ProcessBuilder builder = new ProcessBuilder(SHELL, "-c", command);
        builder.environment().clear();
        builder.environment().putAll(environment);
        builder.redirectErrorStream(mergeStdout);
        HandlerProcess started = new HandlerProcess(name, builder.start());
        started.log = new WatchedStream(mergeStdout ? started.process.getInputStream()
                : started.process.getErrorStream());
        started.readLines(started.log,
                LOG_LINE_MAX_BYTES, true, (line, cut) -> stderr.accept(cut == 0 ? line
                        : line + " … (" + cut + " more bytes of this line left out)"), name + "-stderr");
        LOG.info("handler {} started as pid {}: {}", name, started.process.pid(), command);
        return started;
    }

    /**
     * Waits, at most {@code max}, until the log stream's reader has been waiting for more for a
     * little while ({@link #LOG_QUIET}) without reading anything: what the process wrote on its log
     * stream before this call has then been read and handed on as lines. A handler that writes a
     * log line and then its result on stdout has the line in the job's log, although the two pipes
     * are read by different threads. (The pipe's unread bytes cannot be asked for without waiting:
     * the process's stream holds its lock while its reader is blocked in {@code read}.)
     */
    void awaitLogRead(Duration max) {
        WatchedStream watched = log;
        if (watched == null) {
            return;
        }
        long deadline = System.nanoTime() + max.toNanos();
        long reads = -1;
        while (System.nanoTime() < deadline) {
            long now = watched.waitingSince();
            if (now >= 0 && now == reads) {
                return; // waiting in the same read as LOG_QUIET ago: nothing was there to read
            }
            reads = now;
            try {
                Thread.sleep(LOG_QUIET.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** How long the log's reader must sit in one read, with nothing read, to count as having read everything. */
    static final Duration LOG_QUIET = Duration.ofMillis(10);

    /** The log stream, telling which read its reader is waiting in, if it is waiting in one. */
    private static final class WatchedStream extends java.io.FilterInputStream {

        private final java.util.concurrent.atomic.AtomicLong reads = new java.util.concurrent.atomic.AtomicLong();
        private volatile boolean waiting;

        WatchedStream(InputStream in) {
            super(in);
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            reads.incrementAndGet();
            waiting = true;
            try {
                return super.read(b, off, len);
            } finally {
                waiting = false;
            }
        }

        @Override
        public int read() throws IOException {
            reads.incrementAndGet();
            waiting = true;
            try {
                return super.read();
            } finally {
                waiting = false;
            }
        }

        /** The number of the read its reader is waiting in, or -1 while it is handing on what it read. */
        long waitingSince() {
            long before = reads.get();
            return waiting && reads.get() == before ? before : -1;
        }
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.isAlive();
    }

    /** The exit code, once it has exited; null while it runs. */
    Integer exitCode() {
        return process.isAlive() ? null : process.exitValue();
    }

    OutputStream stdin() {
        return process.getOutputStream();
    }

    InputStream stdout() {
        return process.getInputStream();
    }

    /** The end of what it wrote on stderr (and stdout, where merged), for an error message. */
    synchronized String tail() {
        return String.join("\n", tail);
    }

    /** Waits for it to exit, up to {@code timeout}; true if it did. */
    boolean waitFor(Duration timeout) throws InterruptedException {
        return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Reads {@code stream} line by line ({@link BoundedLines}: no line over {@code maxLineBytes}
     * is held) on a daemon thread of its own, into the tail and {@code sink}.
     */
    void readLines(InputStream stream, int maxLineBytes, boolean carriageReturnEndsLine, BoundedLines.Sink sink,
                   String threadName) {
        Thread reader = new Thread(() -> {
            try (stream) {
                BoundedLines.read(stream, maxLineBytes, carriageReturnEndsLine, (line, cut) -> {
                    int mark = line.indexOf(LineProtocolProcess.LOG_END); // a protocol mark, not output to quote
                    String kept = mark < 0 ? line : line.substring(0, mark);
                    if (mark != 0) {
                        remember(kept.length() <= TAIL_CHARS ? kept : kept.substring(0, TAIL_CHARS) + "…");
                    }
                    sink.line(line, cut);
                });
            } catch (IOException e) {
                LOG.debug("handler {}: output closed: {}", name, e.toString());
            }
        }, "ferry-" + threadName);
        reader.setDaemon(true);
        readers.add(reader);
        reader.start();
    }

    /**
     * Once the process has exited: waits, at most {@code max}, for its output to be read to the end,
     * so that {@link #tail()} holds its last lines (a child that keeps a pipe open holds the wait to
     * {@code max}).
     */
    void awaitOutputRead(Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        for (Thread reader : readers) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return;
            }
            reader.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
        }
    }

    private synchronized void remember(String line) {
        tail.addLast(line);
        tailChars += line.length() + 1;
        while (tailChars > TAIL_CHARS && tail.size() > 1) {
            tailChars -= tail.removeFirst().length() + 1;
        }
    }

    /**
     * Stops it and everything it started: SIGTERM to the tree, {@link #STOP_GRACE}, then SIGKILL.
     * Never throws; an interrupt meanwhile is kept as the thread's status.
     */
    void stop() {
        List<ProcessHandle> tree = new ArrayList<>();
        tree.add(process.toHandle());
        process.descendants().forEach(tree::add);
        tree.forEach(ProcessHandle::destroy);
        boolean interrupted = false;
        long deadline = System.nanoTime() + STOP_GRACE.toNanos();
        while (tree.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        LOG.info("handler {} (pid {}) stopped", name, process.pid());
    }

    @Override
    public String toString() {
        return name + " (pid " + process.pid() + ")";
    }
}
