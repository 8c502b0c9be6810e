package dev.ferry.worker;

import dev.ferry.core.FerryEnv;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * The worker's fleet settings, read once from the environment: where its heartbeat goes, how often,
 * which pool it belongs to, and its local health endpoint. Kept apart from {@link WorkerConfig}
 * because none of them changes how a job runs.
 */
public final class FleetSettings {

    /** The worker's pool (a name for a group of like machines); default {@value #DEFAULT_POOL}. */
    public static final String POOL = dev.ferry.core.FerryEnv.POOL;
    /** Time between two heartbeats (seconds or ISO-8601); default 20 s, at least 5 s. */
    public static final String FLEET_HEARTBEAT = "FERRY_FLEET_HEARTBEAT";
    /** The port of {@code GET /health} on 127.0.0.1; 0 turns it off; default {@value #DEFAULT_HEALTH_PORT}. */
    public static final String HEALTH_PORT = "FERRY_HEALTH_PORT";
    /** How long no slot may be ready before {@code /health} answers 503; default 15 minutes. */
    public static final String HEALTH_SETUP_LIMIT = "FERRY_HEALTH_SETUP_LIMIT";

    public static final String DEFAULT_POOL = "default";
    public static final Duration DEFAULT_HEARTBEAT = Duration.ofSeconds(20);
    public static final Duration MIN_HEARTBEAT = Duration.ofSeconds(1);
    public static final int DEFAULT_HEALTH_PORT = 8086;
    public static final Duration DEFAULT_SETUP_LIMIT = Duration.ofMinutes(15);
    /** A heartbeat item outlives its write by this many heartbeats (at least {@link #MIN_EXPIRY}). */
    static final int EXPIRY_HEARTBEATS = 6;
    static final Duration MIN_EXPIRY = Duration.ofMinutes(2);

    private final Optional<String> table;
    private final String pool;
    private final Duration heartbeat;
    private final int healthPort;
    private final Duration setupLimit;

    private FleetSettings(FerryEnv env) {
        this.table = env.optional(FerryEnv.WORKERS_TABLE);
        this.pool = env.optional(POOL).orElse(DEFAULT_POOL);
        if (!pool.matches("[A-Za-z0-9._-]{1,64}")) {
            throw new IllegalStateException(POOL + " must be 1-64 letters, digits, '.', '_' or '-', but is '" + pool
                    + "'");
        }
        this.heartbeat = env.duration(FLEET_HEARTBEAT, DEFAULT_HEARTBEAT);
        if (heartbeat.compareTo(MIN_HEARTBEAT) < 0) {
            throw new IllegalStateException(FLEET_HEARTBEAT + " must be at least " + MIN_HEARTBEAT.toSeconds()
                    + " s, but is " + heartbeat);
        }
        this.healthPort = env.intValue(HEALTH_PORT, DEFAULT_HEALTH_PORT);
        if (healthPort < 0 || healthPort > 65_535) {
            throw new IllegalStateException(HEALTH_PORT + " must be 0 (off) or a port number, but is " + healthPort);
        }
        this.setupLimit = env.duration(HEALTH_SETUP_LIMIT, DEFAULT_SETUP_LIMIT);
    }

    public static FleetSettings from(FerryEnv env) {
        return new FleetSettings(Objects.requireNonNull(env, "env"));
    }

    /** The heartbeat table; empty: the worker writes no heartbeat. */
    public Optional<String> table() { return table; }
    public String pool() { return pool; }
    public Duration heartbeat() { return heartbeat; }
    /** 0 when the endpoint is off. */
    public int healthPort() { return healthPort; }
    public Duration setupLimit() { return setupLimit; }

    /** How long a heartbeat item stays valid after its write: readers ignore it later (TTL deletes late). */
    public Duration expiry() {
        Duration byBeats = heartbeat.multipliedBy(EXPIRY_HEARTBEATS);
        return byBeats.compareTo(MIN_EXPIRY) < 0 ? MIN_EXPIRY : byBeats;
    }
}
