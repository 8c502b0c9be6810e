package dev.ferry.worker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The directories jobs get for an attempt, removed once the attempt is over. */
final class WorkDirs {

    private static final Logger LOG = LoggerFactory.getLogger(WorkDirs.class);

    private WorkDirs() {
    }

    /** Deletes {@code dir} and everything in it; logs, never throws. */
    static void delete(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.deleteIfExists(path);
                } catch (IOException e) {
                    LOG.debug("could not delete {}: {}", path, e.toString());
                }
            });
        } catch (IOException e) {
            LOG.warn("could not clean up {}: {}", dir, e.toString());
        }
    }
}
