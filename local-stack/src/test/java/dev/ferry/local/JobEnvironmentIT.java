package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.FerryEnv;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A local job's program starts from the user's environment ({@link LocalStack.Options#jobBaseEnvironment()}),
 * with the stack's settings and the job's variables over it, and without the user's {@code AWS_*}
 * and {@code FERRY_*}: the stack stays on its emulators.
 */
class JobEnvironmentIT {

    private static final Duration FINISH = Duration.ofSeconds(60);
    /** Prints what the program was given, as its result. */
    private static final String ECHO_ENVIRONMENT = "printf '{\"greeting\":\"%s\",\"gpu\":\"%s\",\"profile\":\"%s\","
            + "\"sessionToken\":\"%s\",\"keyId\":\"%s\",\"noticePoll\":\"%s\"}' \"$GREETING_FROM_THE_SHELL\""
            + " \"$CUDA_VISIBLE_DEVICES\" \"${AWS_PROFILE-unset}\" \"${AWS_SESSION_TOKEN-unset}\""
            + " \"$AWS_ACCESS_KEY_ID\" \"${FERRY_NOTICE_POLL-unset}\"";

    private static LocalStack stack;
    private static Api api;

    @BeforeAll
    static void start() {
        Map<String, String> shell = new HashMap<>(System.getenv());
        shell.put("GREETING_FROM_THE_SHELL", "hello from the user's shell");
        shell.put("CUDA_VISIBLE_DEVICES", "the-users-gpu");
        shell.put("AWS_PROFILE", "production");
        shell.put("AWS_SESSION_TOKEN", "a-session-for-the-real-account");
        shell.put("AWS_ACCESS_KEY_ID", "the-users-key");
        shell.put("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9");
        shell.put("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9");
        // A worker that read this would not start: the stack's workers must not see the user's FERRY_*.
        shell.put("FERRY_NOTICE_POLL", "not-a-duration");
        stack = LocalStack.start(LocalStack.Options.builder().apiPort(0).workers(1).workerSlots(1)
                .jobBaseEnvironment(shell)
                .environmentOverrides(Map.of("FERRY_WAIT_SECONDS", "1", "FERRY_COMMAND_ECHO_ENV", ECHO_ENVIRONMENT))
                .build());
        api = new Api(stack.apiEndpoint());
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void jobProgram_getsTheUsersEnvironment_underTheStacksSettingsAndTheJobsOwn() {
        Api.Response accepted = api.submit("{\"type\":\"echo-env\",\"input\":{}}");
        assertEquals(202, accepted.status(), accepted.body().toString());

        JsonNode result = api.awaitStatus(accepted.jobId(), "SUCCEEDED", FINISH).get("result");

        assertEquals("hello from the user's shell", result.get("greeting").asText());
        assertEquals("0", result.get("gpu").asText(), "the job's slot wins over the user's CUDA_VISIBLE_DEVICES");
        // The stack's own AWS settings: the embedded emulators' fixed key; on an external backend
        // none (its clients use the SDK's credential chain, which job programs are not handed).
        assertEquals(stack.environment().optional(FerryEnv.AWS_ACCESS_KEY_ID).orElse(""), result.get("keyId").asText(),
                "the stack's AWS settings, never the user's");
        assertEquals("unset", result.get("profile").asText());
        assertEquals("unset", result.get("sessionToken").asText());
        assertEquals("unset", result.get("noticePoll").asText());
    }
}
