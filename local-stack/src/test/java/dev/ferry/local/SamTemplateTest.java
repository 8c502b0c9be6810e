package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.FerryEnv;
import dev.ferry.core.Pools;
import dev.ferry.functions.AdminToken;
import dev.ferry.functions.WebhookSettings;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link SamTemplate} on the real {@code infra/template.yaml}, and on small templates for its edges. */
class SamTemplateTest {

    private static final SamTemplate.PseudoParameters LOCAL =
            new SamTemplate.PseudoParameters("ferry", "us-east-1", "000000000000");
    private static final Path TEMPLATE = SamTemplate.find(Path.of(""));

    /** Ref gives "ref:<id>", GetAtt "<id>.<attribute>": enough to see what resolved to what. */
    private static final SamTemplate.ResourceValues NAMED = new SamTemplate.ResourceValues() {
        @Override
        public String ref(String logicalId) {
            return "ref:" + logicalId;
        }

        @Override
        public String attribute(String logicalId, String attribute) {
            return logicalId + "." + attribute;
        }
    };

    @TempDir
    Path temp;

    private static SamTemplate template(Map<String, String> overrides) {
        return SamTemplate.load(TEMPLATE, overrides, LOCAL);
    }

    @Test
    void find_walksUpFromTheModuleToTheRepositoryTemplate() {
        assertTrue(TEMPLATE.endsWith(Path.of("infra", "template.yaml")), TEMPLATE.toString());
        TemplateException missing = assertThrows(TemplateException.class, () -> SamTemplate.find(temp));
        assertTrue(missing.getMessage().contains("no infra/template.yaml in " + temp), missing.getMessage());
    }

    @Test
    void routes_areTheFunctionsApiEvents_onTheV1Stage() {
        List<String> routes = template(Map.of()).routes().stream()
                .map(r -> r.method() + " " + r.path() + " " + r.stage() + " " + r.function().logicalId() + " "
                        + r.function().handlerClass() + "::" + r.function().handlerMethod())
                .toList();
        assertEquals(List.of(
                "POST /jobs v1 SubmitJobFunction dev.ferry.functions.SubmitJobHandler::handleRequest",
                "POST /uploads v1 CreateUploadFunction dev.ferry.functions.CreateUploadHandler::handleRequest",
                "GET /jobs/{jobId} v1 GetJobFunction dev.ferry.functions.GetJobHandler::handleRequest",
                "GET /jobs v1 ListJobsFunction dev.ferry.functions.ListJobsHandler::handleRequest",
                "POST /jobs/{jobId}/cancel v1 CancelJobFunction dev.ferry.functions.CancelJobHandler::handleRequest",
                "GET /health v1 HealthFunction dev.ferry.functions.HealthHandler::handleRequest",
                "GET /admin v1 AdminFunction dev.ferry.functions.AdminHandler::handleRequest",
                "ANY /admin/{proxy+} v1 AdminFunction dev.ferry.functions.AdminHandler::handleRequest"), routes);
    }

    @Test
    void functions_takeTimeoutMemoryAndEnvironmentFromGlobals() {
        Map<String, SamTemplate.Function> functions = new HashMap<>();
        template(Map.of()).functions().forEach(f -> functions.put(f.logicalId(), f));
        SamTemplate.Function submit = functions.get("SubmitJobFunction");
        SamTemplate.Function get = functions.get("GetJobFunction");
        // Its own: it may wait for the job (Prefer: wait).
        assertEquals(Duration.ofSeconds(28), submit.timeout());
        assertEquals(Duration.ofSeconds(25), functions.get("AdminFunction").timeout(), "the Globals' own");
        assertEquals(1024, submit.memorySizeMb());
        // The pools' variables (a GPU pool, Gpu, and a Lambda pool, Light, without a lane), from the
        // loops in each function's environment.
        Set<String> pools = Set.of(Pools.POOLS, "FERRY_POOL_Gpu_QUEUE_URL", "FERRY_POOL_Gpu_PRIORITY_QUEUE_URL",
                "FERRY_POOL_Gpu_DLQ_URL", "FERRY_POOL_Gpu_TYPES", "FERRY_POOL_Light_QUEUE_URL",
                "FERRY_POOL_Light_DLQ_URL", "FERRY_POOL_Light_TYPES");
        assertEquals(union(pools, Set.of(FerryEnv.TABLE, FerryEnv.MAX_MESSAGE_BYTES, FerryEnv.RETENTION_DAYS,
                FerryEnv.BUCKET, FerryEnv.URL_EXPIRY, FerryEnv.MAX_INPUT_UPLOAD_BYTES,
                "FERRY_MAX_WAIT", FerryEnv.DEFAULT_DEADLINES, FerryEnv.LOG_FORMAT, FerryEnv.METRICS_NAMESPACE)),
                submit.environmentVariableNames());
        assertEquals(Set.of(FerryEnv.TABLE, FerryEnv.RETENTION_DAYS, FerryEnv.BUCKET, FerryEnv.URL_EXPIRY,
                FerryEnv.LOG_FORMAT), functions.get("CancelJobFunction").environmentVariableNames());
        assertEquals(union(pools, Set.of(FerryEnv.TABLE, FerryEnv.RETENTION_DAYS, FerryEnv.BUCKET, FerryEnv.URL_EXPIRY,
                "FERRY_MAX_WAIT", WebhookSettings.TABLE, FerryEnv.LOG_FORMAT)),
                get.environmentVariableNames());
        assertEquals(Set.of(FerryEnv.BUCKET, FerryEnv.URL_EXPIRY, FerryEnv.RETENTION_DAYS, FerryEnv.LOG_FORMAT),
                functions.get("CreateUploadFunction").environmentVariableNames());
        assertEquals(union(pools, Set.of(FerryEnv.TABLE, FerryEnv.RETENTION_DAYS, FerryEnv.BUCKET, FerryEnv.URL_EXPIRY,
                        AdminToken.SECRET_ARN, "FERRY_CURSOR_KEY", WebhookSettings.TABLE, WebhookSettings.QUEUE_URL,
                        FerryEnv.LOG_FORMAT, FerryEnv.WORKERS_TABLE, "FERRY_POOL_Gpu_WORKER_GROUP",
                        "FERRY_POOL_Light_FUNCTION")),
                functions.get("AdminFunction").environmentVariableNames());
        assertEquals(Set.of(FerryEnv.BUCKET, FerryEnv.URL_EXPIRY, FerryEnv.RETENTION_DAYS, WebhookSettings.QUEUE_URL,
                FerryEnv.LOG_FORMAT),
                functions.get("WebhookEventsFunction").environmentVariableNames());
        assertEquals(Duration.ofSeconds(60), functions.get("DeliverWebhookFunction").timeout());
        // The Lambda pool's function: the worker, on its own queue, its size from the pool's mapping.
        SamTemplate.Function light = functions.get("LightPoolFunction");
        assertEquals(Duration.ofSeconds(120), light.timeout());
        assertEquals(1024, light.memorySizeMb());
        assertEquals("dev.ferry.worker.LambdaPoolHandler", light.handlerClass());
        assertEquals(Set.of(FerryEnv.POOL, FerryEnv.QUEUE_URL, FerryEnv.TABLE, "FERRY_SLOTS", "FERRY_LEASE",
                "FERRY_WORKER_ENVIRONMENT", FerryEnv.METRICS_NAMESPACE, FerryEnv.RETENTION_DAYS, FerryEnv.BUCKET,
                FerryEnv.URL_EXPIRY, FerryEnv.LOG_FORMAT), light.environmentVariableNames());
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> all = new java.util.HashSet<>(a);
        all.addAll(b);
        return all;
    }

