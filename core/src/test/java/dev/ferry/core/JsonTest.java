package dev.ferry.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class JsonTest {

    @Test
    void canonical_ignoresKeyOrderAtEveryDepth() {
        assertEquals(Json.canonical(Json.parse("{\"b\":1,\"a\":{\"y\":[1,{\"q\":1,\"p\":2}],\"x\":null}}")),
                Json.canonical(Json.parse("{\"a\":{\"x\":null,\"y\":[1,{\"p\":2,\"q\":1}]},\"b\":1}")));
    }

    @Test
    void canonical_keepsArrayOrderAndValues() {
        assertNotEquals(Json.canonical(Json.parse("[1,2]")), Json.canonical(Json.parse("[2,1]")));
        assertNotEquals(Json.canonical(Json.parse("{\"a\":\"1\"}")), Json.canonical(Json.parse("{\"a\":1}")));
    }

    @Test
    void parse_rejectsMalformedAndEmpty() {
        assertThrows(IllegalArgumentException.class, () -> Json.parse("{\"a\":"));
        assertThrows(IllegalArgumentException.class, () -> Json.parse(""));
    }

    @Test
    void message_roundTripsAndRefusesForeignBodies() {
        JobMessage message = new JobMessage("01JOB", "render", Json.parse("{\"steps\":30}"));

        assertEquals(message, JobMessage.parse(message.toJson()));
        assertThrows(IllegalArgumentException.class, () -> JobMessage.parse("{\"type\":\"render\"}"));
        assertThrows(IllegalArgumentException.class, () -> JobMessage.parse("hello"));
    }

    @org.junit.jupiter.api.Test
    void numbers_keepEveryDigit_throughAParseAndAWrite() {
        String text = "{\"big\":1E+400,\"pi\":3.14159265358979323846264338327950288,\"n\":12345678901234567890123}";
        org.junit.jupiter.api.Assertions.assertEquals(text, Json.parse(text).toString());
    }
}
