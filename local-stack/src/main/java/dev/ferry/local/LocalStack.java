package dev.ferry.local;

import dev.ferry.core.AwsClients;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.Pools;
import dev.ferry.functions.AdminToken;
import dev.ferry.functions.WebhookSettings;
import dev.ferry.worker.CommandJobHandler;
import dev.ferry.worker.GpuSlots;
import dev.ferry.worker.JobTypes;
import dev.ferry.worker.LambdaPoolHandler;
import dev.ferry.worker.Worker;
import dev.ferry.worker.WorkerConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import com.amazonaws.services.lambda.runtime.events.DynamodbEvent;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import com.amazonaws.services.lambda.runtime.events.StreamsEventResponse;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.streams.DynamoDbStreamsClient;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * The whole Ferry pipeline in this JVM, with no Docker: ElasticMQ for SQS, DynamoDB Local, S3Proxy
 * for S3, the queues, table and files bucket made from {@code infra/template.yaml}, the API's routes
 * served by the same handler classes Lambda runs, and real workers that run jobs as processes.
 *
 * <p>Job type {@code sample} runs the warm {@link SampleHandler}. Local settings make failure fast to watch: a
 * job that fails every attempt reads FAILED within a minute ({@link #LOCAL_TEMPLATE_PARAMETERS},
 * and leases of 10 s, heartbeats every 3 s, retry delays of 1-5 s for the workers).
 *
 * <pre>{@code
 * try (LocalStack stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).build())) {
 *     HttpRequest submit = HttpRequest.newBuilder(stack.apiEndpoint().resolve("/jobs"))
 *             .POST(BodyPublishers.ofString("{\"type\":\"sample\",\"input\":{\"output\":42}}")).build();
 *     ...
 * }
 * }</pre>
 */
public final class LocalStack implements AutoCloseable {

    /** Region of the local stack's clients and ARNs, unless {@code AWS_REGION} is overridden. */
    public static final String DEFAULT_REGION = "us-east-1";
    /**
     * Template parameters the local stack overrides: a job gets 3 attempts, and a message whose
     * worker vanished is seen again after 30 s.
     */
    public static final Map<String, String> LOCAL_TEMPLATE_PARAMETERS =
            Map.of("MaxReceiveCount", "3", "VisibilityTimeoutSeconds", "30");
    /**
     * Function settings the local stack replaces where the template sets them: the template's
     * longest {@code Prefer: wait} is bounded by API Gateway's 29 s integration timeout, which the
     * local API does not have; locally a request may wait as long as Ferry allows at all, 60 s.
     */
    public static final Map<String, String> LOCAL_FUNCTION_ENVIRONMENT = Map.of("FERRY_MAX_WAIT", "60",
            // No CloudWatch locally: embedded-metric lines would only clutter the readable log
            // (a test or a user turns them on with an environment override).
            dev.ferry.core.FerryEnv.METRICS_NAMESPACE, "");

    private static final Logger LOG = LoggerFactory.getLogger(LocalStack.class);
    private static final String SAMPLE_JOB_TYPE = "SAMPLE";
    /**
     * Prefixes of the variables the stack owns: of {@link Options#jobBaseEnvironment()} it keeps
     * none that start so. {@code AWS_}: the stack's clients, workers and job programs use the
     * stack's own AWS settings (its emulators), never a mix with the user's profile, session token
     * or endpoints. {@code FERRY_}: Ferry's settings come through
     * {@link Options#environmentOverrides()} only, so the workers never run with a setting the
     * functions do not have.
     */
    static final List<String> STACK_PREFIXES = List.of("AWS_", "FERRY_");

    private final Options options;
    /** What to close, most recently started first. */
    private final Deque<AutoCloseable> started = new ArrayDeque<>();
    private final List<Worker> workers = new ArrayList<>();
    private EmbeddedSqs embeddedSqs;
    private EmbeddedDynamoDb embeddedDynamoDb;
    private EmbeddedS3 embeddedS3;
    private SqsClient sqs;
    private DynamoDbClient dynamoDb;
    private S3Client s3;
    private SamTemplate template;
    private LocalResources resources;
    private ApiServer api;
    private FerryEnv environment;
    private Path sampleLedger;
    private List<LocalPool> pools;
    private int workerCount;
    private boolean up;
    private boolean closed;

    private LocalStack(Options options) {
        this.options = options;
    }

    /**
     * Starts the emulators, creates the template's resources, serves the API and starts
     * {@link Options#workers()} workers. On failure, whatever had started is stopped again.
     *
     * @throws PortInUseException when the API port is taken
     * @throws TemplateException when the template cannot be built locally
     */
    public static LocalStack start(Options options) {
        Objects.requireNonNull(options, "options");
        LocalStack stack = new LocalStack(options);
        try {
            stack.startAll();
            return stack;
        } catch (RuntimeException | Error e) {
            try {
                stack.close();
            } catch (RuntimeException closeFailure) {
                e.addSuppressed(closeFailure);
            }
            throw e;
        }
    }

