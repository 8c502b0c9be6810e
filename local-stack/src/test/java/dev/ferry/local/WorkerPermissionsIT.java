package dev.ferry.local;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.DynamoDbJobStore;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.JobMessage;
import dev.ferry.core.Json;
import dev.ferry.worker.GpuSlot;
import dev.ferry.worker.QueueSettings;
import dev.ferry.worker.Worker;
import dev.ferry.worker.WorkerConfig;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkRequest;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.interceptor.SdkExecutionAttribute;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.SendMessageRequest;

/**
 * The worker's IAM policy in {@code infra/template.yaml} ({@code WorkerRole}, policy
 * {@code worker-process}) allows exactly the calls the worker makes. A real worker, configured as
 * the instance bootstrap configures it, runs on the local stack with SDK clients that record every
 * call, through every path that calls something different: a message on its last receive (re-sent
 * fresh), success, a failed attempt and its back-off, out of attempts (the message moved to the
 * dead-letter queue), a duplicate of a finished job, a duplicate of a running job, and a drain that
 * gives a running job back; and its scale-in protection, with a recording Auto Scaling client,
 * through busy and idle. The recorded actions must equal the policy's, both ways, and every call
 * must target a resource the statement that allows it grants. Its job files go through a recording
 * S3 client too: a file input read from uploads/, a PNG, a log and a result written under jobs/.
 */
class WorkerPermissionsIT {

    private static final Duration FINISH = Duration.ofSeconds(60);
    private static final Pattern SUB_VARIABLE = Pattern.compile("\\$\\{([^}]+)}");

    private static LocalStack stack;
    private static Api api;
    private static final Recorder RECORDER = new Recorder();

    @BeforeAll
    static void start() {
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(0).build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    /** One AWS call: its IAM action ({@code sqs:SendMessage}) and its target (queue URL or table name). */
    private record Call(String action, String target) {
    }

    /** Records every call made through the clients it is added to. */
    private static final class Recorder implements ExecutionInterceptor {
        final Set<Call> calls = ConcurrentHashMap.newKeySet();

        @Override
        public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
            String service = attributes.getAttribute(SdkExecutionAttribute.SERVICE_NAME).toLowerCase();
            String operation = attributes.getAttribute(SdkExecutionAttribute.OPERATION_NAME);
            SdkRequest request = context.request();
            String target = request.getValueForField("QueueUrl", String.class)
                    .or(() -> request.getValueForField("QueueName", String.class))
                    .or(() -> request.getValueForField("TableName", String.class))
                    .or(() -> request.getValueForField("Bucket", String.class).map(bucket -> bucket + "/"
                            + request.getValueForField("Key", String.class).orElse("")))
                    .orElse("?");
            calls.add(new Call(service + ":" + iamAction(operation), target));
        }

        /** The IAM action an operation needs: a batch operation needs its single form's, HeadObject GetObject's. */
        private static String iamAction(String operation) {
            return switch (operation) {
                case "SendMessageBatch" -> "SendMessage";
                case "DeleteMessageBatch" -> "DeleteMessage";
                case "ChangeMessageVisibilityBatch" -> "ChangeMessageVisibility";
                case "HeadObject" -> "GetObject";
                default -> operation;
            };
        }

        Set<String> actions() {
            Set<String> actions = new TreeSet<>();
            calls.forEach(call -> actions.add(call.action()));
            return actions;
        }
    }

    /**
     * The environment the bootstrap gives the worker ({@code /etc/ferry/stack.env}), the template's
     * references resolved to this stack's queue and table.
     */
    private static Map<String, String> bootstrapEnvironment(String drainGrace) {
        // The pool's queues are the Fn::Sub's own variables (PoolJobQueue, PoolPriorityQueue).
        Map<String, String> values = new HashMap<>(Map.of("PoolJobQueue", stack.queueUrl(),
                "PoolPriorityQueue", stack.pools().get(0).priorityQueueUrl().orElseThrow(), "JobsTable",
                stack.tableName(), "FilesBucket", stack.bucketName().orElseThrow(),
                "AWS::Region", stack.environment().required(FerryEnv.AWS_REGION), "DrainGraceSeconds", drainGrace,
                "JobRetentionDays", "30", "WorkersTable", stack.environment().required(FerryEnv.WORKERS_TABLE),
                "AWS::StackName", "ferry"));
        // The pool has no rule to retry elsewhere: the bootstrap writes them empty.
        values.putAll(Map.of("RetryWhen", "", "RetryPool", "", "RetryQueue", ""));
        Map<String, String> env = new HashMap<>();
        TemplateFacts.envLines(TemplateFacts.heredoc(TemplateFacts.userData(), "/etc/ferry/stack.env"))
                .forEach((name, value) -> {
                    Matcher matcher = SUB_VARIABLE.matcher(value);
                    StringBuilder resolved = new StringBuilder();
                    while (matcher.find()) {
                        String replacement = values.get(matcher.group(1));
                        if (replacement == null) {
                            throw new AssertionError("stack.env's " + name + " uses ${" + matcher.group(1)
                                    + "}, which this test does not resolve");
                        }
                        matcher.appendReplacement(resolved, Matcher.quoteReplacement(replacement));
                    }
                    matcher.appendTail(resolved);
                    env.put(name, resolved.toString());
                });
        return env;
    }

