package dev.ferry.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.bench.WarmHandlerBench.FirstJobFigures;
import dev.ferry.bench.WarmHandlerBench.Figures;
import dev.ferry.bench.WarmHandlerBench.HandlerFigures;
import dev.ferry.bench.WarmHandlerBench.Kind;
import dev.ferry.bench.WarmHandlerBench.PipelineFigures;
import dev.ferry.core.Json;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * What {@link WarmHandlerBench} found, as people and programs read it: tables on stdout, the
 * summary line, {@code warm-handlers.json} and {@code warm-handlers.md}.
 */
final class WarmHandlerReport {

    /** One line each on what bounds a figure, for the Markdown results. */
    static final String BOUND_COMMAND_JVM = "a JVM's start per job (fork, exec, class loading with CDS and C1 only):"
            + " CPU-bound, so it grows on a busy or smaller machine";
    static final String BOUND_COMMAND_SH = "the floor of any command per job: fork and exec of /bin/sh, its pipes,"
            + " and a second process for sleep";
    static final String BOUND_WARM = "one JSON line each way over the handler's pipes and the hand-offs between"
            + " the worker's threads; no process is started";
    static final String BOUND_E2E = "per job, in series: the outcome write, the delete, the next receive (a slot"
            + " takes its next message once its job's message is deleted) and the claim, here on ElasticMQ and"
            + " DynamoDB Local in the same JVM on the same CPUs as the handlers; on AWS, each is a network round trip"
            + " instead";
    static final String BOUND_FIRST_JOB = "the setup (the model load) and one handler start; a command per job pays"
            + " both again for every job, so its time to N jobs grows N-fold";

    private WarmHandlerReport() {
    }

    // ---- stdout ----------------------------------------------------------------------------

    static void printHandler(PrintStream out, List<HandlerFigures> figures) {
        out.println();
        out.printf(Locale.ROOT, "Handler level: JobHandler.run, one slot, %d ms jobs (overhead = wall - %d ms)%n",
                WarmHandlerBench.JOB_MS, WarmHandlerBench.JOB_MS);
        out.printf(Locale.ROOT, "%-12s %5s %9s %9s %9s %10s %10s %10s %9s %6s%n", "kind", "jobs", "mean ms", "p50 ms",
                "p99 ms", "ovh mean", "ovh p50", "ovh p99", "setup ms", "procs");
        for (HandlerFigures f : figures) {
            Samples overhead = f.overhead();
            out.printf(Locale.ROOT, "%-12s %5d %9.2f %9.2f %9.2f %10.2f %10.2f %10.2f %9s %6s%n", f.kind().id,
                    f.wall().count(), f.wall().mean(), f.wall().percentile(50), f.wall().percentile(99), overhead.mean(),
                    overhead.percentile(50), overhead.percentile(99),
                    f.setupMs() == null ? "-" : String.format(Locale.ROOT, "%.0f", f.setupMs()), processes(f));
        }
        for (String line : handlerRatios(figures)) {
            out.println("  " + line);
        }
        out.flush();
    }

    static void printPipeline(PrintStream out, List<PipelineFigures> figures) {
        out.println();
        out.printf(Locale.ROOT, "End to end: local stack, 1 worker x 1 slot, a backlog of %d ms jobs through the API%n",
                WarmHandlerBench.JOB_MS);
        out.printf(Locale.ROOT, "%-12s %5s %7s %12s %12s %8s %14s %14s %6s%n", "kind", "jobs", "rounds", "ms per job",
                "overhead ms", "jobs/s", "start->1st ms", "start->all/job", "procs");
        for (PipelineFigures f : figures) {
            out.printf(Locale.ROOT, "%-12s %5d %7d %12.1f %12.1f %8.1f %14.0f %14.1f %6d%n", f.kind().id, f.jobs(),
                    f.rounds(), f.steadyMsPerJob(), f.overheadMs(), f.jobsPerSecond(), f.startToFirstMs(),
                    f.startToLastMsPerJob(), f.processes());
        }
        pipelineRatio(figures).ifPresent(ratio -> out.printf(Locale.ROOT,
                "  per job, command / warm: %.1fx (jobs/s warm / command)%n", ratio));
        out.flush();
    }

