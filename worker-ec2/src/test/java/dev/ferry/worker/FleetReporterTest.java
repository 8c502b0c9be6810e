package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Json;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ProvisionedThroughputExceededException;
import software.amazon.awssdk.services.dynamodb.model.PutItemRequest;
import software.amazon.awssdk.services.dynamodb.model.PutItemResponse;

class FleetReporterTest {

    private static final Instant NOW = Instant.parse("2026-12-01T10:00:00Z");

    /** Records each PutItem; fails the first {@code failures} of them as DynamoDB throttling would. */
    private static final class RecordingDynamoDb implements DynamoDbClient {
        final List<PutItemRequest> puts = new CopyOnWriteArrayList<>();
        final AtomicInteger failures;

        RecordingDynamoDb(int failures) {
            this.failures = new AtomicInteger(failures);
        }

        @Override
        public PutItemResponse putItem(PutItemRequest request) {
            puts.add(request);
            if (failures.getAndDecrement() > 0) {
                throw ProvisionedThroughputExceededException.builder().message("slow down").statusCode(400).build();
            }
            return PutItemResponse.builder().build();
        }

        @Override
        public String serviceName() {
            return "dynamodb";
        }

        @Override
        public void close() {
        }
    }

    private static final class Life implements WorkerStatus.Lifecycle {
        volatile String drainReason;
        volatile boolean stopped;

        @Override
        public String drainReason() {
            return drainReason;
        }

        @Override
        public boolean stopped() {
            return stopped;
        }
    }

    private static WorkerStatus status(SlotActivity activity, Life life) {
        return new WorkerStatus("w-1", "gpu-a", Duration.ofSeconds(20), activity, life,
                Clock.fixed(NOW, ZoneOffset.UTC));
    }

    @Test
    void item_isTheSnapshotWithKeyPoolStateAndAnExpiryMinutesAhead() throws Exception {
        SlotActivity activity = new SlotActivity(job -> "{}", List.of(new GpuSlot(0, "GPU-abc")),
                Clock.fixed(NOW, ZoneOffset.UTC));
        activity.awaitReady(new GpuSlot(0, "GPU-abc"));
        var item = FleetReporter.item(status(activity, new Life()).snapshot(), Duration.ofMinutes(2));
        assertEquals(List.of("workerId", "pool", "state", "heartbeatAt", "expiresAt", "snapshot"),
                List.copyOf(item.keySet()));
        assertEquals(AttributeValue.fromS("w-1"), item.get("workerId"));
        assertEquals(AttributeValue.fromS("gpu-a"), item.get("pool"));
        assertEquals(AttributeValue.fromS("RUNNING"), item.get("state"));
        assertEquals(Long.toString(NOW.toEpochMilli()), item.get("heartbeatAt").n());
        assertEquals(Long.toString(NOW.getEpochSecond() + 120), item.get("expiresAt").n());
        JsonNode snapshot = Json.parse(item.get("snapshot").s());
        assertEquals("IDLE", snapshot.at("/slots/0/state").asText());
        assertEquals("GPU-abc", snapshot.at("/slots/0/gpu").asText());
        assertEquals(20, snapshot.get("heartbeatSeconds").asInt());
        assertTrue(itemBytes(item) < 1024, "one write unit per heartbeat: " + itemBytes(item));
        System.out.println("heartbeat item, 1 idle slot: " + itemBytes(item) + " bytes");
    }

    /** DynamoDB's item size: attribute names plus values (numbers counted as their digits, an upper bound). */
    private static int itemBytes(java.util.Map<String, AttributeValue> item) {
        int bytes = 0;
        for (var entry : item.entrySet()) {
            bytes += entry.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
            AttributeValue value = entry.getValue();
            bytes += (value.s() != null ? value.s() : value.n()).getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        }
        return bytes;
    }

    @Test
    void anEightGpuWorkersHeartbeat_withWarmHandlersAndJobs_isUnderThreeWriteUnits() {
        List<WorkerSnapshot.Slot> slots = new java.util.ArrayList<>();
        for (int i = 0; i < 8; i++) {
            slots.add(new WorkerSnapshot.Slot(i, "GPU-5a0f0b6e-1111-2222-3333-44445555666" + i, SlotActivity.State.BUSY,
                    "01JD3N3Y3ZX2W0K7Q8M9P4R5S" + i, "sd-xl", NOW, List.of(new WarmHandler.Status(i, "SD_XL",
                    WarmHandler.State.READY, 41_250L, 1, "exited with 137", NOW, null, 1))));
        }
        WorkerSnapshot snapshot = new WorkerSnapshot("ip-10-0-1-23-4242-1a2b3c4d", "gpu-a", "i-0123456789abcdef0",
                "us-east-1a", "g6.48xlarge", "0.1.0", NOW, WorkerSnapshot.State.RUNNING, null, slots, NOW,
                Duration.ofSeconds(20));
        int bytes = itemBytes(FleetReporter.item(snapshot, Duration.ofMinutes(2)));
        System.out.println("heartbeat item, 8 busy GPU slots with warm handlers: " + bytes + " bytes");
        assertTrue(bytes > 2048 && bytes <= 3072, bytes + " bytes: README's cost says 3 write units");
    }

