package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** The deadline's forms: Replicate's {@code Cancel-After}, an ISO-8601 instant, a type's default. */
class DeadlinesTest {

    private static final Instant NOW = Instant.parse("2026-11-22T10:00:00Z");

    @ParameterizedTest
    @CsvSource({"30s,30000", "5m,300000", "1h30m,5400000", "90,90000", "1h,3600000", "1.5s,1500", "250ms,250",
            "2h0m5s,7205000", "1m30s500ms,90500"})
    void cancelAfter_takesReplicatesDurations(String text, long millis) {
        assertEquals(Optional.of(Duration.ofMillis(millis)), Deadlines.parseDuration(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "0", "0s", "-5s", "5 m", "m", "1d", "1h 30m", "PT5M", "5min", "1.s", ".5s", "abc",
            "9999999999"})
    void cancelAfter_refusesAnythingElse(String text) {
        assertEquals(Optional.empty(), Deadlines.parseDuration(text), text);
    }

    @Test
    void fromHeader_aBadValue_is400NamingTheHeader() {
        ApiException e = assertThrows(ApiException.class, () -> Deadlines.fromHeader("soon"));
        assertEquals(400, e.statusCode());
        assertTrue(e.getMessage().startsWith("header Cancel-After must be a duration"), e.getMessage());
        assertTrue(e.getMessage().contains("\"soon\""), e.getMessage());
        assertEquals(Deadlines.Requested.NONE, Deadlines.fromHeader(null));
    }

    @Test
    void fromHeader_underOneSecond_is400_forTheDeadlineWouldPassBeforeTheJobIsRecorded() {
        for (String value : new String[] {"1.5ms", "999ms", "0.5s"}) {
            ApiException e = assertThrows(ApiException.class, () -> Deadlines.fromHeader(value), value);
            assertEquals(400, e.statusCode());
            assertTrue(e.getMessage().startsWith("header Cancel-After must be at least 1s"), e.getMessage());
        }
        assertEquals(Duration.ofSeconds(1), Deadlines.fromHeader("1s").after());
    }

    @Test
    void resolve_theHeaderCountsFromNow_theFieldIsTheInstant_elseTheTypesDefault_elseNone() {
        Deadlines deadlines = new Deadlines(Map.of("sd", Duration.ofMinutes(10)));
        assertEquals(Optional.of(NOW.plusSeconds(30)),
                deadlines.resolve("sd", new Deadlines.Requested(null, Duration.ofSeconds(30)), NOW));
        assertEquals(Optional.of(NOW.plusSeconds(7)),
                deadlines.resolve("sd", new Deadlines.Requested(NOW.plusSeconds(7), null), NOW));
        assertEquals(Optional.of(NOW.plusSeconds(600)), deadlines.resolve("sd", Deadlines.Requested.NONE, NOW));
        assertEquals(Optional.empty(), deadlines.resolve("other", Deadlines.Requested.NONE, NOW));
    }

    @Test
    void resolve_inThePastOrOver14DaysAhead_is400NamingWhereItCameFrom() {
        Deadlines deadlines = Deadlines.none();
        ApiException past = assertThrows(ApiException.class,
                () -> deadlines.resolve("sd", new Deadlines.Requested(NOW.minusSeconds(1), null), NOW));
        assertEquals(400, past.statusCode());
        assertTrue(past.getMessage().startsWith("field \"deadline\" is in the past"), past.getMessage());
        assertThrows(ApiException.class, () -> deadlines.resolve("sd", new Deadlines.Requested(NOW, null), NOW));

        ApiException far = assertThrows(ApiException.class,
                () -> deadlines.resolve("sd", new Deadlines.Requested(null, Duration.ofDays(14).plusSeconds(1)), NOW));
        assertTrue(far.getMessage().startsWith("header Cancel-After is more than 14 days ahead"), far.getMessage());
        assertEquals(Optional.of(NOW.plus(Duration.ofDays(14))),
                deadlines.resolve("sd", new Deadlines.Requested(null, Duration.ofDays(14)), NOW));
    }

    @Test
    void defaults_parsePerType_andABadOneNamesTheVariable() {
        assertEquals(Map.of("sd", Duration.ofMinutes(10), "train.v2", Duration.ofHours(12)),
                Deadlines.parseDefaults("FERRY_DEFAULT_DEADLINES", " sd=10m , train.v2=12h,"));
        for (String bad : new String[] {"sd", "sd=", "sd=soon", "=5m", "sd=15d", "sd=400h", "s d=5m", "sd=1m,sd=2m"}) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> Deadlines.parseDefaults("FERRY_DEFAULT_DEADLINES", bad), bad);
            assertTrue(e.getMessage().contains("FERRY_DEFAULT_DEADLINES"), e.getMessage());
        }
    }
}
