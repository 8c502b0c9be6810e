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
}
