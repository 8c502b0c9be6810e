package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ferry.core.AttemptRecord;
import dev.ferry.core.metrics.MetricNames;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * infra/template.yaml's dashboard and alarms name Ferry's own metrics (embedded metric format)
 * only as the code writes them: every name one of {@link MetricNames}, every dimension one the
 * code sets, every outcome one a worker or the webhook delivery writes; and the dashboard shows
 * every metric the code writes.
 */
class DashboardAgreementTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String FERRY_NAMESPACE = "Ferry/${AWS::StackName}";
    private static final Set<String> OUTCOMES = Set.of(AttemptRecord.SUCCEEDED, AttemptRecord.FAILED,
            AttemptRecord.RETRYING, AttemptRecord.CANCELLED, AttemptRecord.GIVEN_BACK, AttemptRecord.LEASE_LOST,
            // WebhookDeliverer.Outcome's names, as DeliverWebhookHandler writes them (retrying is above)
            "delivered", "gave up", "skipped", "duplicate", "postponed");

    /** One metric line of a widget: namespace, name, then dimension name and value pairs. */
    private record Row(String namespace, String name, Map<String, String> dimensions) {
    }

    /** The rows of the stack's dashboard and of the first pool's (each pool's is the same but for its names). */
    private static List<Row> dashboardRows() throws IOException {
        List<Row> rows = new ArrayList<>();
        for (String dashboard : List.of("FerryDashboard", TemplateFacts.POOL + "Dashboard")) {
            rows.addAll(dashboardRows(dashboard));
        }
        return rows;
    }

    private static List<Row> dashboardRows(String dashboard) throws IOException {
        Map<String, Object> properties = TemplateFacts.properties(dashboard);
        List<Object> sub = TemplateFacts.list(TemplateFacts.map(properties, "DashboardBody"), "Fn::Sub");
        String body = (String) sub.get(0);
        @SuppressWarnings("unchecked")
        Map<String, Object> variables = (Map<String, Object>) sub.get(1);
        assertEquals(Map.of("Fn::Sub", FERRY_NAMESPACE), variables.get("Namespace"));
        List<Row> rows = new ArrayList<>();
        for (JsonNode widget : JSON.readTree(body).get("widgets")) {
            String previousName = null;
            for (JsonNode metric : widget.get("properties").get("metrics")) {
                List<String> parts = new ArrayList<>();
                metric.forEach(part -> {
                    if (part.isTextual()) {
                        parts.add(part.asText());
                    }
                });
                // Full rows only: CloudWatch's "..." shorthand (the row above's names) would hide a name from this check.
                assertTrue(!parts.get(0).equals("..."), "a \"...\" row in " + widget);
                String namespace = parts.get(0).equals("${Namespace}") ? FERRY_NAMESPACE : parts.get(0);
                Map<String, String> dimensions = new java.util.TreeMap<>();
                for (int i = 2; i + 1 < parts.size(); i += 2) {
                    dimensions.put(parts.get(i), parts.get(i + 1));
                }
                rows.add(new Row(namespace, parts.get(1), dimensions));
                previousName = parts.get(1);
            }
            assertTrue(previousName != null, "a widget without metrics");
        }
        return rows;
    }

    @Test
    void dashboard_namesOnlyMetricsAndDimensionsTheCodeWrites_andShowsEveryOne() throws IOException {
        Set<String> shown = new TreeSet<>();
        for (Row row : dashboardRows()) {
            if (!row.namespace().equals(FERRY_NAMESPACE)) {
                assertTrue(row.namespace().startsWith("AWS/"), row.toString());
                continue;
            }
            assertTrue(MetricNames.ALL.contains(row.name()), row + ": no code writes " + row.name());
            assertTrue(MetricNames.DIMENSIONS.containsAll(row.dimensions().keySet()), row.toString());
            String outcome = row.dimensions().get(MetricNames.OUTCOME);
            assertTrue(outcome == null || OUTCOMES.contains(outcome), row + ": no code writes outcome " + outcome);
            shown.add(row.name());
        }
        assertEquals(new TreeSet<>(MetricNames.ALL), shown, "the dashboard shows every metric the code writes");
    }

    @Test
    void alarmsOnFerryMetrics_nameOnlyMetricsAndDimensionsTheCodeWrites() {
        Map<String, Object> resources = TemplateFacts.map(TemplateFacts.raw(), "Resources");
        int checked = 0;
        for (Map.Entry<String, Object> entry : resources.entrySet()) {
            @SuppressWarnings("unchecked")
            Map<String, Object> resource = (Map<String, Object>) entry.getValue();
            if (!"AWS::CloudWatch::Alarm".equals(resource.get("Type"))) {
                continue;
            }
            Map<String, Object> properties = TemplateFacts.map(resource, "Properties");
            List<Map<String, Object>> metrics = new ArrayList<>();
            if (properties.containsKey("MetricName")) {
                metrics.add(properties);
            }
            if (properties.containsKey("Metrics")) {
                for (Object query : TemplateFacts.list(properties, "Metrics")) {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> q = (Map<String, Object>) query;
                    if (q.containsKey("MetricStat")) {
                        metrics.add(TemplateFacts.map(TemplateFacts.map(q, "MetricStat"), "Metric"));
                    }
                }
            }
            for (Map<String, Object> metric : metrics) {
                if (!Map.of("Fn::Sub", FERRY_NAMESPACE).equals(metric.get("Namespace"))
                        || "WorkerErrors".equals(metric.get("MetricName"))) { // a metric filter's, not the code's
                    continue;
                }
                String what = entry.getKey() + " " + metric.get("MetricName");
                assertTrue(MetricNames.ALL.contains((String) metric.get("MetricName")), what);
                for (Object dimension : (List<?>) metric.getOrDefault("Dimensions", List.of())) {
                    Map<?, ?> d = (Map<?, ?>) dimension;
                    assertTrue(MetricNames.DIMENSIONS.contains((String) d.get("Name")), what + " " + d);
                    if (MetricNames.OUTCOME.equals(d.get("Name"))) {
                        assertTrue(OUTCOMES.contains((String) d.get("Value")), what + " " + d);
                    }
                }
                checked++;
            }
        }
        assertTrue(checked >= 4, "the alarms on Ferry's metrics were not found (" + checked + ")");
    }

    @Test
    void loggingBackend_thatReadsFerryLogFormat_isTheOneLogbackFinds() throws IOException {
        try (InputStream in = getClass().getClassLoader()
                .getResourceAsStream("META-INF/services/ch.qos.logback.classic.spi.Configurator")) {
            assertTrue(in != null, "ferry-core carries no Logback configurator");
            assertEquals("dev.ferry.core.logging.FerryLogConfigurator",
                    new String(in.readAllBytes(), StandardCharsets.UTF_8).strip());
        }
    }
}
