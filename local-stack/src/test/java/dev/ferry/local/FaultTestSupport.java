package dev.ferry.local;

import dev.ferry.core.DynamoDbJobStore;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.Job;
import dev.ferry.worker.GpuSlot;
import dev.ferry.worker.InstanceNotices;
import dev.ferry.worker.JobExecution;
import dev.ferry.worker.JobHandler;
import dev.ferry.worker.QueueSettings;
import dev.ferry.worker.Worker;
import dev.ferry.worker.WorkerConfig;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** What the fault ITs share: workers built around a test handler, notices wired to a drain, queue contents. */
final class FaultTestSupport {

    private FaultTestSupport() {
    }

    /** The local stack's worker environment with short timings, {@code id} and {@code overrides}. */
    static Map<String, String> workerEnv(LocalStack stack, String id, Map<String, String> overrides) {
        Map<String, String> env = new HashMap<>(stack.environment().asMap());
        env.put(WorkerConfig.WORKER_ID, id);
        env.put(WorkerConfig.LEASE, "2");
        env.put(WorkerConfig.HEARTBEAT, "0.5");
        env.put(WorkerConfig.WAIT_SECONDS, "1");
        env.put(WorkerConfig.DRAIN_GRACE, "10");
        env.put(WorkerConfig.DUPLICATE_DEFER, "1");
        env.put(WorkerConfig.RETRY_BASE, "0.5");
        env.put(WorkerConfig.RETRY_MAX, "1");
        env.put(WorkerConfig.NOTICE_POLL, "0.2");
        env.put(WorkerConfig.SPOT_MARGIN, "1");
        env.putAll(overrides);
        return env;
    }

    /** A one-slot worker on the stack's own clients, running {@code handler}; not started. */
    static Worker worker(LocalStack stack, String id, JobHandler handler, Map<String, String> overrides) {
        return worker(stack, id, handler, overrides, store -> store);
    }

    /** The same, with the store as {@code store} changes it (a test disturbing some of its calls). */
    static Worker worker(LocalStack stack, String id, JobHandler handler, Map<String, String> overrides,
                         java.util.function.UnaryOperator<dev.ferry.core.JobStore> store) {
        WorkerConfig config = WorkerConfig.from(FerryEnv.of(workerEnv(stack, id, overrides)));
        return new Worker(stack.sqs(), store.apply(DynamoDbJobStore.fromEnvironment(stack.dynamoDb(),
                stack.environment())), handler, List.of(new GpuSlot(0, "0")), config,
                QueueSettings.read(stack.sqs(), stack.queueUrl()), Clock.systemUTC());
    }

    /** A notice watcher for {@code worker}, as WorkerMain wires it, except that a drain does not exit the JVM. */
    static InstanceNotices watch(Worker worker, WorkerConfig config, List<InstanceNotices.Notice> seen) {
        return InstanceNotices.fromConfig(config, notice -> {
            seen.add(notice);
            notice.drainGrace(config, Instant.now()).ifPresent(grace ->
                    new Thread(() -> worker.drain(grace, notice.kind().toString()), "test-drain").start());
        }).orElseThrow().start();
    }

    static WorkerConfig config(LocalStack stack, String id, Map<String, String> overrides) {
        return WorkerConfig.from(FerryEnv.of(workerEnv(stack, id, overrides)));
    }

    static Job job(LocalStack stack, String jobId) {
        return DynamoDbJobStore.fromEnvironment(stack.dynamoDb(), stack.environment()).get(jobId).orElseThrow();
    }

    /**
     * A handler that reports each start and then works until released ({@link #finish}) or
     * interrupted (a drain or a lost lease stops it).
     */
    static final class GatedHandler implements JobHandler {
        final List<JobExecution> started = new CopyOnWriteArrayList<>();
        final List<JobExecution> interrupted = new CopyOnWriteArrayList<>();
        private volatile CountDownLatch release = new CountDownLatch(1);
        private final String result;

        GatedHandler(String result) {
            this.result = result;
        }

        /** Every job running now, and every later one, finishes at once. */
        void finish() {
            release.countDown();
        }

        @Override
        public String run(JobExecution execution) throws InterruptedException {
            started.add(execution);
            try {
                while (!release.await(50, TimeUnit.MILLISECONDS)) {
                    // working
                }
            } catch (InterruptedException e) {
                interrupted.add(execution);
                throw e;
            }
            return result;
        }
    }
}
