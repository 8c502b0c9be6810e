package dev.ferry.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import com.fasterxml.jackson.databind.JsonNode;
import dev.ferry.core.Job;
import dev.ferry.core.JobStatus;
import dev.ferry.core.Json;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.services.sqs.model.GetQueueAttributesRequest;
import software.amazon.awssdk.services.sqs.model.GetQueueAttributesResponse;
import software.amazon.awssdk.services.sqs.model.ListMessageMoveTasksRequest;
import software.amazon.awssdk.services.sqs.model.ListMessageMoveTasksResponse;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;
import software.amazon.awssdk.services.sqs.model.SqsException;
import software.amazon.awssdk.services.sqs.model.StartMessageMoveTaskRequest;
import software.amazon.awssdk.services.sqs.model.StartMessageMoveTaskResponse;

/**
 * The admin API when AWS does not cooperate: a backend or a role without an operation, a move
 * task that does not start. Each panel degrades on its own; a redrive that cannot start leaves
 * every job FAILED with its message in the DLQ; errors say whether retrying helps.
 */
class AdminServiceFailuresTest {

    private static final String TOKEN = "s3cr3t-admin-token-0123456789";
    private static final String FAILED_ID = "01JD3N3Y3ZX2W0K7Q8M9P4R5S6";

    private static SqsException error(int status, String code, String message) {
        return (SqsException) SqsException.builder().statusCode(status).message(message)
                .awsErrorDetails(AwsErrorDetails.builder().errorCode(code).errorMessage(message).build()).build();
    }

    /** SQS whose move-task calls fail as a role without them, or a backend without them, answers. */
    private static final class NoMoveTasks extends RecordingSqs {
        SqsException onList = error(400, "AccessDenied", "not authorized to perform sqs:ListMessageMoveTasks");
        SqsException onStart = error(400, "AccessDenied", "not authorized to perform sqs:StartMessageMoveTask");

        SqsException onSend;

        NoMoveTasks() {
            super(new ArrayList<>());
        }

        @Override
        public software.amazon.awssdk.services.sqs.model.SendMessageResponse sendMessage(
                software.amazon.awssdk.services.sqs.model.SendMessageRequest request) {
            if (onSend != null) {
                throw onSend;
            }
            return super.sendMessage(request);
        }

        @Override
        public ListMessageMoveTasksResponse listMessageMoveTasks(ListMessageMoveTasksRequest request) {
            throw onList;
        }

        @Override
        public StartMessageMoveTaskResponse startMessageMoveTask(StartMessageMoveTaskRequest request) {
            throw onStart;
        }

        @Override
        public GetQueueAttributesResponse getQueueAttributes(GetQueueAttributesRequest request) {
            return GetQueueAttributesResponse.builder().attributes(Map.of(
                    QueueAttributeName.APPROXIMATE_NUMBER_OF_MESSAGES, "3",
                    QueueAttributeName.QUEUE_ARN, "arn:aws:sqs:us-east-1:123456789012:ferry-dlq")).build();
        }
    }

    private final NoMoveTasks sqs = new NoMoveTasks();
    private final InMemoryJobStore store = new InMemoryJobStore();
    private final AdminHandler handler = new AdminHandler(
            AdminServices.of(sqs, store),
            new AdminToken(TOKEN));

    private APIGatewayProxyResponseEvent call(String method, String proxy) {
        return handler.handleRequest(new APIGatewayProxyRequestEvent().withHttpMethod(method)
                .withPath("/admin/" + proxy).withPathParameters(Map.of("proxy", proxy))
                .withHeaders(Map.of("Authorization", "Bearer " + TOKEN)), null);
    }

    private void aFailedJob() {
        Instant now = Instant.now();
        store.jobs.put(FAILED_ID, Job.builder().jobId(FAILED_ID).type("t").input("{}").status(JobStatus.FAILED)
                .attempts(3).error("exit 1").createdAt(now).updatedAt(now).finishedAt(now).build());
    }

