package dev.ferry.worker;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a Cog prediction's logs, which Cog sends whole each time they grow (webhooks, then the
 * final prediction), into a job's log lines and progress, each line once.
 *
 * <p>Progress, as Cog has no notion of it: a {@code progress} metric between 0 and 1
 * ({@code self.record_metric("progress", 0.4)}) where the model records one; otherwise the
 * progress bars of tqdm, which diffusers, transformers and most Python models print
 * ({@code " 40%|████      | 8/20 [00:02<00:03, 3.1it/s]"}): step over steps, its line as the
 * message. A line ends at a newline or a carriage return (tqdm redraws its bar after {@code \r}).
 */
final class PredictionLog {

    /** tqdm's bar: a percentage followed by {@code |}, then maybe {@code n/total}. */
    private static final Pattern TQDM = Pattern.compile("(\\d{1,3})%\\|[^|]*\\|\\s*(\\d+)/(\\d+)|(\\d{1,3})%\\|");
    private static final int MAX_MESSAGE_CHARS = 200;

    private final JobEvents events;
    /** How much of the logs has gone out as lines. */
    private int consumed;
    private boolean metricSeen;
    private Double lastFraction;
    private String lastMessage;

    PredictionLog(JobEvents events) {
        this.events = events;
    }

    /** The prediction's logs and metrics as they are now; shorter logs than already seen (a late webhook) are ignored. */
    synchronized void update(String logs, JsonNode metrics) {
        if (metrics != null && metrics.path("progress").isNumber()) {
            metricSeen = true;
            report(metrics.path("progress").asDouble(), null);
        }
        if (logs == null || logs.length() <= consumed) {
            return;
        }
        int start = consumed;
        for (int i = consumed; i < logs.length(); i++) {
            char c = logs.charAt(i);
            if (c == '\n' || c == '\r') {
                line(logs.substring(start, i));
                start = i + 1;
            }
        }
        consumed = start;
        if (start < logs.length()) {
            progressOf(logs.substring(start)); // a bar being drawn: its line is not over yet
        }
    }

    /** The final logs: what is left of them, its last unfinished line too. */
    synchronized void finish(String logs) {
        update(logs, null);
        if (logs != null && consumed < logs.length()) {
            line(logs.substring(consumed));
            consumed = logs.length();
        }
    }

    private void line(String line) {
        if (line.isBlank()) {
            return;
        }
        events.log(line);
        progressOf(line);
    }

    private void progressOf(String line) {
        if (metricSeen) {
            return;
        }
        Matcher bar = TQDM.matcher(line);
        Double fraction = null;
        while (bar.find()) {
            fraction = bar.group(2) != null && Double.parseDouble(bar.group(3)) > 0
                    ? Double.parseDouble(bar.group(2)) / Double.parseDouble(bar.group(3))
                    : Double.parseDouble(bar.group(1) != null ? bar.group(1) : bar.group(4)) / 100;
        }
        if (fraction != null) {
            String message = line.strip();
            report(fraction, message.length() > MAX_MESSAGE_CHARS ? message.substring(0, MAX_MESSAGE_CHARS) : message);
        }
    }

    private void report(double fraction, String message) {
        double clamped = Math.max(0, Math.min(1, fraction));
        if (lastFraction != null && lastFraction == clamped && java.util.Objects.equals(lastMessage, message)) {
            return;
        }
        lastFraction = clamped;
        lastMessage = message;
        events.progress(clamped, message);
    }
}
