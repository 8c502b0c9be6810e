package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ferry.core.Json;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PredictionLogTest {

    private final List<String> lines = new ArrayList<>();
    private final List<String> progress = new ArrayList<>();
    private final PredictionLog log = new PredictionLog(new JobEvents() {
        @Override
        public void progress(double fraction, String message) {
            progress.add(fraction + " " + message);
        }

        @Override
        public void log(String line) {
            lines.add(line);
        }
    });

    @Test
    void logsSentWholeEachTime_becomeEachLineOnce_anUnfinishedLineAtTheEnd() {
        log.update("loading\nstep 1", null);
        log.update("loading\nstep 1 done\n", null);
        log.update("loading\n", null); // a late webhook: shorter, ignored
        log.finish("loading\nstep 1 done\nlast words");

        assertEquals(List.of("loading", "step 1 done", "last words"), lines);
    }

    @Test
    void tqdmBars_areProgress_stepOverSteps_evenWhileTheBarIsBeingDrawn() {
        log.update("Sampling:  10%|#         | 2/20 [00:01<00:09]", null);
        log.update("Sampling:  10%|#         | 2/20 [00:01<00:09]\rSampling:  50%|#####     | 10/20 [00:05<00:05]\r",
                null);

        assertEquals(List.of("0.1 Sampling:  10%|#         | 2/20 [00:01<00:09]",
                "0.5 Sampling:  50%|#####     | 10/20 [00:05<00:05]"), progress);
        assertEquals(2, lines.size());
    }

    @Test
    void aProgressMetric_winsOverBars() {
        log.update("", Json.parse("{\"progress\": 0.25}"));
        log.update(" 90%|######### | 9/10\n", Json.parse("{\"progress\": 0.25}"));
        log.update(" 90%|######### | 9/10\n", Json.parse("{\"progress\": 1.5}"));

        assertEquals(List.of("0.25 null", "1.0 null"), progress);
    }
}
