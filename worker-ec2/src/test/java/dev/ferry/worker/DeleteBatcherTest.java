package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.BatchResultErrorEntry;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchRequest;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchResponse;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchResultEntry;
import software.amazon.awssdk.services.sqs.model.DeleteMessageRequest;
import software.amazon.awssdk.services.sqs.model.DeleteMessageResponse;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.SqsException;

/** Deletes asked for together share a DeleteMessageBatch; a failed entry is never reported deleted. */
class DeleteBatcherTest {

    private final List<String> calls = new CopyOnWriteArrayList<>();
    private final CountDownLatch firstDeleteHeld = new CountDownLatch(1);
    private final CountDownLatch releaseFirstDelete = new CountDownLatch(1);
    /** Receipt handles a batch reports failed, with their error code. */
    private volatile java.util.Map<String, String> batchFailures = java.util.Map.of();
    /** The {@code jobId} log field each plain delete was made under, by receipt handle. */
    private final java.util.Map<String, String> deletedUnder = new java.util.concurrent.ConcurrentHashMap<>();
    /** Receipt handles a plain delete refuses. */
    private volatile Set<String> singleFailures = Set.of();

    private final SqsClient sqs = new SqsClient() {
        @Override
        public DeleteMessageResponse deleteMessage(DeleteMessageRequest request) {
            calls.add("delete " + request.receiptHandle());
            String jobId = org.slf4j.MDC.get(dev.ferry.core.logging.LogContext.JOB_ID);
            deletedUnder.put(request.receiptHandle(), jobId == null ? "none" : jobId);
            if (request.receiptHandle().equals("rh-first")) {
                firstDeleteHeld.countDown();
                try {
                    releaseFirstDelete.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (singleFailures.contains(request.receiptHandle())) {
                throw SqsException.builder().statusCode(500).awsErrorDetails(AwsErrorDetails.builder()
                        .errorCode("InternalError").errorMessage("no").build()).build();
            }
            return DeleteMessageResponse.builder().build();
        }

        @Override
        public DeleteMessageBatchResponse deleteMessageBatch(DeleteMessageBatchRequest request) {
            List<String> handles = request.entries().stream().map(DeleteMessageBatchRequestEntry::receiptHandle).sorted()
                    .toList();
            calls.add("batch " + handles);
            List<DeleteMessageBatchResultEntry> ok = new ArrayList<>();
            List<BatchResultErrorEntry> failed = new ArrayList<>();
            for (DeleteMessageBatchRequestEntry entry : request.entries()) {
                String code = batchFailures.get(entry.receiptHandle());
                if (code == null) {
                    ok.add(DeleteMessageBatchResultEntry.builder().id(entry.id()).build());
                } else {
                    failed.add(BatchResultErrorEntry.builder().id(entry.id()).code(code).senderFault(false)
                            .message(code).build());
                }
            }
            return DeleteMessageBatchResponse.builder().successful(ok).failed(failed).build();
        }

        @Override
        public String serviceName() {
            return "sqs";
        }

        @Override
        public void close() {
        }
    };

    private final JobQueue queue = new JobQueue(sqs, "q", "dlq", 1, Clock.systemUTC());

    private Delivery delivery(String id) {
        return new Delivery(Message.builder().messageId(id).receiptHandle("rh-" + id).body("{}").build(), 1,
                Instant.now(), queue);
    }

    @Test
    void aLoneDelete_goesOutAtOnce_asAPlainDeleteMessage() {
        assertTrue(queue.delete(delivery("a"), "job-a"));
        assertEquals(List.of("delete rh-a"), calls);
        assertEquals(1, queue.deleteRequestsBySize()[1]);
    }

    @Test
    void deletesAskedForWhileOneIsSent_goOutTogether_inOneBatch_andEachIsAnswered() throws Exception {
        batchFailures = java.util.Map.of("rh-bad", "InternalError", "rh-gone", "ReceiptHandleIsInvalid");
        singleFailures = Set.of("rh-bad");
        ExecutorService threads = Executors.newCachedThreadPool();
        try {
            Future<Boolean> first = threads.submit(() -> queue.delete(delivery("first"), "j0"));
            assertTrue(firstDeleteHeld.await(5, TimeUnit.SECONDS));
            List<Future<Boolean>> rest = new ArrayList<>();
            for (String id : List.of("a", "b", "bad", "gone")) {
                rest.add(threads.submit(() -> {
                    dev.ferry.core.logging.LogContext.job("job-" + id, "sample");
                    try {
                        return queue.delete(delivery(id), "job-" + id);
                    } finally {
                        dev.ferry.core.logging.LogContext.clear();
                    }
                }));
            }
            // All four wait behind the first request before it is let go.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (calls.size() < 1 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            Thread.sleep(200);
            releaseFirstDelete.countDown();
            assertTrue(first.get(5, TimeUnit.SECONDS));
            assertTrue(rest.get(0).get(5, TimeUnit.SECONDS));
            assertTrue(rest.get(1).get(5, TimeUnit.SECONDS));
            assertFalse(rest.get(2).get(5, TimeUnit.SECONDS), "failed in the batch and alone: not deleted");
            assertTrue(rest.get(3).get(5, TimeUnit.SECONDS), "a handle SQS no longer knows was deleted already");
        } finally {
            threads.shutdownNow();
        }
        assertEquals(List.of("delete rh-first", "batch [rh-a, rh-b, rh-bad, rh-gone]", "delete rh-bad"), calls);
        assertEquals("job-bad", deletedUnder.get("rh-bad"),
                "whichever thread sent the batch, the failed entry's retry logs under its own job");
        long[] bySize = queue.deleteRequestsBySize();
        assertArrayEquals(new long[] {0, 2, 0, 0, 1, 0, 0, 0, 0, 0, 0}, bySize,
                "two lone deletes (the first, the failed entry's retry) and one batch of four");
    }

    @Test
    void lingering_aDeleteReturnsAtOnce_andThoseAskedForWithinTheLingerShareOneBatch() throws Exception {
        JobQueue lingering = new JobQueue(sqs, "q", "dlq", 1, Clock.systemUTC(), Duration.ofMillis(300));
        for (String id : List.of("a", "b", "c")) {
            assertTrue(lingering.delete(delivery(id), "job-" + id), "asked for");
        }
        assertEquals(List.of(), calls, "nothing sent before the oldest has waited the linger");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (calls.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(List.of("batch [rh-a, rh-b, rh-c]"), calls);
        assertTrue(lingering.flushDeletes(Duration.ofSeconds(5)));
    }

    @Test
    void lingering_tenWaitingGoOutAtOnce_andCloseSendsTheRest_thenDeletesGoOutUnbatched() throws Exception {
        JobQueue lingering = new JobQueue(sqs, "q", "dlq", 1, Clock.systemUTC(), Duration.ofHours(1));
        for (int i = 0; i < 12; i++) {
            lingering.delete(delivery("m" + (char) ('a' + i)), "job-" + i);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (calls.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        Thread.sleep(100);
        assertEquals(1, calls.size(), "ten go out without waiting an hour; two wait: " + calls);
        assertTrue(calls.get(0).startsWith("batch [rh-ma, "), calls.toString());

        assertTrue(lingering.flushDeletes(Duration.ofSeconds(5)), "the last two sent at the close");
        assertEquals("batch [rh-mk, rh-ml]", calls.get(1));
        assertTrue(lingering.delete(delivery("late"), "job-late"));
        assertEquals("delete rh-late", calls.get(2), "after the close: at once, alone");
        assertArrayEquals(new long[] {0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1}, lingering.deleteRequestsBySize());
    }
}
