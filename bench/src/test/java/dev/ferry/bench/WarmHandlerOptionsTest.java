package dev.ferry.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;

class WarmHandlerOptionsTest {

    @Test
    void noOptions_giveTheDefaults() {
        WarmHandlerOptions options = WarmHandlerOptions.parse();

        assertEquals(200, options.jobs());
        assertEquals(3000, options.setupMs());
        assertEquals(Path.of("bench", "results"), options.out());
        assertEquals(Set.of(WarmHandlerOptions.Part.values()), options.parts());
    }

    @Test
    void options_areRead() {
        WarmHandlerOptions options = WarmHandlerOptions.parse("--jobs", "50", "--setup-ms", "500", "--out", "/tmp/x",
                "--parts", "handler,first-job");

        assertEquals(50, options.jobs());
        assertEquals(500, options.setupMs());
        assertEquals(Path.of("/tmp/x"), options.out());
        assertEquals(Set.of(WarmHandlerOptions.Part.HANDLER, WarmHandlerOptions.Part.FIRST_JOB), options.parts());
    }

    @Test
    void badOptions_areRefused_namingTheOption() {
        IllegalArgumentException notANumber = assertThrows(IllegalArgumentException.class,
                () -> WarmHandlerOptions.parse("--jobs", "many"));
        assertTrue(notANumber.getMessage().contains("--jobs"), notANumber.getMessage());
        assertThrows(IllegalArgumentException.class, () -> WarmHandlerOptions.parse("--setup-ms"));
        assertThrows(IllegalArgumentException.class, () -> WarmHandlerOptions.parse("--fast"));
        assertThrows(IllegalArgumentException.class, () -> WarmHandlerOptions.parse("--parts", "gpu"));
    }
}
