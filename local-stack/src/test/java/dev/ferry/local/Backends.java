package dev.ferry.local;

import dev.ferry.core.AwsClients;
import dev.ferry.core.FerryEnv;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Assumptions;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.dynamodb.streams.DynamoDbStreamsClient;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

/**
 * What the backend this suite runs on ({@link Backend}, chosen by {@value Backend#VARIABLE}) can
 * do, decided by its kind or by asking it, and the skips that follow. A test that needs what the
 * backend lacks is skipped (a JUnit assumption) with a message that names the backend and the
 * missing operation, never passed without having run. Every such decision is made here.
 *
 * <p>{@code scripts/test-backends.sh} names the backend ({@value #NAME}: {@code moto},
 * {@code localstack}, ...) so that skip messages say which one it was.
 */
final class Backends {

    /** The backend's name for messages, set by {@code scripts/test-backends.sh}. */
    static final String NAME = "FERRY_TEST_BACKEND";
    /** Error codes with which a backend says it has no such operation. */
    private static final Set<String> UNSUPPORTED_CODES = Set.of("UnsupportedOperation", "InvalidAction",
            "NotImplemented", "UnknownOperationException");
    /** The JVM's variables the SDK's default credential chain reads. */
    private static final List<String> CREDENTIAL_VARIABLES = List.of(FerryEnv.AWS_ACCESS_KEY_ID,
            FerryEnv.AWS_SECRET_ACCESS_KEY, FerryEnv.AWS_SESSION_TOKEN, "AWS_PROFILE", "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN", "HOME");
    /** Answers of the probes, per operation and endpoint: each is asked once per JVM. */
    private static final Map<String, Optional<String>> PROBED = new ConcurrentHashMap<>();

    private Backends() {
    }

    /** The backend the suite runs on: what {@link LocalStack.Options#builder()} picks too. */
    static Backend current() {
        return Backend.fromEnvironment(System.getenv());
    }

    /** {@code moto}, {@code localstack}, ... as the script names it, else the backend's description. */
    static String name() {
        String named = System.getenv(NAME);
        return named != null && !named.isBlank() ? named : current().describe();
    }

    static boolean embedded() {
        return current() instanceof Backend.Embedded;
    }

    /**
     * Skips unless the suite runs on the embedded emulators: for tests about ElasticMQ and DynamoDB
     * Local themselves (their ports, their native library, how they differ from AWS).
     */
    static void assumeEmbedded(String what) {
        Assumptions.assumeTrue(embedded(), () -> what + " is about the embedded emulators (ElasticMQ, DynamoDB"
                + " Local), which this run on " + name() + " does not start");
    }

    /**
     * Skips on {@code backend} (as {@value #NAME} names it), which is known to lack {@code what}:
     * for what no request can ask about, such as an attribute a backend leaves out of its answers.
     * Elsewhere the test runs, and fails if the backend lacks it too.
     */
    static void assumeNotKnownToLack(String backend, String what) {
        Assumptions.assumeFalse(backend.equals(System.getenv(NAME)), () -> backend + " lacks " + what);
    }

    /**
     * Skips unless SQS and DynamoDB are reached over plain HTTP endpoints: the fault proxy
     * ({@code HttpFaultProxy}) forwards HTTP/1.1 and cannot stand in front of an HTTPS endpoint
     * (AWS itself). Decided from the configuration alone, so a test can ask before its stack starts.
     */
    static void assumePlainHttpEndpoints() {
        if (!(current() instanceof Backend.External external)) {
            return;
        }
        for (String variable : List.of(FerryEnv.AWS_ENDPOINT_URL_SQS, FerryEnv.AWS_ENDPOINT_URL_DYNAMODB)) {
            Optional<String> endpoint = external.endpoint(variable).map(Object::toString);
            Assumptions.assumeTrue(endpoint.isPresent() && endpoint.get().startsWith("http://"), () -> "the fault"
                    + " proxy forwards plain HTTP, and " + name() + " serves " + variable + " at "
                    + endpoint.orElse("the SDK's own HTTPS endpoint"));
        }
    }

