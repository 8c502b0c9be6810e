package dev.ferry.cli;

import java.lang.reflect.Constructor;
import picocli.CommandLine;
import picocli.CommandLine.Help.Ansi;

/**
 * {@code ferry}, the command line: {@code java -jar ferry-cli.jar <command>} or
 * {@code scripts/ferry <command>}. {@link #run} runs it in the caller's JVM with the caller's
 * environment and writers, which is how the tests run it.
 */
public final class FerryCli {

    private FerryCli() {
    }

    public static void main(String[] args) {
        int code = run(args, CliContext.system());
        System.exit(code);
    }

    /** Runs one command line; its exit code ({@link ExitCodes}). */
    public static int run(String[] args, CliContext context) {
        try {
            return commandLine(context).execute(args);
        } finally {
            context.out().flush();
            context.err().flush();
        }
    }

    static CommandLine commandLine(CliContext context) {
        CommandLine line = new CommandLine(new FerryCommand(), new Factory(context));
        line.setOut(context.out());
        line.setErr(context.err());
        line.setColorScheme(CommandLine.Help.defaultColorScheme(context.colour() ? Ansi.ON : Ansi.OFF));
        line.setCaseInsensitiveEnumValuesAllowed(true);
        line.setParameterExceptionHandler((e, args) -> {
            context.err().println("ferry: " + e.getMessage());
            CommandLine.UnmatchedArgumentException.printSuggestions(e, context.err());
            context.err().println("Try '" + e.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
            return ExitCodes.USAGE;
        });
        line.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (e instanceof CliException failure) {
                context.err().println("ferry: " + failure.getMessage());
                failure.hint().ifPresent(hint -> context.err().println("ferry: " + hint));
                return failure.exitCode();
            }
            if (e instanceof CommandLine.ParameterException usage) {
                return commandLine.getParameterExceptionHandler().handleParseException(usage, new String[0]);
            }
            // A defect, not a failure of the API: say what it was, with where.
            context.err().println("ferry: unexpected error: " + e);
            e.printStackTrace(context.err());
            return ExitCodes.UNAVAILABLE;
        });
        return line;
    }

    /** Makes the commands with the run's {@link CliContext}; everything else as picocli does. */
    private static final class Factory implements CommandLine.IFactory {
        private final CliContext context;

        Factory(CliContext context) {
            this.context = context;
        }

        @Override
        public <K> K create(Class<K> type) throws Exception {
            try {
                Constructor<K> constructor = type.getDeclaredConstructor(CliContext.class);
                constructor.setAccessible(true);
                return constructor.newInstance(context);
            } catch (NoSuchMethodException e) {
                return CommandLine.defaultFactory().create(type);
            }
        }
    }
}
