package dev.ferry.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.bench.PipelineBench.BusyRun;
import dev.ferry.bench.PipelineBench.Consumer;
import dev.ferry.bench.PipelineBench.Figures;
import dev.ferry.bench.PipelineBench.SubmitFigures;
import dev.ferry.bench.PipelineBench.ThroughputFigures;
import dev.ferry.core.Json;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * What {@link PipelineBench} found, as people and programs read it: the Markdown tables (printed and
 * written), the JSON, and the summary line. The chart is {@link BusyChart}'s.
 */
final class PipelineReport {

    private final Figures figures;
    private final Machine machine;
    private final PipelineOptions options;
    private final double seconds;
    private final double loadAtEnd;

    PipelineReport(Figures figures, Machine machine, PipelineOptions options, double seconds, double loadAtEnd) {
        this.figures = figures;
        this.machine = machine;
        this.options = options;
        this.seconds = seconds;
        this.loadAtEnd = loadAtEnd;
    }

    // ---- derived figures -------------------------------------------------------------------------

    /** The consumers that ran, in the benchmark's order. */
    List<Consumer> consumers() {
        Set<Consumer> seen = new LinkedHashSet<>();
        for (Consumer consumer : Consumer.values()) {
            if (figures.busy().stream().anyMatch(run -> run.consumer() == consumer)) {
                seen.add(consumer);
            }
        }
        return List.copyOf(seen);
    }

    Optional<BusyRun> run(Consumer consumer, long lengthMs) {
        return figures.busy().stream().filter(run -> run.consumer() == consumer && run.lengthMs() == lengthMs)
                .findFirst();
    }

    double busy(Consumer consumer, long lengthMs) {
        return run(consumer, lengthMs).map(BusyRun::busy).orElse(Double.NaN);
    }

    /** A consumer's requests over all its runs, submit and consumer together, per operation. */
    Map<String, RequestCounter.Count> requests(Consumer consumer, boolean submit, boolean consumed) {
        Map<String, RequestCounter.Count> total = new LinkedHashMap<>();
        for (BusyRun run : figures.busy()) {
            if (run.consumer() == consumer) {
                if (submit) {
                    total = RequestCounter.sum(total, run.submitRequests());
                }
                if (consumed) {
                    total = RequestCounter.sum(total, run.consumerRequests());
                }
            }
        }
        return total;
    }

    long jobs(Consumer consumer) {
        return figures.busy().stream().filter(run -> run.consumer() == consumer).mapToLong(BusyRun::jobs).sum();
    }

    double requestsPerJob(Consumer consumer) {
        long jobs = jobs(consumer);
        return jobs == 0 ? Double.NaN : (double) RequestCounter.calls(requests(consumer, true, true)) / jobs;
    }

    double dollarsPerMillionJobs(Consumer consumer) {
        long jobs = jobs(consumer);
        return jobs == 0 ? Double.NaN : Prices.dollarsPerMillionJobs(requests(consumer, true, true), jobs);
    }

    /** Issue 13's targets, each met or missed by how much. */
    List<String> targets() {
        List<String> lines = new ArrayList<>();
        lines.add(target("Ferry's worker, in-process handler, 20 ms jobs", busy(Consumer.FERRY, 20), 0.99));
        lines.add(target("Ferry's worker, warm handler of its own protocol, 20 ms jobs", busy(Consumer.FERRY_WARM, 20),
                0.97));
        List<String> behind = new ArrayList<>();
        for (long length : options.lengths()) {
            double ferry = busy(Consumer.FERRY, length);
            double best = Math.max(busy(Consumer.NAIVE, length), busy(Consumer.SPRING, length));
            if (!(ferry > best)) {
                behind.add(String.format(Locale.ROOT, "%d ms (%.3f against %.3f)", length, ferry, best));
            }
        }
        lines.add(behind.isEmpty() ? "Ferry's worker is ahead of both peers at every length: met."
                : "Ferry's worker ahead of both peers at every length: missed at " + String.join(", ", behind) + ".");
        double ferry = requestsPerJob(Consumer.FERRY);
        double fewestPeer = Math.min(requestsPerJob(Consumer.NAIVE), requestsPerJob(Consumer.SPRING));
        lines.add(String.format(Locale.ROOT, "The fewest requests per job of the three: %s (Ferry %.2f, the fewer of"
                + " the peers %.2f).", ferry < fewestPeer ? "met" : "missed by " + String.format(Locale.ROOT, "%.2f",
                ferry - fewestPeer), ferry, fewestPeer));
        return lines;
    }