    /**
     * Skips unless the backend serves DynamoDB Streams ({@code ListStreams} answers): the
     * completion witness reads the job table's change stream.
     */
    static void assumeDynamoDbStreams(LocalStack stack) {
        Optional<String> missing = PROBED.computeIfAbsent("streams " + endpoint(stack, FerryEnv.AWS_ENDPOINT_URL_DYNAMODB),
                key -> {
                    try (DynamoDbStreamsClient streams = streams(stack)) {
                        streams.listStreams(r -> r.limit(1));
                        return Optional.empty();
                    } catch (SdkException e) {
                        return lacks("DynamoDB Streams (ListStreams)", e);
                    }
                });
        Assumptions.assumeTrue(missing.isEmpty(), () -> missing.orElseThrow());
    }

    /**
     * Skips unless the backend has SQS message move tasks ({@code ListMessageMoveTasks} on the
     * stack's dead-letter queue answers). Where it has none, Ferry's Redrive DLQ moves the
     * messages itself; only a test of the move task itself needs this.
     */
    static void assumeMessageMoveTasks(LocalStack stack) {
        Optional<String> missing = PROBED.computeIfAbsent("move tasks " + endpoint(stack, FerryEnv.AWS_ENDPOINT_URL_SQS),
                key -> {
                    try {
                        String arn = stack.sqs().getQueueAttributes(r -> r.queueUrl(stack.deadLetterQueueUrl())
                                .attributeNames(QueueAttributeName.QUEUE_ARN)).attributes().get(QueueAttributeName.QUEUE_ARN);
                        stack.sqs().listMessageMoveTasks(r -> r.sourceArn(arn));
                        return Optional.empty();
                    } catch (SdkException e) {
                        return lacks("SQS message move tasks (ListMessageMoveTasks)", e);
                    }
                });
        Assumptions.assumeTrue(missing.isEmpty(), () -> missing.orElseThrow());
    }

    /**
     * Why the backend lacks {@code operation}, if {@code e} says it does (an unsupported-operation
     * code, or a 5xx with no AWS error: moto's answer to an operation it does not implement);
     * anything else is a real failure and is thrown on.
     */
    private static Optional<String> lacks(String operation, SdkException e) {
        if (e instanceof AwsServiceException service) {
            String code = service.awsErrorDetails() == null ? null : service.awsErrorDetails().errorCode();
            boolean noCode = code == null || code.isBlank() || code.equals("Unknown");
            if ((code != null && UNSUPPORTED_CODES.contains(code)) || (service.statusCode() >= 500 && noCode)) {
                return Optional.of(name() + " has no " + operation + ": it answers " + service.statusCode()
                        + (noCode ? " with no AWS error code" : " " + code));
            }
        }
        throw e;
    }

    private static String endpoint(LocalStack stack, String variable) {
        return stack.environment().optional(variable).orElse("aws");
    }

    /** A DynamoDB Streams client on the stack's backend (DynamoDB's endpoint, where it has one). */
    static DynamoDbStreamsClient streams(LocalStack stack) {
        return AwsClients.configure(DynamoDbStreamsClient.builder(), stack.environment(),
                FerryEnv.AWS_ENDPOINT_URL_DYNAMODB).build();
    }

    /**
     * What a process started with a clean environment needs to authenticate as this JVM does: on
     * the embedded backend nothing (the stack's environment has its fixed credentials); on an
     * external one, the variables the SDK's default credential chain reads, as this JVM has them.
     * The stack's environment never carries those: it is also where job programs start from.
     */
    static Map<String, String> credentialEnvironment(LocalStack stack) {
        Map<String, String> env = new LinkedHashMap<>();
        if (stack.environment().optional(FerryEnv.AWS_ACCESS_KEY_ID).isPresent()) {
            return env;
        }
        for (String variable : CREDENTIAL_VARIABLES) {
            String value = System.getenv(variable);
            if (value != null) {
                env.put(variable, value);
            }
        }
        return env;
    }
}
