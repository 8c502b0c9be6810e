package dev.ferry.bench;

import java.nio.file.Path;
import java.util.List;

/**
 * The options of {@code scripts/bench.sh pipeline} (issue 13's benchmark), each with its default;
 * {@code --quick} picks the small set.
 *
 * @param lengths the job lengths of the busy-fraction part, in milliseconds
 * @param jobs jobs per consumer per length below 1 s
 * @param longJobs jobs per consumer at 1 s and longer
 * @param submitRounds alternating rounds of the submit handler against the raw calls
 * @param coldStarts cold starts of each kind (alternating)
 * @param throughputJobs jobs through the local API for the throughput part
 * @param out where the JSON, Markdown and PNG results go
 */
record PipelineOptions(boolean quick, List<Long> lengths, int jobs, int longJobs, int submitRounds, int coldStarts,
                       int throughputJobs, Path out, boolean help) {

    static final List<Long> LENGTHS = List.of(5L, 20L, 100L, 1000L);
    /** The quick run leaves out 1000 ms jobs: each consumer would spend seconds per job there, for a figure near 1. */
    static final List<Long> QUICK_LENGTHS = List.of(5L, 20L, 100L);
    static final Path DEFAULT_OUT = Path.of("bench", "results");

    static final String USAGE = """
            usage: scripts/bench.sh pipeline [--quick] [options]

            Issue 13's benchmark, all against the embedded emulators in one run: the busy fraction of one
            slot with a queued backlog at 5, 20, 100 and 1000 ms jobs for Ferry's worker (an in-process
            handler, and a warm handler of its own line protocol in Python), a naive receive-claim-run-
            finish-delete loop and Spring Cloud AWS's SQS listener; the AWS requests per job for each
            (submit to delete) and their list price; the submit handler against the raw PutItem +
            SendMessage, warm and cold; throughput through the local API with 2 workers x 4 slots.
            A table on stdout, bench/results/pipeline{,-quick}.{json,md,png}; the last line is the summary.

            options:
              --quick          the small run (5, 20 and 100 ms only, 15 jobs each, fewer rounds): under 3 minutes
              --jobs N         jobs per consumer per length under 1 s (default 100; quick 15)
              --long-jobs N    jobs per consumer at 1000 ms (default 10; the quick run has no 1000 ms)
              --out DIR        where the results go (default %s)
              --help           this text
            """.formatted(DEFAULT_OUT);

    /**
     * @throws IllegalArgumentException an unknown option or a bad value; the message names it
     */
    static PipelineOptions parse(String... args) {
        boolean quick = false;
        Integer jobs = null;
        Integer longJobs = null;
        Path out = DEFAULT_OUT;
        boolean help = false;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--help", "-h" -> help = true;
                case "--quick" -> quick = true;
                case "--jobs" -> jobs = number(arg, value(args, ++i, arg), 3, 100_000);
                case "--long-jobs" -> longJobs = number(arg, value(args, ++i, arg), 2, 10_000);
                case "--out" -> out = Path.of(value(args, ++i, arg));
                default -> throw new IllegalArgumentException("unknown option '" + arg + "'; see --help");
            }
        }
        return new PipelineOptions(quick, quick ? QUICK_LENGTHS : LENGTHS, jobs != null ? jobs : quick ? 15 : 100,
                longJobs != null ? longJobs : quick ? 3 : 10, quick ? 40 : 300, quick ? 2 : 5, quick ? 80 : 600, out,
                help);
    }

    /** The results' base name: {@code pipeline}, or {@code pipeline-quick} for the small run. */
    String name() {
        return quick ? "pipeline-quick" : "pipeline";
    }

    /** Jobs per consumer at {@code lengthMs}. */
    int jobsAt(long lengthMs) {
        return lengthMs >= 1000 ? longJobs : jobs;
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value; see --help");
        }
        return args[i];
    }

    private static int number(String option, String raw, int min, int max) {
        int value;
        try {
            value = Integer.parseInt(raw.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " must be a whole number, but is '" + raw + "'", e);
        }
        if (value < min || value > max) {
            throw new IllegalArgumentException(option + " must be " + min + "-" + max + ", but is " + value);
        }
        return value;
    }
}
