package dev.ferry.bench;

/**
 * One way of taking jobs off the queue and running them on one slot, as the busy-fraction part
 * compares them: Ferry's worker, a naive loop, Spring Cloud AWS's listener. Started once, closed
 * once the backlog is done (its clients with it).
 */
interface SlotConsumer extends AutoCloseable {

    void start();

    @Override
    void close();
}
