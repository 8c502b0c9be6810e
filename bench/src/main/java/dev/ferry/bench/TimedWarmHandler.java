package dev.ferry.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Json;
import dev.ferry.worker.GpuSlot;
import dev.ferry.worker.JobExecution;
import dev.ferry.worker.JobFailedException;
import dev.ferry.worker.JobHandler;
import java.time.Duration;

/**
 * Ferry's handlers as the worker builds them (a warm handler of its line protocol, here), with each
 * job's busy time taken from what the handler process says it did: {@code startedAt} and
 * {@code endedAt} (epoch seconds) in its result, as {@code bench/handlers/sleep_handler.py} answers.
 * The protocol's own overhead (a JSON line each way) thus counts as time the slot was not busy.
 */
final class TimedWarmHandler implements JobHandler {

    private final JobHandler delegate;
    private final Timeline timeline;

    TimedWarmHandler(JobHandler delegate, Timeline timeline) {
        this.delegate = delegate;
        this.timeline = timeline;
    }

    @Override
    public String run(JobExecution execution) throws JobFailedException, InterruptedException {
        String result = delegate.run(execution);
        JsonNode answer = Json.parse(result);
        if (!answer.path("startedAt").isNumber() || !answer.path("endedAt").isNumber()) {
            throw new IllegalStateException("the bench handler answered without startedAt and endedAt: " + result);
        }
        timeline.add(Math.round(answer.path("startedAt").asDouble() * 1e6),
                Math.round(answer.path("endedAt").asDouble() * 1e6));
        return result;
    }

    @Override
    public Duration timeout(String type) {
        return delegate.timeout(type);
    }

    @Override
    public void awaitReady(GpuSlot slot) throws InterruptedException {
        delegate.awaitReady(slot);
    }

    @Override
    public void close() {
        delegate.close();
    }
}