    @Test
    void aBusySlot_namesItsJob_andADrainNamesItsReason() throws Exception {
        Life life = new Life();
        java.util.concurrent.CountDownLatch running = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        GpuSlot gpu = new GpuSlot(0, "0");
        SlotActivity activity = new SlotActivity(job -> {
            running.countDown();
            release.await();
            return "{}";
        }, List.of(gpu), Clock.systemUTC());
        AtomicInteger changes = new AtomicInteger();
        activity.onChange(changes::incrementAndGet);
        activity.awaitReady(gpu);
        Thread job = new Thread(() -> {
            try {
                activity.run(new JobExecution("01JD3N3Y3ZX2W0K7Q8M9P4R5S6", "sd", "{}", 1, gpu));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        job.start();
        running.await();
        life.drainReason = "SPOT_INTERRUPTION {\"action\":\"terminate\"}";
        WorkerSnapshot busy = status(activity, life).snapshot();
        assertEquals(SlotActivity.State.BUSY, busy.slots().get(0).state());
        assertEquals("01JD3N3Y3ZX2W0K7Q8M9P4R5S6", busy.slots().get(0).jobId());
        assertEquals("sd", busy.slots().get(0).type());
        assertEquals(WorkerSnapshot.State.DRAINING, busy.state());
        assertTrue(busy.toJson().get("draining").asBoolean());
        release.countDown();
        job.join();
        assertEquals(SlotActivity.State.IDLE, status(activity, life).snapshot().slots().get(0).state());
        assertEquals(3, changes.get(), "ready, busy, idle: each told at once");
    }

    @Test
    void failedWrites_neverThrow_areTriedAgain_andCloseWritesStopped() throws Exception {
        RecordingDynamoDb dynamoDb = new RecordingDynamoDb(2);
        Life life = new Life();
        SlotActivity activity = new SlotActivity(job -> "{}", List.of(new GpuSlot(0, "0")), Clock.systemUTC());
        WorkerStatus status = new WorkerStatus("w-1", "default", Duration.ofMillis(50), activity, life,
                Clock.systemUTC());
        FleetReporter reporter = new FleetReporter(dynamoDb, "ferry-workers", status::snapshot, Duration.ofMillis(50),
                Duration.ofMinutes(2)).start();
        awaitWrites(reporter, 2, Duration.ofSeconds(10));
        assertTrue(reporter.writes() >= 2, "after two throttled writes, heartbeats go on: " + dynamoDb.puts.size());
        life.drainReason = "shutdown";
        life.stopped = true;
        reporter.close();
        PutItemRequest last = dynamoDb.puts.get(dynamoDb.puts.size() - 1);
        assertEquals("ferry-workers", last.tableName());
        assertEquals("STOPPED", last.item().get("state").s());
        int written = dynamoDb.puts.size();
        Thread.sleep(200);
        assertEquals(written, dynamoDb.puts.size(), "no heartbeat after the last one");
    }

    @Test
    void whileWritesFail_theBeatKeepsItsInterval_soAHealthyWorkersItemNeverExpires() throws Exception {
        // Ten failures in a row: a growing back-off would wait 2+4+8+... intervals between tries, far
        // past the item's expiry (4 intervals here), and the fleet view would call the worker gone.
        RecordingDynamoDb dynamoDb = new RecordingDynamoDb(10);
        SlotActivity activity = new SlotActivity(job -> "{}", List.of(new GpuSlot(0, "0")), Clock.systemUTC());
        WorkerStatus status = new WorkerStatus("w-1", "default", Duration.ofMillis(100), activity, new Life(),
                Clock.systemUTC());
        FleetReporter reporter = new FleetReporter(dynamoDb, "t", status::snapshot, Duration.ofMillis(100),
                Duration.ofMillis(400)).start();
        awaitWrites(reporter, 1, Duration.ofSeconds(20));
        reporter.close();
        assertTrue(reporter.writes() >= 1, "written once the failures end: " + dynamoDb.puts.size() + " tries");
        assertTrue(dynamoDb.puts.size() >= 11, "ten failed tries, then a good one: " + dynamoDb.puts.size());
    }

    @Test
    void aChange_isWrittenSoon_notAtTheNextBeat() throws Exception {
        RecordingDynamoDb dynamoDb = new RecordingDynamoDb(0);
        Life life = new Life();
        SlotActivity activity = new SlotActivity(job -> "{}", List.of(new GpuSlot(0, "0")), Clock.systemUTC());
        WorkerStatus status = new WorkerStatus("w-1", "default", Duration.ofHours(1), activity, life,
                Clock.systemUTC());
        FleetReporter reporter = new FleetReporter(dynamoDb, "t", status::snapshot, Duration.ofHours(1),
                Duration.ofHours(6)).start();
        awaitWrites(reporter, 1, Duration.ofSeconds(5));
        life.drainReason = "shutdown";
        reporter.changed();
        awaitWrites(reporter, 2, FleetReporter.MIN_GAP.plusSeconds(3));
        assertEquals(2, reporter.writes(), "the drain is written within MIN_GAP, not an hour later");
        assertEquals("DRAINING", dynamoDb.puts.get(1).item().get("state").s());
        reporter.close();
    }

    /** Until the reporter has written {@code count} items, or {@code within} has passed (the caller asserts). */
    private static void awaitWrites(FleetReporter reporter, int count, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (reporter.writes() < count && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
    }
}
