package dev.ferry.local;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Json;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeDefinition;
import software.amazon.awssdk.services.dynamodb.model.BillingMode;
import software.amazon.awssdk.services.dynamodb.model.CreateGlobalSecondaryIndexAction;
import software.amazon.awssdk.services.dynamodb.model.GlobalSecondaryIndex;
import software.amazon.awssdk.services.dynamodb.model.GlobalSecondaryIndexDescription;
import software.amazon.awssdk.services.dynamodb.model.GlobalSecondaryIndexUpdate;
import software.amazon.awssdk.services.dynamodb.model.IndexStatus;
import software.amazon.awssdk.services.dynamodb.model.KeySchemaElement;
import software.amazon.awssdk.services.dynamodb.model.KeyType;
import software.amazon.awssdk.services.dynamodb.model.Projection;
import software.amazon.awssdk.services.dynamodb.model.ResourceNotFoundException;
import software.amazon.awssdk.services.dynamodb.model.StreamSpecification;
import software.amazon.awssdk.services.dynamodb.model.TableDescription;
import software.amazon.awssdk.services.dynamodb.model.TableStatus;
import software.amazon.awssdk.services.dynamodb.model.TimeToLiveDescription;
import software.amazon.awssdk.services.dynamodb.model.TimeToLiveStatus;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.ExpirationStatus;
import software.amazon.awssdk.services.s3.model.LifecycleRule;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;
import software.amazon.awssdk.services.sqs.model.QueueDoesNotExistException;

/**
 * The template's queues, tables and buckets, created through the SDK on whatever endpoints the
 * clients point at (the embedded emulators, or an external backend). A resource that already
 * exists is used as it is if it matches the template, and never changed otherwise: the start stops
 * with a message naming each difference, unless asked to reconcile (then the queue gets the
 * template's attributes, the table its TTL, the bucket its lifecycle rules). What this start
 * created is remembered, so that a test run can delete exactly that again ({@link #deleteCreated}),
 * a bucket emptied first.
 *
 * <p>A backend that keeps no lifecycle rules (the embedded S3Proxy answers 501) gets its buckets
 * without them: locally, objects live until the backend stops.
 *
 * <p>It is also the local answer to {@code Ref} and {@code Fn::GetAtt} of those resources, so the
 * functions' environments can be resolved from the template. A reference to a resource the local
 * stack does not create (the admin token's secret, say) resolves to a placeholder shaped like the
 * real value: an ARN for a Secrets Manager secret, {@code <stack>-<logical id>} otherwise. Nothing
 * local can use it; it only lets the environment resolve (locally, {@code FERRY_ADMIN_TOKEN} stands
 * in for the secret).
 *
 * <p>ElasticMQ rejects {@code RedriveAllowPolicy}, so it is checked here instead, as SQS would
 * check it: a queue whose dead-letter queue does not allow it as a source fails to be created.
 */
public final class LocalResources implements SamTemplate.ResourceValues {

    private static final Logger LOG = LoggerFactory.getLogger(LocalResources.class);

    private static final String SECRET_TYPE = "AWS::SecretsManager::Secret";
    /** S3's answer to a request a backend does not implement. */
    private static final int NOT_IMPLEMENTED = 501;

    private final SamTemplate template;
    private final boolean reconcile;
    private final Map<String, CreatedQueue> queues = new LinkedHashMap<>();
    private final Map<String, TableDescription> tables = new LinkedHashMap<>();
    private final Map<String, SamTemplate.Bucket> buckets = new LinkedHashMap<>();
    /** Queue URLs, table names and bucket names this start created, in creation order. */
    private final List<String> createdQueues = new ArrayList<>();
    private final List<String> createdTables = new ArrayList<>();
    private final List<String> createdBuckets = new ArrayList<>();

    private LocalResources(SamTemplate template, boolean reconcile) {
        this.template = template;
        this.reconcile = reconcile;
    }

    private record CreatedQueue(String url, String arn, String name) {
    }

