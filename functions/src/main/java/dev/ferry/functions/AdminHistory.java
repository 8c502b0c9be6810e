package dev.ferry.functions;

import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.Json;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * {@code GET /admin/api/history?window=6h&type=...}: the history charts' data. Parses the query,
 * reads the window's jobs ({@link JobHistoryReader}), buckets them ({@link JobHistory}) and answers
 * column-wise, as the charts take it: {@code t} (bucket starts, epoch seconds), the counts, and
 * {@code wait}/{@code run} percentiles in seconds ({@code null} where a bucket has none).
 */
final class AdminHistory {

    static final Set<String> PARAMETERS = Set.of("window", "type");

    private final JobHistoryReader reader;
    private final Clock clock;

    AdminHistory(JobHistoryReader reader, Clock clock) {
        this.reader = Objects.requireNonNull(reader, "reader");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** The checked query: a window, and a type or null for all. */
    record Query(HistoryWindow window, String type) {
    }

    static Query parse(APIGatewayProxyRequestEvent event) {
        Map<String, List<String>> query = new LinkedHashMap<>();
        if (event.getMultiValueQueryStringParameters() != null) {
            query.putAll(event.getMultiValueQueryStringParameters());
        } else if (event.getQueryStringParameters() != null) {
            event.getQueryStringParameters().forEach((name, value) -> query.put(name, List.of(value)));
        }
        for (Map.Entry<String, List<String>> parameter : query.entrySet()) {
            if (!PARAMETERS.contains(parameter.getKey())) {
                throw ApiException.badRequest("unknown query parameter \"" + parameter.getKey()
                        + "\"; the history takes window and type");
            }
            if (parameter.getValue() != null && parameter.getValue().size() > 1) {
                throw ApiException.badRequest("query parameter \"" + parameter.getKey() + "\" is given "
                        + parameter.getValue().size() + " times; give it once");
            }
        }
        HistoryWindow window = HistoryWindow.parse(first(query, "window"));
        String type = first(query, "type");
        if (type != null && !JobTypeNames.valid(type)) {
            throw ApiException.badRequest("query parameter \"type\" must be 1-64 characters of letters, digits, '.', '_'"
                    + " and '-', starting with a letter or digit (or absent, for all types)");
        }
        return new Query(window, type);
    }

    private static String first(Map<String, List<String>> query, String name) {
        List<String> values = query.get(name);
        return values == null || values.isEmpty() || values.get(0) == null || values.get(0).isEmpty()
                ? null : values.get(0);
    }

    ObjectNode chart(Query query) {
        Instant now = clock.instant();
        HistoryWindow window = query.window();
        Instant start = window.start(now);
        Instant end = window.end(now);
        JobHistoryReader.Read read = reader.read(query.type(), start, end);
        JobHistory.Series series = JobHistory.of(window, now, read.jobs());

        ObjectNode answer = Json.MAPPER.createObjectNode();
        answer.put("window", window.label());
        if (query.type() != null) {
            answer.put("type", query.type());
        } else {
            answer.putNull("type");
        }
        answer.put("from", start.toString());
        answer.put("to", end.toString());
        answer.put("bucketSeconds", window.bucket().toSeconds());
        ArrayNode t = answer.putArray("t");
        series.bucketStarts().forEach(at -> t.add(at.getEpochSecond()));
        counts(answer.putArray("submitted"), series.submitted());
        counts(answer.putArray("succeeded"), series.succeeded());
        counts(answer.putArray("failed"), series.failed());
        counts(answer.putArray("cancelled"), series.cancelled());
        percentiles(answer.putObject("wait"), series.waitPercentiles());
        percentiles(answer.putObject("run"), series.runPercentiles());
        ArrayNode types = answer.putArray("types");
        Set<String> seen = new TreeSet<>();
        read.jobs().forEach(job -> seen.add(job.type()));
        seen.forEach(types::add);

        ObjectNode source = answer.putObject("read");
        source.put("jobs", read.jobs().size());
        source.put("maxJobs", reader.maxJobs());
        source.put("jobsTruncated", read.jobsTruncated());
        if (read.jobsTruncated() && !read.jobs().isEmpty()) {
            source.put("jobsFrom", read.jobs().get(read.jobs().size() - 1).createdAt().toString());
        }
        source.put("timed", read.timed());
        source.put("maxTimed", reader.maxTimed());
        source.put("timesTruncated", read.timesTruncated());
        if (read.timesFrom() != null) {
            source.put("timesFrom", read.timesFrom().toString());
        }
        source.put("lookbackHours", JobHistoryReader.LOOKBACK.toHours());
        source.put("readCapacityUnits", read.readCapacityUnits());
        return answer;
    }

    private static void counts(ArrayNode array, long[] counts) {
        for (long count : counts) {
            array.add(count);
        }
    }

    private static void percentiles(ObjectNode node, List<Double[]> series) {
        for (int k = 0; k < JobHistory.PERCENTILES.size(); k++) {
            ArrayNode array = node.putArray("p" + JobHistory.PERCENTILES.get(k));
            for (Double value : series.get(k)) {
                if (value == null) {
                    array.addNull();
                } else {
                    array.add(value);
                }
            }
        }
    }
}
