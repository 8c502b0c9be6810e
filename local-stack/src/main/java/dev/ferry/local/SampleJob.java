package dev.ferry.local;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.CodeSource;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The {@code sample} job type of the local stack: a program the worker runs as a separate
 * process, as it would run a real GPU job, whose behaviour the job's input controls.
 *
 * <p>Input (stdin, a JSON object, every field optional): {@code sleepMs} (how long to work),
 * {@code failTimes} (fail the first this many attempts), {@code output} (any JSON, echoed back).
 * Environment: {@code FERRY_ATTEMPT} (this run's number, from 1), {@code FERRY_JOB_ID}, and
 * optionally {@code FERRY_SAMPLE_LEDGER}, a file to which each run appends
 * {@code <jobId> <attempt> start} before it works, so tests can count runs.
 *
 * <p>Exit status 0 with {@code {"output": ...}} on stdout; 1 when failing on purpose (retried);
 * 65 when the input or the environment is wrong (the message on stderr names the field or
 * variable): the worker's "do not retry" code, so such a job fails at once.
 */
public final class SampleJob {

    /** The ledger file's variable. */
    public static final String LEDGER = "FERRY_SAMPLE_LEDGER";
    static final int EXIT_FAILED_ON_PURPOSE = 1;
    /** Bad input: exit code 65 ({@code EX_DATAERR}), which the worker does not retry. */
    static final int EXIT_BAD_INPUT = 65;

    // The contract between the worker and any job program, restated: a job program knows no Ferry class.
    private static final String ATTEMPT = "FERRY_ATTEMPT";
    private static final String JOB_ID = "FERRY_JOB_ID";
    private static final Set<String> FIELDS = Set.of("sleepMs", "failTimes", "output");
    private static final ObjectMapper JSON = new ObjectMapper();

    private SampleJob() {
    }

    /** Runs one attempt with the process's stdin, stdout, stderr and environment; exits with its status. */
    public static void main(String[] args) {
        System.exit(run(System.in, System.out, System.err, System.getenv()));
    }

    /**
     * The command line that runs this job as a separate process: the current {@code java}, a
     * classpath of this module and Jackson only, and flags that make a short-lived JVM start fast.
     * It ignores SIGINT: Ctrl-C in a terminal reaches every process of its group, and it is for the
     * worker, not the terminal, to decide whether a running job finishes or is given back.
     */
    public static String command() {
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String classpath = Stream.of(SampleJob.class, ObjectMapper.class, JsonFactory.class, JsonAutoDetect.class)
                .map(SampleJob::codeSource)
                .collect(Collectors.toCollection(LinkedHashSet::new))
                .stream()
                .collect(Collectors.joining(File.pathSeparator));
        return "trap '' INT; exec " + shellQuote(java) + " -XX:TieredStopAtLevel=1 -Xshare:auto -cp "
                + shellQuote(classpath) + " " + SampleJob.class.getName();
    }

    /** {@code value} as one word for {@code /bin/sh}: single-quoted, each {@code '} as {@code '\''}. */
    static String shellQuote(String value) {
        return "'" + value.replace("'", "'\\''") + "'";
    }

    private static String codeSource(Class<?> type) {
        CodeSource source = type.getProtectionDomain().getCodeSource();
        if (source == null) {
            throw new IllegalStateException("cannot tell where " + type.getName() + " was loaded from, so the sample"
                    + " job's classpath cannot be built");
        }
        try {
            return Path.of(source.getLocation().toURI()).toString();
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot tell where " + type.getName() + " was loaded from: " + e, e);
        }
    }

    static int run(InputStream stdin, PrintStream stdout, PrintStream stderr, Map<String, String> env) {
        Input input;
        int attempt;
        try {
            input = Input.parse(stdin);
            attempt = attempt(env);
        } catch (BadInputException e) {
            stderr.println("sample job: " + e.getMessage());
            return EXIT_BAD_INPUT;
        }
        String ledger = env.get(LEDGER);
        if (ledger != null && !ledger.isBlank()) {
            String jobId = env.get(JOB_ID);
            if (jobId == null || jobId.isBlank()) {
                stderr.println("sample job: " + LEDGER + " is set but " + JOB_ID + " is not; the worker sets it");
                return EXIT_BAD_INPUT;
            }
            try {
                appendLine(Path.of(ledger), jobId + " " + attempt + " start");
            } catch (IOException e) {
                stderr.println("sample job: cannot append to " + LEDGER + " " + ledger + ": " + e.getMessage());
                return EXIT_BAD_INPUT;
            }
        }
        try {
            Thread.sleep(input.sleepMs());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stderr.println("sample job: interrupted");
            return EXIT_FAILED_ON_PURPOSE;
        }
        if (attempt <= input.failTimes()) {
            stderr.println("sample job failing on purpose: attempt " + attempt + " of failTimes " + input.failTimes());
            return EXIT_FAILED_ON_PURPOSE;
        }
        ObjectNode result = JSON.createObjectNode();
        result.set("output", input.output());
        stdout.println(result.toString());
        stdout.flush();
        return 0;
    }

    private static int attempt(Map<String, String> env) throws BadInputException {
        String raw = env.get(ATTEMPT);
        if (raw == null || raw.isBlank()) {
            throw new BadInputException("environment variable " + ATTEMPT + " is not set; the worker sets it to the"
                    + " run's number, counting from 1");
        }
        int attempt;
        try {
            attempt = Integer.parseInt(raw.trim());
        } catch (NumberFormatException e) {
            attempt = 0;
        }
        if (attempt < 1) {
            throw new BadInputException("environment variable " + ATTEMPT + " must be a whole number from 1, but is '"
                    + raw + "'");
        }
        return attempt;
    }

    /** Appends one line under an exclusive lock, so runs in parallel processes never interleave. */
    private static void appendLine(Path file, String line) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND)) {
            FileLock lock = channel.lock();
            try {
                ByteBuffer bytes = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
                while (bytes.hasRemaining()) {
                    channel.write(bytes);
                }
                channel.force(false);
            } finally {
                lock.release();
            }
        }
    }

    private record Input(long sleepMs, long failTimes, JsonNode output) {

        static Input parse(InputStream stdin) throws BadInputException {
            JsonNode root;
            try {
                root = JSON.readTree(stdin);
            } catch (JsonProcessingException e) {
                throw new BadInputException("input is not JSON: " + e.getOriginalMessage());
            } catch (IOException e) {
                throw new BadInputException("cannot read the input: " + e.getMessage());
            }
            if (root == null || root.isMissingNode() || root.isNull()) {
                return new Input(0, 0, NullNode.getInstance());
            }
            if (!root.isObject()) {
                throw new BadInputException("input must be a JSON object, but is " + root.getNodeType().toString()
                        .toLowerCase(Locale.ROOT) + " " + root);
            }
            for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (!FIELDS.contains(name)) {
                    throw new BadInputException("unknown field \"" + name + "\"; the sample job reads sleepMs,"
                            + " failTimes and output");
                }
            }
            return new Input(count(root, "sleepMs"), count(root, "failTimes"),
                    root.has("output") ? root.get("output") : NullNode.getInstance());
        }

        private static long count(JsonNode root, String field) throws BadInputException {
            JsonNode value = root.get(field);
            if (value == null) {
                return 0;
            }
            if (!value.isIntegralNumber() || !value.canConvertToLong() || value.asLong() < 0) {
                throw new BadInputException("field \"" + field + "\" must be a whole number from 0, but is " + value);
            }
            return value.asLong();
        }
    }

    private static final class BadInputException extends Exception {
        BadInputException(String message) {
            super(message);
        }
    }
}
