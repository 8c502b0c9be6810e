package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import dev.ferry.core.Job;
import dev.ferry.core.JobStatus;
import dev.ferry.core.Json;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Routing, auth and input checks; the SQS side is covered end to end by AdminIT on the local stack. */
class AdminHandlerTest {

    private static final String TOKEN = "s3cr3t-admin-token-0123456789";
    private final RecordingSqs sqs = new RecordingSqs(new ArrayList<>());
    private final AdminHandler handler = new AdminHandler(
            AdminServices.of(sqs, new InMemoryJobStore()),
            new AdminToken(TOKEN));

    private static APIGatewayProxyRequestEvent request(String method, String proxy, String authorization, String body) {
        APIGatewayProxyRequestEvent event = new APIGatewayProxyRequestEvent().withHttpMethod(method)
                .withPath(proxy == null ? "/admin" : "/admin/" + proxy).withBody(body);
        if (proxy != null) {
            event.withPathParameters(Map.of("proxy", proxy)).withResource("/admin/{proxy+}");
        }
        if (authorization != null) {
            event.withHeaders(Map.of("authorization", authorization));
        }
        return event;
    }

    private APIGatewayProxyResponseEvent call(String method, String proxy, String authorization, String body) {
        return handler.handleRequest(request(method, proxy, authorization, body), null);
    }

    @Test
    void page_isServedWithoutToken_withAStrictContentSecurityPolicy() {
        APIGatewayProxyResponseEvent page = call("GET", null, null, null);

        assertEquals(200, page.getStatusCode());
        assertTrue(page.getHeaders().get("Content-Type").startsWith("text/html"));
        assertTrue(page.getHeaders().get("Content-Security-Policy").contains("frame-ancestors 'none'"));
        assertTrue(page.getBody().contains("Redrive DLQ"));
    }

    @Test
    void everyApiRoute_withoutTheToken_is401_beforeAnyWork() {
        for (String[] route : List.of(new String[] {"GET", "api/overview"}, new String[] {"POST", "api/redrive"},
                new String[] {"GET", "api/redrive"}, new String[] {"DELETE", "api/redrive"},
                new String[] {"POST", "api/jobs/01JD3N3Y3ZX2W0K7Q8M9P4R5S6/retry"},
                new String[] {"GET", "api/jobs"}, new String[] {"GET", "api/jobs/01JD3N3Y3ZX2W0K7Q8M9P4R5S6"},
                new String[] {"POST", "api/jobs/01JD3N3Y3ZX2W0K7Q8M9P4R5S6/discard"}, new String[] {"GET", "api/fleet"})) {
            APIGatewayProxyResponseEvent response = call(route[0], route[1], "Bearer not-the-token", null);
            assertEquals(401, response.getStatusCode(), route[0] + " " + route[1]);
            assertEquals("Bearer realm=\"ferry-admin\"", response.getHeaders().get("WWW-Authenticate"));
            assertEquals(401, call(route[0], route[1], null, null).getStatusCode());
        }
        assertTrue(sqs.sent.isEmpty());
    }

    @Test
    void unknownRoutes_andBadSelections_areClear4xx() {
        String auth = "Bearer " + TOKEN;
        assertEquals(404, call("GET", "api/nothing", auth, null).getStatusCode());
        APIGatewayProxyResponseEvent noFleet = call("GET", "api/fleet", auth, null);
        assertEquals(404, noFleet.getStatusCode(), "no workers table configured");
        assertTrue(Json.parse(noFleet.getBody()).get("error").asText().contains("FERRY_WORKERS_TABLE"));
        assertEquals(404, call("POST", "api/jobs/not-an-id/retry", auth, null).getStatusCode());
        assertEquals(405, call("GET", "api/jobs/01JD3N3Y3ZX2W0K7Q8M9P4R5S6/retry", auth, null).getStatusCode());
        assertEquals(404, call("GET", "api/jobs/01JD3N3Y3ZX2W0K7Q8M9P4R5S6", auth, null).getStatusCode());
        assertEquals(404, call("GET", "api/jobs/not-an-id", auth, null).getStatusCode());
        assertEquals(405, call("DELETE", "api/jobs/01JD3N3Y3ZX2W0K7Q8M9P4R5S6", auth, null).getStatusCode());
        APIGatewayProxyResponseEvent badLimit = handler.handleRequest(request("GET", "api/jobs", auth, null)
                .withQueryStringParameters(Map.of("limit", "0")), null);
        assertEquals(400, badLimit.getStatusCode());
        assertTrue(Json.parse(badLimit.getBody()).get("error").asText().contains("\"limit\""));
        APIGatewayProxyResponseEvent notJson = call("POST", "api/redrive", auth, "{jobIds:");
        assertEquals(400, notJson.getStatusCode());
        APIGatewayProxyResponseEvent empty = call("POST", "api/redrive", auth, "{\"jobIds\":[]}");
        assertEquals(400, empty.getStatusCode());
        assertTrue(Json.parse(empty.getBody()).get("error").asText().contains("\"jobIds\""));
        assertEquals(400, call("POST", "api/redrive", auth, "{\"jobIds\":[\"x\"]}").getStatusCode());
    }

    @Test
    void retryOfAnUnknownJob_is404_andOfARunningJob_409() {
        String auth = "Bearer " + TOKEN;
        InMemoryJobStore store = new InMemoryJobStore();
        store.jobs.put("01JD3N3Y3ZX2W0K7Q8M9P4R5S6", Job.builder().jobId("01JD3N3Y3ZX2W0K7Q8M9P4R5S6").type("t")
                .input("{}").status(JobStatus.RUNNING).build());
        AdminHandler withJob = new AdminHandler(AdminServices.of(sqs, store), new AdminToken(TOKEN));

        assertEquals(404, call("POST", "api/jobs/01JD3N3Y3ZX2W0K7Q8M9P4R5S7/retry", auth, null).getStatusCode());
        APIGatewayProxyResponseEvent running = withJob.handleRequest(
                request("POST", "api/jobs/01JD3N3Y3ZX2W0K7Q8M9P4R5S6/retry", auth, null), null);
        assertEquals(409, running.getStatusCode());
        assertTrue(Json.parse(running.getBody()).get("error").asText().contains("RUNNING"));
        assertTrue(sqs.sent.isEmpty());
    }

    @Test
    void errorGroups_ignoreIdsAndNumbers() {
        assertEquals(AdminService.errorGroup("exit 1: CUDA out of memory on job 01JD3N3Y3ZX2W0K7Q8M9P4R5S6 after 312 s"),
                AdminService.errorGroup("exit 1: CUDA out of memory on job 01KAAAAAAAAAAAAAAAAAAAAAAA after 9 s"));
        assertEquals("exit #: boom", AdminService.errorGroup("exit 137: boom\n  at line 4"));
        assertEquals("(no error recorded)", AdminService.errorGroup(null));
    }
}
