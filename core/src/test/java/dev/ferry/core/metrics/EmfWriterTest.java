package dev.ferry.core.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.FerryEnv;
import dev.ferry.core.metrics.EmfWriter.Directive;
import dev.ferry.core.metrics.EmfWriter.Metric;
import dev.ferry.core.metrics.EmfWriter.Unit;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class EmfWriterTest {

    private static final Instant NOW = Instant.parse("2026-12-01T10:00:00.123Z");
    private final List<String> lines = new ArrayList<>();

    private EmfWriter writer(String namespace) {
        return new EmfWriter(Optional.ofNullable(namespace), lines::add, Clock.fixed(NOW, ZoneOffset.UTC));
    }

    @Test
    void write_twoDirectives_isTheDocumentedShape_dimensionsMetricsAndPropertiesAtTheRoot() {
        Map<String, String> dimensions = new LinkedHashMap<>();
        dimensions.put("Pool", "default");
        dimensions.put("Type", "sample");
        dimensions.put("Outcome", "succeeded");
        writer("Ferry/test").write(List.of(
                new Directive(List.of(List.of("Pool", "Type", "Outcome"), List.of("Pool", "Outcome")),
                        List.of(new Metric("Jobs", Unit.COUNT, 1))),
                new Directive(List.of(List.of("Pool", "Type"), List.of("Pool")),
                        List.of(new Metric("RunTime", Unit.MILLISECONDS, 1234), new Metric("Attempts", Unit.COUNT, 2)))),
                dimensions, Map.of("jobId", "01KJOB"));

        assertEquals(List.of("{\"_aws\":{\"Timestamp\":1796119200123,\"CloudWatchMetrics\":["
                + "{\"Namespace\":\"Ferry/test\",\"Dimensions\":[[\"Pool\",\"Type\",\"Outcome\"],[\"Pool\",\"Outcome\"]],"
                + "\"Metrics\":[{\"Name\":\"Jobs\",\"Unit\":\"Count\"}]},"
                + "{\"Namespace\":\"Ferry/test\",\"Dimensions\":[[\"Pool\",\"Type\"],[\"Pool\"]],"
                + "\"Metrics\":[{\"Name\":\"RunTime\",\"Unit\":\"Milliseconds\"},{\"Name\":\"Attempts\",\"Unit\":\"Count\"}]}]},"
                + "\"Pool\":\"default\",\"Type\":\"sample\",\"Outcome\":\"succeeded\",\"jobId\":\"01KJOB\","
                + "\"Jobs\":1,\"RunTime\":1234,\"Attempts\":2}"), lines);
    }

    @Test
    void write_fractionalValue_keepsTheFraction() {
        writer("N").write(List.of(new Directive(List.of(List.of()), List.of(new Metric("M", Unit.MILLISECONDS, 1.5)))),
                Map.of(), Map.of());

        assertTrue(lines.get(0).endsWith(",\"M\":1.5}"), lines.get(0));
        assertTrue(lines.get(0).contains("\"Dimensions\":[[]]"), lines.get(0));
    }

    @Test
    void write_dimensionWithoutValue_isRefused_asCloudWatchWouldDropTheDocument() {
        EmfWriter writer = writer("N");
        List<Directive> directives = List.of(new Directive(List.of(List.of("Type")),
                List.of(new Metric("M", Unit.COUNT, 1))));

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> writer.write(directives, Map.of(), Map.of()));
        assertEquals("dimension Type has no value", e.getMessage());
    }

    @Test
    void fromEnvironment_withoutNamespace_writesNothing() {
        EmfWriter writer = EmfWriter.fromEnvironment(FerryEnv.of(Map.of()));

        assertEquals(false, writer.enabled());
        EmfWriter off = writer(null);
        off.write(List.of(new Directive(List.of(List.of()), List.of(new Metric("M", Unit.COUNT, 1)))), Map.of(), Map.of());
        assertEquals(List.of(), lines);
    }

    @Test
    void boundedDimension_afterMaxValues_countsTheRestAsOther() {
        BoundedDimension types = new BoundedDimension(2);

        assertEquals("a", types.of("a"));
        assertEquals("b", types.of("b"));
        assertEquals(BoundedDimension.OTHER, types.of("c"));
        assertEquals("a", types.of("a"));
        assertEquals(BoundedDimension.OTHER, types.of(null));
    }
}
