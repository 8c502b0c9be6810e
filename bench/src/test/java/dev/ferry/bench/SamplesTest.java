package dev.ferry.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class SamplesTest {

    @Test
    void percentiles_areNearestRank_andMeanIsTheMean() {
        Samples samples = new Samples();
        for (int i = 100; i >= 1; i--) {
            samples.add(i);
        }

        assertEquals(50.5, samples.mean(), 1e-9);
        assertEquals(50, samples.percentile(50));
        assertEquals(99, samples.percentile(99));
        assertEquals(1, samples.min());
        assertEquals(100, samples.max());
        assertEquals(30.5, samples.minus(20).mean(), 1e-9);
    }

    @Test
    void noSamples_isAnError_notZero() {
        assertThrows(IllegalStateException.class, () -> new Samples().mean());
    }
}
