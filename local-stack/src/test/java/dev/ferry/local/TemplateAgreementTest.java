package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import com.amazonaws.services.lambda.runtime.events.DynamodbEvent;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import com.amazonaws.services.lambda.runtime.events.StreamsEventResponse;
import dev.ferry.core.AwsClients;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.Pools;
import dev.ferry.core.JobFiles;
import dev.ferry.core.JobTable;
import dev.ferry.functions.AdminToken;
import dev.ferry.functions.WebhookSettings;
import dev.ferry.worker.CommandJobHandler;
import dev.ferry.worker.LambdaPoolHandler;
import dev.ferry.worker.WorkerConfig;
import dev.ferry.worker.WorkerMain;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * {@code infra/template.yaml} agrees with the code: the handlers it names exist as Lambda calls
 * them, the environment it sets is what the code reads, the queue and table are what the store
 * and the worker expect, the bootstrap runs the worker as the drain needs, each parameter's
 * bounds fit what its value feeds, and no IAM statement grants a wildcard action. (That the worker's role allows exactly the calls the worker makes is
 * {@link WorkerPermissionsIT}, which watches a real worker's calls.)
 */
class TemplateAgreementTest {

    private static final SamTemplate.PseudoParameters LOCAL =
            new SamTemplate.PseudoParameters("ferry", "us-east-1", "000000000000");

    /**
     * Variables the functions' code reads that the template leaves unset on purpose, and why.
     * Anything else the code reads must be set.
     */
    private static final Map<String, String> FUNCTIONS_UNSET = Map.of(
            AdminToken.TOKEN, "the token itself, for the local stack and tests: in AWS it comes from the secret",
            "FERRY_FLEET_SLOTS", "a fleet of fixed size may set it for the ETA; unset, the queue's in-flight messages"
                    + " stand for the slots working",
            WebhookSettings.SECRET, "the signing key itself, for the local stack and tests: in AWS it comes from the"
                    + " secret",
            WebhookSettings.ALLOW_HTTP, "the local stack's only: in AWS webhooks are https",
            WebhookSettings.ALLOW_PRIVATE, "the local stack's only: in AWS webhooks reach public addresses only",
            FerryEnv.QUEUE_URL, "a deployment without pools: the template's functions have FERRY_POOLS instead",
            FerryEnv.DLQ_URL, "a deployment without pools, likewise",
            FerryEnv.JOB_TYPES, "a deployment without pools, likewise (a pool's types are FERRY_POOL_<name>_TYPES)",
            Pools.PRIORITY_QUEUE_URL, "a deployment without pools, likewise",
            "FERRY_WORKER_GROUP", "a deployment without pools, likewise (a pool's is FERRY_POOL_<name>_WORKER_GROUP)");

    /**
     * Globals every function gets that a function's code has no use for, and why. Anything else
     * the template sets, the code reads.
     */
    private static final Map<String, Set<String>> GLOBALS_UNREAD = Map.of(
            // The stream function reads records and queues deliveries: no job files.
            "WebhookEventsFunction", Set.of(FerryEnv.BUCKET, FerryEnv.URL_EXPIRY),
            // The health checks head the bucket; they sign no URLs.
            "HealthFunction", Set.of(FerryEnv.URL_EXPIRY));

    /**
     * Variables the template sets ahead of the code that will read them, and why. When the code
     * reads one, the tests below say to take it out of here.
     */
    /**
     * Read by the logging backend, not by code a handler or the worker reaches: Logback finds
     * {@code dev.ferry.core.logging.FerryLogConfigurator} through {@code META-INF/services} (the
     * local stack, on slf4j-simple, never loads it).
     */
    private static final Set<String> READ_BY_LOGGING = Set.of(FerryEnv.LOG_FORMAT);

    // TODO(job files): FERRY_BUCKET comes out once the functions and the worker read it (JobFiles.fromEnvironment).
    private static final Map<String, String> AHEAD_OF_CODE = Map.of();

    /** The worker's variables that have defaults in the code; users may set them in infra/worker.env. */
    private static final Set<String> WORKER_OPTIONAL = Set.of(WorkerConfig.SLOTS, WorkerConfig.COMMAND_PREFIX,
            WorkerConfig.TIMEOUT_PREFIX, WorkerConfig.JOB_TIMEOUT, WorkerConfig.WORKER_ID, WorkerConfig.LEASE,
            WorkerConfig.HEARTBEAT, WorkerConfig.RETRY_BASE, WorkerConfig.RETRY_MAX, WorkerConfig.DUPLICATE_DEFER,
            WorkerConfig.WAIT_SECONDS, WorkerConfig.DELETE_LINGER, WorkerConfig.NOTICE_POLL, WorkerConfig.SPOT_MARGIN,
            WorkerConfig.DRAIN_ON_REBALANCE, dev.ferry.worker.ExitRules.VARIABLE, dev.ferry.worker.ExitRules.VARIABLE + "_",
            dev.ferry.worker.ScaleInProtection.ENABLED, dev.ferry.worker.JobTypes.Kind.HANDLER.prefix(),
            dev.ferry.worker.JobTypes.Kind.COG.prefix(), dev.ferry.worker.JobTypes.Kind.SAGEMAKER.prefix(),
            dev.ferry.worker.JobTypes.SETUP_TIMEOUT, dev.ferry.worker.JobTypes.SETUP_TIMEOUT_PREFIX,
            WorkerConfig.WORK_DIR, dev.ferry.worker.StackTarget.STACK, dev.ferry.core.FerryEnv.URL_EXPIRY,
            FerryEnv.POOL, dev.ferry.worker.FleetSettings.FLEET_HEARTBEAT,
            // A worker given FERRY_POOL and the pools' variables instead of its queue (WorkerConfig.queueUrl);
            // the template gives it its queue.
            Pools.POOLS, "FERRY_POOL_", FerryEnv.DLQ_URL, FerryEnv.JOB_TYPES,
            dev.ferry.worker.FleetSettings.HEALTH_PORT, dev.ferry.worker.FleetSettings.HEALTH_SETUP_LIMIT);

    /** What a GPU worker is given that a Lambda pool's function is not, and why. */
    private static final Map<String, String> POOL_FUNCTION_UNSET = Map.of(
            WorkerConfig.DRAIN_GRACE, "a function is never drained: it holds jobs only within an invocation",
            FerryEnv.WORKERS_TABLE, "no fleet heartbeat: Lambda's own metrics count a function's concurrency",
            dev.ferry.worker.RetryElsewhere.WHEN, "no rule to retry elsewhere from a Lambda pool in the template"
                    + " (infra/worker.env may set one)",
            dev.ferry.worker.RetryElsewhere.POOL, "as FERRY_RETRY_ELSEWHERE_WHEN",
            dev.ferry.worker.RetryElsewhere.QUEUE_URL, "as FERRY_RETRY_ELSEWHERE_WHEN");

    /** Not read by the worker: set by it for each job's program. */
    private static final Set<String> WORKER_GIVES_JOBS = Set.of(CommandJobHandler.ENV_JOB_ID,
            CommandJobHandler.ENV_JOB_TYPE, CommandJobHandler.ENV_ATTEMPT, CommandJobHandler.ENV_OUTPUT_DIR,
            CommandJobHandler.ENV_SLOT);

    private static SamTemplate template() {
        return SamTemplate.load(TemplateFacts.TEMPLATE, Map.of(), LOCAL);
    }

    // ---------------------------------------------------------------------------------------------
    // Functions

    @Test
    void everyHandler_isAPublicHandlerOfItsEventsTypes_thatLambdaCanConstruct() throws Exception {
        SamTemplate template = template();
        List<SamTemplate.Function> functions = template.functions();
        assertEquals(Set.of("SubmitJobFunction", "GetJobFunction", "ListJobsFunction", "CancelJobFunction", "AdminFunction",
                        "CreateUploadFunction",
                        "WebhookEventsFunction", "DeliverWebhookFunction", "HealthFunction", "LightPoolFunction"),
                functions.stream().map(SamTemplate.Function::logicalId).collect(Collectors.toSet()));
        for (SamTemplate.Function function : functions) {
            String what = function.logicalId() + " (" + function.handlerClass() + "::" + function.handlerMethod() + ")";
            Class<?> handler = Class.forName(function.handlerClass());
            assertTrue(Modifier.isPublic(handler.getModifiers()) && !Modifier.isAbstract(handler.getModifiers()), what);
            assertTrue(RequestHandler.class.isAssignableFrom(handler), what + " implements RequestHandler");
            // What Lambda hands a function of each event source, and what it reads back.
            SamTemplate.EventSource.Kind kind = template.eventSources().stream()
                    .filter(source -> source.function().logicalId().equals(function.logicalId()))
                    .map(SamTemplate.EventSource::kind).findFirst().orElse(null);
            Class<?> input = kind == null ? APIGatewayProxyRequestEvent.class
                    : kind == SamTemplate.EventSource.Kind.SQS ? SQSEvent.class : DynamodbEvent.class;
            Class<?> output = kind == null ? APIGatewayProxyResponseEvent.class
                    : kind == SamTemplate.EventSource.Kind.SQS ? SQSBatchResponse.class : StreamsEventResponse.class;
            Method method = handler.getMethod(function.handlerMethod(), input, Context.class);
            assertEquals(output, method.getReturnType(), what);
            // Lambda's Java runtime makes the handler through its public no-argument constructor.
            assertTrue(Modifier.isPublic(handler.getConstructor().getModifiers()), what + " no-arg constructor");
        }
    }

    @Test
    void everyFunctionEvent_isOneItsHandlerParses() {
        Map<String, Object> resources = TemplateFacts.map(TemplateFacts.raw(), "Resources");
        Map<String, String> sources = Map.of(
                "WebhookEventsFunction", "DynamoDB " + Map.of("Fn::GetAtt", List.of("JobsTable", "StreamArn")),
                "DeliverWebhookFunction", "SQS " + Map.of("Fn::GetAtt", List.of("WebhookQueue", "Arn")),
                "LightPoolFunction", "SQS " + Map.of("Fn::GetAtt", List.of("LightJobQueue", "Arn")));
        for (SamTemplate.Function function : template().functions()) {
            Map<String, Object> events = TemplateFacts.map(TemplateFacts.properties(function.logicalId()), "Events");
            events.forEach((name, event) -> {
                @SuppressWarnings("unchecked")
                Map<String, Object> e = (Map<String, Object>) event;
                Map<String, Object> properties = TemplateFacts.map(e, "Properties");
                if (sources.containsKey(function.logicalId())) {
                    assertEquals(sources.get(function.logicalId()), e.get("Type") + " "
                            + properties.getOrDefault("Stream", properties.get("Queue")), function.logicalId());
                    assertEquals(List.of("ReportBatchItemFailures"), properties.get("FunctionResponseTypes"),
                            function.logicalId() + ": a failed record or message is retried alone");
                    return;
                }
                // "HttpApi" would send API Gateway's v2 payload, which these handlers do not read.
                assertEquals("Api", e.get("Type"), function.logicalId() + "." + name);
                assertEquals(Map.of("Ref", "FerryApi"), properties.get("RestApiId"));
            });
        }
        assertTrue(resources.containsKey("FerryApi"));
    }

    @Test
    void sharedCode_isTheShadedJarThatSamBuildUnpacks_andItHoldsEveryHandler() throws IOException {
        Map<String, Object> globals = TemplateFacts.map(TemplateFacts.map(TemplateFacts.raw(), "Globals"), "Function");
        Path repository = TemplateFacts.TEMPLATE.getParent().getParent();
        String makefile = Files.readString(TemplateFacts.TEMPLATE.resolveSibling("Makefile"));
        assertTrue(makefile.contains("JAR := ferry-functions.jar"), "infra/Makefile unpacks the shaded jar");
        // The API's functions run the functions jar (Globals' CodeUri); a Lambda pool's function runs the
        // worker's, through its own CodeUri and the Makefile's rule for every <Pool>PoolFunction.
        Map<Path, String> jars = Map.of(repository.resolve("functions/target"), "ferry-functions.jar",
                repository.resolve("worker-ec2/target"), "ferry-worker.jar");
        assertTrue(makefile.contains("WORKER_JAR := ferry-worker.jar") && makefile.contains("build-%PoolFunction:"),
                "infra/Makefile unpacks the worker jar for the Lambda pools");
        for (SamTemplate.Function function : template().functions()) {
            Map<String, Object> metadata = TemplateFacts.map(TemplateFacts.resource(function.logicalId()), "Metadata");
            assertEquals("makefile", metadata.get("BuildMethod"), function.logicalId());
            assertEquals(true, TemplateFacts.properties(function.logicalId()).get("AutoPublishAliasAllProperties"),
                    function.logicalId() + ": without it a changed parameter never reaches the live alias");
            boolean pool = function.handlerClass().equals(LambdaPoolHandler.class.getName());
            assertEquals(pool, function.logicalId().endsWith("PoolFunction"), function.logicalId()
                    + ": the worker's handler, exactly where the Makefile's rule for pools builds the worker jar");
            assertTrue(pool || makefile.contains("build-" + function.logicalId()), "infra/Makefile has no target for "
                    + function.logicalId());
            Object own = TemplateFacts.properties(function.logicalId()).get("CodeUri");
            Path codeUri = TemplateFacts.TEMPLATE.getParent().resolve((String) (own != null ? own
                    : globals.get("CodeUri"))).normalize();
            assertEquals(repository.resolve(pool ? "worker-ec2/target" : "functions/target"), codeUri,
                    function.logicalId());
            Path jar = codeUri.resolve(jars.get(codeUri));
            if (!Files.isRegularFile(jar)) {
                continue; // not built yet (mvn package); the checks below need it
            }
            try (JarFile contents = new JarFile(jar.toFile())) {
                String entry = function.handlerClass().replace('.', '/') + ".class";
                assertTrue(contents.getEntry(entry) != null, jar + " lacks " + entry);
            }
        }
    }

    @Test
    void everyVariableAFunctionReads_isSetByTheTemplate_andTheTemplateSetsNothingElse() throws Exception {
        SamTemplate template = template();
        for (SamTemplate.Function function : template.functions()) {
            TemplateFacts.CodeReach reach = TemplateFacts.reach(Class.forName(function.handlerClass()));
            Set<String> read = new TreeSet<>(reach.variables());
            Set<String> set = function.environmentVariableNames();
            Set<String> missing = new TreeSet<>(read);
            missing.removeAll(set);
            missing.removeAll(FUNCTIONS_UNSET.keySet());
            // A prefix the code reads names by (FERRY_POOL_<name>_QUEUE_URL): the template sets names under it.
            missing.removeIf(prefix -> prefix.endsWith("_") && set.stream().anyMatch(name -> name.startsWith(prefix)));
            if (function.handlerClass().equals(LambdaPoolHandler.class.getName())) {
                // A Lambda pool's function is a worker: what a worker may leave to its defaults, it may too
                // (or set in infra/worker.env, FERRY_WORKER_ENVIRONMENT); and it is given its job's settings.
                missing.removeAll(WORKER_OPTIONAL);
                missing.removeAll(WORKER_GIVES_JOBS);
                missing.removeAll(POOL_FUNCTION_UNSET.keySet());
            }
            assertEquals(Set.of(), missing, function.logicalId() + " can read these, but the template does not set"
                    + " them (reads " + read + ")");
            Set<String> unread = new TreeSet<>(set);
            unread.removeAll(read);
            unread.removeIf(name -> read.stream().anyMatch(prefix -> prefix.endsWith("_") && name.startsWith(prefix)));
            unread.removeAll(AHEAD_OF_CODE.keySet());
            unread.removeAll(READ_BY_LOGGING);
            unread.removeAll(GLOBALS_UNREAD.getOrDefault(function.logicalId(), Set.of()));
            assertEquals(Set.of(), unread, function.logicalId() + " sets variables its code never reads");
        }
        // The exemptions are real: each is read by some function.
        Set<String> readByAny = new TreeSet<>();
        for (SamTemplate.Function function : template.functions()) {
            readByAny.addAll(TemplateFacts.reach(Class.forName(function.handlerClass())).variables());
        }
        assertTrue(readByAny.containsAll(FUNCTIONS_UNSET.keySet()), "stale exemptions: " + FUNCTIONS_UNSET.keySet());
        GLOBALS_UNREAD.forEach((function, names) -> {
            Set<String> nowRead = new TreeSet<>(names);
            nowRead.retainAll(TemplateFacts.reach(classOf(template, function)).variables());
            assertEquals(Set.of(), nowRead, function + " reads these now: take them out of GLOBALS_UNREAD");
        });
        Set<String> nowRead = new TreeSet<>(AHEAD_OF_CODE.keySet());
        nowRead.retainAll(readByAny);
        assertEquals(Set.of(), nowRead, "the functions read these now: take them out of AHEAD_OF_CODE");
    }

    @Test
    void everyServiceAFunctionMayCall_isOneItsCodeCanReach() throws Exception {
        for (SamTemplate.Function function : template().functions()) {
            Set<String> granted = new TreeSet<>();
            for (Map<String, Object> statement : functionStatements(function.logicalId())) {
                TemplateFacts.actions(statement).forEach(a -> granted.add(a.substring(0, a.indexOf(':'))));
            }
            // Writing its logs is Lambda's doing, not the code's (SAM grants it where it makes the role).
            granted.remove("logs");
            Set<String> reachable = TemplateFacts.reach(Class.forName(function.handlerClass())).services();
            assertTrue(reachable.containsAll(granted), function.logicalId() + " is granted " + granted
                    + " but its code reaches only " + reachable);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Queues and table

    @Test
    void jobQueue_redrivesToTheDeadLetterQueue_whichAcceptsOnlyIt_andKeepsMessages14Days() {
        Map<String, Object> queue = TemplateFacts.properties("GpuJobQueue");
        Map<String, Object> redrive = TemplateFacts.map(queue, "RedrivePolicy");
        assertEquals(Map.of("Fn::GetAtt", List.of("GpuJobDeadLetterQueue", "Arn")), redrive.get("deadLetterTargetArn"));
        assertEquals(Map.of("Ref", "MaxReceiveCount"), redrive.get("maxReceiveCount"));
        Map<String, Object> deadLetters = TemplateFacts.properties("GpuJobDeadLetterQueue");
        assertEquals(1_209_600, deadLetters.get("MessageRetentionPeriod"), "14 days, SQS's maximum");
        assertEquals(deadLetters.get("MessageRetentionPeriod"), queue.get("MessageRetentionPeriod"),
                "a dead letter keeps its first enqueue time: the DLQ must keep messages at least as long");
        Map<String, Object> allow = TemplateFacts.map(deadLetters, "RedriveAllowPolicy");
        assertEquals("byQueue", allow.get("redrivePermission"));
        String jobQueueName = (String) TemplateFacts.map(queue, "QueueName").get("Fn::Sub");
        String laneName = (String) TemplateFacts.map(TemplateFacts.properties("GpuPriorityQueue"), "QueueName")
                .get("Fn::Sub");
        assertEquals(List.of(Map.of("Fn::Sub", "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:"
                + jobQueueName), Map.of("Fn::Sub", "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:"
                + laneName)), allow.get("sourceQueueArns"), "the pool's two lanes, and no other queue");
        // The high-priority lane: the job queue's settings, the same dead-letter queue after as many receives.
        Map<String, Object> lane = new java.util.HashMap<>(TemplateFacts.properties("GpuPriorityQueue"));
        Map<String, Object> jobs = new java.util.HashMap<>(queue);
        lane.remove("QueueName");
        jobs.remove("QueueName");
        assertEquals(jobs, lane);
        // The admin function's dead-letter queue of the pool is the job queue's.
        Map<String, Object> adminEnv = TemplateFacts.map(TemplateFacts.map(TemplateFacts.properties("AdminFunction"),
                "Environment"), "Variables");
        assertEquals(Map.of("Ref", "GpuJobDeadLetterQueue"), adminEnv.get("FERRY_POOL_Gpu_DLQ_URL"));
        assertEquals(Map.of("Ref", "GpuJobQueue"), adminEnv.get("FERRY_POOL_Gpu_QUEUE_URL"));
        assertEquals(Map.of("Ref", "GpuPriorityQueue"), adminEnv.get("FERRY_POOL_Gpu_PRIORITY_QUEUE_URL"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void pools_eachDeclaredOnce_withBoundedSettings_andJobTypesNoTwoPoolsShare() {
        Map<String, Object> mappings = TemplateFacts.map(TemplateFacts.unexpanded(), "Mappings");
        Map<String, Object> declared = TemplateFacts.map(mappings, "FerryPools");
        Map<String, Object> deployedPools = TemplateFacts.map(TemplateFacts.map(mappings, "Pools"), "Deployed");
        List<String> deployed = TemplateFacts.list(deployedPools, "Gpu").stream().map(String::valueOf).toList();
        List<String> lambda = TemplateFacts.list(deployedPools, "Lambda").stream().map(String::valueOf).toList();
        assertFalse(deployed.isEmpty(), "no pool deployed");
        assertTrue(declared.keySet().containsAll(deployed) && declared.keySet().containsAll(lambda),
                "every pool deployed is declared in FerryPools: " + deployed + " " + lambda);
        assertTrue(java.util.Collections.disjoint(deployed, lambda), "a pool is a GPU pool or a Lambda pool");
        Map<String, String> env = new java.util.HashMap<>();
        env.put(Pools.POOLS, String.join(",", declared.keySet()));
        declared.forEach((name, entry) -> {
            Map<String, Object> pool = (Map<String, Object>) entry;
            assertTrue(name.matches("[A-Za-z][A-Za-z0-9]{0,31}"), name + ": names the pool's resources (Pools)");
            env.put(Pools.queueVariable(name), "https://sqs/" + name);
            env.put(Pools.typesVariable(name), String.valueOf(pool.get("JobTypes")));
            if (pool.containsKey("BatchSize")) {
                lambdaPool(name, pool);
                return;
            }
            assertFalse(lambda.contains(name), name + " is deployed as a Lambda pool but declared as a GPU pool");
            long max = TemplateFacts.number(pool, "MaxInstances");
            assertTrue(max >= 0 && max <= 100, name + ".MaxInstances " + max + ": 0-100");
            long backlog = TemplateFacts.number(pool, "BacklogPerInstance");
            assertTrue(backlog >= 1 && backlog <= 100, name + ".BacklogPerInstance " + backlog + ": 1-100");
            assertFalse(TemplateFacts.list(pool, "InstanceTypes").isEmpty(), name + ": no instance types");
            assertEquals(Set.of("JobTypes", "InstanceTypes", "MaxInstances", "BacklogPerInstance", "RetryElsewhereWhen",
                    "RetryElsewhereTo"), pool.keySet(), name);
            String when = String.valueOf(pool.get("RetryElsewhereWhen"));
            String to = String.valueOf(pool.get("RetryElsewhereTo"));
            assertEquals(when.isEmpty(), to.isEmpty(), name + ": a rule to retry elsewhere has both, or neither");
            if (!to.isEmpty()) {
                assertTrue(declared.containsKey(to) && !to.equals(name), name + ".RetryElsewhereTo " + to
                        + ": another pool FerryPools declares");
                java.util.regex.Pattern.compile(when); // a regular expression the workers can compile
            }
        });
        // Every pool declared, deployed together: their types parse, and no type could go to two of them.
        Pools pools = Pools.from(FerryEnv.of(env));
        assertEquals(Optional.of("Large"), pools.route("sdxl").map(Pools.Pool::name));
        assertEquals(Optional.of("Gpu"), pools.route("sample").map(Pools.Pool::name));
        assertEquals(Optional.of("Light"), pools.route("echo").map(Pools.Pool::name));
    }

    /** A Lambda pool's function and queue, within what Lambda and SQS accept and the worker needs. */
    private static void lambdaPool(String name, Map<String, Object> pool) {
        assertEquals(Set.of("JobTypes", "MemorySize", "Timeout", "BatchSize", "MaxConcurrency",
                "QueueVisibilitySeconds"), pool.keySet(), name);
        long memory = TemplateFacts.number(pool, "MemorySize");
        assertTrue(memory >= 128 && memory <= 10_240, name + ".MemorySize " + memory + ": Lambda's 128-10240 MB");
        long timeout = TemplateFacts.number(pool, "Timeout");
        // A job is stopped OUTCOME_RESERVE before the function's end, so it needs some time beyond that.
        assertTrue(timeout >= 3 * LambdaPoolHandler.OUTCOME_RESERVE.toSeconds() && timeout <= 900,
                name + ".Timeout " + timeout + ": 30-900 s");
        long batch = TemplateFacts.number(pool, "BatchSize");
        assertTrue(batch >= 1 && batch <= 10, name + ".BatchSize " + batch + ": 1-10 (no batching window)");
        long concurrency = TemplateFacts.number(pool, "MaxConcurrency");
        assertTrue(concurrency >= 2 && concurrency <= 1000, name + ".MaxConcurrency " + concurrency
                + ": the event source mapping's 2-1000");
        long visibility = TemplateFacts.number(pool, "QueueVisibilitySeconds");
        assertTrue(visibility >= 6 * timeout && visibility <= 43_200, name + ".QueueVisibilitySeconds " + visibility
                + ": at least 6 x Timeout (Lambda's rule for an SQS source), at most SQS's 12 hours");
        // The function's runs renew their own lease (FERRY_LEASE), well inside the queue's visibility.
        Map<String, Object> variables = TemplateFacts.map(TemplateFacts.map(TemplateFacts.properties(name
                + "PoolFunction"), "Environment"), "Variables");
        Duration lease = FerryEnv.parseDuration("FERRY_LEASE", String.valueOf(variables.get("FERRY_LEASE")));
        assertTrue(lease.toSeconds() >= 30 && lease.toSeconds() < visibility, name + ": lease " + lease);
    }

    @Test
    void jobsTable_keyAndTtl_areTheStoresOwn() {
        SamTemplate.Table table = template().tables().get(0);
        assertEquals(JobTable.JOB_ID, table.hashKeyName());
        assertEquals(JobTable.JOB_ID, JobTable.SCHEMA.tableMetadata().primaryPartitionKey());
        assertEquals("S", table.hashKeyType(), "job ids are strings");
        assertEquals(JobTable.EXPIRES_AT, table.timeToLiveAttribute().orElseThrow());
        Map<String, Object> table0 = TemplateFacts.properties("JobsTable");
        assertEquals(Map.of("PointInTimeRecoveryEnabled", true), table0.get("PointInTimeRecoverySpecification"));
        assertEquals("Retain", TemplateFacts.resource("JobsTable").get("DeletionPolicy"));
    }

    @Test
    void jobsTable_indexes_areTheOnesTheQueriesRead_eachHoldingTheSummary() {
        SamTemplate.Table table = template().tables().get(0);
        List<String> declared = new ArrayList<>();
        for (SamTemplate.GlobalIndex index : table.globalIndexes()) {
            declared.add(index.name());
            JobTable.Index code = JobTable.INDEXES.stream().filter(i -> i.name().equals(index.name())).findFirst()
                    .orElseThrow(() -> new AssertionError("the template declares index " + index + ", which no"
                            + " query reads (JobTable.INDEXES)"));
            assertEquals(new SamTemplate.GlobalIndex(code.name(), code.partitionKey(), code.sortKey(), "INCLUDE",
                    code.nonKeyAttributes()).toString(), index.toString());
        }
        assertEquals(JobTable.INDEXES.stream().map(JobTable.Index::name).toList(), declared);
        Map<String, String> types = new TreeMap<>(table.attributeTypes());
        assertEquals(Map.of(JobTable.JOB_ID, "S", JobTable.STATUS, "S", JobTable.TYPE, "S", JobTable.LISTING, "S",
                JobTable.CREATED_AT, "S"), types, "every key is text, as the store writes it");
        // The index attributes the store writes with every record, whatever the job.
        Map<String, software.amazon.awssdk.services.dynamodb.model.AttributeValue> item = JobTable.SCHEMA.itemToMap(
                dev.ferry.core.Job.builder().jobId("01JD3N3Y3ZX2W0K7Q8M9P4R5S6").type("t")
                        .status(dev.ferry.core.JobStatus.PENDING).createdAt(java.time.Instant.parse("2026-11-22T10:00:00Z"))
                        .build(), true);
        assertEquals(JobTable.LISTING_ALL, item.get(JobTable.LISTING).s());
        assertEquals("2026-11-22T10:00:00.000000000Z", item.get(JobTable.CREATED_AT).s(), "fixed width: text order is"
                + " time order");
        int projected = table.globalIndexes().stream().mapToInt(index -> index.nonKeyAttributes().size()).sum();
        assertTrue(projected <= 100, "DynamoDB projects at most 100 non-key attributes over all of a table's indexes");
    }

    @Test
    void noFunctionScansTheJobsTable_andQueriesReachOnlyItsIndexes() {
        List<String> indexArns = JobTable.INDEXES.stream().map(i -> "${JobsTable.Arn}/index/" + i.name()).toList();
        for (SamTemplate.Function function : template().functions()) {
            for (Map<String, Object> statement : functionStatements(function.logicalId())) {
                TemplateFacts.Grant grant = TemplateFacts.grant(statement);
                // The fleet view scans the workers table (one small item per worker), never the jobs.
                assertFalse(grant.actions().contains("dynamodb:Scan") && !(grant.actions().equals(
                        List.of("dynamodb:Scan")) && grant.resourceIds().equals(Set.of("WorkersTable"))),
                        function.logicalId() + " " + grant.sid());
                if (grant.actions().contains("dynamodb:Query")) {
                    assertEquals(List.of("dynamodb:Query"), grant.actions(), function.logicalId() + " " + grant.sid()
                            + ": Query in a statement of its own, on indexes");
                    assertTrue(indexArns.containsAll(grant.arnPatterns()) && grant.resourceIds().isEmpty()
                            && !grant.onAnyResource(), function.logicalId() + " " + grant.sid() + " queries "
                            + grant.resources() + ", not only the indexes " + indexArns);
                }
            }
        }
        // The listing reads the indexes and nothing else.
        List<TemplateFacts.Grant> listing = functionStatements("ListJobsFunction").stream().map(TemplateFacts::grant)
                .toList();
        assertEquals(1, listing.size());
        assertEquals(List.of("dynamodb:Query"), listing.get(0).actions());
        assertEquals(indexArns, listing.get(0).arnPatterns());
    }

    /** API Gateway's integration timeout: a REST API answers 504 after it, whatever the function does. */
    private static final Duration API_GATEWAY_TIMEOUT = Duration.ofSeconds(29);

    @Test
    void aWaitingRequest_endsWithinTheFunctionsTimeout_whichEndsWithinApiGateways() {
        SamTemplate template = template();
        Set<String> waiting = new TreeSet<>();
        for (SamTemplate.Function function : template.functions()) {
            String maxWait = template.environment(function.logicalId(), NAMES).get("FERRY_MAX_WAIT");
            if (maxWait == null) {
                continue;
            }
            waiting.add(function.logicalId());
            Duration wait = Duration.ofSeconds(Long.parseLong(maxWait));
            // Around the wait: a read before, a read after (each at most one SDK call's timeout in theory,
            // milliseconds in practice); the function's own timeout leaves room for them.
            assertTrue(wait.plusSeconds(3).compareTo(function.timeout()) <= 0, function.logicalId() + " waits up to "
                    + wait + " within a timeout of " + function.timeout());
            assertTrue(function.timeout().compareTo(API_GATEWAY_TIMEOUT) < 0, function.logicalId() + "'s timeout "
                    + function.timeout() + " must end before API Gateway's " + API_GATEWAY_TIMEOUT);
        }
        assertEquals(Set.of("GetJobFunction", "SubmitJobFunction"), waiting, "the functions that read Prefer: wait");
        // What the local stack replaces locally is something the template sets.
        for (String name : LocalStack.LOCAL_FUNCTION_ENVIRONMENT.keySet()) {
            assertTrue(template.functions().stream().anyMatch(f -> f.environmentVariableNames().contains(name)), name);
        }
    }

    /** Resolves references to names, for reading literal settings. */
    private static final SamTemplate.ResourceValues NAMES = new SamTemplate.ResourceValues() {
        @Override
        public String ref(String logicalId) {
            return "ref:" + logicalId;
        }

        @Override
        public String attribute(String logicalId, String attribute) {
            return "getatt:" + logicalId + "." + attribute;
        }
    };

    // ---------------------------------------------------------------------------------------------
    // The worker and its bootstrap

    @Test
    void bootstrapEnvironment_pointsTheWorkerAtTheTemplatesQueueAndTable_withNamesTheWorkerReads() {
        Map<String, String> stackEnv = TemplateFacts.envLines(
                TemplateFacts.heredoc(TemplateFacts.userData(), "/etc/ferry/stack.env"));
        Map<String, String> expected = new java.util.HashMap<>(Map.of(FerryEnv.QUEUE_URL, "${PoolJobQueue}",
                FerryEnv.TABLE, "${JobsTable}", FerryEnv.RETENTION_DAYS, "${JobRetentionDays}",
                FerryEnv.BUCKET, "${FilesBucket}", FerryEnv.AWS_REGION, "${AWS::Region}",
                WorkerConfig.DRAIN_GRACE, "${DrainGraceSeconds}", FerryEnv.LOG_FORMAT, "json",
                FerryEnv.METRICS_NAMESPACE, "Ferry/${AWS::StackName}", FerryEnv.WORKERS_TABLE, "${WorkersTable}"));
        // The pool the instance's workers serve (a dimension of their metrics), and its two lanes.
        expected.put(FerryEnv.POOL, TemplateFacts.POOL);
        expected.put(WorkerConfig.PRIORITY_QUEUE_URL, "${PoolPriorityQueue}");
        expected.put(dev.ferry.worker.RetryElsewhere.WHEN, "${RetryWhen}");
        expected.put(dev.ferry.worker.RetryElsewhere.POOL, "${RetryPool}");
        expected.put(dev.ferry.worker.RetryElsewhere.QUEUE_URL, "${RetryQueue}");
        assertEquals(expected, stackEnv);
        Object sub = TemplateFacts.map(TemplateFacts.map(TemplateFacts.map(
                TemplateFacts.properties(TemplateFacts.POOL + "WorkerLaunchTemplate"), "LaunchTemplateData"),
                "UserData"), "Fn::Base64").get("Fn::Sub") instanceof List<?> parts ? parts.get(1) : null;
        @SuppressWarnings("unchecked")
        Map<String, Object> variables = (Map<String, Object>) sub;
        assertEquals(Map.of("Ref", "GpuJobQueue"), variables.get("PoolJobQueue"), "the pool's own queues");
        assertEquals(Map.of("Ref", "GpuPriorityQueue"), variables.get("PoolPriorityQueue"));
        assertEquals(Map.of("Fn::FindInMap", List.of("FerryPools", "Gpu", "RetryElsewhereWhen")), variables.get("RetryWhen"));
        assertEquals(Map.of("Fn::FindInMap", List.of("FerryPools", "Gpu", "RetryElsewhereTo")), variables.get("RetryPool"));
        assertEquals(Set.of("PoolJobQueue", "PoolPriorityQueue", "RetryWhen", "RetryPool", "RetryQueue"),
                variables.keySet());
        Set<String> read = TemplateFacts.reach(WorkerMain.class).variables();
        for (String name : stackEnv.keySet()) {
            if (AHEAD_OF_CODE.containsKey(name)) {
                assertFalse(read.contains(name), name + ": the worker reads it now; take it out of AHEAD_OF_CODE");
                continue;
            }
            assertTrue(name.startsWith("AWS_") || read.contains(name) || READ_BY_LOGGING.contains(name),
                    name + " is set, but the worker never reads it");
        }
        // What the worker reads and has no default for, the stack sets.
        Set<String> required = new TreeSet<>(read);
        required.removeAll(WORKER_OPTIONAL);
        required.removeAll(WORKER_GIVES_JOBS);
        required.removeAll(stackEnv.keySet());
        assertEquals(Set.of(), required, "the worker reads these, which are neither set by the bootstrap nor known"
                + " to be optional (add them to stack.env, or to WORKER_OPTIONAL if they have defaults)");
        assertTrue(read.containsAll(WORKER_OPTIONAL), "stale WORKER_OPTIONAL entries: " + WORKER_OPTIONAL);
    }

    @Test
    void workerEnvironmentParameter_defaultsToInfraWorkerEnv_whoseSettingsTheWorkerReads() throws IOException {
        Map<String, Object> parameter = TemplateFacts.map(TemplateFacts.map(TemplateFacts.raw(), "Parameters"),
                "WorkerEnvironment");
        String decoded = new String(Base64.getDecoder().decode((String) parameter.get("Default")),
                StandardCharsets.UTF_8);
        List<String> settings = new ArrayList<>();
        for (String line : Files.readAllLines(TemplateFacts.TEMPLATE.resolveSibling("worker.env"))) {
            if (!line.isBlank() && !line.strip().startsWith("#")) {
                settings.add(line);
            }
        }
        assertEquals(String.join("\n", settings) + "\n", decoded,
                "WorkerEnvironment's default is infra/worker.env without comments, base64 (scripts/deploy.sh's encoding)");
        Set<String> read = TemplateFacts.reach(WorkerMain.class).variables();
        for (String name : TemplateFacts.envLines(settings).keySet()) {
            boolean known = read.contains(name) || read.stream().anyMatch(p -> p.endsWith("_") && name.startsWith(p));
            assertTrue(known, "infra/worker.env sets " + name + ", which the worker never reads");
        }
    }

    @Test
    void workerUnit_restartsAlways_andOutwaitsTheDrain_whichTheLifecycleHookOutwaitsToo() {
        String script = TemplateFacts.userData();
        Map<String, String> unit = TemplateFacts.envLines(
                TemplateFacts.heredoc(script, "/etc/systemd/system/ferry-worker.service").stream()
                        .filter(line -> line.contains("=")).toList());
        assertEquals("always", unit.get("Restart"));
        assertEquals("SIGTERM", unit.get("KillSignal"), "SIGTERM is the worker's drain");
        assertEquals("mixed", unit.get("KillMode"), "SIGTERM to the worker only: its running jobs go on while it drains");
        assertEquals("$((${DrainGraceSeconds} + 30))", unit.get("TimeoutStopSec"), "systemd waits past the grace");
        assertTrue(unit.get("ExecStart").endsWith("-jar /opt/ferry/ferry-worker.jar"), unit.get("ExecStart"));
        assertEquals(List.of("EnvironmentFile=/etc/ferry/worker.env", "EnvironmentFile=/etc/ferry/stack.env"),
                TemplateFacts.heredoc(script, "/etc/systemd/system/ferry-worker.service").stream()
                        .map(String::strip).filter(line -> line.startsWith("EnvironmentFile=")).toList(),
                "the stack's settings are read last, so they win");

        Map<String, Object> parameters = TemplateFacts.map(TemplateFacts.raw(), "Parameters");
        int maxGrace = (Integer) TemplateFacts.map(parameters, "DrainGraceSeconds").get("MaxValue");
        assertTrue(maxGrace + 10 < 120, "a Spot instance's two-minute notice must cover the drain");
        Map<String, Object> group = TemplateFacts.properties("GpuWorkerGroup");
        @SuppressWarnings("unchecked")
        Map<String, Object> hook = (Map<String, Object>) TemplateFacts.list(group, "LifecycleHookSpecificationList")
                .get(0);
        assertEquals("autoscaling:EC2_INSTANCE_TERMINATING", hook.get("LifecycleTransition"));
        assertEquals("CONTINUE", hook.get("DefaultResult"));
        assertTrue((Integer) hook.get("HeartbeatTimeout") > maxGrace + 30,
                "the hook must hold the instance longer than systemd waits for the drain");
        // The drain watcher completes the hook by its name, on the group by its name.
        List<String> watcher = TemplateFacts.heredoc(script, "/opt/ferry/drain-watcher");
        String complete = String.join(" ", watcher);
        assertTrue(complete.contains("--lifecycle-hook-name " + hook.get("LifecycleHookName")), complete);
        Object groupName = TemplateFacts.map(group, "AutoScalingGroupName").get("Fn::Sub");
        assertTrue(complete.contains("--auto-scaling-group-name " + groupName), complete);
        String completeResource = (String) TemplateFacts.map(TemplateFacts.rolePolicy("GpuWorkerRole",
                "instance-bootstrap").stream().filter(s -> TemplateFacts.actions(s)
                .contains("autoscaling:CompleteLifecycleAction")).findFirst().orElseThrow(), "Resource").get("Fn::Sub");
        assertTrue(completeResource.endsWith(":autoScalingGroupName/" + groupName), completeResource);
    }

    @Test
    void workerRole_grantsTheProcessItsQueuesTableAndOwnGroup_andTheBootstrapNoneOfThose() {
        String ownGroup = "arn:${AWS::Partition}:autoscaling:${AWS::Region}:${AWS::AccountId}:autoScalingGroup:*"
                + ":autoScalingGroupName/" + TemplateFacts.map(TemplateFacts.properties("GpuWorkerGroup"),
                        "AutoScalingGroupName").get("Fn::Sub");
        // Where each grant applies: a resource of the template, the own group's ARN, or "*".
        Map<String, Set<String>> granted = new TreeMap<>();
        for (TemplateFacts.Grant grant : TemplateFacts.grants("GpuWorkerRole", "worker-process")) {
            assertEquals(Map.of(), grant.condition(), grant.sid() + ": the worker's grants need no condition");
            if (grant.sid().equals("RetryOnAnotherPool")) {
                // The pool's rule to retry elsewhere: that pool's job queue, by its name, and nothing more.
                assertEquals(Set.of("sqs:SendMessage"), Set.copyOf(grant.actions()));
                assertEquals(List.of(Map.of("Fn::Sub", List.of("arn:${AWS::Partition}:sqs:${AWS::Region}:"
                        + "${AWS::AccountId}:${AWS::StackName}_${To}-jobs", Map.of("To", Map.of("Fn::FindInMap",
                        List.of("FerryPools", "Gpu", "RetryElsewhereTo")))))), List.copyOf(grant.resources()));
                continue;
            }
            assertEquals(grant.sid().equals("WorkJobQueue") ? 2 : 1, grant.resources().size(),
                    grant.sid() + ": one resource per statement (the pool's two lanes in one)");
            String where = grant.onAnyResource() ? "*"
                    : grant.resourceIds().isEmpty() ? String.join(",", grant.arnPatterns())
                    : String.join(",", grant.resourceIds());
            granted.computeIfAbsent(where, w -> new TreeSet<>()).addAll(grant.actions());
        }
        assertEquals(Map.of(
                // Its pool's two lanes, and no other pool's.
                "GpuJobQueue,GpuPriorityQueue", Set.of("sqs:ReceiveMessage", "sqs:ChangeMessageVisibility",
                        "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:SendMessage"),
                // A job out of attempts: its message sent to the DLQ, whose URL the worker looks up.
                "GpuJobDeadLetterQueue", Set.of("sqs:SendMessage", "sqs:GetQueueUrl"),
                "JobsTable", Set.of("dynamodb:UpdateItem", "dynamodb:DescribeTable"),
                // Its own heartbeat item, put again and again.
                "WorkersTable", Set.of("dynamodb:PutItem"),
                // An attempt's files, written once; a client's uploads, read as inputs.
                "${FilesBucket.Arn}/jobs/*", Set.of("s3:PutObject"),
                "${FilesBucket.Arn}/uploads/*", Set.of("s3:GetObject"),
                // Scale-in protection of its own instance, in this stack's group only.
                ownGroup, Set.of("autoscaling:SetInstanceProtection"),
                // Which group the instance is in: IAM takes no resource for Describe actions.
                "*", Set.of("autoscaling:DescribeAutoScalingInstances")), granted);

        // An action on a resource (s3:GetObject of the jar is the bootstrap's, of an upload the process's).
        Set<String> processGrants = new TreeSet<>();
        TemplateFacts.grants("GpuWorkerRole", "worker-process").forEach(g -> g.actions().forEach(action ->
                g.resources().forEach(resource -> processGrants.add(action + " on " + resource))));
        for (TemplateFacts.Grant grant : TemplateFacts.grants("GpuWorkerRole", "instance-bootstrap")) {
            for (String action : grant.actions()) {
                for (Object resource : grant.resources()) {
                    assertFalse(action.startsWith("sqs:") || action.startsWith("dynamodb:")
                            || action.startsWith("s3:") && String.valueOf(resource).contains("FilesBucket")
                            || processGrants.contains(action + " on " + resource), action + " on " + resource
                            + " is the worker process's: it belongs in worker-process, where WorkerPermissionsIT"
                            + " checks it");
                }
            }
        }
        // The worker's code reaches no AWS service its policy leaves out.
        Set<String> services = new TreeSet<>();
        TemplateFacts.grants("GpuWorkerRole", "worker-process").forEach(g -> services.addAll(g.services()));
        assertEquals(Set.of("autoscaling", "dynamodb", "s3", "sqs"), services);
        Set<String> reached = new TreeSet<>(TemplateFacts.reach(WorkerMain.class).services());
        // Read only with FERRY_STACK: a worker off the stack's instances, on its own credentials.
        reached.remove("cloudformation");
        assertTrue(services.containsAll(reached), "the worker's code reaches " + reached + ", its role grants "
                + services);
    }

    @Test
    void workers_requireImdsV2_andRunOnSpotOnly_fromZero() {
        Map<String, Object> data = TemplateFacts.map(TemplateFacts.properties("GpuWorkerLaunchTemplate"),
                "LaunchTemplateData");
        assertEquals("required", TemplateFacts.map(data, "MetadataOptions").get("HttpTokens"));
        Map<String, Object> parameters = TemplateFacts.map(TemplateFacts.raw(), "Parameters");
        String amiType = (String) TemplateFacts.map(parameters, "WorkerAmiId").get("Type");
        assertEquals("AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>", amiType);
        Map<String, Object> group = TemplateFacts.properties("GpuWorkerGroup");
        assertEquals("0", group.get("MinSize"));
        assertEquals(true, group.get("CapacityRebalance"));
        Map<String, Object> distribution = TemplateFacts.map(TemplateFacts.map(group, "MixedInstancesPolicy"),
                "InstancesDistribution");
        assertEquals(0, distribution.get("OnDemandBaseCapacity"));
        assertEquals(0, distribution.get("OnDemandPercentageAboveBaseCapacity"));
        assertFalse(group.containsKey("DesiredCapacity"), "a stack update must not reset what scaling decided");
    }

    // ---------------------------------------------------------------------------------------------
    // Jobs' files

    /** S3's longest bucket name, and the longest region name a stack's bucket name may carry. */
    private static final int S3_MAX_BUCKET_NAME = 63;
    private static final int LONGEST_REGION_NAME = "ap-southeast-2".length();

    @Test
    void filesBucket_isTheStacksOwn_encrypted_private_tlsOnly_unversioned_andExpiresWithTheRecords() throws IOException {
        Map<String, Object> bucket = TemplateFacts.properties("FilesBucket");
        String name = (String) TemplateFacts.map(bucket, "BucketName").get("Fn::Sub");
        assertEquals("${AWS::StackName}-files-${AWS::AccountId}-${AWS::Region}", name,
                "bucket names are global: the account and region make it the stack's own");
        int longestStackName = S3_MAX_BUCKET_NAME - name.replace("${AWS::StackName}", "")
                .replace("${AWS::AccountId}", "123456789012").replace("${AWS::Region}", "x".repeat(LONGEST_REGION_NAME))
                .length();
        assertEquals(29, longestStackName);
        String readme = Files.readString(TemplateFacts.TEMPLATE.getParent().resolveSibling("README.md"));
        assertTrue(readme.contains("at most " + longestStackName + " characters"), "README's Limits say how long a"
                + " stack name may be: " + longestStackName + " characters");

        assertEquals(Map.of("ServerSideEncryptionConfiguration", List.of(Map.of("ServerSideEncryptionByDefault",
                Map.of("SSEAlgorithm", "AES256")))), bucket.get("BucketEncryption"));
        assertEquals(Map.of("BlockPublicAcls", true, "BlockPublicPolicy", true, "IgnorePublicAcls", true,
                "RestrictPublicBuckets", true), bucket.get("PublicAccessBlockConfiguration"));
        assertFalse(bucket.containsKey("VersioningConfiguration"), "every key is written once");
        assertFalse(bucket.containsKey("CorsConfiguration"), "the API's clients are scripts, not browsers");
        assertEquals("Retain", TemplateFacts.resource("FilesBucket").get("DeletionPolicy"), "kept with the records");

        @SuppressWarnings("unchecked")
        List<Map<String, Object>> rules = (List<Map<String, Object>>) (List<?>) TemplateFacts.list(
                TemplateFacts.map(bucket, "LifecycleConfiguration"), "Rules");
        Map<String, Object> byPrefix = new TreeMap<>();
        rules.forEach(rule -> {
            assertEquals("Enabled", rule.get("Status"), String.valueOf(rule));
            byPrefix.put(String.valueOf(rule.getOrDefault("Prefix", "")), rule.containsKey("ExpirationInDays")
                    ? rule.get("ExpirationInDays") : rule.get("AbortIncompleteMultipartUpload"));
        });
        assertEquals(Map.of(
                JobFilesPrefixes.JOBS, Map.of("Ref", "JobRetentionDays"),
                JobFilesPrefixes.UPLOADS, Map.of("Ref", "JobRetentionDays"),
                "", Map.of("DaysAfterInitiation", 1)), byPrefix);

        @SuppressWarnings("unchecked")
        Map<String, Object> tlsOnly = (Map<String, Object>) TemplateFacts.list(TemplateFacts.map(
                TemplateFacts.properties("FilesBucketPolicy"), "PolicyDocument"), "Statement").get(0);
        assertEquals(Map.of("Ref", "FilesBucket"), TemplateFacts.properties("FilesBucketPolicy").get("Bucket"));
        assertEquals("Deny", tlsOnly.get("Effect"));
        assertEquals("s3:*", tlsOnly.get("Action"));
        assertEquals(List.of(Map.of("Fn::GetAtt", List.of("FilesBucket", "Arn")), Map.of("Fn::Sub",
                "${FilesBucket.Arn}/*")), tlsOnly.get("Resource"));
        assertEquals(Map.of("Bool", Map.of("aws:SecureTransport", "false")), tlsOnly.get("Condition"));

        Map<String, Object> globalEnv = TemplateFacts.map(TemplateFacts.map(TemplateFacts.map(TemplateFacts.map(
                TemplateFacts.raw(), "Globals"), "Function"), "Environment"), "Variables");
        assertEquals(Map.of("Ref", "FilesBucket"), globalEnv.get(FerryEnv.BUCKET));
        assertEquals("${FilesBucket}", TemplateFacts.envLines(TemplateFacts.heredoc(TemplateFacts.userData(),
                "/etc/ferry/stack.env")).get(FerryEnv.BUCKET));
        assertEquals(Map.of("Ref", "FilesBucket"), TemplateFacts.map(TemplateFacts.map(TemplateFacts.raw(), "Outputs"),
                "FilesBucketName").get("Value"));
    }

    /** The key prefixes of {@link JobFiles}: a job's attempts, and uploads. */
    private static final class JobFilesPrefixes {
        static final String JOBS = "jobs/";
        static final String UPLOADS = JobFiles.UPLOADS;

        static {
            assertTrue(JobFiles.attemptPrefix("j", 1).startsWith(JOBS), JobFiles.attemptPrefix("j", 1));
            assertTrue(JobFiles.resultKey("j", 1).startsWith(JOBS) && JobFiles.logKey("j", 1).startsWith(JOBS));
            assertTrue(JobFiles.uploadKey("up_1").startsWith(UPLOADS));
        }
    }

    @Test
    void s3Grants_giveEachPartOnlyThePrefixAndActionsItsCodePathNeeds() {
        Map<String, Set<String>> granted = new TreeMap<>();
        for (String function : List.of("SubmitJobFunction", "GetJobFunction", "ListJobsFunction", "CancelJobFunction",
                "AdminFunction",
                "CreateUploadFunction", "WebhookEventsFunction", "DeliverWebhookFunction")) {
            for (Map<String, Object> statement : functionStatements(function)) {
                s3Grants(function, TemplateFacts.grant(statement), granted);
            }
        }
        TemplateFacts.grants("GpuWorkerRole", "worker-process").forEach(grant -> s3Grants("worker", grant, granted));
        String jobs = "${FilesBucket.Arn}/" + JobFilesPrefixes.JOBS + "*";
        String uploads = "${FilesBucket.Arn}/" + JobFilesPrefixes.UPLOADS + "*";
        assertEquals(Map.of(
                // A presigned PUT for an upload; at submit, HeadObject to see it arrived.
                "CreateUploadFunction " + uploads, Set.of("s3:PutObject"),
                "SubmitJobFunction " + uploads, Set.of("s3:GetObject"),
                // A job that finished while its submit waited (Prefer: wait) is shown with its files' URLs.
                "SubmitJobFunction " + jobs, Set.of("s3:GetObject"),
                // Presigned GETs of a job's files; a large result read back.
                "GetJobFunction " + jobs, Set.of("s3:GetObject"),
                "AdminFunction " + jobs, Set.of("s3:GetObject"),
                // A webhook's body is the job as the API shows it, file URLs and all.
                "DeliverWebhookFunction " + jobs, Set.of("s3:GetObject"),
                // An attempt's files, written once and never read back; uploads as inputs.
                "worker " + jobs, Set.of("s3:PutObject"),
                "worker " + uploads, Set.of("s3:GetObject")), granted);
        // The bootstrap reads the worker jar, and only that.
        List<TemplateFacts.Grant> bootstrap = TemplateFacts.grants("GpuWorkerRole", "instance-bootstrap").stream()
                .filter(grant -> grant.services().contains("s3")).toList();
        assertEquals(1, bootstrap.size());
        assertEquals(List.of("s3:GetObject"), bootstrap.get(0).actions());
        assertEquals(List.of("${WorkerArtifactBucket.Arn}/worker/*"), bootstrap.get(0).arnPatterns());
    }

    private static void s3Grants(String who, TemplateFacts.Grant grant, Map<String, Set<String>> granted) {
        if (!grant.services().contains("s3")) {
            return;
        }
        assertEquals(Set.of("s3"), grant.services(), who + " " + grant.sid() + ": S3 in a statement of its own");
        assertFalse(grant.onAnyResource(), who + " " + grant.sid() + " grants S3 on \"*\"");
        assertEquals(Set.of(), grant.resourceIds(), who + " " + grant.sid() + ": objects under a prefix, never the"
                + " bucket itself");
        for (String pattern : grant.arnPatterns()) {
            granted.computeIfAbsent(who + " " + pattern, key -> new TreeSet<>()).addAll(grant.actions());
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Parameters: each bound agrees with what the value feeds (SamTemplateTest: that they are enforced)

    /** The workers refuse a longer lease (WorkerConfig): the heartbeat pushes visibility this far each time. */
    /** SQS's own range for a redrive policy's maxReceiveCount. */
    private static final int SQS_MAX_RECEIVE_COUNT = 1000;
    /** gp3's largest volume, GiB. */
    private static final int GP3_MAX_GIB = 16_384;
    /** The retention periods CloudWatch Logs accepts (PutRetentionPolicy), in days. */
    private static final List<Long> CLOUDWATCH_LOGS_RETENTION_DAYS = List.of(1L, 3L, 5L, 7L, 14L, 30L, 60L, 90L, 120L,
            150L, 180L, 365L, 400L, 545L, 731L, 1096L, 1827L, 2192L, 2557L, 2922L, 3288L, 3653L);

    @Test
    void visibilityTimeout_isALeaseTheHeartbeatCanKeepAlive_andSqsCanExtend() {
        Map<String, Object> parameter = TemplateFacts.parameter("VisibilityTimeoutSeconds");
        Duration least = Duration.ofSeconds(TemplateFacts.number(parameter, "MinValue"));
        Duration most = Duration.ofSeconds(TemplateFacts.number(parameter, "MaxValue"));
        assertEquals(Map.of("Ref", "VisibilityTimeoutSeconds"), TemplateFacts.properties("GpuJobQueue")
                .get("VisibilityTimeout"));
        // The default heartbeat is a third of the lease; one heartbeat may take a whole SDK call.
        assertTrue(least.dividedBy(3).compareTo(AwsClients.DEFAULT_API_CALL_TIMEOUT) >= 0, "a lease of " + least
                + " is renewed every " + least.dividedBy(3) + ", less than one call's timeout");
        assertTrue(most.compareTo(WorkerConfig.MAX_LEASE) <= 0, most + ": the workers would refuse it as their lease");
        assertTrue(most.compareTo(Duration.ofHours(12)) < 0, most + ": SQS hides a message 12 h at most");
    }

    @Test
    void maxReceiveCount_leavesAReceiveThatRuns_andAFailingJobReachesTheDlqWithinADay() {
        Map<String, Object> parameter = TemplateFacts.parameter("MaxReceiveCount");
        long least = TemplateFacts.number(parameter, "MinValue");
        long most = TemplateFacts.number(parameter, "MaxValue");
        assertTrue(least >= 2, "a message's last receive is re-sent, not run: with 1 no receive would run the job");
        assertTrue(most <= SQS_MAX_RECEIVE_COUNT, "SQS takes 1-" + SQS_MAX_RECEIVE_COUNT);
        Duration retrying = WorkerConfig.MAX_RETRY_DELAY.multipliedBy(most);
        assertTrue(retrying.compareTo(Duration.ofHours(26)) <= 0, most + " attempts at the back-off's ceiling of "
                + WorkerConfig.MAX_RETRY_DELAY + " keep a failing job out of the DLQ for " + retrying);
    }

    @Test
    void jobRetention_outlivesEveryMessageThatCanStillCarryTheJob() {
        Duration least = Duration.ofDays(TemplateFacts.number(TemplateFacts.parameter("JobRetentionDays"), "MinValue"));
        for (String queue : List.of("GpuJobQueue", "GpuJobDeadLetterQueue")) {
            Duration kept = Duration.ofSeconds(TemplateFacts.number(TemplateFacts.properties(queue),
                    "MessageRetentionPeriod"));
            assertTrue(least.compareTo(kept) >= 0, queue + " keeps a message " + kept + ", longer than a record's "
                    + least + ": a late delivery or a redrive would find no record and be deleted unrun");
        }
        Map<String, Object> globalEnv = TemplateFacts.map(TemplateFacts.map(TemplateFacts.map(TemplateFacts.map(
                TemplateFacts.raw(), "Globals"), "Function"), "Environment"), "Variables");
        assertEquals(Map.of("Ref", "JobRetentionDays"), globalEnv.get(FerryEnv.RETENTION_DAYS),
                "every function writes finished states, which carry the TTL");
        assertEquals("${JobRetentionDays}", TemplateFacts.envLines(TemplateFacts.heredoc(TemplateFacts.userData(),
                "/etc/ferry/stack.env")).get(FerryEnv.RETENTION_DAYS), "so do the workers");
    }

    @Test
    void clientLimits_reachAtMostTheStagesOwnLimits() {
        @SuppressWarnings("unchecked")
        Map<String, Object> stage = (Map<String, Object>) TemplateFacts.list(TemplateFacts.properties("FerryApi"),
                "MethodSettings").get(0);
        assertEquals("/*", stage.get("ResourcePath"));
        long rate = TemplateFacts.number(stage, "ThrottlingRateLimit");
        long burst = TemplateFacts.number(stage, "ThrottlingBurstLimit");
        assertTrue(TemplateFacts.number(TemplateFacts.parameter("ClientRateLimit"), "MaxValue") <= rate);
        assertTrue(TemplateFacts.number(TemplateFacts.parameter("ClientBurstLimit"), "MaxValue") <= burst);
        assertTrue(TemplateFacts.number(TemplateFacts.parameter("ClientDailyQuota"), "MaxValue")
                <= rate * Duration.ofDays(1).toSeconds(), "a quota above a day at the stage's rate never applies");
    }

    @Test
    void oldestJobAlarm_firesLongBeforeSqsDropsTheMessage_butNotOnEveryColdStart() {
        Map<String, Object> parameter = TemplateFacts.parameter("OldestJobAlarmSeconds");
        long kept = TemplateFacts.number(TemplateFacts.properties("GpuJobQueue"), "MessageRetentionPeriod");
        assertTrue(TemplateFacts.number(parameter, "MaxValue") * 2 <= kept,
                "the alarm must leave at least half the queue's retention to act before a waiting job is dropped");
        long warmup = TemplateFacts.number(TemplateFacts.properties("GpuWorkerGroup"), "DefaultInstanceWarmup");
        assertTrue(TemplateFacts.number(parameter, "MinValue") > warmup,
                "below an instance's warm-up every first job after the fleet was at zero would raise it");
        assertEquals(Map.of("Ref", "OldestJobAlarmSeconds"), TemplateFacts.properties("GpuOldestJobAlarm").get("Threshold"));
    }

    @Test
    void logRetention_isOneOfCloudWatchLogsPeriods_everywhereItIsUsed() {
        Map<String, Object> parameter = TemplateFacts.parameter("LogRetentionDays");
        List<Long> allowed = TemplateFacts.list(parameter, "AllowedValues").stream()
                .map(v -> Long.parseLong(String.valueOf(v))).toList();
        assertEquals(CLOUDWATCH_LOGS_RETENTION_DAYS, allowed);
        Map<String, Object> resources = TemplateFacts.map(TemplateFacts.raw(), "Resources");
        int groups = 0;
        for (String id : resources.keySet()) {
            if ("AWS::Logs::LogGroup".equals(TemplateFacts.resource(id).get("Type"))) {
                assertEquals(Map.of("Ref", "LogRetentionDays"), TemplateFacts.properties(id).get("RetentionInDays"), id);
                groups++;
            }
        }
        assertEquals(12, groups, "API access, nine functions, workers, the Lambda pool's function");
    }

    @Test
    void workerRootVolume_isGp3_withinGp3sSize() {
        Map<String, Object> data = TemplateFacts.map(TemplateFacts.properties("GpuWorkerLaunchTemplate"),
                "LaunchTemplateData");
        @SuppressWarnings("unchecked")
        Map<String, Object> ebs = TemplateFacts.map((Map<String, Object>) TemplateFacts.list(data,
                "BlockDeviceMappings").get(0), "Ebs");
        assertEquals("gp3", ebs.get("VolumeType"));
        assertEquals(Map.of("Ref", "WorkerRootVolumeGiB"), ebs.get("VolumeSize"));
        assertTrue(TemplateFacts.number(TemplateFacts.parameter("WorkerRootVolumeGiB"), "MaxValue") <= GP3_MAX_GIB);
    }

    @Test
    void defaultDeadlines_allowsExactlyWhatTheSubmitFunctionReads() {
        Map<String, Object> parameter = TemplateFacts.parameter("DefaultDeadlines");
        java.util.regex.Pattern allowed = java.util.regex.Pattern.compile((String) parameter.get("AllowedPattern"));
        assertEquals("", parameter.get("Default"));
        for (String value : List.of("", "sd=10m", "sd=10m,train.v2=12h", "a=90", "x=1h30m", "y=1.5s", "z=250ms",
                "SD-XL=2h0m5s")) {
            assertTrue(allowed.matcher(value).matches(), value);
            dev.ferry.functions.Deadlines.parseDefaults(FerryEnv.DEFAULT_DEADLINES, value);
        }
        for (String value : List.of("sd", "sd=", "sd=soon", "sd=10 m", "sd=1d", "s d=5m", "sd=PT10M", "=5m",
                "sd=-5s", "sd=5m;x=1h")) {
            assertFalse(allowed.matcher(value).matches(), value);
            assertThrows(IllegalStateException.class,
                    () -> dev.ferry.functions.Deadlines.parseDefaults(FerryEnv.DEFAULT_DEADLINES, value), value);
        }
        Map<String, Object> submitEnv = TemplateFacts.map(TemplateFacts.map(TemplateFacts.properties(
                "SubmitJobFunction"), "Environment"), "Variables");
        assertEquals(Map.of("Ref", "DefaultDeadlines"), submitEnv.get(FerryEnv.DEFAULT_DEADLINES));
    }

    @Test
    void readmesParameterTable_givesEachNumberParametersBounds() throws IOException {
        Path readme = TemplateFacts.TEMPLATE.getParent().resolveSibling("README.md");
        Map<String, String> documented = new TreeMap<>();
        for (String line : Files.readAllLines(readme)) {
            String[] cells = line.strip().split("\\s*\\|\\s*");
            // "| `A`, `B` | defaults | a-b, c-d | why |" splits into "", names, defaults, ranges, why.
            if (cells.length >= 4 && cells[1].startsWith("`") && cells[3].matches("[0-9][-0-9, .]*")) {
                List<String> names = List.of(cells[1].replace("`", "").split(",\\s*"));
                List<String> ranges = List.of(cells[3].split(",\\s*"));
                if (names.size() == ranges.size()) {
                    for (int i = 0; i < names.size(); i++) {
                        documented.put(names.get(i), ranges.get(i));
                    }
                }
            }
        }
        Map<String, String> bounds = new TreeMap<>();
        TemplateFacts.numberParameters().forEach((name, declaration) -> {
            if (declaration.containsKey("MinValue")) {
                bounds.put(name, TemplateFacts.number(declaration, "MinValue") + "-"
                        + TemplateFacts.number(declaration, "MaxValue"));
            }
        });
        assertEquals(bounds, documented, "README's parameter table (Limits) against the template");
    }

    // ---------------------------------------------------------------------------------------------
    // IAM

    @Test
    void noStatement_grantsAWildcardAction() {
        List<String> found = new ArrayList<>();
        walk(TemplateFacts.raw(), "", found);
        assertFalse(found.isEmpty(), "found no IAM actions at all");
        List<String> wildcards = found.stream().filter(a -> a.contains("*")).toList();
        assertEquals(List.of(), wildcards);
    }

    /** Actions IAM authorises on no particular resource: the only ones a statement may grant on "*". */
    private static final Set<String> RESOURCELESS_ACTIONS = Set.of("autoscaling:DescribeAutoScalingInstances",
            "autoscaling:DescribeAutoScalingGroups");

    @Test
    void resourceStar_isGrantedOnlyForActionsThatTakeNoResource() {
        List<Map<String, Object>> statements = new ArrayList<>();
        allowStatements(TemplateFacts.raw(), statements);
        assertTrue(statements.size() > 10, "found only " + statements.size() + " statements");
        List<String> onStar = new ArrayList<>();
        for (Map<String, Object> statement : statements) {
            TemplateFacts.Grant grant = TemplateFacts.grant(statement);
            if (grant.onAnyResource()) {
                assertEquals(List.of("*"), grant.resources(), grant.sid() + ": \"*\" alone, not beside named resources");
                onStar.addAll(grant.actions());
            }
        }
        assertTrue(RESOURCELESS_ACTIONS.containsAll(onStar), "granted on \"*\": " + onStar);
    }

    /** Every Allow statement with a Resource, anywhere (roles, functions' policies); not trust policies. */
    @SuppressWarnings("unchecked")
    private static void allowStatements(Object node, List<Map<String, Object>> statements) {
        if (node instanceof Map<?, ?> map) {
            if ("Allow".equals(map.get("Effect")) && map.containsKey("Resource")) {
                statements.add((Map<String, Object>) map);
                return;
            }
            map.values().forEach(value -> allowStatements(value, statements));
        } else if (node instanceof List<?> list) {
            list.forEach(item -> allowStatements(item, statements));
        }
    }

    @Test
    void grant_readsEachStatementShape_andRefusesTheOnesItCannotReasonAbout() {
        TemplateFacts.Grant one = TemplateFacts.grant(Map.of("Sid", "One", "Effect", "Allow",
                "Action", "autoscaling:DescribeAutoScalingInstances", "Resource", "*"));
        assertEquals(List.of("autoscaling:DescribeAutoScalingInstances"), one.actions());
        assertEquals(Set.of("autoscaling"), one.services());
        assertTrue(one.onAnyResource());
        assertEquals(Set.of(), one.resourceIds());
        assertEquals(Map.of(), one.condition());

        TemplateFacts.Grant many = TemplateFacts.grant(Map.of("Effect", "Allow",
                "Action", List.of("sqs:SendMessage", "autoscaling:SetInstanceProtection"),
                "Resource", List.of(Map.of("Fn::GetAtt", List.of("GpuJobQueue", "Arn")), Map.of("Ref", "Secret"),
                        Map.of("Fn::Sub", "arn:${AWS::Partition}:autoscaling:*:autoScalingGroupName/g")),
                "Condition", Map.of("StringEquals", Map.of("autoscaling:ResourceTag/Name", "ferry-workers"))));
        assertEquals("", many.sid());
        assertEquals(Set.of("autoscaling", "sqs"), many.services());
        assertFalse(many.onAnyResource());
        assertEquals(Set.of("GpuJobQueue", "Secret"), many.resourceIds());
        assertEquals(List.of("arn:${AWS::Partition}:autoscaling:*:autoScalingGroupName/g"), many.arnPatterns());
        assertEquals(Map.of("StringEquals", "ferry-workers"), many.conditionsOn("autoscaling:ResourceTag/Name"));
        assertEquals(Map.of(), many.conditionsOn("aws:ResourceTag/Name"));

        for (Map<String, Object> unreadable : List.<Map<String, Object>>of(
                Map.of("Effect", "Deny", "Action", "sqs:SendMessage", "Resource", "*"),
                Map.of("Effect", "Allow", "NotAction", "sqs:SendMessage", "Resource", "*"),
                Map.of("Effect", "Allow", "Action", "sqs:SendMessage", "NotResource", "*"),
                Map.of("Effect", "Allow", "Action", "sqs:SendMessage"),
                Map.of("Effect", "Allow", "Action", "sqs:SendMessage", "Resource", "*", "Condition", "x"))) {
            assertThrows(AssertionError.class, () -> TemplateFacts.grant(unreadable), unreadable.toString());
        }
    }

    /**
     * Every IAM action the template allows: values of "Action" keys, anywhere but in Deny
     * statements (a bucket policy's "deny s3:* without TLS" grants nothing).
     */
    private static void walk(Object node, String where, List<String> actions) {
        if (node instanceof Map<?, ?> map) {
            if ("Deny".equals(map.get("Effect"))) {
                return;
            }
            map.forEach((key, value) -> {
                if ("Action".equals(key) || "NotAction".equals(key)) {
                    (value instanceof List<?> list ? list : List.of(value)).forEach(a -> actions.add(String.valueOf(a)));
                } else {
                    walk(value, where + "." + key, actions);
                }
            });
        } else if (node instanceof List<?> list) {
            list.forEach(item -> walk(item, where, actions));
        }
    }

    /**
     * A function's IAM statements: its {@code Policies} (SAM makes its role), or those of the role
     * it names ({@code Role: !GetAtt <role>.Arn}).
     */
    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> functionStatements(String function) {
        List<Map<String, Object>> statements = new ArrayList<>();
        Map<String, Object> properties = TemplateFacts.properties(function);
        if (properties.get("Role") instanceof Map<?, ?> role) {
            String roleId = (String) ((List<Object>) role.get("Fn::GetAtt")).get(0);
            for (Object policy : TemplateFacts.list(TemplateFacts.properties(roleId), "Policies")) {
                statements.addAll(TemplateFacts.rolePolicy(roleId, (String) ((Map<String, Object>) policy)
                        .get("PolicyName")));
            }
            return statements;
        }
        for (Object policy : TemplateFacts.list(properties, "Policies")) {
            statements.addAll((List<Map<String, Object>>) ((Map<String, Object>) policy).get("Statement"));
        }
        return statements;
    }

    private static Class<?> classOf(SamTemplate template, String function) {
        try {
            return Class.forName(template.functions().stream().filter(f -> f.logicalId().equals(function))
                    .findFirst().orElseThrow().handlerClass());
        } catch (ClassNotFoundException e) {
            throw new AssertionError(e);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Webhooks

    @Test
    void webhookFunctions_haveRolesOfTheirOwn_grantingThisStacksStreamQueueTablesAndSecretOnly() {
        Map<String, Set<String>> events = grantsByResource("WebhookEventsFunction");
        assertEquals(Map.of(
                "JobsTable.StreamArn", Set.of("dynamodb:DescribeStream", "dynamodb:GetRecords",
                        "dynamodb:GetShardIterator"),
                "${JobsTable.Arn}/stream/*", Set.of("dynamodb:ListStreams"),
                "WebhookQueue", Set.of("sqs:SendMessage"),
                "WebhookEventsLogGroup", Set.of("logs:CreateLogStream", "logs:PutLogEvents")), events);
        Map<String, Set<String>> deliver = grantsByResource("DeliverWebhookFunction");
        assertEquals(Map.of(
                "WebhookQueue", Set.of("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                        "sqs:SendMessage"),
                "JobsTable", Set.of("dynamodb:GetItem"),
                "WebhookDeliveriesTable", Set.of("dynamodb:GetItem", "dynamodb:PutItem"),
                "${FilesBucket.Arn}/jobs/*", Set.of("s3:GetObject"),
                "WebhookSigningSecret", Set.of("secretsmanager:GetSecretValue"),
                "DeliverWebhookLogGroup", Set.of("logs:CreateLogStream", "logs:PutLogEvents")), deliver);
        // Their log groups are the ones they log to.
        for (String function : List.of("WebhookEventsFunction", "DeliverWebhookFunction")) {
            Object group = TemplateFacts.map(TemplateFacts.properties(function), "LoggingConfig").get("LogGroup");
            String id = (String) ((Map<?, ?>) group).get("Ref");
            assertTrue(grantsByResource(function).containsKey(id), function + " logs to " + id);
        }
    }

    @Test
    void webhookQueue_outlastsTheDeliveryFunction_andDeadLettersToItsOwnQueue() {
        Map<String, Object> queue = TemplateFacts.properties("WebhookQueue");
        long visibility = TemplateFacts.number(queue, "VisibilityTimeout");
        long timeout = TemplateFacts.number(TemplateFacts.properties("DeliverWebhookFunction"), "Timeout");
        assertTrue(visibility >= 6 * timeout, "Lambda's advice for a queue it reads: six times the function's timeout");
        Map<String, Object> redrive = TemplateFacts.map(queue, "RedrivePolicy");
        assertEquals(Map.of("Fn::GetAtt", List.of("WebhookDeadLetterQueue", "Arn")), redrive.get("deadLetterTargetArn"));
        assertEquals(1_209_600, TemplateFacts.properties("WebhookDeadLetterQueue").get("MessageRetentionPeriod"));
        Map<String, Object> deliverEnv = TemplateFacts.map(TemplateFacts.map(TemplateFacts.properties(
                "DeliverWebhookFunction"), "Environment"), "Variables");
        long retryFor = Long.parseLong((String) deliverEnv.get(WebhookSettings.RETRY_FOR));
        assertTrue(retryFor * 2 <= TemplateFacts.number(queue, "MessageRetentionPeriod"),
                "a delivery ends long before the queue would drop its message");
        long requestTimeout = Long.parseLong((String) deliverEnv.get(WebhookSettings.TIMEOUT));
        assertTrue(requestTimeout * 2 < timeout, "a batch's deliveries run side by side, then record: within the"
                + " function's timeout");
        Map<String, Object> table = TemplateFacts.properties("JobsTable");
        assertEquals(Map.of("StreamViewType", "NEW_AND_OLD_IMAGES"), table.get("StreamSpecification"),
                "an event is a change: it needs the record before and after");
    }

    @Test
    void lambdaPoolFunction_isGrantedTheWorkersCallsOnItsOwnQueues_lessTheFleets_andItsLogs() {
        Map<String, Set<String>> light = grantsByResource("LightPoolFunction");
        assertEquals(Map.of(
                // The mapping's receive and delete, the worker's heartbeat, copies and settings.
                "LightJobQueue", Set.of("sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage",
                        "sqs:GetQueueAttributes", "sqs:SendMessage"),
                "LightJobDeadLetterQueue", Set.of("sqs:SendMessage", "sqs:GetQueueUrl"),
                "JobsTable", Set.of("dynamodb:UpdateItem", "dynamodb:DescribeTable"),
                "${FilesBucket.Arn}/jobs/*", Set.of("s3:PutObject"),
                "${FilesBucket.Arn}/uploads/*", Set.of("s3:GetObject"),
                "LightPoolFunctionLogGroup", Set.of("logs:CreateLogStream", "logs:PutLogEvents")), light);
        // The same calls a GPU worker may make on the same kinds of resource (WorkerPermissionsIT records
        // those): nothing a worker could not do, but its fleet's (heartbeat item, scale-in protection).
        Map<String, Set<String>> gpu = new TreeMap<>();
        for (TemplateFacts.Grant grant : TemplateFacts.grants("GpuWorkerRole", "worker-process")) {
            gpu.computeIfAbsent(grant.sid(), sid -> new TreeSet<>()).addAll(grant.actions());
        }
        assertEquals(gpu.get("WorkJobQueue"), light.get("LightJobQueue"));
        assertEquals(gpu.get("DeadLetterJobs"), light.get("LightJobDeadLetterQueue"));
        assertEquals(gpu.get("UpdateJobRecords"), light.get("JobsTable"));
        assertEquals(gpu.get("WriteJobFiles"), light.get("${FilesBucket.Arn}/jobs/*"));
        assertEquals(gpu.get("ReadUploads"), light.get("${FilesBucket.Arn}/uploads/*"));
        Object group = TemplateFacts.map(TemplateFacts.properties("LightPoolFunction"), "LoggingConfig").get("LogGroup");
        assertEquals(Map.of("Ref", "LightPoolFunctionLogGroup"), group, "it logs where it may write");
    }

    /** Each resource a function's statements name (a logical id, or an ARN pattern), with its actions. */
    @SuppressWarnings("unchecked")
    private static Map<String, Set<String>> grantsByResource(String function) {
        Map<String, Set<String>> granted = new TreeMap<>();
        for (Map<String, Object> statement : functionStatements(function)) {
            TemplateFacts.Grant grant = TemplateFacts.grant(statement);
            for (Object resource : grant.resources()) {
                String where;
                if (resource instanceof Map<?, ?> node && node.get("Fn::GetAtt") instanceof List<?> getAtt) {
                    where = "Arn".equals(getAtt.get(1)) ? (String) getAtt.get(0) : getAtt.get(0) + "." + getAtt.get(1);
                } else if (resource instanceof Map<?, ?> node && node.get("Ref") instanceof String id) {
                    where = id;
                } else if (resource instanceof Map<?, ?> node && node.get("Fn::Sub") instanceof String pattern) {
                    where = pattern;
                } else {
                    where = String.valueOf(resource);
                }
                granted.computeIfAbsent(where, key -> new TreeSet<>()).addAll(grant.actions());
            }
        }
        return granted;
    }
}
