package dev.ferry.worker;

import dev.ferry.core.AwsErrors;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * Writes the worker's heartbeat: one item per worker in the workers table, put every
 * {@code interval} and soon after a change worth seeing (a drain, a slot taking or finishing a
 * job: at most one extra write per {@link #MIN_GAP}), and a last one, {@code STOPPED}, when the
 * worker stops.
 *
 * <p>A plain {@code PutItem}, no condition: only this worker writes its item, from this one thread,
 * one write after another (the last one, from {@link #close}, waits for any still under way), so a
 * retried write can never land after a newer one. Each item carries {@code expiresAt}
 * ({@link FleetSettings#expiry()} on): DynamoDB's TTL deletes it some time after, and readers
 * ignore it from then on. A failed write never touches a job: it is logged and tried again at the
 * next beat, never later (the SDK's own retries are the back-off): a longer pause would let the
 * item expire while the worker is healthy, and the fleet view would call it gone.
 */
public final class FleetReporter implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(FleetReporter.class);
    /** The shortest time between two writes that a change brings forward. */
    static final Duration MIN_GAP = Duration.ofSeconds(2);
    /** How long {@link #close} waits for the last write. */
    static final Duration LAST_WRITE_TIMEOUT = Duration.ofSeconds(10);

    private final DynamoDbClient dynamoDb;
    private final String table;
    private final Supplier<WorkerSnapshot> snapshots;
    private final Duration interval;
    private final Duration expiry;
    private final Thread thread;
    private final Object lock = new Object();
    /** Held for each write: the last one never overtakes one still under way. */
    private final Object writing = new Object();
    private boolean changed;
    private boolean closed;
    private volatile int failuresInRow; // written under writing
    private long writes;

    public FleetReporter(DynamoDbClient dynamoDb, String table, Supplier<WorkerSnapshot> snapshots, Duration interval,
                         Duration expiry) {
        this.dynamoDb = Objects.requireNonNull(dynamoDb, "dynamoDb");
        this.table = Objects.requireNonNull(table, "table");
        this.snapshots = Objects.requireNonNull(snapshots, "snapshots");
        this.interval = Objects.requireNonNull(interval, "interval");
        this.expiry = Objects.requireNonNull(expiry, "expiry");
        this.thread = new Thread(this::loop, "ferry-fleet-heartbeat");
        this.thread.setDaemon(true);
    }

    public FleetReporter start() {
        thread.start();
        return this;
    }

    /** Something worth seeing changed: write soon (within {@link #MIN_GAP}). Returns at once. */
    public void changed() {
        synchronized (lock) {
            changed = true;
            lock.notifyAll();
        }
    }

    /** Heartbeats written so far (for tests and the log). */
    public long writes() {
        synchronized (lock) {
            return writes;
        }
    }

    /** The item a snapshot is written as. */
    static Map<String, AttributeValue> item(WorkerSnapshot snapshot, Duration expiry) {
        Map<String, AttributeValue> item = new LinkedHashMap<>();
        item.put("workerId", AttributeValue.fromS(snapshot.workerId()));
        item.put("pool", AttributeValue.fromS(snapshot.pool()));
        item.put("state", AttributeValue.fromS(snapshot.state().name()));
        item.put("heartbeatAt", AttributeValue.fromN(Long.toString(snapshot.at().toEpochMilli())));
        item.put("expiresAt", AttributeValue.fromN(Long.toString(snapshot.at().plus(expiry).getEpochSecond())));
        item.put("snapshot", AttributeValue.fromS(snapshot.toJson().toString()));
        return item;
    }

    private boolean write() {
        synchronized (writing) {
            return writeNow();
        }
    }

    private boolean writeNow() {
        WorkerSnapshot snapshot = snapshots.get();
        try {
            dynamoDb.putItem(r -> r.tableName(table).item(item(snapshot, expiry)));
            synchronized (lock) {
                writes++;
            }
            if (failuresInRow > 0) {
                LOG.info("worker {}: heartbeat written again after {} failure(s)", snapshot.workerId(), failuresInRow);
            }
            failuresInRow = 0;
            return true;
        } catch (SdkException e) {
            failuresInRow++;
            if (failuresInRow == 1 || failuresInRow % 10 == 0) {
                LOG.warn("worker {}: heartbeat to table {} failed ({} in a row); jobs go on: {}", snapshot.workerId(),
                        table, failuresInRow, AwsErrors.describe(e));
            }
            return false;
        } catch (RuntimeException e) {
            failuresInRow++;
            LOG.warn("worker {}: heartbeat failed unexpectedly ({} in a row); jobs go on", snapshot.workerId(),
                    failuresInRow, e);
            return false;
        }
    }

    private void loop() {
        long lastWrite = System.nanoTime();
        write();
        while (true) {
            long dueAt = lastWrite + interval.toNanos();
            synchronized (lock) {
                try {
                    while (!closed) {
                        long now = System.nanoTime();
                        // While writes fail, changes wait for the beat: no burst of failing writes.
                        long earliest = failuresInRow == 0 && changed ? lastWrite + MIN_GAP.toNanos() : dueAt;
                        if (now >= earliest) {
                            break;
                        }
                        lock.wait(Math.max(1, Duration.ofNanos(earliest - now).toMillis()));
                    }
                } catch (InterruptedException e) {
                    return;
                }
                if (closed) {
                    return;
                }
                changed = false;
            }
            lastWrite = System.nanoTime();
            write();
        }
    }

    /** Stops the beat and writes the last heartbeat (the worker's state then, {@code STOPPED} once it has stopped). */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            lock.notifyAll();
        }
        try {
            thread.join(LAST_WRITE_TIMEOUT.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!write()) {
            LOG.warn("the last heartbeat was not written: the fleet view shows this worker until its item expires");
        }
    }
}