    /**
     * The endpoints and credentials of the backend: what an instance gets from its region and role.
     * On an external backend the credentials are the SDK's chain's, as for the stack's own clients.
     */
    private static Map<String, String> localPlumbing() {
        FerryEnv local = stack.environment();
        Map<String, String> env = new HashMap<>();
        for (String variable : List.of(FerryEnv.AWS_ENDPOINT_URL_SQS, FerryEnv.AWS_ENDPOINT_URL_DYNAMODB,
                FerryEnv.AWS_ACCESS_KEY_ID, FerryEnv.AWS_SECRET_ACCESS_KEY)) {
            local.optional(variable).ifPresent(value -> env.put(variable, value));
        }
        // S3's endpoint, and on the embedded S3 the checksums it can read.
        for (String variable : List.of(FerryEnv.AWS_ENDPOINT_URL_S3, FerryEnv.AWS_REQUEST_CHECKSUM_CALCULATION)) {
            local.optional(variable).ifPresent(value -> env.put(variable, value));
        }
        // No GPUs and no instance metadata here.
        env.putAll(Map.of(WorkerConfig.SLOTS, "1", WorkerConfig.NOTICE_POLL, "0", WorkerConfig.WAIT_SECONDS, "1"));
        return env;
    }

    /** The stack's clients' credentials: the embedded emulators' fixed ones, else the SDK's chain. */
    private static AwsCredentialsProvider credentials(FerryEnv env) {
        return env.optional(FerryEnv.AWS_ACCESS_KEY_ID).<AwsCredentialsProvider>map(key -> StaticCredentialsProvider
                .create(AwsBasicCredentials.create(key, env.required(FerryEnv.AWS_SECRET_ACCESS_KEY))))
                .orElseGet(DefaultCredentialsProvider::create);
    }

    @Test
    void theBootstrapsEnvironment_andTheDefaultWorkerEnv_areEnoughToStartAWorker() {
        Map<String, String> env = new HashMap<>();
        Object defaultWorkerEnv = TemplateFacts.map(TemplateFacts.map(TemplateFacts.raw(), "Parameters"),
                "WorkerEnvironment").get("Default");
        String decoded = new String(Base64.getDecoder().decode((String) defaultWorkerEnv), StandardCharsets.UTF_8);
        env.putAll(TemplateFacts.envLines(decoded.lines().toList()));
        env.putAll(bootstrapEnvironment("1"));
        env.putAll(localPlumbing());
        Worker worker = Worker.fromEnvironment(env);
        worker.start();
        worker.close();
        assertEquals(stack.queueUrl(), env.get(FerryEnv.QUEUE_URL), "the workers' queue is the functions' queue");
        assertEquals(stack.tableName(), env.get(FerryEnv.TABLE), "the workers' table is the functions' table");
    }

