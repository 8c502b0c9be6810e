package dev.ferry.local;

import dev.ferry.core.FerryEnv;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Where the local stack's queues, table and bucket live, and so what its functions and workers talk
 * to.
 *
 * <ul>
 *   <li>{@link #embedded()}: ElasticMQ, DynamoDB Local and S3Proxy, started in this JVM (the
 *       default).</li>
 *   <li>{@link #external}: any implementation of the same APIs, by its endpoints: moto,
 *       LocalStack, Floci, or a real AWS account (no endpoints: the SDK's own). Nothing is
 *       embedded; credentials come from the SDK's default chain, the account id from the backend
 *       itself.</li>
 * </ul>
 *
 * <p>Chosen by configuration, the same way for the local stack, {@code scripts/run-local.sh} and
 * the test suite: {@value #VARIABLE} = {@code embedded} (default) or {@code external}, with the
 * SDK's own variables for the rest ({@code AWS_REGION}, {@code AWS_ENDPOINT_URL},
 * {@code AWS_ENDPOINT_URL_SQS}, {@code AWS_ENDPOINT_URL_DYNAMODB}, {@code AWS_ENDPOINT_URL_S3},
 * {@code AWS_ENDPOINT_URL_STS}, credentials or {@code AWS_PROFILE}).
 */
public sealed interface Backend {

    /** Chooses the backend: {@code embedded} or {@code external}. */
    String VARIABLE = "FERRY_BACKEND";
    /** The SDK's name for an endpoint every service uses unless it has its own. */
    String ENDPOINT_URL = "AWS_ENDPOINT_URL";
    /** The SDK's name for STS's endpoint (the account id comes from it). */
    String ENDPOINT_URL_STS = "AWS_ENDPOINT_URL_STS";

    /** ElasticMQ, DynamoDB Local and S3Proxy in this JVM. */
    static Backend embedded() {
        return new Embedded();
    }

    /**
     * Existing endpoints.
     *
     * @param region the region of the clients and ARNs
     * @param endpoints by the SDK's variable name ({@code AWS_ENDPOINT_URL_SQS}, ...); a service
     *     without one uses {@value #ENDPOINT_URL} if given, else the SDK's own (real AWS)
     */
    static Backend external(String region, Map<String, URI> endpoints) {
        return new External(region, endpoints);
    }

    /**
     * The backend {@code environment} asks for.
     *
     * @throws IllegalStateException an unknown {@value #VARIABLE}, an external backend without
     *     {@code AWS_REGION}, or an endpoint that is not a URL; the message names the variable
     */
    static Backend fromEnvironment(Map<String, String> environment) {
        FerryEnv env = FerryEnv.of(environment);
        String kind = env.optional(VARIABLE).orElse("embedded").toLowerCase(Locale.ROOT);
        switch (kind) {
            case "embedded":
                return embedded();
            case "external": {
                String region = env.optional(FerryEnv.AWS_REGION).or(() -> env.optional("AWS_DEFAULT_REGION"))
                        .orElseThrow(() -> new IllegalStateException(VARIABLE + "=external needs AWS_REGION (the"
                                + " region of the queues and table to use)"));
                Map<String, URI> endpoints = new LinkedHashMap<>();
                for (String variable : new String[] {ENDPOINT_URL, FerryEnv.AWS_ENDPOINT_URL_SQS,
                        FerryEnv.AWS_ENDPOINT_URL_DYNAMODB, FerryEnv.AWS_ENDPOINT_URL_S3, ENDPOINT_URL_STS}) {
                    env.optional(variable).ifPresent(value -> endpoints.put(variable, url(variable, value)));
                }
                return external(region, endpoints);
            }
            default:
                throw new IllegalStateException(VARIABLE + " must be embedded or external, but is '"
                        + env.optional(VARIABLE).orElse("") + "'");
        }
    }

    private static URI url(String variable, String value) {
        try {
            URI uri = new URI(value);
            if (uri.getScheme() == null || uri.getHost() == null) {
                throw new URISyntaxException(value, "not an absolute URL");
            }
            return uri;
        } catch (URISyntaxException e) {
            throw new IllegalStateException(variable + " must be a URL such as http://localhost:5000, but is '"
                    + value + "'", e);
        }
    }

    /** A short name for logs and the banner: {@code embedded}, {@code external (http://...)}. */
    String describe();

    /** ElasticMQ, DynamoDB Local and S3Proxy in this JVM. */
    record Embedded() implements Backend {
        @Override
        public String describe() {
            return "embedded (ElasticMQ, DynamoDB Local and S3Proxy in this JVM)";
        }
    }

    /** Existing endpoints; see {@link Backend#external}. */
    record External(String region, Map<String, URI> endpoints) implements Backend {
        public External {
            Objects.requireNonNull(region, "region");
            endpoints = Map.copyOf(endpoints);
        }

        /** The endpoint of one service's variable: its own, else {@value Backend#ENDPOINT_URL}, else none (AWS). */
        public Optional<URI> endpoint(String variable) {
            return Optional.ofNullable(endpoints.get(variable)).or(() -> Optional.ofNullable(endpoints.get(ENDPOINT_URL)));
        }

        @Override
        public String describe() {
            return endpoints.isEmpty() ? "external: AWS, region " + region
                    : "external: " + endpoints.values().stream().distinct().toList() + ", region " + region;
        }
    }
}