    @Test
    void jobQueue_redrivesToTheDeadLetterQueue_afterMaxReceiveCountFromItsDefault() {
        SamTemplate template = template(Map.of());
        assertEquals(List.of("WebhookDeadLetterQueue", "GpuJobDeadLetterQueue", "LightJobDeadLetterQueue",
                "WebhookQueue", "GpuJobQueue", "GpuPriorityQueue", "LightJobQueue"),
                template.queues().stream().map(SamTemplate.Queue::logicalId).toList(), "dead-letter queues first");
        assertEquals(new SamTemplate.Redrive("LightJobDeadLetterQueue", 5),
                template.queue("LightJobQueue").redrive().orElseThrow(), "the Lambda pool's own");
        assertEquals(new SamTemplate.Redrive("GpuJobDeadLetterQueue", 5),
                template.queue("GpuPriorityQueue").redrive().orElseThrow(), "the priority lane: the same DLQ");
        assertEquals(new SamTemplate.Redrive("WebhookDeadLetterQueue", 5),
                template.queue("WebhookQueue").redrive().orElseThrow());
        assertEquals(new SamTemplate.Redrive("GpuJobDeadLetterQueue", 5), template.queue("GpuJobQueue").redrive().orElseThrow());
        assertTrue(template.queue("GpuJobDeadLetterQueue").redrive().isEmpty());
        assertEquals("5", template.parameters().get("MaxReceiveCount"));
    }

    @Test
    void maxReceiveCountAndVisibilityTimeout_followParameterOverrides() {
        SamTemplate template = template(Map.of("MaxReceiveCount", "3", "VisibilityTimeoutSeconds", "30"));
        assertEquals(3, template.queue("GpuJobQueue").redrive().orElseThrow().maxReceiveCount());
        assertEquals("30", template.queue("GpuJobQueue").attributes().get("VisibilityTimeout"));
    }

    @Test
    void parameterOverride_outOfRange_isRefusedNamingTheParameter() {
        TemplateException error = assertThrows(TemplateException.class,
                () -> template(Map.of("MaxReceiveCount", "0")));
        assertTrue(error.getMessage().contains("Parameters.MaxReceiveCount: must be at least 2, but is 0"),
                error.getMessage());
        TemplateException notNumber = assertThrows(TemplateException.class,
                () -> template(Map.of("VisibilityTimeoutSeconds", "soon")));
        assertTrue(notNumber.getMessage().contains("Parameters.VisibilityTimeoutSeconds: must be a number"),
                notNumber.getMessage());
    }

    @Test
    void everyNumberParameter_isBoundedBothWays_andRefusesValuesJustOutside() {
        Map<String, Map<String, Object>> numbers = TemplateFacts.numberParameters();
        assertTrue(numbers.size() >= 10, numbers.keySet().toString());
        template(Map.of());
        for (Map.Entry<String, Map<String, Object>> entry : numbers.entrySet()) {
            String name = entry.getKey();
            Map<String, Object> declaration = entry.getValue();
            if (declaration.containsKey("AllowedValues")) {
                List<Long> allowed = TemplateFacts.list(declaration, "AllowedValues").stream()
                        .map(v -> Long.parseLong(String.valueOf(v))).toList();
                for (long value : allowed) {
                    assertEquals(Long.toString(value), template(Map.of(name, Long.toString(value))).parameters().get(name));
                    for (long beside : List.of(value - 1, value + 1)) {
                        if (!allowed.contains(beside)) {
                            assertRefused(name, Long.toString(beside), "must be one of " + allowed);
                        }
                    }
                }
                continue;
            }
            assertTrue(declaration.containsKey("MinValue") && declaration.containsKey("MaxValue"),
                    name + " is a Number with no MinValue or no MaxValue: bound it to what the system works with,"
                            + " and say why in its Description");
            long least = TemplateFacts.number(declaration, "MinValue");
            long most = TemplateFacts.number(declaration, "MaxValue");
            assertTrue(least <= most, name);
            template(Map.of(name, Long.toString(least)));
            template(Map.of(name, Long.toString(most)));
            assertRefused(name, Long.toString(least - 1), "must be at least " + least + ", but is " + (least - 1));
            assertRefused(name, Long.toString(most + 1), "must be at most " + most + ", but is " + (most + 1));
        }
    }

    @Test
    void everyNumberParametersBounds_areStatedInItsDescription() {
        TemplateFacts.numberParameters().forEach((name, declaration) -> {
            String description = String.valueOf(declaration.get("Description"));
            for (String bound : List.of("MinValue", "MaxValue")) {
                if (declaration.containsKey(bound)) {
                    String value = Long.toString(TemplateFacts.number(declaration, bound));
                    assertTrue(description.matches("(?s).*(?<![\\d.])" + value + "(?![\\d])(?!\\.\\d).*"),
                            name + "'s Description does not give its " + bound + " (" + value + ") and why: "
                                    + description);
                }
            }
        });
    }

    @Test
    void visibilityTimeout_outsideTheWorkersLeaseRange_isRefused() {
        for (String value : List.of("0", "2", "29")) {
            assertRefused("VisibilityTimeoutSeconds", value, "must be at least 30, but is " + value);
        }
        for (String value : List.of("3601", "43200")) {
            assertRefused("VisibilityTimeoutSeconds", value, "must be at most 3600, but is " + value);
        }
        assertEquals("30", template(Map.of("VisibilityTimeoutSeconds", "30")).queue("GpuJobQueue").attributes()
                .get("VisibilityTimeout"));
        assertEquals("3600", template(Map.of("VisibilityTimeoutSeconds", "3600")).queue("GpuJobQueue").attributes()
                .get("VisibilityTimeout"));
        // The local stack's own overrides stay inside.
        template(LocalStack.LOCAL_TEMPLATE_PARAMETERS);
    }

    @Test
    void maxReceiveCount_ofOne_isRefused_andTwoIsTheLeast() {
        assertRefused("MaxReceiveCount", "1", "must be at least 2, but is 1");
        assertRefused("MaxReceiveCount", "101", "must be at most 100, but is 101");
        assertEquals(2, template(Map.of("MaxReceiveCount", "2")).queue("GpuJobQueue").redrive().orElseThrow()
                .maxReceiveCount());
        assertEquals(100, template(Map.of("MaxReceiveCount", "100")).queue("GpuJobQueue").redrive().orElseThrow()
                .maxReceiveCount());
    }

    @Test
    void logRetention_thatCloudWatchDoesNotOffer_isRefused() {
        assertRefused("LogRetentionDays", "2", "must be one of [1, 3, 5, 7, 14, 30,");
        assertRefused("LogRetentionDays", "3650", "must be one of [");
        assertEquals("3653", template(Map.of("LogRetentionDays", "3653")).parameters().get("LogRetentionDays"));
    }

