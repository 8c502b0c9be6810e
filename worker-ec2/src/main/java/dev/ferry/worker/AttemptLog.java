package dev.ferry.worker;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * What one attempt of a job reported: its log lines (bounded: the first lines and the last ones
 * are kept, with a note of what was left out between) and its latest progress.
 */
final class AttemptLog implements JobEvents {

    /** How much of an attempt's log is kept. */
    static final int DEFAULT_MAX_BYTES = 1024 * 1024;

    private final int headBytes;
    private final int tailBytes;
    private final StringBuilder head = new StringBuilder();
    private final Deque<String> tail = new ArrayDeque<>();
    private int headSize;
    private int tailSize;
    private long dropped;
    private volatile Double fraction;
    private volatile String message;

    AttemptLog(int maxBytes) {
        this.headBytes = maxBytes / 4;
        this.tailBytes = maxBytes - headBytes;
    }

    @Override
    public synchronized void log(String line) {
        int size = line.getBytes(StandardCharsets.UTF_8).length + 1;
        if (headSize + size <= headBytes && tail.isEmpty()) {
            head.append(line).append('\n');
            headSize += size;
            return;
        }
        tail.addLast(line);
        tailSize += size;
        while (tailSize > tailBytes && tail.size() > 1) {
            String gone = tail.removeFirst();
            tailSize -= gone.getBytes(StandardCharsets.UTF_8).length + 1;
            dropped++;
        }
    }

    @Override
    public void progress(double fraction, String message) {
        this.fraction = Math.max(0, Math.min(1, Double.isNaN(fraction) ? 0 : fraction));
        this.message = message;
    }

    /** The latest progress fraction, or null when none was reported. */
    Double fraction() {
        return fraction;
    }

    String message() {
        return message;
    }

    synchronized boolean isEmpty() {
        return head.length() == 0 && tail.isEmpty();
    }

    /** The log as kept: its head, a note of the lines left out, its tail. */
    synchronized String text() {
        StringBuilder text = new StringBuilder(head);
        if (dropped > 0) {
            text.append("[... ").append(dropped).append(" line(s) left out ...]\n");
        }
        tail.forEach(line -> text.append(line).append('\n'));
        return text.toString();
    }
}
