package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ferry.functions.AdminToken;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What {@code scripts/run-local.sh} passes on from the user's environment, and what it refuses. */
class LocalStackMainTest {

    private static final String TOKEN = "a-local-admin-token-of-32-chars!";

    /** A shell's environment with a bit of everything in it. */
    private static Map<String, String> shell() {
        Map<String, String> env = new HashMap<>();
        env.put("PATH", "/usr/local/bin:/usr/bin:/bin");
        env.put("HF_TOKEN", "hf_from_the_shell");
        env.put("FERRY_COMMAND_SD_XL", "python3 sdxl.py");
        env.put("FERRY_TIMEOUT_SD_XL", "900");
        env.put("FERRY_JOB_TIMEOUT", "PT2H");
        env.put("FERRY_ADMIN_TOKEN", TOKEN);
        env.put("FERRY_DEFAULT_DEADLINES", "sd_xl=10m");
        env.put("FERRY_PORT", "3001");
        env.put("FERRY_TABLE", "someone-elses-table");
        env.put("FERRY_LEASE", "600");
        env.put("AWS_PROFILE", "production");
        env.put("AWS_REGION", "eu-west-1");
        env.put("AWS_ENDPOINT_URL_SQS", "https://sqs.eu-west-1.amazonaws.com");
        env.put("AWS_SESSION_TOKEN", "session-from-the-shell");
        return env;
    }

    @Test
    void commandsTimeoutsAndTheAdminToken_arePassedOnToTheStack_andNoOtherFerryOrAwsVariable() {
        LocalStack.Options options = LocalStackMain.options(shell());

        assertEquals(Map.of("FERRY_COMMAND_SD_XL", "python3 sdxl.py", "FERRY_TIMEOUT_SD_XL", "900",
                "FERRY_JOB_TIMEOUT", "PT2H", "FERRY_ADMIN_TOKEN", TOKEN, "FERRY_DEFAULT_DEADLINES", "sd_xl=10m"),
                options.environmentOverrides());
        assertEquals(3001, options.apiPort());
    }

    @Test
    void jobPrograms_startFromTheWholeShellEnvironment() {
        Map<String, String> shell = shell();

        assertEquals(shell, LocalStackMain.options(shell).jobBaseEnvironment());
    }

    @Test
    void adminTokenShorterThanTheMinimum_isRefused_namingTheVariableAndTheLength() {
        Map<String, String> shell = shell();
        shell.put("FERRY_ADMIN_TOKEN", "  too-short  ");

        IllegalStateException error = assertThrows(IllegalStateException.class, () -> LocalStackMain.options(shell));

        assertEquals("environment variable FERRY_ADMIN_TOKEN must be at least " + AdminToken.MIN_LENGTH
                + " characters (without surrounding spaces), but has 9; set a longer one, or unset it for a random"
                + " one", error.getMessage());
        assertFalse(error.getMessage().contains("too-short"), "the message must not show the token");
    }

    @Test
    void aWebhookSecretOfTheUsers_isPassedOn_andAShortOneRefused_namingTheVariable() {
        Map<String, String> shell = shell();
        shell.put("FERRY_WEBHOOK_SECRET", "a-receivers-webhook-secret-0123");
        assertEquals("a-receivers-webhook-secret-0123",
                LocalStackMain.options(shell).environmentOverrides().get("FERRY_WEBHOOK_SECRET"));
        shell.remove("FERRY_WEBHOOK_SECRET");
        assertFalse(LocalStackMain.options(shell).environmentOverrides().containsKey("FERRY_WEBHOOK_SECRET"),
                "none: the stack makes a random one");

        shell.put("FERRY_WEBHOOK_SECRET", "short");
        IllegalStateException error = assertThrows(IllegalStateException.class, () -> LocalStackMain.options(shell));
        assertEquals("environment variable FERRY_WEBHOOK_SECRET must be at least " + AdminToken.MIN_LENGTH
                + " characters (without surrounding spaces), but has 5; set a longer one, or unset it for a random"
                + " one", error.getMessage());
    }

    @Test
    void noAdminToken_leavesTheStackToMakeARandomOne() {
        Map<String, String> shell = shell();
        shell.remove("FERRY_ADMIN_TOKEN");

        assertFalse(LocalStackMain.options(shell).environmentOverrides().containsKey("FERRY_ADMIN_TOKEN"));
    }

    @Test
    void portOutOfRange_isRefused_namingTheVariable() {
        IllegalStateException error = assertThrows(IllegalStateException.class,
                () -> LocalStackMain.options(Map.of("FERRY_PORT", "70000")));

        assertEquals("environment variable FERRY_PORT must be 0-65535, but is 70000", error.getMessage());
    }

    @Test
    void userEnvironment_keepsAllButTheVariablesTheStackOwns() {
        assertEquals(Map.of("PATH", "/usr/local/bin:/usr/bin:/bin", "HF_TOKEN", "hf_from_the_shell"),
                LocalStack.userEnvironment(shell()));
    }
}
