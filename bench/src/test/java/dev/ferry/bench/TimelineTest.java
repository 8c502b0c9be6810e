package dev.ferry.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TimelineTest {

    @Test
    void busyFraction_isHandlerTimeOverFirstStartToLastEnd_whateverOrderTheJobsWereAddedIn() {
        Timeline timeline = new Timeline();
        // Three 20 ms jobs, 5 ms apart, then one 10 ms apart; added out of order.
        timeline.add(50_000, 70_000);
        timeline.add(0, 20_000);
        timeline.add(25_000, 45_000);

        // busy 60 ms over 70 ms
        assertEquals(60.0 / 70.0, timeline.busyFraction(), 1e-12);
        assertEquals(70.0, timeline.spanMillis(), 1e-12);
        Samples gaps = timeline.gaps();
        assertEquals(2, gaps.count());
        assertEquals(5.0, gaps.percentile(50), 1e-12);
        assertEquals(5.0, gaps.percentile(99), 1e-12);
    }

    @Test
    void gaps_p50AndP99_areNearestRankOverEveryGap() {
        Timeline timeline = new Timeline();
        long start = 0;
        // 101 jobs of 1 ms: gaps of 1, 2, ..., 100 ms.
        for (int i = 0; i <= 100; i++) {
            timeline.add(start, start + 1000);
            start += 1000 + (i + 1) * 1000L;
        }

        Samples gaps = timeline.gaps();
        assertEquals(100, gaps.count());
        assertEquals(50.0, gaps.percentile(50), 1e-12);
        assertEquals(99.0, gaps.percentile(99), 1e-12);
        assertEquals(50.5, gaps.mean(), 1e-12);
        // 101 ms busy over 101 + 5050 ms
        assertEquals(101.0 / 5151.0, timeline.busyFraction(), 1e-12);
    }

    @Test
    void oneJob_isAllBusy_andHasNoGap() {
        Timeline timeline = new Timeline();
        timeline.add(1_000, 21_000);

        assertEquals(1.0, timeline.busyFraction(), 1e-12);
        assertEquals(0, timeline.gaps().count());
    }

    @Test
    void noJob_isNotMeasured() {
        assertTrue(Double.isNaN(new Timeline().busyFraction()));
    }

    @Test
    void aSpanThatEndsBeforeItStarts_isRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Timeline().add(10, 9));
    }
}
