package dev.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code ferry download JOB_ID DIR}: a job's files, and its result when stored apart, into DIR. */
@Command(name = "download", mixinStandardHelpOptions = true,
        description = {"Save a job's files, and its result when it is stored apart (too large for the record) as"
                + " result.json, into DIR.",
                "A job lists files once it has SUCCEEDED; before that there is nothing to save (exit 3)."})
final class DownloadCommand extends FollowingCommand {

    @Parameters(index = "0", paramLabel = "JOB_ID")
    String jobId;

    @Parameters(index = "1", paramLabel = "DIR")
    Path dir;

    DownloadCommand(CliContext context) {
        super(context);
    }

    @Override
    public Integer call() {
        JsonNode job = api().job(jobId).body();
        String status = job.path("status").asText();
        if (!job.path("files").isArray() && !job.path("resultUrl").isTextual()) {
            throw CliException.refused("job " + jobId + " is " + status + " and lists no files"
                    + (JobText.finished(job) ? "" : " yet: ferry wait " + jobId + " --download " + dir));
        }
        List<Downloads.Saved> saved = Downloads.save(api(), job, dir);
        if (json()) {
            var answer = CliJson.MAPPER.createObjectNode().put("jobId", jobId);
            var list = answer.putArray("saved");
            for (Downloads.Saved file : saved) {
                list.addObject().put("name", file.name()).put("path", file.path().toString()).put("size", file.size());
            }
            out().println(CliJson.compact(answer));
        } else {
            printSaved(saved);
        }
        return ExitCodes.SUCCESS;
    }
}