    @Test
    void boundsOfASmallTemplate_applyToOverridesAndDefaults_andNotToStrings() throws IOException {
        Path file = Files.writeString(temp.resolve("template.yaml"), """
                Parameters:
                  Count: {Type: Number, Default: 5, MinValue: 2, MaxValue: 10}
                  Fraction: {Type: Number, Default: "0.5", MinValue: "0.25", MaxValue: 1}
                  Name: {Type: String, Default: "7", MinValue: 10}
                  Days: {Type: Number, Default: 3, AllowedValues: [1, 3, 7]}
                Resources: {}
                """);
        assertEquals("5", SamTemplate.load(file, Map.of(), LOCAL).parameters().get("Count"));
        assertEquals("0.25", SamTemplate.load(file, Map.of("Fraction", "0.25"), LOCAL).parameters().get("Fraction"));
        TemplateException fraction = assertThrows(TemplateException.class,
                () -> SamTemplate.load(file, Map.of("Fraction", "0.2"), LOCAL));
        assertTrue(fraction.getMessage().contains("Parameters.Fraction: must be at least 0.25, but is 0.2"),
                fraction.getMessage());
        TemplateException days = assertThrows(TemplateException.class,
                () -> SamTemplate.load(file, Map.of("Days", "2"), LOCAL));
        assertTrue(days.getMessage().contains("Parameters.Days: must be one of [1, 3, 7], but is '2'"),
                days.getMessage());
        // CloudFormation applies MinValue to Number parameters only.
        assertEquals("7", SamTemplate.load(file, Map.of(), LOCAL).parameters().get("Name"));

        Path badDefault = Files.writeString(temp.resolve("bad-default.yaml"), """
                Parameters:
                  Count: {Type: Number, Default: 1, MinValue: 2, MaxValue: 10}
                Resources: {}
                """);
        TemplateException error = assertThrows(TemplateException.class,
                () -> SamTemplate.load(badDefault, Map.of(), LOCAL));
        assertTrue(error.getMessage().contains("Parameters.Count: must be at least 2, but is 1"), error.getMessage());
    }

    private static void assertRefused(String parameter, String value, String why) {
        TemplateException error = assertThrows(TemplateException.class, () -> template(Map.of(parameter, value)),
                parameter + "=" + value + " was accepted");
        assertTrue(error.getMessage().contains("Parameters." + parameter + ": " + why), error.getMessage());
    }

    @Test
    void parameterOverride_ofAnUndeclaredParameter_isRefused() {
        TemplateException error = assertThrows(TemplateException.class,
                () -> template(Map.of("MaxRecieveCount", "3")));
        assertTrue(error.getMessage().contains("there is no parameter 'MaxRecieveCount' to override"),
                error.getMessage());
    }

    @Test
    void queues_haveTheTemplatesAttributes_andNamesDerivedFromTheStackName() {
        SamTemplate template = template(Map.of());
        SamTemplate.Queue jobs = template.queue("GpuJobQueue");
        assertEquals("ferry_Gpu-jobs", jobs.name());
        assertEquals(Map.of("VisibilityTimeout", "120", "ReceiveMessageWaitTimeSeconds", "20",
                "MaximumMessageSize", "262144", "MessageRetentionPeriod", "1209600"), jobs.attributes());
        SamTemplate.Queue deadLetters = template.queue("GpuJobDeadLetterQueue");
        assertEquals("ferry_Gpu-jobs-dlq", deadLetters.name());
        assertEquals(Map.of("MessageRetentionPeriod", "1209600"), deadLetters.attributes());

        SamTemplate other = SamTemplate.load(TEMPLATE, Map.of(),
                new SamTemplate.PseudoParameters("other", "eu-west-1", "123456789012"));
        assertEquals("other_Gpu-jobs", other.queue("GpuJobQueue").name());
        assertEquals("other_Gpu-jobs-priority", other.queue("GpuPriorityQueue").name());
    }

    @Test
    void deadLetterQueue_allowsOnlyItsPoolsTwoLanesAsSources() {
        SamTemplate.RedriveAllowPolicy policy =
                template(Map.of()).queue("GpuJobDeadLetterQueue").redriveAllowPolicy().orElseThrow();
        assertTrue(policy.allows("arn:aws:sqs:us-east-1:000000000000:ferry_Gpu-jobs"), policy.toString());
        assertTrue(policy.allows("arn:aws:sqs:us-east-1:000000000000:ferry_Gpu-jobs-priority"), policy.toString());
        assertFalse(policy.allows("arn:aws:sqs:us-east-1:000000000000:ferry-other"));
        assertFalse(policy.allows("arn:aws:sqs:us-east-1:000000000000:ferry_Large-jobs"));
        assertFalse(policy.allows("arn:aws:sqs:eu-west-1:000000000000:ferry_Gpu-jobs"));
    }

    @Test
    void table_isKeyedByJobId_withTtlOnExpiresAt() {
        List<SamTemplate.Table> tables = template(Map.of()).tables();
        assertEquals(3, tables.size());
        SamTemplate.Table table = tables.get(0);
        assertEquals("JobsTable", table.logicalId());
        assertEquals("ferry-jobs", table.name());
        assertEquals("jobId", table.hashKeyName());
        assertEquals("S", table.hashKeyType());
        assertEquals("expiresAt", table.timeToLiveAttribute().orElseThrow());
        assertEquals(Optional.of("NEW_AND_OLD_IMAGES"), table.streamViewType(), "webhook events are read from it");
        SamTemplate.Table deliveries = tables.get(1);
        assertEquals("WebhookDeliveriesTable", deliveries.logicalId());
        assertEquals("ferry-webhook-deliveries", deliveries.name());
        assertEquals("jobId", deliveries.hashKeyName());
        assertEquals("expiresAt", deliveries.timeToLiveAttribute().orElseThrow());
        assertEquals(Optional.empty(), deliveries.streamViewType());
        SamTemplate.Table workers = tables.get(2);
        assertEquals("WorkersTable", workers.logicalId());
        assertEquals("ferry-workers", workers.name());
        assertEquals("workerId", workers.hashKeyName());
        assertEquals("expiresAt", workers.timeToLiveAttribute().orElseThrow());
    }

    @Test
    void eventSources_areTheFunctionsDynamoDbAndSqsEvents() {
        List<SamTemplate.EventSource> sources = template(Map.of()).eventSources();

        assertEquals(List.of("WebhookEventsFunction.JobChanges", "DeliverWebhookFunction.Deliveries",
                "LightPoolFunction.Jobs"), sources.stream().map(SamTemplate.EventSource::name).toList());
        SamTemplate.EventSource pool = sources.get(2);
        assertEquals(SamTemplate.EventSource.Kind.SQS, pool.kind());
        assertEquals("LightJobQueue", pool.sourceLogicalId());
        assertEquals(5, pool.batchSize());
        assertTrue(pool.reportBatchItemFailures(), "a batch's runs settle their messages one by one");
        SamTemplate.EventSource stream = sources.get(0);
        assertEquals(SamTemplate.EventSource.Kind.DYNAMODB_STREAM, stream.kind());
        assertEquals("JobsTable", stream.sourceLogicalId());
        assertEquals("TRIM_HORIZON", stream.startingPosition());
        assertEquals(100, stream.batchSize());
        assertEquals(-1, stream.maximumRetryAttempts());
        assertTrue(stream.reportBatchItemFailures());
        assertEquals(List.of("{\"eventName\": [\"MODIFY\"], \"dynamodb\": {\"NewImage\": {\"webhookUrl\": {\"S\":"
                + " [{\"exists\": true}]}}}}"), stream.filterPatterns());
        SamTemplate.EventSource queue = sources.get(1);
        assertEquals(SamTemplate.EventSource.Kind.SQS, queue.kind());
        assertEquals("WebhookQueue", queue.sourceLogicalId());
        assertEquals(5, queue.batchSize());
        assertTrue(queue.reportBatchItemFailures());
        assertEquals(List.of(), queue.filterPatterns());
        assertEquals("dev.ferry.functions.DeliverWebhookHandler", queue.function().handlerClass());
    }