    /**
     * Creates every queue, table and bucket of the template: dead-letter queues first, then the
     * queues that redrive to them, then the tables with their TTL, then the buckets with their
     * lifecycle rules.
     *
     * @param s3 may be null when the template has no bucket the local stack builds
     * @throws TemplateException when a resource exists with other settings (the message names every
     *     difference), a table exists with another key, a bucket's name belongs to someone else, or
     *     a dead-letter queue's redrive-allow policy excludes a queue that names it
     */
    public static LocalResources create(SamTemplate template, SqsClient sqs, DynamoDbClient dynamoDb, S3Client s3) {
        return create(template, sqs, dynamoDb, s3, false);
    }

    /**
     * As {@link #create(SamTemplate, SqsClient, DynamoDbClient, S3Client)}.
     *
     * @param reconcile bring existing resources that differ to the template's settings, instead
     *     of stopping
     */
    public static LocalResources create(SamTemplate template, SqsClient sqs, DynamoDbClient dynamoDb, S3Client s3,
                                        boolean reconcile) {
        Objects.requireNonNull(template, "template");
        if (s3 == null && !template.buckets().isEmpty()) {
            throw new IllegalArgumentException("the template declares buckets " + template.buckets().stream()
                    .map(SamTemplate.Bucket::name).toList() + ", and no S3 client was given to create them");
        }
        LocalResources resources = new LocalResources(template, reconcile);
        for (SamTemplate.Queue queue : template.queues()) {
            resources.createQueue(template, queue, sqs);
        }
        for (SamTemplate.Table table : template.tables()) {
            resources.tables.put(table.logicalId(), resources.createTable(table, dynamoDb));
        }
        for (SamTemplate.Bucket bucket : template.buckets()) {
            resources.createBucket(bucket, s3);
            resources.buckets.put(bucket.logicalId(), bucket);
        }
        return resources;
    }

    /**
     * Deletes the queues, tables and buckets this start created, and nothing else (a bucket after
     * deleting its objects); failures are logged (the run is over; a leftover is named in the log).
     */
    public void deleteCreated(SqsClient sqs, DynamoDbClient dynamoDb, S3Client s3) {
        for (String url : createdQueues) {
            try {
                sqs.deleteQueue(r -> r.queueUrl(url));
            } catch (RuntimeException e) {
                LOG.warn("could not delete queue {} this run created: {}", url, e.toString());
            }
        }
        for (String name : createdTables) {
            try {
                dynamoDb.deleteTable(r -> r.tableName(name));
            } catch (RuntimeException e) {
                LOG.warn("could not delete table {} this run created: {}", name, e.toString());
            }
        }
        for (String name : createdBuckets) {
            try {
                empty(name, s3);
                s3.deleteBucket(r -> r.bucket(name));
            } catch (RuntimeException e) {
                LOG.warn("could not delete bucket {} this run created: {}", name, e.toString());
            }
        }
    }

    /** The names of the queues, tables and buckets this start created. */
    public List<String> created() {
        List<String> all = new ArrayList<>(createdQueues);
        all.addAll(createdTables);
        all.addAll(createdBuckets);
        return all;
    }

    /** The URL of the queue with this logical id. */
    public String queueUrl(String logicalId) {
        return queue(logicalId).url();
    }

    /** The ARN of the queue with this logical id. */
    public String queueArn(String logicalId) {
        return queue(logicalId).arn();
    }

    /** The name of the table with this logical id. */
    public String tableName(String logicalId) {
        return table(logicalId).tableName();
    }

    /** The ARN of the table's change stream, when the template gives it one. */
    public Optional<String> tableStreamArn(String logicalId) {
        return Optional.ofNullable(table(logicalId).latestStreamArn());
    }

    /** Whether this start created the table (so its stream holds every change since it existed). */
    public boolean createdTable(String logicalId) {
        return createdTables.contains(table(logicalId).tableName());
    }

    /** The name of the bucket with this logical id. */
    public String bucketName(String logicalId) {
        return bucket(logicalId).name();
    }

