package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** An unnamed stack's unique name on an external backend, and the run-wide prefix a sweep finds it by. */
class StackNameTest {

    @Test
    void uniqueName_isThePrefix_aHyphen_andEightRandomCharacters() {
        String name = LocalStack.Options.uniqueStackName("ferry-t0a1b2c3");

        assertTrue(name.matches("ferry-t0a1b2c3-[a-z0-9]{8}"), name);
        assertTrue(LocalStack.Options.STACK_NAME.matcher(name).matches(), name);
        assertNotEquals(name, LocalStack.Options.uniqueStackName("ferry-t0a1b2c3"));
    }

    @Test
    void noPrefix_isFerry() {
        assertEquals("ferry", LocalStack.Options.stackPrefix(null));
    }

    @Test
    void longestPrefix_stillMakesAValidStackName() {
        String prefix = "p" + "x".repeat(50);

        String name = LocalStack.Options.uniqueStackName(LocalStack.Options.stackPrefix(prefix));

        assertEquals(60, name.length());
        assertTrue(LocalStack.Options.STACK_NAME.matcher(name).matches(), name);
    }

    @Test
    void badPrefix_isRefused_namingTheVariable() {
        IllegalStateException tooLong = assertThrows(IllegalStateException.class,
                () -> LocalStack.Options.stackPrefix("p" + "x".repeat(51)));
        assertTrue(tooLong.getMessage().startsWith("FERRY_STACK_PREFIX must be"), tooLong.getMessage());
        assertThrows(IllegalStateException.class, () -> LocalStack.Options.stackPrefix("1ferry"));
        assertThrows(IllegalStateException.class, () -> LocalStack.Options.stackPrefix("ferry_run"));
    }
}