    static void printFirstJob(PrintStream out, List<FirstJobFigures> figures, long setupMs) {
        out.println();
        out.printf(Locale.ROOT, "Start to first job: a handler with %d ms of setup, from its creation%n", setupMs);
        out.printf(Locale.ROOT, "%-12s %5s %14s %14s %6s%n", "kind", "runs", "1st job ms",
                WarmHandlerBench.FIRST_JOBS + " jobs ms", "procs");
        for (FirstJobFigures f : figures) {
            out.printf(Locale.ROOT, "%-12s %5d %14.0f %14.0f %6d%n", f.kind().id, f.runs(), f.firstMs(), f.tenthMs(),
                    f.processes());
        }
        find(figures, Kind.COMMAND_JVM).ifPresent(command -> find(figures, Kind.WARM_JVM).ifPresent(warm ->
                out.printf(Locale.ROOT, "  command / warm: first job %.2fx, %d jobs %.1fx%n",
                        command.firstMs() / warm.firstMs(), WarmHandlerBench.FIRST_JOBS,
                        command.tenthMs() / warm.tenthMs())));
        out.flush();
    }

    /**
     * The fixed-format last line: {@code bench warm-handlers: warm_overhead_ms=... ten_jobs_ratio=...};
     * a figure whose part did not run reads {@code n/a}.
     */
    static String summaryLine(Figures figures) {
        Optional<HandlerFigures> warm = find(figures.handler(), Kind.WARM_JVM);
        Optional<HandlerFigures> command = find(figures.handler(), Kind.COMMAND_JVM);
        Optional<PipelineFigures> e2eWarm = find(figures.pipeline(), Kind.WARM_JVM);
        Optional<PipelineFigures> e2eCommand = find(figures.pipeline(), Kind.COMMAND_JVM);
        Optional<FirstJobFigures> firstWarm = find(figures.firstJob(), Kind.WARM_JVM);
        Optional<FirstJobFigures> firstCommand = find(figures.firstJob(), Kind.COMMAND_JVM);
        return "bench warm-handlers:"
                + " warm_overhead_ms=" + format(warm.map(f -> f.overhead().mean()), "%.2f")
                + " command_overhead_ms=" + format(command.map(f -> f.overhead().mean()), "%.1f")
                + " ratio=" + format(overheadRatio(figures.handler(), Kind.COMMAND_JVM), "%.0f")
                + " e2e_warm_jobs_per_s=" + format(e2eWarm.map(PipelineFigures::jobsPerSecond), "%.1f")
                + " e2e_command_jobs_per_s=" + format(e2eCommand.map(PipelineFigures::jobsPerSecond), "%.1f")
                + " first_job_warm_ms=" + format(firstWarm.map(FirstJobFigures::firstMs), "%.0f")
                + " first_job_command_ms=" + format(firstCommand.map(FirstJobFigures::firstMs), "%.0f")
                + " ten_jobs_ratio=" + format(firstCommand.flatMap(c -> firstWarm.map(w -> c.tenthMs() / w.tenthMs())),
                "%.1f");
    }

    // ---- JSON ------------------------------------------------------------------------------

