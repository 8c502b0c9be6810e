package dev.ferry.worker;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Json;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Whether a failed run is worth another attempt, in the spirit of AWS Batch's
 * {@code evaluateOnExit}: a list of rules, each matching the program's exit code and/or the
 * failure's reason (the end of its stderr, or "timed out after ...") by glob, with an action,
 * {@code RETRY} or {@code EXIT}. The first rule that matches decides; after the configured rules
 * comes the built-in one: exit code {@value #NO_RETRY_EXIT_CODE} ({@code EX_DATAERR} of
 * {@code sysexits.h}, "the input data was incorrect") means EXIT. Anything else is retried.
 *
 * <p>Configured per job type as JSON ({@code FERRY_EVALUATE_ON_EXIT_<TYPE>}, then
 * {@code FERRY_EVALUATE_ON_EXIT} for every type):
 * {@code [{"onExitCode": "2", "action": "EXIT"}, {"onReason": "*CUDA out of memory*", "action": "RETRY"}]}.
 */
public final class ExitRules {

    /** Prefix of the per-type variable; the variable alone applies to every type. */
    public static final String VARIABLE = "FERRY_EVALUATE_ON_EXIT";
    /** A program that exits with this code is not retried (bad input): its job FAILS at once. */
    public static final int NO_RETRY_EXIT_CODE = 65;

    private static final Set<String> FIELDS = Set.of("onExitCode", "onReason", "action");
    private static final Pattern EXIT_CODE_GLOB = Pattern.compile("[0-9]*\\*?|\\*");

    /** What a rule says to do. */
    public enum Action { RETRY, EXIT }

    /**
     * @param onExitCode a glob of digits, optionally ending in {@code *}; null matches any (and a
     *     failure without an exit code, such as a timeout)
     * @param onReason a glob ({@code *} for any run of characters) over the failure's reason,
     *     case-insensitive; null matches any
     */
    public record Rule(String onExitCode, String onReason, Action action) {
        public Rule {
            Objects.requireNonNull(action, "action");
        }

        boolean matches(Integer exitCode, String reason) {
            if (onExitCode != null && (exitCode == null || !glob(onExitCode, Integer.toString(exitCode), false))) {
                return false;
            }
            return onReason == null || glob(onReason, reason == null ? "" : reason, true);
        }
    }

    private static final ExitRules NONE = new ExitRules(List.of());

    private final List<Rule> rules;

    public ExitRules(List<Rule> rules) {
        this.rules = List.copyOf(rules);
    }

    public static ExitRules none() {
        return NONE;
    }

    public List<Rule> rules() {
        return rules;
    }

    /** These rules, then {@code fallback}'s. */
    public ExitRules then(ExitRules fallback) {
        List<Rule> all = new ArrayList<>(rules);
        all.addAll(fallback.rules);
        return new ExitRules(all);
    }

    /**
     * @param exitCode the program's exit code; null when it has none (it timed out)
     * @param reason what the failure says (the end of stderr)
     */
    public Action evaluate(Integer exitCode, String reason) {
        for (Rule rule : rules) {
            if (rule.matches(exitCode, reason)) {
                return rule.action();
            }
        }
        return exitCode != null && exitCode == NO_RETRY_EXIT_CODE ? Action.EXIT : Action.RETRY;
    }

    /**
     * Parses the JSON of {@code variable}.
     *
     * @throws IllegalArgumentException the JSON is not a list of rules; the message names the
     *     variable and what is wrong
     */
    public static ExitRules parse(String variable, String json) {
        JsonNode root;
        try {
            root = Json.parse(json);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(variable + " is not JSON (" + e.getMessage() + "); it is a list of"
                    + " rules such as [{\"onExitCode\": \"2\", \"action\": \"EXIT\"}]", e);
        }
        if (!root.isArray()) {
            throw new IllegalArgumentException(variable + " must be a JSON list of rules, such as"
                    + " [{\"onExitCode\": \"2\", \"action\": \"EXIT\"}]");
        }
        List<Rule> rules = new ArrayList<>();
        for (int i = 0; i < root.size(); i++) {
            JsonNode rule = root.get(i);
            String where = variable + "[" + i + "]";
            if (!rule.isObject()) {
                throw new IllegalArgumentException(where + " must be an object with onExitCode, onReason and action");
            }
            for (Iterator<String> names = rule.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (!FIELDS.contains(name)) {
                    throw new IllegalArgumentException(where + " has an unknown field \"" + name
                            + "\"; a rule has onExitCode, onReason and action");
                }
            }
            String exitCode = text(rule, "onExitCode", where);
            if (exitCode != null && !EXIT_CODE_GLOB.matcher(exitCode).matches()) {
                throw new IllegalArgumentException(where + ".onExitCode must be digits, optionally ending in *, but is \""
                        + exitCode + "\"");
            }
            String reason = text(rule, "onReason", where);
            String action = text(rule, "action", where);
            if (action == null) {
                throw new IllegalArgumentException(where + ".action is required: RETRY or EXIT");
            }
            Action parsed;
            try {
                parsed = Action.valueOf(action.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(where + ".action must be RETRY or EXIT, but is \"" + action + "\"", e);
            }
            if (exitCode == null && reason == null) {
                throw new IllegalArgumentException(where + " needs onExitCode or onReason (use \"*\" to match any)");
            }
            rules.add(new Rule(exitCode, reason, parsed));
        }
        return new ExitRules(rules);
    }

    private static String text(JsonNode rule, String field, String where) {
        JsonNode value = rule.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isTextual()) {
            throw new IllegalArgumentException(where + "." + field + " must be a string");
        }
        return value.asText();
    }

    /** {@code *} matches any run of characters; everything else itself. */
    static boolean glob(String pattern, String text, boolean ignoreCase) {
        StringBuilder regex = new StringBuilder(ignoreCase ? "(?is)" : "(?s)");
        String[] parts = pattern.split("\\*", -1);
        for (int i = 0; i < parts.length; i++) {
            regex.append(i == 0 ? "" : ".*").append(Pattern.quote(parts[i]));
        }
        return Pattern.compile(regex.toString()).matcher(text).matches();
    }
}
