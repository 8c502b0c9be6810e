package dev.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;

/** {@code ferry dlq}: the failed jobs, from the admin API's overview. */
@Command(name = "dlq", mixinStandardHelpOptions = true,
        description = {"List the failed jobs, whose messages wait in the dead-letter queue: id, type, attempts,"
                + " last error.", "Needs the admin token (--admin-token or FERRY_ADMIN_TOKEN)."})
final class DlqCommand extends ApiCommand {

    /** How much of an error a row shows; ferry status shows all of it. */
    static final int ERROR_SHOWN = 120;

    DlqCommand(CliContext context) {
        super(context);
    }

    @Override
    public Integer call() {
        FerryApi.Answer answer = api().admin("GET", "overview", null);
        JsonNode overview = answer.body();
        if (json()) {
            printJson(answer);
            return ExitCodes.SUCCESS;
        }
        JsonNode unavailable = overview.path("jobsByStatus").path("unavailable");
        if (unavailable.isTextual()) {
            throw CliException.unavailable("the job table could not be read: " + unavailable.asText());
        }
        JsonNode deadLetter = overview.path("queues").path("deadLetter");
        if (deadLetter.has("visible")) {
            note("dead-letter queue: " + deadLetter.get("visible").asInt() + " message(s)"
                    + (deadLetter.path("inFlight").asInt() > 0 ? ", " + deadLetter.get("inFlight").asInt()
                    + " being moved" : ""));
        }
        JsonNode failed = overview.path("failedJobs");
        if (failed.isEmpty()) {
            note("no failed jobs");
            return ExitCodes.SUCCESS;
        }
        List<List<String>> rows = new ArrayList<>();
        for (JsonNode job : failed) {
            String error = JobText.oneLine(job.path("error").asText(""), ERROR_SHOWN);
            if (job.path("redriveRequestedAt").isTextual()) {
                error = "(redrive requested) " + error;
            }
            rows.add(List.of(job.path("jobId").asText(), job.path("type").asText(), job.path("attempts").asText(),
                    error));
        }
        out().print(JobText.table(List.of("JOB ID", "TYPE", "ATTEMPTS", "ERROR"), rows));
        out().flush();
        int total = overview.path("failedJobsTotal").asInt(failed.size());
        if (total > failed.size()) {
            note("the latest " + failed.size() + " of " + total + " failed jobs");
        }
        note("send them back: ferry redrive (all), ferry redrive JOB_ID ... (those)");
        return ExitCodes.SUCCESS;
    }
}
