package dev.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** A command that can wait for a job to finish, show how it went, and fetch its files. */
abstract class FollowingCommand extends ApiCommand {

    FollowingCommand(CliContext context) {
        super(context);
    }

    /**
     * Follows the job to its end with a progress view, prints it (or its raw answer), downloads
     * its files into {@code download} if given; 0 if it SUCCEEDED, 1 if not.
     */
    final int follow(String jobId, String task, FerryApi.Answer initial, Duration timeout, Path download) {
        JobWaiter waiter = new JobWaiter(api(), context.clock(), context.sleeper());
        FerryApi.Answer last;
        Thread onInterrupt = new Thread(() -> {
            context.err().println();
            context.err().println("ferry: stopped waiting; job " + jobId + " goes on (ferry wait " + jobId
                    + ", ferry cancel " + jobId + ")");
            context.err().flush();
        });
        addHook(onInterrupt);
        try (JobProgress view = JobProgress.create(context, json(), task)) {
            last = waiter.follow(jobId, initial, timeout, view, json() ? JobWaiter.WAIT_SLICE : JobWaiter.WAIT_SLICE_LIVE);
        } finally {
            removeHook(onInterrupt);
        }
        JsonNode job = last.body();
        if (json()) {
            printJson(last);
        } else {
            out().print(JobText.describe(job, colour()));
            out().flush();
        }
        if (download != null) {
            printSaved(Downloads.save(api(), job, download));
        }
        return "SUCCEEDED".equals(job.path("status").asText()) ? ExitCodes.SUCCESS : ExitCodes.JOB_NOT_SUCCEEDED;
    }

    /** The files written: a list for a person, notes on standard error beside {@code --json}. */
    final void printSaved(List<Downloads.Saved> saved) {
        if (saved.isEmpty()) {
            note("nothing to download: the job lists no files");
            return;
        }
        for (Downloads.Saved file : saved) {
            String line = "saved " + file.path() + "  (" + JobText.bytes(file.size()) + ")";
            if (json()) {
                note(line);
            } else {
                out().println(line);
            }
        }
        out().flush();
    }

    private static void addHook(Thread hook) {
        try {
            Runtime.getRuntime().addShutdownHook(hook);
        } catch (IllegalStateException e) {
            // already shutting down
        }
    }

    private static void removeHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // already shutting down: the hook runs, and says so
        }
    }
}
