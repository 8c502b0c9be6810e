package dev.ferry.backends;

import dev.ferry.core.AwsClients;
import dev.ferry.core.FerryEnv;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * Deletes every queue and table whose name starts with a test run's prefix, on the backend the
 * environment names (the SDK's own variables: {@code AWS_REGION}, {@code AWS_ENDPOINT_URL_*},
 * credentials). Each stack a run starts deletes what it created when it closes; this sweep,
 * run by {@code scripts/test-backends.sh} after a run on AWS, catches what a test that failed
 * or a JVM that died left behind.
 *
 * <pre>{@code java -cp <classpath> dev.ferry.backends.Sweep ferry-r1a2b3c4d}</pre>
 *
 * <p>Prints one line per deleted resource, then a summary; exits non-zero if a deletion failed.
 */
public final class Sweep {

    /**
     * A run's prefix: long enough never to be a name someone chose by hand ({@code ferry} alone
     * would match every stack with the default name).
     */
    static final Pattern RUN_PREFIX = Pattern.compile("[A-Za-z][A-Za-z0-9-]{7,50}");

    private Sweep() {
    }

    public static void main(String[] args) {
        if (args.length != 1 || !RUN_PREFIX.matcher(args[0]).matches()) {
            System.err.println("usage: Sweep <run prefix: a letter, then 7 to 50 letters, digits and hyphens>");
            System.exit(2);
        }
        FerryEnv env = FerryEnv.system();
        try (SqsClient sqs = AwsClients.sqs(env); DynamoDbClient dynamoDb = AwsClients.dynamoDb(env)) {
            Result result = sweep(args[0], sqs, dynamoDb);
            System.out.println("sweep " + args[0] + ": deleted " + result.deleted().size() + ", failed "
                    + result.failed().size());
            System.exit(result.failed().isEmpty() ? 0 : 1);
        }
    }

    /** What a sweep deleted and what it could not, one line each. */
    record Result(List<String> deleted, List<String> failed) {
    }

    static Result sweep(String prefix, SqsClient sqs, DynamoDbClient dynamoDb) {
        List<String> deleted = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        for (String url : sqs.listQueuesPaginator(r -> r.queueNamePrefix(prefix)).queueUrls()) {
            try {
                sqs.deleteQueue(r -> r.queueUrl(url));
                deleted.add("queue " + url);
                System.out.println("deleted queue " + url);
            } catch (RuntimeException e) {
                failed.add("queue " + url + ": " + e.getMessage());
                System.err.println("could not delete queue " + url + ": " + e.getMessage());
            }
        }
        for (String table : dynamoDb.listTablesPaginator().tableNames()) {
            if (!table.startsWith(prefix)) {
                continue;
            }
            try {
                dynamoDb.deleteTable(r -> r.tableName(table));
                deleted.add("table " + table);
                System.out.println("deleted table " + table);
            } catch (RuntimeException e) {
                failed.add("table " + table + ": " + e.getMessage());
                System.err.println("could not delete table " + table + ": " + e.getMessage());
            }
        }
        return new Result(List.copyOf(deleted), List.copyOf(failed));
    }
}