    private static String target(String what, double measured, double goal) {
        if (Double.isNaN(measured)) {
            return what + ": not measured (see the notes).";
        }
        return String.format(Locale.ROOT, "%s busy >= %.2f: %.3f, %s.", what, goal, measured,
                measured >= goal ? "met" : String.format(Locale.ROOT, "missed by %.3f", goal - measured));
    }

    // ---- summary ---------------------------------------------------------------------------------

    String summaryLine() {
        SubmitFigures submit = figures.submit();
        Optional<BusyRun> ferry20 = run(Consumer.FERRY, 20);
        return new SummaryLine()
                .add("busy20", busy(Consumer.FERRY, 20), 3)
                .add("naive20", busy(Consumer.NAIVE, 20), 3)
                .add("spring20", busy(Consumer.SPRING, 20), 3)
                .add("busy5", busy(Consumer.FERRY, 5), 3)
                .add("busy100", busy(Consumer.FERRY, 100), 3)
                .add("busy1000", busy(Consumer.FERRY, 1000), 3)
                .add("warm20", busy(Consumer.FERRY_WARM, 20), 3)
                .add("gap20_p50_ms", ferry20.map(BusyRun::gapP50Ms).orElse(Double.NaN), 1)
                .add("gap20_p99_ms", ferry20.map(BusyRun::gapP99Ms).orElse(Double.NaN), 1)
                .add("req_per_job", requestsPerJob(Consumer.FERRY), 2)
                .add("naive_req", requestsPerJob(Consumer.NAIVE), 2)
                .add("spring_req", requestsPerJob(Consumer.SPRING), 2)
                .add("usd_per_m_jobs", dollarsPerMillionJobs(Consumer.FERRY), 2)
                .add("submit_overhead", submit.overhead(), 2)
                .add("cold_start_ratio", submit.coldRatio(), 2)
                .add("throughput", figures.throughput().jobsPerSecond(), 1)
                .format("bench");
    }

    // ---- Markdown --------------------------------------------------------------------------------

    String markdown() {
        StringBuilder md = new StringBuilder();
        md.append("# Keeping the GPU busy: Ferry against its peers (issue 13)\n\n");
        md.append(String.format(Locale.ROOT, "`scripts/bench.sh pipeline%s` on %s, in %.0f s: `nproc` %d (%s), %s, %s;"
                        + " load average (1 min) %.1f at the start, %.1f at the end%s. All against the embedded"
                        + " emulators (ElasticMQ, DynamoDB Local) in this JVM, on the same CPUs as the consumers.\n\n",
                options.quick() ? " --quick" : "", machine.date(), seconds, machine.nproc(), machine.cpu(),
                machine.java(), machine.os(), machine.loadAverage(), loadAtEnd,
                machine.loadAverage() > machine.nproc() ? " (above `nproc`: other work competed for the CPUs)" : ""));
        busyMarkdown(md);
        md.append("Against issue 13's targets:\n\n");
        targets().forEach(line -> md.append("- ").append(line).append('\n'));
        md.append('\n');
        requestsMarkdown(md);
        submitMarkdown(md);
        throughputMarkdown(md);
        if (!figures.notes().isEmpty()) {
            md.append("## Notes\n\n");
            figures.notes().forEach(note -> md.append("- ").append(note).append('\n'));
            md.append('\n');
        }
        md.append("Summary: `").append(summaryLine()).append("`\n");
        return md.toString();
    }

