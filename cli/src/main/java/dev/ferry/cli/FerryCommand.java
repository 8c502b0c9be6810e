package dev.ferry.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code ferry}: the commands, the options they share, the exit codes. */
@Command(name = "ferry", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = {"Submit GPU jobs to Ferry, follow them, fetch their results, logs and files; list,"
                + " cancel and redrive them.",
                "Talks to the local stack (scripts/run-local.sh) unless --url or FERRY_URL names another."},
        subcommands = {SubmitCommand.class, StatusCommand.class, WaitCommand.class, ListCommand.class,
                CancelCommand.class, LogsCommand.class, DownloadCommand.class, DlqCommand.class,
                RedriveCommand.class, CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
                "0:success (submit --wait, wait: the job SUCCEEDED)",
                "1:the job FAILED or was CANCELLED",
                "2:usage: a wrong option or argument, input that is not JSON, a file that is not there",
                "3:the API refused the request (a 4xx: its error is printed as it is), or the job has no such"
                        + " thing (no log for that attempt)",
                "4:the API or the network failed (a 5xx, a connection refused), or a download could not be"
                        + " written",
                "5:timed out waiting (--timeout); the job goes on"})
final class FerryCommand implements Callable<Integer> {

    @Mixin
    GlobalOptions options;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is needed: submit, status, wait, list,"
                + " cancel, logs, download, dlq or redrive");
    }
}
