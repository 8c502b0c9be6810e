package dev.ferry.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Valid JSON that SQS would refuse is found, with the field that holds it. */
class SqsMessageTextTest {

    private static Optional<SqsMessageText.Refused> refused(String json) {
        return SqsMessageText.firstRefused(Json.parse(json), "input");
    }

    @Test
    void refusedCharacters_areFoundWithTheirPath() {
        SqsMessageText.Refused ffff = refused("{\"prompt\":\"a cat \\uFFFF\"}").orElseThrow();
        assertEquals("input.prompt", ffff.path());
        assertEquals(0xFFFF, ffff.codePoint());
        assertTrue(ffff.message().startsWith("field \"input.prompt\" contains U+FFFF at character 6"), ffff.message());

        assertEquals("input.items[1]", refused("{\"items\":[\"ok\",\"\\uFFFE\"]}").orElseThrow().path());
        SqsMessageText.Refused lone = refused("{\"a b\":{\"c\":\"x\\uD800y\"}}").orElseThrow();
        assertEquals("input[\"a b\"].c", lone.path());
        assertTrue(lone.message().contains("U+D800 (a lone surrogate)"), lone.message());
        assertEquals("input[\"\\uFFFF\"] (its name)", refused("{\"\\uFFFF\":1}").orElseThrow().path());
        assertEquals("input", refused("\"\\uDFFF\"").orElseThrow().path());
    }

    @Test
    void whatSqsAccepts_passes_controlsIncluded_sinceTheyAreWrittenEscaped() {
        assertEquals(Optional.empty(), refused("{\"emoji\":\"\\uD83D\\uDE00 ok\",\"ctl\":\"a\\u0001b\",\"n\":[1,null,true]}"));
        assertEquals(Optional.empty(), refused("{\"last\":\"\\uFFFD\",\"cjk\":\"日本\"}"));
    }

    @Test
    void aMessageBodyAsSent_isCheckedRaw() {
        assertTrue(SqsMessageText.accepted("{\"a\":\"\\u0001\"}"));
        assertFalse(SqsMessageText.accepted("a\u0001b"));
        assertFalse(SqsMessageText.accepted("a\uFFFFb"));
    }
}
