package dev.ferry.worker;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The deletes of one Lambda invocation's batch. A message its run settles is deleted at once (by
 * {@code delegate}) and noted; the function answers the event source mapping with every other
 * message of the batch as a failure ({@code ReportBatchItemFailures}), which the mapping leaves as
 * it is, out of sight for as long as the run set (a duplicate put off, a back-off), to come back
 * then.
 *
 * <p>Deleted at once rather than left to the mapping, which deletes only once the whole invocation
 * returns: a settled message's visibility is only its last heartbeat's lease, and a slow sibling in
 * the batch would let it come back meanwhile (a retry's original beside its delayed copy, a failed
 * job's message moved to the dead-letter queue twice). Noted even where the delete failed: the
 * mapping's own delete is its second chance, and a message that comes back anyway is handled by
 * its job's record, written before the delete.
 */
final class BatchAcknowledgements implements MessageDeletes {

    private final MessageDeletes delegate;
    private final Set<String> settled = ConcurrentHashMap.newKeySet();

    BatchAcknowledgements(MessageDeletes delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    @Override
    public boolean delete(Delivery delivery, String jobId) {
        settled.add(delivery.messageId());
        return delegate.delete(delivery, jobId);
    }

    /** Of {@code messageIds}, those not settled: the batch item failures, in the order given. */
    List<String> unsettled(List<String> messageIds) {
        return messageIds.stream().filter(id -> !settled.contains(id)).toList();
    }

    @Override
    public boolean close(Duration timeout) {
        return delegate.close(timeout);
    }

    @Override
    public long[] requestsBySize() {
        return delegate.requestsBySize();
    }
}
