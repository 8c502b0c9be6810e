package dev.ferry.local;

import dev.ferry.core.FerryEnv;
import dev.ferry.worker.CommandJobHandler;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * {@code scripts/run-local.sh}: runs the {@link LocalStack} in the foreground until Ctrl-C.
 *
 * <p>Environment: {@code FERRY_PORT} (the API's port, default 3000), {@code FERRY_LOCAL_WORKERS}
 * (workers, default 1), {@code FERRY_SLOTS} (job slots per worker, default 2). Every
 * {@code FERRY_COMMAND_<TYPE>} is passed to the workers, so a job type of your own runs locally
 * next to {@code sample}.
 */
public final class LocalStackMain {

    /** The API's port. */
    public static final String PORT = "FERRY_PORT";
    /** Workers to start. */
    public static final String WORKERS = "FERRY_LOCAL_WORKERS";
    /** Job slots per worker. */
    public static final String SLOTS = "FERRY_SLOTS";

    private LocalStackMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        PrintStream out = System.out;
        FerryEnv env = FerryEnv.system();
        LocalStack.Options options;
        int port;
        try {
            port = number(env, PORT, LocalStack.Options.DEFAULT_API_PORT, 0, 65_535);
            options = LocalStack.Options.builder()
                    .apiPort(port)
                    .workers(number(env, WORKERS, LocalStack.Options.DEFAULT_WORKERS, 0, 64))
                    .workerSlots(number(env, SLOTS, LocalStack.Options.DEFAULT_WORKER_SLOTS, 1, 64))
                    .environmentOverrides(jobCommands(env.asMap()))
                    .build();
        } catch (IllegalStateException e) {
            System.err.println("ferry local: " + e.getMessage());
            System.exit(1);
            return;
        }

        LocalStack stack;
        try {
            stack = LocalStack.start(options);
        } catch (PortInUseException e) {
            System.err.println("ferry local: port " + port + " is already in use; stop what listens there or set "
                    + PORT + " to another port (" + PORT + "=3001 scripts/run-local.sh)");
            System.exit(1);
            return;
        } catch (TemplateException e) {
            System.err.println("ferry local: cannot build the stack from the template: " + e.getMessage());
            System.exit(1);
            return;
        } catch (RuntimeException e) {
            System.err.println("ferry local: cannot start: " + e);
            e.printStackTrace();
            System.exit(1);
            return;
        }

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            out.println();
            out.println("ferry local: stopping (workers give back running jobs, then the API and emulators stop)...");
            try {
                stack.close();
                out.println("ferry local: stopped cleanly");
            } catch (RuntimeException e) {
                System.err.println("ferry local: stopped, with an error: " + e);
            } finally {
                stopped.countDown();
            }
        }, "ferry-local-shutdown"));
        out.print(banner(stack));
        out.flush();
        stopped.await();
    }

    private static int number(FerryEnv env, String name, int defaultValue, int min, int max) {
        int value = env.intValue(name, defaultValue);
        if (value < min || value > max) {
            throw new IllegalStateException("environment variable " + name + " must be " + min + "-" + max
                    + ", but is " + value);
        }
        return value;
    }

    /** Every {@code FERRY_COMMAND_<TYPE>} of this process's environment. */
    static Map<String, String> jobCommands(Map<String, String> environment) {
        Map<String, String> commands = new LinkedHashMap<>();
        environment.forEach((name, value) -> {
            if (name.startsWith(CommandJobHandler.ENV_COMMAND_PREFIX)) {
                commands.put(name, value);
            }
        });
        return commands;
    }

    static String banner(LocalStack stack) {
        String api = stack.apiEndpoint().toString();
        String host = api.replaceFirst("^http://", "");
        String routes = String.join(", ", stack.routes());
        StringBuilder text = new StringBuilder();
        text.append('\n')
                .append("Ferry local stack is up (Ctrl-C stops it).\n")
                .append("  API       ").append(api).append("   ").append(routes).append('\n')
                .append("  SQS       ").append(stack.environment().required(FerryEnv.AWS_ENDPOINT_URL_SQS)).append('\n')
                .append("    jobs    ").append(stack.queueUrl()).append('\n')
                .append("    DLQ     ").append(stack.deadLetterQueueUrl())
                .append("   (after ").append(stack.maxReceiveCount()).append(" receives)\n")
                .append("  DynamoDB  ").append(stack.environment().required(FerryEnv.AWS_ENDPOINT_URL_DYNAMODB))
                .append("   table ").append(stack.tableName()).append('\n')
                .append("  Workers   ").append(stack.workerSummary()).append('\n')
                .append('\n')
                .append("Admin page: ").append(api).append("/admin   token: ").append(stack.adminToken())
                .append("   (FERRY_ADMIN_TOKEN to choose your own)\n")
                .append('\n')
                .append("Submit a sample job, then read it (use the jobId the first call returns):\n")
                .append("  curl -s -X POST ").append(host).append("/jobs -H 'Content-Type: application/json'")
                .append(" -d '{\"type\":\"sample\",\"input\":{\"sleepMs\":1000,\"output\":\"hello\"}}'\n")
                .append("  curl -s ").append(host).append("/jobs/<jobId>\n")
                .append('\n');
        return text.toString();
    }
}
