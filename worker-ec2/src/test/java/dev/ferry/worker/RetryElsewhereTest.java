package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.FerryEnv;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RetryElsewhereTest {

    private static final String OWN = "https://sqs/1/ferry-Gpu-jobs";

    private static Optional<RetryElsewhere> rule(Map<String, String> env) {
        return RetryElsewhere.fromEnvironment(FerryEnv.of(env), OWN);
    }

    @Test
    void aRule_matchesItsPatternAnywhereInTheError() {
        RetryElsewhere rule = rule(Map.of(FerryEnv.POOL, "Gpu", RetryElsewhere.WHEN, "CUDA out of memory|OOM",
                RetryElsewhere.POOL, "Large", RetryElsewhere.QUEUE_URL, "https://sqs/1/ferry-Large-jobs")).orElseThrow();

        assertTrue(rule.matches("exit 1: RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB"));
        assertTrue(rule.matches("OOM"));
        assertFalse(rule.matches("exit 1: cuda out of memory"), "case-sensitive unless the pattern says (?i)");
        assertFalse(rule.matches(null));
        assertEquals("Large", rule.pool());
    }

    @Test
    void withoutAPattern_thereIsNoRule_whateverElseIsSet() {
        assertEquals(Optional.empty(), rule(Map.of()));
        // The template sets the pool and queue for every pool, empty and a queue no pool has where there is no rule.
        assertEquals(Optional.empty(), rule(Map.of(RetryElsewhere.WHEN, "", RetryElsewhere.POOL, "",
                RetryElsewhere.QUEUE_URL, "https://sqs/1/ferry--jobs")));
    }

    @Test
    void aBrokenRule_stopsTheWorkerAtStart_namingTheVariable() {
        assertTrue(assertThrows(IllegalStateException.class, () -> rule(Map.of(RetryElsewhere.WHEN, "oom")))
                .getMessage().contains(RetryElsewhere.POOL));
        assertTrue(assertThrows(IllegalStateException.class, () -> rule(Map.of(RetryElsewhere.WHEN, "CUDA (out",
                RetryElsewhere.POOL, "Large", RetryElsewhere.QUEUE_URL, "q"))).getMessage()
                .startsWith(RetryElsewhere.WHEN + " is not a regular expression"));
        assertTrue(assertThrows(IllegalStateException.class, () -> rule(Map.of(FerryEnv.POOL, "Gpu",
                RetryElsewhere.WHEN, "oom", RetryElsewhere.POOL, "Gpu", RetryElsewhere.QUEUE_URL, "q"))).getMessage()
                .contains("the pool this worker serves"));
        assertThrows(IllegalStateException.class, () -> rule(Map.of(RetryElsewhere.WHEN, "oom",
                RetryElsewhere.POOL, "Large", RetryElsewhere.QUEUE_URL, OWN)));
    }
}
