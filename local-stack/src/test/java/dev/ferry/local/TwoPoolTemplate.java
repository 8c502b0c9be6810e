package dev.ferry.local;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code infra/template.yaml} deploying its two declared GPU pools: {@code Gpu}, serving
 * {@code sample} and {@code gpu.#} (instead of its default, every type) and retrying an attempt
 * that failed with "CUDA out of memory" on {@code Large}, and {@code Large}, serving the types the
 * template gives it ({@code sdxl}, {@code flux}); beside them, as shipped, the Lambda pool
 * {@code Light} ({@code echo}). Made from the real template at test
 * time, by changing only its Mappings, so that it follows every change to the template.
 */
final class TwoPoolTemplate {

    static final String GPU = "Gpu";
    static final String LARGE = "Large";
    /** The template's Lambda pool, deployed beside them as shipped. */
    static final String LIGHT = "Light";

    private TwoPoolTemplate() {
    }

    /** Writes it into {@code dir}; returns its path. */
    static Path write(Path dir) {
        try {
            String template = Files.readString(SamTemplate.find(Path.of("")));
            String twoPools = replaceOnce(replaceOnce(template, "      Gpu: [Gpu]\n", "      Gpu: [Gpu, Large]\n"),
                    "      JobTypes: \"#\"\n", "      JobTypes: \"sample, gpu.#\"\n");
            // The first pool's rule (Gpu's entry comes first in FerryPools).
            twoPools = replaceFirst(replaceFirst(twoPools, "      RetryElsewhereWhen: \"\"\n",
                    "      RetryElsewhereWhen: \"CUDA out of memory\"\n"), "      RetryElsewhereTo: \"\"\n",
                    "      RetryElsewhereTo: Large\n");
            Path path = dir.resolve("two-pool-template.yaml");
            Files.writeString(path, twoPools);
            return path;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String replaceFirst(String text, String from, String to) {
        int at = text.indexOf(from);
        if (at < 0) {
            throw new IllegalStateException("the template no longer has '" + from.strip() + "' (Mappings FerryPools)");
        }
        return text.substring(0, at) + to + text.substring(at + from.length());
    }

    private static String replaceOnce(String text, String from, String to) {
        int at = text.indexOf(from);
        if (at < 0 || text.indexOf(from, at + 1) >= 0) {
            throw new IllegalStateException("the template no longer has exactly one '" + from.strip()
                    + "' (Mappings Pools and FerryPools): TwoPoolTemplate needs a new way to make its two pools");
        }
        return text.substring(0, at) + to + text.substring(at + from.length());
    }
}