    /** A queue's URL, a table's name, a bucket's name; for a resource not created locally, a placeholder. */
    @Override
    public String ref(String logicalId) {
        if (queues.containsKey(logicalId)) {
            return queueUrl(logicalId);
        }
        if (tables.containsKey(logicalId)) {
            return tableName(logicalId);
        }
        if (buckets.containsKey(logicalId)) {
            return bucketName(logicalId);
        }
        return placeholder(logicalId);
    }

    /**
     * A queue's {@code Arn}, {@code QueueName} or {@code QueueUrl}; a table's {@code Arn}; a
     * bucket's {@code Arn}; for a resource not created locally, a placeholder.
     */
    @Override
    public String attribute(String logicalId, String attribute) {
        if (buckets.containsKey(logicalId) && attribute.equals("Arn")) {
            return bucket(logicalId).arn();
        }
        if (!queues.containsKey(logicalId) && !tables.containsKey(logicalId)) {
            if (buckets.containsKey(logicalId)) {
                throw new TemplateException("the local stack has no value for Fn::GetAtt " + logicalId + "."
                        + attribute + " (of a bucket it knows the Arn)");
            }
            return placeholder(logicalId) + "." + attribute;
        }
        String value = null;
        if (queues.containsKey(logicalId)) {
            CreatedQueue queue = queue(logicalId);
            value = switch (attribute) {
                case "Arn" -> queue.arn();
                case "QueueName" -> queue.name();
                case "QueueUrl" -> queue.url();
                default -> null;
            };
        } else if (tables.containsKey(logicalId) && attribute.equals("Arn")) {
            value = table(logicalId).tableArn();
        } else if (tables.containsKey(logicalId) && attribute.equals("StreamArn")) {
            value = table(logicalId).latestStreamArn();
        }
        if (value != null) {
            return value;
        }
        throw new TemplateException("the local stack has no value for Fn::GetAtt " + logicalId + "." + attribute);
    }

    /** What a reference to a resource of the template that the local stack does not create resolves to. */
    private String placeholder(String logicalId) {
        String type = template.resourceType(logicalId).orElseThrow(() -> new TemplateException(
                "the template has no resource " + logicalId));
        SamTemplate.PseudoParameters where = template.pseudoParameters();
        String name = where.stackName() + "-" + logicalId;
        if (type.equals(SECRET_TYPE)) {
            return "arn:aws:secretsmanager:" + where.region() + ":" + where.accountId() + ":secret:" + name;
        }
        return name;
    }

    private CreatedQueue queue(String logicalId) {
        CreatedQueue queue = queues.get(logicalId);
        if (queue == null) {
            throw new IllegalArgumentException("no queue " + logicalId + " was created; queues: " + queues.keySet());
        }
        return queue;
    }

    private SamTemplate.Bucket bucket(String logicalId) {
        SamTemplate.Bucket bucket = buckets.get(logicalId);
        if (bucket == null) {
            throw new IllegalArgumentException("no bucket " + logicalId + " was created; buckets: " + buckets.keySet());
        }
        return bucket;
    }

    private TableDescription table(String logicalId) {
        TableDescription table = tables.get(logicalId);
        if (table == null) {
            throw new IllegalArgumentException("no table " + logicalId + " was created; tables: " + tables.keySet());
        }
        return table;
    }

