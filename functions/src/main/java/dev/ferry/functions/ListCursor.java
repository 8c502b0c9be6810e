package dev.ferry.functions;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.Json;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A listing's {@code nextCursor}: opaque to clients, and signed, so that a cursor that was changed,
 * cut short, or made for another listing is a {@code 400} naming the parameter, never a different
 * query or a {@code 500}.
 *
 * <p>It is {@code base64url(payload) "." base64url(HMAC-SHA256(key, payload))}, the payload a JSON
 * object naming the listing it belongs to (its filters) and the index position where the next
 * page starts (DynamoDB's {@code LastEvaluatedKey}, all strings). The key is
 * {@value #KEY_VARIABLE}: per deployment (the template gives the stack's id, which API clients
 * never see). The signature is a check, not the access control: anyone with the API key may list
 * every job anyway, and {@link dev.ferry.core.JobQueries#list} checks the position itself again.
 */
final class ListCursor {

    /** The signing key's variable. */
    static final String KEY_VARIABLE = "FERRY_CURSOR_KEY";
    /** The query parameter, named in every error. */
    static final String PARAMETER = "cursor";
    /** Longer than any cursor this makes (a position is three short strings). */
    static final int MAX_LENGTH = 1_024;
    private static final String ALGORITHM = "HmacSHA256";
    /** Keeps these signatures apart from anything else the same key might sign. */
    private static final byte[] CONTEXT = "ferry list cursor v1\n".getBytes(StandardCharsets.UTF_8);

    private final SecretKeySpec key;

    ListCursor(String key) {
        Objects.requireNonNull(key, "key");
        if (key.isBlank()) {
            throw new IllegalArgumentException("the cursor key must not be blank");
        }
        this.key = new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), ALGORITHM);
    }

    /** {@value #KEY_VARIABLE}; fails fast, naming it, when unset. */
    static ListCursor fromEnvironment(FerryEnv env) {
        return new ListCursor(env.required(KEY_VARIABLE));
    }

    /**
     * @param listing what the listing is (its filters, as {@link JobListing} names them)
     * @param position where the next page starts
     */
    String encode(String listing, Map<String, String> position) {
        ObjectNode payload = Json.MAPPER.createObjectNode().put("l", listing);
        ObjectNode at = payload.putObject("p");
        position.forEach(at::put);
        byte[] bytes = Json.write(payload).getBytes(StandardCharsets.UTF_8);
        Base64.Encoder base64 = Base64.getUrlEncoder().withoutPadding();
        return base64.encodeToString(bytes) + "." + base64.encodeToString(sign(bytes));
    }

    /**
     * The position a cursor holds.
     *
     * @throws ApiException 400 naming the parameter when the cursor is malformed, its signature is
     *     not this deployment's, or it belongs to another listing
     */
    Map<String, String> decode(String cursor, String listing) {
        if (cursor.length() > MAX_LENGTH) {
            throw bad("is longer than any cursor Ferry makes");
        }
        int dot = cursor.indexOf('.');
        if (dot < 0 || cursor.indexOf('.', dot + 1) >= 0) {
            throw bad("is not a cursor Ferry made");
        }
        byte[] payload;
        byte[] signature;
        try {
            Base64.Decoder base64 = Base64.getUrlDecoder();
            payload = base64.decode(cursor.substring(0, dot));
            signature = base64.decode(cursor.substring(dot + 1));
        } catch (IllegalArgumentException e) {
            throw bad("is not a cursor Ferry made");
        }
        if (!MessageDigest.isEqual(sign(payload), signature)) {
            throw bad("was changed, or made by another deployment");
        }
        JsonNode node;
        try {
            node = Json.parse(new String(payload, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw bad("is not a cursor Ferry made");
        }
        if (!listing.equals(node.path("l").asText(null))) {
            throw bad("belongs to another listing (" + node.path("l").asText("?") + "); a cursor continues the"
                    + " listing it came from, with the same status and type");
        }
        JsonNode at = node.path("p");
        Map<String, String> position = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> fields = at.fields(); fields.hasNext(); ) {
            Map.Entry<String, JsonNode> field = fields.next();
            if (!field.getValue().isTextual()) {
                throw bad("is not a cursor Ferry made");
            }
            position.put(field.getKey(), field.getValue().asText());
        }
        if (position.isEmpty()) {
            throw bad("is not a cursor Ferry made");
        }
        return position;
    }

    private byte[] sign(byte[] payload) {
        try {
            Mac mac = Mac.getInstance(ALGORITHM);
            mac.init(key);
            mac.update(CONTEXT);
            return mac.doFinal(payload);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(ALGORITHM + " is missing from this JVM", e);
        }
    }

    static ApiException bad(String what) {
        return ApiException.badRequest("query parameter \"" + PARAMETER + "\" " + what
                + "; use a nextCursor exactly as a listing returned it");
    }
}
