package dev.ferry.local;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The sample job as a command per job: a program the worker runs as a separate process for each
 * job, whose behaviour the job's input controls ({@link SampleWork}). The local stack's
 * {@code sample} type runs the warm {@link SampleHandler} instead; this one is for comparison
 * (the benchmark) and for {@code FERRY_COMMAND_<TYPE>} examples.
 *
 * <p>Input on stdin. Environment: {@code FERRY_ATTEMPT} (this run's number, from 1),
 * {@code FERRY_JOB_ID}, {@code FERRY_OUTPUT_DIR} (for an image), and optionally
 * {@code FERRY_SAMPLE_SETUP_MS} (how long "loading the model" takes before it reads its input;
 * default none: as for {@link SampleHandler}, but every run pays it, as a command per job does
 * without a warm handler) and {@code FERRY_SAMPLE_LEDGER}, a file to which each run appends
 * {@code <jobId> <attempt> start} before it works, so tests can count runs.
 *
 * <p>Exit status 0 with {@code {"output": ..., "pid": ...}} on stdout; 1 when failing on purpose (retried);
 * 65 when the input or the environment is wrong (the message on stderr names the field or
 * variable): the worker's "do not retry" code, so such a job fails at once.
 */
public final class SampleJob {

    /** The ledger file's variable. */
    public static final String LEDGER = "FERRY_SAMPLE_LEDGER";
    /** How long each run pretends to load a model before it reads its input, in milliseconds. */
    public static final String SETUP_MS = SampleWork.SETUP_MS;
    static final int EXIT_FAILED_ON_PURPOSE = 1;
    /** Bad input: exit code 65 ({@code EX_DATAERR}), which the worker does not retry. */
    static final int EXIT_BAD_INPUT = 65;

    // The contract between the worker and any job program, restated: a job program knows no Ferry class.
    private static final String ATTEMPT = "FERRY_ATTEMPT";
    private static final String JOB_ID = "FERRY_JOB_ID";
    private static final String OUTPUT_DIR = "FERRY_OUTPUT_DIR";

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
        return javaCommand(SampleJob.class);
    }

    /** The command line that runs {@code main}'s {@code main} in a fresh JVM, as {@link #command()} does. */
    static String javaCommand(Class<?> main) {
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String classpath = Stream.of(SampleJob.class, ObjectMapper.class, JsonFactory.class, JsonAutoDetect.class)
                .map(SampleJob::codeSource)
                .collect(Collectors.toCollection(LinkedHashSet::new))
                .stream()
                .collect(Collectors.joining(File.pathSeparator));
        return "trap '' INT; exec " + shellQuote(java) + " -XX:TieredStopAtLevel=1 -Xshare:auto -cp "
                + shellQuote(classpath) + " -Djava.awt.headless=true " + main.getName();
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
        long setupMs;
        try {
            setupMs = SampleWork.setupMs(env);
        } catch (SampleWork.BadInputException e) {
            stderr.println("sample job: " + e.getMessage());
            return EXIT_BAD_INPUT;
        }
        try {
            Thread.sleep(setupMs); // "loading the model", on every run
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stderr.println("sample job: interrupted");
            return EXIT_FAILED_ON_PURPOSE;
        }
        SampleWork.Input input;
        int attempt;
        try {
            input = parse(stdin);
            attempt = attempt(env);
        } catch (SampleWork.BadInputException e) {
            stderr.println("sample job: " + e.getMessage());
            return EXIT_BAD_INPUT;
        }
        String jobId = env.get(JOB_ID);
        String ledger = env.get(LEDGER);
        if (ledger != null && !ledger.isBlank()) {
            if (jobId == null || jobId.isBlank()) {
                stderr.println("sample job: " + LEDGER + " is set but " + JOB_ID + " is not; the worker sets it");
                return EXIT_BAD_INPUT;
            }
            try {
                SampleWork.appendLine(Path.of(ledger), jobId + " " + attempt + " start");
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
        ObjectNode result = SampleWork.JSON.createObjectNode();
        result.set("output", input.output());
        if (input.image() != null) {
            String outputDir = env.get(OUTPUT_DIR);
            if (outputDir == null || outputDir.isBlank()) {
                stderr.println("sample job: an image needs " + OUTPUT_DIR + ", which the worker sets");
                return EXIT_BAD_INPUT;
            }
            try {
                input.image().writePng(Path.of(outputDir, "image.png"), jobId == null ? "" : jobId);
            } catch (IOException e) {
                stderr.println("sample job: cannot write the image: " + e.getMessage());
                return EXIT_FAILED_ON_PURPOSE;
            }
            result.put("image", "image.png");
        }
        result.put("pid", ProcessHandle.current().pid());
        stdout.println(result.toString());
        stdout.flush();
        return 0;
    }

    private static SampleWork.Input parse(InputStream stdin) throws SampleWork.BadInputException {
        JsonNode root;
        try {
            root = SampleWork.JSON.readTree(stdin);
        } catch (JsonProcessingException e) {
            throw new SampleWork.BadInputException("input is not JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new SampleWork.BadInputException("cannot read the input: " + e.getMessage());
        }
        return SampleWork.Input.parse(root);
    }

    private static int attempt(Map<String, String> env) throws SampleWork.BadInputException {
        String raw = env.get(ATTEMPT);
        if (raw == null || raw.isBlank()) {
            throw new SampleWork.BadInputException("environment variable " + ATTEMPT + " is not set; the worker sets it"
                    + " to the run's number, counting from 1");
        }
        int attempt;
        try {
            attempt = Integer.parseInt(raw.trim());
        } catch (NumberFormatException e) {
            attempt = 0;
        }
        if (attempt < 1) {
            throw new SampleWork.BadInputException("environment variable " + ATTEMPT + " must be a whole number from 1,"
                    + " but is '" + raw + "'");
        }
        return attempt;
    }
}