    private void createQueue(SamTemplate template, SamTemplate.Queue queue, SqsClient sqs) {
        Map<String, String> attributes = new HashMap<>(queue.attributes());
        queue.redrive().ifPresent(redrive -> {
            String deadLetterId = redrive.deadLetterQueueLogicalId();
            CreatedQueue deadLetter = queue(deadLetterId);
            // Same emulator, so same account and region: only the name differs from the DLQ's ARN.
            String arn = deadLetter.arn().substring(0, deadLetter.arn().lastIndexOf(':') + 1) + queue.name();
            template.queue(deadLetterId).redriveAllowPolicy().ifPresent(policy -> {
                if (!policy.allows(arn)) {
                    throw new TemplateException(template.path() + ": " + queue.logicalId() + " names " + deadLetterId
                            + " as its dead-letter queue, but " + deadLetterId + "'s RedriveAllowPolicy ("
                            + policy.redrivePermission() + " " + policy.sourceQueueArns() + ") does not allow " + arn
                            + "; SQS would refuse this redrive policy");
                }
            });
            attributes.put(QueueAttributeName.REDRIVE_POLICY.toString(), "{\"deadLetterTargetArn\":\""
                    + deadLetter.arn() + "\",\"maxReceiveCount\":" + redrive.maxReceiveCount() + "}");
        });
        String url;
        try {
            String existing = sqs.getQueueUrl(r -> r.queueName(queue.name())).queueUrl();
            List<String> differences = differences(sqs, existing, attributes);
            if (!differences.isEmpty()) {
                if (!reconcile) {
                    throw new TemplateException("queue " + queue.name() + " exists with settings other than the"
                            + " template's: " + String.join("; ", differences) + ". Ferry never changes a resource it"
                            + " did not create: choose another stack name, delete the queue, or ask to reconcile"
                            + " (FERRY_RECONCILE=true)");
                }
                LOG.warn("queue {}: bringing it to the template's settings ({})", queue.name(),
                        String.join("; ", differences));
                sqs.setQueueAttributes(r -> r.queueUrl(existing).attributesWithStrings(attributes));
            }
            url = existing;
        } catch (QueueDoesNotExistException e) {
            // The redrive policy must come with CreateQueue: ElasticMQ's StartMessageMoveTask finds a
            // dead-letter queue's source only among redrive policies given at creation.
            url = sqs.createQueue(r -> r.queueName(queue.name()).attributesWithStrings(attributes)).queueUrl();
            createdQueues.add(0, url); // deleted in reverse: a queue before the dead-letter queue it names
            LOG.debug("created queue {} ({})", queue.name(), url);
        }
        String queueUrl = url;
        String arn = sqs.getQueueAttributes(r -> r.queueUrl(queueUrl).attributeNames(QueueAttributeName.QUEUE_ARN))
                .attributes().get(QueueAttributeName.QUEUE_ARN);
        queues.put(queue.logicalId(), new CreatedQueue(queueUrl, arn, queue.name()));
    }

    /** How an existing queue's attributes differ from {@code wanted}: one line per attribute. */
    private static List<String> differences(SqsClient sqs, String url, Map<String, String> wanted) {
        Map<String, String> actual = sqs.getQueueAttributes(r -> r.queueUrl(url).attributeNamesWithStrings("All"))
                .attributesAsStrings();
        List<String> differences = new ArrayList<>();
        wanted.forEach((name, value) -> {
            String current = actual.get(name);
            if (current == null && !name.equals(QueueAttributeName.REDRIVE_POLICY.toString())) {
                return; // a backend that does not report it (ElasticMQ: retention, encryption) cannot be compared
            }
            boolean same = current != null && (name.equals(QueueAttributeName.REDRIVE_POLICY.toString())
                    ? sameRedrivePolicy(current, value) : current.equals(value));
            if (!same) {
                differences.add(name + " is " + (current == null ? "not set" : current) + " (the template says "
                        + value + ")");
            }
        });
        return differences;
    }

    private static boolean sameRedrivePolicy(String a, String b) {
        JsonNode left = Json.parse(a);
        JsonNode right = Json.parse(b);
        return left.path("deadLetterTargetArn").asText().equals(right.path("deadLetterTargetArn").asText())
                && left.path("maxReceiveCount").asInt() == right.path("maxReceiveCount").asInt();
    }