    static ObjectNode json(Figures figures, Machine machine, WarmHandlerOptions options, double runSeconds,
                           double loadAtEnd) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("benchmark", "warm-handlers");
        root.put("date", machine.date().toString());
        ObjectNode host = root.putObject("machine");
        host.put("nproc", machine.nproc());
        host.put("cpu", machine.cpu());
        host.put("java", machine.java());
        host.put("os", machine.os());
        host.put("loadAverageAtStart", round(machine.loadAverage(), 2));
        host.put("loadAverageAtEnd", round(loadAtEnd, 2));
        ObjectNode settings = root.putObject("options");
        settings.put("jobMs", WarmHandlerBench.JOB_MS);
        settings.put("jobs", options.jobs());
        settings.put("rounds", options.rounds());
        settings.put("warmUpJobs", WarmHandlerBench.WARM_UP_JOBS);
        settings.put("e2eJobs", options.e2eJobs());
        settings.put("setupMs", options.setupMs());
        root.put("runSeconds", round(runSeconds, 1));
        if (!figures.handler().isEmpty()) {
            ObjectNode handler = root.putObject("handlerLevel");
            ArrayNode kinds = handler.putArray("kinds");
            for (HandlerFigures f : figures.handler()) {
                ObjectNode kind = kinds.addObject();
                kind.put("kind", f.kind().id);
                kind.put("what", f.kind().label);
                kind.put("jobs", f.wall().count());
                kind.set("wallMs", stats(f.wall()));
                kind.set("overheadMs", stats(f.overhead()));
                if (f.setupMs() != null) {
                    kind.put("setupMs", round(f.setupMs(), 0));
                }
                if (f.processes() > 0) {
                    kind.put("processes", f.processes());
                }
            }
            ObjectNode ratios = handler.putObject("overheadRatioToWarmJvm");
            for (Kind kind : List.of(Kind.COMMAND_JVM, Kind.COMMAND_SH, Kind.WARM_PYTHON)) {
                overheadRatio(figures.handler(), kind).ifPresent(ratio -> ratios.put(kind.id, round(ratio, 1)));
            }
            ArrayNode notes = handler.putArray("notes");
            figures.notes().forEach(notes::add);
        }
        if (!figures.pipeline().isEmpty()) {
            ObjectNode e2e = root.putObject("endToEnd");
            ArrayNode kinds = e2e.putArray("kinds");
            for (PipelineFigures f : figures.pipeline()) {
                ObjectNode kind = kinds.addObject();
                kind.put("kind", f.kind().id);
                kind.put("jobs", f.jobs());
                kind.put("rounds", f.rounds());
                kind.put("msPerJob", round(f.steadyMsPerJob(), 2));
                kind.put("overheadMs", round(f.overheadMs(), 2));
                kind.put("jobsPerSecond", round(f.jobsPerSecond(), 2));
                kind.put("startToFirstMs", round(f.startToFirstMs(), 0));
                kind.put("startToLastMsPerJob", round(f.startToLastMsPerJob(), 2));
                kind.put("processes", f.processes());
            }
            pipelineRatio(figures.pipeline()).ifPresent(ratio -> e2e.put("commandToWarmPerJob", round(ratio, 2)));
        }
        if (!figures.firstJob().isEmpty()) {
            ObjectNode first = root.putObject("startToFirstJob");
            first.put("setupMs", options.setupMs());
            ArrayNode kinds = first.putArray("kinds");
            for (FirstJobFigures f : figures.firstJob()) {
                ObjectNode kind = kinds.addObject();
                kind.put("kind", f.kind().id);
                kind.put("runs", f.runs());
                kind.put("firstJobMs", round(f.firstMs(), 0));
                kind.put("tenJobsMs", round(f.tenthMs(), 0));
                kind.put("processes", f.processes());
            }
            find(figures.firstJob(), Kind.COMMAND_JVM).ifPresent(c -> find(figures.firstJob(), Kind.WARM_JVM)
                    .ifPresent(w -> {
                        first.put("firstJobRatio", round(c.firstMs() / w.firstMs(), 2));
                        first.put("tenJobsRatio", round(c.tenthMs() / w.tenthMs(), 2));
                    }));
        }
        root.put("summary", summaryLine(figures));
        return root;
    }

    private static ObjectNode stats(Samples samples) {
        ObjectNode node = Json.MAPPER.createObjectNode();
        node.put("mean", round(samples.mean(), 2));
        node.put("p50", round(samples.percentile(50), 2));
        node.put("p99", round(samples.percentile(99), 2));
        node.put("min", round(samples.min(), 2));
        node.put("max", round(samples.max(), 2));
        return node;
    }

    // ---- Markdown --------------------------------------------------------------------------

    static String markdown(Figures figures, Machine machine, WarmHandlerOptions options, double runSeconds,
                           double loadAtEnd) {
        StringBuilder md = new StringBuilder();
        md.append("# Warm handlers against a command per job\n\n");
        md.append(String.format(Locale.ROOT, "`scripts/bench.sh warm-handlers` on %s, in %.0f s: `nproc` %d (%s), %s,"
                + " %s; load average (1 min) %.1f at the start, %.1f at the end (above `nproc`, other work competed"
                + " for the CPUs). Every job sleeps %d ms; its overhead is its wall time less those %d ms.%n%n",
                machine.date(), runSeconds, machine.nproc(), machine.cpu(), machine.java(), machine.os(),
                machine.loadAverage(), loadAtEnd, WarmHandlerBench.JOB_MS, WarmHandlerBench.JOB_MS));
        if (!figures.handler().isEmpty()) {
            md.append("## Per-job overhead at the handler level\n\n");
            md.append(String.format(Locale.ROOT, "`JobHandler.run` called directly on one slot: %d jobs per kind in %d"
                    + " rounds, the kinds in turn (the order reversed every other round), after %d warm-up jobs each."
                    + " A warm handler's setup (start to ready) is apart from its jobs.%n%n", options.jobs(),
                    options.rounds(), WarmHandlerBench.WARM_UP_JOBS));
            md.append("| Kind | Jobs | Wall mean ms | Wall p50 ms | Wall p99 ms | Overhead mean ms | Overhead p50 ms"
                    + " | Overhead p99 ms | Setup ms | Processes |\n");
            md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
            for (HandlerFigures f : figures.handler()) {
                Samples overhead = f.overhead();
                md.append(String.format(Locale.ROOT, "| %s: %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %s |%n",
                        f.kind().id, f.kind().label, f.wall().count(), f.wall().mean(), f.wall().percentile(50),
                        f.wall().percentile(99), overhead.mean(), overhead.percentile(50), overhead.percentile(99),
                        f.setupMs() == null ? "-" : String.format(Locale.ROOT, "%.0f", f.setupMs()), processes(f)));
            }
            md.append('\n');
            md.append("- Processes: how many distinct process ids answered (a warm handler: one; `-`: the program"
                    + " does not say).\n");
            for (String line : handlerRatios(figures.handler())) {
                md.append("- ").append(line).append('\n');
            }
            figures.notes().forEach(note -> md.append("- ").append(note).append('\n'));
            md.append("- Bounded by, command-jvm: ").append(BOUND_COMMAND_JVM).append(".\n");
            md.append("- Bounded by, command-sh: ").append(BOUND_COMMAND_SH).append(".\n");
            md.append("- Bounded by, warm: ").append(BOUND_WARM).append(".\n\n");
        }
        if (!figures.pipeline().isEmpty()) {
            md.append("## End to end through the pipeline\n\n");
            md.append(String.format(Locale.ROOT, "The local stack (embedded SQS and DynamoDB, the API over HTTP), one"
                    + " worker with one slot. A backlog of %d jobs is queued through the API, then the worker is"
                    + " started; after an uncounted warm-up round, rounds warm, command, command, warm. Per job: from the"
                    + " first job's finish to the"
                    + " last's, over the jobs between (the worker's start apart).%n%n",
                    Math.max(2, options.e2eJobs() / 2)));
            md.append("| Kind | Jobs | ms per job | Overhead ms | Jobs/s | Worker start to first job ms"
                    + " | Worker start to last job, ms per job | Processes |\n");
            md.append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
            for (PipelineFigures f : figures.pipeline()) {
                md.append(String.format(Locale.ROOT, "| %s | %d | %.1f | %.1f | %.1f | %.0f | %.1f | %d |%n",
                        f.kind().id, f.jobs(), f.steadyMsPerJob(), f.overheadMs(), f.jobsPerSecond(),
                        f.startToFirstMs(), f.startToLastMsPerJob(), f.processes()));
            }
            md.append('\n');
            pipelineRatio(figures.pipeline()).ifPresent(ratio -> md.append(String.format(Locale.ROOT,
                    "- Per job, command / warm: **%.1fx**.%n", ratio)));
            md.append("- Bounded by: ").append(BOUND_E2E).append(".\n\n");
        }
        if (!figures.firstJob().isEmpty()) {
            md.append("## Start to first job\n\n");
            md.append(String.format(Locale.ROOT, "A handler whose setup (the model load, `FERRY_SAMPLE_SETUP_MS`)"
                    + " takes %d ms, from its creation (as the worker creates it) to the first and the %dth job"
                    + " done, on one slot. Runs warm, command, warm (the mean of the warm ones), after an uncounted"
                    + " one-job run of each.%n%n", options.setupMs(), WarmHandlerBench.FIRST_JOBS));
            md.append("| Kind | Runs | First job ms | " + WarmHandlerBench.FIRST_JOBS + " jobs ms | Processes |\n");
            md.append("|---|---:|---:|---:|---:|\n");
            for (FirstJobFigures f : figures.firstJob()) {
                md.append(String.format(Locale.ROOT, "| %s | %d | %.0f | %.0f | %d |%n", f.kind().id, f.runs(),
                        f.firstMs(), f.tenthMs(), f.processes()));
            }
            md.append('\n');
            find(figures.firstJob(), Kind.COMMAND_JVM).ifPresent(c -> find(figures.firstJob(), Kind.WARM_JVM)
                    .ifPresent(w -> md.append(String.format(Locale.ROOT, "- Command / warm: first job %.2fx,"
                            + " %d jobs **%.1fx**.%n", c.firstMs() / w.firstMs(), WarmHandlerBench.FIRST_JOBS,
                            c.tenthMs() / w.tenthMs()))));
            md.append("- Bounded by: ").append(BOUND_FIRST_JOB).append(".\n\n");
        }
        md.append("Summary: `").append(summaryLine(figures)).append("`\n");
        return md.toString();
    }

    // ---- shared ----------------------------------------------------------------------------

    private static List<String> handlerRatios(List<HandlerFigures> figures) {
        List<String> lines = new ArrayList<>();
        for (Kind kind : List.of(Kind.COMMAND_JVM, Kind.COMMAND_SH, Kind.WARM_PYTHON)) {
            overheadRatio(figures, kind).ifPresent(ratio -> lines.add(String.format(Locale.ROOT,
                    "Overhead, %s / warm-jvm: %.1fx (mean), %.1fx (p50).", kind.id, ratio,
                    p50Ratio(figures, kind).orElse(Double.NaN))));
        }
        return lines;
    }

    /** {@code kind}'s mean overhead over warm-jvm's; empty when either is missing or warm-jvm's is not positive. */
    static Optional<Double> overheadRatio(List<HandlerFigures> figures, Kind kind) {
        return find(figures, kind).flatMap(k -> find(figures, Kind.WARM_JVM)
                .filter(w -> w.overhead().mean() > 0)
                .map(w -> k.overhead().mean() / w.overhead().mean()));
    }

    private static Optional<Double> p50Ratio(List<HandlerFigures> figures, Kind kind) {
        return find(figures, kind).flatMap(k -> find(figures, Kind.WARM_JVM)
                .filter(w -> w.overhead().percentile(50) > 0)
                .map(w -> k.overhead().percentile(50) / w.overhead().percentile(50)));
    }

    private static Optional<Double> pipelineRatio(List<PipelineFigures> figures) {
        return find(figures, Kind.COMMAND_JVM).flatMap(c -> find(figures, Kind.WARM_JVM)
                .map(w -> c.steadyMsPerJob() / w.steadyMsPerJob()));
    }

    private static String processes(HandlerFigures f) {
        return f.processes() == 0 ? "-" : Integer.toString(f.processes());
    }

    private static <T extends WarmHandlerBench.PerKind> Optional<T> find(List<T> figures, Kind kind) {
        return figures.stream().filter(f -> f.kind() == kind).findFirst();
    }

    private static String format(Optional<Double> value, String format) {
        return value.filter(v -> !v.isNaN() && !v.isInfinite())
                .map(v -> String.format(Locale.ROOT, format, v)).orElse("n/a");
    }

    private static double round(double value, int places) {
        double scale = Math.pow(10, places);
        return Math.round(value * scale) / scale;
    }
}
