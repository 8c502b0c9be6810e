package dev.ferry.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class PipelineOptionsTest {

    @Test
    void defaults_areTheFullRun() {
        PipelineOptions options = PipelineOptions.parse();

        assertEquals(List.of(5L, 20L, 100L, 1000L), options.lengths());
        assertEquals(100, options.jobsAt(20));
        assertEquals(10, options.jobsAt(1000));
        assertEquals("pipeline", options.name());
        assertEquals(Path.of("bench", "results"), options.out());
    }

    @Test
    void quick_isTheSmallRun_underItsOwnName() {
        PipelineOptions options = PipelineOptions.parse("--quick");

        assertEquals(List.of(5L, 20L, 100L), options.lengths());
        assertEquals(15, options.jobsAt(5));
        assertEquals("pipeline-quick", options.name());
    }

    @Test
    void badOptions_areRefused_namingTheOption() {
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> PipelineOptions.parse("--fast"));
        assertTrue(unknown.getMessage().contains("--fast"));
        IllegalArgumentException tooFew = assertThrows(IllegalArgumentException.class,
                () -> PipelineOptions.parse("--jobs", "1"));
        assertTrue(tooFew.getMessage().contains("--jobs"));
        assertThrows(IllegalArgumentException.class, () -> PipelineOptions.parse("--jobs"));
    }

    @Test
    void coldStartLine_fieldsAreRead() {
        String line = "cold-start: class=x status=202 init_ms=812.5 invoke_ms=301.0 since_jvm_start_ms=1400";

        assertEquals(812.5, PipelineBench.field(line, "init_ms"));
        assertEquals(301.0, PipelineBench.field(line, "invoke_ms"));
        assertThrows(IllegalArgumentException.class, () -> PipelineBench.field(line, "wall_ms"));
    }
}
