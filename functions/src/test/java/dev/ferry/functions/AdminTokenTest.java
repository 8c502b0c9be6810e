package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.FerryEnv;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AdminTokenTest {

    private static final String TOKEN = "s3cr3t-admin-token-0123456789";
    private final AdminToken token = new AdminToken(TOKEN);

    @Test
    void accepts_onlyTheBearerToken() {
        assertTrue(token.accepts("Bearer " + TOKEN));
        assertTrue(token.accepts("bearer " + TOKEN + " "), "the scheme is case-insensitive (RFC 7235)");
        assertFalse(token.accepts(null));
        assertFalse(token.accepts(""));
        assertFalse(token.accepts(TOKEN), "no scheme");
        assertFalse(token.accepts("Basic " + TOKEN));
        assertFalse(token.accepts("Bearer " + TOKEN.substring(1)));
        assertFalse(token.accepts("Bearer " + TOKEN + "x"));
        assertFalse(token.accepts("Bearer "));
    }

    @Test
    void aShortToken_isRefusedAtStart() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> new AdminToken("short"));
        assertTrue(e.getMessage().contains("16"), e.getMessage());
    }

    @Test
    void fromEnvironment_prefersTheTokenVariable_andNamesBothWhenNeitherIsSet() {
        AdminToken local = AdminToken.fromEnvironment(FerryEnv.of(Map.of(AdminToken.TOKEN, TOKEN)), () -> {
            throw new AssertionError("Secrets Manager must not be asked when FERRY_ADMIN_TOKEN is set");
        });
        assertTrue(local.accepts("Bearer " + TOKEN));

        IllegalStateException none = assertThrows(IllegalStateException.class,
                () -> AdminToken.fromEnvironment(FerryEnv.of(Map.of()), () -> null));
        assertTrue(none.getMessage().contains(AdminToken.TOKEN) && none.getMessage().contains(AdminToken.SECRET_ARN));
    }

    @Test
    void theTokenNeverAppearsInItsMessages() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> new AdminToken("tiny-secret"));
        assertFalse(e.getMessage().contains("tiny-secret"));
        assertEquals(-1, token.toString().indexOf(TOKEN));
    }

    @Test
    void aRotatedSecret_isReadAgain_butAtMostEveryFiveMinutes() {
        java.util.concurrent.atomic.AtomicReference<String> secret = new java.util.concurrent.atomic.AtomicReference<>(TOKEN);
        java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicReference<java.time.Instant> now =
                new java.util.concurrent.atomic.AtomicReference<>(java.time.Instant.parse("2026-11-22T10:00:00Z"));
        java.time.Clock clock = new java.time.Clock() {
            @Override public java.time.ZoneId getZone() { return java.time.ZoneOffset.UTC; }
            @Override public java.time.Clock withZone(java.time.ZoneId zone) { return this; }
            @Override public java.time.Instant instant() { return now.get(); }
        };
        AdminToken rotating = new AdminToken(() -> {
            reads.incrementAndGet();
            return secret.get();
        }, clock, true);
        String rotated = "rotated-admin-token-9876543210";
        secret.set(rotated);

        assertFalse(rotating.accepts("Bearer " + rotated), "a fresh copy is not read again");
        assertEquals(1, reads.get());
        now.set(now.get().plusSeconds(301));
        assertTrue(rotating.accepts("Bearer " + rotated));
        assertEquals(2, reads.get());
        assertFalse(rotating.accepts("Bearer " + TOKEN), "the old token no longer works");
        assertFalse(rotating.accepts("Bearer guess-guess-guess-guess"));
        assertEquals(2, reads.get(), "wrong guesses do not hammer Secrets Manager");
    }
}
