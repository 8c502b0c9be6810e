package dev.ferry.core.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.spi.ContextAwareBase;
import dev.ferry.core.FerryEnv;
import java.io.OutputStream;
import java.util.Locale;
import java.util.Map;
import net.logstash.logback.encoder.LogstashEncoder;
import net.logstash.logback.fieldnames.LogstashFieldNames;

/**
 * Logback's configuration for the deployed functions and workers, in code (found by Logback
 * through {@code META-INF/services}; no XML to parse at a Lambda cold start). One console
 * appender (JSON on stdout, text on stderr), its format from {@value FerryEnv#LOG_FORMAT}:
 * <ul>
 *   <li>{@code text} (the default): {@code 10:42:01.123 [INFO] JobRun - job 01K... SUCCEEDED ...},
 *       what a person reads in a terminal;</li>
 *   <li>{@code json} (set by infra/template.yaml): one JSON object a line with {@code timestamp},
 *       {@code level}, {@code logger}, {@code thread}, {@code message}, {@code exception}, and the
 *       correlation fields of {@link LogContext} ({@code jobId}, {@code type}, {@code attempt},
 *       {@code worker}, {@code slot}, {@code requestId}) as top-level fields: what CloudWatch Logs
 *       Insights queries, and what Lambda's JSON log format passes through unchanged.</li>
 * </ul>
 * The level is {@value FerryEnv#LOG_LEVEL} (default INFO).
 */
public final class FerryLogConfigurator extends ContextAwareBase implements Configurator {

    /** The two formats. */
    public enum Format { TEXT, JSON }

    static final String TEXT_PATTERN = "%d{HH:mm:ss.SSS} [%level] %logger{0} - %msg%n";

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        Map<String, String> env = System.getenv();
        ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
        Format format;
        Level level;
        try {
            format = format(env.get(FerryEnv.LOG_FORMAT));
            level = level(env.get(FerryEnv.LOG_LEVEL));
        } catch (IllegalStateException e) {
            // Logging is being set up: no logger to say it with. Readable lines at INFO, and why.
            System.err.println("ERROR " + e.getMessage() + "; logging text at INFO");
            format = Format.TEXT;
            level = Level.INFO;
        }
        // JSON to stdout, where Lambda takes a JSON line as it is (as it does Powertools' and the
        // metric lines); text to stderr, as slf4j-simple wrote it.
        console.setTarget(format == Format.JSON ? "System.out" : "System.err");
        install(context, format, level, console);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /** Configures {@code context} to write {@code format} lines to {@code out} (tests capture a log this way). */
    public static void install(LoggerContext context, Format format, Level level, OutputStream out) {
        OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();
        appender.setOutputStream(out);
        install(context, format, level, appender);
    }

    private static void install(LoggerContext context, Format format, Level level,
                                OutputStreamAppender<ILoggingEvent> appender) {
        context.reset();
        Encoder<ILoggingEvent> encoder = format == Format.JSON ? json(context) : text(context);
        encoder.start();
        appender.setContext(context);
        appender.setName(format.name().toLowerCase(Locale.ROOT));
        appender.setEncoder(encoder);
        appender.start();
        ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.setLevel(level);
        root.addAppender(appender);
    }

    private static Encoder<ILoggingEvent> text(LoggerContext context) {
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(TEXT_PATTERN);
        return encoder;
    }

    private static Encoder<ILoggingEvent> json(LoggerContext context) {
        LogstashEncoder encoder = new LogstashEncoder();
        encoder.setContext(context);
        LogstashFieldNames names = new LogstashFieldNames();
        names.setTimestamp("timestamp");
        names.setLogger("logger");
        names.setThread("thread");
        names.setStackTrace("exception");
        names.setVersion("[ignore]");
        names.setLevelValue("[ignore]");
        encoder.setFieldNames(names);
        encoder.setTimeZone("UTC");
        encoder.setTimestampPattern("yyyy-MM-dd'T'HH:mm:ss.SSSX"); // 2026-12-01T10:42:01.123Z
        return encoder;
    }

    /** {@value FerryEnv#LOG_FORMAT}'s value; fails naming the variable for one it does not know. */
    public static Format format(String raw) {
        if (raw == null || raw.isBlank() || raw.trim().equalsIgnoreCase("text")) {
            return Format.TEXT;
        }
        if (raw.trim().equalsIgnoreCase("json")) {
            return Format.JSON;
        }
        throw new IllegalStateException("environment variable " + FerryEnv.LOG_FORMAT + " must be text or json, but is '"
                + raw + "'");
    }

    /** {@value FerryEnv#LOG_LEVEL}'s value; fails naming the variable for one it does not know. */
    public static Level level(String raw) {
        if (raw == null || raw.isBlank()) {
            return Level.INFO;
        }
        Level level = Level.toLevel(raw.trim(), null);
        if (level == null) {
            throw new IllegalStateException("environment variable " + FerryEnv.LOG_LEVEL
                    + " must be ERROR, WARN, INFO, DEBUG or TRACE, but is '" + raw + "'");
        }
        return level;
    }
}
