package dev.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What changed between two reads of a job, as the lines {@code --wait} prints above its bar: each
 * attempt that reached an outcome (from {@code history}), a new status or a new attempt, a cancel
 * asked for. Progress itself goes to the bar.
 */
final class JobEvents {

    private JobEvents() {
    }

    /** The lines for {@code now}, seen after {@code before} (null: the first read). */
    static List<String> changes(JsonNode before, JsonNode now) {
        List<String> lines = new ArrayList<>();
        if (before != null) {
            // New entries are those the earlier read did not have (a record keeps at most 40, so
            // positions may shift), known by what never changes in them (a logUrl is signed afresh
            // on every read).
            Set<String> seen = new HashSet<>();
            before.path("history").forEach(entry -> seen.add(identity(entry)));
            for (JsonNode entry : now.path("history")) {
                if (!seen.contains(identity(entry))) {
                    lines.add(attemptLine(entry));
                }
            }
        }
        String was = before == null ? null : before.path("status").asText();
        String is = now.path("status").asText();
        boolean newAttempt = before != null && now.path("attempts").asInt() != before.path("attempts").asInt();
        if (!is.equals(was) || is.equals("RUNNING") && newAttempt) {
            lines.add(statusLine(now));
        }
        if (now.path("cancelRequestedAt").isTextual() && (before == null || !before.path("cancelRequestedAt").isTextual())
                && !JobText.finished(now)) {
            lines.add("cancel requested: its worker stops it");
        }
        return lines;
    }

    private static String identity(JsonNode entry) {
        return entry.path("attempt").asText() + " " + entry.path("outcome").asText() + " "
                + entry.path("startedAt").asText() + " " + entry.path("endedAt").asText() + " "
                + entry.path("worker").asText();
    }

    /** {@code RUNNING  attempt 2}, {@code FAILED after 3 attempts: ...}. */
    static String statusLine(JsonNode job) {
        String status = job.path("status").asText();
        int attempts = job.path("attempts").asInt();
        return switch (status) {
            case "RUNNING" -> "RUNNING  attempt " + attempts;
            case "QUEUED" -> attempts == 0 ? "QUEUED" : "QUEUED  for attempt " + (attempts + 1);
            case "PENDING" -> "PENDING  (its message is on its way to the queue)";
            case "SUCCEEDED" -> "SUCCEEDED  after " + attempts(attempts);
            case "FAILED" -> "FAILED  after " + attempts(attempts)
                    + (job.path("error").isTextual() ? ": " + job.get("error").asText() : "");
            case "CANCELLED" -> "CANCELLED" + (job.path("cancelReason").isTextual()
                    ? ": " + job.get("cancelReason").asText() : "");
            default -> status;
        };
    }

    /** One attempt that reached an outcome. */
    static String attemptLine(JsonNode entry) {
        String head = "attempt " + entry.path("attempt").asInt();
        String error = entry.path("error").isTextual() ? ": " + entry.get("error").asText() : "";
        String took = JobText.between(entry.path("startedAt").asText(""), entry.path("endedAt").asText(""))
                .map(Durations::format).orElse(null);
        String where = entry.path("worker").isTextual() ? "worker " + entry.get("worker").asText()
                + (entry.has("slot") ? " slot " + entry.get("slot").asInt() : "") : null;
        String detail = took == null && where == null ? ""
                : " (" + (took == null ? where : where == null ? took : took + ", " + where) + ")";
        return switch (entry.path("outcome").asText()) {
            case "succeeded" -> head + " succeeded" + detail;
            case "retrying" -> head + " failed, another attempt follows" + detail + error;
            case "failed" -> head + " failed" + detail + error;
            case "given back" -> head + " given back: its machine went away (not counted)" + detail;
            default -> head + " " + entry.path("outcome").asText() + detail + error;
        };
    }

    private static String attempts(int n) {
        return n == 1 ? "1 attempt" : n + " attempts";
    }
}
