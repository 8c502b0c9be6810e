package dev.ferry.bench;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * The options of {@code scripts/bench.sh warm-handlers}, each with its default.
 *
 * @param jobs jobs per kind at the handler level
 * @param e2eJobs jobs per kind through the pipeline (the local stack)
 * @param setupMs the slow handler's setup ("model load") for the start-to-first-job figure
 * @param rounds alternating rounds the handler-level jobs are split into
 * @param parts which of the three measurements to run
 * @param out where the JSON and Markdown results go
 */
record WarmHandlerOptions(int jobs, int e2eJobs, long setupMs, int rounds, Set<Part> parts, Path out, boolean help) {

    static final int DEFAULT_JOBS = 200;
    static final int DEFAULT_E2E_JOBS = 60;
    static final long DEFAULT_SETUP_MS = 3000;
    static final int DEFAULT_ROUNDS = 10;
    static final Path DEFAULT_OUT = Path.of("bench", "results");

    /** The three measurements. */
    enum Part {
        HANDLER("handler"), E2E("e2e"), FIRST_JOB("first-job");

        final String flag;

        Part(String flag) {
            this.flag = flag;
        }

        static Part of(String flag) {
            for (Part part : values()) {
                if (part.flag.equals(flag)) {
                    return part;
                }
            }
            throw new IllegalArgumentException("--parts: unknown part '" + flag + "'; the parts are handler, e2e and"
                    + " first-job");
        }
    }

    static final String USAGE = """
            usage: scripts/bench.sh warm-handlers [options]

            Per-job overhead of a warm handler against a command per job (20 ms jobs), at the handler and
            end to end through the local stack, and the time from a start to the first and tenth job with
            a handler that takes a while to set up. The kinds alternate in rounds, so drift hits each alike.
            A table on stdout, bench/results/warm-handlers.{json,md}; the last line is the summary.

            options:
              --jobs N        jobs per kind at the handler level (default %d)
              --e2e-jobs N    jobs per kind through the pipeline, in two rounds each (default %d)
              --setup-ms MS   setup time ("model load") of the handler for start to first job (default %d)
              --rounds R      rounds the handler-level jobs are split into (default %d)
              --parts LIST    which measurements, comma-separated: handler,e2e,first-job (default all)
              --out DIR       where the results go (default %s)
              --help          this text
            """.formatted(DEFAULT_JOBS, DEFAULT_E2E_JOBS, DEFAULT_SETUP_MS, DEFAULT_ROUNDS, DEFAULT_OUT);

    /**
     * @throws IllegalArgumentException an unknown option or a bad value; the message names it
     */
    static WarmHandlerOptions parse(String... args) {
        int jobs = DEFAULT_JOBS;
        int e2eJobs = DEFAULT_E2E_JOBS;
        long setupMs = DEFAULT_SETUP_MS;
        int rounds = DEFAULT_ROUNDS;
        Set<Part> parts = EnumSet.allOf(Part.class);
        Path out = DEFAULT_OUT;
        boolean help = false;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--help", "-h" -> help = true;
                case "--jobs" -> jobs = (int) number(arg, value(args, ++i, arg), 2, 100_000);
                case "--e2e-jobs" -> e2eJobs = (int) number(arg, value(args, ++i, arg), 4, 100_000);
                case "--setup-ms" -> setupMs = number(arg, value(args, ++i, arg), 0, 600_000);
                case "--rounds" -> rounds = (int) number(arg, value(args, ++i, arg), 1, 1_000);
                case "--parts" -> {
                    parts = EnumSet.noneOf(Part.class);
                    for (String part : value(args, ++i, arg).split(",")) {
                        parts.add(Part.of(part.strip().toLowerCase(Locale.ROOT)));
                    }
                }
                case "--out" -> out = Path.of(value(args, ++i, arg));
                default -> throw new IllegalArgumentException("unknown option '" + arg + "'; see --help");
            }
        }
        if (rounds > jobs) {
            throw new IllegalArgumentException("--rounds (" + rounds + ") must not exceed --jobs (" + jobs + ")");
        }
        return new WarmHandlerOptions(jobs, e2eJobs, setupMs, rounds, Set.copyOf(parts), out, help);
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value; see --help");
        }
        return args[i];
    }

    private static long number(String option, String raw, long min, long max) {
        long value;
        try {
            value = Long.parseLong(raw.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " must be a whole number, but is '" + raw + "'", e);
        }
        if (value < min || value > max) {
            throw new IllegalArgumentException(option + " must be " + min + "-" + max + ", but is " + value);
        }
        return value;
    }
}