    private void startAll() {
        Map<String, String> overrides = options.environmentOverrides();
        Backend backend = options.backend();
        // The API's port first: a taken port fails the start before anything slow has started.
        api = ApiServer.bind(options.apiPort());

        Map<String, String> aws = new LinkedHashMap<>();
        String accountId;
        if (backend instanceof Backend.External external) {
            aws.put(FerryEnv.AWS_REGION, external.region());
            for (String variable : List.of(FerryEnv.AWS_ENDPOINT_URL_SQS, FerryEnv.AWS_ENDPOINT_URL_DYNAMODB,
                    FerryEnv.AWS_ENDPOINT_URL_S3, Backend.ENDPOINT_URL_STS)) {
                external.endpoint(variable).ifPresent(endpoint -> aws.put(variable, endpoint.toString()));
            }
            // Credentials: the SDK's default chain (environment, profile, role), nothing set here.
        } else {
            String region = overrides.getOrDefault(FerryEnv.AWS_REGION, DEFAULT_REGION);
            embeddedSqs = track(EmbeddedSqs.start(region));
            embeddedDynamoDb = track(EmbeddedDynamoDb.start());
            embeddedS3 = track(EmbeddedS3.start());
            aws.put(FerryEnv.AWS_REGION, region);
            aws.put(FerryEnv.AWS_ENDPOINT_URL_SQS, embeddedSqs.endpoint().toString());
            aws.put(FerryEnv.AWS_ENDPOINT_URL_DYNAMODB, embeddedDynamoDb.endpoint().toString());
            aws.put(FerryEnv.AWS_ENDPOINT_URL_S3, embeddedS3.endpoint().toString());
            // ElasticMQ and DynamoDB Local take any key; S3Proxy checks signatures with this one.
            aws.put(FerryEnv.AWS_ACCESS_KEY_ID, EmbeddedS3.ACCESS_KEY_ID);
            aws.put(FerryEnv.AWS_SECRET_ACCESS_KEY, EmbeddedS3.SECRET_ACCESS_KEY);
            // S3Proxy cannot read the SDK's default upload over plain HTTP (a trailing checksum).
            aws.put(FerryEnv.AWS_REQUEST_CHECKSUM_CALCULATION, EmbeddedS3.CHECKSUM_WHEN_REQUIRED);
        }
        // The admin API's token: Secrets Manager's job in AWS; here a fresh random one per start.
        aws.put(AdminToken.TOKEN, newAdminToken());
        // The webhooks' signing key, likewise; and receivers on this machine, over plain HTTP.
        aws.put(WebhookSettings.SECRET, newAdminToken());
        aws.put(WebhookSettings.ALLOW_HTTP, "true");
        aws.put(WebhookSettings.ALLOW_PRIVATE, "true");
        aws.putAll(overrides);
        FerryEnv clientEnv = FerryEnv.of(aws);
        sqs = track(AwsClients.sqs(clientEnv));
        dynamoDb = track(AwsClients.dynamoDb(clientEnv));
        s3 = track(AwsClients.s3(clientEnv));
        accountId = backend instanceof Backend.External
                ? BackendIdentity.accountId(clientEnv, sqs, options.stackName())
                : EmbeddedSqs.ACCOUNT_ID;

        Map<String, String> parameters = new LinkedHashMap<>(LOCAL_TEMPLATE_PARAMETERS);
        parameters.putAll(options.templateParameters());
        Path templatePath = options.templatePath().orElseGet(() -> SamTemplate.find(Path.of("")));
        template = SamTemplate.load(templatePath, parameters, new SamTemplate.PseudoParameters(
                options.stackName(), clientEnv.required(FerryEnv.AWS_REGION), accountId));
        resources = LocalResources.create(template, sqs, dynamoDb, s3, options.reconcile());
        if (options.deleteCreatedOnClose()) {
            LocalResources created = resources;
            started.push(() -> created.deleteCreated(sqs, dynamoDb, s3));
        }

        Map<String, Map<String, String>> functionEnvironments = new LinkedHashMap<>();
        // Job programs start from the worker's environment: the user's, with the stack's over it.
        Map<String, String> all = new LinkedHashMap<>(userEnvironment(options.jobBaseEnvironment()));
        all.putAll(aws);
        Map<String, String> functionAws = new LinkedHashMap<>(aws);
        // S3 stays direct: the functions' presigned URLs name its endpoint, and clients fetch them.
        for (String variable : List.of(FerryEnv.AWS_ENDPOINT_URL_SQS, FerryEnv.AWS_ENDPOINT_URL_DYNAMODB)) {
            functionAws.put(variable, options.functionEndpoints().apply(variable, URI.create(aws.get(variable)))
                    .toString());
        }
        for (SamTemplate.Function function : template.functions()) {
            Map<String, String> env = new LinkedHashMap<>(functionAws);
            env.putAll(template.environment(function.logicalId(), resources));
            LOCAL_FUNCTION_ENVIRONMENT.forEach((name, value) -> env.computeIfPresent(name, (n, templates) -> value));
            // No Auto Scaling group locally: the fleet view says so, rather than ask AWS for the template's
            // (each pool's, FERRY_POOL_<name>_WORKER_GROUP; FERRY_WORKER_GROUP without pools).
            env.replaceAll((name, value) -> name.equals("FERRY_WORKER_GROUP")
                    || name.startsWith("FERRY_POOL_") && name.endsWith("_WORKER_GROUP") ? "" : value);
            env.putAll(LOCAL_FUNCTION_SETTINGS);
            // A Lambda pool's function is a worker: the local workers' short lease and back-off.
            boolean poolFunction = function.handlerClass().equals(LambdaPoolHandler.class.getName());
            if (poolFunction) {
                env.putAll(LOCAL_JOB_TIMINGS);
                // Its job programs start from the user's environment (PATH, HOME), as the workers' do and as
                // a function's process environment is in Lambda.
                userEnvironment(options.jobBaseEnvironment()).forEach(env::putIfAbsent);
            }
            env.putAll(overrides);
            functionEnvironments.put(function.logicalId(), env);
            if (!poolFunction) {
                // The workers' settings are the API functions' (a pool function's queue and lease are its own).
                Map<String, String> direct = new LinkedHashMap<>(env);
                direct.putAll(aws);
                all.putAll(direct);
            }
        }
        sampleLedger = createLedger();
        all.putAll(localWorkerEnvironment(options.workerSlots(), sampleLedger));
        boolean sampleOverridden = overrides.keySet().stream().anyMatch(name -> java.util.Arrays.stream(
                JobTypes.Kind.values()).anyMatch(kind -> name.toUpperCase(Locale.ROOT).equals(kind.prefix()
                + JobTypes.envSuffix(SAMPLE_JOB_TYPE))));
        if (sampleOverridden) {
            // A type runs one way only: the override's way replaces the warm default.
            all.remove(JobTypes.Kind.HANDLER.prefix() + JobTypes.envSuffix(SAMPLE_JOB_TYPE));
        }
        all.putAll(overrides);
        environment = FerryEnv.of(all);
        pools = findPools(resources);
        // What a worker of the first pool is given (a test or tool starting its own worker from this).
        poolWorkerSettings(pools.get(0)).forEach(all::putIfAbsent);
        all.putAll(overrides);
        environment = FerryEnv.of(all);

        Map<String, LocalFunction> functions = new LinkedHashMap<>();
        List<ApiServer.Route> routes = new ArrayList<>();
        for (SamTemplate.Route route : template.routes()) {
            String id = route.function().logicalId();
            LocalFunction function = functions.computeIfAbsent(id,
                    key -> LocalFunction.load(route.function(), functionEnvironments.get(key)));
            routes.add(new ApiServer.Route(route.method(), route.path(), route.stage(), function));
        }
        api.serve(routes);
        startEventSources(functions, functionEnvironments, clientEnv);

        for (LocalPool pool : workerPools()) {
            for (int i = 0; i < options.workers(); i++) {
                startWorker(Map.of(FerryEnv.POOL, pool.name()));
            }
        }
        up = true;
        LOG.info("local stack {} up on {}: API {}, {} worker(s) with {} slot(s) each{}", options.stackName(),
                backend.describe(), api.endpoint(), options.workers() * workerPools().size(), options.workerSlots(),
                workerPools().size() > 1 ? ", " + options.workers() + " a pool" : "");
    }

