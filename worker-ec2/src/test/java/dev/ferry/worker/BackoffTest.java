package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {

    private final Backoff lowest = new Backoff(Duration.ofSeconds(10), Duration.ofMinutes(15), bound -> 0);
    private final Backoff highest = new Backoff(Duration.ofSeconds(10), Duration.ofMinutes(15), bound -> bound);

    @Test
    void delay_doublesPerFailure_withinItsJitterBand() {
        assertEquals(Duration.ofSeconds(5), lowest.delay(1));
        assertEquals(Duration.ofSeconds(10), highest.delay(1));
        assertEquals(Duration.ofSeconds(10), lowest.delay(2));
        assertEquals(Duration.ofSeconds(20), highest.delay(2));
        assertEquals(Duration.ofSeconds(40), lowest.delay(4));
        assertEquals(Duration.ofSeconds(80), highest.delay(4));
    }

    @Test
    void delay_isCappedAtMax_evenForHugeCounts() {
        assertEquals(Duration.ofMinutes(15), highest.delay(12));
        assertEquals(Duration.ofMinutes(15), highest.delay(Integer.MAX_VALUE));
        assertEquals(Duration.ofSeconds(450), lowest.delay(1_000));
    }

    @Test
    void delay_withRealJitter_staysInTheBand() {
        Backoff real = Backoff.withJitter(Duration.ofSeconds(1), Duration.ofSeconds(60));
        for (int i = 0; i < 1_000; i++) {
            long ms = real.delay(3).toMillis();
            assertTrue(ms >= 2_000 && ms <= 4_000, "delay " + ms);
        }
    }

    @Test
    void badBounds_areRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Backoff(Duration.ZERO, Duration.ofSeconds(1), b -> 0));
        assertThrows(IllegalArgumentException.class,
                () -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1), b -> 0));
    }
}
