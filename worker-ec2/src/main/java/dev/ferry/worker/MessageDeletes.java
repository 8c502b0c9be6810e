package dev.ferry.worker;

import java.time.Duration;

/**
 * How a queue's settled messages are deleted: by the worker's own calls, batched
 * ({@link DeleteBatcher}), or, in a Lambda pool, by the event source mapping, told which messages
 * of the batch are settled ({@link BatchAcknowledgements}).
 */
interface MessageDeletes {

    /**
     * Asks for the message to be deleted; every caller has written what the delete settles first.
     *
     * @return false where it is known not to have been deleted (the message then comes back, to be
     *     handled by its job's state)
     */
    boolean delete(Delivery delivery, String jobId);

    /** Sends what is still waiting, for at most {@code timeout}; true when nothing was left unsent. */
    boolean close(Duration timeout);

    /** DeleteMessage(Batch) requests made so far, by how many deletes each carried (index 1-10). */
    long[] requestsBySize();
}