    /**
     * Starts a poller per event source mapping of the template ({@link StreamPoller},
     * {@link QueuePoller}): the functions behind a table's stream or a queue run here as Lambda
     * would run them. Closed with the stack, before the emulators.
     */
    private void startEventSources(Map<String, LocalFunction> functions,
                                   Map<String, Map<String, String>> functionEnvironments, FerryEnv clientEnv) {
        String region = clientEnv.required(FerryEnv.AWS_REGION);
        for (SamTemplate.EventSource source : template.eventSources()) {
            String id = source.function().logicalId();
            boolean stream = source.kind() == SamTemplate.EventSource.Kind.DYNAMODB_STREAM;
            boolean loaded = functions.containsKey(id);
            LocalFunction function = functions.computeIfAbsent(id, key -> LocalFunction.load(source.function(),
                    functionEnvironments.get(key), stream ? DynamodbEvent.class : SQSEvent.class,
                    stream ? StreamsEventResponse.class : SQSBatchResponse.class));
            if (!loaded) {
                track(function); // closed after its poller (a Lambda pool's threads)
            }
            if (stream) {
                Optional<String> streamArn = resources.tableStreamArn(source.sourceLogicalId());
                if (streamArn.isEmpty()) {
                    LOG.warn("{}: table {} has no stream on this backend, so {} does not run locally", source.name(),
                            source.sourceLogicalId(), id);
                    continue;
                }
                DynamoDbStreamsClient streams = track(AwsClients.configure(DynamoDbStreamsClient.builder(), clientEnv,
                        FerryEnv.AWS_ENDPOINT_URL_DYNAMODB).build());
                boolean fromStart = resources.createdTable(source.sourceLogicalId())
                        && "TRIM_HORIZON".equals(source.startingPosition());
                StreamPoller poller = track(new StreamPoller(source, streams, streamArn.get(), fromStart, region,
                        function));
                poller.start();
            } else {
                QueuePoller poller = track(new QueuePoller(source, sqs, resources.queueUrl(source.sourceLogicalId()),
                        resources.queueArn(source.sourceLogicalId()), region, function));
                poller.start();
            }
        }
    }

