package dev.ferry.worker;

import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.imds.Ec2MetadataClient;

/**
 * Which EC2 instance this worker runs on, as the instance metadata service says: its id, zone and
 * type, for the fleet view. Off EC2 (or with IMDS off) there is none, and the worker says so once.
 */
public record InstanceIdentity(String instanceId, String availabilityZone, String instanceType) {

    private static final Logger LOG = LoggerFactory.getLogger(InstanceIdentity.class);

    /** Asks the metadata service; a second or two at most (its client's timeouts). Empty off EC2. */
    public static Optional<InstanceIdentity> lookUp(WorkerConfig config) {
        if (config.metadataDisabled()) {
            return Optional.empty();
        }
        try (Ec2MetadataClient metadata = InstanceNotices.metadataClient(config)) {
            String id = metadata.get("/latest/meta-data/instance-id").asString().strip();
            return Optional.of(new InstanceIdentity(id, optional(metadata, "/latest/meta-data/placement/availability-zone"),
                    optional(metadata, "/latest/meta-data/instance-type")));
        } catch (RuntimeException e) {
            LOG.info("no instance metadata service ({}): the heartbeat names no instance", e.getMessage());
            return Optional.empty();
        }
    }

    private static String optional(Ec2MetadataClient metadata, String path) {
        try {
            return metadata.get(path).asString().strip();
        } catch (RuntimeException e) {
            return null;
        }
    }
}
