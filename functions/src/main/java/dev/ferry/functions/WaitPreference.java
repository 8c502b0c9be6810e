package dev.ferry.functions;

import dev.ferry.core.FerryEnv;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code Prefer: wait=<seconds>} (RFC 7240, as Replicate uses it): answer when the job is final or
 * after that many seconds, whichever comes first. The answer says what was applied with
 * {@code Preference-Applied: wait=<n>}.
 *
 * <ul>
 *   <li>A wait longer than the deployment allows ({@value #MAX_WAIT}: 25 s behind API Gateway,
 *       whose integration times out at 29 s; 60 locally) is applied as that much, and the answer
 *       says so.</li>
 *   <li>A {@code wait} that is not a whole number of seconds from 1 is ignored, as RFC 7240 asks of
 *       a preference a server cannot apply: the answer comes at once, without
 *       {@code Preference-Applied}. With {@code handling=strict} in the same header (RFC 7240's
 *       way to ask for strict errors) it is a {@code 400} naming the header instead.</li>
 *   <li>Other preferences are ignored. Only the first {@code wait} counts (RFC 7240, section 2);
 *       several {@code Prefer} headers count as one list.</li>
 * </ul>
 */
final class WaitPreference {

    /** The longest wait this deployment applies, in seconds. */
    static final String MAX_WAIT = "FERRY_MAX_WAIT";
    /** Behind API Gateway: its integration timeout (29 s) less the reads around the wait. */
    static final int DEFAULT_MAX_WAIT_SECONDS = 25;
    /** Replicate's ceiling, and Ferry's: longer waits belong to webhooks or polling. */
    static final int MOST_SECONDS = 60;
    static final String HEADER = "Prefer";
    static final String APPLIED_HEADER = "Preference-Applied";

    private WaitPreference() {
    }

    /** {@value #MAX_WAIT}: 1 to {@value #MOST_SECONDS}, default {@value #DEFAULT_MAX_WAIT_SECONDS}. */
    static int maxSeconds(FerryEnv env) {
        int max = env.intValue(MAX_WAIT, DEFAULT_MAX_WAIT_SECONDS);
        if (max < 1 || max > MOST_SECONDS) {
            throw new IllegalStateException("environment variable " + MAX_WAIT + " must be 1 to " + MOST_SECONDS
                    + " seconds, but is " + max);
        }
        return max;
    }

    /**
     * The wait to apply, in seconds: 0 for none.
     *
     * @param headers the request's {@code Prefer} header values (none, one or several)
     * @throws ApiException 400 naming the header for an invalid wait under {@code handling=strict}
     */
    static int seconds(List<String> headers, int maxSeconds) {
        String wait = null;
        boolean strict = false;
        boolean handlingSeen = false;
        for (String header : headers) {
            for (String preference : split(header, ',')) {
                String[] parts = split(preference, ';').toArray(String[]::new);
                if (parts.length == 0) {
                    continue;
                }
                String[] nameValue = nameValue(parts[0]);
                String name = nameValue[0].toLowerCase(Locale.ROOT);
                if (name.equals("wait") && wait == null) {
                    wait = nameValue[1] == null ? "" : nameValue[1];
                } else if (name.equals("handling") && !handlingSeen) {
                    handlingSeen = true;
                    strict = "strict".equalsIgnoreCase(nameValue[1]);
                }
            }
        }
        if (wait == null) {
            return 0;
        }
        if (wait.matches("\\d{1,9}") && Long.parseLong(wait) >= 1) {
            return (int) Math.min(Long.parseLong(wait), maxSeconds);
        }
        if (strict) {
            throw ApiException.badRequest("header " + HEADER + ": wait=" + wait + " is not a whole number of seconds"
                    + " from 1 to " + MOST_SECONDS + " (handling=strict asked for this error; without it the"
                    + " preference is ignored)");
        }
        return 0;
    }

    /** The {@code Preference-Applied} value for a wait of {@code seconds}. */
    static String applied(int seconds) {
        return "wait=" + seconds;
    }

    /** {@code name[=value]}, the value unquoted; the value is null when there is none. */
    private static String[] nameValue(String text) {
        int equals = text.indexOf('=');
        if (equals < 0) {
            return new String[] {text.strip(), null};
        }
        String value = text.substring(equals + 1).strip();
        if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
            value = value.substring(1, value.length() - 1).replaceAll("\\\\(.)", "$1");
        }
        return new String[] {text.substring(0, equals).strip(), value};
    }

    /** {@code text} split at {@code separator} outside quoted strings; blank parts left out. */
    private static List<String> split(String text, char separator) {
        List<String> parts = new ArrayList<>();
        StringBuilder part = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '"' && (i == 0 || text.charAt(i - 1) != '\\')) {
                quoted = !quoted;
            }
            if (c == separator && !quoted) {
                if (!part.toString().isBlank()) {
                    parts.add(part.toString().strip());
                }
                part.setLength(0);
            } else {
                part.append(c);
            }
        }
        if (!part.toString().isBlank()) {
            parts.add(part.toString().strip());
        }
        return parts;
    }
}
