package dev.ferry.local;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import dev.ferry.core.FerryEnv;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * A Lambda function served locally: one handler instance (as in one warm execution environment)
 * and what its context reports: name, timeout, memory, region. The local API invokes a function
 * behind API Gateway with its proxy event; a poller ({@link StreamPoller}, {@link QueuePoller})
 * invokes one behind an event source mapping with a batch of stream records or queue messages.
 *
 * <p>Unlike Lambda, which gives each concurrent request an environment of its own, the local API
 * calls the one instance from several threads at once; Ferry's handlers keep no per-request state.
 */
public final class LocalFunction implements AutoCloseable {

    private final String name;
    private final Duration timeout;
    private final int memorySizeMb;
    private final String region;
    private final RequestHandler<Object, Object> handler;

    /**
     * @param name the function name its context reports (locally: the template's logical id)
     * @param timeout the function's timeout, from which the context counts down
     * @param memorySizeMb the memory the context reports
     * @param region the region in the function ARN the context reports
     * @param handler the handler instance: an API Gateway proxy handler, or one for the events of
     *     an event source
     */
    public LocalFunction(String name, Duration timeout, int memorySizeMb, String region, RequestHandler<?, ?> handler) {
        this.name = Objects.requireNonNull(name, "name");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.memorySizeMb = memorySizeMb;
        this.region = Objects.requireNonNull(region, "region");
        this.handler = untyped(Objects.requireNonNull(handler, "handler"));
    }

    @SuppressWarnings("unchecked")
    private static RequestHandler<Object, Object> untyped(RequestHandler<?, ?> handler) {
        return (RequestHandler<Object, Object>) handler;
    }

    /**
     * Creates the handler the template names, through its public constructor that takes the
     * function's environment ({@code Map<String, String>}), as Lambda's runtime would through the
     * no-argument one that reads the process environment.
     *
     * @param function the function as the template declares it
     * @param environment its environment: the template's variables with local values, and AWS_*
     * @throws IllegalStateException naming the function and class when the class is missing, is no
     *     API Gateway proxy handler, has no such constructor, or its constructor fails
     */
    public static LocalFunction load(SamTemplate.Function function, Map<String, String> environment) {
        return load(function, environment, APIGatewayProxyRequestEvent.class, APIGatewayProxyResponseEvent.class);
    }

    /**
     * As {@link #load(SamTemplate.Function, Map)}, for a handler of {@code input} events that
     * answers {@code output}: the types Lambda hands a function of that event source.
     */
    public static LocalFunction load(SamTemplate.Function function, Map<String, String> environment, Class<?> input,
            Class<?> output) {
        String what = function.logicalId() + " (Handler " + function.handlerClass() + "::" + function.handlerMethod() + ")";
        if (!function.handlerMethod().equals("handleRequest")) {
            throw new IllegalStateException(what + ": the local stack calls RequestHandler.handleRequest only");
        }
        Class<?> type;
        try {
            type = Class.forName(function.handlerClass(), true, LocalFunction.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(what + ": class not on the classpath; is ferry-functions built?", e);
        }
        try {
            Method method = type.getMethod("handleRequest", input, Context.class);
            if (!RequestHandler.class.isAssignableFrom(type) || method.getReturnType() != output) {
                throw new NoSuchMethodException();
            }
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(what + ": must implement RequestHandler<" + input.getSimpleName() + ", "
                    + output.getSimpleName() + ">, " + (input == APIGatewayProxyRequestEvent.class
                    ? "the REST API proxy integration's types" : "the types of its event source"), e);
        }
        Object instance;
        try {
            instance = type.getConstructor(Map.class).newInstance(Map.copyOf(environment));
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(what + ": needs a public constructor taking Map<String, String>, through"
                    + " which the local stack passes the function's environment", e);
        } catch (InvocationTargetException e) {
            throw new IllegalStateException(what + ": its constructor failed: " + e.getCause(), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(what + ": cannot be instantiated: " + e, e);
        }
        RequestHandler<Object, Object> handler = untyped((RequestHandler<?, ?>) instance);
        return new LocalFunction(function.logicalId(), function.timeout(), function.memorySizeMb(),
                environment.getOrDefault(FerryEnv.AWS_REGION, LocalStack.DEFAULT_REGION), handler);
    }

    /**
     * Ends its execution environment: a handler that holds something open (a Lambda pool's threads)
     * is closed.
     */
    @Override
    public void close() {
        if (handler instanceof AutoCloseable closeable) {
            try {
                closeable.close();
            } catch (Exception e) {
                throw new IllegalStateException(name + ": its handler did not close: " + e, e);
            }
        }
    }

    /** The function's name. */
    public String name() {
        return name;
    }

    /** Calls the handler once, with a fresh context (new request id, full timeout ahead). */
    APIGatewayProxyResponseEvent invoke(APIGatewayProxyRequestEvent event) {
        return (APIGatewayProxyResponseEvent) handler.handleRequest(event, new LocalLambdaContext(this));
    }

    /** Calls the handler once with an event source's batch, as the mapping would; what it answered. */
    Object invokeWith(Object event) {
        return handler.handleRequest(event, new LocalLambdaContext(this));
    }

    Duration timeout() {
        return timeout;
    }

    int memorySizeMb() {
        return memorySizeMb;
    }

    /** The function's ARN in the local stack's one account (ElasticMQ's). */
    String functionArn() {
        return "arn:aws:lambda:" + region + ":" + EmbeddedSqs.ACCOUNT_ID + ":function:" + name;
    }
}
