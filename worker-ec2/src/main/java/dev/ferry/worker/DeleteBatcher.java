package dev.ferry.worker;

import dev.ferry.core.logging.LogContext;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.BiPredicate;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.BatchResultErrorEntry;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchRequest;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchResponse;

/**
 * Deletes go out as DeleteMessageBatch requests (up to SQS's 10 entries), in one of two ways.
 *
 * <p><b>Lingering</b> ({@code linger} above zero, the worker's default): a delete is asked for and
 * the caller goes on; one thread sends the deletes asked for once ten wait or the oldest has
 * waited {@code linger}, as Spring Cloud AWS's acknowledgements do. A job's outcome is written
 * before its delete is asked for, so nothing waits on the delete: a message whose delete is lost
 * (the worker killed meanwhile) comes back after its visibility timeout, and the next receive
 * finds its job finished and deletes it. {@link #close} sends what waits.
 *
 * <p><b>At once</b> ({@code linger} zero, and after {@link #close}): a delete asked for while none
 * is being sent is sent at once, alone (a plain DeleteMessage); deletes asked for while one is
 * being sent wait for it and go out together next. The caller waits for its own entry's answer.
 *
 * <p>A batch answers per entry. An entry that failed is sent again alone (through the plain
 * delete, which reports its own failure); only an entry that succeeded, or whose receipt handle SQS
 * no longer knows (deleted already: a retry of a delete whose response was lost), is reported
 * deleted. A batch call that fails as a whole is tried again entry by entry.
 */
final class DeleteBatcher implements MessageDeletes {

    private static final Logger LOG = LoggerFactory.getLogger(DeleteBatcher.class);
    /** SQS's most entries per batch. */
    static final int MAX_ENTRIES = 10;
    private static final String HANDLE_INVALID = "ReceiptHandleIsInvalid";

    /** One delete asked for. */
    private static final class Pending {
        final Delivery delivery;
        final String jobId;
        final long askedAt = System.nanoTime();
        /** The asking thread's log fields: whichever thread sends the batch logs this entry under them. */
        final Map<String, String> logFields = LogContext.capture();
        boolean done;
        boolean deleted;

        Pending(Delivery delivery, String jobId) {
            this.delivery = delivery;
            this.jobId = jobId;
        }
    }

    private final SqsClient sqs;
    private final String queueUrl;
    private final BiPredicate<Delivery, String> singleDelete;
    private final Deque<Pending> pending = new ArrayDeque<>();
    private boolean sending;
    private final Duration linger;
    /** Sends lingering deletes; started with the first. */
    private Thread flusher;
    private boolean closed;
    /** Requests sent, by how many deletes each carried (index 1-10). */
    private final AtomicLongArray requestsBySize = new AtomicLongArray(MAX_ENTRIES + 1);

    /**
     * @param singleDelete deletes one message with DeleteMessage; true when deleted
     */
    DeleteBatcher(SqsClient sqs, String queueUrl, BiPredicate<Delivery, String> singleDelete) {
        this(sqs, queueUrl, singleDelete, Duration.ZERO);
    }

    /**
     * @param singleDelete deletes one message with DeleteMessage; true when deleted
     * @param linger how long a delete may wait for others to share its request; zero: none
     */
    DeleteBatcher(SqsClient sqs, String queueUrl, BiPredicate<Delivery, String> singleDelete, Duration linger) {
        this.sqs = Objects.requireNonNull(sqs, "sqs");
        this.queueUrl = Objects.requireNonNull(queueUrl, "queueUrl");
        this.singleDelete = Objects.requireNonNull(singleDelete, "singleDelete");
        this.linger = Objects.requireNonNull(linger, "linger");
        if (linger.isNegative()) {
            throw new IllegalArgumentException("linger must not be negative: " + linger);
        }
    }

    /**
     * Deletes the message, in a batch with others asked for meanwhile. Lingering, it returns at
     * once, true (asked for; a failure is logged, and the message comes back); at once, it
     * returns when answered, true when deleted.
     */
    @Override
    public boolean delete(Delivery delivery, String jobId) {
        if (!linger.isZero()) {
            synchronized (this) {
                if (!closed) {
                    pending.addLast(new Pending(delivery, jobId));
                    if (flusher == null) {
                        flusher = new Thread(this::flushLoop, "ferry-deletes");
                        flusher.setDaemon(true);
                        flusher.start();
                    }
                    notifyAll();
                    return true;
                }
            }
        }
        return deleteNow(delivery, jobId);
    }

    /** Sends lingering deletes: ten at a time, or whatever waits once the oldest is {@code linger} old. */
    private void flushLoop() {
        while (true) {
            List<Pending> batch;
            synchronized (this) {
                while (true) {
                    if (pending.isEmpty()) {
                        notifyAll(); // a close waiting for the last ones
                        if (closed) {
                            flusher = null;
                            return;
                        }
                    }
                    long wait = -1;
                    if (!pending.isEmpty() && !sending) {
                        long due = pending.peekFirst().askedAt + linger.toNanos();
                        long now = System.nanoTime();
                        if (pending.size() >= MAX_ENTRIES || closed || now >= due) { // closed: send what waits now
                            break;
                        }
                        wait = Math.max(1, Duration.ofNanos(due - now).toMillis());
                    }
                    try {
                        if (wait < 0) {
                            wait();
                        } else {
                            wait(wait);
                        }
                    } catch (InterruptedException e) {
                        closed = true; // send what waits, then end
                    }
                }
                batch = takeBatch();
                sending = true;
            }
            try {
                send(batch);
            } catch (RuntimeException e) {
                LOG.warn("{} delete(s) not sent ({}); their messages come back and are deleted then", batch.size(),
                        e.toString());
            } finally {
                synchronized (this) {
                    sending = false;
                    notifyAll();
                }
            }
        }
    }

