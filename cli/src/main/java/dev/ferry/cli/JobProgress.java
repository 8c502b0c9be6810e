package dev.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.List;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarConsumer;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * How a job being waited for is shown on standard error: on a terminal a live bar (the job's
 * {@code progress} fraction and message; indeterminate until the job reports one) with each
 * attempt and status change printed as a line above it; elsewhere the same lines and a line per
 * tenth of progress; with {@code --json} nothing.
 */
abstract class JobProgress implements AutoCloseable {

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss");
    /** The bar's scale: a fraction in thousandths. */
    static final int SCALE = 1000;

    private final CliContext context;
    private JsonNode last;

    JobProgress(CliContext context) {
        this.context = context;
    }

    /** The view for this run: a bar on a terminal, lines elsewhere, nothing for {@code --json}. */
    static JobProgress create(CliContext context, boolean json, String task) {
        if (json) {
            return new Silent(context);
        }
        return context.interactive() ? new Bar(context, task) : new Lines(context);
    }

    /** A read of the job: lines for what changed, then its progress. */
    final void update(JsonNode job) {
        List<String> lines = JobEvents.changes(last, job);
        for (String line : lines) {
            event(LocalTime.now(context.clock()).truncatedTo(ChronoUnit.SECONDS).format(TIME) + "  " + line);
        }
        progress(job);
        last = job;
    }

    /** A line of its own, above the bar if there is one. */
    abstract void event(String line);

    abstract void progress(JsonNode job);

    /** The job is finished: the bar shows how, and stops. */
    abstract void finish(JsonNode job);

    @Override
    public abstract void close();

    /** {@code --json}: nothing. */
    static final class Silent extends JobProgress {
        Silent(CliContext context) {
            super(context);
        }

        @Override
        void event(String line) {
        }

        @Override
        void progress(JsonNode job) {
        }

        @Override
        void finish(JsonNode job) {
        }

        @Override
        public void close() {
        }
    }

    /** Not a terminal: plain lines, progress by tenths. */
    static final class Lines extends JobProgress {
        private final PrintWriter err;
        private int tenth = -1;

        Lines(CliContext context) {
            super(context);
            this.err = context.err();
        }

        @Override
        void event(String line) {
            err.println(line);
            err.flush();
        }

        @Override
        void progress(JsonNode job) {
            JsonNode progress = job.path("progress");
            if (!progress.isObject() || !"RUNNING".equals(job.path("status").asText())) {
                return;
            }
            int now = (int) Math.floor(progress.path("fraction").asDouble() * 10);
            if (now != tenth) {
                tenth = now;
                err.println("          progress " + JobText.progress(progress));
                err.flush();
            }
        }

        @Override
        void finish(JsonNode job) {
        }

        @Override
        public void close() {
            err.flush();
        }
    }

    /** A terminal: progressbar's bar, redrawn in place, lines printed above it. */
    static final class Bar extends JobProgress {
        private final BarConsumer consumer;
        private final ProgressBar bar;
        private boolean determinate;

        Bar(CliContext context, String task) {
            super(context);
            this.consumer = new BarConsumer(context.err(), context.width());
            this.bar = new ProgressBarBuilder()
                    .setTaskName(task)
                    .setInitialMax(-1)
                    .setStyle(context.colour() ? ProgressBarStyle.COLORFUL_UNICODE_BLOCK : ProgressBarStyle.ASCII)
                    .setUnit("%", SCALE / 100)
                    .hideEta()
                    .continuousUpdate()
                    .setUpdateIntervalMillis(200)
                    .setConsumer(consumer)
                    .build();
        }

        @Override
        void event(String line) {
            consumer.printAbove(line);
        }

        @Override
        void progress(JsonNode job) {
            JsonNode progress = job.path("progress");
            String status = job.path("status").asText();
            if (progress.isObject() && status.equals("RUNNING")) {
                if (!determinate) {
                    bar.maxHint(SCALE);
                    determinate = true;
                }
                bar.stepTo(Math.round(Math.max(0, Math.min(1, progress.path("fraction").asDouble())) * SCALE));
                bar.setExtraMessage(progress.path("message").asText(""));
            } else {
                bar.setExtraMessage(status.equals("RUNNING") ? "RUNNING attempt " + job.path("attempts").asInt()
                        : status);
            }
        }

        @Override
        void finish(JsonNode job) {
            String status = job.path("status").asText();
            if (status.equals("SUCCEEDED")) {
                if (!determinate) {
                    bar.maxHint(SCALE);
                    determinate = true;
                }
                bar.stepTo(SCALE);
            }
            bar.setExtraMessage(status);
        }

        @Override
        public void close() {
            bar.close();
        }
    }

    /**
     * Draws the bar on one line of {@code err} and prints lines above it: the line is rewritten,
     * padded over what the bar left, and the bar drawn again below. progressbar's own thread and
     * the waiting thread both write, so every write holds this object's lock.
     */
    static final class BarConsumer implements ProgressBarConsumer {
        private final PrintWriter err;
        private final int width;
        private final ConsoleProgressBarConsumer terminal;
        private String last = "";

        /** @param width the columns to draw in; 0: the terminal's, as progressbar reads it */
        BarConsumer(PrintWriter err, int width) {
            this.err = err;
            this.width = width;
            this.terminal = width > 0 ? null : new ConsoleProgressBarConsumer(System.err);
        }

        @Override
        public int getMaxRenderedLength() {
            return width > 0 ? width : terminal.getMaxRenderedLength();
        }

        @Override
        public synchronized void accept(String rendered) {
            err.print("\r" + rendered + padding(rendered));
            err.flush();
            last = rendered;
        }

        synchronized void printAbove(String line) {
            err.print("\r" + line + padding(line) + "\n" + last);
            err.flush();
        }

        @Override
        public synchronized void close() {
            err.println();
            err.flush();
        }

        private String padding(String over) {
            return " ".repeat(Math.max(0, last.length() - over.length()));
        }
    }
}
