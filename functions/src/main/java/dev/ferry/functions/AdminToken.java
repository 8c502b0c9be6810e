package dev.ferry.functions;

import dev.ferry.core.FerryEnv;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;

/**
 * The admin token and its check. In AWS the token is a generated Secrets Manager secret
 * ({@code FERRY_ADMIN_TOKEN_SECRET_ARN}), read once per container; locally it is
 * {@code FERRY_ADMIN_TOKEN}. The comparison takes the same time whatever the guess, and the token
 * never appears in a log line or an error. A rotated secret is picked up without a redeploy: a
 * rejected token makes it read the secret again, at most once every five minutes.
 */
public final class AdminToken {

    /** The token itself (local stack, tests). Wins over the secret. */
    public static final String TOKEN = "FERRY_ADMIN_TOKEN";
    /** ARN of the Secrets Manager secret that holds the token (AWS). */
    public static final String SECRET_ARN = "FERRY_ADMIN_TOKEN_SECRET_ARN";
    public static final int MIN_LENGTH = 16;

    /** How old the token read from the secret may be before a failed check reads it again. */
    static final Duration RELOAD_AFTER = Duration.ofMinutes(5);

    private final Supplier<String> source;
    private final Clock clock;
    private byte[] expectedDigest;
    private Instant loadedAt;

    AdminToken(String token) {
        this(() -> token, Clock.systemUTC(), false);
    }

    /**
     * @param source where the token comes from
     * @param reloadable whether a rejected token is worth asking the source again (a rotated
     *     secret), at most once per {@link #RELOAD_AFTER}
     */
    AdminToken(Supplier<String> source, Clock clock, boolean reloadable) {
        this.source = reloadable ? source : null;
        this.clock = clock;
        load(source.get());
    }

    private void load(String token) {
        Objects.requireNonNull(token, "token");
        if (token.strip().length() < MIN_LENGTH) {
            throw new IllegalStateException("the admin token must be at least " + MIN_LENGTH + " characters");
        }
        this.expectedDigest = sha256(token.strip());
        this.loadedAt = clock.instant();
    }

    /** From {@code FERRY_ADMIN_TOKEN}, else from the secret named by {@code FERRY_ADMIN_TOKEN_SECRET_ARN}. */
    static AdminToken fromEnvironment(FerryEnv env, Supplier<SecretsManagerClient> secrets) {
        Optional<String> token = env.optional(TOKEN);
        if (token.isPresent()) {
            return new AdminToken(token.get());
        }
        String arn = env.optional(SECRET_ARN).orElseThrow(() -> new IllegalStateException(
                "neither " + TOKEN + " nor " + SECRET_ARN + " is set: the admin API needs a token to check against"));
        SecretsManagerClient client = secrets.get();
        // Read at start (and kept in a SnapStart snapshot); read again when a rotated secret
        // makes a check fail, so rotating it needs no redeploy.
        return new AdminToken(() -> client.getSecretValue(r -> r.secretId(arn)).secretString(), Clock.systemUTC(), true);
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
        byte[] offered = sha256(value.substring(7).strip());
        if (MessageDigest.isEqual(currentDigest(), offered)) {
            return true;
        }
        return reloadIfStale() && MessageDigest.isEqual(currentDigest(), offered);
    }

    private synchronized byte[] currentDigest() {
        return expectedDigest;
    }

    /** Reads the secret again if the copy is older than {@link #RELOAD_AFTER}; true if it did. */
    private synchronized boolean reloadIfStale() {
        if (source == null || Duration.between(loadedAt, clock.instant()).compareTo(RELOAD_AFTER) < 0) {
            return false;
        }
        try {
            load(source.get());
            return true;
        } catch (RuntimeException e) {
            loadedAt = clock.instant(); // keep the old token; try again after RELOAD_AFTER
            return false;
        }
    }

    private static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
