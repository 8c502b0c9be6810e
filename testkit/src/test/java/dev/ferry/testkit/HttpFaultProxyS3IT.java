package dev.ferry.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.core.AwsClients;
import dev.ferry.core.FerryEnv;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;
import org.jclouds.blobstore.TransientApiMetadata;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * The proxy in front of S3 as the worker meets it: core's {@link AwsClients#s3} (path-style, no
 * call or attempt timeout, checksums only where required) through the proxy to S3Proxy over
 * jclouds' in-memory store, which checks every SigV4 signature, as the local stack runs it. The
 * signature made for the proxy's address must still check out behind it, and each fault must do to
 * a {@code PutObject}, {@code GetObject} or {@code HeadObject} what S3's own would.
 */
class HttpFaultProxyS3IT {

    private static final String REGION = "us-east-1";
    private static final String KEY = "local";

    private static BlobStoreContext blobs;
    private static S3Proxy s3Proxy;
    private static URI s3Endpoint;
    private static S3Client direct;

    private HttpFaultProxy proxy;
    private S3Client s3;
    private String bucket;

    @BeforeAll
    static void startS3() throws Exception {
        blobs = ContextBuilder.newBuilder(new TransientApiMetadata()).credentials(KEY, KEY).build(BlobStoreContext.class);
        s3Proxy = S3Proxy.builder().blobStore(blobs.getBlobStore()).endpoint(URI.create("http://localhost:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, KEY, KEY).build();
        s3Proxy.start();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!"STARTED".equals(s3Proxy.getState()) && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        s3Endpoint = URI.create("http://localhost:" + s3Proxy.getPort());
        direct = AwsClients.s3(env(s3Endpoint));
    }

    @AfterAll
    static void stopS3() throws Exception {
        direct.close();
        s3Proxy.stop();
        blobs.close();
    }

    private static FerryEnv env(URI endpoint) {
        return FerryEnv.of(Map.of(FerryEnv.AWS_REGION, REGION, FerryEnv.AWS_ACCESS_KEY_ID, KEY,
                FerryEnv.AWS_SECRET_ACCESS_KEY, KEY, FerryEnv.AWS_ENDPOINT_URL_S3, endpoint.toString(),
                FerryEnv.AWS_REQUEST_CHECKSUM_CALCULATION, "WHEN_REQUIRED"));
    }

    @BeforeEach
    void startProxy() {
        proxy = HttpFaultProxy.start("s3", s3Endpoint);
        s3 = AwsClients.s3(env(proxy.endpoint()));
        bucket = "b" + UUID.randomUUID().toString().replace("-", "").substring(0, 20);
        direct.createBucket(r -> r.bucket(bucket));
    }

    @AfterEach
    void stopProxy() {
        s3.close();
        proxy.close();
    }

    private void put(String key, String text) {
        s3.putObject(r -> r.bucket(bucket).key(key).contentType("text/plain; charset=utf-8"),
                RequestBody.fromString(text, StandardCharsets.UTF_8));
    }

    private String stored(String key) {
        return direct.getObjectAsBytes(r -> r.bucket(bucket).key(key)).asUtf8String();
    }

    @Test
    void withoutFaults_signedRequestsPassUnchanged_andAreNamed() {
        put("jobs/01K/1/log.txt", "hello");

        assertEquals("hello", s3.getObjectAsBytes(r -> r.bucket(bucket).key("jobs/01K/1/log.txt")).asUtf8String());
        assertEquals(5L, s3.headObject(r -> r.bucket(bucket).key("jobs/01K/1/log.txt")).contentLength());
        assertEquals(1, s3.listObjectsV2(r -> r.bucket(bucket).prefix("jobs/")).keyCount());
        assertEquals(1, proxy.requests("PutObject"));
        assertEquals(1, proxy.requests("GetObject"));
        assertEquals(1, proxy.requests("HeadObject"));
        assertEquals(1, proxy.requests("ListObjectsV2"));
    }

    @Test
    void loseResponse_onPutObject_isApplied_thenRetriedByTheSdk() {
        proxy.add(FaultRule.on("PutObject").next(1).then(Fault.loseResponse()));

        put("jobs/01K/1/result.json", "{\"a\":1}");

        assertEquals("{\"a\":1}", stored("jobs/01K/1/result.json"));
        assertEquals(2, proxy.requests("PutObject"), "applied, its answer lost, sent again");
        assertEquals(1, proxy.injected(FaultKind.LOSE_RESPONSE, "PutObject"));
    }

    @Test
    void throttle_isA503SlowDown_thatTheSdkTakesForThrottling_andRetries() {
        proxy.add(FaultRule.on("PutObject").next(1).then(Fault.throttle()));
        put("k1", "one");
        assertEquals("one", stored("k1"));
        assertEquals(2, proxy.requests("PutObject"));

        proxy.add(FaultRule.on("PutObject").then(Fault.throttle()));
        S3Exception e = assertThrows(S3Exception.class, () -> put("k2", "two"));
        assertEquals(503, e.statusCode());
        assertEquals("SlowDown", e.awsErrorDetails().errorCode());
        assertTrue(e.isThrottlingException(), e.toString());
        assertTrue(proxy.requests("PutObject") >= 4, "the SDK tried again: " + proxy.requests("PutObject"));
    }

    @Test
    void serverErrors_beforeAndAfter_areRetried_aHeadsToo() {
        direct.putObject(r -> r.bucket(bucket).key("k"), RequestBody.fromString("v"));
        proxy.add(FaultRule.on("GetObject").next(1).then(Fault.serverErrorBefore(500)));
        proxy.add(FaultRule.on("PutObject").next(1).then(Fault.serverErrorAfter(503)));
        proxy.add(FaultRule.on("HeadObject").next(1).then(Fault.serverErrorBefore(503)));

        assertEquals("v", s3.getObjectAsBytes(r -> r.bucket(bucket).key("k")).asUtf8String());
        put("k2", "w");
        assertEquals(1L, s3.headObject(r -> r.bucket(bucket).key("k")).contentLength());

        assertEquals("w", stored("k2"));
        assertEquals(2, proxy.requests("GetObject"));
        assertEquals(2, proxy.requests("PutObject"));
        assertEquals(2, proxy.requests("HeadObject"));
        assertEquals(3, proxy.injected(FaultKind.SERVER_ERROR));
    }

    @Test
    void aHeadOfAMissingKeyThrottledForGood_failsWith503_andTheClientGoesOn() {
        proxy.add(FaultRule.on("HeadObject").then(Fault.throttle()));
        S3Exception e = assertThrows(S3Exception.class, () -> s3.headObject(r -> r.bucket(bucket).key("missing")));
        assertEquals(503, e.statusCode());
        proxy.clearRules();

        put("after", "x");
        assertEquals("x", stored("after"));
    }

    @Test
    void slow_isOnlyALateAnswer_forAClientWithoutAnAttemptTimeout() {
        proxy.add(FaultRule.on("PutObject").next(1).then(Fault.slow(Duration.ofMillis(1_500))));
        long start = System.nanoTime();

        put("late", "x");

        assertTrue(System.nanoTime() - start >= 1_500_000_000L);
        assertEquals(1, proxy.requests("PutObject"), "never abandoned, so never sent twice");
        assertEquals("x", stored("late"));
    }

    @Test
    void refuse_isAnS3ErrorWithTheGivenCode() {
        proxy.add(FaultRule.on("PutObject").then(Fault.refuse(403, "AccessDenied", "no (test)")));
        S3Exception e = assertThrows(S3Exception.class, () -> put("denied", "x"));
        assertEquals(403, e.statusCode());
        assertEquals("AccessDenied", e.awsErrorDetails().errorCode());
        assertEquals(List.of(), direct.listObjectsV2(r -> r.bucket(bucket).prefix("denied")).contents());
    }
}
