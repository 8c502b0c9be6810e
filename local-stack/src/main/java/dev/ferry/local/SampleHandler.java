package dev.ferry.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

/**
 * The local stack's {@code sample} job type as a warm handler: one long-lived process per slot
 * that speaks Ferry's JSON-lines protocol (README, "Warm handlers"), the way a model server that
 * loads its weights once would. It does what {@link SampleWork} says for each job, and its result
 * carries its process id and how many jobs it has served, so one sees the process reused.
 *
 * <p>Environment: {@code FERRY_SAMPLE_SETUP_MS} (how long "loading the model" takes before it says
 * ready; default none), {@code FERRY_SAMPLE_LEDGER} as for {@link SampleJob}.
 */
public final class SampleHandler {

    /** How long the handler pretends to load a model before it is ready, in milliseconds. */
    public static final String SETUP_MS = SampleWork.SETUP_MS;

    private final PrintStream protocol;
    private final PrintStream log;
    private final Map<String, String> env;
    private long served;

    private SampleHandler(PrintStream protocol, PrintStream log, Map<String, String> env) {
        this.protocol = protocol;
        this.log = log;
        this.env = env;
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        PrintStream protocol = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true,
                StandardCharsets.UTF_8);
        System.setOut(System.err); // a stray print goes to the job's log, never into the protocol
        System.exit(serve(System.in, protocol, System.err, System.getenv()));
    }

    /** The command line that runs it: the same JVM flags and classpath as {@link SampleJob#command()}. */
    public static String command() {
        return SampleJob.javaCommand(SampleHandler.class);
    }

    /** Sets up, says ready, then runs each request line until stdin ends; the exit status. */
    static int serve(InputStream stdin, PrintStream protocol, PrintStream log, Map<String, String> env)
            throws IOException, InterruptedException {
        long setupMs;
        try {
            setupMs = SampleWork.setupMs(env);
        } catch (SampleWork.BadInputException e) {
            log.println("sample handler: " + e.getMessage());
            return SampleJob.EXIT_BAD_INPUT;
        }
        log.println("sample handler " + ProcessHandle.current().pid() + ": loading the model (" + setupMs + " ms)");
        Thread.sleep(setupMs);
        SampleHandler handler = new SampleHandler(protocol, log, env);
        handler.send(SampleWork.JSON.createObjectNode().put("ready", true));
        BufferedReader lines = new BufferedReader(new InputStreamReader(stdin, StandardCharsets.UTF_8));
        for (String line; (line = lines.readLine()) != null; ) {
            if (!line.isBlank()) {
                handler.handle(SampleWork.JSON.readTree(line));
            }
        }
        log.println("sample handler " + ProcessHandle.current().pid() + ": input ended after " + handler.served
                + " job(s); exiting");
        return 0;
    }

    private void handle(JsonNode request) throws InterruptedException {
        String id = request.path("id").asText();
        String jobId = request.path("jobId").asText();
        int attempt = request.path("attempt").asInt(1);
        served++;
        log.println("sample handler " + ProcessHandle.current().pid() + ": job " + jobId + " attempt " + attempt
                + " (job " + served + " of this process)");
        SampleWork.Input input;
        try {
            input = SampleWork.Input.parse(request.get("input"));
        } catch (SampleWork.BadInputException e) {
            error(id, "sample job: " + e.getMessage(), false);
            return;
        }
        String ledger = env.get(SampleJob.LEDGER);
        if (ledger != null && !ledger.isBlank()) {
            try {
                SampleWork.appendLine(Path.of(ledger), jobId + " " + attempt + " start");
            } catch (IOException e) {
                error(id, "sample job: cannot append to " + SampleJob.LEDGER + " " + ledger + ": " + e.getMessage(),
                        false);
                return;
            }
        }
        work(id, input.sleepMs());
        if (attempt <= input.failTimes()) {
            log.println("sample job failing on purpose: attempt " + attempt + " of failTimes " + input.failTimes());
            error(id, "sample job failing on purpose: attempt " + attempt + " of failTimes " + input.failTimes(), true);
            return;
        }
        ObjectNode result = SampleWork.JSON.createObjectNode();
        result.set("output", input.output());
        if (input.image() != null) {
            String outputDir = request.path("outputDir").asText("");
            if (outputDir.isEmpty()) {
                error(id, "sample job: an image needs an output directory, and the worker gave none", false);
                return;
            }
            try {
                input.image().writePng(Path.of(outputDir, "image.png"), jobId);
            } catch (IOException e) {
                error(id, "sample job: cannot write the image: " + e.getMessage(), true);
                return;
            }
            result.put("image", "image.png");
        }
        result.put("pid", ProcessHandle.current().pid());
        result.put("jobsServed", served);
        ObjectNode answer = SampleWork.JSON.createObjectNode().put("id", id);
        answer.set("result", result);
        send(answer);
    }

    /** Works for {@code ms}, reporting progress about every tenth of it (at most every 100 ms). */
    private void work(String id, long ms) throws InterruptedException {
        if (ms <= 0) {
            return;
        }
        long step = Math.max(100, ms / 10);
        for (long done = 0; done < ms; done += step) {
            send(SampleWork.JSON.createObjectNode().put("id", id).put("progress", (double) done / ms)
                    .put("message", done + " of " + ms + " ms"));
            Thread.sleep(Math.min(step, ms - done));
        }
    }

    private void error(String id, String message, boolean retry) {
        send(SampleWork.JSON.createObjectNode().put("id", id).put("error", message).put("retry", retry));
    }

    private void send(ObjectNode message) {
        protocol.println(message.toString());
        protocol.flush();
    }
}
