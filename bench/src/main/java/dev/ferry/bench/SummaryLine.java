package dev.ferry.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The fixed-format last line of a benchmark: {@code bench: key=value key=value ...}, the keys in a
 * fixed order, each value with a fixed number of decimals, {@code -} for a figure that was not
 * measured (NaN).
 */
final class SummaryLine {

    /** One figure: its key, its value, how many decimals it is printed with. */
    record Figure(String key, double value, int decimals) {
    }

    private final List<Figure> figures = new ArrayList<>();

    SummaryLine add(String key, double value, int decimals) {
        if (!key.matches("[a-z][a-z0-9_]*")) {
            throw new IllegalArgumentException("a summary key is lower case, digits and _, not '" + key + "'");
        }
        figures.add(new Figure(key, value, decimals));
        return this;
    }

    String format(String prefix) {
        StringBuilder line = new StringBuilder(prefix).append(':');
        for (Figure figure : figures) {
            line.append(' ').append(figure.key()).append('=').append(value(figure.value(), figure.decimals()));
        }
        return line.toString();
    }

    static String value(double value, int decimals) {
        if (Double.isNaN(value) || Double.isInfinite(value)) {
            return "-";
        }
        return String.format(Locale.ROOT, "%." + decimals + "f", value);
    }
}
