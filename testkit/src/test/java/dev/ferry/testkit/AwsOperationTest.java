package dev.ferry.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which operation a request names, S3's REST requests above all: the method, the path, the subresource. */
class AwsOperationTest {

    private static final String S3_AUTHORIZATION = "Authorization: AWS4-HMAC-SHA256 Credential=local/20250101/"
            + "us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123";

    private static HttpWire.Request request(String method, String target, String... headers) {
        List<HttpWire.Header> fields = new ArrayList<>();
        fields.add(new HttpWire.Header("Host", "127.0.0.1:1234"));
        for (String header : headers) {
            int colon = header.indexOf(':');
            fields.add(new HttpWire.Header(header.substring(0, colon).trim(), header.substring(colon + 1).trim()));
        }
        return new HttpWire.Request(new HttpWire.Head(method + " " + target + " HTTP/1.1", fields), new byte[0],
                new byte[0]);
    }

    private static String s3(String method, String target, String... headers) {
        List<String> all = new ArrayList<>(List.of(headers));
        all.add(S3_AUTHORIZATION);
        AwsOperation operation = AwsOperation.of(request(method, target, all.toArray(String[]::new)));
        assertEquals(AwsOperation.Protocol.REST_XML, operation.protocol(), target);
        return operation.name();
    }

    @Test
    void s3Objects_byMethod() {
        assertEquals("PutObject", s3("PUT", "/ferry-files/jobs/01K/1/result.json"));
        assertEquals("GetObject", s3("GET", "/ferry-files/jobs/01K/1/result.json"));
        assertEquals("HeadObject", s3("HEAD", "/ferry-files/uploads/up_01K"));
        assertEquals("DeleteObject", s3("DELETE", "/ferry-files/uploads/up_01K"));
        assertEquals("CopyObject", s3("PUT", "/ferry-files/a/b", "x-amz-copy-source: /ferry-files/a/c"));
        assertEquals("GetObject", s3("GET", "/ferry-files/jobs/01K/1/files/image%20one.png?versionId=3"));
    }

    @Test
    void s3Subresources_andMultipart() {
        assertEquals("CreateMultipartUpload", s3("POST", "/b/big.bin?uploads"));
        assertEquals("UploadPart", s3("PUT", "/b/big.bin?partNumber=2&uploadId=xyz"));
        assertEquals("UploadPartCopy", s3("PUT", "/b/big.bin?partNumber=2&uploadId=xyz", "x-amz-copy-source: /b/c"));
        assertEquals("CompleteMultipartUpload", s3("POST", "/b/big.bin?uploadId=xyz"));
        assertEquals("AbortMultipartUpload", s3("DELETE", "/b/big.bin?uploadId=xyz"));
        assertEquals("ListParts", s3("GET", "/b/big.bin?uploadId=xyz"));
        assertEquals("PutObjectTagging", s3("PUT", "/b/k?tagging"));
    }

    @Test
    void s3Buckets_andTheService() {
        assertEquals("ListBuckets", s3("GET", "/"));
        assertEquals("CreateBucket", s3("PUT", "/ferry-files"));
        assertEquals("HeadBucket", s3("HEAD", "/ferry-files/"));
        assertEquals("ListObjectsV2", s3("GET", "/ferry-files?list-type=2&prefix=jobs%2F"));
        assertEquals("ListObjects", s3("GET", "/ferry-files?prefix=jobs%2F"));
        assertEquals("PutBucketLifecycleConfiguration", s3("PUT", "/ferry-files?lifecycle"));
        assertEquals("DeleteObjects", s3("POST", "/ferry-files?delete"));
        assertEquals(AwsOperation.UNKNOWN, s3("PATCH", "/ferry-files/k"));
    }

    @Test
    void s3_isRecognisedByItsSignature_aPresignedUrl_orItsPayloadHash() {
        HttpWire.Request presigned = request("GET", "/ferry-files/jobs/01K/1/files/out.bin?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                + "&X-Amz-Credential=local%2F20250101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=ab");
        HttpWire.Request hashed = request("PUT", "/b/k", "x-amz-content-sha256: UNSIGNED-PAYLOAD");
        HttpWire.Request sqsQuery = request("GET", "/?Action=ListQueues&X-Amz-Credential=local%2F20250101%2Fus-east-1"
                + "%2Fsqs%2Faws4_request");
        HttpWire.Request plain = request("PUT", "/b/k");

        assertEquals("GetObject", AwsOperation.of(presigned).name());
        assertEquals("PutObject", AwsOperation.of(hashed).name());
        assertEquals("ListQueues", AwsOperation.of(sqsQuery).name(), "SQS's query protocol is not S3");
        assertEquals(AwsOperation.UNKNOWN, AwsOperation.of(plain).name());
    }

    @Test
    void s3Errors_areXml_throttlingIsA503SlowDown_andAHeadsAnswerHasNoBody() {
        AwsOperation put = AwsOperation.of(request("PUT", "/b/k", S3_AUTHORIZATION));
        AwsOperation head = AwsOperation.of(request("HEAD", "/b/k", S3_AUTHORIZATION));

        assertEquals("SlowDown", put.throttleCode());
        assertEquals(503, put.throttleStatus(400));
        assertEquals("InternalError", put.serverErrorCode(500));
        String answer = new String(put.errorResponse(request("PUT", "/b/k"), 503, "SlowDown",
                put.defaultMessage("SlowDown"), false), StandardCharsets.UTF_8);
        String headAnswer = new String(head.errorResponse(request("HEAD", "/b/k"), 503, "SlowDown",
                head.defaultMessage("SlowDown"), false), StandardCharsets.UTF_8);

        assertEquals("HTTP/1.1 503 Service Unavailable", answer.lines().findFirst().orElseThrow());
        assertEquals(true, answer.contains("\r\nContent-Type: application/xml\r\n"), answer);
        assertEquals(true, answer.contains("\r\nx-amz-request-id: "), answer);
        assertEquals(true, answer.endsWith("<Error><Code>SlowDown</Code><Message>Please reduce your request rate."
                + "</Message><RequestId>" + answer.replaceAll("(?s).*<RequestId>([^<]*)<.*", "$1") + "</RequestId>"
                + "<HostId>" + answer.replaceAll("(?s).*<HostId>([^<]*)<.*", "$1") + "</HostId></Error>"), answer);
        assertEquals(true, headAnswer.endsWith("\r\nContent-Length: 0\r\n\r\n"), headAnswer);
    }

    @Test
    void otherServices_throttleWithA400() {
        AwsOperation dynamoDb = AwsOperation.of(request("POST", "/", "X-Amz-Target: DynamoDB_20120810.UpdateItem"));
        assertEquals(400, dynamoDb.throttleStatus(400));
        assertEquals("ProvisionedThroughputExceededException", dynamoDb.throttleCode());
    }
}
