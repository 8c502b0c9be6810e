package dev.ferry.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code ferry status JOB_ID}: {@code GET /jobs/{jobId}}, as a person reads it. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Show a job: status, attempts, times, progress, result or error, files with sizes, history.")
final class StatusCommand extends ApiCommand {

    @Parameters(index = "0", paramLabel = "JOB_ID")
    String jobId;

    StatusCommand(CliContext context) {
        super(context);
    }

    @Override
    public Integer call() {
        FerryApi.Answer answer = api().job(jobId);
        if (json()) {
            printJson(answer);
        } else {
            out().print(JobText.describe(answer.body(), colour()));
        }
        return ExitCodes.SUCCESS;
    }
}