    private void busyMarkdown(StringBuilder md) {
        List<Consumer> consumers = consumers();
        md.append("## 1. Busy fraction of one slot\n\n");
        md.append("One slot, a backlog queued first (through Ferry's submit handler), then the consumer started; busy ="
                + " the handler's own time / the wall time from the first job's start to the last one's end. Jobs per"
                + " consumer: ").append(options.jobs()).append(" per length")
                .append(options.lengths().stream().anyMatch(l -> l >= 1000) ? ", " + options.longJobs() + " at 1000 ms"
                        : "")
                .append("; the consumers take turns, the order rotated from one length to the next, after an"
                        + " uncounted warm-up. The warm handler's time is what the Python process says it slept.\n\n");
        md.append("| Job length |");
        consumers.forEach(c -> md.append(' ').append(c.id).append(" |"));
        md.append("\n|---:|");
        consumers.forEach(c -> md.append("---:|"));
        md.append('\n');
        for (long length : options.lengths()) {
            md.append("| ").append(length).append(" ms |");
            for (Consumer consumer : consumers) {
                md.append(' ').append(SummaryLine.value(busy(consumer, length), 3)).append(" |");
            }
            md.append('\n');
        }
        md.append('\n');
        consumers.forEach(c -> md.append("- ").append(c.id).append(": ").append(c.label).append('\n'));
        md.append("\nThe gap between one job's end and the next one's start on the slot, ms (p50 / p99):\n\n");
        md.append("| Job length |");
        consumers.forEach(c -> md.append(' ').append(c.id).append(" |"));
        md.append("\n|---:|");
        consumers.forEach(c -> md.append("---:|"));
        md.append('\n');
        for (long length : options.lengths()) {
            md.append("| ").append(length).append(" ms |");
            for (Consumer consumer : consumers) {
                md.append(' ').append(run(consumer, length).map(r -> String.format(Locale.ROOT, "%.1f / %.1f",
                        r.gapP50Ms(), r.gapP99Ms())).orElse("-")).append(" |");
            }
            md.append('\n');
        }
        md.append("\n![busy fraction against job length](").append(options.name()).append(".png)\n\n");
        md.append("Bounded by: the gap, which is every step the consumer takes on the slot's path between two jobs"
                + " (for the naive loop: finish, delete, receive, claim, in series); each is a round trip to"
                + " ElasticMQ or DynamoDB Local on this machine, and on AWS a network round trip of 3-20 ms.\n\n");
    }

    private void requestsMarkdown(StringBuilder md) {
        List<Consumer> consumers = consumers();
        md.append("## 2. AWS requests per job, submit to delete\n\n");
        md.append("Counted by an SDK execution interceptor (`CountingInterceptor`, a global one, so Ferry's own clients"
                + " are counted as they are) on the job queue, its high-priority lane, its dead-letter queue and the job table, over the runs"
                + " of part 1 (all lengths). Every consumer's jobs were submitted through the same handler (Ferry's"
                + " `SubmitJobHandler`), so the submit rows are alike by construction. Requests made once per run (a"
                + " worker reading the queue's settings, the last empty long polls) are spread over its jobs.\n\n");
        Set<String> operations = new TreeSet<>();
        for (Consumer consumer : consumers) {
            operations.addAll(requests(consumer, true, true).keySet());
        }
        md.append("| Requests per job |");
        consumers.forEach(c -> md.append(' ').append(c.id).append(" |"));
        md.append("\n|---|");
        consumers.forEach(c -> md.append("---:|"));
        md.append('\n');
        for (String part : List.of("submit", "consumer")) {
            for (String operation : operations) {
                StringBuilder row = new StringBuilder("| " + part + ": " + operation + " |");
                boolean any = false;
                for (Consumer consumer : consumers) {
                    RequestCounter.Count count = requests(consumer, part.equals("submit"), part.equals("consumer"))
                            .get(operation);
                    any |= count != null;
                    row.append(' ').append(count == null ? "-" : String.format(Locale.ROOT, "%.2f",
                            (double) count.calls() / jobs(consumer))).append(" |");
                }
                if (any) {
                    md.append(row).append('\n');
                }
            }
        }
        md.append("| **all** |");
        consumers.forEach(c -> md.append(String.format(Locale.ROOT, " **%.2f** |", requestsPerJob(c))));
        md.append("\n| DynamoDB capacity units per job (write / read) |");
        for (Consumer consumer : consumers) {
            double write = 0;
            double read = 0;
            for (Map.Entry<String, RequestCounter.Count> entry : requests(consumer, true, true).entrySet()) {
                if (entry.getKey().startsWith("DynamoDb.")) {
                    if (Prices.write(entry.getKey())) {
                        write += entry.getValue().units();
                    } else {
                        read += entry.getValue().units();
                    }
                }
            }
            md.append(String.format(Locale.ROOT, " %.2f / %.2f |", write / jobs(consumer), read / jobs(consumer)));
        }
        md.append("\n| **$ per million jobs** |");
        consumers.forEach(c -> md.append(String.format(Locale.ROOT, " **%.2f** |", dollarsPerMillionJobs(c))));
        md.append("\n\n");
        md.append(String.format(Locale.ROOT, "Prices: %s, list prices as of %s: SQS standard $%.2f per million requests"
                        + " (a batch of up to 10 is one request; every message here is far below 64 KB); DynamoDB"
                        + " on-demand $%.3f per million write request units and $%.3f per million read request units,"
                        + " counted from the capacity DynamoDB Local reports per call (`ReturnConsumedCapacity`), which"
                        + " includes the writes to the table's global secondary indexes, as DynamoDB bills them; free"
                        + " tiers left out.\n\n", Prices.REGION, Prices.DATE, Prices.SQS_PER_MILLION_REQUESTS,
                Prices.DYNAMODB_PER_MILLION_WRITE_UNITS, Prices.DYNAMODB_PER_MILLION_READ_UNITS));
    }