    /**
     * Sends every lingering delete now and waits for them, up to {@code timeout}; deletes asked for
     * from now on go out at once. True when none is left unsent.
     */
    @Override
    public boolean close(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (this) {
            closed = true;
            notifyAll();
            boolean interrupted = false;
            try {
                while ((!pending.isEmpty() || flusher != null) && System.nanoTime() < deadline) {
                    try {
                        wait(Math.max(1, Duration.ofNanos(deadline - System.nanoTime()).toMillis()));
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
            if (!pending.isEmpty()) {
                LOG.warn("{} delete(s) not sent within {}; their messages come back and are deleted then",
                        pending.size(), timeout);
                return false;
            }
            return true;
        }
    }

    private boolean deleteNow(Delivery delivery, String jobId) {
        Pending mine = new Pending(delivery, jobId);
        synchronized (this) {
            pending.addLast(mine);
            boolean interrupted = false;
            while (sending && !mine.done) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true; // still ours to see through: a batch under way may carry it
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            if (mine.done) {
                return mine.deleted;
            }
            sending = true;
        }
        // This thread sends until its own entry is answered, then hands on to a waiting one.
        try {
            while (true) {
                List<Pending> batch;
                synchronized (this) {
                    if (mine.done) {
                        return mine.deleted;
                    }
                    batch = takeBatch();
                }
                send(batch);
                synchronized (this) {
                    notifyAll();
                }
            }
        } finally {
            synchronized (this) {
                sending = false;
                notifyAll();
            }
        }
    }

    private void send(List<Pending> batch) {
        requestsBySize.incrementAndGet(batch.size());
        if (batch.size() == 1) {
            Pending only = batch.get(0);
            settle(only, deleteAlone(only));
            return;
        }
        List<DeleteMessageBatchRequestEntry> entries = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
            entries.add(DeleteMessageBatchRequestEntry.builder().id(Integer.toString(i))
                    .receiptHandle(batch.get(i).delivery.message().receiptHandle()).build());
        }
        DeleteMessageBatchResponse response;
        try {
            response = sqs.deleteMessageBatch(DeleteMessageBatchRequest.builder().queueUrl(queueUrl)
                    .entries(entries).build());
        } catch (SdkException e) {
            LOG.warn("a batch of {} deletes failed ({}); deleting them one by one", batch.size(), e.toString());
            for (Pending each : batch) {
                requestsBySize.incrementAndGet(1);
                settle(each, deleteAlone(each));
            }
            return;
        }
        Map<String, BatchResultErrorEntry> failed = response.failed().stream()
                .collect(Collectors.toMap(BatchResultErrorEntry::id, Function.identity(), (a, b) -> a));
        java.util.Set<String> succeededIds = response.successful().stream()
                .map(software.amazon.awssdk.services.sqs.model.DeleteMessageBatchResultEntry::id)
                .collect(Collectors.toSet());
        for (int i = 0; i < batch.size(); i++) {
            Pending each = batch.get(i);
            String id = Integer.toString(i);
            BatchResultErrorEntry error = failed.get(id);
            // Neither listed: not known to be deleted, so tried again alone.
            boolean succeeded = succeededIds.contains(id) || (error != null && HANDLE_INVALID.equals(error.code()));
            if (succeeded) {
                settle(each, true);
            } else {
                LogContext.runWith(each.logFields, () -> LOG.info(
                        "job {}: delete of message {} failed in its batch ({}); trying it alone", each.jobId,
                        each.delivery.messageId(), error == null ? "not answered" : error.code() + ": "
                                + error.message()));
                requestsBySize.incrementAndGet(1);
                settle(each, deleteAlone(each));
            }
        }
    }

    /** The oldest deletes asked for, up to a batch; the caller holds the monitor. */
    private List<Pending> takeBatch() {
        List<Pending> batch = new ArrayList<>();
        while (batch.size() < MAX_ENTRIES && !pending.isEmpty()) {
            batch.add(pending.removeFirst());
        }
        return batch;
    }

    /** One message alone, its log lines under its own job's fields. */
    private boolean deleteAlone(Pending entry) {
        boolean[] deleted = new boolean[1];
        LogContext.runWith(entry.logFields, () -> deleted[0] = singleDelete.test(entry.delivery, entry.jobId));
        return deleted[0];
    }

    private synchronized void settle(Pending entry, boolean deleted) {
        entry.deleted = deleted;
        entry.done = true;
        notifyAll();
    }

    /** Delete requests sent so far, by the number of deletes each carried: index n holds the count of n-entry requests. */
    @Override
    public long[] requestsBySize() {
        long[] counts = new long[MAX_ENTRIES + 1];
        for (int i = 0; i <= MAX_ENTRIES; i++) {
            counts[i] = requestsBySize.get(i);
        }
        return counts;
    }
}