    @Test
    void eventSources_thatTheLocalStackCouldNotRunAsDeployed_areRefused() throws IOException {
        String table = """
                Resources:
                  Jobs:
                    Type: AWS::DynamoDB::Table
                    Properties:
                      BillingMode: PAY_PER_REQUEST
                      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
                      KeySchema: [{AttributeName: id, KeyType: HASH}]
                %s
                  Q:
                    Type: AWS::SQS::Queue
                  Fn:
                    Type: AWS::Serverless::Function
                    Properties:
                      Handler: example.Handler
                      Events:
                        E:
                %s
                """;
        String stream = "      StreamSpecification: {StreamViewType: NEW_IMAGE}";
        Map<String, String> refused = Map.of(
                "          Type: DynamoDB\n          Properties: {Stream: !GetAtt Jobs.StreamArn, StartingPosition: LATEST,"
                        + " TumblingWindowInSeconds: 30}", "Events.E.Properties.TumblingWindowInSeconds: the local stack"
                        + " does not know this property",
                "          Type: DynamoDB\n          Properties: {Stream: !GetAtt Jobs.Arn, StartingPosition: LATEST}",
                "Events.E.Properties.Stream: must be !GetAtt <table>.StreamArn",
                "          Type: DynamoDB\n          Properties: {Stream: !GetAtt Jobs.StreamArn, StartingPosition: AT_TIMESTAMP}",
                "StartingPosition: must be TRIM_HORIZON or LATEST",
                "          Type: SQS\n          Properties: {Queue: !GetAtt Q.Arn, BatchSize: 11}",
                "Events.E.Properties.BatchSize: must be 1-10",
                "          Type: SQS\n          Properties: {Queue: !GetAtt Jobs.Arn}",
                "Events.E.Properties.Queue: must be !GetAtt <queue>.Arn",
                "          Type: SQS\n          Properties: {Queue: !GetAtt Q.Arn, FunctionResponseTypes: [Other]}",
                "FunctionResponseTypes: must be [ReportBatchItemFailures]");
        refused.forEach((event, message) -> {
            TemplateException error = assertThrows(TemplateException.class, () -> inline(String.format(table, stream,
                    event)), event);
            assertTrue(error.getMessage().contains(message), error.getMessage());
        });
        TemplateException noStream = assertThrows(TemplateException.class, () -> inline(String.format(table, "",
                "          Type: DynamoDB\n          Properties: {Stream: !GetAtt Jobs.StreamArn, StartingPosition: LATEST}")));
        assertTrue(noStream.getMessage().contains("Jobs has no StreamSpecification"), noStream.getMessage());
        TemplateException badView = assertThrows(TemplateException.class, () -> inline(String.format(table,
                "      StreamSpecification: {StreamViewType: EVERYTHING}", "          Type: Api\n"
                        + "          Properties: {Path: /x, Method: GET}")));
        assertTrue(badView.getMessage().contains("StreamViewType: must be KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or"
                + " NEW_AND_OLD_IMAGES"), badView.getMessage());
    }

    @Test
    void everyFunctionEnvironmentVariable_hasALocalValue() {
        SamTemplate template = template(Map.of("DefaultDeadlines", "sample=10m,render=1h"));
        for (SamTemplate.Function function : template.functions()) {
            Map<String, String> env = template.environment(function.logicalId(), NAMED);
            assertEquals(function.environmentVariableNames(), env.keySet(), function.logicalId());
            env.forEach((name, value) -> assertNotNull(value, function.logicalId() + " " + name));
        }
        Map<String, String> submit = template.environment("SubmitJobFunction", NAMED);
        assertEquals("ref:JobsTable", submit.get(FerryEnv.TABLE));
        assertEquals("ref:GpuJobQueue", submit.get("FERRY_POOL_Gpu_QUEUE_URL"));
        assertEquals("ref:GpuPriorityQueue", submit.get("FERRY_POOL_Gpu_PRIORITY_QUEUE_URL"));
        assertEquals("ref:GpuJobDeadLetterQueue", submit.get("FERRY_POOL_Gpu_DLQ_URL"));
        assertEquals("Gpu,Light", submit.get(Pools.POOLS));
        assertEquals("ref:LightJobQueue", submit.get("FERRY_POOL_Light_QUEUE_URL"));
        assertEquals("echo", submit.get("FERRY_POOL_Light_TYPES"));
        assertEquals("#", submit.get("FERRY_POOL_Gpu_TYPES"), "the one pool serves every type");
        assertEquals("ref:FilesBucket", submit.get(FerryEnv.BUCKET));
        assertEquals("30", submit.get(FerryEnv.RETENTION_DAYS));
        assertEquals(template.queue("GpuJobQueue").attributes().get("MaximumMessageSize"),
                submit.get(FerryEnv.MAX_MESSAGE_BYTES), "the API must refuse what the queue would refuse");
        assertEquals(Integer.toString(FerryEnv.DEFAULT_MAX_MESSAGE_BYTES), submit.get(FerryEnv.MAX_MESSAGE_BYTES));
        assertEquals("sample=10m,render=1h", submit.get(FerryEnv.DEFAULT_DEADLINES));
        assertEquals("", template(Map.of()).environment("SubmitJobFunction", NAMED).get(FerryEnv.DEFAULT_DEADLINES));
        assertEquals("ref:JobsTable", template.environment("CancelJobFunction", NAMED).get(FerryEnv.TABLE));
    }

