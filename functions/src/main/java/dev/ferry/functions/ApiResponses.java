package dev.ferry.functions;

import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ferry.core.Json;
import java.util.HashMap;
import java.util.Map;

/** JSON responses in API Gateway's proxy format. */
final class ApiResponses {

    private ApiResponses() {
    }

    static APIGatewayProxyResponseEvent json(int statusCode, Object body) {
        return json(statusCode, body, Map.of());
    }

    static APIGatewayProxyResponseEvent json(int statusCode, Object body, Map<String, String> extraHeaders) {
        Map<String, String> headers = new HashMap<>(extraHeaders);
        headers.put("Content-Type", "application/json");
        headers.put("Cache-Control", "no-store");
        return new APIGatewayProxyResponseEvent()
                .withStatusCode(statusCode)
                .withHeaders(headers)
                .withBody(Json.write(body));
    }

    static APIGatewayProxyResponseEvent error(int statusCode, String message) {
        ObjectNode body = Json.MAPPER.createObjectNode().put("error", message);
        return json(statusCode, body);
    }

    static APIGatewayProxyResponseEvent error(ApiException e) {
        ObjectNode body = Json.MAPPER.createObjectNode().put("error", e.getMessage());
        return json(e.statusCode(), body, e.headers());
    }
}