    private void submitMarkdown(StringBuilder md) {
        SubmitFigures s = figures.submit();
        md.append("## 3. The submit path\n\n");
        md.append(String.format(Locale.ROOT, "In-process, warm: Ferry's `SubmitJobHandler` against `MinimalSubmitHandler`"
                + " (the same event; a conditional PutItem and a SendMessage, nothing else), %d calls each, alternating,"
                + " after 30 uncounted each.\n\n", s.rounds()));
        md.append("| Handler | p50 ms | p99 ms | mean ms | requests per submit |\n|---|---:|---:|---:|---|\n");
        md.append(String.format(Locale.ROOT, "| Ferry's SubmitJobHandler | %.2f | %.2f | %.2f | %s |%n",
                s.ferryMs().percentile(50), s.ferryMs().percentile(99), s.ferryMs().mean(),
                perCall(s.ferryRequests(), s.rounds())));
        md.append(String.format(Locale.ROOT, "| raw PutItem + SendMessage | %.2f | %.2f | %.2f | %s |%n",
                s.minimalMs().percentile(50), s.minimalMs().percentile(99), s.minimalMs().mean(),
                perCall(s.minimalRequests(), s.rounds())));
        md.append(String.format(Locale.ROOT, "%nOverhead (ratio of the medians): **%.2fx**.%n%n", s.overhead()));
        if (s.coldRuns() > 0) {
            md.append(String.format(Locale.ROOT, "Cold start: a fresh JVM (`-XX:TieredStopAtLevel=1 -XX:+UseSerialGC`, as"
                    + " Lambda's Java runtime tunes it) on the functions jar, loading the handler class, making it and"
                    + " serving one `POST /jobs` event against the emulators; %d runs of each, alternating.%n%n",
                    s.coldRuns()));
            md.append("| Handler | process wall p50 ms | init + first event p50 ms |\n|---|---:|---:|\n");
            md.append(String.format(Locale.ROOT, "| Ferry's SubmitJobHandler | %.0f | %.0f |%n",
                    s.ferryColdMs().percentile(50), s.ferryColdInProcessMs().percentile(50)));
            md.append(String.format(Locale.ROOT, "| MinimalSubmitHandler | %.0f | %.0f |%n",
                    s.minimalColdMs().percentile(50), s.minimalColdInProcessMs().percentile(50)));
            md.append(String.format(Locale.ROOT, "%nCold start, Ferry / minimal (process wall, medians): **%.2fx**;"
                    + " init + first event: %.2fx.%n%n", s.coldRatio(),
                    s.ferryColdInProcessMs().percentile(50) / s.minimalColdInProcessMs().percentile(50)));
        }
        if (!s.jarBytes().isEmpty()) {
            md.append("| Deployable jar | MiB |\n|---|---:|\n");
            s.jarBytes().forEach((jar, bytes) -> md.append(String.format(Locale.ROOT, "| `%s` | %.1f |%n", jar,
                    bytes / 1048576.0)));
            md.append('\n');
        }
        md.append("Bounded by: warm, the handler's extra write per submit (PENDING, then marked QUEUED once its message"
                + " is sent) and its validation; cold, class loading and initialisation of the SDK clients, Jackson and"
                + " the handler's services (both JVMs load from the same jar).\n\n");
    }