    @Test
    void policies_grantNamedActionsOnTheTemplatesOwnResources() {
        Map<String, Object> resources = section(TemplateFacts.raw(), "Resources");
        assertEquals(Set.of("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:GetItem",
                "dynamodb:BatchGetItem", "sqs:SendMessage", "s3:GetObject"), actions(resources, "SubmitJobFunction"));
        assertEquals(Set.of("s3:PutObject"), actions(resources, "CreateUploadFunction"));
        assertEquals(Set.of("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "sqs:GetQueueAttributes",
                "s3:GetObject"), actions(resources, "GetJobFunction"));
        assertEquals(Set.of("dynamodb:Query"), actions(resources, "ListJobsFunction"));
        assertEquals(Set.of("dynamodb:UpdateItem"), actions(resources, "CancelJobFunction"));
        assertEquals(Set.of("secretsmanager:GetSecretValue", "sqs:GetQueueAttributes", "sqs:StartMessageMoveTask",
                "sqs:ListMessageMoveTasks", "sqs:CancelMessageMoveTask", "sqs:ReceiveMessage", "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility", "sqs:SendMessage", "dynamodb:Query", "dynamodb:GetItem",
                "dynamodb:UpdateItem", "s3:GetObject",
                "dynamodb:BatchGetItem", // the history charts' attempt histories
                "dynamodb:Scan", "autoscaling:DescribeAutoScalingGroups"), // the fleet view
                actions(resources, "AdminFunction"));
        assertEquals(Set.of("dynamodb:GetItem", "sqs:GetQueueAttributes", "s3:ListBucket"),
                actions(resources, "HealthFunction"));
        // On a resource of the template: !GetAtt, !Ref, objects of one ("${Bucket.Arn}/prefix/*"), or an
        // index of one ("${Table.Arn}/index/name").
        Pattern objects = Pattern.compile("\\$\\{(\\w+)\\.Arn}/([a-z]+/\\*|index/[a-zA-Z-]+)");
        // Or every pool's queues by name (IAM statements cannot be made per pool): <stack>-<pool>-jobs...,
        // which are the names the pools' queues have.
        Pattern poolQueues = Pattern.compile("arn:\\$\\{AWS::Partition}:sqs:\\$\\{AWS::Region}:\\$\\{AWS::AccountId}:"
                + "\\$\\{AWS::StackName}_\\*-jobs(-priority|-dlq)?");
        SamTemplate template = template(Map.of());
        for (SamTemplate.Queue queue : template.queues()) {
            if (!queue.logicalId().startsWith("Webhook")) {
                assertTrue(queue.name().matches("ferry_[A-Za-z0-9]+-jobs(-priority|-dlq)?"), queue.name());
            }
        }
        for (String function : List.of("SubmitJobFunction", "GetJobFunction", "ListJobsFunction", "CancelJobFunction",
                "AdminFunction", "HealthFunction",
                "CreateUploadFunction")) {
            for (Map<String, Object> statement : statements(resources, function)) {
                Object resource = statement.get("Resource");
                if ("*".equals(resource) && String.valueOf(statement.get("Action")).startsWith("autoscaling:Describe")) {
                    continue; // IAM takes no resource for Auto Scaling's Describe actions
                }
                List<?> each = resource instanceof List<?> list ? list : List.of(resource);
                for (Object one : each) {
                    boolean ofTheTemplate = one instanceof Map<?, ?> ref && (ref.get("Fn::GetAtt") instanceof List<?> getAtt
                                    && resources.containsKey(getAtt.get(0))
                                    || ref.get("Ref") instanceof String id && resources.containsKey(id)
                                    || ref.get("Fn::Sub") instanceof String sub && objects.matcher(sub).matches()
                                            && resources.containsKey(firstGroup(objects, sub))
                                    || ref.get("Fn::Sub") instanceof String pooled && poolQueues.matcher(pooled).matches());
                    assertTrue(ofTheTemplate, function + " grants on " + one + ", not on one of the template's resources");
                }
            }
        }
    }

    private static String firstGroup(Pattern pattern, String text) {
        Matcher matcher = pattern.matcher(text);
        return matcher.matches() ? matcher.group(1) : "";
    }

    @Test
    void filesBucket_isBuiltLocally_namedForTheStackAccountAndRegion_withTheJobsRetention() {
        SamTemplate template = template(Map.of());
        assertEquals(List.of("FilesBucket"), template.buckets().stream().map(SamTemplate.Bucket::logicalId).toList(),
                "the worker jar's bucket has no local meaning");
        SamTemplate.Bucket files = template.bucket("FilesBucket");
        assertEquals("ferry-files-000000000000-us-east-1", files.name());
        assertEquals(List.of(
                new SamTemplate.LifecycleRule("ExpireJobFiles", true, "jobs/", 30, null),
                new SamTemplate.LifecycleRule("ExpireUploads", true, "uploads/", 30, null),
                new SamTemplate.LifecycleRule("AbortIncompleteUploads", true, "", null, 1)), files.lifecycleRules());
        assertEquals(List.of(90), template(Map.of("JobRetentionDays", "90")).bucket("FilesBucket").lifecycleRules()
                .stream().filter(rule -> rule.prefix().equals("jobs/")).map(rule -> rule.expirationDays().orElseThrow())
                .toList(), "job files expire with their records");
        assertEquals("other-files-123456789012-eu-west-1", SamTemplate.load(TEMPLATE, Map.of(),
                new SamTemplate.PseudoParameters("other", "eu-west-1", "123456789012")).bucket("FilesBucket").name());
    }

    @Test
    void functions_runJava21FromTheShadedJar_withSnapStartOnPublishedVersions() {
        Map<String, Object> globals = section(section(CloudFormationYaml.load(TEMPLATE), "Globals"), "Function");
        assertEquals("java21", globals.get("Runtime"));
        assertEquals("live", globals.get("AutoPublishAlias"));
        assertEquals(Map.of("ApplyOn", "PublishedVersions"), globals.get("SnapStart"));
        // sam build unpacks functions/target/ferry-functions.jar (infra/Makefile; TemplateAgreementTest).
        Path code = TEMPLATE.getParent().resolve((String) globals.get("CodeUri")).normalize();
        assertEquals(TEMPLATE.getParent().getParent().resolve("functions/target"), code);
    }

    @Test
    void outputs_nameTheApiQueuesTableAndBucket() {
        // Each pool's as <Pool>...: what a worker given only the stack's name reads (StackTarget).
        assertEquals(Set.of("ApiUrl", "AdminPageUrl", "ApiKeyId", "ReadApiKeyCommand", "ApiUsagePlanId",
                "ReadAdminTokenCommand", "ReadWebhookSecretCommand", "GpuJobQueueUrl", "GpuPriorityQueueUrl",
                "GpuJobDeadLetterQueueUrl", "JobsTableName", "FilesBucketName", "GpuWorkerGroupName", "GpuDashboardUrl",
                "WorkerArtifactBucketName", "WorkerLogGroupName", "AlarmTopicArn", "DashboardUrl", "LightJobQueueUrl",
                "LightJobDeadLetterQueueUrl", "LightPoolFunctionName"),
                section(TemplateFacts.raw(), "Outputs").keySet());
    }

    @Test
    void resourcesTheLocalStackDoesNotCreate_areIgnored_andReferencesToThemResolveToPlaceholders()
            throws IOException {
        SamTemplate template = inline("""
                Resources:
                  Token:
                    Type: AWS::SecretsManager::Secret
                    Properties:
                      GenerateSecretString: {PasswordLength: 48}
                  Fleet:
                    Type: AWS::AutoScaling::AutoScalingGroup
                    Condition: SomethingTheLocalStackDoesNotEvaluate
                    Properties: {MinSize: "0", MaxSize: "4"}
                  Fn:
                    Type: AWS::Serverless::Function
                    Properties:
                      Handler: example.Handler
                      Environment:
                        Variables:
                          SECRET: !Ref Token
                          FLEET: !Ref Fleet
                          FLEET_ARN: !GetAtt Fleet.Arn
                """);
        assertEquals(Optional.of("AWS::SecretsManager::Secret"), template.resourceType("Token"));
        assertEquals(Optional.empty(), template.resourceType("Nothing"));
        // No queue or table to make, so no emulator needed.
        LocalResources resources = LocalResources.create(template, null, null, null);
        Map<String, String> env = template.environment("Fn", resources);
        assertEquals("arn:aws:secretsmanager:us-east-1:000000000000:secret:ferry-Token", env.get("SECRET"));
        assertEquals("ferry-Fleet", env.get("FLEET"));
        assertEquals("ferry-Fleet.Arn", env.get("FLEET_ARN"));
    }

