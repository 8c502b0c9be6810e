package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.Job;
import dev.ferry.core.JobStatus;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.threeten.extra.MutableClock;
import software.amazon.awssdk.core.exception.SdkClientException;

/** A queued job's position and ETA: the formula, and what is left out when it cannot be known. */
class QueueEstimatorTest {

    private static final Instant T0 = Instant.parse("2026-11-22T10:00:00Z");
    private final InMemoryJobStore store = new InMemoryJobStore();
    private final InMemoryJobQueries queries = new InMemoryJobQueries(store);
    private OptionalInt slots = OptionalInt.of(2);
    private final QueueEstimator estimator = new QueueEstimator(queries, () -> slots, Clock.systemUTC());

    private Job queued(int n, String type) {
        String id = String.format("01JD3N3Y3ZX2W0K7Q8M9P4R%03d", n);
        Job job = Job.builder().jobId(id).type(type).input("{}").status(JobStatus.QUEUED).createdAt(T0.plusSeconds(n))
                .updatedAt(T0).build();
        store.jobs.put(id, job);
        return job;
    }

    @Test
    void position_isTheQueuedJobsAhead_andEta_theWavesAheadThenItsOwnRun() {
        queries.runTimes.put("sd", List.of(Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(20)));
        for (int n = 0; n < 5; n++) {
            queued(n, n % 2 == 0 ? "sd" : "other");
        }
        store.jobs.put("01JD3N3Y3ZX2W0K7Q8M9P4R999", queued(99, "sd").toBuilder().status(JobStatus.RUNNING).build());
        Job fifth = store.jobs.get("01JD3N3Y3ZX2W0K7Q8M9P4R004");

        QueueEstimate estimate = estimator.estimate(fifth).orElseThrow();

        assertEquals(4, estimate.position(), "the queued jobs created before it, of every type; not running ones");
        assertEquals((4 / 2 + 1) * 20L, estimate.etaSeconds(), "(4 ahead / 2 slots + 1) x the median, 20 s");
        assertEquals(0, estimator.estimate(store.jobs.get("01JD3N3Y3ZX2W0K7Q8M9P4R000")).orElseThrow().position());
    }

    @Test
    void eta_roundsUp_andAnEvenNumberOfSamplesTakesTheMiddleTwo() {
        assertEquals(1, QueueEstimator.eta(0, 4, Duration.ofMillis(200)));
        assertEquals(3, QueueEstimator.eta(5, 4, Duration.ofMillis(1_100)));
        assertEquals(Duration.ofSeconds(15), QueueEstimator.median(List.of(Duration.ofSeconds(10),
                Duration.ofSeconds(20), Duration.ofSeconds(40), Duration.ofSeconds(1))).orElseThrow());
        assertEquals(Optional.empty(), QueueEstimator.median(List.of()));
    }

    @Test
    void withoutRecentRuns_orWorkingSlots_thePositionStays_andTheEtaIsLeftOut() {
        Job job = queued(1, "new-type");
        assertNull(estimator.estimate(job).orElseThrow().etaSeconds(), "no run of its type to go by");

        queries.runTimes.put("sd", List.of(Duration.ofSeconds(5)));
        slots = OptionalInt.empty();
        Job sd = queued(2, "sd");
        QueueEstimate estimate = estimator.estimate(sd).orElseThrow();
        assertEquals(1, estimate.position());
        assertNull(estimate.etaSeconds(), "no slot known to be working (a fleet at zero)");
    }

    @Test
    void pastTheCap_thePositionSaysSo_andNoEtaIsGiven() {
        queries.runTimes.put("sd", List.of(Duration.ofSeconds(5)));
        for (int n = 0; n <= QueueEstimator.POSITION_CAP + 1; n++) {
            queued(n, "sd");
        }
        Job last = queued(QueueEstimator.POSITION_CAP + 2, "sd");

        QueueEstimate estimate = estimator.estimate(last).orElseThrow();

        assertEquals(QueueEstimator.POSITION_CAP, estimate.position());
        assertTrue(estimate.positionCapped());
        assertNull(estimate.etaSeconds());
        com.fasterxml.jackson.databind.node.ObjectNode view = dev.ferry.core.Json.MAPPER.createObjectNode();
        JobView.putQueue(view, estimate);
        assertEquals("{\"queue\":{\"position\":\"1000+\",\"estimate\":true}}", view.toString());
    }

