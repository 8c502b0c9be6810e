package dev.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A finished job's files (and its result, when stored apart for being too large for the record)
 * fetched into a directory through their presigned URLs. Each is written to a temporary name and
 * moved into place once its size matches what the job lists; a name that would leave the
 * directory is refused. URLs that have expired are read afresh once.
 */
final class Downloads {

    /** What the result stored apart is saved as (unless a file of the job has that name). */
    static final String RESULT_FILE = "result.json";

    /** A file written: its name in the job, where it is, how large. */
    record Saved(String name, Path path, long size) {
    }

    private Downloads() {
    }

    /**
     * Saves every file {@code job} lists, and its {@code resultUrl}, into {@code dir}.
     *
     * @throws CliException exit 3 for a name that leaves {@code dir}, 4 for a download that fails or cannot be written
     */
    static List<Saved> save(FerryApi api, JsonNode job, Path dir) {
        String jobId = job.path("jobId").asText();
        Path root = dir.toAbsolutePath().normalize();
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw CliException.unavailable("cannot create the directory " + dir + ": " + e);
        }
        List<Saved> saved = new ArrayList<>();
        Set<String> names = new HashSet<>();
        JsonNode current = job;
        for (int i = 0; i < job.path("files").size(); i++) {
            JsonNode file = job.get("files").get(i);
            String name = file.path("name").asText();
            names.add(name);
            Path target = inside(root, name);
            if (!file.path("url").isTextual()) {
                throw CliException.unavailable("file " + name + " of job " + jobId + " has no URL: this deployment"
                        + " has no files bucket");
            }
            URI url = URI.create(file.get("url").asText());
            int status = fetch(api, url, target);
            if (status == 403 && current == job) {
                // Presigned URLs expire (urlsExpireAt): read the job again for fresh ones, once.
                current = api.job(jobId).body();
                url = URI.create(current.path("files").path(i).path("url").asText(url.toString()));
                status = fetch(api, url, target);
            }
            if (status != 200) {
                throw CliException.unavailable("downloading " + name + " of job " + jobId + " answered HTTP " + status);
            }
            long size = size(target);
            if (file.has("size") && file.get("size").asLong() != size) {
                throw CliException.unavailable("downloaded " + size + " bytes of " + name + " but job " + jobId
                        + " lists " + file.get("size").asLong());
            }
            saved.add(new Saved(name, target, size));
        }
        if (job.path("resultUrl").isTextual()) {
            String name = names.contains(RESULT_FILE) ? "result-" + jobId + ".json" : RESULT_FILE;
            Path target = inside(root, name);
            int status = fetch(api, URI.create(job.get("resultUrl").asText()), target);
            if (status == 403) {
                status = fetch(api, URI.create(api.job(jobId).body().path("resultUrl").asText()), target);
            }
            if (status != 200) {
                throw CliException.unavailable("downloading the result of job " + jobId + " answered HTTP " + status);
            }
            saved.add(new Saved("(result)", target, size(target)));
        }
        return saved;
    }

    /** {@code name} under {@code root}, refused if it would lie outside it. */
    static Path inside(Path root, String name) {
        Path target = root.resolve(name).normalize();
        if (name.isEmpty() || Path.of(name).isAbsolute() || !target.startsWith(root) || target.equals(root)) {
            throw CliException.refused("the job lists a file named '" + name + "', which would not be inside " + root
                    + ": not downloaded");
        }
        return target;
    }

    /** Fetches into a temporary file beside {@code target}, moved into place on 200; the status. */
    private static int fetch(FerryApi api, URI url, Path target) {
        Path part = target.resolveSibling("." + target.getFileName() + ".part");
        try {
            Files.createDirectories(target.getParent());
            int status = api.download(url, part);
            if (status == 200) {
                try {
                    Files.move(part, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(part, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
            return status;
        } catch (IOException e) {
            throw CliException.unavailable("cannot write " + target + ": " + e);
        } finally {
            try {
                Files.deleteIfExists(part);
            } catch (IOException e) {
                // a leftover .part file is harmless
            }
        }
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw CliException.unavailable("cannot read " + file + ": " + e);
        }
    }
}
