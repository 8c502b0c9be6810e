package dev.ferry.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.SdkHttpFullResponse;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.SqsException;

/** Not every SDK error means "try again". */
class AwsErrorsTest {

    private static AwsServiceException service(int status, String code, String message) {
        return SqsException.builder().statusCode(status).message(message)
                .awsErrorDetails(AwsErrorDetails.builder().errorCode(code).errorMessage(message)
                        .sdkHttpResponse(SdkHttpFullResponse.builder().statusCode(status).build()).build())
                .build();
    }

    @Test
    void throttlingServerErrorsAndTimeouts_areRetryable() {
        assertEquals(AwsErrors.Kind.RETRYABLE, AwsErrors.kind(service(400, "ThrottlingException", "slow down")));
        assertEquals(AwsErrors.Kind.RETRYABLE, AwsErrors.kind(service(500, "InternalError", "oops")));
        assertEquals(AwsErrors.Kind.RETRYABLE, AwsErrors.kind(SdkClientException.create("timed out")));
        assertEquals(AwsErrors.THROTTLED_RETRY_AFTER, AwsErrors.retryAfter(service(400, "ThrottlingException", "x")));
    }

    @Test
    void deniedAndRefused_areNot() {
        assertEquals(AwsErrors.Kind.DENIED, AwsErrors.kind(service(400, "AccessDeniedException", "no")));
        assertEquals(AwsErrors.Kind.DENIED, AwsErrors.kind(service(403, "Whatever", "no")));
        assertEquals(AwsErrors.Kind.REFUSED, AwsErrors.kind(service(400, "ValidationException",
                "Item size has exceeded the maximum allowed size")));
        assertEquals("ValidationException", AwsErrors.errorCode(service(400, "ValidationException", "big")));
    }

    @Test
    void aLabelledClient_namesTheActionThatWasDenied() {
        // A client as Ferry builds it, pointed at a port nothing listens on: the failure carries the action.
        FerryEnv env = FerryEnv.of(java.util.Map.of(FerryEnv.AWS_REGION, "us-east-1",
                FerryEnv.AWS_ENDPOINT_URL_SQS, "http://127.0.0.1:9", FerryEnv.AWS_ACCESS_KEY_ID, "k",
                FerryEnv.AWS_SECRET_ACCESS_KEY, "s"));
        try (SqsClient sqs = AwsClients.sqs(env)) {
            SdkException failure = null;
            try {
                sqs.listMessageMoveTasks(r -> r.sourceArn("arn:aws:sqs:us-east-1:123456789012:dlq"));
            } catch (SdkException e) {
                failure = e;
            }
            assertEquals(Optional.of("sqs:ListMessageMoveTasks"), AwsErrors.action(failure));
            assertTrue(AwsErrors.describe(failure).startsWith("sqs:ListMessageMoveTasks failed"),
                    AwsErrors.describe(failure));
        }
        assertEquals(URI.create("http://127.0.0.1:9").getPort(), 9);
    }
}