    private static final String POOLS_TEMPLATE = """
            Transform: [AWS::LanguageExtensions, AWS::Serverless-2016-10-31]
            Parameters:
              GpuPools: {Type: CommaDelimitedList, Default: "Large,Small"}
            Mappings:
              Pools:
                Large: {JobTypes: "sd-xl,train-*", MaxReceiveCount: "5"}
                Small: {JobTypes: "sd-turbo", MaxReceiveCount: "3"}
            Resources:
              Fn::ForEach::PoolQueues:
                - Pool
                - !Ref GpuPools
                - "${Pool}DeadLetterQueue":
                    Type: AWS::SQS::Queue
                    Properties:
                      MessageRetentionPeriod: 1209600
                  "${Pool}JobQueue":
                    Type: AWS::SQS::Queue
                    Properties:
                      QueueName: !Sub "${AWS::StackName}-&{Pool}-jobs"
                      VisibilityTimeout: 120
                      RedrivePolicy:
                        deadLetterTargetArn: !GetAtt [!Sub "${Pool}DeadLetterQueue", Arn]
                        maxReceiveCount: !FindInMap [Pools, !Ref Pool, MaxReceiveCount]
              Fn:
                Type: AWS::Serverless::Function
                Properties:
                  Handler: example.Handler
                  Environment:
                    Variables:
                      FERRY_POOLS: !Join [";", !Ref GpuPools]
                      Fn::ForEach::PoolEnvironment:
                        - Pool
                        - !Ref GpuPools
                        - "FERRY_POOL_${Pool}_QUEUE_URL": !Ref
                            Fn::Sub: "${Pool}JobQueue"
                          "FERRY_POOL_${Pool}_TYPES": !FindInMap [Pools, !Ref Pool, JobTypes]
            """;

    @Test
    void languageExtensions_forEachMakesEachPoolsQueues_andFindInMapReadsItsSettings() throws IOException {
        Path file = Files.writeString(temp.resolve("pools.yaml"), POOLS_TEMPLATE);
        SamTemplate template = SamTemplate.load(file, Map.of(), LOCAL);

        assertEquals(List.of("LargeDeadLetterQueue", "LargeJobQueue", "SmallDeadLetterQueue", "SmallJobQueue"),
                template.queues().stream().map(SamTemplate.Queue::logicalId).sorted().toList());
        assertEquals(new SamTemplate.Redrive("SmallDeadLetterQueue", 3),
                template.queue("SmallJobQueue").redrive().orElseThrow());
        assertEquals("ferry-Small-jobs", template.queue("SmallJobQueue").name());
        Map<String, String> env = template.environment("Fn", NAMED);
        assertEquals("ref:LargeJobQueue", env.get("FERRY_POOL_Large_QUEUE_URL"));
        assertEquals("sd-xl,train-*", env.get("FERRY_POOL_Large_TYPES"));
        assertEquals("sd-turbo", env.get("FERRY_POOL_Small_TYPES"));
        assertEquals("Large;Small", env.get("FERRY_POOLS"));

        SamTemplate one = SamTemplate.load(file, Map.of("GpuPools", "Large"), LOCAL);
        assertEquals(List.of("LargeDeadLetterQueue", "LargeJobQueue"),
                one.queues().stream().map(SamTemplate.Queue::logicalId).sorted().toList(),
                "the pools deployed are the parameter's");
    }

    @Test
    void languageExtensions_aLoopDirectlyInsideALoop_expandsEveryPair() throws IOException {
        SamTemplate template = inline("""
                Transform: AWS::LanguageExtensions
                Resources:
                  Fn::ForEach::Pools:
                    - Pool
                    - [Large, Small]
                    - Fn::ForEach::Lanes:
                        - Lane
                        - [Normal, High]
                        - "${Pool}${Lane}Queue":
                            Type: AWS::SQS::Queue
                            Properties:
                              QueueName: !Sub "${AWS::StackName}-${Pool}-${Lane}"
                """);
        assertEquals(List.of("LargeHighQueue", "LargeNormalQueue", "SmallHighQueue", "SmallNormalQueue"),
                template.queues().stream().map(SamTemplate.Queue::logicalId).sorted().toList());
        assertEquals("ferry-Small-High", template.queue("SmallHighQueue").name());

        TemplateException reused = assertThrows(TemplateException.class, () -> inline("""
                Transform: AWS::LanguageExtensions
                Resources:
                  Fn::ForEach::Outer:
                    - Pool
                    - [A, B]
                    - Fn::ForEach::Inner:
                        - Pool
                        - [C]
                        - "${Pool}Queue": {Type: AWS::SQS::Queue}
                """));
        assertTrue(reused.getMessage().contains("uses its identifier 'Pool' too"), reused.getMessage());
    }

    @Test
    void languageExtensions_aLoopWithoutTheTransform_orMakingAKeyTwice_isRefused() throws IOException {
        TemplateException undeclared = assertThrows(TemplateException.class, () -> inline(
                POOLS_TEMPLATE.replace("Transform: [AWS::LanguageExtensions, AWS::Serverless-2016-10-31]",
                        "Transform: AWS::Serverless-2016-10-31")));
        assertTrue(undeclared.getMessage().contains("needs Transform: AWS::LanguageExtensions"),
                undeclared.getMessage());

        TemplateException twice = assertThrows(TemplateException.class, () -> inline(
                POOLS_TEMPLATE.replace("Default: \"Large,Small\"", "Default: \"Large,Large\"")));
        assertTrue(twice.getMessage().contains("'LargeDeadLetterQueue' is made twice"), twice.getMessage());
    }

    private static final String BUCKET_TEMPLATE = """
            Parameters:
              RetentionDays: {Type: Number, Default: 30, MinValue: 1, MaxValue: 3650}
            Resources:
              Files:
                Type: AWS::S3::Bucket
                Properties:
                  BucketName: !Sub "${AWS::StackName}-files-${AWS::AccountId}-${AWS::Region}"
                  BucketEncryption:
                    ServerSideEncryptionConfiguration:
                      - ServerSideEncryptionByDefault: {SSEAlgorithm: AES256}
                  PublicAccessBlockConfiguration:
                    BlockPublicAcls: true
                    BlockPublicPolicy: true
                    IgnorePublicAcls: true
                    RestrictPublicBuckets: true
                  LifecycleConfiguration:
                    Rules:
                      - Id: jobs
                        Status: Enabled
                        Prefix: jobs/
                        ExpirationInDays: !Ref RetentionDays
                      - Id: uploads
                        Status: Enabled
                        Prefix: uploads/
                        ExpirationInDays: 1
                      - Id: parts
                        Status: Enabled
                        AbortIncompleteMultipartUpload: {DaysAfterInitiation: 1}
              Jars:
                Type: AWS::S3::Bucket
                Properties:
                  VersioningConfiguration: {Status: Enabled}
              Fn:
                Type: AWS::Serverless::Function
                Properties:
                  Handler: example.Handler
                  Environment:
                    Variables:
                      BUCKET: !Ref Files
                      BUCKET_ARN: !GetAtt Files.Arn
                      OBJECTS: !Sub "${Files.Arn}/jobs/*"
            """;

