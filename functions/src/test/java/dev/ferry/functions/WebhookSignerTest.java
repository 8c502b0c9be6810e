package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class WebhookSignerTest {

    private static final String ID = "01JD3N3Y3ZX2W0K7Q8M9P4R5S6-completed-4";
    private static final byte[] BODY = "{\"event\":\"completed\",\"jobId\":\"01JD3N3Y3ZX2W0K7Q8M9P4R5S6\"}"
            .getBytes(StandardCharsets.UTF_8);

    @Test
    void signature_isHmacSha256OfIdTimestampAndBody_asTheReadmesVerifiersCompute() {
        // Python: hmac.new(secret, f"{id}.{ts}.".encode() + body, hashlib.sha256).hexdigest()
        assertEquals("v1=286f93317bed7c0e8be43f53389f09f9af679f221647e9d6ba69b02875ec8a05",
                WebhookSigner.signature("whsec-test-secret-0123456789", ID, 1_764_410_400L, BODY));
    }

    @Test
    void anyChange_toIdTimestampBodyOrSecret_changesIt() {
        String signature = WebhookSigner.signature("whsec-test-secret-0123456789", ID, 1_764_410_400L, BODY);
        assertNotEquals(signature, WebhookSigner.signature("whsec-test-secret-0123456789", ID + "x", 1_764_410_400L,
                BODY));
        assertNotEquals(signature, WebhookSigner.signature("whsec-test-secret-0123456789", ID, 1_764_410_401L, BODY));
        assertNotEquals(signature, WebhookSigner.signature("whsec-test-secret-0123456789", ID, 1_764_410_400L,
                "{}".getBytes(StandardCharsets.UTF_8)));
        assertNotEquals(signature, WebhookSigner.signature("another-secret-0123456789", ID, 1_764_410_400L, BODY));
    }
}