    private TableDescription createTable(SamTemplate.Table table, DynamoDbClient dynamoDb) {
        TableDescription description;
        try {
            description = dynamoDb.describeTable(r -> r.tableName(table.name())).table();
            List<KeySchemaElement> key = description.keySchema();
            if (key.size() != 1 || !key.get(0).attributeName().equals(table.hashKeyName())) {
                throw new TemplateException("table " + table.name() + " exists with key " + key + ", but the template"
                        + " declares a single hash key " + table.hashKeyName() + "; delete the table or fix the template");
            }
        } catch (ResourceNotFoundException e) {
            createdTables.add(table.name());
            dynamoDb.createTable(r -> {
                r.tableName(table.name())
                        .billingMode(BillingMode.PAY_PER_REQUEST)
                        .attributeDefinitions(table.attributeTypes().entrySet().stream().map(attribute ->
                                AttributeDefinition.builder().attributeName(attribute.getKey())
                                        .attributeType(attribute.getValue()).build()).toList())
                        .keySchema(KeySchemaElement.builder()
                                .attributeName(table.hashKeyName()).keyType(KeyType.HASH).build())
                        .streamSpecification(table.streamViewType().map(view -> StreamSpecification.builder()
                                .streamEnabled(true).streamViewType(view).build()).orElse(null));
                if (!table.globalIndexes().isEmpty()) {
                    r.globalSecondaryIndexes(table.globalIndexes().stream().map(LocalResources::globalIndex).toList());
                }
            });
            try (var waiter = dynamoDb.waiter()) {
                description = waiter.waitUntilTableExists(r -> r.tableName(table.name())).matched().response()
                        .orElseThrow(() -> new IllegalStateException("table " + table.name() + " did not become"
                                + " active"))
                        .table();
            }
            LOG.debug("created table {}", table.name());
        }
        boolean created = createdTables.contains(table.name());
        if (!created) {
            description = indexes(table, description, dynamoDb);
        }
        table.timeToLiveAttribute().ifPresent(attribute -> enableTimeToLive(table.name(), attribute, dynamoDb,
                created || reconcile));
        if (table.streamViewType().isPresent() && !table.streamViewType().get().equals(streamViewType(description))) {
            description = enableStream(table, description, dynamoDb, created || reconcile);
        }
        return description;
    }

    private static GlobalSecondaryIndex globalIndex(SamTemplate.GlobalIndex index) {
        List<KeySchemaElement> key = new ArrayList<>(List.of(KeySchemaElement.builder().attributeName(index.hashKey())
                .keyType(KeyType.HASH).build()));
        if (index.rangeKey() != null) {
            key.add(KeySchemaElement.builder().attributeName(index.rangeKey()).keyType(KeyType.RANGE).build());
        }
        Projection.Builder projection = Projection.builder().projectionType(index.projectionType());
        if (!index.nonKeyAttributes().isEmpty()) {
            projection.nonKeyAttributes(index.nonKeyAttributes());
        }
        return GlobalSecondaryIndex.builder().indexName(index.name()).keySchema(key).projection(projection.build())
                .build();
    }

    /** An index of an existing table as {@link SamTemplate.GlobalIndex}, to compare with the template's. */
    private static SamTemplate.GlobalIndex described(GlobalSecondaryIndexDescription index) {
        String hash = null;
        String range = null;
        for (KeySchemaElement key : index.keySchema()) {
            if (key.keyType() == KeyType.HASH) {
                hash = key.attributeName();
            } else {
                range = key.attributeName();
            }
        }
        Projection projection = index.projection();
        return new SamTemplate.GlobalIndex(index.indexName(), hash, range, projection.projectionTypeAsString(),
                projection.hasNonKeyAttributes() ? projection.nonKeyAttributes() : List.of());
    }

