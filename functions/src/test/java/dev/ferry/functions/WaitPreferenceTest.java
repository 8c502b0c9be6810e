package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.FerryEnv;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** RFC 7240's Prefer: what is applied, what is ignored, and when ignoring would be wrong (handling=strict). */
class WaitPreferenceTest {

    private static int seconds(String... headers) {
        return WaitPreference.seconds(List.of(headers), 25);
    }

    @Test
    void aWait_isApplied_upToTheDeploymentsMost() {
        assertEquals(10, seconds("wait=10"));
        assertEquals(10, seconds("WAIT = 10"));
        assertEquals(10, seconds("wait=\"10\""));
        assertEquals(25, seconds("wait=60"), "longer than allowed: applied as the most");
        assertEquals(25, seconds("wait=999999999"));
        assertEquals("wait=25", WaitPreference.applied(25));
    }

    @Test
    void otherPreferences_andParameters_areIgnored_andOnlyTheFirstWaitCounts() {
        assertEquals(5, seconds("respond-async, wait=5"));
        assertEquals(5, seconds("return=minimal; foo=\"a,b\", wait=5;bar"));
        assertEquals(5, seconds("wait=5, wait=20"));
        assertEquals(5, seconds("respond-async", "wait=5"), "several Prefer headers are one list");
        assertEquals(0, seconds("respond-async"));
        assertEquals(0, seconds());
    }

    @Test
    void aWaitThatIsNoWholeNumberFromOne_isIgnored_asRfc7240Asks() {
        for (String header : List.of("wait=soon", "wait=0", "wait=-3", "wait=1.5", "wait", "wait=", "wait=1e3")) {
            assertEquals(0, seconds(header), header);
        }
        assertEquals(0, seconds("handling=lenient, wait=soon"));
    }

    @Test
    void underHandlingStrict_anInvalidWait_is400NamingTheHeader() {
        for (String[] headers : List.of(new String[] {"handling=strict, wait=soon"}, new String[] {"wait=0; x",
                "handling=strict"}, new String[] {"handling=STRICT,wait=-1"})) {
            ApiException e = assertThrows(ApiException.class, () -> seconds(headers));
            assertEquals(400, e.statusCode());
            assertTrue(e.getMessage().startsWith("header Prefer: wait="), e.getMessage());
        }
        assertEquals(7, seconds("handling=strict, wait=7"));
        assertEquals(25, seconds("handling=strict, wait=100"), "a long wait is no error: it is applied as the most");
    }

    @Test
    void theMostAWaitMayBe_isConfigured_withinSixtySeconds() {
        assertEquals(25, WaitPreference.maxSeconds(FerryEnv.of(Map.of())));
        assertEquals(60, WaitPreference.maxSeconds(FerryEnv.of(Map.of(WaitPreference.MAX_WAIT, "60"))));
        for (String wrong : List.of("0", "61", "-1")) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> WaitPreference.maxSeconds(FerryEnv.of(Map.of(WaitPreference.MAX_WAIT, wrong))));
            assertTrue(e.getMessage().contains(WaitPreference.MAX_WAIT), e.getMessage());
        }
    }
}
