package dev.ferry.local;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * CloudFormation's {@code AWS::LanguageExtensions} transform, as far as the local stack needs it
 * to read a template the way CloudFormation will: {@code Fn::ForEach} loops expanded wherever
 * CloudFormation allows them (the Resources, Conditions and Outputs sections, and inside a
 * resource's properties), before anything else reads the template. {@code Fn::FindInMap} is
 * evaluated with the other intrinsic functions ({@link SamTemplate}).
 *
 * <p>A loop {@code "Fn::ForEach::Name": [Identifier, Collection, {OutputKey: OutputValue}]}
 * replaces, in each copy of its fragment, {@code ${Identifier}} by the item and
 * {@code &{Identifier}} by the item with every character but letters and digits left out, in keys
 * and in string values, and {@code {"Ref": "Identifier"}} by the item. The collection is a list of
 * strings, a {@code Ref} to a {@code CommaDelimitedList} (or String) parameter, split at commas, or a
 * {@code Fn::FindInMap} of literal keys naming a list in the template's Mappings.
 * Loops nest. Two copies making the same key fail, as they do on CloudFormation.
 */
final class LanguageExtensions {

    static final String TRANSFORM = "AWS::LanguageExtensions";
    static final String FOR_EACH = "Fn::ForEach::";
    private static final List<String> SECTIONS = List.of("Conditions", "Resources", "Outputs");

    private LanguageExtensions() {
    }

    /**
     * The template with its loops expanded.
     *
     * @param parameters each parameter's value (a list parameter's items joined by commas)
     * @param error makes the exception for a template element and a message
     * @throws TemplateException a loop is malformed, makes a key twice, or the template uses one
     *     without declaring the transform
     */
    static Map<String, Object> expand(Map<String, Object> root, Map<String, String> parameters,
                                      java.util.function.BiFunction<String, String, TemplateException> error) {
        boolean declared = declares(root.get("Transform"));
        Map<String, Object> expanded = new LinkedHashMap<>(root);
        for (String section : SECTIONS) {
            Object node = root.get(section);
            if (node == null) {
                continue;
            }
            if (!declared) {
                if (usesForEach(node)) {
                    throw error.apply(section, "uses Fn::ForEach, which needs Transform: " + TRANSFORM + " in the"
                            + " template");
                }
                continue;
            }
            expanded.put(section, new Expansion(parameters, root.get("Mappings"), error).node(node, section));
        }
        return expanded;
    }

    private static boolean declares(Object transform) {
        if (transform instanceof List<?> list) {
            return list.contains(TRANSFORM);
        }
        return TRANSFORM.equals(transform);
    }

    private static boolean usesForEach(Object node) {
        if (node instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                if (String.valueOf(entry.getKey()).startsWith(FOR_EACH) || usesForEach(entry.getValue())) {
                    return true;
                }
            }
        } else if (node instanceof List<?> list) {
            return list.stream().anyMatch(LanguageExtensions::usesForEach);
        }
        return false;
    }

    private record Expansion(Map<String, String> parameters, Object mappings,
                             java.util.function.BiFunction<String, String, TemplateException> error) {

        Object node(Object node, String where) {
            if (node instanceof Map<?, ?> map) {
                Map<String, Object> result = new LinkedHashMap<>();
                for (Map.Entry<?, ?> entry : map.entrySet()) {
                    String key = String.valueOf(entry.getKey());
                    if (key.startsWith(FOR_EACH)) {
                        loop(entry.getValue(), where + "." + key).forEach((k, v) -> put(result, k, v, where));
                    } else {
                        put(result, key, node(entry.getValue(), where + "." + key), where);
                    }
                }
                return resolveNames(result);
            }
            if (node instanceof List<?> list) {
                List<Object> result = new ArrayList<>();
                for (int i = 0; i < list.size(); i++) {
                    result.add(node(list.get(i), where + "[" + i + "]"));
                }
                return result;
            }
            return node;
        }

        /**
         * A {@code Ref} or {@code Fn::GetAtt} naming its resource by a {@code Fn::Sub} that has no
         * variable left once the loop's item is in place names it plainly, as the transform leaves
         * it for CloudFormation: {@code !Ref {Fn::Sub: "${Pool}JobQueue"}} is the form cfn-lint
         * reads inside a loop.
         */
        private static Map<String, Object> resolveNames(Map<String, Object> node) {
            if (node.size() != 1) {
                return node;
            }
            if (node.get("Ref") instanceof Map<?, ?> ref && plainSub(ref) != null) {
                return Map.of("Ref", plainSub(ref));
            }
            if (node.get("Fn::GetAtt") instanceof List<?> parts && parts.size() == 2
                    && parts.get(0) instanceof Map<?, ?> name && plainSub(name) != null) {
                return Map.of("Fn::GetAtt", List.of(plainSub(name), parts.get(1)));
            }
            return node;
        }

        private static String plainSub(Map<?, ?> node) {
            return node.size() == 1 && node.get("Fn::Sub") instanceof String text && !text.contains("${")
                    ? text : null;
        }

        private void put(Map<String, Object> into, String key, Object value, String where) {
            if (into.putIfAbsent(key, value) != null) {
                throw error.apply(where, "'" + key + "' is made twice (by a Fn::ForEach loop, or by a loop and a key"
                        + " of its own)");
            }
        }

        /** A loop's copies, each expanded in turn (a loop inside one is expanded with the outer item in place). */
        private Map<String, Object> loop(Object declaration, String where) {
            if (!(declaration instanceof List<?> parts) || parts.size() != 3 || !(parts.get(0) instanceof String id)
                    || id.isBlank() || !(parts.get(2) instanceof Map<?, ?> fragment)) {
                throw error.apply(where, "needs [Identifier, Collection, {OutputKey: OutputValue}], but is "
                        + declaration);
            }
            if (reusesIdentifier(fragment, id)) {
                throw error.apply(where, "a loop inside it uses its identifier '" + id + "' too; give the inner loop"
                        + " an identifier of its own");
            }
            Map<String, Object> copies = new LinkedHashMap<>();
            for (String item : collection(parts.get(1), where)) {
                Function<String, String> replace = text -> text.replace("${" + id + "}", item)
                        .replace("&{" + id + "}", item.replaceAll("[^A-Za-z0-9]", ""));
                // The whole fragment, item in place, expanded as any node: a loop that is a key of the
                // fragment itself (a loop directly inside a loop) is expanded too.
                Object copy = node(substitute(fragment, id, item, replace), where);
                ((Map<?, ?>) copy).forEach((key, value) -> put(copies, String.valueOf(key), value, where));
            }
            return copies;
        }

        /** Whether a loop nested anywhere in {@code node} declares {@code id} as its identifier. */
        private static boolean reusesIdentifier(Object node, String id) {
            if (node instanceof Map<?, ?> map) {
                for (Map.Entry<?, ?> entry : map.entrySet()) {
                    if (String.valueOf(entry.getKey()).startsWith(FOR_EACH) && entry.getValue() instanceof List<?> inner
                            && !inner.isEmpty() && id.equals(inner.get(0))) {
                        return true;
                    }
                    if (reusesIdentifier(entry.getValue(), id)) {
                        return true;
                    }
                }
            } else if (node instanceof List<?> list) {
                return list.stream().anyMatch(item -> reusesIdentifier(item, id));
            }
            return false;
        }

        private List<String> collection(Object node, String where) {
            if (node instanceof List<?> items) {
                List<String> values = new ArrayList<>();
                for (Object item : items) {
                    if (!(item instanceof String || item instanceof Number)) {
                        throw error.apply(where, "the collection's items must be strings, but one is " + item);
                    }
                    values.add(String.valueOf(item));
                }
                return values;
            }
            if (node instanceof Map<?, ?> map && map.size() == 1 && map.get("Ref") instanceof String name) {
                String value = parameters.get(name);
                if (value == null) {
                    throw error.apply(where, "the collection is Ref " + name + ", which is not a parameter");
                }
                return value.isEmpty() ? List.of()
                        : Arrays.stream(value.split(",", -1)).map(String::trim).toList();
            }
            if (node instanceof Map<?, ?> map && map.size() == 1 && map.get("Fn::FindInMap") instanceof List<?> keys
                    && keys.size() == 3 && keys.stream().allMatch(String.class::isInstance)) {
                Object found = mappings;
                for (Object key : keys) {
                    found = found instanceof Map<?, ?> level ? level.get(key) : null;
                }
                if (!(found instanceof List<?>)) {
                    throw error.apply(where, "the collection is Fn::FindInMap " + keys + ", which names no list in the"
                            + " template's Mappings");
                }
                return collection(found, where);
            }
            throw error.apply(where, "the collection must be a list, a Ref to a list parameter or a Fn::FindInMap"
                    + " of a list, but is " + node);
        }

        /** The fragment with the item in place of the identifier: in strings, and as the value of {"Ref": id}. */
        private static Object substitute(Object node, String id, String item, Function<String, String> replace) {
            if (node instanceof String text) {
                return replace.apply(text);
            }
            if (node instanceof Map<?, ?> map) {
                if (map.size() == 1 && id.equals(map.get("Ref"))) {
                    return item;
                }
                Map<String, Object> result = new LinkedHashMap<>();
                map.forEach((k, v) -> {
                    String key = replace.apply(String.valueOf(k));
                    if (result.putIfAbsent(key, substitute(v, id, item, replace)) != null) {
                        throw new TemplateException("Fn::ForEach: '" + key + "' is made twice by one copy of a loop's"
                                + " fragment (item '" + item + "')");
                    }
                });
                return result;
            }
            if (node instanceof List<?> list) {
                List<Object> result = new ArrayList<>();
                list.forEach(v -> result.add(substitute(v, id, item, replace)));
                return result;
            }
            return node;
        }
    }
}