    @Test
    void workerRole_allowsExactlyTheCallsTheWorkerMakes_onTheQueueAndTableOnly() {
        Map<String, String> env = new HashMap<>(stack.environment().asMap());
        env.putAll(bootstrapEnvironment("1"));
        env.putAll(localPlumbing());
        env.put(WorkerConfig.WORKER_ID, "recorded");
        env.put(WorkerConfig.LEASE, "3");
        env.put(WorkerConfig.HEARTBEAT, "1");
        env.put(WorkerConfig.RETRY_BASE, "1");
        env.put(WorkerConfig.RETRY_MAX, "2");
        env.put(WorkerConfig.DUPLICATE_DEFER, "2");
        FerryEnv ferryEnv = FerryEnv.of(env);
        software.amazon.awssdk.services.sqs.SqsClientBuilder sqsBuilder = SqsClient.builder()
                .region(Region.of(env.get(FerryEnv.AWS_REGION)))
                .credentialsProvider(credentials(ferryEnv))
                .httpClient(UrlConnectionHttpClient.create())
                .overrideConfiguration(o -> o.addExecutionInterceptor(RECORDER));
        ferryEnv.optional(FerryEnv.AWS_ENDPOINT_URL_SQS).ifPresent(url -> sqsBuilder.endpointOverride(URI.create(url)));
        SqsClient sqs = sqsBuilder.build();
        software.amazon.awssdk.services.dynamodb.DynamoDbClientBuilder dynamoDbBuilder = DynamoDbClient.builder()
                .region(Region.of(env.get(FerryEnv.AWS_REGION)))
                .credentialsProvider(credentials(ferryEnv))
                .httpClient(UrlConnectionHttpClient.create())
                .overrideConfiguration(o -> o.addExecutionInterceptor(RECORDER));
        ferryEnv.optional(FerryEnv.AWS_ENDPOINT_URL_DYNAMODB)
                .ifPresent(url -> dynamoDbBuilder.endpointOverride(URI.create(url)));
        DynamoDbClient dynamoDb = dynamoDbBuilder.build();
        // What Worker.fromEnvironment checks at start, on the recording client.
        dev.ferry.worker.StackTarget.checkTable(dynamoDb, ferryEnv.required(FerryEnv.TABLE));
        software.amazon.awssdk.services.s3.S3ClientBuilder s3Builder = software.amazon.awssdk.services.s3.S3Client
                .builder()
                .region(Region.of(env.get(FerryEnv.AWS_REGION)))
                .credentialsProvider(credentials(ferryEnv))
                .httpClient(UrlConnectionHttpClient.create())
                .overrideConfiguration(o -> o.addExecutionInterceptor(RECORDER));
        ferryEnv.optional(FerryEnv.AWS_ENDPOINT_URL_S3).ifPresent(url -> s3Builder.endpointOverride(URI.create(url))
                .forcePathStyle(true));
        ferryEnv.optional(FerryEnv.AWS_REQUEST_CHECKSUM_CALCULATION).ifPresent(value -> s3Builder
                .requestChecksumCalculation(software.amazon.awssdk.core.checksums.RequestChecksumCalculation
                        .valueOf(value)));
        dev.ferry.core.JobFiles files = new dev.ferry.core.JobFiles(s3Builder.build(),
                dev.ferry.core.AwsClients.s3Presigner(ferryEnv), ferryEnv.required(FerryEnv.BUCKET),
                java.time.Duration.ofMinutes(5), Clock.systemUTC());
        List<GpuSlot> slots = List.of(new GpuSlot(0, "0"), new GpuSlot(1, "1"));
        dev.ferry.worker.SlotActivity activity = new dev.ferry.worker.SlotActivity(Worker.handlers(env), slots,
                Clock.systemUTC());
        Worker worker = new Worker(sqs, DynamoDbJobStore.fromEnvironment(dynamoDb, ferryEnv),
                activity, slots,
                WorkerConfig.from(ferryEnv), QueueSettings.read(sqs, ferryEnv.required(FerryEnv.QUEUE_URL)),
                Clock.systemUTC(), java.util.Optional.of(files));
        // Its heartbeat, as Worker.fromEnvironment wires it, through the recording client.
        dev.ferry.worker.WorkerStatus status = new dev.ferry.worker.WorkerStatus("recorded", "default",
                java.time.Duration.ofSeconds(1), activity, new dev.ferry.worker.WorkerStatus.Lifecycle() {
                    @Override
                    public String drainReason() {
                        return worker.draining() ? "shutdown" : null;
                    }

                    @Override
                    public boolean stopped() {
                        return false;
                    }
                }, Clock.systemUTC());
        dev.ferry.worker.FleetReporter heartbeat = new dev.ferry.worker.FleetReporter(dynamoDb,
                ferryEnv.required(FerryEnv.WORKERS_TABLE), status::snapshot, java.time.Duration.ofSeconds(1),
                java.time.Duration.ofMinutes(2)).start();
        // A message received three times already (as if workers had vanished with it): on its last
        // receive the worker re-sends it as a fresh copy instead of running it.
        String rearmed = api.submit("{\"type\":\"sample\",\"input\":{\"sleepMs\":200}}").jobId();
        receiveAndDrop(stack.maxReceiveCount() - 1);
        worker.start();
        try {
            api.awaitStatus(rearmed, "SUCCEEDED", FINISH);
            // Success, and a duplicate of the finished job: deleted unrun.
            String done = api.submit("{\"type\":\"sample\",\"input\":{\"output\":1}}").jobId();
            api.awaitStatus(done, "SUCCEEDED", FINISH);
            sendCopy(done, "{\"output\":1}");
            // Job files: a file input read from uploads/, then a PNG, the result and the log under jobs/.
            Api.Response upload = api.createUpload();
            api.put(upload.body().get("url").asText(), new byte[] {1, 2, 3});
            String withFiles = api.submit("{\"type\":\"sample\",\"input\":{\"output\":{\"$file\":\""
                    + upload.body().get("uploadId").asText() + "\"},\"image\":{\"width\":4,\"height\":4}}}").jobId();
            api.awaitStatus(withFiles, "SUCCEEDED", FINISH);
            // A failed attempt backs off, then succeeds.
            String retried = api.submit("{\"type\":\"sample\",\"input\":{\"failTimes\":1}}").jobId();
            api.awaitStatus(retried, "SUCCEEDED", FINISH);
            // Out of attempts: FAILED, and its message moved to the dead-letter queue by the worker.
            String failed = api.submit("{\"type\":\"sample\",\"input\":{\"failTimes\":99}}").jobId();
            api.awaitStatus(failed, "FAILED", FINISH);
            await().atMost(FINISH).until(() -> Queues.peekJobIds(stack.sqs(), stack.deadLetterQueueUrl()).contains(failed));
            // A duplicate of a job that is running right now.
            String running = api.submit("{\"type\":\"sample\",\"input\":{\"sleepMs\":3000}}").jobId();
            api.awaitStatus(running, "RUNNING", FINISH);
            sendCopy(running, "{\"sleepMs\":3000}");
            api.awaitStatus(running, "SUCCEEDED", FINISH);
            // Every copy handled.
            await().atMost(FINISH).pollInterval(Duration.ofMillis(250))
                    .until(() -> Queues.depth(stack.sqs(), stack.queueUrl()) == 0);
            // A drain gives a running job back.
            String givenBack = api.submit("{\"type\":\"sample\",\"input\":{\"sleepMs\":30000}}").jobId();
            api.awaitStatus(givenBack, "RUNNING", FINISH);
        } finally {
            worker.close();
            heartbeat.close();
        }
        protectAndUnprotect();

        Set<String> allowed = new TreeSet<>();
        for (Map<String, Object> statement : TemplateFacts.rolePolicy("GpuWorkerRole", "worker-process")) {
            allowed.addAll(TemplateFacts.actions(statement));
        }
        Set<String> made = RECORDER.actions();
        Set<String> notAllowed = new TreeSet<>(made);
        notAllowed.removeAll(allowed);
        Set<String> neverMade = new TreeSet<>(allowed);
        neverMade.removeAll(made);
        assertEquals(Set.of(), notAllowed, "the worker makes calls its role does not allow (made " + made + ")");
        assertEquals(Set.of(), neverMade, "the worker's role allows calls the worker never made (made " + made + ")");
        // Each call targets what a statement that allows its action grants.
        Map<String, Set<String>> targetsOf = Map.of(
                "GpuJobQueue", Set.of(stack.queueUrl()),
                "GpuPriorityQueue", Set.of(stack.pools().get(0).priorityQueueUrl().orElseThrow()),
                "GpuJobDeadLetterQueue", Set.of(stack.deadLetterQueueUrl(), queueName(stack.deadLetterQueueUrl())),
                "JobsTable", Set.of(stack.tableName()),
                "WorkersTable", Set.of(stack.environment().required(FerryEnv.WORKERS_TABLE)));
        String bucketArn = "arn:aws:s3:::" + stack.bucketName().orElseThrow();
        List<TemplateFacts.Grant> grants = TemplateFacts.grants("GpuWorkerRole", "worker-process");
        for (Call call : RECORDER.calls) {
            boolean granted = grants.stream().filter(g -> g.actions().contains(call.action())).anyMatch(g ->
                    g.onAnyResource()
                            || g.resourceIds().stream().anyMatch(id -> targetsOf.getOrDefault(id, Set.of())
                                    .contains(call.target()))
                            || g.arnPatterns().stream().anyMatch(pattern -> pattern.endsWith("/" + call.target()
                                    .replace(stack.stackName(), "${AWS::StackName}"))
                                    || objectArnMatches(pattern.replace("${FilesBucket.Arn}", bucketArn),
                                            "arn:aws:s3:::" + call.target())));
            assertTrue(granted, call + ": no statement grants this action on this target");
        }
        assertTrue(made.size() >= 5, made.toString());
    }

