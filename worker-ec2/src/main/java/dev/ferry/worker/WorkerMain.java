package dev.ferry.worker;

import dev.ferry.core.FerryEnv;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code java -jar ferry-worker.jar}: one worker for this machine, configured from the environment.
 *
 * <p>One drain path ({@link Worker#drain}) for everything that takes the machine away: SIGTERM
 * (systemd stop, a deploy) with {@code FERRY_DRAIN_GRACE}; a Spot interruption notice with the time
 * left before the interruption less {@code FERRY_SPOT_MARGIN} (at most {@code FERRY_DRAIN_GRACE});
 * an Auto Scaling termination with {@code FERRY_DRAIN_GRACE}. Running jobs may finish within the
 * grace; the rest are given back. After a notice's drain the process stays up, idle, until the
 * machine goes away or it is stopped: exiting would only have systemd ({@code Restart=always})
 * start a worker that takes new jobs on a machine about to vanish. (One restarted anyway sees the
 * same notice within {@code FERRY_NOTICE_POLL} and gives back what it took meanwhile.)
 */
public final class WorkerMain {

    private static final Logger LOG = LoggerFactory.getLogger(WorkerMain.class);

    private WorkerMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        Worker worker;
        WorkerConfig config;
        FleetSettings fleet;
        Map<String, String> environment;
        try {
            environment = StackTarget.resolve(System.getenv());
            config = WorkerConfig.from(FerryEnv.of(environment));
            fleet = FleetSettings.from(FerryEnv.of(environment));
            worker = Worker.fromEnvironment(environment);
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
        Optional<InstanceNotices> notices = InstanceNotices.fromConfig(config,
                notice -> onNotice(worker, config, notice));
        worker.start();
        serveHealth(worker, fleet);
        notices.ifPresent(InstanceNotices::start);
        protectFromScaleIn(worker, config, FerryEnv.of(environment));
        stopped.await();
    }

    /** {@code GET /health} on 127.0.0.1 ({@link WorkerHealthServer}); a taken port is logged, never fatal. */
    private static void serveHealth(Worker worker, FleetSettings fleet) {
        if (fleet.healthPort() == 0 || worker.status().isEmpty()) {
            LOG.info("no worker health endpoint ({}=0)", FleetSettings.HEALTH_PORT);
            return;
        }
        try {
            WorkerHealthServer.start(fleet.healthPort(), worker.status().get()::snapshot, fleet.setupLimit());
        } catch (IllegalStateException e) {
            LOG.warn("{}; the worker runs on without it", e.getMessage());
        }
    }

    /** Finds the instance's Auto Scaling group off the start-up path, then keeps it protected while busy. */
    private static void protectFromScaleIn(Worker worker, WorkerConfig config, FerryEnv env) {
        Thread discover = new Thread(() -> ScaleInProtection.discover(config, env).ifPresent(protection -> {
            worker.onBusyChange(protection);
            protection.accept(worker.runningCount());
            protection.start();
        }), "ferry-scale-in-discovery");
        discover.setDaemon(true);
        discover.start();
    }

    /** A notice that drains: drain on a thread of its own (the watcher goes on), then stay idle. */
    static void onNotice(Worker worker, WorkerConfig config, InstanceNotices.Notice notice) {
        Optional<Duration> grace = notice.drainGrace(config, Clock.systemUTC().instant());
        if (grace.isEmpty()) {
            LOG.warn("{}: going on ({}=false); an interruption, if it follows, is noticed on its own",
                    notice.kind(), WorkerConfig.DRAIN_ON_REBALANCE);
            return;
        }
        Thread drain = new Thread(() -> {
            worker.drain(grace.get(), notice.kind() + " " + notice.detail());
            LOG.info("worker {} drained after {}; idle until the machine goes away or the process is stopped",
                    worker.workerId(), notice.kind());
        }, "ferry-notice-drain");
        drain.start();
    }
}
