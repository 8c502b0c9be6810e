package dev.ferry.local;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Json;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * An event source mapping's {@code FilterCriteria}, evaluated as Lambda evaluates it on a record
 * (its JSON as the function would receive it): a record passes if any pattern matches; a pattern
 * matches if each of its fields does, an object field on the record's object of that name, a
 * list field by any of its matchers. The local stack knows the matchers Ferry's template uses:
 * a literal value, {@code {"exists": true|false}} and {@code {"prefix": "..."}}. A pattern with
 * any other is refused when the stack starts, rather than evaluated otherwise than in AWS.
 */
final class EventFilter {

    private final List<JsonNode> patterns;

    private EventFilter(List<JsonNode> patterns) {
        this.patterns = List.copyOf(patterns);
    }

    /**
     * @param patterns the filters' {@code Pattern}s, JSON text
     * @param where which mapping they belong to, for messages
     * @throws TemplateException for a pattern that is not JSON, or uses what the local stack does not evaluate
     */
    static EventFilter of(List<String> patterns, String where) {
        List<JsonNode> parsed = new ArrayList<>();
        for (String text : patterns) {
            JsonNode pattern;
            try {
                pattern = Json.parse(text);
            } catch (IllegalArgumentException e) {
                throw new TemplateException(where + ": a filter pattern is not JSON: " + e.getMessage());
            }
            if (!pattern.isObject()) {
                throw new TemplateException(where + ": a filter pattern must be a JSON object, but is " + text);
            }
            check(pattern, where);
            parsed.add(pattern);
        }
        return new EventFilter(parsed);
    }

    private static void check(JsonNode pattern, String where) {
        for (Iterator<Map.Entry<String, JsonNode>> fields = pattern.fields(); fields.hasNext(); ) {
            Map.Entry<String, JsonNode> field = fields.next();
            JsonNode value = field.getValue();
            if (value.isObject()) {
                check(value, where);
            } else if (value.isArray()) {
                for (JsonNode matcher : value) {
                    boolean known = matcher.isValueNode()
                            || matcher.isObject() && matcher.size() == 1 && (matcher.path("exists").isBoolean()
                            || matcher.path("prefix").isTextual());
                    if (!known) {
                        throw new TemplateException(where + ": the filter matcher " + matcher + " (of \"" + field.getKey()
                                + "\") is not one the local stack evaluates (a value, exists, prefix); teach EventFilter it");
                    }
                }
            } else {
                throw new TemplateException(where + ": the filter field \"" + field.getKey() + "\" must be an object or"
                        + " a list of matchers, but is " + value);
            }
        }
    }

    /** Whether the record, as its function would receive it, passes. */
    boolean matches(JsonNode record) {
        if (patterns.isEmpty()) {
            return true;
        }
        for (JsonNode pattern : patterns) {
            if (matches(pattern, record)) {
                return true;
            }
        }
        return false;
    }

    private static boolean matches(JsonNode pattern, JsonNode node) {
        for (Iterator<Map.Entry<String, JsonNode>> fields = pattern.fields(); fields.hasNext(); ) {
            Map.Entry<String, JsonNode> field = fields.next();
            JsonNode value = node == null || !node.isObject() ? null : node.get(field.getKey());
            boolean ok = field.getValue().isObject()
                    ? value != null && value.isObject() && matches(field.getValue(), value)
                    : anyMatcher(field.getValue(), value);
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    private static boolean anyMatcher(JsonNode matchers, JsonNode value) {
        for (JsonNode matcher : matchers) {
            if (matcher.isObject() && matcher.has("exists")) {
                if (matcher.get("exists").asBoolean() == (value != null)) {
                    return true;
                }
            } else if (value != null && value.isArray()) {
                for (JsonNode element : value) {
                    if (single(matcher, element)) {
                        return true;
                    }
                }
            } else if (value != null && single(matcher, value)) {
                return true;
            }
        }
        return false;
    }

    private static boolean single(JsonNode matcher, JsonNode value) {
        if (matcher.isObject()) {
            return value.isTextual() && value.asText().startsWith(matcher.get("prefix").asText());
        }
        if (matcher.isNumber() && value.isNumber()) {
            return matcher.decimalValue().compareTo(value.decimalValue()) == 0;
        }
        return matcher.equals(value);
    }
}
