package dev.ferry.core;

import java.net.URI;
import java.time.Duration;
import java.util.Optional;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.client.builder.AwsClientBuilder;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * Builds the SDK clients from the environment: region, endpoint overrides
 * ({@code AWS_ENDPOINT_URL_SQS}, {@code AWS_ENDPOINT_URL_DYNAMODB}, the SDK's own names) and
 * credentials. Build one of each per process and reuse it.
 *
 * <p>Every client uses the URL-connection HTTP client (small, starts fast in Lambda) and bounded
 * timeouts. A long poll overrides the call timeout on its own request.
 */
public final class AwsClients {

    /** Upper bound for one API call, retries included. */
    public static final Duration DEFAULT_API_CALL_TIMEOUT = Duration.ofSeconds(10);
    /** Upper bound for one attempt of an API call. */
    public static final Duration DEFAULT_API_CALL_ATTEMPT_TIMEOUT = Duration.ofSeconds(4);
    /** Socket read timeout: above the 20 s SQS long poll. */
    public static final Duration SOCKET_TIMEOUT = Duration.ofSeconds(30);
    public static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);

    private AwsClients() {
    }

    public static SqsClient sqs(FerryEnv env) {
        return configure(SqsClient.builder(), env, FerryEnv.AWS_ENDPOINT_URL_SQS).build();
    }

    public static DynamoDbClient dynamoDb(FerryEnv env) {
        return configure(DynamoDbClient.builder(), env, FerryEnv.AWS_ENDPOINT_URL_DYNAMODB).build();
    }

    /**
     * An S3 client; path-style addressing where an endpoint is given (S3Proxy, moto and the like
     * serve buckets as paths, not host names). It moves files of any size, so no call or attempt
     * has an upper bound on its length: a transfer that stalls fails on the socket timeout
     * instead (no byte for {@link #SOCKET_TIMEOUT}). {@code AWS_REQUEST_CHECKSUM_CALCULATION}, the
     * SDK's own setting, is read from {@code env} too ({@code WHEN_REQUIRED}: the local stack's
     * S3Proxy cannot read an upload with a trailing checksum, the SDK's default over plain HTTP).
     */
    public static S3Client s3(FerryEnv env) {
        S3ClientBuilder builder = configure(S3Client.builder(), env, FerryEnv.AWS_ENDPOINT_URL_S3, false)
                .forcePathStyle(env.optional(FerryEnv.AWS_ENDPOINT_URL_S3).isPresent());
        env.optional(FerryEnv.AWS_REQUEST_CHECKSUM_CALCULATION).ifPresent(value -> builder.requestChecksumCalculation(
                requestChecksumCalculation(value)));
        return builder.build();
    }

    private static RequestChecksumCalculation requestChecksumCalculation(String value) {
        for (RequestChecksumCalculation known : RequestChecksumCalculation.values()) {
            if (known.name().equalsIgnoreCase(value)) {
                return known;
            }
        }
        throw new IllegalStateException("environment variable " + FerryEnv.AWS_REQUEST_CHECKSUM_CALCULATION
                + " must be WHEN_SUPPORTED or WHEN_REQUIRED, but is '" + value + "'");
    }

    /** The presigner that goes with {@link #s3}: the same region, endpoint, credentials and addressing. */
    public static S3Presigner s3Presigner(FerryEnv env) {
        S3Presigner.Builder builder = S3Presigner.builder()
                .credentialsProvider(credentials(env))
                .serviceConfiguration(S3Configuration.builder()
                        .pathStyleAccessEnabled(env.optional(FerryEnv.AWS_ENDPOINT_URL_S3).isPresent()).build());
        env.optional(FerryEnv.AWS_REGION).ifPresent(region -> builder.region(Region.of(region)));
        env.optional(FerryEnv.AWS_ENDPOINT_URL_S3).ifPresent(endpoint -> builder.endpointOverride(URI.create(endpoint)));
        return builder.build();
    }

    /**
     * Region, endpoint override from {@code endpointVariable}, credentials, timeouts, the
     * URL-connection HTTP client and the error labelling of {@link AwsErrors.OperationNames}: what
     * every Ferry client gets, whichever service it is for.
     */
    public static <B extends AwsClientBuilder<B, ?>> B configure(B builder, FerryEnv env, String endpointVariable) {
        return configure(builder, env, endpointVariable, true);
    }

    private static <B extends AwsClientBuilder<B, ?>> B configure(B builder, FerryEnv env, String endpointVariable,
                                                                  boolean boundedCalls) {
        env.optional(FerryEnv.AWS_REGION).ifPresent(region -> builder.region(Region.of(region)));
        env.optional(endpointVariable).ifPresent(endpoint -> builder.endpointOverride(URI.create(endpoint)));
        builder.credentialsProvider(credentials(env));
        ClientOverrideConfiguration.Builder override = ClientOverrideConfiguration.builder()
                .addExecutionInterceptor(new AwsErrors.OperationNames());
        if (boundedCalls) {
            override.apiCallTimeout(DEFAULT_API_CALL_TIMEOUT).apiCallAttemptTimeout(DEFAULT_API_CALL_ATTEMPT_TIMEOUT);
        }
        builder.overrideConfiguration(override.build());
        if (builder instanceof software.amazon.awssdk.core.client.builder.SdkSyncClientBuilder<?, ?> sync) {
            sync.httpClient(httpClient());
        }
        return builder;
    }

    private static SdkHttpClient httpClient() {
        return UrlConnectionHttpClient.builder()
                .connectionTimeout(CONNECT_TIMEOUT)
                .socketTimeout(SOCKET_TIMEOUT)
                .build();
    }

    /**
     * Keys given in the environment map win (Lambda sets them; so does the local stack, which
     * cannot change the JVM's real environment); otherwise the SDK's default chain, which finds an
     * EC2 instance profile.
     */
    static AwsCredentialsProvider credentials(FerryEnv env) {
        Optional<String> keyId = env.optional(FerryEnv.AWS_ACCESS_KEY_ID);
        Optional<String> secret = env.optional(FerryEnv.AWS_SECRET_ACCESS_KEY);
        if (keyId.isEmpty() || secret.isEmpty()) {
            return DefaultCredentialsProvider.builder().build();
        }
        Optional<String> token = env.optional(FerryEnv.AWS_SESSION_TOKEN);
        return StaticCredentialsProvider.create(token.isPresent()
                ? AwsSessionCredentials.create(keyId.get(), secret.get(), token.get())
                : AwsBasicCredentials.create(keyId.get(), secret.get()));
    }
}
