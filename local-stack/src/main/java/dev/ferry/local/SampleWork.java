package dev.ferry.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import javax.imageio.ImageIO;

/**
 * What the {@code sample} job does, whether a process runs it per job ({@link SampleJob}) or a
 * warm handler runs many ({@link SampleHandler}): read the input, optionally note the run in a
 * ledger, work for a while, fail on purpose for the first attempts, draw an image.
 *
 * <p>Input (a JSON object, every field optional): {@code sleepMs} (how long to work),
 * {@code failTimes} (fail the first this many attempts), {@code output} (any JSON, echoed back),
 * {@code image} ({@code {"width": w, "height": h}}, at most 4096 each: a PNG file,
 * {@code image.png}, drawn without any model).
 */
final class SampleWork {

    static final ObjectMapper JSON = new ObjectMapper();
    /** How long the sample job "loads its model" before it works, in milliseconds (default none). */
    static final String SETUP_MS = "FERRY_SAMPLE_SETUP_MS";
    static final int MAX_IMAGE_SIDE = 4096;
    private static final Set<String> FIELDS = Set.of("sleepMs", "failTimes", "output", "image");

    private SampleWork() {
    }

    /** The input, checked: a bad one is a {@link BadInputException} naming the field. */
    record Input(long sleepMs, long failTimes, JsonNode output, Image image) {

        static Input parse(JsonNode root) throws BadInputException {
            if (root == null || root.isMissingNode() || root.isNull()) {
                return new Input(0, 0, NullNode.getInstance(), null);
            }
            if (!root.isObject()) {
                throw new BadInputException("input must be a JSON object, but is " + root.getNodeType().toString()
                        .toLowerCase(Locale.ROOT) + " " + root);
            }
            for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (!FIELDS.contains(name)) {
                    throw new BadInputException("unknown field \"" + name + "\"; the sample job reads sleepMs,"
                            + " failTimes, output and image");
                }
            }
            return new Input(count(root, "sleepMs"), count(root, "failTimes"),
                    root.has("output") ? root.get("output") : NullNode.getInstance(), Image.parse(root.get("image")));
        }

        private static long count(JsonNode root, String field) throws BadInputException {
            JsonNode value = root.get(field);
            if (value == null) {
                return 0;
            }
            if (!value.isIntegralNumber() || !value.canConvertToLong() || value.asLong() < 0) {
                throw new BadInputException("field \"" + field + "\" must be a whole number from 0, but is " + value);
            }
            return value.asLong();
        }
    }

    /** An image to draw. */
    record Image(int width, int height) {

        static Image parse(JsonNode node) throws BadInputException {
            if (node == null || node.isNull()) {
                return null;
            }
            if (!node.isObject()) {
                throw new BadInputException("field \"image\" must be {\"width\": w, \"height\": h}, but is " + node);
            }
            for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (!name.equals("width") && !name.equals("height")) {
                    throw new BadInputException("unknown field \"image." + name + "\"; an image has width and height");
                }
            }
            return new Image(side(node, "width"), side(node, "height"));
        }

        private static int side(JsonNode image, String field) throws BadInputException {
            JsonNode value = image.get(field);
            if (value == null || !value.isIntegralNumber() || value.asLong() < 1 || value.asLong() > MAX_IMAGE_SIDE) {
                throw new BadInputException("field \"image." + field + "\" must be a whole number from 1 to "
                        + MAX_IMAGE_SIDE + ", but is " + value);
            }
            return value.asInt();
        }

        /**
         * Draws a picture that depends only on the size and the seed (a job id): colour bands and
         * rings, so a viewer sees at once that it is an image and which job made it.
         */
        void writePng(Path file, String seed) throws IOException {
            BufferedImage picture = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
            int hash = seed.hashCode();
            double cx = width * (0.3 + ((hash & 0xff) / 255.0) * 0.4);
            double cy = height * (0.3 + (((hash >> 8) & 0xff) / 255.0) * 0.4);
            double rings = 6 + ((hash >> 16) & 7);
            double scale = Math.max(width, height);
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    double d = Math.hypot(x - cx, y - cy) / scale;
                    double wave = 0.5 + 0.5 * Math.sin(d * rings * 2 * Math.PI);
                    int r = (int) (255 * ((double) x / width) * wave);
                    int g = (int) (255 * ((double) y / height) * (1 - wave * 0.5));
                    int b = (int) (255 * wave);
                    picture.setRGB(x, y, (r << 16) | (g << 8) | b);
                }
            }
            Files.createDirectories(file.getParent());
            if (!ImageIO.write(picture, "png", file.toFile())) {
                throw new IOException("this Java has no PNG writer");
            }
        }
    }

    /**
     * The setup time {@value #SETUP_MS} asks for: 0 when unset or blank.
     *
     * @throws BadInputException it is not a whole number of milliseconds from 0; the message names it
     */
    static long setupMs(Map<String, String> env) throws BadInputException {
        String raw = env.get(SETUP_MS);
        if (raw == null || raw.isBlank()) {
            return 0;
        }
        try {
            long ms = Long.parseLong(raw.trim());
            if (ms >= 0) {
                return ms;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new BadInputException(SETUP_MS + " must be a whole number of milliseconds from 0, but is '" + raw + "'");
    }

    /** Appends one line under an exclusive lock, so runs in parallel processes never interleave. */
    static void appendLine(Path file, String line) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND)) {
            FileLock lock = channel.lock();
            try {
                ByteBuffer bytes = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
                while (bytes.hasRemaining()) {
                    channel.write(bytes);
                }
                channel.force(false);
            } finally {
                lock.release();
            }
        }
    }

    /** Input or environment the sample job cannot work with; not worth another attempt. */
    static final class BadInputException extends Exception {
        private static final long serialVersionUID = 1L;

        BadInputException(String message) {
            super(message);
        }
    }
}
