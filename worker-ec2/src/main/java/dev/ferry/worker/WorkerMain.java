package dev.ferry.worker;

import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code java -jar ferry-worker.jar}: one worker for this machine, configured from the environment.
 * SIGTERM (systemd stop, a deploy) drains it: no new jobs, running ones get {@code FERRY_DRAIN_GRACE}
 * to finish, the rest are given back.
 */
public final class WorkerMain {

    private static final Logger LOG = LoggerFactory.getLogger(WorkerMain.class);

    private WorkerMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        Worker worker;
        try {
            worker = Worker.fromEnvironment(System.getenv());
        } catch (IllegalStateException | IllegalArgumentException e) {
            LOG.error("cannot start the worker: {}", e.getMessage());
            System.exit(2);
            return;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            worker.close();
            stopped.countDown();
        }, "ferry-shutdown"));
        worker.start();
        stopped.await();
    }
}
