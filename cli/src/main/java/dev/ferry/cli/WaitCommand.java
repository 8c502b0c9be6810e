package dev.ferry.cli;

import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ferry wait JOB_ID}: follows a job to its end, as {@code submit --wait} does. */
@Command(name = "wait", mixinStandardHelpOptions = true,
        description = "Wait for a job to end, with a progress bar on a terminal; exit 0 if it SUCCEEDED, 1 if it"
                + " FAILED or was CANCELLED, 5 after --timeout.")
final class WaitCommand extends FollowingCommand {

    @Parameters(index = "0", paramLabel = "JOB_ID")
    String jobId;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.Converter.class,
            description = "How long to wait at most (30s, 10m, 1h30m). Default: until it ends.")
    Duration timeout;

    @Option(names = "--download", paramLabel = "DIR", description = "Then save its files (and its result when"
            + " stored apart) into DIR.")
    Path download;

    WaitCommand(CliContext context) {
        super(context);
    }

    @Override
    public Integer call() {
        FerryApi.Answer first = api().job(jobId);
        return follow(jobId, first.body().path("type").asText("job"), first, timeout, download);
    }
}