    /** {@code base} without the variables the stack owns ({@link #STACK_PREFIXES}). */
    static Map<String, String> userEnvironment(Map<String, String> base) {
        Map<String, String> kept = new LinkedHashMap<>();
        base.forEach((name, value) -> {
            if (STACK_PREFIXES.stream().noneMatch(name::startsWith)) {
                kept.put(name, value);
            }
        });
        return kept;
    }

    /**
     * What the local stack sets for every worker, before {@link Options#environmentOverrides()}:
     * short leases, heartbeats and retry delays; {@code workerSlots} slots; the {@code sample} job
     * type as a warm handler ({@link SampleHandler}); a 1 s long poll, so that closing a worker does not wait out a 20 s one; 5 s for
     * running jobs to finish when it closes before they are given back; and deletes sent at once
     * (no linger), so that a finished job's message is gone when its job reads finished, as the
     * tests look (the default, 1 s, is for fewer requests: RequestsPerJobIT and the soak run it).
     */
    static Map<String, String> localWorkerEnvironment(int workerSlots, Path sampleLedger) {
        Map<String, String> env = new LinkedHashMap<>(LOCAL_JOB_TIMINGS);
        env.put(WorkerConfig.WAIT_SECONDS, "1");
        env.put(WorkerConfig.DELETE_LINGER, "0");
        env.put(WorkerConfig.DRAIN_GRACE, "5");
        env.put(dev.ferry.worker.FleetSettings.FLEET_HEARTBEAT, "5");
        env.put(GpuSlots.ENV_SLOTS, Integer.toString(workerSlots));
        env.put(JobTypes.Kind.HANDLER.prefix() + JobTypes.envSuffix(SAMPLE_JOB_TYPE), SampleHandler.command());
        env.put(SampleJob.LEDGER, sampleLedger.toString());
        return env;
    }

    /**
     * The lease, heartbeat and back-off of whatever runs jobs locally: the workers
     * ({@link #localWorkerEnvironment}) and a Lambda pool's function ({@link LambdaPoolHandler},
     * over the template's values, before {@link Options#environmentOverrides()}), so that a lost
     * lease or a retry is seconds away.
     */
    static final Map<String, String> LOCAL_JOB_TIMINGS = Map.of(WorkerConfig.LEASE, "10",
            WorkerConfig.HEARTBEAT, "3", WorkerConfig.RETRY_BASE, "1", WorkerConfig.RETRY_MAX, "5");

    /**
     * What the local stack sets for every function over the template's values, before
     * {@link Options#environmentOverrides()}: a failed webhook delivery is tried again after 1 s,
     * doubling to 30 s, so that retries can be watched (and tested) in seconds.
     */
    static final Map<String, String> LOCAL_FUNCTION_SETTINGS = Map.of(WebhookSettings.RETRY_BASE, "1",
            WebhookSettings.RETRY_MAX, "30");

