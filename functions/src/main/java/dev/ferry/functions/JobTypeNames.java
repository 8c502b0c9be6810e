package dev.ferry.functions;

import java.util.regex.Pattern;

/**
 * What a job type's name may be: 1-64 letters, digits, {@code .}, {@code _} and {@code -}, starting
 * with a letter or digit. Submits, listings and the per-type deadline defaults check the same.
 */
final class JobTypeNames {

    private static final Pattern PATTERN = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    private JobTypeNames() {
    }

    static boolean valid(String name) {
        return name != null && PATTERN.matcher(name).matches();
    }
}
