package dev.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ferry logs JOB_ID}: an attempt's log, through its {@code logUrl} in the job's history. */
@Command(name = "logs", mixinStandardHelpOptions = true,
        description = {"Print an attempt's log: what the handler wrote on stderr while it ran (kept once the"
                + " attempt has ended). The last attempt's by default."})
final class LogsCommand extends ApiCommand {

    @Parameters(index = "0", paramLabel = "JOB_ID")
    String jobId;

    @Option(names = "--attempt", paramLabel = "N", description = "This attempt's log (1 is the first).")
    Integer attempt;

    LogsCommand(CliContext context) {
        super(context);
    }

    @Override
    public Integer call() {
        JsonNode job = api().job(jobId).body();
        JsonNode chosen = null;
        List<String> withLogs = new ArrayList<>();
        for (JsonNode entry : job.path("history")) {
            if (!entry.path("logUrl").isTextual()) {
                continue;
            }
            withLogs.add(entry.path("attempt").asText());
            if (attempt == null || entry.path("attempt").asInt() == attempt) {
                chosen = entry; // the last one that matches: the latest of an attempt given back and run again
            }
        }
        if (chosen == null) {
            throw CliException.refused(noLog(job, withLogs));
        }
        String log = api().text(URI.create(chosen.get("logUrl").asText()));
        if (json()) {
            out().println(CliJson.compact(CliJson.MAPPER.createObjectNode().put("jobId", jobId)
                    .put("attempt", chosen.path("attempt").asInt()).put("outcome", chosen.path("outcome").asText())
                    .put("log", log)));
        } else {
            out().print(log);
            if (!log.isEmpty() && !log.endsWith("\n")) {
                out().println();
            }
        }
        out().flush();
        return ExitCodes.SUCCESS;
    }

    private String noLog(JsonNode job, List<String> withLogs) {
        String status = job.path("status").asText();
        int attempts = job.path("attempts").asInt();
        String which = attempt == null ? "any attempt" : "attempt " + attempt;
        if ("RUNNING".equals(status) && (attempt == null || attempt == attempts)) {
            return "job " + jobId + " has no log for " + which + " yet: attempt " + attempts + " is running, and its"
                    + " log is kept when it ends" + (withLogs.isEmpty() ? "" : " (logs of attempts " + String.join(", ",
                    withLogs) + ")");
        }
        return "job " + jobId + " has no log for " + which + (withLogs.isEmpty() ? ""
                : "; attempts with logs: " + String.join(", ", withLogs));
    }
}
