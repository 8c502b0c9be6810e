package dev.ferry.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PoolsTest {

    private static Pools pools(String... namesAndTypes) {
        Map<String, String> env = new LinkedHashMap<>();
        StringBuilder names = new StringBuilder();
        for (int i = 0; i < namesAndTypes.length; i += 2) {
            String name = namesAndTypes[i];
            names.append(names.isEmpty() ? "" : ",").append(name);
            env.put(Pools.queueVariable(name), "https://sqs.local/" + name);
            env.put(Pools.typesVariable(name), namesAndTypes[i + 1]);
        }
        env.put(Pools.POOLS, names.toString());
        return Pools.from(FerryEnv.of(env));
    }

    private static Optional<String> route(Pools pools, String type) {
        return pools.route(type).map(Pools.Pool::name);
    }

    @Test
    void exactNamesAndTopicPatterns_routeEachTypeToItsPool() {
        Pools pools = pools("Large", "sd.xl, sd.#", "Small", "tts.*, thumbnail");

        assertEquals(Optional.of("Large"), route(pools, "sd.xl"));
        assertEquals(Optional.of("Large"), route(pools, "sd"), "# takes no segment too");
        assertEquals(Optional.of("Large"), route(pools, "sd.xl.fast"), "# takes several segments");
        assertEquals(Optional.of("Small"), route(pools, "tts.en"));
        assertEquals(Optional.of("Small"), route(pools, "thumbnail"));
        assertEquals(Optional.empty(), route(pools, "tts"), "* takes exactly one segment");
        assertEquals(Optional.empty(), route(pools, "tts.en.us"));
        assertEquals(Optional.empty(), route(pools, "thumbnails"));
        assertEquals(Optional.empty(), route(pools, "sdxl"), "a pattern's literal segment is whole");
        assertEquals("https://sqs.local/Small", pools.route("thumbnail").orElseThrow().queueUrl());
    }

    @Test
    void anExactNameWins_overAnotherPoolsPattern() {
        Pools pools = pools("Gpu", "#", "Light", "resize");

        assertEquals(Optional.of("Light"), route(pools, "resize"));
        assertEquals(Optional.of("Gpu"), route(pools, "resize.large"));
        assertEquals(Optional.of("Gpu"), route(pools, "anything"));
    }

    @Test
    void patternsTwoPoolsCouldBothMatch_areRefusedAtStart_namingBoth() {
        for (List<String> clash : List.of(List.of("sd.#", "sd.xl.*"), List.of("#", "x"), List.of("*.a", "b.*"),
                List.of("a.#.b", "a.b"), List.of("#.x", "y.#"), List.of("a.*.#", "#.c"), List.of("sd.*.*", "*.x.y"))) {
            String a = clash.get(0);
            String b = clash.get(1);
            if (!b.contains("*") && !b.contains("#")) {
                continue; // an exact name is allowed beside a pattern (it wins); checked above
            }
            IllegalStateException refused = assertThrows(IllegalStateException.class, () -> pools("A", a, "B", b),
                    a + " vs " + b);
            assertTrue(refused.getMessage().contains("pools A and B") && refused.getMessage().contains(a)
                    && refused.getMessage().contains(b), refused.getMessage());
        }
        assertTrue(assertThrows(IllegalStateException.class, () -> pools("A", "x", "B", "x")).getMessage()
                .contains("both name job type \"x\""));
    }

    @Test
    void disjointPatterns_areAccepted() {
        Pools pools = pools("A", "sd.*", "B", "sd.*.*", "C", "tts.#", "D", "img.*.y.#");

        assertEquals(Optional.of("A"), route(pools, "sd.q"));
        assertEquals(Optional.of("B"), route(pools, "sd.q.r"));
        assertEquals(Optional.of("D"), route(pools, "img.a.y"));
        assertEquals(Optional.of("C"), route(pools, "tts"));
        assertFalse(Pools.overlap("sd.*".split("\\."), 0, "sd.*.*".split("\\."), 0));
        assertTrue(Pools.overlap("#".split("\\."), 0, "a.b.c".split("\\."), 0));
        assertTrue(Pools.overlap("a.#".split("\\."), 0, "#.b".split("\\."), 0));
        assertFalse(Pools.overlap("a.#".split("\\."), 0, "b.#".split("\\."), 0));
    }

    @Test
    void withoutPools_oneDefaultPool_servesTheJobTypesList_orEveryType() {
        Pools any = Pools.from(FerryEnv.of(Map.of(FerryEnv.QUEUE_URL, "https://sqs.local/jobs",
                FerryEnv.DLQ_URL, "https://sqs.local/dlq")));
        Pools.Pool pool = any.route("whatever.it.is").orElseThrow();
        assertEquals(Pools.DEFAULT_POOL, pool.name());
        assertEquals(Optional.of("https://sqs.local/dlq"), pool.deadLetterQueueUrl());

        Pools listed = Pools.from(FerryEnv.of(Map.of(FerryEnv.QUEUE_URL, "https://sqs.local/jobs",
                FerryEnv.JOB_TYPES, "sd, tts")));
        assertEquals(Optional.of(Pools.DEFAULT_POOL), route(listed, "tts"));
        assertEquals(Optional.empty(), route(listed, "render"));
    }

    @Test
    void aBadConfiguration_isRefused_namingTheVariable() {
        assertTrue(assertThrows(IllegalStateException.class, () -> Pools.from(FerryEnv.of(Map.of(
                Pools.POOLS, "Large", Pools.typesVariable("Large"), "sd")))).getMessage()
                .contains("FERRY_POOL_Large_QUEUE_URL"));
        assertTrue(assertThrows(IllegalStateException.class, () -> Pools.from(FerryEnv.of(Map.of(
                Pools.POOLS, "Large", Pools.queueVariable("Large"), "q")))).getMessage()
                .contains("FERRY_POOL_Large_TYPES"));
        assertTrue(assertThrows(IllegalStateException.class, () -> pools("gpu-large", "sd")).getMessage()
                .contains("\"gpu-large\""));
        assertTrue(assertThrows(IllegalStateException.class, () -> pools("A", "sd.x#")).getMessage()
                .contains("FERRY_POOL_A_TYPES"));
        assertTrue(assertThrows(IllegalStateException.class, () -> pools("A", "sd", "A", "tts")).getMessage()
                .contains("twice"));
    }

    @Test
    void anExactName_isAnyTypeTheApiAccepts_evenWithEmptySegments() {
        // A deployment's FERRY_JOB_TYPES from before pools may hold such names: they keep working.
        Pools listed = Pools.from(FerryEnv.of(Map.of(FerryEnv.QUEUE_URL, "https://sqs.local/jobs",
                FerryEnv.JOB_TYPES, "a..b, x.")));
        assertEquals(Optional.of(Pools.DEFAULT_POOL), route(listed, "a..b"));
        assertEquals(Optional.of(Pools.DEFAULT_POOL), route(listed, "x."));
        assertEquals(Optional.empty(), route(listed, "a.b"));
        assertTrue(assertThrows(IllegalStateException.class, () -> pools("A12345678901234567890123456789012", "x"))
                .getMessage().contains("at most 31"));
    }

    @Test
    void describeServed_namesEachTypeWithItsPool() {
        assertEquals("sd.# (Large), resize (Light)", pools("Large", "sd.#", "Light", "resize").describeServed());
    }

    @Test
    void aPoolsPriorityLane_isReadFromItsOwnVariable_andIsOptional() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put(Pools.POOLS, "Large,Small");
        env.put(Pools.queueVariable("Large"), "https://sqs.local/large");
        env.put(Pools.typesVariable("Large"), "sd.#");
        env.put(Pools.priorityQueueVariable("Large"), "https://sqs.local/large-high");
        env.put(Pools.queueVariable("Small"), "https://sqs.local/small");
        env.put(Pools.typesVariable("Small"), "tts");

        Pools pools = Pools.from(FerryEnv.of(env));

        assertEquals("FERRY_POOL_Large_PRIORITY_QUEUE_URL", Pools.priorityQueueVariable("Large"));
        assertEquals(Optional.of("https://sqs.local/large-high"), pools.pool("Large").orElseThrow().priorityQueueUrl());
        assertEquals(Optional.empty(), pools.pool("Small").orElseThrow().priorityQueueUrl());
    }

    @Test
    void withoutPools_theOnePoolsLaneIsFerryPriorityQueueUrl() {
        Pools withLane = Pools.from(FerryEnv.of(Map.of("FERRY_QUEUE_URL", "https://sqs.local/jobs",
                Pools.PRIORITY_QUEUE_URL, "https://sqs.local/jobs-high")));
        Pools without = Pools.from(FerryEnv.of(Map.of("FERRY_QUEUE_URL", "https://sqs.local/jobs")));

        assertEquals(Optional.of("https://sqs.local/jobs-high"), withLane.all().get(0).priorityQueueUrl());
        assertEquals(Optional.empty(), without.all().get(0).priorityQueueUrl());
    }

    @Test
    void aLaneThatIsThePoolsOwnQueue_isRefused() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Pools.from(FerryEnv.of(Map.of(
                "FERRY_QUEUE_URL", "https://sqs.local/jobs", Pools.PRIORITY_QUEUE_URL, "https://sqs.local/jobs"))));
        assertTrue(e.getMessage().contains("a queue of its own"), e.getMessage());
    }
}
