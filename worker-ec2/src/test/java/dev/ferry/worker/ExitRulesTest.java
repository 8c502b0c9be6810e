package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.worker.ExitRules.Action;
import org.junit.jupiter.api.Test;

/** Which failures are worth another attempt, as AWS Batch's evaluateOnExit decides. */
class ExitRulesTest {

    @Test
    void byDefault_everyFailureIsRetried_butExitCode65() {
        assertEquals(Action.RETRY, ExitRules.none().evaluate(1, "boom"));
        assertEquals(Action.RETRY, ExitRules.none().evaluate(null, "timed out after PT1H"));
        assertEquals(Action.EXIT, ExitRules.none().evaluate(ExitRules.NO_RETRY_EXIT_CODE, "bad input"));
    }

    @Test
    void theFirstMatchingRuleDecides_byExitCodeOrReason() {
        ExitRules rules = ExitRules.parse("FERRY_EVALUATE_ON_EXIT_SD", "[{\"onExitCode\":\"2\",\"action\":\"EXIT\"},"
                + "{\"onReason\":\"*CUDA out of memory*\",\"action\":\"RETRY\"},{\"onExitCode\":\"1*\",\"action\":\"exit\"},"
                + "{\"onExitCode\":\"65\",\"action\":\"RETRY\"}]");

        assertEquals(Action.EXIT, rules.evaluate(2, "anything"));
        assertEquals(Action.RETRY, rules.evaluate(137, "RuntimeError: cuda OUT OF MEMORY while loading"));
        assertEquals(Action.EXIT, rules.evaluate(13, "segfault"));
        assertEquals(Action.RETRY, rules.evaluate(65, "a rule may override the built-in one"));
        assertEquals(Action.RETRY, rules.evaluate(3, "nothing matched"));
        assertEquals(Action.RETRY, rules.evaluate(null, "timed out"), "an exit code rule never matches a timeout");
    }

    @Test
    void aTypesRules_comeBeforeTheRulesForEveryType() {
        ExitRules type = ExitRules.parse("A", "[{\"onExitCode\":\"3\",\"action\":\"RETRY\"}]");
        ExitRules every = ExitRules.parse("B", "[{\"onExitCode\":\"*\",\"action\":\"EXIT\"}]");

        assertEquals(Action.RETRY, type.then(every).evaluate(3, ""));
        assertEquals(Action.EXIT, type.then(every).evaluate(4, ""));
    }

    @Test
    void badRules_nameTheVariableAndTheFault() {
        for (String[] bad : new String[][] {
                {"{}", "must be a JSON list"},
                {"[{\"onExitCode\":\"x\",\"action\":\"EXIT\"}]", "onExitCode must be digits"},
                {"[{\"onExitCode\":\"1\",\"action\":\"MAYBE\"}]", "action must be RETRY or EXIT"},
                {"[{\"onExitCode\":\"1\"}]", "action is required"},
                {"[{\"action\":\"EXIT\"}]", "needs onExitCode or onReason"},
                {"[{\"onExitcode\":\"1\",\"action\":\"EXIT\"}]", "unknown field \"onExitcode\""},
                {"not json", "is not JSON"}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ExitRules.parse("FERRY_EVALUATE_ON_EXIT", bad[0]), bad[0]);
            assertTrue(e.getMessage().startsWith("FERRY_EVALUATE_ON_EXIT") && e.getMessage().contains(bad[1]),
                    e.getMessage());
        }
    }
}