    private static String perCall(Map<String, RequestCounter.Count> counts, int calls) {
        List<String> parts = new ArrayList<>();
        counts.forEach((operation, count) -> parts.add(String.format(Locale.ROOT, "%s %.2f", operation,
                (double) count.calls() / calls)));
        return parts.isEmpty() ? "-" : String.join(", ", parts);
    }

    private void throughputMarkdown(StringBuilder md) {
        ThroughputFigures t = figures.throughput();
        md.append("## 4. Throughput end to end\n\n");
        md.append(String.format(Locale.ROOT, "%d jobs POSTed to the local API (HTTP, %d clients at once), %d workers x %d"
                        + " slots running 0 ms jobs in-process, from the first POST until every job ran and its message"
                        + " was deleted.%n%n", t.jobs(), PipelineBench.THROUGHPUT_CLIENTS,
                PipelineBench.THROUGHPUT_WORKERS, PipelineBench.THROUGHPUT_SLOTS));
        md.append("| Jobs/s end to end | POSTs/s (API alone) | POST p50 ms | POST p99 ms | requests per job |"
                + " CPU s per 1000 jobs | CPU used (of all CPUs) |\n|---:|---:|---:|---:|---:|---:|---:|\n");
        md.append(String.format(Locale.ROOT, "| **%.1f** | %.1f | %.1f | %.1f | %.2f | %.1f | %.0f %% |%n%n",
                t.jobsPerSecond(), t.postsPerSecond(), t.postMs().percentile(50), t.postMs().percentile(99),
                (double) RequestCounter.calls(t.requests()) / t.jobs(), t.cpuSeconds() / t.jobs() * 1000,
                t.cpuShare() * 100));
        md.append("Bounded by: ").append(throughputBound(t)).append("\n\n");
    }

    /** What bounds the throughput, from its figures. */
    static String throughputBound(ThroughputFigures t) {
        String cpu = String.format(Locale.ROOT, "this JVM (API, submit handler, emulators, workers, clients together)"
                + " used %.0f %% of the machine's %d CPUs (%.1f CPU s per 1000 jobs)", t.cpuShare() * 100, t.cpus(),
                t.cpuSeconds() / t.jobs() * 1000);
        double apiCeiling = PipelineBench.THROUGHPUT_CLIENTS * 1000.0 / t.postMs().mean();
        String api = String.format(Locale.ROOT, "%d clients at a mean POST of %.1f ms can submit at most %.0f jobs/s",
                PipelineBench.THROUGHPUT_CLIENTS, t.postMs().mean(), apiCeiling);
        if (t.loadAverage() > t.cpus()) {
            return String.format(Locale.ROOT, "CPU: the machine was oversubscribed (load average %.1f on %d CPUs), and"
                    + " %s, the rest going to other work; %s, and a POST is slow because every request is served"
                    + " on the same starved CPUs that make it.", t.loadAverage(), t.cpus(), cpu, api);
        }
        if (t.cpuShare() > 0.8) {
            return "CPU: " + cpu + "; " + api + ". Every request is served on the same CPUs that make it.";
        }
        return api + "; " + cpu + ", so the API's latency per POST, not CPU, is the limit.";
    }

    // ---- JSON ------------------------------------------------------------------------------------

