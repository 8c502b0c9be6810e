package dev.ferry.local;

import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the local stack builds from {@code infra/template.yaml}: the queues (with their redrive
 * wiring), the tables (with their streams), the buckets the functions use, the API routes, the
 * event source mappings (a function's {@code DynamoDB} and {@code SQS} events) and the environment
 * of each function. Reading them from the
 * template, rather than restating them in code, is what keeps the local stack and the deployed
 * stack alike.
 *
 * <p>Parameters take their defaults unless overridden, and are checked as CloudFormation checks
 * them ({@code Type: Number}, {@code MinValue}, {@code MaxValue}, {@code AllowedValues}). The
 * intrinsic functions the local stack evaluates are {@code Ref}, {@code Fn::GetAtt},
 * {@code Fn::Sub}, {@code Fn::FindInMap} and {@code Fn::Join}, after expanding the
 * {@code Fn::ForEach} loops of a template that declares {@code AWS::LanguageExtensions}
 * ({@link LanguageExtensions}); pseudo parameters come from {@link PseudoParameters}. Values that only exist
 * once resources do (a queue's URL, a table's ARN) come from a {@link ResourceValues}.
 *
 * <p>A queue, table or bucket property this class does not know fails loudly rather than being
 * skipped, so a template change that the local stack would not reproduce is noticed. Properties
 * with no local meaning (encryption at rest, point-in-time recovery, public access, tags) are
 * accepted and ignored.
 *
 * <p>A bucket is built when a function's environment refers to it ({@code Ref}, {@code Fn::GetAtt},
 * or {@code Fn::Sub} of it): that is where jobs' files live. A bucket that only the fleet uses (the
 * worker jar's) has no local meaning and is left alone. Resources of other types (alarms, roles,
 * the secret, the worker fleet and its network) are not built locally either; a reference to one
 * resolves to what {@link ResourceValues} makes of it (locally, a placeholder).
 */
public final class SamTemplate {

    /** Where the template lives, relative to the repository root. */
    public static final String TEMPLATE_LOCATION = "infra/template.yaml";

    private static final String QUEUE_TYPE = "AWS::SQS::Queue";
    private static final String TABLE_TYPE = "AWS::DynamoDB::Table";
    private static final String BUCKET_TYPE = "AWS::S3::Bucket";
    private static final String FUNCTION_TYPE = "AWS::Serverless::Function";
    private static final String API_TYPE = "AWS::Serverless::Api";
    /** The resource types the local stack builds; it leaves the others (roles, alarms, the fleet) alone. */
    private static final Set<String> BUILT_LOCALLY = Set.of(QUEUE_TYPE, TABLE_TYPE, FUNCTION_TYPE, API_TYPE);
    /** Stage of SAM's implicit API, which serves {@code Api} events that name no {@code RestApiId}. */
    private static final String IMPLICIT_API_STAGE = "Prod";
    /** SAM's defaults for a function that sets no Timeout or MemorySize. */
    private static final int SAM_DEFAULT_TIMEOUT_SECONDS = 3;
    private static final int SAM_DEFAULT_MEMORY_MB = 128;

    /** Queue properties that are SQS queue attributes of the same name. */
    private static final Set<String> QUEUE_ATTRIBUTES = Set.of("DelaySeconds", "MaximumMessageSize",
            "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds", "VisibilityTimeout");
    /** Queue properties with no local meaning: encryption at rest and tags. */
    private static final Set<String> QUEUE_IGNORED = Set.of("SqsManagedSseEnabled", "KmsMasterKeyId",
            "KmsDataKeyReusePeriodSeconds", "Tags");
    /** Table properties with no local meaning: backups, encryption at rest, protection, tags. */
    private static final Set<String> TABLE_IGNORED = Set.of("PointInTimeRecoverySpecification", "SSESpecification",
            "DeletionProtectionEnabled", "Tags");
    /**
     * Bucket properties with no local meaning: encryption at rest, public access and object
     * ownership (what S3 gives a new bucket anyway: SSE-S3, every public access blocked, ACLs
     * off), tags.
     */
    private static final Set<String> BUCKET_IGNORED = Set.of("BucketEncryption", "PublicAccessBlockConfiguration",
            "OwnershipControls", "Tags");
    /** S3's rule for a bucket name (without dots, which break TLS to virtual-hosted buckets). */
    private static final Pattern BUCKET_NAME = Pattern.compile("[a-z0-9][a-z0-9-]{1,61}[a-z0-9]");

    private static final Pattern SUB_VARIABLE = Pattern.compile("\\$\\{([^}]*)}");

    /** For evaluating where no resource exists yet: queue names, attributes, API stages. */
    private final ResourceValues noResources = new ResourceValues() {
        @Override
        public String ref(String logicalId) {
            throw new TemplateException(logicalId + " is referenced where the local stack needs a value before any"
                    + " resource exists (a name or an attribute); use a parameter or a pseudo parameter there");
        }

        @Override
        public String attribute(String logicalId, String attribute) {
            return ref(logicalId + "." + attribute);
        }
    };

    private final Path path;
    private final PseudoParameters pseudoParameters;
    private final Map<String, String> parameters;
    private final Map<String, Object> mappings;
    private final Map<String, String> resourceTypes;
    private final List<Queue> queues;
    private final List<Table> tables;
    private final List<Bucket> buckets;
    private final List<Function> functions;
    private final Map<String, Map<String, Object>> functionEnvironments = new LinkedHashMap<>();
    private final List<Route> routes = new ArrayList<>();
    private final List<EventSource> eventSources = new ArrayList<>();

    private SamTemplate(Path path, Map<String, Object> template, Map<String, String> parameterOverrides,
            PseudoParameters pseudoParameters) {
        this.path = path;
        this.pseudoParameters = pseudoParameters;
        this.parameters = resolveParameters(optionalMap(template.get("Parameters"), "Parameters"), parameterOverrides);
        Map<String, Object> root = LanguageExtensions.expand(template, parameters, this::error);
        this.mappings = optionalMap(root.get("Mappings"), "Mappings");
        Map<String, Object> resources = map(root.get("Resources"), "Resources");
        this.resourceTypes = new LinkedHashMap<>();
        resources.forEach((id, resource) -> resourceTypes.put(id,
                scalar(map(resource, "Resources." + id).get("Type"), "Resources." + id + ".Type")));

        Map<String, Object> functionGlobals = optionalMap(
                optionalMap(root.get("Globals"), "Globals").get("Function"), "Globals.Function");
        Map<String, String> apiStages = new LinkedHashMap<>();
        List<Queue> unorderedQueues = new ArrayList<>();
        List<Table> tableList = new ArrayList<>();
        List<Function> functionList = new ArrayList<>();
        Map<String, Map<String, Object>> bucketResources = new LinkedHashMap<>();
        List<RawRoute> rawRoutes = new ArrayList<>();
        List<RawEventSource> rawEventSources = new ArrayList<>();
        for (Map.Entry<String, Object> entry : resources.entrySet()) {
            String id = entry.getKey();
            Map<String, Object> resource = map(entry.getValue(), "Resources." + id);
            String type = resourceTypes.get(id);
            if (type.equals(BUCKET_TYPE)) {
                bucketResources.put(id, resource); // built below, if a function refers to it
                continue;
            }
            if (!BUILT_LOCALLY.contains(type)) {
                continue;
            }
            if (resource.containsKey("Condition")) {
                throw error("Resources." + id + ".Condition", "the local stack does not evaluate conditions, and"
                        + " builds every " + type + " it reads; make this resource unconditional or teach SamTemplate"
                        + " conditions");
            }
            Map<String, Object> properties = optionalMap(resource.get("Properties"), "Resources." + id + ".Properties");
            switch (type) {
                case QUEUE_TYPE -> unorderedQueues.add(queue(id, properties));
                case TABLE_TYPE -> tableList.add(table(id, properties));
                case FUNCTION_TYPE -> functionList.add(function(id, merge(functionGlobals, properties), rawRoutes,
                        rawEventSources));
                default -> apiStages.put(id, scalar(evaluate(properties.get("StageName"), noResources,
                        "Resources." + id + ".Properties.StageName"), "Resources." + id + ".Properties.StageName"));
            }
        }
        this.queues = List.copyOf(deadLetterQueuesFirst(unorderedQueues));
        this.tables = List.copyOf(tableList);
        this.functions = List.copyOf(functionList);
        Set<String> referenced = new LinkedHashSet<>();
        functionEnvironments.values().forEach(environment -> references(environment, referenced));
        List<Bucket> bucketList = new ArrayList<>();
        bucketResources.forEach((id, resource) -> {
            if (referenced.contains(id)) {
                if (resource.containsKey("Condition")) {
                    throw error("Resources." + id + ".Condition", "the local stack does not evaluate conditions, and"
                            + " builds every bucket a function refers to; make this bucket unconditional");
                }
                bucketList.add(bucket(id, optionalMap(resource.get("Properties"), "Resources." + id + ".Properties")));
            }
        });
        this.buckets = List.copyOf(bucketList);
        for (RawRoute raw : rawRoutes) {
            String stage;
            if (raw.apiId() == null) {
                stage = IMPLICIT_API_STAGE;
            } else {
                stage = apiStages.get(raw.apiId());
                if (stage == null) {
                    throw error(raw.where() + ".RestApiId", "must be !Ref of an " + API_TYPE + " in this template, but"
                            + " names '" + raw.apiId() + "'");
                }
            }
            routes.add(new Route(raw.method(), raw.path(), stage, raw.function()));
        }
        for (RawEventSource raw : rawEventSources) {
            eventSources.add(eventSource(raw));
        }
    }

