package dev.ferry.cli;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/**
 * Durations as the API's {@code Cancel-After} header writes them (Replicate's form): whole seconds
 * ({@code 90}), or numbers with the units {@code h}, {@code m}, {@code s}, {@code ms} in a row
 * ({@code 10m}, {@code 1h30m}, {@code 1.5s}). Used for {@code --timeout} and {@code --cancel-after}.
 */
final class Durations {

    static final String FORMAT = "a duration such as 30s, 10m, 1h30m or a number of seconds";
    private static final Pattern PLAIN_SECONDS = Pattern.compile("\\d{1,9}");
    private static final Pattern PART = Pattern.compile("(\\d{1,9}(?:\\.\\d{1,9})?)(ms|h|m|s)");

    private Durations() {
    }

    /** The duration {@code text} writes, if it is one and positive. */
    static Optional<Duration> parse(String text) {
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
            long unit = switch (part.group(2)) {
                case "h" -> 3_600_000L;
                case "m" -> 60_000L;
                case "s" -> 1_000L;
                default -> 1L;
            };
            millis = millis.add(new BigDecimal(part.group(1)).multiply(BigDecimal.valueOf(unit)));
            at = part.end();
        }
        long whole = millis.longValue();
        return whole > 0 ? Optional.of(Duration.ofMillis(whole)) : Optional.empty();
    }

    /** How a duration reads back: {@code 1h30m}, {@code 45s}, {@code 2.5s}, {@code 800ms}. */
    static String format(Duration duration) {
        long millis = duration.toMillis();
        if (millis < 1000) {
            return millis + "ms";
        }
        if (millis < 60_000) {
            return millis % 1000 == 0 ? millis / 1000 + "s" : String.format(java.util.Locale.ROOT, "%.1fs", millis / 1000.0);
        }
        long seconds = duration.toSeconds();
        StringBuilder text = new StringBuilder();
        if (seconds >= 3600) {
            text.append(seconds / 3600).append('h');
        }
        if (seconds % 3600 >= 60) {
            text.append(seconds % 3600 / 60).append('m');
        }
        if (seconds % 60 != 0) {
            text.append(seconds % 60).append('s');
        }
        return text.toString();
    }

    /** picocli's converter: a usage error (exit 2) naming the format. */
    static final class Converter implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            return parse(value).orElseThrow(() -> new CommandLine.TypeConversionException(
                    "'" + value + "' is not " + FORMAT));
        }
    }
}
