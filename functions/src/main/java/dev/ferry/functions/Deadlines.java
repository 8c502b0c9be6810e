package dev.ferry.functions;

import dev.ferry.core.FerryEnv;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A job's deadline: the body's {@code "deadline"} (an ISO-8601 instant), the header
 * {@value #CANCEL_AFTER} (Replicate's: {@code 30s}, {@code 5m}, {@code 1h30m}, or plain seconds),
 * or, when the request gives neither, its type's default from {@value FerryEnv#DEFAULT_DEADLINES}
 * ({@code sd=10m,train=12h}). A job not finished by its deadline is stopped and reads CANCELLED.
 *
 * <p>A deadline must lie in the future, and at most {@link #MAX_AHEAD} ahead: SQS keeps a message
 * 14 days at most, so a job could never still be waiting at a later one.
 */
public final class Deadlines {

    static final String CANCEL_AFTER = "Cancel-After";
    static final String FIELD = "deadline";
    /** SQS's longest message retention, which the job queue uses. */
    static final Duration MAX_AHEAD = Duration.ofDays(14);

    private static final Pattern PLAIN_SECONDS = Pattern.compile("\\d{1,9}");
    private static final Pattern PART = Pattern.compile("(\\d{1,9}(?:\\.\\d{1,9})?)(ms|h|m|s)");
    private static final String FORMAT = "a duration such as \"30s\", \"5m\", \"1h30m\" or a number of seconds";

    /** What a request asked for: an instant (the body's field), a duration from now (the header), or neither. */
    record Requested(Instant at, Duration after) {
        static final Requested NONE = new Requested(null, null);

        boolean none() {
            return at == null && after == null;
        }
    }

    private final Map<String, Duration> defaults;

    Deadlines(Map<String, Duration> defaults) {
        this.defaults = Map.copyOf(defaults);
    }

    static Deadlines none() {
        return new Deadlines(Map.of());
    }

    /**
     * {@value FerryEnv#DEFAULT_DEADLINES}, read once.
     *
     * @throws IllegalStateException it is malformed; the message names it
     */
    static Deadlines fromEnvironment(FerryEnv env) {
        return new Deadlines(env.optional(FerryEnv.DEFAULT_DEADLINES)
                .map(raw -> parseDefaults(FerryEnv.DEFAULT_DEADLINES, raw)).orElse(Map.of()));
    }

    /**
     * {@code sd=10m,train=12h}: each job type's default, as {@value #CANCEL_AFTER} durations.
     *
     * @throws IllegalStateException it is malformed, or a duration is over 14 days; the message names {@code variable}
     */
    public static Map<String, Duration> parseDefaults(String variable, String raw) {
        Map<String, Duration> defaults = new LinkedHashMap<>();
        for (String entry : raw.split(",")) {
            if (entry.isBlank()) {
                continue;
            }
            int eq = entry.indexOf('=');
            String type = eq < 0 ? "" : entry.substring(0, eq).strip();
            if (eq < 0 || !JobTypeNames.valid(type)) {
                throw new IllegalStateException("environment variable " + variable + " must list <type>=<duration>"
                        + " pairs, such as \"sd=10m,train=12h\", but has '" + entry.strip() + "'");
            }
            String text = entry.substring(eq + 1).strip();
            Optional<Duration> duration = parseDuration(text);
            if (duration.isEmpty() || duration.get().compareTo(MAX_AHEAD) > 0) {
                throw new IllegalStateException("environment variable " + variable + ": the default deadline of type "
                        + type + " must be " + FORMAT + ", at most 14 days, but is '" + text + "'");
            }
            if (defaults.put(type, duration.get()) != null) {
                throw new IllegalStateException("environment variable " + variable + " names type " + type + " twice");
            }
        }
        return defaults;
    }

    /**
     * Replicate's duration: whole seconds ({@code 90}), or numbers with units {@code h}, {@code m},
     * {@code s}, {@code ms} in a row ({@code 1h30m}, {@code 1.5s}); empty unless it is one, and positive.
     */
    static Optional<Duration> parseDuration(String text) {
        if (text == null || text.isEmpty()) {
            return Optional.empty();
        }
        if (PLAIN_SECONDS.matcher(text).matches()) {
            long seconds = Long.parseLong(text);
            return seconds > 0 ? Optional.of(Duration.ofSeconds(seconds)) : Optional.empty();
        }
        Matcher part = PART.matcher(text);
        BigDecimal millis = BigDecimal.ZERO;
        int at = 0;
        while (at < text.length()) {
            if (!part.find(at) || part.start() != at) {
                return Optional.empty();
            }
            BigDecimal number = new BigDecimal(part.group(1));
            long unit = switch (part.group(2)) {
                case "h" -> 3_600_000L;
                case "m" -> 60_000L;
                case "s" -> 1_000L;
                default -> 1L;
            };
            millis = millis.add(number.multiply(BigDecimal.valueOf(unit)));
            at = part.end();
        }
        long whole = millis.longValue();
        return whole > 0 ? Optional.of(Duration.ofMillis(whole)) : Optional.empty();
    }

    /**
     * The header, checked; {@link Requested#NONE} when absent.
     *
     * @throws ApiException 400 naming the header
     */
    /** The shortest {@code Cancel-After}. */
    static final Duration MIN_AFTER = Duration.ofSeconds(1);

    static Requested fromHeader(String cancelAfter) {
        if (cancelAfter == null) {
            return Requested.NONE;
        }
        String text = cancelAfter.strip();
        Duration after = parseDuration(text).orElseThrow(() -> ApiException.badRequest("header " + CANCEL_AFTER
                + " must be " + FORMAT + ", but is \"" + abbreviate(text) + "\""));
        if (after.compareTo(MIN_AFTER) < 0) {
            // Under a second the deadline would pass before the job is even recorded.
            throw ApiException.badRequest("header " + CANCEL_AFTER + " must be at least 1s, but is \""
                    + abbreviate(text) + "\"");
        }
        return new Requested(null, after);
    }

    /**
     * The deadline of a job of {@code type} submitted at {@code now}.
     *
     * @throws ApiException 400 naming the field or header: in the past, or more than 14 days ahead
     */
    Optional<Instant> resolve(String type, Requested requested, Instant now) {
        Objects.requireNonNull(requested, "requested");
        String source;
        Instant deadline;
        if (requested.at() != null) {
            source = "field \"" + FIELD + "\"";
            deadline = requested.at();
        } else if (requested.after() != null) {
            source = "header " + CANCEL_AFTER;
            deadline = now.plus(requested.after());
        } else if (defaults.containsKey(type)) {
            return Optional.of(now.plus(defaults.get(type)).truncatedTo(ChronoUnit.MILLIS));
        } else {
            return Optional.empty();
        }
        if (!deadline.isAfter(now)) {
            throw ApiException.badRequest(source + " is in the past: " + deadline + " (it is " + now + " now)");
        }
        if (deadline.isAfter(now.plus(MAX_AHEAD))) {
            throw ApiException.badRequest(source + " is more than 14 days ahead (" + deadline + "): SQS keeps a job's"
                    + " message 14 days at most, so the job could not wait that long");
        }
        return Optional.of(requested.at() != null ? deadline : deadline.truncatedTo(ChronoUnit.MILLIS));
    }

    private static String abbreviate(String text) {
        return text.length() <= 40 ? text : text.substring(0, 40) + "…";
    }
}