    /**
     * Reads a template.
     *
     * @param template the template file
     * @param parameterOverrides values for template parameters, by parameter name; the others take
     *     their defaults
     * @param pseudoParameters what {@code AWS::StackName}, {@code AWS::Region} and
     *     {@code AWS::AccountId} stand for
     * @throws TemplateException when the file cannot be read, a parameter value is missing or
     *     invalid, or the template uses something the local stack cannot build
     */
    public static SamTemplate load(Path template, Map<String, String> parameterOverrides,
            PseudoParameters pseudoParameters) {
        Objects.requireNonNull(parameterOverrides, "parameterOverrides");
        Objects.requireNonNull(pseudoParameters, "pseudoParameters");
        return new SamTemplate(template, CloudFormationYaml.load(template), parameterOverrides, pseudoParameters);
    }

    /**
     * Finds {@value #TEMPLATE_LOCATION} in {@code start} or the nearest parent that has one.
     *
     * @throws TemplateException when none of them has it
     */
    public static Path find(Path start) {
        Path from = start.toAbsolutePath().normalize();
        for (Path dir = from; dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve(TEMPLATE_LOCATION);
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        throw new TemplateException("no " + TEMPLATE_LOCATION + " in " + from + " or any of its parents; run from"
                + " inside the Ferry repository or give the template's path");
    }

    /** The template file this was read from. */
    public Path path() {
        return path;
    }

    /** The {@code Type} of the resource with this logical id, or empty when the template has none. */
    public Optional<String> resourceType(String logicalId) {
        return Optional.ofNullable(resourceTypes.get(logicalId));
    }

    /** The values the pseudo parameters stand for. */
    public PseudoParameters pseudoParameters() {
        return pseudoParameters;
    }

    /** Every parameter's value: its override, else its default. */
    public Map<String, String> parameters() {
        return Collections.unmodifiableMap(parameters);
    }

    /** The queues, each after its dead-letter queue: the order to create them in. */
    public List<Queue> queues() {
        return queues;
    }

    /** The queue with this logical id. */
    public Queue queue(String logicalId) {
        return queues.stream().filter(q -> q.logicalId().equals(logicalId)).findFirst()
                .orElseThrow(() -> new TemplateException("the template has no queue " + logicalId));
    }

    /** The DynamoDB tables. */
    public List<Table> tables() {
        return tables;
    }

    /** The buckets the functions refer to, which the local stack builds. */
    public List<Bucket> buckets() {
        return buckets;
    }

    /** The bucket with this logical id, among {@link #buckets()}. */
    public Bucket bucket(String logicalId) {
        return buckets.stream().filter(b -> b.logicalId().equals(logicalId)).findFirst()
                .orElseThrow(() -> new TemplateException("the template has no bucket " + logicalId
                        + " that a function refers to"));
    }

    /** The Lambda functions. */
    public List<Function> functions() {
        return functions;
    }

    /** The API routes, one per {@code Api} event of a function, in template order. */
    public List<Route> routes() {
        return Collections.unmodifiableList(routes);
    }

    /**
     * A single value of the template's Mappings ({@code Fn::FindInMap}'s three keys), as text; empty
     * where there is none.
     */
    public Optional<String> mapping(String map, String topLevelKey, String secondLevelKey) {
        Object top = mappings.get(map) instanceof Map<?, ?> m ? m.get(topLevelKey) : null;
        Object value = top instanceof Map<?, ?> t ? t.get(secondLevelKey) : null;
        return value instanceof String || value instanceof Number ? Optional.of(value.toString()) : Optional.empty();
    }

    /**
     * The event source mappings, one per {@code DynamoDB} or {@code SQS} event of a function, in
     * template order: what the local stack polls to invoke those functions as Lambda would.
     */
    public List<EventSource> eventSources() {
        return Collections.unmodifiableList(eventSources);
    }

    /**
     * The environment variables a function declares (its own merged over {@code Globals}), with
     * every reference resolved.
     *
     * @param functionLogicalId the function
     * @param values what references to resources resolve to
     */
    public Map<String, String> environment(String functionLogicalId, ResourceValues values) {
        Map<String, Object> raw = functionEnvironments.get(functionLogicalId);
        if (raw == null) {
            throw new TemplateException("the template has no function " + functionLogicalId);
        }
        Map<String, String> environment = new LinkedHashMap<>();
        raw.forEach((name, value) -> {
            String where = "Resources." + functionLogicalId + ".Properties.Environment.Variables." + name;
            environment.put(name, scalar(evaluate(value, values, where), where));
        });
        return environment;
    }

    // ---------------------------------------------------------------------------------------------
    // Parameters

    private Map<String, String> resolveParameters(Map<String, Object> declared, Map<String, String> overrides) {
        for (String name : overrides.keySet()) {
            if (!declared.containsKey(name)) {
                throw error("Parameters", "there is no parameter '" + name + "' to override; the template declares "
                        + new TreeSet<>(declared.keySet()));
            }
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (Map.Entry<String, Object> entry : declared.entrySet()) {
            String name = entry.getKey();
            String where = "Parameters." + name;
            Map<String, Object> declaration = map(entry.getValue(), where);
            String value;
            if (overrides.containsKey(name)) {
                value = Objects.requireNonNull(overrides.get(name), () -> "override of parameter " + name);
            } else if (declaration.containsKey("Default")) {
                value = scalar(declaration.get("Default"), where + ".Default");
            } else {
                throw error(where, "has no Default, so it needs a value; pass one as a template parameter override");
            }
            checkParameter(where, declaration, value);
            values.put(name, value);
        }
        return values;
    }

    private void checkParameter(String where, Map<String, Object> declaration, String value) {
        if ("Number".equals(declaration.get("Type"))) {
            BigDecimal number;
            try {
                number = new BigDecimal(value.trim());
            } catch (NumberFormatException e) {
                throw error(where, "must be a number, but is '" + value + "'");
            }
            if (declaration.containsKey("MinValue")
                    && number.compareTo(new BigDecimal(scalar(declaration.get("MinValue"), where))) < 0) {
                throw error(where, "must be at least " + declaration.get("MinValue") + ", but is " + value);
            }
            if (declaration.containsKey("MaxValue")
                    && number.compareTo(new BigDecimal(scalar(declaration.get("MaxValue"), where))) > 0) {
                throw error(where, "must be at most " + declaration.get("MaxValue") + ", but is " + value);
            }
        }
        if (declaration.containsKey("AllowedValues")) {
            List<String> allowed = list(declaration.get("AllowedValues"), where + ".AllowedValues").stream()
                    .map(v -> scalar(v, where + ".AllowedValues")).toList();
            if (!allowed.contains(value)) {
                throw error(where, "must be one of " + allowed + ", but is '" + value + "'");
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Resources

    private Queue queue(String id, Map<String, Object> properties) {
        String where = "Resources." + id + ".Properties";
        String name = properties.containsKey("QueueName")
                ? scalar(evaluate(properties.get("QueueName"), noResources, where + ".QueueName"), where + ".QueueName")
                : defaultName(id);
        Map<String, String> attributes = new LinkedHashMap<>();
        Redrive redrive = null;
        RedriveAllowPolicy allowPolicy = null;
        for (Map.Entry<String, Object> property : properties.entrySet()) {
            String key = property.getKey();
            String at = where + "." + key;
            if (QUEUE_ATTRIBUTES.contains(key)) {
                attributes.put(key, scalar(evaluate(property.getValue(), noResources, at), at));
            } else if (key.equals("RedrivePolicy")) {
                redrive = redrive(property.getValue(), at);
            } else if (key.equals("RedriveAllowPolicy")) {
                allowPolicy = redriveAllowPolicy(evaluate(property.getValue(), noResources, at), at);
            } else if (!key.equals("QueueName") && !QUEUE_IGNORED.contains(key)) {
                throw unknownProperty(at);
            }
        }
        return new Queue(id, name, attributes, redrive, allowPolicy);
    }

    private Redrive redrive(Object node, String where) {
        Map<String, Object> policy = map(node, where);
        for (String key : policy.keySet()) {
            if (!key.equals("deadLetterTargetArn") && !key.equals("maxReceiveCount")) {
                throw unknownProperty(where + "." + key);
            }
        }
        String targetWhere = where + ".deadLetterTargetArn";
        String deadLetterQueue = getAttTarget(policy.get("deadLetterTargetArn"), "Arn");
        if (deadLetterQueue == null || !QUEUE_TYPE.equals(resourceTypes.get(deadLetterQueue))) {
            throw error(targetWhere, "must be !GetAtt <queue>.Arn of a queue in this template (the local stack creates"
                    + " the dead-letter queue from it), but is " + policy.get("deadLetterTargetArn"));
        }
        String countWhere = where + ".maxReceiveCount";
        int maxReceiveCount = integer(evaluate(policy.get("maxReceiveCount"), noResources, countWhere), countWhere);
        if (maxReceiveCount < 1 || maxReceiveCount > 1000) {
            throw error(countWhere, "must be 1-1000 (as in SQS), but is " + maxReceiveCount);
        }
        return new Redrive(deadLetterQueue, maxReceiveCount);
    }

    private RedriveAllowPolicy redriveAllowPolicy(Object node, String where) {
        Map<String, Object> policy = map(node, where);
        for (String key : policy.keySet()) {
            if (!key.equals("redrivePermission") && !key.equals("sourceQueueArns")) {
                throw unknownProperty(where + "." + key);
            }
        }
        String permission = scalar(policy.get("redrivePermission"), where + ".redrivePermission");
        List<String> sources = policy.containsKey("sourceQueueArns")
                ? list(policy.get("sourceQueueArns"), where + ".sourceQueueArns").stream()
                        .map(arn -> scalar(arn, where + ".sourceQueueArns")).toList()
                : List.of();
        if (!Set.of("allowAll", "denyAll", "byQueue").contains(permission)) {
            throw error(where + ".redrivePermission", "must be allowAll, denyAll or byQueue, but is " + permission);
        }
        if (permission.equals("byQueue") == sources.isEmpty()) {
            throw error(where, "sourceQueueArns must be given with byQueue, and only with byQueue");
        }
        return new RedriveAllowPolicy(permission, sources);
    }

    private Table table(String id, Map<String, Object> properties) {
        String where = "Resources." + id + ".Properties";
        for (String key : properties.keySet()) {
            if (!Set.of("TableName", "BillingMode", "AttributeDefinitions", "KeySchema", "TimeToLiveSpecification",
                    "GlobalSecondaryIndexes", "StreamSpecification").contains(key) && !TABLE_IGNORED.contains(key)) {
                throw unknownProperty(where + "." + key);
            }
        }
        String name = properties.containsKey("TableName")
                ? scalar(evaluate(properties.get("TableName"), noResources, where + ".TableName"), where + ".TableName")
                : defaultName(id);
        if (!"PAY_PER_REQUEST".equals(properties.get("BillingMode"))) {
            throw error(where + ".BillingMode", "the local stack builds on-demand tables only: set PAY_PER_REQUEST");
        }
        List<Object> keySchema = list(properties.get("KeySchema"), where + ".KeySchema");
        if (keySchema.size() != 1) {
            throw error(where + ".KeySchema", "the local stack builds tables with a single HASH key only");
        }
        Map<String, Object> key = map(keySchema.get(0), where + ".KeySchema[0]");
        if (!"HASH".equals(key.get("KeyType"))) {
            throw error(where + ".KeySchema[0].KeyType", "must be HASH");
        }
        String hashKey = scalar(key.get("AttributeName"), where + ".KeySchema[0].AttributeName");
        Map<String, String> attributeTypes = new LinkedHashMap<>();
        for (Object definition : list(properties.get("AttributeDefinitions"), where + ".AttributeDefinitions")) {
            Map<String, Object> attribute = map(definition, where + ".AttributeDefinitions");
            attributeTypes.put(scalar(attribute.get("AttributeName"), where + ".AttributeDefinitions.AttributeName"),
                    scalar(attribute.get("AttributeType"), where + ".AttributeDefinitions.AttributeType"));
        }
        String hashKeyType = Optional.ofNullable(attributeTypes.get(hashKey))
                .orElseThrow(() -> error(where + ".AttributeDefinitions", "does not define the key " + hashKey));
        List<GlobalIndex> indexes = new ArrayList<>();
        if (properties.containsKey("GlobalSecondaryIndexes")) {
            List<Object> declared = list(properties.get("GlobalSecondaryIndexes"), where + ".GlobalSecondaryIndexes");
            for (int i = 0; i < declared.size(); i++) {
                indexes.add(globalIndex(map(declared.get(i), where + ".GlobalSecondaryIndexes[" + i + "]"),
                        where + ".GlobalSecondaryIndexes[" + i + "]", attributeTypes));
            }
        }
        Set<String> keyAttributes = new LinkedHashSet<>(List.of(hashKey));
        indexes.forEach(index -> {
            keyAttributes.add(index.hashKey());
            if (index.rangeKey() != null) {
                keyAttributes.add(index.rangeKey());
            }
        });
        if (!keyAttributes.equals(attributeTypes.keySet())) {
            throw error(where + ".AttributeDefinitions", "must define exactly the table's and its indexes' key"
                    + " attributes " + keyAttributes + ", as DynamoDB requires, but defines " + attributeTypes.keySet());
        }
        String ttlAttribute = null;
        if (properties.containsKey("TimeToLiveSpecification")) {
            String ttlWhere = where + ".TimeToLiveSpecification";
            Map<String, Object> ttl = map(evaluate(properties.get("TimeToLiveSpecification"), noResources, ttlWhere),
                    ttlWhere);
            if (Boolean.parseBoolean(scalar(ttl.get("Enabled"), ttlWhere + ".Enabled"))) {
                ttlAttribute = scalar(ttl.get("AttributeName"), ttlWhere + ".AttributeName");
            }
        }
        String streamViewType = null;
        if (properties.containsKey("StreamSpecification")) {
            String streamWhere = where + ".StreamSpecification";
            Map<String, Object> stream = map(evaluate(properties.get("StreamSpecification"), noResources, streamWhere),
                    streamWhere);
            for (String streamKey : stream.keySet()) {
                if (!streamKey.equals("StreamViewType")) {
                    throw unknownProperty(streamWhere + "." + streamKey);
                }
            }
            streamViewType = scalar(stream.get("StreamViewType"), streamWhere + ".StreamViewType");
            if (!Set.of("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES").contains(streamViewType)) {
                throw error(streamWhere + ".StreamViewType", "must be KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or"
                        + " NEW_AND_OLD_IMAGES, but is " + streamViewType);
            }
        }
        return new Table(id, name, hashKey, hashKeyType, ttlAttribute, attributeTypes, indexes, streamViewType);
    }

    private GlobalIndex globalIndex(Map<String, Object> index, String where, Map<String, String> attributeTypes) {
        for (String key : index.keySet()) {
            if (!Set.of("IndexName", "KeySchema", "Projection").contains(key)) {
                throw unknownProperty(where + "." + key);
            }
        }
        String name = scalar(index.get("IndexName"), where + ".IndexName");
        String hashKey = null;
        String rangeKey = null;
        for (Object element : list(index.get("KeySchema"), where + ".KeySchema")) {
            Map<String, Object> key = map(element, where + ".KeySchema");
            String attribute = scalar(key.get("AttributeName"), where + ".KeySchema.AttributeName");
            switch (scalar(key.get("KeyType"), where + ".KeySchema.KeyType")) {
                case "HASH" -> hashKey = attribute;
                case "RANGE" -> rangeKey = attribute;
                default -> throw error(where + ".KeySchema.KeyType", "must be HASH or RANGE");
            }
        }
        if (hashKey == null) {
            throw error(where + ".KeySchema", "has no HASH key");
        }
        for (String attribute : rangeKey == null ? List.of(hashKey) : List.of(hashKey, rangeKey)) {
            if (!attributeTypes.containsKey(attribute)) {
                throw error(where + ".KeySchema", "names " + attribute + ", which AttributeDefinitions does not define");
            }
        }
        Map<String, Object> projection = map(index.get("Projection"), where + ".Projection");
        String type = scalar(projection.get("ProjectionType"), where + ".Projection.ProjectionType");
        if (!Set.of("ALL", "KEYS_ONLY", "INCLUDE").contains(type)) {
            throw error(where + ".Projection.ProjectionType", "must be ALL, KEYS_ONLY or INCLUDE");
        }
        List<String> nonKey = new ArrayList<>();
        if (projection.containsKey("NonKeyAttributes")) {
            list(projection.get("NonKeyAttributes"), where + ".Projection.NonKeyAttributes")
                    .forEach(attribute -> nonKey.add(scalar(attribute, where + ".Projection.NonKeyAttributes")));
        }
        if (type.equals("INCLUDE") == nonKey.isEmpty()) {
            throw error(where + ".Projection", "NonKeyAttributes go with ProjectionType INCLUDE, and only with it");
        }
        return new GlobalIndex(name, hashKey, rangeKey, type, nonKey);
    }

    private Bucket bucket(String id, Map<String, Object> properties) {
        String where = "Resources." + id + ".Properties";
        for (String key : properties.keySet()) {
            if (!Set.of("BucketName", "LifecycleConfiguration").contains(key) && !BUCKET_IGNORED.contains(key)) {
                throw unknownProperty(where + "." + key);
            }
        }
        if (!properties.containsKey("BucketName")) {
            throw error(where + ".BucketName", "is missing: CloudFormation would make up a name the local stack cannot"
                    + " know; name the bucket after the stack (!Sub \"${AWS::StackName}-...\")");
        }
        String name = scalar(evaluate(properties.get("BucketName"), noResources, where + ".BucketName"),
                where + ".BucketName");
        if (!BUCKET_NAME.matcher(name).matches() || name.contains("--")) {
            throw error(where + ".BucketName", "is '" + name + "', which S3 refuses: 3-63 lower-case letters, digits"
                    + " and single hyphens, a letter or digit at each end. It is made from the stack name '"
                    + pseudoParameters.stackName() + "': use a shorter, lower-case one");
        }
        List<LifecycleRule> rules = new ArrayList<>();
        if (properties.containsKey("LifecycleConfiguration")) {
            String lifecycleWhere = where + ".LifecycleConfiguration";
            Map<String, Object> lifecycle = map(properties.get("LifecycleConfiguration"), lifecycleWhere);
            for (String key : lifecycle.keySet()) {
                if (!key.equals("Rules")) {
                    throw unknownProperty(lifecycleWhere + "." + key);
                }
            }
            List<Object> raw = list(lifecycle.get("Rules"), lifecycleWhere + ".Rules");
            for (int i = 0; i < raw.size(); i++) {
                rules.add(lifecycleRule(raw.get(i), lifecycleWhere + ".Rules[" + i + "]"));
            }
        }
        return new Bucket(id, name, rules);
    }

    private LifecycleRule lifecycleRule(Object node, String where) {
        Map<String, Object> rule = map(evaluate(node, noResources, where), where);
        for (String key : rule.keySet()) {
            if (!Set.of("Id", "Status", "Prefix", "ExpirationInDays", "AbortIncompleteMultipartUpload")
                    .contains(key)) {
                throw unknownProperty(where + "." + key);
            }
        }
        String id = scalar(rule.get("Id"), where + ".Id");
        String status = scalar(rule.get("Status"), where + ".Status");
        if (!status.equals("Enabled") && !status.equals("Disabled")) {
            throw error(where + ".Status", "must be Enabled or Disabled, but is " + status);
        }
        // CloudFormation's rule has no Filter: Prefix is its only way to choose objects.
        String prefix = rule.containsKey("Prefix") ? scalar(rule.get("Prefix"), where + ".Prefix") : "";
        Integer expirationDays = rule.containsKey("ExpirationInDays")
                ? positive(integer(rule.get("ExpirationInDays"), where + ".ExpirationInDays"), where + ".ExpirationInDays")
                : null;
        Integer abortDays = null;
        if (rule.containsKey("AbortIncompleteMultipartUpload")) {
            String abortWhere = where + ".AbortIncompleteMultipartUpload";
            Map<String, Object> abort = map(rule.get("AbortIncompleteMultipartUpload"), abortWhere);
            for (String key : abort.keySet()) {
                if (!key.equals("DaysAfterInitiation")) {
                    throw unknownProperty(abortWhere + "." + key);
                }
            }
            abortDays = positive(integer(abort.get("DaysAfterInitiation"), abortWhere + ".DaysAfterInitiation"),
                    abortWhere + ".DaysAfterInitiation");
        }
        if (expirationDays == null && abortDays == null) {
            throw error(where, "has no action the local stack knows (ExpirationInDays,"
                    + " AbortIncompleteMultipartUpload)");
        }
        return new LifecycleRule(id, status.equals("Enabled"), prefix, expirationDays, abortDays);
    }

    private int positive(int value, String where) {
        if (value < 1) {
            throw error(where, "must be at least 1 day, but is " + value);
        }
        return value;
    }

    /** Adds the logical ids that {@code node} refers to with Ref, Fn::GetAtt or Fn::Sub. */
    private static void references(Object node, Set<String> ids) {
        if (node instanceof Map<?, ?> map) {
            if (map.size() == 1 && map.get("Ref") instanceof String id) {
                ids.add(id);
                return;
            }
            if (map.size() == 1 && map.get("Fn::GetAtt") instanceof List<?> parts && !parts.isEmpty()
                    && parts.get(0) instanceof String id) {
                ids.add(id);
                return;
            }
            if (map.size() == 1 && map.containsKey("Fn::Sub")) {
                Object argument = map.get("Fn::Sub");
                Object text = argument instanceof List<?> form && !form.isEmpty() ? form.get(0) : argument;
                if (text instanceof String string) {
                    Matcher matcher = SUB_VARIABLE.matcher(string);
                    while (matcher.find()) {
                        String name = matcher.group(1);
                        if (!name.startsWith("!")) {
                            ids.add(name.contains(".") ? name.substring(0, name.indexOf('.')) : name);
                        }
                    }
                }
                if (argument instanceof List<?> form && form.size() == 2) {
                    references(form.get(1), ids);
                }
                return;
            }
            map.values().forEach(value -> references(value, ids));
        } else if (node instanceof List<?> list) {
            list.forEach(item -> references(item, ids));
        }
    }

    private Function function(String id, Map<String, Object> properties, List<RawRoute> rawRoutes,
            List<RawEventSource> rawEventSources) {
        String where = "Resources." + id + ".Properties";
        String handler = scalar(properties.get("Handler"), where + ".Handler");
        int separator = handler.indexOf("::");
        String handlerClass = separator < 0 ? handler : handler.substring(0, separator);
        String handlerMethod = separator < 0 ? "handleRequest" : handler.substring(separator + 2);
        Duration timeout = Duration.ofSeconds(properties.containsKey("Timeout")
                ? integer(evaluate(properties.get("Timeout"), noResources, where + ".Timeout"), where + ".Timeout")
                : SAM_DEFAULT_TIMEOUT_SECONDS);
        int memory = properties.containsKey("MemorySize")
                ? integer(evaluate(properties.get("MemorySize"), noResources, where + ".MemorySize"),
                        where + ".MemorySize")
                : SAM_DEFAULT_MEMORY_MB;
        Map<String, Object> environment = optionalMap(optionalMap(properties.get("Environment"),
                where + ".Environment").get("Variables"), where + ".Environment.Variables");
        functionEnvironments.put(id, environment);
        Function function = new Function(id, handlerClass, handlerMethod, timeout, memory,
                Collections.unmodifiableSet(new LinkedHashSet<>(environment.keySet())));

        Map<String, Object> events = optionalMap(properties.get("Events"), where + ".Events");
        for (Map.Entry<String, Object> entry : events.entrySet()) {
            String eventWhere = where + ".Events." + entry.getKey();
            Map<String, Object> event = map(entry.getValue(), eventWhere);
            if ("DynamoDB".equals(event.get("Type")) || "SQS".equals(event.get("Type"))) {
                rawEventSources.add(new RawEventSource((String) event.get("Type"), entry.getKey(),
                        optionalMap(event.get("Properties"), eventWhere + ".Properties"), function,
                        eventWhere + ".Properties"));
                continue;
            }
            if (!"Api".equals(event.get("Type"))) {
                continue;
            }
            Map<String, Object> api = map(event.get("Properties"), eventWhere + ".Properties");
            String path = scalar(api.get("Path"), eventWhere + ".Properties.Path");
            if (!path.startsWith("/")) {
                throw error(eventWhere + ".Properties.Path", "must start with '/', but is " + path);
            }
            String method = scalar(api.get("Method"), eventWhere + ".Properties.Method").toUpperCase(Locale.ROOT);
            String apiId = null;
            if (api.containsKey("RestApiId")) {
                Object restApiId = api.get("RestApiId");
                apiId = restApiId instanceof Map<?, ?> ref && ref.get("Ref") instanceof String name
                        ? name : String.valueOf(restApiId);
            }
            rawRoutes.add(new RawRoute(method, path, apiId, function, eventWhere + ".Properties"));
        }
        return function;
    }

    /** SQS's and the stream's defaults, as Lambda sets them for a mapping that names none. */
    private static final int DEFAULT_STREAM_BATCH_SIZE = 100;
    private static final int DEFAULT_QUEUE_BATCH_SIZE = 10;
    /** Properties of a mapping with no local meaning: how Lambda scales and batches in time. */
    private static final Set<String> EVENT_SOURCE_IGNORED = Set.of("MaximumBatchingWindowInSeconds", "ScalingConfig",
            "ParallelizationFactor", "Enabled");

    private EventSource eventSource(RawEventSource raw) {
        boolean stream = raw.type().equals("DynamoDB");
        Set<String> known = stream
                ? Set.of("Stream", "StartingPosition", "BatchSize", "MaximumRetryAttempts", "FunctionResponseTypes",
                        "FilterCriteria")
                : Set.of("Queue", "BatchSize", "FunctionResponseTypes", "FilterCriteria");
        for (String key : raw.properties().keySet()) {
            if (!known.contains(key) && !EVENT_SOURCE_IGNORED.contains(key)) {
                throw unknownProperty(raw.where() + "." + key);
            }
        }
        String sourceKey = stream ? "Stream" : "Queue";
        String source = getAttTarget(raw.properties().get(sourceKey), stream ? "StreamArn" : "Arn");
        String wantedType = stream ? TABLE_TYPE : QUEUE_TYPE;
        if (source == null || !wantedType.equals(resourceTypes.get(source))) {
            throw error(raw.where() + "." + sourceKey, "must be !GetAtt <" + (stream ? "table>.StreamArn" : "queue>.Arn")
                    + " of a " + wantedType + " in this template, but is " + raw.properties().get(sourceKey));
        }
        if (stream && tables.stream().noneMatch(t -> t.logicalId().equals(source) && t.streamViewType().isPresent())) {
            throw error(raw.where() + ".Stream", source + " has no StreamSpecification, so no stream to read");
        }
        String startingPosition = null;
        int maximumRetryAttempts = -1;
        if (stream) {
            startingPosition = scalar(raw.properties().get("StartingPosition"), raw.where() + ".StartingPosition");
            if (!startingPosition.equals("TRIM_HORIZON") && !startingPosition.equals("LATEST")) {
                throw error(raw.where() + ".StartingPosition", "must be TRIM_HORIZON or LATEST, but is "
                        + startingPosition);
            }
            if (raw.properties().containsKey("MaximumRetryAttempts")) {
                maximumRetryAttempts = integer(evaluate(raw.properties().get("MaximumRetryAttempts"), noResources,
                        raw.where()), raw.where() + ".MaximumRetryAttempts");
            }
        }
        int batchSize = raw.properties().containsKey("BatchSize")
                ? integer(evaluate(raw.properties().get("BatchSize"), noResources, raw.where()), raw.where() + ".BatchSize")
                : stream ? DEFAULT_STREAM_BATCH_SIZE : DEFAULT_QUEUE_BATCH_SIZE;
        if (batchSize < 1 || batchSize > (stream ? 10_000 : 10)) {
            throw error(raw.where() + ".BatchSize", "must be 1-" + (stream ? "10000" : "10 (the local stack receives"
                    + " one SQS batch per invocation)") + ", but is " + batchSize);
        }
        boolean reportFailures = false;
        if (raw.properties().containsKey("FunctionResponseTypes")) {
            List<String> types = list(raw.properties().get("FunctionResponseTypes"), raw.where() + ".FunctionResponseTypes")
                    .stream().map(t -> scalar(t, raw.where() + ".FunctionResponseTypes")).toList();
            if (!types.equals(List.of("ReportBatchItemFailures"))) {
                throw error(raw.where() + ".FunctionResponseTypes", "must be [ReportBatchItemFailures], but is " + types);
            }
            reportFailures = true;
        }
        List<String> patterns = new ArrayList<>();
        if (raw.properties().containsKey("FilterCriteria")) {
            String filterWhere = raw.where() + ".FilterCriteria";
            Map<String, Object> criteria = map(raw.properties().get("FilterCriteria"), filterWhere);
            for (String key : criteria.keySet()) {
                if (!key.equals("Filters")) {
                    throw unknownProperty(filterWhere + "." + key);
                }
            }
            List<Object> filters = list(criteria.get("Filters"), filterWhere + ".Filters");
            for (int i = 0; i < filters.size(); i++) {
                Map<String, Object> filter = map(filters.get(i), filterWhere + ".Filters[" + i + "]");
                patterns.add(scalar(filter.get("Pattern"), filterWhere + ".Filters[" + i + "].Pattern"));
            }
        }
        return new EventSource(raw.function().logicalId() + "." + raw.name(),
                stream ? EventSource.Kind.DYNAMODB_STREAM : EventSource.Kind.SQS, source, raw.function(), batchSize,
                startingPosition, maximumRetryAttempts, reportFailures, patterns);
    }

    private String defaultName(String logicalId) {
        return pseudoParameters.stackName() + "-" + logicalId;
    }

    private List<Queue> deadLetterQueuesFirst(List<Queue> unordered) {
        List<Queue> ordered = new ArrayList<>();
        Set<String> placed = new LinkedHashSet<>();
        while (ordered.size() < unordered.size()) {
            boolean progress = false;
            for (Queue queue : unordered) {
                if (!placed.contains(queue.logicalId()) && queue.redrive()
                        .map(r -> placed.contains(r.deadLetterQueueLogicalId())).orElse(true)) {
                    ordered.add(queue);
                    placed.add(queue.logicalId());
                    progress = true;
                }
            }
            if (!progress) {
                List<String> stuck = unordered.stream().map(Queue::logicalId).filter(id -> !placed.contains(id)).toList();
                throw error("Resources", "the redrive policies of " + stuck + " form a cycle");
            }
        }
        return ordered;
    }

    // ---------------------------------------------------------------------------------------------
    // Intrinsic functions

    private Object evaluate(Object node, ResourceValues values, String where) {
        if (node instanceof Map<?, ?> map) {
            if (map.size() == 1) {
                String key = String.valueOf(map.keySet().iterator().next());
                if (key.equals("Ref") || key.startsWith("Fn::")) {
                    return intrinsic(key, map.get(key), values, where);
                }
            }
            Map<String, Object> result = new LinkedHashMap<>();
            map.forEach((k, v) -> result.put(String.valueOf(k), evaluate(v, values, where + "." + k)));
            return result;
        }
        if (node instanceof List<?> list) {
            List<Object> result = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) {
                result.add(evaluate(list.get(i), values, where + "[" + i + "]"));
            }
            return result;
        }
        return node;
    }

    private String intrinsic(String function, Object argument, ResourceValues values, String where) {
        return switch (function) {
            case "Ref" -> ref(scalar(argument, where + ".Ref"), values, where);
            case "Fn::GetAtt" -> {
                List<Object> parts = list(argument, where + ".Fn::GetAtt");
                if (parts.size() != 2) {
                    throw error(where, "Fn::GetAtt needs [Resource, Attribute], but is " + argument);
                }
                yield attribute(scalar(parts.get(0), where), scalar(parts.get(1), where), values, where);
            }
            case "Fn::Sub" -> sub(argument, values, where);
            case "Fn::FindInMap" -> findInMap(argument, values, where);
            case "Fn::Join" -> join(argument, values, where);
            default -> throw error(where, "uses " + function + ", which the local stack does not evaluate (it"
                    + " evaluates Ref, Fn::GetAtt, Fn::Sub, Fn::FindInMap and Fn::Join); rewrite it with those or"
                    + " teach SamTemplate " + function);
        };
    }

    /**
     * {@code Fn::Join: [delimiter, values]}: a list of strings (or intrinsics giving them), or a
     * {@code Ref} to a {@code CommaDelimitedList} parameter (whose value is its items joined by commas).
     */
    private String join(Object argument, ResourceValues values, String where) {
        List<Object> parts = list(argument, where + ".Fn::Join");
        if (parts.size() != 2) {
            throw error(where, "Fn::Join needs [delimiter, values], but is " + argument);
        }
        String delimiter = scalar(parts.get(0), where + ".Fn::Join[0]");
        Object items = evaluate(parts.get(1), values, where + ".Fn::Join[1]");
        if (items instanceof String list) {
            return String.join(delimiter, java.util.Arrays.stream(list.split(",", -1)).map(String::trim).toList());
        }
        List<String> strings = new ArrayList<>();
        for (Object item : list(items, where + ".Fn::Join[1]")) {
            strings.add(scalar(item, where + ".Fn::Join[1]"));
        }
        return String.join(delimiter, strings);
    }

    /**
     * {@code Fn::FindInMap: [MapName, TopLevelKey, SecondLevelKey]}, each a string or an intrinsic
     * giving one; a list value comes back as its items joined by commas, as a list parameter's does.
     */
    private String findInMap(Object argument, ResourceValues values, String where) {
        List<Object> parts = list(argument, where + ".Fn::FindInMap");
        if (parts.size() != 3) {
            throw error(where, "Fn::FindInMap needs [MapName, TopLevelKey, SecondLevelKey], but is " + argument);
        }
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            keys.add(scalar(evaluate(parts.get(i), values, where + ".Fn::FindInMap[" + i + "]"), where));
        }
        Object map = mappings.get(keys.get(0));
        Object top = map instanceof Map<?, ?> m ? m.get(keys.get(1)) : null;
        Object value = top instanceof Map<?, ?> t ? t.get(keys.get(2)) : null;
        if (value == null) {
            throw error(where, "Fn::FindInMap " + keys + ": the template's Mappings have no such value");
        }
        if (value instanceof List<?> items) {
            // A list, as a list parameter's value is given: its items joined by commas.
            List<String> strings = new ArrayList<>();
            for (Object item : items) {
                strings.add(scalar(item, "Mappings." + String.join(".", keys)));
            }
            return String.join(",", strings);
        }
        return scalar(value, "Mappings." + String.join(".", keys));
    }

    private String ref(String name, ResourceValues values, String where) {
        if (parameters.containsKey(name)) {
            return parameters.get(name);
        }
        Optional<String> pseudo = pseudoParameters.value(name);
        if (pseudo.isPresent()) {
            return pseudo.get();
        }
        if (resourceTypes.containsKey(name)) {
            return values.ref(name);
        }
        throw error(where, "Ref to '" + name + "', which is neither a parameter, a supported pseudo parameter nor a"
                + " resource of the template");
    }

    private String attribute(String resource, String attribute, ResourceValues values, String where) {
        if (!resourceTypes.containsKey(resource)) {
            throw error(where, "Fn::GetAtt of '" + resource + "', which is not a resource of the template");
        }
        return values.attribute(resource, attribute);
    }

    private String sub(Object argument, ResourceValues values, String where) {
        String text;
        Map<String, Object> variables;
        if (argument instanceof List<?> form) {
            if (form.size() != 2) {
                throw error(where, "Fn::Sub needs a string, or [string, {variables}], but is " + argument);
            }
            text = scalar(form.get(0), where + ".Fn::Sub");
            variables = map(evaluate(form.get(1), values, where + ".Fn::Sub"), where + ".Fn::Sub");
        } else {
            text = scalar(argument, where + ".Fn::Sub");
            variables = Map.of();
        }
        Matcher matcher = SUB_VARIABLE.matcher(text);
        StringBuilder result = new StringBuilder();
        while (matcher.find()) {
            String name = matcher.group(1);
            String replacement;
            if (name.startsWith("!")) {
                replacement = "${" + name.substring(1) + "}";
            } else if (variables.containsKey(name)) {
                replacement = scalar(variables.get(name), where + ".Fn::Sub." + name);
            } else if (name.contains(".") && !name.startsWith("AWS::")) {
                int dot = name.indexOf('.');
                replacement = attribute(name.substring(0, dot), name.substring(dot + 1), values, where);
            } else {
                replacement = ref(name, values, where);
            }
            matcher.appendReplacement(result, Matcher.quoteReplacement(replacement));
        }
        matcher.appendTail(result);
        return result.toString();
    }

    /** The resource an {@code {"Fn::GetAtt": [resource, attribute]}} node names, or null if it is not one. */
    private static String getAttTarget(Object node, String attribute) {
        if (node instanceof Map<?, ?> map && map.size() == 1 && map.get("Fn::GetAtt") instanceof List<?> parts
                && parts.size() == 2 && attribute.equals(parts.get(1)) && parts.get(0) instanceof String resource) {
            return resource;
        }
        return null;
    }

    // ---------------------------------------------------------------------------------------------
    // Node access

    private static Map<String, Object> merge(Map<String, Object> globals, Map<String, Object> local) {
        Map<String, Object> merged = new LinkedHashMap<>(globals);
        local.forEach((key, value) -> merged.merge(key, value, SamTemplate::mergeValue));
        return merged;
    }

    /** SAM's rule for Globals: maps merge (the function wins), lists concatenate, scalars are replaced. */
    @SuppressWarnings("unchecked")
    private static Object mergeValue(Object global, Object local) {
        if (global instanceof Map<?, ?> g && local instanceof Map<?, ?> l) {
            return merge((Map<String, Object>) g, (Map<String, Object>) l);
        }
        if (global instanceof List<?> g && local instanceof List<?> l) {
            List<Object> both = new ArrayList<>(g);
            both.addAll(l);
            return both;
        }
        return local;
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> map(Object node, String where) {
        if (node instanceof Map<?, ?> map) {
            return (Map<String, Object>) map;
        }
        throw error(where, node == null ? "is missing" : "must be a mapping, but is " + node);
    }

    private Map<String, Object> optionalMap(Object node, String where) {
        return node == null ? Map.of() : map(node, where);
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object node, String where) {
        if (node instanceof List<?> list) {
            return (List<Object>) list;
        }
        throw error(where, node == null ? "is missing" : "must be a list, but is " + node);
    }

    private String scalar(Object node, String where) {
        if (node instanceof String || node instanceof Number || node instanceof Boolean) {
            return node.toString();
        }
        throw error(where, node == null ? "is missing" : "must be a single value, but is " + node);
    }

    private int integer(Object node, String where) {
        String value = scalar(node, where);
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw error(where, "must be a whole number, but is '" + value + "'");
        }
    }

    private TemplateException unknownProperty(String where) {
        return error(where, "the local stack does not know this property, so it cannot build the resource as"
                + " deployed; teach SamTemplate what it means locally (or that it has no local meaning)");
    }

    private TemplateException error(String where, String message) {
        return new TemplateException(path + ", " + where + ": " + message);
    }

    // ---------------------------------------------------------------------------------------------
    // The model

    /**
     * What {@code Ref} and {@code Fn::GetAtt} of a resource resolve to: in AWS, what
     * CloudFormation created; locally, what {@link LocalResources} created.
     */
    public interface ResourceValues {

        /** {@code Ref}: a queue's URL, a table's name. */
        String ref(String logicalId);

        /** {@code Fn::GetAtt}: for example a queue's {@code Arn} or a table's {@code Arn}. */
        String attribute(String logicalId, String attribute);
    }

    /**
     * The values of the pseudo parameters the local stack supports. The partition is always
     * {@code aws}: that is what ElasticMQ puts in its queue ARNs.
     *
     * @param stackName {@code AWS::StackName}; also the prefix of names the template leaves to CloudFormation
     * @param region {@code AWS::Region}
     * @param accountId {@code AWS::AccountId}
     */
    public record PseudoParameters(String stackName, String region, String accountId) {

        /** The stack name the local stack uses: queues and table are named as in a stack called this. */
        public static final String DEFAULT_STACK_NAME = "ferry";

        public PseudoParameters {
            requireText(stackName, "stackName");
            requireText(region, "region");
            requireText(accountId, "accountId");
        }

        private static void requireText(String value, String name) {
            if (value == null || value.isBlank()) {
                throw new IllegalArgumentException(name + " must not be blank");
            }
        }

        /** A pseudo parameter's value, or empty when the name is not one this supports. */
        public Optional<String> value(String name) {
            return Optional.ofNullable(switch (name) {
                case "AWS::StackName" -> stackName;
                case "AWS::Region" -> region;
                case "AWS::AccountId" -> accountId;
                case "AWS::Partition" -> "aws";
                case "AWS::URLSuffix" -> "amazonaws.com";
                // CloudFormation's ends in a random id; locally the stack has none (nothing local is secret).
                case "AWS::StackId" -> "arn:aws:cloudformation:" + region + ":" + accountId + ":stack/" + stackName
                        + "/local";
                default -> null;
            });
        }
    }

    /** An SQS queue as the template declares it. */
    public static final class Queue {
        private final String logicalId;
        private final String name;
        private final Map<String, String> attributes;
        private final Redrive redrive;
        private final RedriveAllowPolicy redriveAllowPolicy;

        Queue(String logicalId, String name, Map<String, String> attributes, Redrive redrive,
                RedriveAllowPolicy redriveAllowPolicy) {
            this.logicalId = logicalId;
            this.name = name;
            this.attributes = Collections.unmodifiableMap(new LinkedHashMap<>(attributes));
            this.redrive = redrive;
            this.redriveAllowPolicy = redriveAllowPolicy;
        }

        /** The template's logical id, e.g. {@code JobQueue}. */
        public String logicalId() {
            return logicalId;
        }

        /** The queue's name, as deployed in a stack named {@link PseudoParameters#stackName()}. */
        public String name() {
            return name;
        }

        /**
         * SQS attributes for CreateQueue/SetQueueAttributes, by SQS attribute name
         * ({@code VisibilityTimeout}, {@code MessageRetentionPeriod}, ...), without the redrive
         * policies, which need other queues' ARNs.
         */
        public Map<String, String> attributes() {
            return attributes;
        }

        /** Where this queue sends a message after too many receives, if anywhere. */
        public Optional<Redrive> redrive() {
            return Optional.ofNullable(redrive);
        }

        /** Which queues may use this queue as their dead-letter queue, if restricted. */
        public Optional<RedriveAllowPolicy> redriveAllowPolicy() {
            return Optional.ofNullable(redriveAllowPolicy);
        }

        @Override
        public String toString() {
            return "Queue[" + logicalId + " " + name + " " + attributes + " redrive=" + redrive + "]";
        }
    }

    /**
     * A queue's redrive policy.
     *
     * @param deadLetterQueueLogicalId the template's logical id of the dead-letter queue
     * @param maxReceiveCount receives after which SQS moves a message there
     */
    public record Redrive(String deadLetterQueueLogicalId, int maxReceiveCount) {
    }

    /**
     * A dead-letter queue's redrive-allow policy.
     *
     * @param redrivePermission {@code allowAll}, {@code denyAll} or {@code byQueue}
     * @param sourceQueueArns with {@code byQueue}: the queues that may use it
     */
    public record RedriveAllowPolicy(String redrivePermission, List<String> sourceQueueArns) {

        public RedriveAllowPolicy {
            sourceQueueArns = List.copyOf(sourceQueueArns);
        }

        /** Whether the queue with this ARN may name this queue as its dead-letter queue. */
        public boolean allows(String sourceQueueArn) {
            return switch (redrivePermission) {
                case "allowAll" -> true;
                case "byQueue" -> sourceQueueArns.contains(sourceQueueArn);
                default -> false;
            };
        }
    }

    /**
     * A DynamoDB table as the template declares it: on-demand, with a single hash key, and its
     * global secondary indexes.
     */
    public static final class Table {
        private final String logicalId;
        private final String name;
        private final String hashKeyName;
        private final String hashKeyType;
        private final String timeToLiveAttribute;
        private final String streamViewType;
        private final Map<String, String> attributeTypes;
        private final List<GlobalIndex> globalIndexes;

        Table(String logicalId, String name, String hashKeyName, String hashKeyType, String timeToLiveAttribute,
              Map<String, String> attributeTypes, List<GlobalIndex> globalIndexes, String streamViewType) {
            this.logicalId = logicalId;
            this.name = name;
            this.hashKeyName = hashKeyName;
            this.hashKeyType = hashKeyType;
            this.timeToLiveAttribute = timeToLiveAttribute;
            this.streamViewType = streamViewType;
            this.attributeTypes = Collections.unmodifiableMap(new LinkedHashMap<>(attributeTypes));
            this.globalIndexes = List.copyOf(globalIndexes);
        }

        /** The type ({@code S}, {@code N}, {@code B}) of each key attribute, the table's and its indexes'. */
        public Map<String, String> attributeTypes() {
            return attributeTypes;
        }

        /** Its global secondary indexes, in template order. */
        public List<GlobalIndex> globalIndexes() {
            return globalIndexes;
        }

        /** The template's logical id, e.g. {@code JobsTable}. */
        public String logicalId() {
            return logicalId;
        }

        /** The table's name, as deployed in a stack named {@link PseudoParameters#stackName()}. */
        public String name() {
            return name;
        }

        /** The hash key's attribute name. */
        public String hashKeyName() {
            return hashKeyName;
        }

        /** The hash key's type: {@code S}, {@code N} or {@code B}. */
        public String hashKeyType() {
            return hashKeyType;
        }

        /** The attribute whose epoch-seconds value expires an item, when TTL is enabled. */
        public Optional<String> timeToLiveAttribute() {
            return Optional.ofNullable(timeToLiveAttribute);
        }

        /** What its change stream carries ({@code NEW_AND_OLD_IMAGES}, ...), when it has one. */
        public Optional<String> streamViewType() {
            return Optional.ofNullable(streamViewType);
        }

        @Override
        public String toString() {
            return "Table[" + logicalId + " " + name + " key " + hashKeyName + " (" + hashKeyType + ") ttl "
                    + timeToLiveAttribute + (streamViewType == null ? "" : " stream " + streamViewType) + "]";
        }
    }

    /**
     * A global secondary index as the template declares it (on-demand, like its table).
     *
     * @param name its {@code IndexName}
     * @param hashKey its partition key's attribute
     * @param rangeKey its sort key's attribute, or null
     * @param projectionType {@code ALL}, {@code KEYS_ONLY} or {@code INCLUDE}
     * @param nonKeyAttributes with {@code INCLUDE}, what it holds besides the keys
     */
    public record GlobalIndex(String name, String hashKey, String rangeKey, String projectionType,
                              List<String> nonKeyAttributes) {

        public GlobalIndex {
            nonKeyAttributes = List.copyOf(nonKeyAttributes);
        }

        /** Whether another index is this one: the same keys and projection (the attributes in any order). */
        public boolean sameAs(GlobalIndex other) {
            return name.equals(other.name) && hashKey.equals(other.hashKey) && Objects.equals(rangeKey, other.rangeKey)
                    && projectionType.equals(other.projectionType)
                    && new TreeSet<>(nonKeyAttributes).equals(new TreeSet<>(other.nonKeyAttributes));
        }

        /** As a difference names it: {@code status-createdAt (status, createdAt; INCLUDE [type, ...])}. */
        @Override
        public String toString() {
            return name + " (" + hashKey + (rangeKey == null ? "" : ", " + rangeKey) + "; " + projectionType
                    + (nonKeyAttributes.isEmpty() ? "" : " " + new TreeSet<>(nonKeyAttributes)) + ")";
        }
    }

    /**
     * An S3 bucket as the template declares it.
     *
     * @param logicalId the template's logical id, e.g. {@code FilesBucket}
     * @param name the bucket's name, as deployed in a stack named {@link PseudoParameters#stackName()}
     *     in {@link PseudoParameters#region()} of {@link PseudoParameters#accountId()}
     * @param lifecycleRules its lifecycle rules, in template order
     */
    public record Bucket(String logicalId, String name, List<LifecycleRule> lifecycleRules) {

        public Bucket {
            lifecycleRules = List.copyOf(lifecycleRules);
        }

        /** {@code Fn::GetAtt <bucket>.Arn}. */
        public String arn() {
            return "arn:aws:s3:::" + name;
        }
    }

    /** One lifecycle rule of a bucket: what S3 does to the objects under a prefix, and when. */
    public static final class LifecycleRule {
        private final String id;
        private final boolean enabled;
        private final String prefix;
        private final Integer expirationDays;
        private final Integer abortIncompleteMultipartUploadDays;

        /**
         * @param id its {@code Id}
         * @param enabled {@code Status: Enabled}
         * @param prefix the key prefix it applies to ({@code ""}: every object)
         * @param expirationDays days after an object's creation when S3 deletes it; null: never
         * @param abortIncompleteMultipartUploadDays days after an unfinished multipart upload began
         *     when S3 discards its parts; null: never
         */
        public LifecycleRule(String id, boolean enabled, String prefix, Integer expirationDays,
                Integer abortIncompleteMultipartUploadDays) {
            this.id = Objects.requireNonNull(id, "id");
            this.enabled = enabled;
            this.prefix = Objects.requireNonNull(prefix, "prefix");
            this.expirationDays = expirationDays;
            this.abortIncompleteMultipartUploadDays = abortIncompleteMultipartUploadDays;
        }

        public String id() {
            return id;
        }

        public boolean enabled() {
            return enabled;
        }

        public String prefix() {
            return prefix;
        }

        public Optional<Integer> expirationDays() {
            return Optional.ofNullable(expirationDays);
        }

        public Optional<Integer> abortIncompleteMultipartUploadDays() {
            return Optional.ofNullable(abortIncompleteMultipartUploadDays);
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof LifecycleRule rule && id.equals(rule.id) && enabled == rule.enabled
                    && prefix.equals(rule.prefix) && Objects.equals(expirationDays, rule.expirationDays)
                    && Objects.equals(abortIncompleteMultipartUploadDays, rule.abortIncompleteMultipartUploadDays);
        }

        @Override
        public int hashCode() {
            return Objects.hash(id, enabled, prefix, expirationDays, abortIncompleteMultipartUploadDays);
        }

        private static String days(int days) {
            return days == 1 ? "1 day" : days + " days";
        }

        /** As S3 would list it: {@code jobs: jobs/ expires after 31 days}. */
        @Override
        public String toString() {
            List<String> actions = new ArrayList<>();
            expirationDays().ifPresent(days -> actions.add("expires after " + days(days)));
            abortIncompleteMultipartUploadDays().ifPresent(days -> actions.add("aborts incomplete multipart uploads"
                    + " after " + days(days)));
            return id + ": " + (prefix.isEmpty() ? "every object" : prefix) + " " + String.join(", ", actions)
                    + (enabled ? "" : " (disabled)");
        }
    }

    /**
     * A Lambda function as the template declares it, {@code Globals} merged in.
     *
     * @param logicalId the template's logical id, also the local function name
     * @param handlerClass the class named by {@code Handler}
     * @param handlerMethod the method named by {@code Handler} ({@code handleRequest} when none)
     * @param timeout {@code Timeout}
     * @param memorySizeMb {@code MemorySize}
     * @param environmentVariableNames the variables its {@code Environment} declares; values come
     *     from {@link SamTemplate#environment(String, ResourceValues)}
     */
    public record Function(String logicalId, String handlerClass, String handlerMethod, Duration timeout,
            int memorySizeMb, Set<String> environmentVariableNames) {
    }

    /**
     * One {@code Api} event of a function: a method and path of the REST API.
     *
     * @param method the HTTP method, upper case ({@code ANY} matches every method)
     * @param path the resource path, with {@code {name}} for a path parameter
     * @param stage the stage of the API it belongs to
     * @param function the function that serves it
     */
    public record Route(String method, String path, String stage, Function function) {
    }

    private record RawRoute(String method, String path, String apiId, Function function, String where) {
    }

    private record RawEventSource(String type, String name, Map<String, Object> properties, Function function,
            String where) {
    }

    /**
     * One {@code DynamoDB} or {@code SQS} event of a function: Lambda's event source mapping, which
     * reads a table's stream or a queue and invokes the function with batches.
     *
     * @param name {@code <function>.<event>}
     * @param kind a table's stream, or a queue
     * @param sourceLogicalId the table or the queue
     * @param function the function it invokes
     * @param batchSize most records or messages per invocation
     * @param startingPosition for a stream: {@code TRIM_HORIZON} or {@code LATEST}; null for a queue
     * @param maximumRetryAttempts for a stream: retries of a failed batch, -1 until the records expire
     * @param reportBatchItemFailures the function reports which records or messages failed
     * @param filterPatterns the patterns of its {@code FilterCriteria} (a record passes if any
     *     matches); empty: every record
     */
    public record EventSource(String name, Kind kind, String sourceLogicalId, Function function, int batchSize,
            String startingPosition, int maximumRetryAttempts, boolean reportBatchItemFailures,
            List<String> filterPatterns) {

        public EventSource {
            filterPatterns = List.copyOf(filterPatterns);
        }

        /** What the mapping reads. */
        public enum Kind {
            DYNAMODB_STREAM, SQS
        }
    }
}
