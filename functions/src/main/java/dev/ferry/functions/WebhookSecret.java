package dev.ferry.functions;

import dev.ferry.core.FerryEnv;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;

/**
 * The key deliveries are signed with, one per deployment. In AWS a generated Secrets Manager
 * secret ({@value #SECRET_ARN}), read when the function starts and again when the copy is over
 * {@link #RELOAD_AFTER} old, so a rotated secret signs within minutes without a deploy; locally
 * {@value #SECRET} (the local stack makes a random one, or takes yours). Never logged.
 */
final class WebhookSecret {

    private static final Logger LOG = LoggerFactory.getLogger(WebhookSecret.class);
    /** The secret itself (local stack, tests). Wins over the ARN. */
    static final String SECRET = WebhookSettings.SECRET;
    /** ARN of the Secrets Manager secret that holds it (AWS). */
    static final String SECRET_ARN = WebhookSettings.SECRET_ARN;
    static final int MIN_LENGTH = 16;
    static final Duration RELOAD_AFTER = Duration.ofMinutes(5);

    private final Supplier<String> source;
    private final Clock clock;
    private String value;
    private Instant loadedAt;

    WebhookSecret(Supplier<String> source, Clock clock) {
        this.source = Objects.requireNonNull(source, "source");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.value = check(source.get());
        this.loadedAt = clock.instant();
    }

    static WebhookSecret of(String secret) {
        return new WebhookSecret(() -> secret, Clock.systemUTC());
    }

    /** From {@value #SECRET}, else from the secret named by {@value #SECRET_ARN}. */
    static WebhookSecret fromEnvironment(FerryEnv env, Supplier<SecretsManagerClient> secrets) {
        Optional<String> secret = env.optional(SECRET);
        if (secret.isPresent()) {
            return of(secret.get());
        }
        String arn = env.optional(SECRET_ARN).orElseThrow(() -> new IllegalStateException("neither " + SECRET
                + " nor " + SECRET_ARN + " is set: webhooks need a secret to sign with"));
        SecretsManagerClient client = secrets.get();
        return new WebhookSecret(() -> client.getSecretValue(r -> r.secretId(arn)).secretString(), Clock.systemUTC());
    }

    private static String check(String secret) {
        Objects.requireNonNull(secret, "secret");
        if (secret.strip().length() < MIN_LENGTH) {
            throw new IllegalStateException("the webhook secret must be at least " + MIN_LENGTH + " characters");
        }
        return secret.strip();
    }

    /** The secret to sign with now. */
    synchronized String current() {
        if (Duration.between(loadedAt, clock.instant()).compareTo(RELOAD_AFTER) >= 0) {
            try {
                value = check(source.get());
            } catch (RuntimeException e) {
                LOG.warn("could not read the webhook secret again; signing with the one read before: {}",
                        e.getClass().getSimpleName());
            }
            loadedAt = clock.instant();
        }
        return value;
    }
}
