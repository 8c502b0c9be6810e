package dev.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code ferry redrive [JOB_ID ...]}: Redrive DLQ, or Retry of the jobs named. */
@Command(name = "redrive", mixinStandardHelpOptions = true,
        description = {"Send failed jobs back to work. Without ids: the whole dead-letter queue (the admin page's"
                + " Redrive DLQ). With ids: just those jobs (its Retry); a job that is not FAILED is skipped,"
                + " saying why (exit 3).", "Needs the admin token (--admin-token or FERRY_ADMIN_TOKEN)."})
final class RedriveCommand extends ApiCommand {

    /** The most ids the admin API takes in one call. */
    static final int IDS_PER_CALL = 100;

    @Parameters(paramLabel = "JOB_ID", arity = "0..*")
    List<String> jobIds = new ArrayList<>();

    RedriveCommand(CliContext context) {
        super(context);
    }

    @Override
    public Integer call() {
        if (jobIds.isEmpty()) {
            FerryApi.Answer answer = api().admin("POST", "redrive", null);
            if (json()) {
                printJson(answer);
            } else {
                out().println("redrive started: " + answer.body().path("requeuedJobs").asInt() + " failed job(s)"
                        + " marked; their messages move from the dead-letter queue back to the job queue");
                note("ferry dlq shows what is left");
            }
            return ExitCodes.SUCCESS;
        }
        List<String> ids = new ArrayList<>(new LinkedHashSet<>(jobIds));
        int skipped = 0;
        for (int from = 0; from < ids.size(); from += IDS_PER_CALL) {
            ObjectNode request = CliJson.MAPPER.createObjectNode();
            ids.subList(from, Math.min(ids.size(), from + IDS_PER_CALL)).forEach(request.putArray("jobIds")::add);
            FerryApi.Answer answer = api().admin("POST", "redrive", CliJson.compact(request));
            JsonNode result = answer.body();
            skipped += result.path("skipped").size();
            if (json()) {
                printJson(answer);
                continue;
            }
            for (JsonNode id : result.path("retried")) {
                out().println("retried " + id.asText());
            }
            for (JsonNode skip : result.path("skipped")) {
                out().println("skipped " + skip.path("jobId").asText() + ": " + skip.path("reason").asText());
            }
        }
        out().flush();
        return skipped == 0 ? ExitCodes.SUCCESS : ExitCodes.REFUSED;
    }
}
