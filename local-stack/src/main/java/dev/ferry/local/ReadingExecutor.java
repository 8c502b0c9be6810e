package dev.ferry.local;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The executor the JDK's HTTP server reads requests on: each task (the server's own: read the
 * request line and headers, then call the handler, which reads the body and hands the request over
 * to a thread of its own) must finish within a deadline. A task still running at its deadline has
 * its thread interrupted; the thread is then blocked reading the client's socket (an interruptible
 * channel), so the socket is closed and the read fails at once.
 *
 * <p>Why not the JDK server's own limits: {@code sun.net.httpserver.maxReqTime} covers the request
 * line and headers but not the body, and like every {@code sun.net.httpserver.*} property it is
 * read once per JVM, when the first server of the JVM is made. A deadline of our own covers the
 * whole request, per server, whatever ran first.
 *
 * <p>Each task gets a thread of its own, up to {@code maxThreads} at once (a task over that is
 * refused, and the JDK server closes its connection), so a client that stalls holds one of these
 * threads until its deadline and never one that runs handlers.
 */
final class ReadingExecutor implements Executor, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ReadingExecutor.class);

    private final Duration deadline;
    private final ThreadPoolExecutor threads;
    private final ScheduledThreadPoolExecutor timer;

    /**
     * @param maxThreads tasks at once, 1 or more
     * @param deadline how long a task may run, more than zero
     * @param threadPrefix the threads' names before their number
     */
    ReadingExecutor(int maxThreads, Duration deadline, String threadPrefix) {
        if (maxThreads < 1) {
            throw new IllegalArgumentException("maxThreads must be at least 1, but is " + maxThreads);
        }
        Objects.requireNonNull(deadline, "deadline");
        if (deadline.isNegative() || deadline.isZero()) {
            throw new IllegalArgumentException("deadline must be more than zero, but is " + deadline);
        }
        this.deadline = deadline;
        this.threads = new ThreadPoolExecutor(0, maxThreads, 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
                ApiServer.daemonThreads(threadPrefix));
        this.timer = new ScheduledThreadPoolExecutor(1, ApiServer.daemonThreads(threadPrefix + "deadline-"));
        this.timer.setRemoveOnCancelPolicy(true);
    }

    /**
     * Runs {@code task} on a thread of its own, interrupted if the task is still running at its
     * deadline.
     *
     * @throws RejectedExecutionException when {@code maxThreads} tasks run already, or after {@link #close}
     */
    @Override
    public void execute(Runnable task) {
        Objects.requireNonNull(task, "task");
        threads.execute(() -> runWithDeadline(task));
    }

    private void runWithDeadline(Runnable task) {
        Deadline running = new Deadline(Thread.currentThread());
        ScheduledFuture<?> expiry = timer.schedule(running::expire, deadline.toNanos(), TimeUnit.NANOSECONDS);
        try {
            task.run();
        } finally {
            running.finish();
            expiry.cancel(false);
            // An interrupt that came as the task ended must not reach the next one.
            Thread.interrupted();
        }
    }

    /** Stops at once: running tasks are interrupted, new ones refused. */
    @Override
    public void close() {
        timer.shutdownNow();
        threads.shutdownNow();
    }

    /** One task's deadline: interrupts the task's thread, unless the task finished first. */
    private final class Deadline {
        private final Thread thread;
        private boolean finished;

        Deadline(Thread thread) {
            this.thread = thread;
        }

        synchronized void finish() {
            finished = true;
        }

        synchronized void expire() {
            if (!finished) {
                LOG.info("local API: closing a connection whose request did not arrive within {} ({})", deadline,
                        thread.getName());
                thread.interrupt();
            }
        }
    }
}
