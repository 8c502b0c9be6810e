package dev.ferry.worker;

import java.time.Clock;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;

/**
 * A worker's place in the fleet: its {@link WorkerStatus} and, where a workers table is configured,
 * the {@link FleetReporter} that writes it as heartbeats. The worker tells it when it starts, when
 * something worth seeing changes, and when it has stopped.
 */
final class WorkerFleet {

    private static final Logger LOG = LoggerFactory.getLogger(WorkerFleet.class);

    private final WorkerStatus status;
    private final Optional<FleetReporter> reporter;
    private final WorkerConfig config;

    WorkerFleet(WorkerStatus status, Optional<FleetReporter> reporter, WorkerConfig config) {
        this.status = Objects.requireNonNull(status, "status");
        this.reporter = Objects.requireNonNull(reporter, "reporter");
        this.config = Objects.requireNonNull(config, "config");
    }

    static WorkerFleet of(FleetSettings settings, WorkerConfig config, DynamoDbClient dynamoDb, SlotActivity activity,
                          WorkerStatus.Lifecycle lifecycle) {
        WorkerStatus status = new WorkerStatus(config.workerId(), settings.pool(), settings.heartbeat(), activity,
                lifecycle, Clock.systemUTC());
        Optional<FleetReporter> reporter = settings.table().map(table -> new FleetReporter(dynamoDb, table,
                status::snapshot, settings.heartbeat(), settings.expiry()));
        if (reporter.isEmpty()) {
            LOG.info("no heartbeats: {} is not set, so this worker is not in the fleet view",
                    dev.ferry.core.FerryEnv.WORKERS_TABLE);
        }
        activity.onChange(() -> reporter.ifPresent(FleetReporter::changed));
        return new WorkerFleet(status, reporter, config);
    }

    WorkerStatus status() {
        return status;
    }

    void start() {
        Thread identify = new Thread(() -> {
            status.identity(InstanceIdentity.lookUp(config));
            reporter.ifPresent(FleetReporter::changed);
        }, "ferry-instance-identity");
        identify.setDaemon(true);
        identify.start();
        reporter.ifPresent(FleetReporter::start);
    }

    void changed() {
        reporter.ifPresent(FleetReporter::changed);
    }

    /** The worker has stopped: the last heartbeat. */
    void stopped() {
        reporter.ifPresent(FleetReporter::close);
    }
}
