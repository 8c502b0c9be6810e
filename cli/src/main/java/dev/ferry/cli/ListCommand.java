package dev.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ferry list}: {@code GET /jobs?status=&type=&limit=&cursor=}, following {@code nextCursor} with {@code --all}. */
@Command(name = "list", mixinStandardHelpOptions = true, sortOptions = false,
        description = "List jobs, newest first: one page, or every page with --all.")
final class ListCommand extends ApiCommand {

    /** A job's status, as {@code --status} takes it (any case). */
    enum Status { PENDING, QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED }

    @Option(names = "--status", paramLabel = "STATUS", description = "Only jobs in this status: ${COMPLETION-CANDIDATES}.")
    Status status;

    @Option(names = "--type", paramLabel = "TYPE", description = "Only jobs of this type.")
    String type;

    @Option(names = "--limit", paramLabel = "N", description = "Jobs per page (the API's default when not given).")
    Integer limit;

    @Option(names = "--cursor", paramLabel = "CURSOR", description = "Start where an earlier page ended (its"
            + " nextCursor).")
    String cursor;

    @Option(names = "--all", description = "Follow nextCursor to the last page.")
    boolean all;

    ListCommand(CliContext context) {
        super(context);
    }

    @Override
    public Integer call() {
        if (limit != null && limit < 1) {
            throw CliException.usage("--limit must be at least 1, but is " + limit);
        }
        List<List<String>> rows = new ArrayList<>();
        Set<String> cursors = new HashSet<>();
        String next = cursor;
        do {
            Map<String, String> query = new LinkedHashMap<>();
            if (status != null) {
                query.put("status", status.name());
            }
            if (type != null) {
                query.put("type", type);
            }
            if (limit != null) {
                query.put("limit", String.valueOf(limit));
            }
            if (next != null) {
                query.put("cursor", next);
            }
            FerryApi.Answer page = api().list(query);
            if (json()) {
                printJson(page);
            }
            for (JsonNode job : page.body().path("jobs")) {
                rows.add(row(job));
            }
            JsonNode nextCursor = page.body().path("nextCursor");
            next = nextCursor.isTextual() && !nextCursor.asText().isEmpty() ? nextCursor.asText() : null;
            if (next != null && !cursors.add(next)) {
                throw CliException.unavailable("the API gave the same nextCursor twice (" + next + "): stopped");
            }
        } while (all && next != null);

        if (!json()) {
            if (rows.isEmpty()) {
                note("no jobs" + (status != null || type != null ? " match" : ""));
            } else {
                out().print(JobText.table(List.of("JOB ID", "TYPE", "STATUS", "ATTEMPTS", "CREATED"), rows));
                out().flush();
            }
            if (next != null) {
                note("more: ferry list" + (status != null ? " --status " + status : "") + (type != null ? " --type "
                        + type : "") + (limit != null ? " --limit " + limit : "") + " --cursor " + next
                        + "   (or --all)");
            }
        }
        return ExitCodes.SUCCESS;
    }

    private List<String> row(JsonNode job) {
        return List.of(job.path("jobId").asText(), job.path("type").asText(),
                JobText.status(job.path("status").asText(), colour()), job.path("attempts").asText(""),
                job.path("createdAt").asText(""));
    }
}