    @Test
    void onlyAQueuedJob_hasAnEstimate_andAFailedReadLeavesItOut() {
        Job running = queued(1, "sd").toBuilder().status(JobStatus.RUNNING).build();
        assertEquals(Optional.empty(), estimator.estimate(running));

        queries.unavailable = true;
        assertEquals(Optional.empty(), estimator.estimate(queued(2, "sd")));

        queries.unavailable = false;
        QueueEstimator slotsDown = new QueueEstimator(queries, () -> {
            throw SdkClientException.create("Unable to execute HTTP request: Connect timed out");
        }, Clock.systemUTC());
        QueueEstimate withoutEta = slotsDown.estimate(queued(3, "sd")).orElseThrow();
        assertEquals(2, withoutEta.position());
        assertNull(withoutEta.etaSeconds(), "the position still shows");
    }

    @Test
    void aTypesRunTimes_areReadOnceAMinute_perInstance() {
        AtomicInteger reads = new AtomicInteger();
        InMemoryJobQueries counting = new InMemoryJobQueries(store) {
            @Override
            public List<Duration> recentRunTimes(String type, int max) {
                reads.incrementAndGet();
                return List.of(Duration.ofSeconds(3));
            }
        };
        QueueEstimator kept = new QueueEstimator(counting, () -> slots, Clock.systemUTC());
        for (int n = 0; n < 5; n++) {
            kept.estimate(queued(n, "sd"));
        }
        assertEquals(1, reads.get());
    }

    @Test
    void aTypeWithoutRuns_isReadAgainSoon_soItsFirstRunShowsWithinSeconds() {
        AtomicInteger reads = new AtomicInteger();
        InMemoryJobQueries counting = new InMemoryJobQueries(store) {
            @Override
            public List<Duration> recentRunTimes(String type, int max) {
                return reads.incrementAndGet() == 1 ? List.of() : List.of(Duration.ofSeconds(3));
            }
        };
        MutableClock clock = MutableClock.of(T0, java.time.ZoneOffset.UTC);
        QueueEstimator kept = new QueueEstimator(counting, () -> slots, clock);

        assertNull(kept.estimate(queued(1, "sd")).orElseThrow().etaSeconds(), "no run yet");
        assertNull(kept.estimate(queued(2, "sd")).orElseThrow().etaSeconds(), "none, kept a moment");
        clock.add(QueueEstimator.EMPTY_KEPT.plusMillis(1));
        assertEquals(6L, kept.estimate(queued(3, "sd")).orElseThrow().etaSeconds(),
                "the first run, seconds later: (2 ahead / 2 slots + 1) x 3 s");
        clock.add(QueueEstimator.EMPTY_KEPT.plusMillis(1));
        kept.estimate(queued(4, "sd"));

        assertEquals(2, reads.get(), "runs found are kept longer than none found");
    }

    @Test
    void theQueuesInFlightCount_isKeptLongerWhenSlotsWork_thanWhenNoneDo() {
        java.util.concurrent.atomic.AtomicReference<String> inFlight = new java.util.concurrent.atomic.AtomicReference<>("0");
        AtomicInteger reads = new AtomicInteger();
        software.amazon.awssdk.services.sqs.SqsClient counting = new software.amazon.awssdk.services.sqs.SqsClient() {
            @Override
            public software.amazon.awssdk.services.sqs.model.GetQueueAttributesResponse getQueueAttributes(
                    software.amazon.awssdk.services.sqs.model.GetQueueAttributesRequest request) {
                reads.incrementAndGet();
                return software.amazon.awssdk.services.sqs.model.GetQueueAttributesResponse.builder()
                        .attributesWithStrings(java.util.Map.of("ApproximateNumberOfMessagesNotVisible", inFlight.get()))
                        .build();
            }

            @Override
            public String serviceName() {
                return "sqs";
            }

            @Override
            public void close() {
            }
        };
        MutableClock clock = MutableClock.of(T0, java.time.ZoneOffset.UTC);
        QueueEstimator.Slots working = QueueEstimator.inFlight(counting, "q", clock);

        assertEquals(OptionalInt.empty(), working.working());
        inFlight.set("3");
        assertEquals(OptionalInt.empty(), working.working(), "none working, kept a moment");
        clock.add(QueueEstimator.EMPTY_KEPT.plusMillis(1));
        assertEquals(OptionalInt.of(3), working.working());
        inFlight.set("5");
        clock.add(QueueEstimator.EMPTY_KEPT.plusMillis(1));
        assertEquals(OptionalInt.of(3), working.working(), "slots working, kept longer");
        assertEquals(2, reads.get());
    }
}
