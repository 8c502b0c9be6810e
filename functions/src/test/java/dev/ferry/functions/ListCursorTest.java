package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A cursor comes back as it went out, or is a 400 naming the parameter: changed, cut, foreign, or another listing's. */
class ListCursorTest {

    private static final String LISTING = "status=FAILED&type=";
    private static final Map<String, String> POSITION = new LinkedHashMap<>(Map.of(
            "status", "FAILED", "createdAt", "2026-11-22T10:00:00.000000000Z", "jobId", "01JD3N3Y3ZX2W0K7Q8M9P4R5S6"));
    private final ListCursor cursors = new ListCursor("arn:aws:cloudformation:eu-west-1:123456789012:stack/ferry/1c2f");

    private static String rejected(Runnable decode) {
        ApiException e = assertThrows(ApiException.class, decode::run);
        assertEquals(400, e.statusCode());
        assertTrue(e.getMessage().startsWith("query parameter \"cursor\""), e.getMessage());
        return e.getMessage();
    }

    @Test
    void aCursor_comesBackAsItWentOut_urlSafe() {
        String cursor = cursors.encode(LISTING, POSITION);

        assertEquals(POSITION, cursors.decode(cursor, LISTING));
        assertTrue(cursor.matches("[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+"), "needs no escaping in a query: " + cursor);
        assertTrue(cursor.length() < ListCursor.MAX_LENGTH);
    }

    @Test
    void aChangedCursor_isRefused_wherever_itWasChanged() {
        String cursor = cursors.encode(LISTING, POSITION);
        int dot = cursor.indexOf('.');
        String payload = new String(Base64.getUrlDecoder().decode(cursor.substring(0, dot)), StandardCharsets.UTF_8);
        String otherJob = Base64.getUrlEncoder().withoutPadding().encodeToString(
                payload.replace("R5S6", "R5S7").getBytes(StandardCharsets.UTF_8)) + cursor.substring(dot);
        String otherSignature = cursor.substring(0, dot + 1) + (cursor.charAt(dot + 1) == 'A' ? 'B' : 'A')
                + cursor.substring(dot + 2);

        assertTrue(rejected(() -> cursors.decode(otherJob, LISTING)).contains("was changed"));
        assertTrue(rejected(() -> cursors.decode(otherSignature, LISTING)).contains("was changed"));
        rejected(() -> cursors.decode(cursor.substring(0, cursor.length() - 3), LISTING));
        rejected(() -> cursors.decode(cursor + "." + cursor, LISTING));
    }

    @Test
    void anotherDeploymentsCursor_isRefused() {
        String foreign = new ListCursor("arn:aws:cloudformation:eu-west-1:123456789012:stack/ferry/other")
                .encode(LISTING, POSITION);

        assertTrue(rejected(() -> cursors.decode(foreign, LISTING)).contains("another deployment"));
    }

    @Test
    void aCursorOfAnotherListing_isRefused_namingIt() {
        String cursor = cursors.encode(LISTING, POSITION);

        String message = rejected(() -> cursors.decode(cursor, "status=QUEUED&type="));

        assertTrue(message.contains("another listing (status=FAILED&type=)"), message);
    }

    @Test
    void garbage_isRefused_neverAnException() {
        for (String garbage : List.of("", "abc", ".", "a.b", "%%%.###", "x".repeat(5000), "e30.AAAA")) {
            String message = rejected(() -> cursors.decode(garbage, LISTING));
            assertFalse(message.contains("Exception"), message);
        }
    }

    @Test
    void aSignedCursorWithoutAPosition_isRefused() {
        assertThrows(ApiException.class, () -> cursors.decode(cursors.encode(LISTING, Map.of()), LISTING));
    }
}