    ObjectNode json() {
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("benchmark", "pipeline");
        root.put("quick", options.quick());
        root.put("date", machine.date().toString());
        root.put("seconds", Math.round(seconds));
        ObjectNode host = root.putObject("machine");
        host.put("nproc", machine.nproc());
        host.put("cpu", machine.cpu());
        host.put("java", machine.java());
        host.put("os", machine.os());
        host.put("loadAverageStart", machine.loadAverage());
        host.put("loadAverageEnd", loadAtEnd);
        ArrayNode busy = root.putArray("busy");
        for (BusyRun run : figures.busy()) {
            ObjectNode node = busy.addObject();
            node.put("consumer", run.consumer().id);
            node.put("lengthMs", run.lengthMs());
            node.put("jobs", run.jobs());
            node.put("busy", run.busy());
            node.put("gapP50Ms", run.gapP50Ms());
            node.put("gapP99Ms", run.gapP99Ms());
            node.put("gapMeanMs", run.gapMeanMs());
            node.put("wallMs", run.wallMs());
            counts(node.putObject("submitRequests"), run.submitRequests());
            counts(node.putObject("consumerRequests"), run.consumerRequests());
        }
        ObjectNode perJob = root.putObject("requestsPerJob");
        for (Consumer consumer : consumers()) {
            ObjectNode node = perJob.putObject(consumer.id);
            node.put("jobs", jobs(consumer));
            node.put("requests", requestsPerJob(consumer));
            node.put("dollarsPerMillionJobs", dollarsPerMillionJobs(consumer));
        }
        ObjectNode prices = root.putObject("prices");
        prices.put("region", Prices.REGION);
        prices.put("date", Prices.DATE);
        prices.put("sqsPerMillionRequests", Prices.SQS_PER_MILLION_REQUESTS);
        prices.put("dynamoDbPerMillionWriteUnits", Prices.DYNAMODB_PER_MILLION_WRITE_UNITS);
        prices.put("dynamoDbPerMillionReadUnits", Prices.DYNAMODB_PER_MILLION_READ_UNITS);
        SubmitFigures s = figures.submit();
        ObjectNode submit = root.putObject("submit");
        submit.put("rounds", s.rounds());
        submit.put("ferryP50Ms", s.ferryMs().percentile(50));
        submit.put("rawP50Ms", s.minimalMs().percentile(50));
        submit.put("overhead", s.overhead());
        counts(submit.putObject("ferryRequests"), s.ferryRequests());
        counts(submit.putObject("rawRequests"), s.minimalRequests());
        submit.put("coldRuns", s.coldRuns());
        if (s.coldRuns() > 0) {
            submit.put("ferryColdP50Ms", s.ferryColdMs().percentile(50));
            submit.put("minimalColdP50Ms", s.minimalColdMs().percentile(50));
            submit.put("ferryColdInProcessP50Ms", s.ferryColdInProcessMs().percentile(50));
            submit.put("minimalColdInProcessP50Ms", s.minimalColdInProcessMs().percentile(50));
            submit.put("coldStartRatio", s.coldRatio());
        }
        ObjectNode jars = submit.putObject("jarBytes");
        s.jarBytes().forEach(jars::put);
        ThroughputFigures t = figures.throughput();
        ObjectNode throughput = root.putObject("throughput");
        throughput.put("jobs", t.jobs());
        throughput.put("seconds", t.seconds());
        throughput.put("jobsPerSecond", t.jobsPerSecond());
        throughput.put("postsPerSecond", t.postsPerSecond());
        throughput.put("postP50Ms", t.postMs().percentile(50));
        throughput.put("postP99Ms", t.postMs().percentile(99));
        throughput.put("cpuSeconds", t.cpuSeconds());
        throughput.put("cpuShare", t.cpuShare());
        throughput.put("loadAverage", t.loadAverage());
        throughput.put("requestsPerJob", (double) RequestCounter.calls(t.requests()) / t.jobs());
        throughput.put("bound", throughputBound(t));
        ArrayNode notes = root.putArray("notes");
        figures.notes().forEach(notes::add);
        root.put("summary", summaryLine());
        return root;
    }

    private static void counts(ObjectNode node, Map<String, RequestCounter.Count> counts) {
        counts.forEach((operation, count) -> {
            ObjectNode entry = node.putObject(operation);
            entry.put("calls", count.calls());
            entry.put("units", count.units());
        });
    }
}
