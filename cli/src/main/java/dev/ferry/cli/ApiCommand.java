package dev.ferry.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

/** A command that calls the API: the shared options, the client, and where its output goes. */
abstract class ApiCommand implements Callable<Integer> {

    final CliContext context;

    @Mixin
    GlobalOptions local;

    @ParentCommand
    FerryCommand parent;

    private GlobalOptions options;
    private FerryApi api;

    ApiCommand(CliContext context) {
        this.context = context;
    }

    /** The options given after the command's name over those given before it. */
    final GlobalOptions options() {
        if (options == null) {
            options = parent == null || parent.options == null ? local : local.over(parent.options);
        }
        return options;
    }

    final boolean json() {
        return options().json;
    }

    /** Colours: on a terminal, not for {@code --json}, not with {@code NO_COLOR}. */
    final boolean colour() {
        return !json() && context.colour();
    }

    final FerryApi api() {
        if (api == null) {
            api = FerryApi.create(Target.resolve(options(), context.env()), context, options().verbose);
        }
        return api;
    }

    final PrintWriter out() {
        return context.out();
    }

    /** A note for the person running it, on standard error. */
    final void note(String line) {
        context.err().println(line);
        context.err().flush();
    }

    /** {@code --json}: an answer as the API wrote it, on a line of its own. */
    final void printJson(FerryApi.Answer answer) {
        String text = answer.text().strip();
        out().println(text.indexOf('\n') < 0 || answer.body() == null ? text : CliJson.compact(answer.body()));
        out().flush();
    }
}
