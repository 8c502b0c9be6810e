package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.Lease;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.ChangeMessageVisibilityRequest;
import software.amazon.awssdk.services.sqs.model.ChangeMessageVisibilityResponse;
import software.amazon.awssdk.services.sqs.model.Message;

/**
 * The heartbeat renews the lease first and the message's visibility second, and one job's slow
 * SQS never holds up another job's lease.
 */
class LeaseKeeperTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private final List<String> events = new CopyOnWriteArrayList<>();
    private final Map<String, AtomicInteger> renewals = new ConcurrentHashMap<>();
    private final CountDownLatch releaseSlowSqs = new CountDownLatch(1);

    /** SQS whose visibility call for message "slow" hangs until released. */
    private final SqsClient sqs = new SqsClient() {
        @Override
        public ChangeMessageVisibilityResponse changeMessageVisibility(ChangeMessageVisibilityRequest request) {
            events.add("visibility " + request.receiptHandle());
            if (request.receiptHandle().equals("slow")) {
                try {
                    releaseSlowSqs.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return ChangeMessageVisibilityResponse.builder().build();
        }

        @Override
        public String serviceName() {
            return "sqs";
        }

        @Override
        public void close() {
        }
    };

    private final JobQueue queue = new JobQueue(sqs, "q", "dlq", 1, Clock.systemUTC());

    private Delivery delivery(String handle) {
        return Delivery.of(Message.builder().messageId(handle).receiptHandle(handle).body("{}").build(), Instant.now(),
                queue);
    }

    private static Lease lease(String jobId) {
        return new Lease(jobId, "w1", 1L, "lease-" + jobId);
    }

    private LeaseKeeper keeper(UnsupportedJobStore store, int threads) {
        return new LeaseKeeper(store, Clock.systemUTC(), Duration.ofSeconds(30), Duration.ofMillis(50), threads);
    }

    private UnsupportedJobStore renewing() {
        return new UnsupportedJobStore() {
            @Override
            public Renewal renewLease(Lease lease, Instant leaseUntil) {
                events.add("renew " + lease.jobId());
                renewals.computeIfAbsent(lease.jobId(), id -> new AtomicInteger()).incrementAndGet();
                return Renewal.RENEWED;
            }
        };
    }

    private static void await(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "condition not met within " + WAIT);
            Thread.sleep(10);
        }
    }

    @Test
    void eachBeat_renewsTheLeaseFirst_thenTheVisibility() throws Exception {
        try (LeaseKeeper keeper = keeper(renewing(), 1)) {
            LeaseKeeper.Heartbeat heartbeat = keeper.keep(lease("a"), delivery("fast"), Instant.now().plusSeconds(30),
                    () -> { });
            await(() -> events.size() >= 4);
            heartbeat.stop();
        }
        assertEquals(List.of("renew a", "visibility fast", "renew a", "visibility fast"), events.subList(0, 4));
    }

    @Test
    void aJobWhoseSqsHangs_neverHoldsUpAnotherJobsLease() throws Exception {
        try (LeaseKeeper keeper = keeper(renewing(), 2)) {
            keeper.keep(lease("stuck"), delivery("slow"), Instant.now().plusSeconds(30), () -> { });
            keeper.keep(lease("other"), delivery("fast"), Instant.now().plusSeconds(30), () -> { });
            await(() -> events.contains("visibility slow"));
            int before = renewals.get("other").get();
            await(() -> renewals.get("other").get() >= before + 5);
            assertEquals(1, renewals.get("stuck").get(), "its lease was renewed before its SQS call hung");
        } finally {
            releaseSlowSqs.countDown();
        }
    }

    @Test
    void aLeaseTakenOver_stopsTheJob_once() throws Exception {
        AtomicInteger lost = new AtomicInteger();
        UnsupportedJobStore takenOver = new UnsupportedJobStore() {
            @Override
            public Renewal renewLease(Lease lease, Instant leaseUntil) {
                events.add("renew " + lease.jobId());
                return Renewal.LOST;
            }
        };
        try (LeaseKeeper keeper = keeper(takenOver, 1)) {
            keeper.keep(lease("a"), delivery("fast"), Instant.now().plusSeconds(30), lost::incrementAndGet);
            await(() -> lost.get() == 1);
            Thread.sleep(200);
        }
        assertEquals(1, lost.get());
        assertEquals(List.of("renew a"), events, "no visibility for a job that is no longer ours");
    }

    @Test
    void renewalsThatFail_stopTheJobOnlyOnceTheLeaseHasRunOut() throws Exception {
        CountDownLatch lost = new CountDownLatch(1);
        UnsupportedJobStore unreachable = new UnsupportedJobStore() {
            @Override
            public Renewal renewLease(Lease lease, Instant leaseUntil) {
                events.add("renew " + lease.jobId());
                throw SdkClientException.create("Unable to execute HTTP request: connect timed out");
            }
        };
        try (LeaseKeeper keeper = keeper(unreachable, 1)) {
            Instant until = Instant.now().plusMillis(400);
            keeper.keep(lease("a"), delivery("fast"), until, lost::countDown);
            assertTrue(lost.await(WAIT.toMillis(), TimeUnit.MILLISECONDS));
            assertTrue(!Instant.now().isBefore(until), "not before the lease ran out");
            assertTrue(events.contains("visibility fast"), "while the lease held, the message was kept hidden");
        }
    }

    @Test
    void aCancelRequested_stopsTheJobOnce_andKeepsItsMessageHiddenUntilItsOutcome() throws Exception {
        AtomicInteger cancels = new AtomicInteger();
        AtomicInteger lost = new AtomicInteger();
        UnsupportedJobStore cancelled = new UnsupportedJobStore() {
            @Override
            public Renewal renewLease(Lease lease, Instant leaseUntil) {
                events.add("renew " + lease.jobId());
                return Renewal.CANCEL_REQUESTED;
            }
        };
        try (LeaseKeeper keeper = keeper(cancelled, 1)) {
            LeaseKeeper.Heartbeat heartbeat = keeper.keep(lease("a"), delivery("fast"), Instant.now().plusSeconds(30),
                    lost::incrementAndGet, cancels::incrementAndGet);
            await(() -> events.stream().filter("renew a"::equals).count() >= 3);
            heartbeat.stop();
        }
        assertEquals(1, cancels.get(), "told once");
        assertEquals(0, lost.get(), "a cancel is not a lost lease: the CANCELLED write is still ours to make");
        assertTrue(events.contains("visibility fast"), events.toString());
    }
}
