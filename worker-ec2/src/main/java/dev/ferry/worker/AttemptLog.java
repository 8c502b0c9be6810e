package dev.ferry.worker;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Objects;

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
    private final Clock clock;
    private volatile Progress progress;

    /** The latest progress: a fraction from 0 to 1, an optional message, and when it was reported. */
    record Progress(double fraction, String message, Instant at) {
        /** Whether {@code other} says something else (its time aside). */
        boolean differsFrom(Progress other) {
            return other == null || Double.compare(fraction, other.fraction) != 0
                    || !Objects.equals(message, other.message);
        }
    }

    AttemptLog(int maxBytes) {
        this(maxBytes, Clock.systemUTC());
    }

    AttemptLog(int maxBytes, Clock clock) {
        this.headBytes = maxBytes / 4;
        this.tailBytes = maxBytes - headBytes;
        this.clock = Objects.requireNonNull(clock, "clock");
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

    /** Messages longer than this are cut: progress is a short text on the job's record. */
    static final int MAX_PROGRESS_MESSAGE_CHARS = 200;

    @Override
    public void progress(double fraction, String message) {
        // As UTF-8 and back: a lone surrogate (which DynamoDB would refuse) becomes '?'.
        String text = message == null || message.isBlank() ? null
                : new String(message.strip().getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
        if (text != null && text.length() > MAX_PROGRESS_MESSAGE_CHARS) {
            text = text.substring(0, MAX_PROGRESS_MESSAGE_CHARS - 1) + "…";
        }
        this.progress = new Progress(Math.max(0, Math.min(1, Double.isNaN(fraction) ? 0 : fraction)), text,
                clock.instant());
    }

    /** The latest progress, or null when none was reported. */
    Progress progress() {
        return progress;
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