    @Test
    void bucketAFunctionRefersTo_isBuilt_withItsNameFromTheStack_andItsLifecycleRules() throws IOException {
        SamTemplate template = inline(BUCKET_TEMPLATE);
        assertEquals(List.of("Files"), template.buckets().stream().map(SamTemplate.Bucket::logicalId).toList(),
                "no function refers to Jars: the local stack leaves it (and its versioning) alone");
        SamTemplate.Bucket files = template.bucket("Files");
        assertEquals("ferry-files-000000000000-us-east-1", files.name());
        assertEquals("arn:aws:s3:::ferry-files-000000000000-us-east-1", files.arn());
        assertEquals(List.of(
                new SamTemplate.LifecycleRule("jobs", true, "jobs/", 30, null),
                new SamTemplate.LifecycleRule("uploads", true, "uploads/", 1, null),
                new SamTemplate.LifecycleRule("parts", true, "", null, 1)), files.lifecycleRules());
        assertEquals("jobs: jobs/ expires after 30 days", files.lifecycleRules().get(0).toString());

        Map<String, String> env = template.environment("Fn", NAMED);
        assertEquals("ref:Files", env.get("BUCKET"));
        assertEquals("Files.Arn", env.get("BUCKET_ARN"));
        assertEquals("Files.Arn/jobs/*", env.get("OBJECTS"));
    }

    @Test
    void bucketReferencedOnlyThroughSub_isBuiltToo() throws IOException {
        SamTemplate template = inline("""
                Resources:
                  Files:
                    Type: AWS::S3::Bucket
                    Properties: {BucketName: !Sub "${AWS::StackName}-files"}
                  Fn:
                    Type: AWS::Serverless::Function
                    Properties:
                      Handler: example.Handler
                      Environment:
                        Variables:
                          OBJECTS: !Sub ["${Arn}/uploads/*", {Arn: !GetAtt Files.Arn}]
                """);
        assertEquals("ferry-files", template.bucket("Files").name());
        assertEquals(List.of(), template.bucket("Files").lifecycleRules());
    }

    @Test
    void bucketName_thatS3WouldRefuse_isRefusedNamingTheStackName() throws IOException {
        Path file = Files.writeString(temp.resolve("template.yaml"), BUCKET_TEMPLATE);
        TemplateException upper = assertThrows(TemplateException.class, () -> SamTemplate.load(file, Map.of(),
                new SamTemplate.PseudoParameters("Ferry", "us-east-1", "000000000000")));
        assertTrue(upper.getMessage().contains("Resources.Files.Properties.BucketName: is"
                + " 'Ferry-files-000000000000-us-east-1', which S3 refuses") && upper.getMessage().contains("'Ferry'"),
                upper.getMessage());
        String long30 = "ferry-" + "x".repeat(24);
        TemplateException tooLong = assertThrows(TemplateException.class, () -> SamTemplate.load(file, Map.of(),
                new SamTemplate.PseudoParameters(long30, "ap-southeast-2", "000000000000")));
        assertTrue(tooLong.getMessage().contains("which S3 refuses"), tooLong.getMessage());
        assertEquals(63, SamTemplate.load(file, Map.of(), new SamTemplate.PseudoParameters(long30.substring(1),
                "ap-southeast-2", "000000000000")).bucket("Files").name().length(), "63 is S3's longest name");
    }

    @Test
    void bucketPropertiesTheLocalStackDoesNotKnow_areRefusedNamingThem() {
        for (String property : List.of("VersioningConfiguration: {Status: Enabled}",
                "CorsConfiguration: {CorsRules: [{AllowedMethods: [PUT], AllowedOrigins: ['*']}]}",
                "LifecycleConfiguration: {Rules: [{Id: x, Status: Enabled, Transitions: []}]}",
                "LifecycleConfiguration: {Rules: [{Id: x, Status: Enabled, Prefix: a/}]}",
                "LifecycleConfiguration: {Rules: [{Id: x, Status: Enabled, Filter: {Prefix: a/}, ExpirationInDays: 1}]}")) {
            TemplateException error = assertThrows(TemplateException.class, () -> inline("""
                    Resources:
                      Files:
                        Type: AWS::S3::Bucket
                        Properties:
                          BucketName: files-bucket
                          %s
                      Fn:
                        Type: AWS::Serverless::Function
                        Properties:
                          Handler: example.Handler
                          Environment: {Variables: {BUCKET: !Ref Files}}
                    """.formatted(property)), property);
            assertTrue(error.getMessage().contains("Resources.Files.Properties."), error.getMessage());
        }
        TemplateException unnamed = assertThrows(TemplateException.class, () -> inline("""
                Resources:
                  Files: {Type: AWS::S3::Bucket}
                  Fn:
                    Type: AWS::Serverless::Function
                    Properties:
                      Handler: example.Handler
                      Environment: {Variables: {BUCKET: !Ref Files}}
                """));
        assertTrue(unnamed.getMessage().contains("Resources.Files.Properties.BucketName: is missing"),
                unnamed.getMessage());
    }

    @Test
    void shortTags_becomeTheirLongForms() throws URISyntaxException {
        Path fixture = Path.of(getClass().getResource("/templates/short-tags.yaml").toURI());
        Map<String, Object> values = section(CloudFormationYaml.load(fixture), "Values");
        assertEquals(Map.of("Ref", "Param"), values.get("ref"));
        assertEquals(Map.of("Fn::GetAtt", List.of("Queue", "Arn")), values.get("getAttDotted"));
        assertEquals(Map.of("Fn::GetAtt", List.of("Queue", "Arn")), values.get("getAttList"));
        assertEquals(Map.of("Fn::Sub", "${AWS::StackName}-jobs"), values.get("sub"));
        assertEquals(Map.of("Fn::Sub", List.of("${Name}-${Suffix}", Map.of("Name", Map.of("Ref", "Param"),
                "Suffix", "dlq"))), values.get("subWithVariables"));
        assertEquals(Map.of("Fn::If", List.of("IsProd", 1, Map.of("Ref", "AWS::NoValue"))), values.get("if"));
        assertEquals(Map.of("Fn::Join", List.of(",", List.of("a", Map.of("Ref", "Param")))), values.get("join"));
        assertEquals(Map.of("Fn::Select", List.of(0, Map.of("Fn::GetAZs", ""))), values.get("select"));
        assertEquals(Map.of("Fn::FindInMap", List.of("Map", Map.of("Ref", "AWS::Region"), "Key")),
                values.get("findInMap"));
        assertEquals(Map.of("Fn::Base64", "text"), values.get("base64"));
        Map<String, Object> conditions = section(CloudFormationYaml.load(fixture), "Conditions");
        assertEquals(Map.of("Fn::Not", List.of(Map.of("Condition", "IsProd"))), conditions.get("NotProd"));
    }

    @Test
    void sub_resolvesParametersPseudoParametersAttributesVariablesAndEscapes() throws IOException {
        SamTemplate template = inline("""
                Parameters:
                  Suffix: {Type: String, Default: jobs}
                Resources:
                  Queue: {Type: AWS::SQS::Queue}
                  Fn:
                    Type: AWS::Serverless::Function
                    Properties:
                      Handler: example.Handler
                      Environment:
                        Variables:
                          PLAIN: !Sub "${AWS::StackName}-${Suffix}@${AWS::Region}:${AWS::AccountId}/${AWS::Partition}"
                          RESOURCES: !Sub "${Queue}|${Queue.Arn}|${!Literal}"
                          VARIABLES: !Sub ["${A}+${B}", {A: !Ref Suffix, B: !GetAtt Queue.QueueName}]
                """);
        Map<String, String> env = template.environment("Fn", NAMED);
        assertEquals("ferry-jobs@us-east-1:000000000000/aws", env.get("PLAIN"));
        assertEquals("ref:Queue|Queue.Arn|${Literal}", env.get("RESOURCES"));
        assertEquals("jobs+Queue.QueueName", env.get("VARIABLES"));
        SamTemplate.Function function = template.functions().get(0);
        assertEquals(Duration.ofSeconds(3), function.timeout(), "SAM's default");
        assertEquals("handleRequest", function.handlerMethod());
        assertEquals("ferry-Queue", template.queue("Queue").name(), "unnamed: <stack>-<logical id>");
    }

