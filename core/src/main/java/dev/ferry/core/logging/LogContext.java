package dev.ferry.core.logging;

import java.util.Map;
import java.util.concurrent.Callable;
import org.slf4j.MDC;

/**
 * The correlation fields of a log line, kept in SLF4J's MDC of the thread that handles a job or a
 * request: in JSON mode ({@link FerryLogConfigurator}) each one is a field of every line logged
 * meanwhile, so CloudWatch Logs Insights finds all of a job's lines by {@code jobId}.
 *
 * <p>A worker's job thread sets them when it takes a message and clears them when the job is done;
 * work it hands to other threads (the handler, the heartbeat, progress) carries them along
 * ({@link #wrap(Runnable)}). A function sets them at the start of each request.
 */
public final class LogContext {

    public static final String JOB_ID = "jobId";
    public static final String TYPE = "type";
    public static final String ATTEMPT = "attempt";
    public static final String WORKER = "worker";
    public static final String SLOT = "slot";
    /** Lambda's request id (a function's invocation). */
    public static final String REQUEST_ID = "requestId";

    private LogContext() {
    }

    /** A function's request: whatever the thread held before is dropped. */
    public static void request(String requestId) {
        MDC.clear();
        put(REQUEST_ID, requestId);
    }

    /** The job a thread handles from now on (a null type leaves the field out). */
    public static void job(String jobId, String type) {
        put(JOB_ID, jobId);
        put(TYPE, type);
    }

    /**
     * Runs {@code task} with {@code jobId} and {@code type} (null leaves it out) beside this
     * thread's other fields, which are as before afterwards: one line about one job among many
     * (a stream batch, an admin action on several jobs) carries that job's id.
     */
    public static void aboutJob(String jobId, String type, Runnable task) {
        Map<String, String> fields = capture();
        fields = fields == null ? new java.util.HashMap<>() : fields;
        fields.put(JOB_ID, jobId);
        if (type == null) {
            fields.remove(TYPE);
        } else {
            fields.put(TYPE, type);
        }
        runWith(fields, task);
    }

    /** The worker and slot a job thread runs on. */
    public static void worker(String workerId, int slot) {
        put(WORKER, workerId);
        put(SLOT, Integer.toString(slot));
    }

    /** The attempt the job thread runs, once its claim has counted it. */
    public static void attempt(int attempt) {
        put(ATTEMPT, Integer.toString(attempt));
    }

    /** The thread handles no job any more. */
    public static void clear() {
        MDC.clear();
    }

    /** {@code task}, run on another thread with the fields the calling thread holds now. */
    public static Runnable wrap(Runnable task) {
        Map<String, String> fields = capture();
        return () -> runWith(fields, task);
    }

    /** The fields the calling thread holds now (null when none), for {@link #runWith}. */
    public static Map<String, String> capture() {
        return MDC.getCopyOfContextMap();
    }

    /**
     * Runs {@code task} on this thread with {@code fields} (from {@link #capture}) in place of its
     * own, which are back afterwards: work done on one job's thread for another job (a batch of
     * deletes) logs under that job's fields.
     */
    public static void runWith(Map<String, String> fields, Runnable task) {
        Map<String, String> before = MDC.getCopyOfContextMap();
        set(fields);
        try {
            task.run();
        } finally {
            set(before);
        }
    }

    /** {@code task}, run on another thread with the fields the calling thread holds now. */
    public static <T> Callable<T> wrap(Callable<T> task) {
        Map<String, String> fields = MDC.getCopyOfContextMap();
        return () -> {
            Map<String, String> before = MDC.getCopyOfContextMap();
            set(fields);
            try {
                return task.call();
            } finally {
                set(before);
            }
        };
    }

    private static void set(Map<String, String> fields) {
        if (fields == null) {
            MDC.clear();
        } else {
            MDC.setContextMap(fields);
        }
    }

    private static void put(String key, String value) {
        if (value == null) {
            MDC.remove(key);
        } else {
            MDC.put(key, value);
        }
    }
}
