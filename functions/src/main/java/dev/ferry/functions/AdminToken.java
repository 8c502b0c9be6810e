package dev.ferry.functions;

import dev.ferry.core.FerryEnv;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;

/**
 * The admin token and its check. In AWS the token is a generated Secrets Manager secret
 * ({@code FERRY_ADMIN_TOKEN_SECRET_ARN}), read once per container; locally it is
 * {@code FERRY_ADMIN_TOKEN}. The comparison takes the same time whatever the guess, and the token
 * never appears in a log line or an error.
 */
public final class AdminToken {

    /** The token itself (local stack, tests). Wins over the secret. */
    public static final String TOKEN = "FERRY_ADMIN_TOKEN";
    /** ARN of the Secrets Manager secret that holds the token (AWS). */
    public static final String SECRET_ARN = "FERRY_ADMIN_TOKEN_SECRET_ARN";
    public static final int MIN_LENGTH = 16;

    private final byte[] expectedDigest;

    AdminToken(String token) {
        Objects.requireNonNull(token, "token");
        if (token.strip().length() < MIN_LENGTH) {
            throw new IllegalStateException("the admin token must be at least " + MIN_LENGTH + " characters");
        }
        this.expectedDigest = sha256(token.strip());
    }

    /** From {@code FERRY_ADMIN_TOKEN}, else from the secret named by {@code FERRY_ADMIN_TOKEN_SECRET_ARN}. */
    static AdminToken fromEnvironment(FerryEnv env, Supplier<SecretsManagerClient> secrets) {
        Optional<String> token = env.optional(TOKEN);
        if (token.isPresent()) {
            return new AdminToken(token.get());
        }
        String arn = env.optional(SECRET_ARN).orElseThrow(() -> new IllegalStateException(
                "neither " + TOKEN + " nor " + SECRET_ARN + " is set: the admin API needs a token to check against"));
        try (SecretsManagerClient client = secrets.get()) {
            return new AdminToken(client.getSecretValue(r -> r.secretId(arn)).secretString());
        }
    }

    /**
     * True if the request's {@code Authorization} header is {@code Bearer <the token>}. Both sides
     * are hashed first, so the comparison's time depends on neither the token's length nor how
     * much of a guess matches.
     */
    boolean accepts(String authorizationHeader) {
        if (authorizationHeader == null) {
            return false;
        }
        String value = authorizationHeader.strip();
        if (value.length() < 7 || !value.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        return MessageDigest.isEqual(expectedDigest, sha256(value.substring(7).strip()));
    }

    private static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
