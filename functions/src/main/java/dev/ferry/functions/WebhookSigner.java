package dev.ferry.functions;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * How a delivery is signed: {@code Ferry-Webhook-Signature: v1=<hex>}, the HMAC-SHA256, with the
 * deployment's webhook secret as key, of {@code <id>.<timestamp>.<body>}: the delivery's id, the
 * unix time in seconds it was sent at, and the exact bytes of the body. A receiver recomputes it,
 * compares in constant time, and rejects a timestamp more than five minutes from its own clock
 * (README, "Webhooks").
 */
final class WebhookSigner {

    static final String ID_HEADER = "Ferry-Webhook-Id";
    static final String TIMESTAMP_HEADER = "Ferry-Webhook-Timestamp";
    static final String SIGNATURE_HEADER = "Ferry-Webhook-Signature";
    static final String EVENT_HEADER = "Ferry-Webhook-Event";
    /** The scheme's version: a future scheme gets a new prefix, and receivers keep accepting v1 meanwhile. */
    static final String VERSION = "v1";

    private WebhookSigner() {
    }

    /** {@code v1=<lower-case hex HMAC-SHA256(secret, id + "." + timestamp + "." + body)>}. */
    static String signature(String secret, String id, long timestamp, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            mac.update((id + "." + timestamp + ".").getBytes(StandardCharsets.UTF_8));
            return VERSION + "=" + HexFormat.of().formatHex(mac.doFinal(body));
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("HmacSHA256 is unavailable in this JVM", e);
        }
    }
}
