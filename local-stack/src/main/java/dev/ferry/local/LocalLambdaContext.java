package dev.ferry.local;

import com.amazonaws.services.lambda.runtime.ClientContext;
import com.amazonaws.services.lambda.runtime.CognitoIdentity;
import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The context of one local invocation: a new request id, the function's name, memory and ARN,
 * and the time left until its timeout, counted from the start of the invocation. What the local
 * stack has no value for (Cognito identity, mobile client context) is null, as in Lambda for a
 * call from API Gateway.
 */
final class LocalLambdaContext implements Context {

    private final LocalFunction function;
    private final String requestId = UUID.randomUUID().toString();
    private final long deadlineNanos;
    private final LambdaLogger logger;

    LocalLambdaContext(LocalFunction function) {
        this.function = function;
        this.deadlineNanos = System.nanoTime() + function.timeout().toNanos();
        this.logger = new Slf4jLambdaLogger(LoggerFactory.getLogger("dev.ferry.local.lambda." + function.name()));
    }

    @Override
    public String getAwsRequestId() {
        return requestId;
    }

    @Override
    public String getLogGroupName() {
        return "/aws/lambda/" + function.name();
    }

    @Override
    public String getLogStreamName() {
        return "local";
    }

    @Override
    public String getFunctionName() {
        return function.name();
    }

    @Override
    public String getFunctionVersion() {
        return "$LATEST";
    }

    @Override
    public String getInvokedFunctionArn() {
        return function.functionArn();
    }

    @Override
    public CognitoIdentity getIdentity() {
        return null;
    }

    @Override
    public ClientContext getClientContext() {
        return null;
    }

    @Override
    public int getRemainingTimeInMillis() {
        return (int) Math.max(0, (deadlineNanos - System.nanoTime()) / 1_000_000);
    }

    @Override
    public int getMemoryLimitInMB() {
        return function.memorySizeMb();
    }

    @Override
    public LambdaLogger getLogger() {
        return logger;
    }

    /** What a handler logs through its context goes to slf4j, one logger per function. */
    private record Slf4jLambdaLogger(Logger log) implements LambdaLogger {
        @Override
        public void log(String message) {
            log.info(message.stripTrailing());
        }

        @Override
        public void log(byte[] message) {
            log(new String(message, StandardCharsets.UTF_8));
        }
    }
}
