package dev.ferry.functions;

import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The spans the admin page's history charts offer, each with the bucket width that keeps a chart
 * at 60 to 168 points: 1 h in 1-minute buckets, 6 h in 5-minute, 24 h in 15-minute, 7 d in hourly.
 */
enum HistoryWindow {
    HOUR_1("1h", Duration.ofHours(1), Duration.ofMinutes(1)),
    HOURS_6("6h", Duration.ofHours(6), Duration.ofMinutes(5)),
    HOURS_24("24h", Duration.ofHours(24), Duration.ofMinutes(15)),
    DAYS_7("7d", Duration.ofDays(7), Duration.ofHours(1));

    static final HistoryWindow DEFAULT = HOURS_6;

    private final String label;
    private final Duration span;
    private final Duration bucket;

    HistoryWindow(String label, Duration span, Duration bucket) {
        this.label = label;
        this.span = span;
        this.bucket = bucket;
    }

    String label() {
        return label;
    }

    Duration span() {
        return span;
    }

    Duration bucket() {
        return bucket;
    }

    int bucketCount() {
        return (int) (span.toSeconds() / bucket.toSeconds());
    }

    /**
     * Where the chart ends: the end of the bucket that holds {@code now} (so the last bucket is
     * the current, partly filled one), buckets aligned to whole multiples of their width in UTC.
     */
    Instant end(Instant now) {
        long width = bucket.toSeconds();
        long seconds = now.getEpochSecond();
        return Instant.ofEpochSecond(Math.floorDiv(seconds, width) * width + width);
    }

    /** Where the chart starts: {@link #bucketCount()} buckets before {@link #end}. */
    Instant start(Instant now) {
        return end(now).minus(span);
    }

    /** The window named by the query parameter {@code window}; absent: {@link #DEFAULT}; else 400 naming it. */
    static HistoryWindow parse(String text) {
        if (text == null || text.isEmpty()) {
            return DEFAULT;
        }
        for (HistoryWindow window : values()) {
            if (window.label.equals(text)) {
                return window;
            }
        }
        throw ApiException.badRequest("query parameter \"window\" is \"" + abbreviate(text) + "\"; it must be one of "
                + Arrays.stream(values()).map(HistoryWindow::label).collect(Collectors.joining(", ")));
    }

    private static String abbreviate(String text) {
        return text.length() <= 40 ? text : text.substring(0, 40) + "...";
    }
}