    /**
     * An existing table's indexes against the template's. One the table lacks is a difference, as
     * a queue attribute is: reported, or (reconciling) created, one at a time as DynamoDB requires,
     * each waited for. One that exists with other keys or another projection cannot be changed in
     * place and always stops the start. Indexes the template does not declare are left alone.
     */
    private TableDescription indexes(SamTemplate.Table table, TableDescription description, DynamoDbClient dynamoDb) {
        Map<String, SamTemplate.GlobalIndex> existing = new LinkedHashMap<>();
        if (description.hasGlobalSecondaryIndexes()) {
            description.globalSecondaryIndexes().forEach(index -> existing.put(index.indexName(), described(index)));
        }
        List<SamTemplate.GlobalIndex> missing = new ArrayList<>();
        List<String> differences = new ArrayList<>();
        for (SamTemplate.GlobalIndex wanted : table.globalIndexes()) {
            SamTemplate.GlobalIndex found = existing.get(wanted.name());
            if (found == null) {
                missing.add(wanted);
                differences.add("it has no index " + wanted.name() + " (the template declares " + wanted + ")");
            } else if (!found.sameAs(wanted)) {
                throw new TemplateException("table " + table.name() + " has index " + found + ", but the template"
                        + " declares " + wanted + ". DynamoDB cannot change an index in place: delete the index (it is"
                        + " derived from the records, which stay) and start again with FERRY_RECONCILE=true");
            }
        }
        if (missing.isEmpty()) {
            return description;
        }
        if (!reconcile) {
            throw new TemplateException("table " + table.name() + " exists with settings other than the template's: "
                    + String.join("; ", differences) + ". Ferry never changes a resource it did not create: choose"
                    + " another stack name, or ask to reconcile (FERRY_RECONCILE=true), which adds the missing"
                    + " indexes (DynamoDB fills each from the records)");
        }
        for (SamTemplate.GlobalIndex index : missing) {
            LOG.warn("table {}: adding index {} as the template declares it", table.name(), index);
            dynamoDb.updateTable(r -> r.tableName(table.name())
                    .attributeDefinitions(table.attributeTypes().entrySet().stream().map(attribute ->
                            AttributeDefinition.builder().attributeName(attribute.getKey())
                                    .attributeType(attribute.getValue()).build()).toList())
                    .globalSecondaryIndexUpdates(GlobalSecondaryIndexUpdate.builder()
                            .create(CreateGlobalSecondaryIndexAction.builder().indexName(index.name())
                                    .keySchema(globalIndex(index).keySchema()).projection(globalIndex(index).projection())
                                    .build())
                            .build()));
            description = awaitIndex(table.name(), index.name(), dynamoDb);
        }
        return description;
    }

    /** How long an index being added may take to fill before the start gives up. */
    private static final Duration INDEX_CREATION = Duration.ofMinutes(15);

