package dev.ferry.core.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

class LogContextTest {

    @AfterEach
    void clear() {
        LogContext.clear();
    }

    @Test
    void aboutJob_setsThatJobBesideTheThreadsFields_andPutsTheThreadsOwnBackAfter() {
        LogContext.request("req-1");
        LogContext.job("job-a", "sd");
        AtomicReference<Map<String, String>> inside = new AtomicReference<>();

        LogContext.aboutJob("job-b", null, () -> inside.set(MDC.getCopyOfContextMap()));

        assertEquals(Map.of(LogContext.REQUEST_ID, "req-1", LogContext.JOB_ID, "job-b"), inside.get(),
                "the other job's id, no type of the thread's job, the request kept");
        assertEquals("job-a", MDC.get(LogContext.JOB_ID));
        assertEquals("sd", MDC.get(LogContext.TYPE));
        assertEquals("req-1", MDC.get(LogContext.REQUEST_ID));
    }

    @Test
    void runWith_usesTheCapturedFields_onAThreadWithNone_andLeavesItWithNone() throws Exception {
        LogContext.job("job-a", "sd");
        Map<String, String> captured = LogContext.capture();
        AtomicReference<Map<String, String>> inside = new AtomicReference<>();
        AtomicReference<Map<String, String>> after = new AtomicReference<>(new HashMap<>());

        Thread other = new Thread(() -> {
            LogContext.runWith(captured, () -> inside.set(MDC.getCopyOfContextMap()));
            after.set(MDC.getCopyOfContextMap());
        });
        other.start();
        other.join();

        assertEquals(Map.of(LogContext.JOB_ID, "job-a", LogContext.TYPE, "sd"), inside.get());
        Map<String, String> left = after.get();
        assertTrue(left == null || left.isEmpty(), "nothing left on the other thread: " + left);
    }
}