    private static String newAdminToken() {
        byte[] bytes = new byte[24];
        new SecureRandom().nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** The token the admin API accepts ({@code Authorization: Bearer <token>}). */
    public String adminToken() {
        return environment.required(AdminToken.TOKEN);
    }

    /** The key webhook deliveries are signed with. */
    public String webhookSecret() {
        return environment.required(WebhookSettings.SECRET);
    }

    /**
     * The pools the functions route jobs to ({@link Pools}: {@code FERRY_POOLS}, else the one queue
     * of {@code FERRY_QUEUE_URL}), each with its job queue, that queue's dead-letter queue (its
     * redrive target) and receive count.
     */
    private List<LocalPool> findPools(LocalResources resources) {
        List<LocalPool> found = new ArrayList<>();
        for (Pools.Pool pool : Pools.from(environment).all()) {
            String variable = pool.name().equals(Pools.DEFAULT_POOL) && environment.optional(Pools.POOLS).isEmpty()
                    ? FerryEnv.QUEUE_URL : Pools.queueVariable(pool.name());
            SamTemplate.Queue jobQueue = template.queues().stream()
                    .filter(queue -> resources.queueUrl(queue.logicalId()).equals(pool.queueUrl()))
                    .findFirst()
                    .orElseThrow(() -> new TemplateException(variable + " is " + pool.queueUrl() + ", which is none of"
                            + " the template's queues"));
            SamTemplate.Redrive redrive = jobQueue.redrive().orElseThrow(() -> new TemplateException("the job queue "
                    + jobQueue.logicalId() + " has no RedrivePolicy, so failed jobs would never leave it"));
            // A Lambda pool: its queue is a function's event source, and that function is its worker.
            Optional<String> function = template.eventSources().stream()
                    .filter(source -> source.kind() == SamTemplate.EventSource.Kind.SQS
                            && source.sourceLogicalId().equals(jobQueue.logicalId()))
                    .map(source -> source.function().logicalId()).findFirst();
            found.add(new LocalPool(pool.name(), pool.queueUrl(), pool.priorityQueueUrl(),
                    resources.queueUrl(redrive.deadLetterQueueLogicalId()), redrive.maxReceiveCount(), function));
        }
        return List.copyOf(found);
    }

    /**
     * One pool of the local stack: its name, its job queue, its high-priority lane if it has one,
     * its dead-letter queue, and how many receives a job's message gets before it moves there.
     */
    public record LocalPool(String name, String queueUrl, Optional<String> priorityQueueUrl,
                            String deadLetterQueueUrl, int maxReceiveCount, Optional<String> function) {

        /** A GPU pool, run by workers; a Lambda pool is run by its {@link #function()}. */
        public boolean workers() {
            return function.isEmpty();
        }
    }

    /** The pools whose jobs workers run (not a Lambda pool's function). */
    private List<LocalPool> workerPools() {
        return pools.stream().filter(LocalPool::workers).toList();
    }

    /** The pools, as the functions route to them: one, {@value Pools#DEFAULT_POOL}, unless the template declares pools. */
    public List<LocalPool> pools() {
        return pools;
    }

    /** The pool of this name. */
    public LocalPool pool(String name) {
        return pools.stream().filter(pool -> pool.name().equals(name)).findFirst().orElseThrow(() ->
                new IllegalArgumentException("no pool " + name + "; the pools are "
                        + pools.stream().map(LocalPool::name).toList()));
    }

    private Path createLedger() {
        String given = options.environmentOverrides().get(SampleJob.LEDGER);
        if (given != null) {
            return Path.of(given);
        }
        try {
            Path ledger = Files.createTempFile("ferry-sample-ledger-", ".txt");
            started.push(() -> Files.deleteIfExists(ledger));
            return ledger;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the sample job's ledger file", e);
        }
    }

    private <T extends AutoCloseable> T track(T resource) {
        started.push(resource);
        return resource;
    }

    /** The local API, {@code http://localhost:<port>}; routes are also served under the stage. */
    public URI apiEndpoint() {
        return api.endpoint();
    }

    /**
     * What the workers are configured with, and what their job programs start from:
     * {@link Options#jobBaseEnvironment()} (without its {@code AWS_*} and {@code FERRY_*}), and
     * over it {@code AWS_*} pointing at the emulators, the functions' {@code FERRY_*} variables
     * from the template, the workers' local settings, and the overrides from
     * {@link Options#environmentOverrides()}. (Each handler gets only the variables its function
     * declares, with the {@code AWS_*} ones and the overrides.)
     */
    public FerryEnv environment() {
        return environment;
    }

    /** The stack's name, the prefix of its resources' names. */
    public String stackName() {
        return options.stackName();
    }

    /** Where its queues and table live. */
    public Backend backend() {
        return options.backend();
    }

    /** URL of the queue jobs are sent to (of the first pool, where the template declares several). */
    public String queueUrl() {
        return pools.get(0).queueUrl();
    }

    /** URL of the job queue's dead-letter queue (of the first pool, where there are several). */
    public String deadLetterQueueUrl() {
        return pools.get(0).deadLetterQueueUrl();
    }

    /** Name of the job table. */
    public String tableName() {
        return environment.required(FerryEnv.TABLE);
    }

    /** Receives of a job's message before it moves to the dead-letter queue (3 unless overridden). */
    public int maxReceiveCount() {
        return pools.get(0).maxReceiveCount();
    }

    /** An SQS client on the stack's backend; closed by {@link #close()}. */
    public SqsClient sqs() {
        return sqs;
    }

    /** A DynamoDB client on the stack's backend; closed by {@link #close()}. */
    public DynamoDbClient dynamoDb() {
        return dynamoDb;
    }

    /** An S3 client on the stack's backend; closed by {@link #close()}. */
    public S3Client s3() {
        return s3;
    }

    /**
     * The bucket of jobs' files ({@code FERRY_BUCKET} of the functions and workers), or empty
     * when the template gives the functions none.
     */
    public Optional<String> bucketName() {
        return environment.optional(FerryEnv.BUCKET);
    }

    /** The file the sample job appends {@code <jobId> <attempt> start} to, once per run. */
    public Path sampleLedger() {
        return sampleLedger;
    }

    /** The API's routes, e.g. {@code POST /jobs}, for the banner. */
    List<String> routes() {
        return template.routes().stream().map(route -> route.method() + " " + route.path()).toList();
    }

    /** How many workers run with how many slots, and which job types they run. */
    synchronized String workerSummary() {
        List<String> types = JobTypes.fromEnvironment(environment.asMap()).values().stream()
                .map(spec -> spec.name().toLowerCase(Locale.ROOT) + (spec.kind().warm() ? " (warm, "
                        + spec.kind().name().toLowerCase(Locale.ROOT) + ")" : ""))
                .sorted()
                .toList();
        return workers.size() + " x " + environment.required(GpuSlots.ENV_SLOTS) + " slots; job types "
                + String.join(", ", types);
    }

    /**
     * Starts one more worker, with the local environment plus {@code envOverrides}. It serves the
     * pool {@code envOverrides} names ({@code FERRY_POOL}), else the first pool. Each worker has its
     * own {@code FERRY_WORKER_ID} ({@code local-1}, {@code local-2}, ...; {@code local-<pool>-3}
     * where there are several pools) unless {@code envOverrides} sets one. {@link #close()} closes it.
     *
     * @throws IllegalStateException when the stack is closed
     */
    public synchronized Worker startWorker(Map<String, String> envOverrides) {
        if (closed) {
            throw new IllegalStateException("the local stack is closed");
        }
        Map<String, String> env = new LinkedHashMap<>(environment.asMap());
        // A worker serves one pool: the one named, else the first.
        LocalPool pool = Optional.ofNullable(envOverrides.get(FerryEnv.POOL)).map(this::pool).orElse(pools.get(0));
        env.remove(WorkerConfig.PRIORITY_QUEUE_URL); // the first pool's, in environment()
        env.putAll(poolWorkerSettings(pool));
        retryElsewhere(pool).forEach(env::put);
        env.put(WorkerConfig.WORKER_ID, "local-" + (workerPools().size() > 1 ? pool.name() + "-" : "") + (++workerCount));
        env.putAll(envOverrides);
        Worker worker = Worker.fromEnvironment(env);
        workers.add(worker);
        worker.start();
        return worker;
    }

    /** What a worker of this pool is told of it: the pool (unless the one of a template without pools), its queue and lane. */
    private static Map<String, String> poolWorkerSettings(LocalPool pool) {
        Map<String, String> settings = new LinkedHashMap<>();
        if (!pool.name().equals(Pools.DEFAULT_POOL)) {
            settings.put(FerryEnv.POOL, pool.name());
        }
        settings.put(FerryEnv.QUEUE_URL, pool.queueUrl());
        pool.priorityQueueUrl().ifPresent(url -> settings.put(WorkerConfig.PRIORITY_QUEUE_URL, url));
        return settings;
    }

    /**
     * The pool's rule to retry elsewhere, as the template's bootstrap gives it to its workers
     * ({@code FerryPools.<pool>.RetryElsewhereWhen} and {@code RetryElsewhereTo}, the other pool's
     * queue here); empty without one.
     */
    private Map<String, String> retryElsewhere(LocalPool pool) {
        Optional<String> when = template.mapping(POOLS_MAPPING, pool.name(), "RetryElsewhereWhen").filter(w -> !w.isEmpty());
        if (when.isEmpty()) {
            return Map.of();
        }
        String to = template.mapping(POOLS_MAPPING, pool.name(), "RetryElsewhereTo").orElse("");
        return Map.of(dev.ferry.worker.RetryElsewhere.WHEN, when.get(), dev.ferry.worker.RetryElsewhere.POOL, to,
                dev.ferry.worker.RetryElsewhere.QUEUE_URL, pool(to).queueUrl());
    }

    /** The template's mapping that declares each pool (README, Pools). */
    static final String POOLS_MAPPING = "FerryPools";

    /**
     * Stops everything, in order: workers (all at once: each stops receiving and finishes or gives
     * back its jobs), the API, the clients, the emulators. Safe to call twice.
     */
    @Override
    public void close() {
        List<Worker> toClose;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            toClose = List.copyOf(workers);
        }
        RuntimeException failure = closeWorkers(toClose);
        if (api != null) {
            failure = close(api, failure);
        }
        while (!started.isEmpty()) {
            failure = close(started.pop(), failure);
        }
        if (failure != null) {
            throw failure;
        }
        if (up) {
            LOG.info("local stack stopped");
        }
    }

