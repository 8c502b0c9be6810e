package dev.ferry.local;

import dev.ferry.core.FerryEnv;
import dev.ferry.functions.AdminToken;
import dev.ferry.functions.WebhookSettings;
import dev.ferry.worker.CommandJobHandler;
import dev.ferry.worker.ExitRules;
import dev.ferry.worker.JobTypes;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * {@code scripts/run-local.sh}: runs the {@link LocalStack} in the foreground until Ctrl-C.
 *
 * <p>Environment: {@code FERRY_PORT} (the API's port, default 3000), {@code FERRY_LOCAL_WORKERS}
 * (workers, default 1), {@code FERRY_SLOTS} (job slots per worker, default 2). Passed on to the
 * stack: every job type's variable ({@code FERRY_COMMAND_<TYPE>}, {@code FERRY_HANDLER_<TYPE>},
 * {@code FERRY_COG_<TYPE>}, {@code FERRY_SAGEMAKER_<TYPE>}), their timeouts and exit rules, and
 * {@code FERRY_JOB_TIMEOUT}, so a job type of your own runs locally next to {@code sample}; and
 * {@code FERRY_ADMIN_TOKEN}, the admin API's token (at least {@value AdminToken#MIN_LENGTH}
 * characters; unset, a random one). Job programs start from this process's whole environment
 * (but its {@code AWS_*} and {@code FERRY_*}), with the stack's settings over it.
 *
 * <p>The backend ({@link Backend#fromEnvironment}): {@code FERRY_BACKEND=embedded} (default) or
 * {@code external} with {@code AWS_REGION}, {@code AWS_ENDPOINT_URL[_SQS|_DYNAMODB]} and the SDK's
 * credential chain; {@code FERRY_STACK_NAME} (default {@code ferry}) prefixes every resource name;
 * {@code FERRY_RECONCILE=true} brings existing resources that differ to the template's settings
 * (otherwise the start stops, naming each difference). What it creates on an external backend
 * stays when it stops (it is a stack you run again).
 */
public final class LocalStackMain {

    /** The API's port. */
    public static final String PORT = "FERRY_PORT";
    /** Workers to start. */
    public static final String WORKERS = "FERRY_LOCAL_WORKERS";
    /** Job slots per worker. */
    public static final String SLOTS = "FERRY_SLOTS";
    /** The stack's name: the prefix of its queues' and table's names. */
    public static final String STACK_NAME = "FERRY_STACK_NAME";
    /** {@code true}: existing resources that differ from the template are brought to it. */
    public static final String RECONCILE = "FERRY_RECONCILE";

    private LocalStackMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        PrintStream out = System.out;
        LocalStack.Options options;
        try {
            options = options(System.getenv());
        } catch (IllegalStateException e) {
            System.err.println("ferry local: " + e.getMessage());
            System.exit(1);
            return;
        }
        int port = options.apiPort();

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
            out.println("ferry local: stopping (workers give back running jobs, then the API"
                    + (stack.backend() instanceof Backend.Embedded ? " and emulators" : "") + " stop)...");
            try {
                stack.close();
                out.println("ferry local: stopped cleanly");
            } catch (RuntimeException e) {
                System.err.println("ferry local: stopped, with an error: " + e);
            } finally {
                stopped.countDown();
            }
        }, "ferry-local-shutdown"));
        out.print(banner(stack, options.environmentOverrides().containsKey(AdminToken.TOKEN),
                options.environmentOverrides().containsKey(WebhookSettings.SECRET)));
        out.flush();
        stopped.await();
    }

    /**
     * The stack's options from the environment of {@code scripts/run-local.sh}.
     *
     * @throws IllegalStateException naming the variable, when one is malformed or out of range, or
     *     {@code FERRY_ADMIN_TOKEN} is shorter than {@value AdminToken#MIN_LENGTH} characters
     */
    static LocalStack.Options options(Map<String, String> environment) {
        FerryEnv env = FerryEnv.of(environment);
        String stackName = env.optional(STACK_NAME).orElse(LocalStack.Options.DEFAULT_STACK_NAME);
        if (!LocalStack.Options.STACK_NAME.matcher(stackName).matches()) {
            throw new IllegalStateException("environment variable " + STACK_NAME + " must be a letter, then letters,"
                    + " digits and hyphens, at most 60 characters, but is '" + stackName + "'");
        }
        String reconcile = env.optional(RECONCILE).orElse("false").toLowerCase(java.util.Locale.ROOT);
        if (!reconcile.equals("true") && !reconcile.equals("false")) {
            throw new IllegalStateException("environment variable " + RECONCILE + " must be true or false, but is '"
                    + reconcile + "'");
        }
        return LocalStack.Options.builder()
                .backend(Backend.fromEnvironment(environment))
                .stackName(stackName)
                .reconcile(reconcile.equals("true"))
                .deleteCreatedOnClose(false)
                .apiPort(number(env, PORT, LocalStack.Options.DEFAULT_API_PORT, 0, 65_535))
                .workers(number(env, WORKERS, LocalStack.Options.DEFAULT_WORKERS, 0, 64))
                .workerSlots(number(env, SLOTS, LocalStack.Options.DEFAULT_WORKER_SLOTS, 1, 64))
                .environmentOverrides(passedOn(environment))
                .jobBaseEnvironment(environment)
                .build();
    }

    private static int number(FerryEnv env, String name, int defaultValue, int min, int max) {
        int value = env.intValue(name, defaultValue);
        if (value < min || value > max) {
            throw new IllegalStateException("environment variable " + name + " must be " + min + "-" + max
                    + ", but is " + value);
        }
        return value;
    }

    /**
     * What the stack takes from the user's environment, over its own settings: every job type's
     * variable (any kind), {@code FERRY_TIMEOUT_<TYPE>}, {@code FERRY_JOB_TIMEOUT},
     * {@code FERRY_SETUP_TIMEOUT[_<TYPE>]}, {@code FERRY_EVALUATE_ON_EXIT[_<TYPE>]} and
     * {@code FERRY_SAMPLE_SETUP_MS} (for the workers), {@code FERRY_DEFAULT_DEADLINES} (for the submit
     * function), {@code FERRY_ADMIN_TOKEN} (for the admin function) and {@code FERRY_WEBHOOK_SECRET}
     * (the webhooks' signing key, so receivers can keep theirs across restarts). Nothing else: the
     * stack's clients stay on its emulators whatever {@code AWS_*} says.
     *
     * @throws IllegalStateException when {@code FERRY_ADMIN_TOKEN} is shorter than
     *     {@value AdminToken#MIN_LENGTH} characters (the admin function would refuse it)
     */
    static Map<String, String> passedOn(Map<String, String> environment) {
        Map<String, String> passed = new LinkedHashMap<>();
        environment.forEach((name, value) -> {
            boolean jobType = java.util.Arrays.stream(JobTypes.Kind.values()).anyMatch(k -> name.startsWith(k.prefix()));
            if (jobType
                    || name.startsWith(CommandJobHandler.ENV_TIMEOUT_PREFIX)
                    || name.equals(CommandJobHandler.ENV_JOB_TIMEOUT)
                    || name.startsWith(JobTypes.SETUP_TIMEOUT)
                    || name.startsWith(ExitRules.VARIABLE)
                    || name.equals(SampleHandler.SETUP_MS)
                    || name.equals(FerryEnv.DEFAULT_DEADLINES)
                    || name.equals(AdminToken.TOKEN)
                    || name.equals(WebhookSettings.SECRET)) {
                passed.put(name, value);
            }
        });
        for (String secret : List.of(AdminToken.TOKEN, WebhookSettings.SECRET)) {
            String token = passed.get(secret);
            if (token != null && token.strip().length() < AdminToken.MIN_LENGTH) {
                throw new IllegalStateException("environment variable " + secret + " must be at least "
                        + AdminToken.MIN_LENGTH + " characters (without surrounding spaces), but has "
                        + token.strip().length() + "; set a longer one, or unset it for a random one");
            }
        }
        return passed;
    }

    /**
     * @param tokenFromEnvironment whether the admin token is the user's own: then the banner names
     *     the variable instead of printing the secret
     */
    static String banner(LocalStack stack, boolean tokenFromEnvironment) {
        return banner(stack, tokenFromEnvironment, false);
    }

    /**
     * @param tokenFromEnvironment whether the admin token is the user's own
     * @param webhookSecretFromEnvironment whether the webhooks' signing key is the user's own: then
     *     the banner names the variable instead of printing the secret
     */
    static String banner(LocalStack stack, boolean tokenFromEnvironment, boolean webhookSecretFromEnvironment) {
        String api = stack.apiEndpoint().toString();
        String host = api.replaceFirst("^http://", "");
        String routes = String.join(", ", stack.routes());
        StringBuilder text = new StringBuilder();
        text.append('\n')
                .append("Ferry local stack '").append(stack.stackName()).append("' is up (Ctrl-C stops it).\n")
                .append("  Backend   ").append(stack.backend().describe()).append('\n')
                .append("  API       ").append(api).append("   ").append(routes).append('\n')
                .append("  SQS       ").append(stack.environment().optional(FerryEnv.AWS_ENDPOINT_URL_SQS)
                        .orElse("AWS")).append('\n');
        for (LocalStack.LocalPool pool : stack.pools()) {
            String name = (stack.pools().size() > 1 ? " (pool " + pool.name() + ")" : "")
                    + pool.function().map(function -> ", run by the Lambda pool's function " + function).orElse("");
            text.append("    jobs    ").append(pool.queueUrl()).append(name).append('\n');
            pool.priorityQueueUrl().ifPresent(url -> text.append("    high    ").append(url)
                    .append("   (the high-priority lane: \"priority\": \"high\")\n"));
            text.append("    DLQ     ").append(pool.deadLetterQueueUrl())
                    .append("   (after ").append(pool.maxReceiveCount()).append(" receives)\n");
        }
        text.append("  DynamoDB  ").append(stack.environment().optional(FerryEnv.AWS_ENDPOINT_URL_DYNAMODB)
                        .orElse("AWS"))
                .append("   table ").append(stack.tableName()).append('\n');
        stack.bucketName().ifPresent(bucket -> text
                .append("  S3        ").append(stack.environment().optional(FerryEnv.AWS_ENDPOINT_URL_S3).orElse("AWS"))
                .append("   bucket ").append(bucket).append('\n'));
        text.append("  Workers   ").append(stack.workerSummary()).append('\n')
                .append('\n')
                .append("Admin page: ").append(api).append("/admin   token: ")
                .append(tokenFromEnvironment ? "yours, from " + AdminToken.TOKEN
                        : stack.adminToken() + "   (" + AdminToken.TOKEN + " to choose your own)")
                .append('\n')
                .append("Webhook signing secret: ")
                .append(webhookSecretFromEnvironment ? "yours, from " + WebhookSettings.SECRET
                        : stack.webhookSecret() + "   (" + WebhookSettings.SECRET + " to choose your own)")
                .append('\n')
                .append('\n')
                .append("Submit a sample job, then read it (use the jobId the first call returns):\n")
                .append("  curl -s -X POST ").append(host).append("/jobs -H 'Content-Type: application/json'")
                .append(" -d '{\"type\":\"sample\",\"input\":{\"sleepMs\":1000,\"output\":\"hello\"}}'\n")
                .append("  curl -s ").append(host).append("/jobs/<jobId>\n")
                .append('\n');
        return text.toString();
    }
}