    private static TableDescription awaitIndex(String tableName, String indexName, DynamoDbClient dynamoDb) {
        long deadline = System.nanoTime() + INDEX_CREATION.toNanos();
        while (true) {
            TableDescription description = dynamoDb.describeTable(r -> r.tableName(tableName)).table();
            boolean active = description.hasGlobalSecondaryIndexes() && description.globalSecondaryIndexes().stream()
                    .anyMatch(index -> index.indexName().equals(indexName)
                            && index.indexStatus() == IndexStatus.ACTIVE);
            if (active && description.tableStatus() == TableStatus.ACTIVE) {
                return description;
            }
            if (System.nanoTime() > deadline) {
                throw new TemplateException("table " + tableName + ": index " + indexName + " did not become active"
                        + " within " + INDEX_CREATION + "; it may still be filling: start again later");
            }
            try {
                Thread.sleep(1_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while index " + indexName + " was being created", e);
            }
        }
    }

    private static String streamViewType(TableDescription description) {
        return description.streamSpecification() != null && Boolean.TRUE.equals(
                description.streamSpecification().streamEnabled()) ? description.streamSpecification()
                .streamViewTypeAsString() : null;
    }

    /** Turns on the stream the template declares on a table that exists without it. */
    private static TableDescription enableStream(SamTemplate.Table table, TableDescription description,
                                                 DynamoDbClient dynamoDb, boolean mayChange) {
        String wanted = table.streamViewType().orElseThrow();
        String current = streamViewType(description);
        if (current != null) {
            throw new TemplateException("table " + table.name() + " has a stream of " + current + ", but the template"
                    + " says " + wanted + "; DynamoDB cannot switch it without disabling it first");
        }
        if (!mayChange) {
            throw new TemplateException("table " + table.name() + " exists without the stream the template declares ("
                    + wanted + ": webhooks are read from it). Ferry never changes a resource it did not create: choose"
                    + " another stack name, or ask to reconcile (FERRY_RECONCILE=true)");
        }
        dynamoDb.updateTable(r -> r.tableName(table.name()).streamSpecification(StreamSpecification.builder()
                .streamEnabled(true).streamViewType(wanted).build()));
        return dynamoDb.describeTable(r -> r.tableName(table.name())).table();
    }

    private static void enableTimeToLive(String tableName, String attribute, DynamoDbClient dynamoDb,
                                         boolean mayChange) {
        TimeToLiveDescription current = dynamoDb.describeTimeToLive(r -> r.tableName(tableName))
                .timeToLiveDescription();
        boolean enabled = current.timeToLiveStatus() == TimeToLiveStatus.ENABLED
                || current.timeToLiveStatus() == TimeToLiveStatus.ENABLING;
        if (enabled && attribute.equals(current.attributeName())) {
            return;
        }
        if (enabled) {
            throw new TemplateException("table " + tableName + " has TTL on " + current.attributeName()
                    + ", but the template says " + attribute + "; DynamoDB cannot switch it without disabling it first");
        }
        if (!mayChange) {
            throw new TemplateException("table " + tableName + " exists without TTL on " + attribute + ", which the"
                    + " template declares (only finished jobs carry it, so without TTL they are never removed). Ferry"
                    + " never changes a resource it did not create: choose another stack name, or ask to reconcile"
                    + " (FERRY_RECONCILE=true)");
        }
        dynamoDb.updateTimeToLive(r -> r.tableName(tableName)
                .timeToLiveSpecification(s -> s.attributeName(attribute).enabled(true)));
    }

    private void createBucket(SamTemplate.Bucket bucket, S3Client s3) {
        String name = bucket.name();
        if (!exists(name, s3)) {
            String region = template.pseudoParameters().region();
            // S3 wants no location constraint in us-east-1, and the region's everywhere else.
            s3.createBucket(r -> {
                r.bucket(name);
                if (!region.equals("us-east-1")) {
                    r.createBucketConfiguration(c -> c.locationConstraint(region));
                }
            });
            createdBuckets.add(name);
            LOG.debug("created bucket {}", name);
            if (!bucket.lifecycleRules().isEmpty()) {
                putLifecycle(bucket, s3);
            }
            return;
        }
        Optional<List<String>> current = lifecycleRules(name, s3);
        List<String> wanted = bucket.lifecycleRules().stream().map(SamTemplate.LifecycleRule::toString).sorted().toList();
        if (current.isEmpty() || current.get().equals(wanted)) {
            return; // the same rules, or a backend that keeps none and so cannot differ
        }
        String difference = "lifecycle rules are " + (current.get().isEmpty() ? "none" : current.get())
                + " (the template says " + (wanted.isEmpty() ? "none" : wanted) + ")";
        if (!reconcile) {
            throw new TemplateException("bucket " + name + " exists with settings other than the template's: "
                    + difference + ". Ferry never changes a resource it did not create: choose another stack name,"
                    + " delete the bucket, or ask to reconcile (FERRY_RECONCILE=true)");
        }
        LOG.warn("bucket {}: bringing it to the template's settings ({})", name, difference);
        if (bucket.lifecycleRules().isEmpty()) {
            s3.deleteBucketLifecycle(r -> r.bucket(name));
        } else {
            putLifecycle(bucket, s3);
        }
    }

    /** Whether the bucket exists and this account may use it. */
    private static boolean exists(String name, S3Client s3) {
        try {
            s3.headBucket(r -> r.bucket(name));
            return true;
        } catch (NoSuchBucketException e) {
            return false;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return false;
            }
            if (e.statusCode() == 403) {
                throw new TemplateException("bucket " + name + " exists, but these credentials may not use it (bucket"
                        + " names are global: another account may own it); choose another stack name", e);
            }
            throw e;
        }
    }