    /** Closes {@code resource}; returns {@code failure} with this failure added, if any. */
    private static RuntimeException close(AutoCloseable resource, RuntimeException failure) {
        try {
            resource.close();
            return failure;
        } catch (Exception e) {
            return collect(failure, new IllegalStateException("closing " + resource + " failed: " + e, e));
        }
    }

    private static RuntimeException collect(RuntimeException failure, RuntimeException next) {
        if (failure == null) {
            return next;
        }
        failure.addSuppressed(next);
        return failure;
    }

    private static RuntimeException closeWorkers(List<Worker> workers) {
        if (workers.isEmpty()) {
            return null;
        }
        ExecutorService closers = Executors.newFixedThreadPool(workers.size(), ApiServer.daemonThreads("ferry-close-"));
        try {
            List<Future<?>> closing = new ArrayList<>();
            for (Worker worker : workers) {
                closing.add(closers.submit(worker::close));
            }
            RuntimeException failure = null;
            for (Future<?> future : closing) {
                try {
                    future.get();
                } catch (ExecutionException e) {
                    failure = collect(failure, new IllegalStateException("closing a worker failed: " + e.getCause(),
                            e.getCause()));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return new IllegalStateException("interrupted while workers were closing", e);
                }
            }
            return failure;
        } finally {
            closers.shutdownNow();
        }
    }

    /** How to start a {@link LocalStack}; {@link #builder()} makes one, {@link #defaults()} the default one. */
    public static final class Options {

        /** The API's port unless set: the one {@code sam local start-api} uses too. */
        public static final int DEFAULT_API_PORT = 3000;
        /** The stack name (resource name prefix) on the embedded emulators and for run-local. */
        public static final String DEFAULT_STACK_NAME = "ferry";
        static final java.util.regex.Pattern STACK_NAME = java.util.regex.Pattern.compile("[A-Za-z][A-Za-z0-9-]{0,59}");
        /**
         * The variable that names the start of an unnamed stack's unique name on an external
         * backend (default {@value #DEFAULT_STACK_NAME}): {@code scripts/test-backends.sh} gives
         * each run a prefix of its own, so that a sweep afterwards finds everything the run made,
         * even what a failed test left behind.
         */
        public static final String STACK_PREFIX = "FERRY_STACK_PREFIX";
        /** A unique name's prefix: a stack name short enough for {@code -} and eight characters after it. */
        static final java.util.regex.Pattern STACK_PREFIX_PATTERN =
                java.util.regex.Pattern.compile("[A-Za-z][A-Za-z0-9-]{0,50}");
        /** Workers started with the stack unless set. */
        public static final int DEFAULT_WORKERS = 1;
        /** Job slots per worker unless set (a machine without GPUs has no slots of its own). */
        public static final int DEFAULT_WORKER_SLOTS = 2;

