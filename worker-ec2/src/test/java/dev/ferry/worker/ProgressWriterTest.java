package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.Lease;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.exception.SdkClientException;

/** Progress reaches the record only when it changed, never fails a job, and the last one is kept. */
class ProgressWriterTest {

    private static final Instant T0 = Instant.parse("2026-11-22T10:00:00Z");
    private static final Lease LEASE = new Lease("01JOB", "w1", 3L, "l");
    private final ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1);
    private final List<String> written = new CopyOnWriteArrayList<>();
    private final AtomicBoolean unreachable = new AtomicBoolean();
    private final AttemptLog log = new AttemptLog(1024, Clock.fixed(T0, ZoneOffset.UTC));

    private final UnsupportedJobStore store = new UnsupportedJobStore() {
        @Override
        public boolean recordProgress(Lease lease, double fraction, String message, Instant at) {
            if (unreachable.get()) {
                throw SdkClientException.create("Unable to execute HTTP request: connect timed out");
            }
            written.add(fraction + " " + message + " " + at);
            return !"lost".equals(message);
        }
    };

    @AfterEach
    void stop() {
        executor.shutdownNow();
    }

    private static void await(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "condition not met");
            Thread.sleep(5);
        }
    }

    @Test
    void writesTheLatest_onlyWhenItChanged_andOnceMoreAtTheEnd() throws Exception {
        ProgressWriter.Writing writing = new ProgressWriter(store, executor, Duration.ofMillis(10))
                .start(LEASE, log::progress);
        log.progress(0.1, "a");
        log.progress(0.2, "step 4 of 20");
        await(() -> written.contains("0.2 step 4 of 20 " + T0));
        Thread.sleep(100); // several ticks with nothing new
        assertEquals(List.of("0.2 step 4 of 20 " + T0), written.subList(written.size() - 1, written.size()));
        int before = written.size();
        assertTrue(written.stream().filter(w -> w.startsWith("0.2 ")).count() == 1, "unchanged is not written again");

        log.progress(1.5, "done"); // clamped
        writing.stop();

        assertEquals("1.0 done " + T0, written.get(written.size() - 1), "the last progress is on the record");
        assertEquals(before + 1, written.size());
    }

    @Test
    void aWriteThatFails_isTriedAgainWithTheLatest_andNeverThrows() throws Exception {
        unreachable.set(true);
        ProgressWriter.Writing writing = new ProgressWriter(store, executor, Duration.ofMillis(10))
                .start(LEASE, log::progress);
        log.progress(0.3, null);
        Thread.sleep(50);
        unreachable.set(false);
        await(() -> written.contains("0.3 null " + T0));
        writing.stop();
    }

    @Test
    void aLeaseThatIsGone_endsTheWrites() throws Exception {
        ProgressWriter.Writing writing = new ProgressWriter(store, executor, Duration.ofMillis(10))
                .start(LEASE, log::progress);
        log.progress(0.3, "lost");
        await(() -> written.size() == 1);
        log.progress(0.4, "more");
        Thread.sleep(50);
        writing.stop();
        assertEquals(1, written.size(), "nothing more under a lease that was lost: " + written);
    }

    @Test
    void progressMessages_areShortAndValidText() {
        log.progress(Double.NaN, "x".repeat(500));
        AttemptLog.Progress progress = log.progress();
        assertEquals(0.0, progress.fraction());
        assertEquals(AttemptLog.MAX_PROGRESS_MESSAGE_CHARS, progress.message().length());
        log.progress(0.5, "a\uD800b");
        assertEquals("a?b", log.progress().message(), "a lone surrogate, which DynamoDB refuses, is replaced");
        log.progress(0.5, "  ");
        assertEquals(null, log.progress().message());
    }
}
