package dev.ferry.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class SummaryLineTest {

    @Test
    void format_isKeysInOrder_withFixedDecimals_andADashForWhatWasNotMeasured() {
        String line = new SummaryLine()
                .add("busy20", 0.99512, 3)
                .add("naive20", 0.6, 3)
                .add("req_per_job", 5.1666, 2)
                .add("cold_start_ratio", Double.NaN, 2)
                .add("throughput", 123.45, 1)
                .format("bench");

        assertEquals("bench: busy20=0.995 naive20=0.600 req_per_job=5.17 cold_start_ratio=- throughput=123.5", line);
    }

    @Test
    void aKeyWithSpacesOrCapitals_isRefused() {
        assertThrows(IllegalArgumentException.class, () -> new SummaryLine().add("busy 20", 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new SummaryLine().add("Busy20", 1, 1));
    }
}
