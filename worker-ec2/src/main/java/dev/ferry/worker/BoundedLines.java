package dev.ferry.worker;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Splits a process's output into lines without ever holding more than one line's limit: a line
 * longer than the limit is cut there (the rest of it read and dropped), and said to be cut. A
 * carriage return may end a line too, so that a progress bar redrawing itself with {@code \r}
 * makes lines rather than one endless one.
 */
final class BoundedLines {

    /** What receives each line. */
    @FunctionalInterface
    interface Sink {
        /**
         * @param text the line, without its end, at most the limit's bytes
         * @param cutBytes how many bytes of it were dropped; 0 for a whole line
         */
        void line(String text, long cutBytes);
    }

    private BoundedLines() {
    }

    /** Reads {@code in} to its end, line by line into {@code sink}. */
    static void read(InputStream in, int maxLineBytes, boolean carriageReturnEndsLine, Sink sink) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        long cut = 0;
        boolean lastWasCarriageReturn = false;
        byte[] chunk = new byte[8192];
        for (int n; (n = in.read(chunk)) != -1; ) {
            for (int i = 0; i < n; i++) {
                byte b = chunk[i];
                if (b == '\n' && lastWasCarriageReturn && carriageReturnEndsLine) {
                    lastWasCarriageReturn = false; // "\r\n": the \r ended the line already
                    continue;
                }
                lastWasCarriageReturn = b == '\r';
                if (b == '\n' || (b == '\r' && carriageReturnEndsLine)) {
                    sink.line(text(line), cut);
                    line.reset();
                    cut = 0;
                } else if (line.size() < maxLineBytes) {
                    line.write(b);
                } else {
                    cut++;
                }
            }
        }
        if (line.size() > 0 || cut > 0) {
            sink.line(text(line), cut);
        }
    }

    /** The line as text, a "\r" before its "\n" left out. */
    private static String text(ByteArrayOutputStream line) {
        String text = line.toString(StandardCharsets.UTF_8);
        return text.endsWith("\r") ? text.substring(0, text.length() - 1) : text;
    }
}