    @Test
    void overview_withoutMoveTasks_showsEveryOtherPanel_andSaysWhatIsMissing() {
        aFailedJob();

        APIGatewayProxyResponseEvent response = call("GET", "api/overview");

        assertEquals(200, response.getStatusCode(), response.getBody());
        JsonNode overview = Json.parse(response.getBody());
        assertEquals(1, overview.get("jobsByStatus").get("FAILED").asInt());
        assertEquals(3, overview.get("queues").get("jobs").get("visible").asInt());
        JsonNode redrive = overview.get("redrive");
        assertEquals("AccessDenied", redrive.get("code").asText());
        assertTrue(redrive.get("unavailable").asText().contains("AccessDenied"), redrive.toString());
        assertEquals(false, redrive.get("retryable").asBoolean());
    }

    @Test
    void retryOfOneJob_whoseMessageSqsDoesNotTake_is503WithRetryAfter_andTheJobStaysFailed() {
        aFailedJob();
        sqs.onSend = error(503, "ServiceUnavailable", "try again");

        APIGatewayProxyResponseEvent response = call("POST", "api/jobs/" + FAILED_ID + "/retry");

        assertEquals(503, response.getStatusCode(), response.getBody());
        assertNotNull(response.getHeaders().get("Retry-After"), "retrying the retry can work");
        assertTrue(Json.parse(response.getBody()).get("error").asText().contains("could not be sent"), response.getBody());
        assertEquals(JobStatus.FAILED, store.jobs.get(FAILED_ID).status());
    }

    @Test
    void redriveThatCannotStart_leavesEveryJobFailed_withItsMessageInTheDlq_andSaysRetryingWillNotHelp() {
        aFailedJob();
        sqs.onList = error(400, "AccessDenied", "not authorized to perform sqs:ListMessageMoveTasks");
        APIGatewayProxyResponseEvent response = call("POST", "api/redrive");

        assertEquals(502, response.getStatusCode(), response.getBody());
        String error = Json.parse(response.getBody()).get("error").asText();
        assertTrue(error.contains("still reads FAILED") && error.contains("retrying will not help")
                && error.contains("AccessDenied"), error);
        Job job = store.jobs.get(FAILED_ID);
        assertEquals(JobStatus.FAILED, job.status(), "never QUEUED with nothing left to run it");
        assertNotNull(job.redriveRequestedAt(), "a moved message, if any, may run it");
    }

    @Test
    void throttling_is503WithRetryAfter() {
        sqs.onList = error(400, "ThrottlingException", "Rate exceeded");
        sqs.onStart = error(400, "ThrottlingException", "Rate exceeded");

        APIGatewayProxyResponseEvent response = call("POST", "api/redrive");

        assertEquals(503, response.getStatusCode(), response.getBody());
        assertEquals("2", response.getHeaders().get("Retry-After"));
    }

    @Test
    void overview_withoutTheIndexes_showsTheQueues_andSaysWhatIsMissing() {
        aFailedJob();
        InMemoryJobQueries queries = new InMemoryJobQueries(store);
        queries.unavailable = true;
        AdminHandler withoutIndexes = new AdminHandler(AdminServices.of(sqs, store, queries), new AdminToken(TOKEN));

        APIGatewayProxyResponseEvent response = withoutIndexes.handleRequest(new APIGatewayProxyRequestEvent()
                .withHttpMethod("GET").withPath("/admin/api/overview").withPathParameters(Map.of("proxy", "api/overview"))
                .withHeaders(Map.of("Authorization", "Bearer " + TOKEN)), null);

        assertEquals(200, response.getStatusCode(), response.getBody());
        JsonNode overview = Json.parse(response.getBody());
        assertEquals(3, overview.get("queues").get("jobs").get("visible").asInt());
        for (String panel : List.of("jobsByStatus", "oldestWaitingJob", "failedJobsUnavailable", "failureGroups",
                "recentJobsUnavailable")) {
            assertTrue(overview.get(panel).get("unavailable").asText().contains("Connect timed out"),
                    panel + ": " + overview.get(panel));
        }
        assertEquals(0, overview.get("failedJobs").size());
    }
}
