package dev.ferry.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URLConnection;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Files carried inside JSON as {@code data:} URLs (RFC 2397), the way Cog returns file outputs
 * ({@code "data:image/png;base64,iVBOR..."}) and accepts file inputs.
 *
 * <p>{@link #writeFiles} turns every data URL in a result into a file of the job's output
 * directory and puts the file's name in its place. A file is named after where it sits in the
 * result, its extension from its media type: the result itself is {@code output.png}, a field
 * {@code "image"} is {@code image.png}, the items of a list {@code "frames"} are
 * {@code frames-0.png}, {@code frames-1.png}; a name already taken gets {@code -2}, {@code -3}.
 */
final class DataUrls {

    /** Media types and the extensions their files get; anything else by its subtype, else {@code .bin}. */
    private static final Map<String, String> EXTENSIONS = Map.ofEntries(
            Map.entry("image/png", "png"), Map.entry("image/jpeg", "jpg"), Map.entry("image/jpg", "jpg"),
            Map.entry("image/gif", "gif"), Map.entry("image/webp", "webp"), Map.entry("image/svg+xml", "svg"),
            Map.entry("image/bmp", "bmp"), Map.entry("image/tiff", "tiff"), Map.entry("image/avif", "avif"),
            Map.entry("text/plain", "txt"), Map.entry("text/csv", "csv"), Map.entry("text/html", "html"),
            Map.entry("text/markdown", "md"), Map.entry("application/json", "json"),
            Map.entry("application/pdf", "pdf"), Map.entry("application/zip", "zip"),
            Map.entry("application/gzip", "gz"), Map.entry("application/x-tar", "tar"),
            Map.entry("application/octet-stream", "bin"), Map.entry("audio/wav", "wav"),
            Map.entry("audio/x-wav", "wav"), Map.entry("audio/wave", "wav"), Map.entry("audio/mpeg", "mp3"),
            Map.entry("audio/ogg", "ogg"), Map.entry("audio/flac", "flac"), Map.entry("video/mp4", "mp4"),
            Map.entry("video/webm", "webm"), Map.entry("video/quicktime", "mov"),
            Map.entry("model/gltf-binary", "glb"), Map.entry("model/obj", "obj"));
    private static final Pattern WHITESPACE = Pattern.compile("\\s+");
    private static final Pattern SHORT_WORD = Pattern.compile("[a-z0-9]{1,8}");
    private static final Pattern NOT_NAME_CHAR = Pattern.compile("[^A-Za-z0-9._-]+");
    private static final int MAX_NAME_CHARS = 100;

    /** A decoded data URL. */
    record Decoded(String mediaType, byte[] bytes) {
    }

    private DataUrls() {
    }

    /**
     * @return the file {@code text} carries, or null when it is not a data URL (or a malformed one:
     *     then it stays text)
     */
    static Decoded decode(String text) {
        if (!text.regionMatches(true, 0, "data:", 0, 5)) {
            return null;
        }
        int comma = text.indexOf(',');
        if (comma < 0) {
            return null;
        }
        String header = text.substring(5, comma);
        String[] parts = header.split(";");
        boolean base64 = parts.length > 1 && parts[parts.length - 1].equalsIgnoreCase("base64");
        String mediaType = parts[0].isBlank() ? "text/plain" : parts[0].strip().toLowerCase(Locale.ROOT);
        String data = text.substring(comma + 1);
        try {
            return new Decoded(mediaType, base64 ? Base64.getDecoder().decode(WHITESPACE.matcher(data).replaceAll(""))
                    : percentDecoded(data));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** A data URL for {@code bytes}, base64. */
    static String encode(String mediaType, byte[] bytes) {
        return "data:" + mediaType + ";base64," + Base64.getEncoder().encodeToString(bytes);
    }

    /** The media type a file's name suggests; {@code application/octet-stream} when none does. */
    static String mediaType(Path file) {
        String guessed = URLConnection.guessContentTypeFromName(file.getFileName().toString());
        if (guessed == null) {
            String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
            String extension = name.substring(name.lastIndexOf('.') + 1);
            guessed = EXTENSIONS.entrySet().stream().filter(e -> e.getValue().equals(extension)).map(Map.Entry::getKey)
                    .findFirst().orElse("application/octet-stream");
        }
        return guessed;
    }

    /** The extension (without its dot) a file of {@code mediaType} gets. */
    static String extension(String mediaType) {
        String type = mediaType.toLowerCase(Locale.ROOT).split(";")[0].strip();
        String known = EXTENSIONS.get(type);
        if (known != null) {
            return known;
        }
        String subtype = type.substring(type.indexOf('/') + 1);
        return SHORT_WORD.matcher(subtype).matches() ? subtype : "bin";
    }

    /**
     * Writes every data URL in {@code result} as a file into {@code outputDir} and returns the
     * result with each one replaced by its file's name (relative to {@code outputDir}).
     *
     * @param outputDir the job's output directory; null leaves the result as it is
     * @throws IOException a file could not be written
     */
    static JsonNode writeFiles(JsonNode result, Path outputDir) throws IOException {
        if (outputDir == null) {
            return result;
        }
        Set<String> taken = new HashSet<>();
        try (java.util.stream.Stream<Path> existing = Files.isDirectory(outputDir) ? Files.list(outputDir)
                : java.util.stream.Stream.empty()) {
            existing.forEach(file -> taken.add(file.getFileName().toString()));
        }
        return replace(result, "output", outputDir, taken);
    }

    private static JsonNode replace(JsonNode node, String name, Path outputDir, Set<String> taken) throws IOException {
        if (node.isTextual()) {
            Decoded file = decode(node.textValue());
            if (file == null) {
                return node;
            }
            String fileName = unique(name, extension(file.mediaType()), taken);
            Files.createDirectories(outputDir);
            Files.write(outputDir.resolve(fileName), file.bytes());
            return TextNode.valueOf(fileName);
        }
        if (node.isArray()) {
            ArrayNode copy = ((ArrayNode) node).arrayNode();
            for (int i = 0; i < node.size(); i++) {
                copy.add(replace(node.get(i), name + "-" + i, outputDir, taken));
            }
            return copy;
        }
        if (node.isObject()) {
            ObjectNode copy = ((ObjectNode) node).objectNode();
            for (Map.Entry<String, JsonNode> field : node.properties()) {
                String fieldName = NOT_NAME_CHAR.matcher(field.getKey()).replaceAll("_");
                copy.set(field.getKey(), replace(field.getValue(), name.equals("output") && !fieldName.isEmpty()
                        ? fieldName : name + "-" + fieldName, outputDir, taken));
            }
            return copy;
        }
        return node;
    }

    private static String unique(String name, String extension, Set<String> taken) {
        String base = name.length() > MAX_NAME_CHARS ? name.substring(0, MAX_NAME_CHARS) : name;
        if (base.startsWith(".")) {
            base = "_" + base.substring(1);
        }
        String candidate = base + "." + extension;
        for (int n = 2; !taken.add(candidate); n++) {
            candidate = base + "-" + n + "." + extension;
        }
        return candidate;
    }

    /** RFC 3986 percent-decoding to bytes ({@code +} stays {@code +}). */
    private static byte[] percentDecoded(String data) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(data.length());
        byte[] raw = data.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < raw.length; i++) {
            if (raw[i] == '%') {
                if (i + 2 >= raw.length) {
                    throw new IllegalArgumentException("a % without two hex digits");
                }
                bytes.write(Integer.parseInt(new String(raw, i + 1, 2, StandardCharsets.US_ASCII), 16));
                i += 2;
            } else {
                bytes.write(raw[i]);
            }
        }
        return bytes.toByteArray();
    }
}
