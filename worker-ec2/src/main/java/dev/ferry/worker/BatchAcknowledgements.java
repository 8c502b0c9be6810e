package dev.ferry.worker;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The deletes of one Lambda invocation's batch: a settled message is not deleted here but noted,
 * and the function answers the event source mapping with every other message of the batch as a
 * failure ({@code ReportBatchItemFailures}). The mapping deletes the settled ones, in batches, once
 * the invocation returns; the others it leaves as they are, out of sight for as long as the run
 * set (a duplicate put off, a back-off), to come back then.
 *
 * <p>A message settled here whose invocation then ends badly (the function timed out, its
 * environment died) is not deleted: it comes back, and its job's record, written before the
 * acknowledgement, decides (a finished job's message is deleted unrun).
 */
final class BatchAcknowledgements implements MessageDeletes {

    private final Set<String> settled = ConcurrentHashMap.newKeySet();

    @Override
    public boolean delete(Delivery delivery, String jobId) {
        settled.add(delivery.messageId());
        return true;
    }

    /** Of {@code messageIds}, those not settled: the batch item failures, in the order given. */
    List<String> unsettled(List<String> messageIds) {
        return messageIds.stream().filter(id -> !settled.contains(id)).toList();
    }

    @Override
    public boolean close(Duration timeout) {
        return true;
    }

    @Override
    public long[] requestsBySize() {
        return new long[DeleteBatcher.MAX_ENTRIES + 1]; // the mapping's deletes, not this function's
    }
}
