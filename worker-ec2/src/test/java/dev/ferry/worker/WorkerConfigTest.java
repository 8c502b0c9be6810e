package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.FerryEnv;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WorkerConfigTest {

    private static final QueueSettings QUEUE = new QueueSettings(Duration.ofSeconds(120), 5, "http://localhost:9324/000000000000/ferry-dlq");

    private static WorkerConfig config(Map<String, String> extra) {
        Map<String, String> env = new HashMap<>(extra);
        env.put(FerryEnv.QUEUE_URL, "http://localhost:9324/000000000000/ferry-jobs");
        return WorkerConfig.from(FerryEnv.of(env));
    }

    @Test
    void inADeploymentWithPools_aWorkerServesTheQueueOfItsPool() {
        Map<String, String> env = Map.of(dev.ferry.core.Pools.POOLS, "Large,Light",
                "FERRY_POOL_Large_QUEUE_URL", "https://sqs.local/large", "FERRY_POOL_Large_TYPES", "sd.#",
                "FERRY_POOL_Light_QUEUE_URL", "https://sqs.local/light", "FERRY_POOL_Light_TYPES", "resize");
        Map<String, String> light = new HashMap<>(env);
        light.put(FerryEnv.POOL, "Light");

        assertEquals("https://sqs.local/light", WorkerConfig.from(FerryEnv.of(light)).queueUrl());
        assertTrue(assertThrows(IllegalStateException.class, () -> WorkerConfig.from(FerryEnv.of(env))).getMessage()
                .contains("FERRY_POOL is not set"));
        light.put(FerryEnv.POOL, "Heavy");
        assertTrue(assertThrows(IllegalStateException.class, () -> WorkerConfig.from(FerryEnv.of(light))).getMessage()
                .contains("Heavy, which is none of this deployment's pools [Large, Light]"));
        light.put(FerryEnv.QUEUE_URL, "https://sqs.local/given");
        assertEquals("https://sqs.local/given", WorkerConfig.from(FerryEnv.of(light)).queueUrl(),
                "a queue given directly wins");
    }

    @Test
    void defaults_followTheQueue() {
        WorkerConfig config = config(Map.of());

        assertEquals(Duration.ofSeconds(120), config.lease(QUEUE));
        assertEquals(Duration.ofSeconds(40), config.heartbeat(QUEUE));
        assertEquals(20, config.waitSeconds());
        assertTrue(config.workerId().contains("-"));
    }

    @Test
    void deleteLinger_isASecondByDefault_boundedByHalfWhatAMessageKeepsOutOfSightBetweenBeats() {
        assertEquals(Duration.ofSeconds(1), config(Map.of()).deleteLinger(QUEUE));
        assertEquals(Duration.ZERO, config(Map.of(WorkerConfig.DELETE_LINGER, "0")).deleteLinger(QUEUE));
        // A 1.2 s lease beaten every 0.4 s keeps the message hidden at least 0.8 s: linger at most 0.4 s.
        assertEquals(Duration.ofMillis(400), config(Map.of(WorkerConfig.LEASE, "1.2")).deleteLinger(QUEUE));
        IllegalStateException tooLong = assertThrows(IllegalStateException.class,
                () -> config(Map.of(WorkerConfig.DELETE_LINGER, "20")));
        assertTrue(tooLong.getMessage().contains("FERRY_DELETE_LINGER must be 0-10 s"), tooLong.getMessage());
    }

    @Test
    void overrides_acceptSecondsAndIsoDurations() {
        WorkerConfig config = config(Map.of(WorkerConfig.LEASE, "30", WorkerConfig.HEARTBEAT, "PT2.5S",
                WorkerConfig.RETRY_BASE, "0.5", WorkerConfig.WORKER_ID, "gpu-7"));

        assertEquals(Duration.ofSeconds(30), config.lease(QUEUE));
        assertEquals(Duration.ofMillis(2_500), config.heartbeat(QUEUE));
        assertEquals(Duration.ofMillis(500), config.retryBase());
        assertEquals("gpu-7", config.workerId());
    }

    @Test
    void noticeWatch_defaultsOn_everyFiveSeconds_andTurnsOffEitherWay() {
        WorkerConfig defaults = config(Map.of());
        assertEquals(Duration.ofSeconds(5), defaults.noticePoll());
        assertEquals(Duration.ofSeconds(30), defaults.spotMargin());
        assertTrue(!defaults.noticesDisabled() && !defaults.drainOnRebalance());
        assertTrue(defaults.metadataEndpoint().isEmpty());

        assertTrue(config(Map.of(WorkerConfig.METADATA_DISABLED, "true")).noticesDisabled());
        assertTrue(config(Map.of(WorkerConfig.NOTICE_POLL, "0")).noticesDisabled());
        assertEquals("http://127.0.0.1:1338", config(Map.of(WorkerConfig.METADATA_ENDPOINT, "http://127.0.0.1:1338"))
                .metadataEndpoint().orElseThrow().toString());
    }

    @Test
    void aLeaseOutsideOneSecondToAnHour_stopsTheWorker_namingWhereItCameFrom() {
        IllegalStateException fromQueue = assertThrows(IllegalStateException.class, () -> config(Map.of())
                .lease(new QueueSettings(Duration.ZERO, 5, "dlq")));
        assertTrue(fromQueue.getMessage().contains("VisibilityTimeoutSeconds"), fromQueue.getMessage());
        IllegalStateException configured = assertThrows(IllegalStateException.class,
                () -> config(Map.of(WorkerConfig.LEASE, "PT2H")).lease(QUEUE));
        assertTrue(configured.getMessage().startsWith(WorkerConfig.LEASE), configured.getMessage());
        assertEquals(Duration.ofHours(1), config(Map.of(WorkerConfig.LEASE, "3600")).lease(QUEUE));
    }

    @Test
    void aQueueWithOneReceive_isRefused_sinceALastReceiveIsNeverRunOn() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new QueueSettings(Duration.ofSeconds(30), 1, "dlq"));
        assertTrue(e.getMessage().contains("MaxReceiveCount"), e.getMessage());
    }

    @Test
    void badValues_failFastNamingTheVariable() {
        IllegalStateException bad = assertThrows(IllegalStateException.class,
                () -> config(Map.of(WorkerConfig.LEASE, "soon")));
        assertTrue(bad.getMessage().contains("FERRY_LEASE"), bad.getMessage());

        IllegalStateException slowBeat = assertThrows(IllegalStateException.class,
                () -> config(Map.of(WorkerConfig.LEASE, "10", WorkerConfig.HEARTBEAT, "10")).heartbeat(QUEUE));
        assertTrue(slowBeat.getMessage().contains("FERRY_HEARTBEAT"), slowBeat.getMessage());

        IllegalStateException wait = assertThrows(IllegalStateException.class,
                () -> config(Map.of(WorkerConfig.WAIT_SECONDS, "30")));
        assertTrue(wait.getMessage().contains("FERRY_WAIT_SECONDS"), wait.getMessage());

        IllegalStateException longRetry = assertThrows(IllegalStateException.class,
                () -> config(Map.of(WorkerConfig.RETRY_MAX, "PT16M")));
        assertTrue(longRetry.getMessage().contains("FERRY_RETRY_MAX"), longRetry.getMessage());

        IllegalStateException flag = assertThrows(IllegalStateException.class,
                () -> config(Map.of(WorkerConfig.DRAIN_ON_REBALANCE, "yes")));
        assertTrue(flag.getMessage().contains("FERRY_DRAIN_ON_REBALANCE"), flag.getMessage());

        IllegalStateException endpoint = assertThrows(IllegalStateException.class,
                () -> config(Map.of(WorkerConfig.METADATA_ENDPOINT, "169.254.169.254")));
        assertTrue(endpoint.getMessage().contains("AWS_EC2_METADATA_SERVICE_ENDPOINT"), endpoint.getMessage());

        IllegalStateException missing = assertThrows(IllegalStateException.class,
                () -> WorkerConfig.from(FerryEnv.of(Map.of())));
        assertTrue(missing.getMessage().contains("FERRY_QUEUE_URL"), missing.getMessage());
    }

    @Test
    void theHighPriorityLane_isFerryPriorityQueueUrl_elseItsPoolsLaneWhenTheQueueComesFromThePool() {
        Map<String, String> pools = new HashMap<>(Map.of(dev.ferry.core.Pools.POOLS, "Large,Light",
                "FERRY_POOL_Large_QUEUE_URL", "https://sqs.local/large", "FERRY_POOL_Large_TYPES", "sd.#",
                "FERRY_POOL_Large_PRIORITY_QUEUE_URL", "https://sqs.local/large-high",
                "FERRY_POOL_Light_QUEUE_URL", "https://sqs.local/light", "FERRY_POOL_Light_TYPES", "resize"));
        pools.put(FerryEnv.POOL, "Large");
        Map<String, String> light = new HashMap<>(pools);
        light.put(FerryEnv.POOL, "Light");
        Map<String, String> direct = new HashMap<>(pools);
        direct.put(FerryEnv.QUEUE_URL, "https://sqs.local/other");

        assertEquals(java.util.Optional.of("https://sqs.local/large-high"),
                WorkerConfig.from(FerryEnv.of(pools)).priorityQueueUrl());
        assertEquals(java.util.Optional.empty(), WorkerConfig.from(FerryEnv.of(light)).priorityQueueUrl());
        assertEquals(java.util.Optional.empty(), WorkerConfig.from(FerryEnv.of(direct)).priorityQueueUrl(),
                "a queue given directly takes its lane directly too");
        assertEquals(java.util.Optional.of("https://sqs.local/q-high"), config(Map.of(WorkerConfig.PRIORITY_QUEUE_URL,
                "https://sqs.local/q-high")).priorityQueueUrl());
        assertEquals(java.util.Optional.empty(), config(Map.of()).priorityQueueUrl());
        assertTrue(assertThrows(IllegalStateException.class, () -> config(Map.of(WorkerConfig.PRIORITY_QUEUE_URL,
                "http://localhost:9324/000000000000/ferry-jobs"))).getMessage().contains("a queue of its own"));
    }

    @Test
    void aLaneRedrivingElsewhere_orWithAnotherBudget_isRefusedSayingWhy() {
        String dlq = QUEUE.deadLetterQueueUrl();
        QUEUE.checkPriorityLane("q", "q-high", new QueueSettings(Duration.ofSeconds(30), 5, dlq)); // visibility may differ

        String other = assertThrows(IllegalStateException.class, () -> QUEUE.checkPriorityLane("q", "q-high",
                new QueueSettings(Duration.ofSeconds(120), 5, "http://localhost:9324/000000000000/other-dlq")))
                .getMessage();
        assertTrue(other.contains("q-high") && other.contains("other-dlq") && other.contains("one dead-letter queue"),
                other);
        String budget = assertThrows(IllegalStateException.class, () -> QUEUE.checkPriorityLane("q", "q-high",
                new QueueSettings(Duration.ofSeconds(120), 3, dlq))).getMessage();
        assertTrue(budget.contains("maxReceiveCount 3"), budget);
    }
}