        private final int apiPort;
        private final int workers;
        private final int workerSlots;
        private final Map<String, String> templateParameters;
        private final Map<String, String> environmentOverrides;
        private final Map<String, String> jobBaseEnvironment;
        private final Path templatePath;
        private final java.util.function.BiFunction<String, URI, URI> functionEndpoints;
        private final Backend backend;
        private final String stackName;
        private final boolean deleteCreatedOnClose;
        private final boolean reconcile;

        private Options(Builder builder) {
            this.apiPort = builder.apiPort;
            this.workers = builder.workers;
            this.workerSlots = builder.workerSlots;
            this.templateParameters = Map.copyOf(builder.templateParameters);
            this.environmentOverrides = Map.copyOf(builder.environmentOverrides);
            this.jobBaseEnvironment = Map.copyOf(builder.jobBaseEnvironment);
            this.templatePath = builder.templatePath;
            this.functionEndpoints = builder.functionEndpoints;
            this.backend = builder.backend != null ? builder.backend : Backend.fromEnvironment(System.getenv());
            boolean named = builder.stackName != null;
            // Embedded emulators start empty; on a shared backend an unnamed stack gets a name of its own.
            this.stackName = named ? builder.stackName
                    : backend instanceof Backend.Embedded ? DEFAULT_STACK_NAME
                    : uniqueStackName(stackPrefix(System.getenv(STACK_PREFIX)));
            this.deleteCreatedOnClose = builder.deleteCreatedOnClose != null ? builder.deleteCreatedOnClose
                    : !named && backend instanceof Backend.External;
            this.reconcile = builder.reconcile;
        }

        /** {@code prefix}, checked, or {@value #DEFAULT_STACK_NAME} when it is null. */
        static String stackPrefix(String prefix) {
            if (prefix == null) {
                return DEFAULT_STACK_NAME;
            }
            if (!STACK_PREFIX_PATTERN.matcher(prefix).matches()) {
                throw new IllegalStateException(STACK_PREFIX + " must be a letter, then letters, digits and hyphens,"
                        + " at most 51 characters, but is '" + prefix + "'");
            }
            return prefix;
        }

        /** A stack name no other run uses: {@code prefix}, {@code -} and eight random characters. */
        static String uniqueStackName(String prefix) {
            String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
            SecureRandom random = new SecureRandom();
            StringBuilder name = new StringBuilder(prefix).append('-');
            for (int i = 0; i < 8; i++) {
                name.append(alphabet.charAt(random.nextInt(alphabet.length())));
            }
            return name.toString();
        }

        /**
         * Where the queues and table live ({@link Backend}); unless set, what
         * {@value Backend#VARIABLE} in this process's environment says (embedded by default), so that
         * the whole test suite runs on the backend it is given.
         */
        public Backend backend() {
            return backend;
        }

        /**
         * The prefix of every resource's name ({@code <stackName>-jobs}, ...): {@code ferry} on
         * the embedded emulators; unless set, on an external backend, {@code ferry-} (or
         * {@value #STACK_PREFIX} and {@code -}) and a random suffix, so that runs never share (or
         * find each other's) queues.
         */
        public String stackName() {
            return stackName;
        }

        /**
         * Whether closing the stack deletes the queues and table this start created (never ones
         * that existed before); unless set, true for an unnamed stack on an external backend (a
         * test run), false otherwise.
         */
        public boolean deleteCreatedOnClose() {
            return deleteCreatedOnClose;
        }

        /**
         * Whether resources that exist with settings other than the template's are brought to the
         * template's; false (default): the start stops with a message naming each difference.
         */
        public boolean reconcile() {
            return reconcile;
        }

        /**
         * Where the API's functions reach SQS and DynamoDB, given the variable
         * ({@code AWS_ENDPOINT_URL_SQS}) and the emulator's endpoint: by default the endpoint
         * itself. A test or the chaos soak puts a fault proxy in between. (S3 is reached directly:
         * the presigned URLs the functions make name its endpoint, and clients fetch them.)
         */
        public java.util.function.BiFunction<String, URI, URI> functionEndpoints() {
            return functionEndpoints;
        }

        /** A builder with every default. */
        public static Builder builder() {
            return new Builder();
        }

        /** Port {@value #DEFAULT_API_PORT}, {@value #DEFAULT_WORKERS} worker, {@value #DEFAULT_WORKER_SLOTS} slots. */
        public static Options defaults() {
            return builder().build();
        }

        /** The API's port; 0 means a free one. */
        public int apiPort() {
            return apiPort;
        }

