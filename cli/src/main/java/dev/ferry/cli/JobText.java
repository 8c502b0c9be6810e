package dev.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import picocli.CommandLine.Help.Ansi;

/** Jobs and tables as a person reads them (the {@code --json} answers are the API's own). */
final class JobText {

    static final List<String> FINAL = List.of("SUCCEEDED", "FAILED", "CANCELLED");
    private static final int LABEL = 11;
    /** A result this long or shorter is shown on one line; a longer one is indented JSON. */
    private static final int ONE_LINE_RESULT = 100;

    private JobText() {
    }

    static boolean finished(JsonNode job) {
        return FINAL.contains(job.path("status").asText());
    }

    /** The job, field by field: status, attempts, times, progress, result or error, files, history. */
    static String describe(JsonNode job, boolean colour) {
        StringBuilder text = new StringBuilder();
        String id = job.path("jobId").asText();
        line(text, "Job", id + "  (" + job.path("type").asText() + ")");
        line(text, "Status", status(job.path("status").asText(), colour)
                + (job.path("cancelRequestedAt").isTextual() && !finished(job) ? "  (cancel requested)" : ""));
        String attempts = String.valueOf(job.path("attempts").asInt());
        if (job.path("preemptions").asInt() > 0) {
            attempts += "  (and " + job.get("preemptions").asInt() + " given back when a machine went away)";
        }
        line(text, "Attempts", attempts);
        line(text, "Created", job.path("createdAt").asText());
        line(text, "Updated", job.path("updatedAt").asText());
        if (job.path("finishedAt").isTextual()) {
            line(text, "Finished", job.get("finishedAt").asText() + between(job.path("createdAt").asText(),
                    job.get("finishedAt").asText()).map(d -> "  (" + Durations.format(d) + " after it was created)")
                    .orElse(""));
        }
        if (job.path("deadline").isTextual()) {
            line(text, "Deadline", job.get("deadline").asText());
        }
        if (job.path("cancelReason").isTextual()) {
            line(text, "Cancelled", job.get("cancelReason").asText());
        }
        if (job.path("progress").isObject()) {
            line(text, "Progress", progress(job.get("progress")));
        }
        if (job.has("result")) {
            String result = CliJson.compact(job.get("result"));
            if (result.length() > ONE_LINE_RESULT) {
                result = indent(CliJson.pretty(job.get("result")));
            }
            line(text, "Result", result);
        }
        if (job.path("resultUrl").isTextual()) {
            line(text, "Result", "stored apart, too large for the record: ferry download " + id + " DIR");
        }
        if (job.path("error").isTextual()) {
            line(text, "Error", colour(job.get("error").asText(), "red", colour));
        }
        if (job.path("files").isArray() && !job.get("files").isEmpty()) {
            List<List<String>> rows = new ArrayList<>();
            for (JsonNode file : job.get("files")) {
                rows.add(List.of(file.path("name").asText(), file.path("contentType").asText(),
                        bytes(file.path("size").asLong())));
            }
            line(text, "Files", indent(table(null, rows)));
        }
        if (job.path("history").isArray() && !job.get("history").isEmpty()) {
            List<String> attemptsSeen = new ArrayList<>();
            for (JsonNode attempt : job.get("history")) {
                attemptsSeen.add(historyLine(attempt));
            }
            line(text, "History", indent(String.join("\n", attemptsSeen)));
        }
        return text.toString();
    }

    /** One attempt of {@code history}: number, outcome, when, where, its error. */
    static String historyLine(JsonNode attempt) {
        StringBuilder line = new StringBuilder("#").append(attempt.path("attempt").asInt()).append("  ")
                .append(attempt.path("outcome").asText());
        String started = attempt.path("startedAt").asText("");
        String ended = attempt.path("endedAt").asText("");
        if (!started.isEmpty()) {
            line.append("  ").append(started);
            if (!ended.isEmpty()) {
                line.append(" to ").append(ended);
                between(started, ended).ifPresent(d -> line.append(" (").append(Durations.format(d)).append(')'));
            }
        }
        if (attempt.path("worker").isTextual()) {
            line.append("  worker ").append(attempt.get("worker").asText());
            if (attempt.has("slot")) {
                line.append(" slot ").append(attempt.get("slot").asInt());
            }
        }
        if (attempt.path("error").isTextual()) {
            line.append("\n    error: ").append(attempt.get("error").asText());
        }
        return line.toString();
    }

    /** {@code 40%  step 8 of 20}. */
    static String progress(JsonNode progress) {
        String percent = Math.round(progress.path("fraction").asDouble() * 100) + "%";
        String message = progress.path("message").asText("");
        return message.isEmpty() ? percent : percent + "  " + message;
    }

    /** A status, green when SUCCEEDED, red when FAILED, yellow when CANCELLED, if {@code colour}. */
    static String status(String status, boolean colour) {
        return switch (status) {
            case "SUCCEEDED" -> colour(status, "green", colour);
            case "FAILED" -> colour(status, "red", colour);
            case "CANCELLED" -> colour(status, "yellow", colour);
            default -> colour(status, "bold", colour);
        };
    }

    static String colour(String text, String style, boolean colour) {
        if (!colour) {
            return text;
        }
        Ansi.Style ansi = switch (style) {
            case "green" -> Ansi.Style.fg_green;
            case "red" -> Ansi.Style.fg_red;
            case "yellow" -> Ansi.Style.fg_yellow;
            case "faint" -> Ansi.Style.faint;
            default -> Ansi.Style.bold;
        };
        return Ansi.Style.on(ansi) + text + Ansi.Style.off(ansi);
    }

    /** 0 B, 812 B, 48.2 KiB, 3.0 MiB, 1.2 GiB. */
    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double value = n;
        int unit = -1;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
    }

    /** Columns padded to their widest cell, two spaces apart; {@code headers} null for none. */
    static String table(List<String> headers, List<List<String>> rows) {
        List<List<String>> all = new ArrayList<>();
        if (headers != null) {
            all.add(headers);
        }
        all.addAll(rows);
        int columns = all.stream().mapToInt(List::size).max().orElse(0);
        int[] widths = new int[columns];
        for (List<String> row : all) {
            for (int i = 0; i < row.size(); i++) {
                widths[i] = Math.max(widths[i], row.get(i).length());
            }
        }
        StringBuilder text = new StringBuilder();
        for (List<String> row : all) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.size(); i++) {
                line.append(row.get(i));
                if (i < row.size() - 1) {
                    line.append(" ".repeat(widths[i] - row.get(i).length() + 2));
                }
            }
            text.append(line.toString().stripTrailing()).append('\n');
        }
        return text.toString();
    }

    /** Text on one line, at most {@code max} characters (an ellipsis at the end when cut). */
    static String oneLine(String text, int max) {
        String flat = text.replaceAll("\\s+", " ").strip();
        return flat.length() <= max ? flat : flat.substring(0, Math.max(0, max - 1)) + "…";
    }

    static Optional<Duration> between(String from, String to) {
        try {
            Duration duration = Duration.between(Instant.parse(from), Instant.parse(to));
            return duration.isNegative() ? Optional.empty() : Optional.of(duration);
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }

    private static void line(StringBuilder text, String label, String value) {
        text.append(label).append(" ".repeat(Math.max(1, LABEL - label.length()))).append(value.stripTrailing())
                .append('\n');
    }

    /** Every line after the first indented to the value column. */
    private static String indent(String block) {
        return block.stripTrailing().replace("\n", "\n" + " ".repeat(LABEL));
    }
}