    /** Whether an object ARN ({@code arn:aws:s3:::bucket/key}) falls under an ARN pattern ending in {@code *}. */
    static boolean objectArnMatches(String pattern, String objectArn) {
        return pattern.endsWith("*") ? objectArn.startsWith(pattern.substring(0, pattern.length() - 1))
                : objectArn.equals(pattern);
    }

    @Test
    void objectArnMatches_takesTheKeyPrefixOfAPattern() {
        assertTrue(objectArnMatches("arn:aws:s3:::b/jobs/*", "arn:aws:s3:::b/jobs/j1/1/log.txt"));
        assertTrue(!objectArnMatches("arn:aws:s3:::b/jobs/*", "arn:aws:s3:::b/uploads/up_1"));
        assertTrue(!objectArnMatches("arn:aws:s3:::b/jobs/*", "arn:aws:s3:::other/jobs/j1"));
    }

    private static String queueName(String url) {
        return url.substring(url.lastIndexOf('/') + 1);
    }

    /**
     * The scale-in protection through a client that records its calls as the SDK would make them:
     * busy (protected), then idle (unprotected).
     */
    private static void protectAndUnprotect() {
        String group = stack.stackName() + "-" + stack.pools().get(0).name() + "-workers"; // the pool's group
        software.amazon.awssdk.services.autoscaling.AutoScalingClient autoScaling =
                (software.amazon.awssdk.services.autoscaling.AutoScalingClient) java.lang.reflect.Proxy.newProxyInstance(
                        WorkerPermissionsIT.class.getClassLoader(),
                        new Class<?>[] {software.amazon.awssdk.services.autoscaling.AutoScalingClient.class},
                        (proxy, method, args) -> method.isDefault() && args != null && args.length == 1
                                && args[0] instanceof java.util.function.Consumer<?>
                                ? java.lang.reflect.InvocationHandler.invokeDefault(proxy, method, args)
                                : switch (method.getName()) {
                            case "describeAutoScalingInstances" -> {
                                RECORDER.calls.add(new Call("autoscaling:DescribeAutoScalingInstances", "?"));
                                yield software.amazon.awssdk.services.autoscaling.model
                                        .DescribeAutoScalingInstancesResponse.builder().autoScalingInstances(
                                                software.amazon.awssdk.services.autoscaling.model
                                                        .AutoScalingInstanceDetails.builder()
                                                        .instanceId("i-0123").autoScalingGroupName(group).build())
                                        .build();
                            }
                            case "setInstanceProtection" -> {
                                var request = (software.amazon.awssdk.services.autoscaling.model
                                        .SetInstanceProtectionRequest) args[0];
                                RECORDER.calls.add(new Call("autoscaling:SetInstanceProtection",
                                        request.autoScalingGroupName()));
                                PROTECTED.set(request.protectedFromScaleIn());
                                yield software.amazon.awssdk.services.autoscaling.model
                                        .SetInstanceProtectionResponse.builder().build();
                            }
                            case "close" -> null;
                            case "serviceName" -> "autoscaling";
                            default -> throw new AssertionError("unexpected Auto Scaling call " + method.getName());
                        });
        dev.ferry.worker.ScaleInProtection protection = dev.ferry.worker.ScaleInProtection
                .forInstance(autoScaling, "i-0123", Duration.ofMillis(200)).orElseThrow().start();
        try {
            protection.accept(1);
            await().atMost(FINISH).until(() -> Boolean.TRUE.equals(PROTECTED.get()));
            protection.accept(0);
            await().atMost(FINISH).until(() -> Boolean.FALSE.equals(PROTECTED.get()));
        } finally {
            protection.close();
        }
    }

    private static final java.util.concurrent.atomic.AtomicReference<Boolean> PROTECTED =
            new java.util.concurrent.atomic.AtomicReference<>();

    /** Receives the one message in the job queue {@code times} times, letting it go each time. */
    private static void receiveAndDrop(int times) {
        for (int received = 0; received < times; ) {
            List<Message> messages = stack.sqs().receiveMessage(r -> r.queueUrl(stack.queueUrl())
                    .waitTimeSeconds(1).visibilityTimeout(0)).messages();
            received += messages.size();
        }
    }

    private static void sendCopy(String jobId, String input) {
        String body = new JobMessage(jobId, "sample", Json.parse(input)).toJson();
        stack.sqs().sendMessage(SendMessageRequest.builder().queueUrl(stack.queueUrl()).messageBody(body).build());
    }
}
