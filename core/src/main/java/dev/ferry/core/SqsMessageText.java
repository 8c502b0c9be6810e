package dev.ferry.core;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The characters SQS accepts in a message body: {@code #x9 | #xA | #xD | #x20-#xD7FF |
 * #xE000-#xFFFD | #x10000-#x10FFFF}. Valid JSON may hold others: U+FFFE, U+FFFF and lone
 * surrogates written as {@code \\uXXXX} escapes parse into strings that SQS refuses
 * ({@code InvalidMessageContents}), and a lone surrogate cannot be stored as UTF-8 in DynamoDB
 * either. (Control characters below U+0020 are no problem: Ferry writes them as escapes.)
 *
 * <p>Checked at submit, before anything is written: such a job could never be queued, so it is a
 * {@code 400} naming the field, never a {@code 503} that invites a retry.
 */
public final class SqsMessageText {

    private static final Pattern SIMPLE_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    private SqsMessageText() {
    }

    /** A character SQS would refuse, and where it is. */
    public record Refused(String path, int codePoint, int index) {
        /** {@code field "input.prompt" contains U+FFFF at character 12, which ...}. */
        public String message() {
            return "field \"" + path + "\" contains " + name(codePoint) + " at character " + index
                    + ", which SQS does not accept in a message (it takes U+0009, U+000A, U+000D, U+0020-U+D7FF,"
                    + " U+E000-U+FFFD and U+10000-U+10FFFF); remove it, or encode the value (base64, for example)";
        }
    }

    /**
     * The first string or object key under {@code node} (depth first) holding a character SQS
     * refuses; {@code root} names {@code node} in the path ({@code "input"}).
     */
    public static Optional<Refused> firstRefused(JsonNode node, String root) {
        if (node == null) {
            return Optional.empty();
        }
        if (node.isTextual()) {
            return refusedIn(node.textValue(), root, true);
        }
        if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                Optional<Refused> found = firstRefused(node.get(i), root + "[" + i + "]");
                if (found.isPresent()) {
                    return found;
                }
            }
        } else if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> fields = node.fields(); fields.hasNext(); ) {
                Map.Entry<String, JsonNode> field = fields.next();
                String path = child(root, field.getKey());
                Optional<Refused> inKey = refusedIn(field.getKey(), path + " (its name)", true);
                if (inKey.isPresent()) {
                    return inKey;
                }
                Optional<Refused> found = firstRefused(field.getValue(), path);
                if (found.isPresent()) {
                    return found;
                }
            }
        }
        return Optional.empty();
    }

    /** Whether SQS accepts every character of {@code text}, a message body as sent. */
    public static boolean accepted(String text) {
        return refusedIn(text, "", false).isEmpty();
    }

    /**
     * @param escapedControls the text is a JSON string's value, whose characters below U+0020
     *     Ferry writes as escapes, so they never reach SQS raw
     */
    private static Optional<Refused> refusedIn(String text, String path, boolean escapedControls) {
        for (int i = 0; i < text.length(); ) {
            char c = text.charAt(i);
            int codePoint;
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                codePoint = Character.toCodePoint(c, text.charAt(i + 1));
            } else {
                codePoint = c; // a lone surrogate stays a lone surrogate: refused below
            }
            if (!allowed(codePoint) && !(escapedControls && codePoint < 0x20)) {
                return Optional.of(new Refused(path, codePoint, i));
            }
            i += Character.charCount(codePoint);
        }
        return Optional.empty();
    }

    static boolean allowed(int codePoint) {
        return codePoint == 0x9 || codePoint == 0xA || codePoint == 0xD
                || (codePoint >= 0x20 && codePoint <= 0xD7FF)
                || (codePoint >= 0xE000 && codePoint <= 0xFFFD)
                || (codePoint >= 0x10000 && codePoint <= 0x10FFFF);
    }

    private static String child(String parent, String key) {
        if (SIMPLE_NAME.matcher(key).matches()) {
            return parent + "." + key;
        }
        StringBuilder quoted = new StringBuilder(parent).append("[\"");
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c < 0x20 || c > 0x7E || c == '"' || c == '\\') {
                quoted.append(String.format("\\u%04X", (int) c));
            } else {
                quoted.append(c);
            }
        }
        return quoted.append("\"]").toString();
    }

    private static String name(int codePoint) {
        String hex = Integer.toHexString(codePoint).toUpperCase(java.util.Locale.ROOT);
        String code = "U+" + "0".repeat(Math.max(0, 4 - hex.length())) + hex;
        return codePoint >= 0xD800 && codePoint <= 0xDFFF ? code + " (a lone surrogate)" : code;
    }
}