    @Test
    void intrinsicTheLocalStackCannotEvaluate_isRefusedNamingItAndWhereItIs() throws IOException {
        SamTemplate template = inline("""
                Resources:
                  Fn:
                    Type: AWS::Serverless::Function
                    Properties:
                      Handler: example.Handler::handleRequest
                      Environment:
                        Variables:
                          ZONE: !Select [0, !GetAZs ""]
                """);
        TemplateException error = assertThrows(TemplateException.class, () -> template.environment("Fn", NAMED));
        assertTrue(error.getMessage().contains("Resources.Fn.Properties.Environment.Variables.ZONE: uses Fn::Select"),
                error.getMessage());
    }

    @Test
    void queuePropertyTheLocalStackDoesNotKnow_isRefusedNamingIt() {
        TemplateException error = assertThrows(TemplateException.class, () -> inline("""
                Resources:
                  Fifo:
                    Type: AWS::SQS::Queue
                    Properties:
                      FifoQueue: true
                """));
        assertTrue(error.getMessage().contains("Resources.Fifo.Properties.FifoQueue: the local stack does not know"),
                error.getMessage());
    }

    @Test
    void tableWithASortKey_isRefused() {
        TemplateException error = assertThrows(TemplateException.class, () -> inline("""
                Resources:
                  T:
                    Type: AWS::DynamoDB::Table
                    Properties:
                      BillingMode: PAY_PER_REQUEST
                      AttributeDefinitions: [{AttributeName: a, AttributeType: S}, {AttributeName: b, AttributeType: N}]
                      KeySchema: [{AttributeName: a, KeyType: HASH}, {AttributeName: b, KeyType: RANGE}]
                """));
        assertTrue(error.getMessage().contains("Resources.T.Properties.KeySchema: the local stack builds tables with a"
                + " single HASH key only"), error.getMessage());
    }

    @Test
    void table_hasItsIndexes_asDeclared() {
        SamTemplate.Table table = template(Map.of()).tables().get(0);

        assertEquals(List.of("status-createdAt", "type-createdAt", "listing-createdAt"),
                table.globalIndexes().stream().map(SamTemplate.GlobalIndex::name).toList());
        SamTemplate.GlobalIndex byStatus = table.globalIndexes().get(0);
        assertEquals("status", byStatus.hashKey());
        assertEquals("createdAt", byStatus.rangeKey());
        assertEquals("INCLUDE", byStatus.projectionType());
        assertTrue(byStatus.nonKeyAttributes().contains("error") && !byStatus.nonKeyAttributes().contains("input"));
        assertEquals(Set.of("jobId", "status", "type", "listing", "createdAt"), table.attributeTypes().keySet());
    }

    @Test
    void anIndex_mustBeBuiltFromDefinedAttributes_withAProjectionDynamoDbTakes() {
        String table = """
                Resources:
                  T:
                    Type: AWS::DynamoDB::Table
                    Properties:
                      BillingMode: PAY_PER_REQUEST
                      AttributeDefinitions: [%s]
                      KeySchema: [{AttributeName: id, KeyType: HASH}]
                      GlobalSecondaryIndexes:
                        - IndexName: by-s
                          KeySchema: [{AttributeName: s, KeyType: HASH}, {AttributeName: c, KeyType: RANGE}]
                          Projection: %s
                """;
        String keys = "{AttributeName: id, AttributeType: S}, {AttributeName: s, AttributeType: S},"
                + " {AttributeName: c, AttributeType: S}";
        Map<String, String> refused = Map.of(
                String.format(table, "{AttributeName: id, AttributeType: S}, {AttributeName: s, AttributeType: S}",
                        "{ProjectionType: ALL}"), "names c, which AttributeDefinitions does not define",
                String.format(table, keys + ", {AttributeName: extra, AttributeType: S}", "{ProjectionType: ALL}"),
                "must define exactly the table's and its indexes' key attributes",
                String.format(table, keys, "{ProjectionType: INCLUDE}"), "NonKeyAttributes go with ProjectionType INCLUDE",
                String.format(table, keys, "{ProjectionType: ALL, NonKeyAttributes: [x]}"),
                "NonKeyAttributes go with ProjectionType INCLUDE",
                String.format(table, keys, "{ProjectionType: SOME}"), "must be ALL, KEYS_ONLY or INCLUDE");
        refused.forEach((yaml, message) -> {
            TemplateException error = assertThrows(TemplateException.class, () -> inline(yaml));
            assertTrue(error.getMessage().contains("Resources.T.Properties.") && error.getMessage().contains(message),
                    error.getMessage());
        });
    }

    @Test
    void redrivePolicy_mustTargetAQueueOfTheTemplate() {
        TemplateException error = assertThrows(TemplateException.class, () -> inline("""
                Resources:
                  Q:
                    Type: AWS::SQS::Queue
                    Properties:
                      RedrivePolicy:
                        deadLetterTargetArn: arn:aws:sqs:us-east-1:111111111111:elsewhere
                        maxReceiveCount: 3
                """));
        assertTrue(error.getMessage().contains("Resources.Q.Properties.RedrivePolicy.deadLetterTargetArn: must be"
                + " !GetAtt <queue>.Arn"), error.getMessage());
    }

    @Test
    void duplicateKeys_areRefused_asCloudFormationRefusesThem() {
        TemplateException error = assertThrows(TemplateException.class, () -> inline("""
                Resources:
                  Q: {Type: AWS::SQS::Queue}
                  Q: {Type: AWS::SQS::Queue}
                """));
        assertTrue(error.getMessage().contains("is not valid YAML") && error.getMessage().contains("duplicate key Q"),
                error.getMessage());
    }

    private SamTemplate inline(String yaml) throws IOException {
        Path file = Files.writeString(temp.resolve("template.yaml"), yaml);
        return SamTemplate.load(file, Map.of(), LOCAL);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> section(Map<String, Object> node, String key) {
        return (Map<String, Object>) node.get(key);
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> statements(Map<String, Object> resources, String function) {
        List<Map<String, Object>> statements = new ArrayList<>();
        List<Object> policies = (List<Object>) section(section(resources, function), "Properties").get("Policies");
        for (Object policy : policies) {
            statements.addAll((List<Map<String, Object>>) ((Map<String, Object>) policy).get("Statement"));
        }
        return statements;
    }

    private static Set<String> actions(Map<String, Object> resources, String function) {
        Set<String> actions = new HashSet<>();
        for (Map<String, Object> statement : statements(resources, function)) {
            assertEquals("Allow", statement.get("Effect"));
            Object action = statement.get("Action");
            if (action instanceof List<?> list) {
                list.forEach(a -> actions.add((String) a));
            } else {
                actions.add((String) action);
            }
        }
        actions.forEach(action -> assertFalse(action.contains("*"), function + " grants a wildcard: " + action));
        return actions;
    }
}
