package dev.ferry.functions;

import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;

/** Reading the parts of an API Gateway proxy event that the handlers need. */
final class Requests {

    private Requests() {
    }

    /** The body as text, decoded if API Gateway base64-encoded it. */
    static String body(APIGatewayProxyRequestEvent event) {
        String body = event.getBody();
        if (body != null && Boolean.TRUE.equals(event.getIsBase64Encoded())) {
            try {
                return new String(Base64.getDecoder().decode(body), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw ApiException.badRequest("request body is marked base64 but is not");
            }
        }
        return body;
    }

    /** A header's value; names are case-insensitive (HTTP/2 clients send them lower-case). */
    static String header(APIGatewayProxyRequestEvent event, String name) {
        Map<String, String> headers = event.getHeaders();
        if (headers == null) {
            return null;
        }
        for (Map.Entry<String, String> header : headers.entrySet()) {
            if (header.getKey().equalsIgnoreCase(name)) {
                return header.getValue();
            }
        }
        return null;
    }

    /**
     * Whose idempotency keys these are: the caller's API key (or IAM principal) behind API
     * Gateway, empty locally. It is only ever hashed into job ids, never stored or logged.
     */
    static String callerScope(APIGatewayProxyRequestEvent event) {
        APIGatewayProxyRequestEvent.ProxyRequestContext context = event.getRequestContext();
        if (context == null || context.getIdentity() == null) {
            return "";
        }
        APIGatewayProxyRequestEvent.RequestIdentity identity = context.getIdentity();
        if (identity.getApiKey() != null) {
            return "key:" + identity.getApiKey();
        }
        return identity.getUserArn() == null ? "" : "iam:" + identity.getUserArn();
    }

    /** "/v1" behind API Gateway's stage "v1": where the API's paths start. */
    static String stagePrefix(APIGatewayProxyRequestEvent event) {
        APIGatewayProxyRequestEvent.ProxyRequestContext context = event.getRequestContext();
        String stage = context == null ? null : context.getStage();
        return stage == null || stage.isEmpty() ? "" : "/" + stage;
    }

    /**
     * Every value of a header that may be sent more than once ({@code Prefer}): API Gateway keeps
     * them all in the multi-value map, and only the last in the other.
     */
    static java.util.List<String> headerValues(APIGatewayProxyRequestEvent event, String name) {
        Map<String, java.util.List<String>> multi = event.getMultiValueHeaders();
        if (multi != null) {
            java.util.List<String> values = new java.util.ArrayList<>();
            multi.forEach((key, list) -> {
                if (key.equalsIgnoreCase(name) && list != null) {
                    values.addAll(list);
                }
            });
            if (!values.isEmpty()) {
                return values;
            }
        }
        String value = header(event, name);
        return value == null ? java.util.List.of() : java.util.List.of(value);
    }
}
