package dev.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code ferry cancel JOB_ID}: {@code POST /jobs/{jobId}/cancel}. */
@Command(name = "cancel", mixinStandardHelpOptions = true,
        description = {"Cancel a job: a waiting one at once, a running one when its worker next hears of it"
                + " (ferry wait JOB_ID shows it end).",
                "A finished job cannot be cancelled: the API refuses (exit 3)."})
final class CancelCommand extends ApiCommand {

    @Parameters(index = "0", paramLabel = "JOB_ID")
    String jobId;

    CancelCommand(CliContext context) {
        super(context);
    }

    @Override
    public Integer call() {
        FerryApi.Answer answer = api().cancel(jobId);
        if (json()) {
            printJson(answer);
            return ExitCodes.SUCCESS;
        }
        JsonNode job = answer.body();
        if (answer.status() == 202 || !JobText.finished(job)) {
            out().println("job " + jobId + ": cancel requested; its worker stops it (ferry wait " + jobId + ")");
        } else {
            out().println("job " + jobId + ": " + JobText.status(job.path("status").asText(), colour()));
        }
        return ExitCodes.SUCCESS;
    }
}
