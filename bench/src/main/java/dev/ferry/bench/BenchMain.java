package dev.ferry.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * {@code scripts/bench.sh}: Ferry's benchmarks, one per subcommand, each printing its figures side
 * by side, writing them to {@code bench/results/<name>.json} and {@code .md}, and ending with one
 * summary line. Figures, not tests: nothing here passes or fails on speed; the exit status is
 * non-zero only when a benchmark could not run (a job failed, a bad option).
 */
public final class BenchMain {

    static final String USAGE = """
            usage: scripts/bench.sh [--no-build] <benchmark> [options]

            benchmarks:
              pipeline        issue 13: busy fraction of one slot (Ferry, a naive loop, Spring Cloud AWS), requests
                              and dollars per job, the submit path warm and cold, throughput through the local API
              warm-handlers   per-job overhead of a warm handler against a command per job (20 ms jobs), at the
                              handler and through the pipeline, and start to first job with a slow setup

            scripts/bench.sh --quick is scripts/bench.sh pipeline --quick.

            scripts/bench.sh <benchmark> --help lists its options.
            """;

    private static final String LOG_LEVEL = "org.slf4j.simpleLogger.defaultLogLevel";

    private BenchMain() {
    }

    public static void main(String[] args) {
        // The worker logs every job at INFO; a benchmark's stdout is its table (-D... sets another level).
        if (System.getProperty(LOG_LEVEL) == null) {
            System.setProperty(LOG_LEVEL, "warn");
        }
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
            System.out.print(USAGE);
            System.exit(args.length == 0 ? 2 : 0);
            return;
        }
        if (args[0].equals("--quick")) {
            System.exit(pipeline(args));
            return;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (args[0]) {
            case "pipeline" -> System.exit(pipeline(rest));
            case "warm-handlers" -> System.exit(warmHandlers(rest));
            default -> {
                System.err.println("bench: unknown benchmark '" + args[0] + "'");
                System.err.print(USAGE);
                System.exit(2);
            }
        }
    }

    private static int warmHandlers(String[] args) {
        WarmHandlerOptions options;
        try {
            options = WarmHandlerOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("bench warm-handlers: " + e.getMessage());
            return 2;
        }
        if (options.help()) {
            System.out.print(WarmHandlerOptions.USAGE);
            return 0;
        }
        Machine machine = Machine.current();
        long started = System.nanoTime();
        Path workRoot = temporaryDirectory();
        WarmHandlerBench.Figures figures;
        try {
            figures = new WarmHandlerBench(options, repository(), workRoot).run();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            System.err.println("bench warm-handlers: interrupted");
            return 1;
        } catch (RuntimeException e) {
            System.err.println("bench warm-handlers: could not finish: " + e.getMessage());
            e.printStackTrace();
            return 1;
        } finally {
            delete(workRoot);
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        double loadAtEnd = Machine.currentLoadAverage();
        write(options.out().resolve("warm-handlers.json"),
                WarmHandlerReport.json(figures, machine, options, seconds, loadAtEnd).toPrettyString() + "\n");
        write(options.out().resolve("warm-handlers.md"),
                WarmHandlerReport.markdown(figures, machine, options, seconds, loadAtEnd));
        System.out.println();
        System.out.printf(Locale.ROOT, "results in %s (warm-handlers.json, warm-handlers.md); %.0f s%n",
                options.out(), seconds);
        System.out.println(WarmHandlerReport.summaryLine(figures));
        System.out.flush();
        return 0;
    }

    private static int pipeline(String[] args) {
        PipelineOptions options;
        try {
            options = PipelineOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("bench pipeline: " + e.getMessage());
            return 2;
        }
        if (options.help()) {
            System.out.print(PipelineOptions.USAGE);
            return 0;
        }
        System.setProperty("java.awt.headless", "true");
        Machine machine = Machine.current();
        long started = System.nanoTime();
        Path workRoot = temporaryDirectory();
        PipelineBench.Figures figures;
        try {
            figures = new PipelineBench(options, repository(), workRoot).run();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            System.err.println("bench pipeline: interrupted");
            return 1;
        } catch (RuntimeException e) {
            System.err.println("bench pipeline: could not finish: " + e.getMessage());
            e.printStackTrace();
            return 1;
        } finally {
            delete(workRoot);
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        PipelineReport report = new PipelineReport(figures, machine, options, seconds, Machine.currentLoadAverage());
        String markdown = report.markdown();
        write(options.out().resolve(options.name() + ".json"), report.json().toPrettyString() + "\n");
        write(options.out().resolve(options.name() + ".md"), markdown);
        BusyChart.write(report, options.lengths(), options.out().resolve(options.name() + ".png"));
        System.out.println();
        System.out.print(markdown);
        System.out.println();
        System.out.printf(Locale.ROOT, "results in %s (%s.json, .md, .png); %.0f s%n", options.out(), options.name(),
                seconds);
        System.out.println(report.summaryLine());
        System.out.flush();
        return 0;
    }

    /**
     * The repository the benchmark runs in (scripts/bench.sh starts it at the root): the working
     * directory or the nearest parent holding {@code handlers/python}.
     */
    static Path repository() {
        Path here = Path.of("").toAbsolutePath();
        for (Path dir = here; dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve("handlers/python")) && Files.isRegularFile(dir.resolve("pom.xml"))) {
                return dir;
            }
        }
        return here;
    }

    private static Path temporaryDirectory() {
        try {
            return Files.createTempDirectory("ferry-bench-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a work directory for the handlers", e);
        }
    }

    private static void write(Path file, String text) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    private static void delete(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (IOException e) {
            System.err.println("bench: could not clean up " + dir + ": " + e.getMessage());
        }
    }
}