        /** Workers started with the stack; {@link LocalStack#startWorker} starts more. */
        public int workers() {
            return workers;
        }

        /** Job slots per worker ({@code FERRY_SLOTS}). */
        public int workerSlots() {
            return workerSlots;
        }

        /** Template parameter values, over {@link LocalStack#LOCAL_TEMPLATE_PARAMETERS}. */
        public Map<String, String> templateParameters() {
            return templateParameters;
        }

        /** Environment variables for handlers and workers, over everything the local stack sets. */
        public Map<String, String> environmentOverrides() {
            return environmentOverrides;
        }

        /**
         * The environment a local job's program starts from, under everything the stack sets
         * (which wins, as the job's own variables do): by default this JVM's, so a program finds
         * what the user's shell has ({@code PATH}, {@code HOME}, {@code HF_TOKEN}, ...). Its
         * {@code AWS_*} and {@code FERRY_*} variables are left out ({@link LocalStack#STACK_PREFIXES}).
         */
        public Map<String, String> jobBaseEnvironment() {
            return jobBaseEnvironment;
        }

        /** The template; when empty, {@code infra/template.yaml} in the working directory or a parent. */
        public Optional<Path> templatePath() {
            return Optional.ofNullable(templatePath);
        }

        /** Builds {@link Options}; every setter checks its value at once. */
        public static final class Builder {
            private int apiPort = DEFAULT_API_PORT;
            private int workers = DEFAULT_WORKERS;
            private int workerSlots = DEFAULT_WORKER_SLOTS;
            private Map<String, String> templateParameters = Map.of();
            private Map<String, String> environmentOverrides = Map.of();
            private Map<String, String> jobBaseEnvironment = System.getenv();
            private Path templatePath;
            private java.util.function.BiFunction<String, URI, URI> functionEndpoints = (variable, endpoint) -> endpoint;
            private Backend backend;
            private String stackName;
            private Boolean deleteCreatedOnClose;
            private boolean reconcile;

            private Builder() {
            }

            /** See {@link Options#backend()}. */
            public Builder backend(Backend backend) {
                this.backend = Objects.requireNonNull(backend, "backend");
                return this;
            }

            /**
             * See {@link Options#stackName()}: a letter, then letters, digits and hyphens, at most
             * 60 characters (it prefixes queue and table names).
             */
            public Builder stackName(String stackName) {
                if (stackName == null || !STACK_NAME.matcher(stackName).matches()) {
                    throw new IllegalArgumentException("stackName must be a letter, then letters, digits and hyphens,"
                            + " at most 60 characters, but is '" + stackName + "'");
                }
                this.stackName = stackName;
                return this;
            }

            /** See {@link Options#deleteCreatedOnClose()}. */
            public Builder deleteCreatedOnClose(boolean deleteCreatedOnClose) {
                this.deleteCreatedOnClose = deleteCreatedOnClose;
                return this;
            }

            /** See {@link Options#reconcile()}. */
            public Builder reconcile(boolean reconcile) {
                this.reconcile = reconcile;
                return this;
            }

            /** See {@link Options#functionEndpoints()}. */
            public Builder functionEndpoints(java.util.function.BiFunction<String, URI, URI> functionEndpoints) {
                this.functionEndpoints = Objects.requireNonNull(functionEndpoints, "functionEndpoints");
                return this;
            }

            /** The API's port, 0-65535; 0 picks a free one. */
            public Builder apiPort(int apiPort) {
                if (apiPort < 0 || apiPort > 65_535) {
                    throw new IllegalArgumentException("apiPort must be 0-65535, but is " + apiPort);
                }
                this.apiPort = apiPort;
                return this;
            }

            /** Workers to start with the stack; 0 or more. */
            public Builder workers(int workers) {
                if (workers < 0) {
                    throw new IllegalArgumentException("workers must not be negative, but is " + workers);
                }
                this.workers = workers;
                return this;
            }

            /** Job slots per worker; 1 or more. */
            public Builder workerSlots(int workerSlots) {
                if (workerSlots < 1) {
                    throw new IllegalArgumentException("workerSlots must be at least 1, but is " + workerSlots);
                }
                this.workerSlots = workerSlots;
                return this;
            }

            /** Template parameter values, e.g. {@code MaxReceiveCount}; replaces earlier ones. */
            public Builder templateParameters(Map<String, String> templateParameters) {
                this.templateParameters = Map.copyOf(templateParameters);
                return this;
            }

            /** Environment overrides for handlers and workers; replaces earlier ones. */
            public Builder environmentOverrides(Map<String, String> environmentOverrides) {
                this.environmentOverrides = Map.copyOf(environmentOverrides);
                return this;
            }

            /** The environment job programs start from (default: this JVM's); replaces the earlier one. */
            public Builder jobBaseEnvironment(Map<String, String> jobBaseEnvironment) {
                this.jobBaseEnvironment = Map.copyOf(Objects.requireNonNull(jobBaseEnvironment, "jobBaseEnvironment"));
                return this;
            }

            /** The template to build from. */
            public Builder templatePath(Path templatePath) {
                this.templatePath = Objects.requireNonNull(templatePath, "templatePath");
                return this;
            }

            public Options build() {
                return new Options(this);
            }
        }
    }
}
