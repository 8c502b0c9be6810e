package dev.ferry.cli;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * Follows a job to SUCCEEDED, FAILED or CANCELLED. Each read asks the server to hold its answer
 * ({@code Prefer: wait=<n>}); a server that does says so ({@code Preference-Applied}) and is asked
 * again at once, one that does not is read again a second later. Either way no longer than the
 * timeout. A few failed reads in a row (the API briefly unavailable) are waited out; the job does
 * not stop because its client lost the connection.
 */
final class JobWaiter {

    /** Between reads when the server does not hold them. */
    static final Duration POLL = Duration.ofSeconds(1);
    /** Seconds a held read may take while a bar is drawn: its progress stays live. */
    static final int WAIT_SLICE_LIVE = 2;
    /** Seconds a held read may take otherwise: under API Gateway's 29-second integration limit. */
    static final int WAIT_SLICE = 20;
    /** Failed reads in a row after which waiting gives up (exit 4). */
    static final int FAILURES_TOLERATED = 5;

    private final FerryApi api;
    private final Clock clock;
    private final CliContext.Sleeper sleeper;

    JobWaiter(FerryApi api, Clock clock, CliContext.Sleeper sleeper) {
        this.api = api;
        this.clock = clock;
        this.sleeper = sleeper;
    }

    /**
     * Reads the job until it is finished; the last answer.
     *
     * @param initial an answer that already shows the job (a submit's), or null
     * @param timeout how long to wait at most; null for as long as it takes
     * @param slice how many seconds one held read may take
     * @throws CliException exit 5 when the time is up (the job goes on), the API's failure otherwise
     */
    FerryApi.Answer follow(String jobId, FerryApi.Answer initial, Duration timeout, JobProgress view, int slice) {
        Instant deadline = timeout == null ? null : clock.instant().plus(timeout);
        FerryApi.Answer last = initial;
        if (last != null) {
            view.update(last.body());
        }
        int failures = 0;
        while (last == null || !JobText.finished(last.body())) {
            Duration remaining = deadline == null ? null : Duration.between(clock.instant(), deadline);
            if (remaining != null && (remaining.isNegative() || remaining.isZero())) {
                throw timedOut(jobId, last, timeout);
            }
            int wait = remaining == null ? slice : (int) Math.max(1, Math.min(slice, remaining.toSeconds()));
            FerryApi.Answer answer;
            try {
                answer = api.job(jobId, wait);
                failures = 0;
            } catch (CliException e) {
                if (e.exitCode() != ExitCodes.UNAVAILABLE || ++failures >= FAILURES_TOLERATED) {
                    throw e;
                }
                view.event("reading the job failed (" + e.getMessage() + "); trying again");
                pause(Duration.ofSeconds(failures), remaining);
                continue;
            }
            view.update(answer.body());
            last = answer;
            if (!JobText.finished(answer.body()) && !answer.waitApplied()) {
                pause(POLL, remaining);
            }
        }
        view.finish(last.body());
        return last;
    }

    private void pause(Duration duration, Duration remaining) {
        Duration sleep = remaining == null || duration.compareTo(remaining) < 0 ? duration : remaining;
        if (sleep.isNegative() || sleep.isZero()) {
            return;
        }
        try {
            sleeper.sleep(sleep);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw CliException.unavailable("interrupted while waiting");
        }
    }

    private static CliException timedOut(String jobId, FerryApi.Answer last, Duration timeout) {
        String status = last == null ? "not finished" : "still " + last.body().path("status").asText();
        return new CliException(ExitCodes.TIMED_OUT, "job " + jobId + " is " + status + " after "
                + Durations.format(timeout), "it goes on: ferry wait " + jobId + " (or ferry cancel " + jobId + ")");
    }
}