    private static void putLifecycle(SamTemplate.Bucket bucket, S3Client s3) {
        List<LifecycleRule> rules = bucket.lifecycleRules().stream().map(rule -> {
            LifecycleRule.Builder built = LifecycleRule.builder()
                    .id(rule.id())
                    .status(rule.enabled() ? ExpirationStatus.ENABLED : ExpirationStatus.DISABLED)
                    .filter(f -> f.prefix(rule.prefix()));
            rule.expirationDays().ifPresent(days -> built.expiration(e -> e.days(days)));
            rule.abortIncompleteMultipartUploadDays().ifPresent(days -> built.abortIncompleteMultipartUpload(
                    a -> a.daysAfterInitiation(days)));
            return built.build();
        }).toList();
        try {
            s3.putBucketLifecycleConfiguration(r -> r.bucket(bucket.name()).lifecycleConfiguration(c -> c.rules(rules)));
        } catch (S3Exception e) {
            if (e.statusCode() != NOT_IMPLEMENTED) {
                throw e;
            }
            LOG.debug("bucket {}: the backend keeps no lifecycle rules, so its objects stay until it stops ({})",
                    bucket.name(), e.getMessage());
        }
    }

    /**
     * The bucket's lifecycle rules as {@link SamTemplate.LifecycleRule#toString()} writes them,
     * sorted; empty when the backend keeps none. A rule with more than the template can say
     * (transitions, tags, sizes, versions) is written so that it differs.
     */
    private static Optional<List<String>> lifecycleRules(String name, S3Client s3) {
        List<LifecycleRule> rules;
        try {
            rules = s3.getBucketLifecycleConfiguration(r -> r.bucket(name)).rules();
        } catch (S3Exception e) {
            if (e.statusCode() == NOT_IMPLEMENTED) {
                return Optional.empty();
            }
            if (e.statusCode() == 404) { // NoSuchLifecycleConfiguration
                return Optional.of(List.of());
            }
            throw e;
        }
        List<String> described = new ArrayList<>();
        for (LifecycleRule rule : rules) {
            String prefix = rule.filter() != null && rule.filter().prefix() != null ? rule.filter().prefix()
                    : rule.prefix() != null ? rule.prefix() : "";
            Integer days = rule.expiration() != null ? rule.expiration().days() : null;
            Integer abort = rule.abortIncompleteMultipartUpload() != null
                    ? rule.abortIncompleteMultipartUpload().daysAfterInitiation() : null;
            String text = new SamTemplate.LifecycleRule(String.valueOf(rule.id()),
                    rule.status() == ExpirationStatus.ENABLED, prefix, days, abort).toString();
            boolean more = rule.hasTransitions() && !rule.transitions().isEmpty()
                    || rule.hasNoncurrentVersionTransitions() && !rule.noncurrentVersionTransitions().isEmpty()
                    || rule.noncurrentVersionExpiration() != null
                    || rule.expiration() != null && (rule.expiration().date() != null
                            || Boolean.TRUE.equals(rule.expiration().expiredObjectDeleteMarker()))
                    || rule.filter() != null && (rule.filter().tag() != null || rule.filter().and() != null
                            || rule.filter().objectSizeGreaterThan() != null || rule.filter().objectSizeLessThan() != null);
            described.add(more ? text + " and more" : text);
        }
        Collections.sort(described);
        return Optional.of(described);
    }

    /** Deletes every object of the bucket (it has no versions: Ferry's buckets are not versioned). */
    private static void empty(String name, S3Client s3) {
        for (var page : s3.listObjectsV2Paginator(r -> r.bucket(name))) {
            for (var object : page.contents()) {
                s3.deleteObject(r -> r.bucket(name).key(object.key()));
            }
        }
    }
}
