package dev.ferry.cli;

import java.io.PrintWriter;
import java.nio.charset.Charset;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * What a run of {@code ferry} is given from outside: the environment it reads its defaults from
 * ({@code FERRY_URL}, {@code FERRY_API_KEY}, {@code FERRY_ADMIN_TOKEN}, {@code NO_COLOR}), where
 * answers go ({@code out}) and where notes, the progress bar and errors go ({@code err}), whether
 * {@code err} is a terminal (then a live bar and colours), the clock and how it sleeps. The command
 * line builds it from the process ({@link #system()}); tests build their own and run the CLI in
 * their JVM.
 *
 * @param env the environment variables
 * @param out answers: a job, a table, JSON for scripts
 * @param err progress, notes, errors
 * @param interactive {@code err} is a terminal: a live progress bar, and colours unless {@code NO_COLOR}
 * @param width the terminal's width for the bar; 0 asks the terminal
 * @param clock the time status lines are stamped with, and deadlines are counted on
 * @param sleeper how waiting between polls waits
 */
public record CliContext(Map<String, String> env, PrintWriter out, PrintWriter err, boolean interactive, int width,
                         Clock clock, Sleeper sleeper) {

    /** Sleeps; tests may pass one that returns at once. */
    @FunctionalInterface
    public interface Sleeper {
        void sleep(Duration duration) throws InterruptedException;
    }

    public CliContext {
        env = Map.copyOf(env);
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(err, "err");
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(sleeper, "sleeper");
    }

    /** The process's: its environment, standard output and error, the system clock. */
    public static CliContext system() {
        Charset charset = Charset.defaultCharset();
        PrintWriter out = new PrintWriter(new java.io.OutputStreamWriter(System.out, charset), true);
        PrintWriter err = new PrintWriter(new java.io.OutputStreamWriter(System.err, charset), true);
        // System.console() is there when standard input and output are a terminal; the bar goes
        // to standard error, so a run whose output is piped or redirected prints plain lines.
        return new CliContext(System.getenv(), out, err, System.console() != null, 0, Clock.systemDefaultZone(),
                duration -> Thread.sleep(duration.toMillis()));
    }

    /** For tests: no terminal, the given environment and writers, the system clock, real sleeps. */
    public static CliContext of(Map<String, String> env, PrintWriter out, PrintWriter err) {
        return new CliContext(env, out, err, false, 0, Clock.systemDefaultZone(),
                duration -> Thread.sleep(duration.toMillis()));
    }

    /** The same, as if {@code err} were a terminal {@code width} columns wide. */
    public CliContext asTerminal(int columns) {
        return new CliContext(env, out, err, true, columns, clock, sleeper);
    }

    /** Colours: on a terminal, unless {@code NO_COLOR} is set (no-color.org) or {@code TERM} is {@code dumb}. */
    boolean colour() {
        return interactive && !env.containsKey("NO_COLOR") && !"dumb".equals(env.get("TERM"));
    }
}
