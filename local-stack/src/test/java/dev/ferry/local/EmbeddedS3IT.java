package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ferry.core.AwsClients;
import dev.ferry.core.FerryEnv;
import dev.ferry.core.JobFiles;
import java.io.IOException;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/**
 * The embedded S3 as Ferry uses it: {@link JobFiles} over the clients {@link AwsClients} makes
 * from the local stack's settings, and presigned URLs fetched by plain HTTP clients (java.net.http,
 * curl), which S3Proxy checks as S3 does: a tampered, expired or unsigned request is refused.
 */
class EmbeddedS3IT {

    private static final String REGION = "us-east-1";
    private static final AtomicInteger BUCKETS = new AtomicInteger();

    private static EmbeddedS3 embeddedS3;
    private static FerryEnv env;
    private static S3Client s3;
    private static S3Presigner presigner;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    Path temp;

    @BeforeAll
    static void start() {
        embeddedS3 = EmbeddedS3.start();
        env = FerryEnv.of(localEnvironment(Map.of()));
        s3 = AwsClients.s3(env);
        presigner = AwsClients.s3Presigner(env);
    }

    @AfterAll
    static void stop() {
        if (s3 != null) {
            s3.close();
            presigner.close();
        }
        if (embeddedS3 != null) {
            embeddedS3.close();
        }
    }

    /** What the local stack gives its functions and workers for S3, with {@code more} over it. */
    private static Map<String, String> localEnvironment(Map<String, String> more) {
        Map<String, String> values = new HashMap<>(Map.of(
                FerryEnv.AWS_REGION, REGION,
                FerryEnv.AWS_ENDPOINT_URL_S3, embeddedS3.endpoint().toString(),
                FerryEnv.AWS_ACCESS_KEY_ID, EmbeddedS3.ACCESS_KEY_ID,
                FerryEnv.AWS_SECRET_ACCESS_KEY, EmbeddedS3.SECRET_ACCESS_KEY,
                FerryEnv.AWS_REQUEST_CHECKSUM_CALCULATION, EmbeddedS3.CHECKSUM_WHEN_REQUIRED));
        values.putAll(more);
        return values;
    }

    private static String newBucket() {
        String bucket = "ferry-it" + BUCKETS.incrementAndGet() + "-files-000000000000-us-east-1";
        s3.createBucket(r -> r.bucket(bucket));
        return bucket;
    }

    private static JobFiles files(String bucket, Duration urlExpiry) {
        return new JobFiles(s3, presigner, bucket, urlExpiry, Clock.systemUTC());
    }

    @Test
    void listensOnLocalhost_onAFreePortOfItsOwn() {
        assertEquals("localhost", embeddedS3.endpoint().getHost());
        try (EmbeddedS3 another = EmbeddedS3.start()) {
            assertNotEquals(embeddedS3.endpoint().getPort(), another.endpoint().getPort());
        }
    }

    @Test
    void presignedPut_thenPresignedGet_carryTheBytes_forAPlainHttpClient() throws Exception {
        JobFiles files = files(newBucket(), Duration.ofMinutes(5));
        JobFiles.Upload upload = files.presignUpload();
        assertTrue(upload.url().toString().startsWith(embeddedS3.endpoint() + "/" + files.bucket() + "/uploads/up_"),
                "path-style, on the embedded endpoint: " + upload.url());
        byte[] bytes = new byte[3 * 1024 * 1024 + 7];
        new Random(7).nextBytes(bytes);
        HttpResponse<String> put = HTTP.send(HttpRequest.newBuilder(upload.url().toURI())
                .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, put.statusCode(), put.body());
        assertEquals((long) bytes.length, files.head(upload.key()).orElseThrow().size());

        HttpResponse<byte[]> get = HTTP.send(HttpRequest.newBuilder(files.presignGet(upload.key()).toURI()).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, get.statusCode());
        assertArrayEquals(bytes, get.body());
    }

    @Test
    void presignedUrls_workFromCurl() throws Exception {
        assumeTrue(onPath("curl"), "no curl on PATH");
        JobFiles files = files(newBucket(), Duration.ofMinutes(5));
        Path input = Files.writeString(temp.resolve("input.txt"), "from curl\n");
        JobFiles.Upload upload = files.presignUpload();
        assertEquals(0, curl("-sS", "-f", "-T", input.toString(), upload.url().toString()), "curl -T (PUT)");
        Path output = temp.resolve("output.txt");
        assertEquals(0, curl("-sS", "-f", "-o", output.toString(), files.presignGet(upload.key()).toString()), "curl GET");
        assertEquals("from curl\n", Files.readString(output));
    }

    @Test
    void tamperedExpiredAndUnsignedRequests_areRefused() throws Exception {
        String bucket = newBucket();
        JobFiles files = files(bucket, Duration.ofMinutes(5));
        String key = files.putText(JobFiles.resultKey("job1", 1), "{\"ok\":true}", "application/json");
        String url = files.presignGet(key).toString();

        assertEquals(403, status(url.replace("X-Amz-Signature=", "X-Amz-Signature=0")), "tampered signature");
        assertEquals(403, status(url.replace("/job1/", "/job2/")), "another key under the same signature");
        assertEquals(403, status(embeddedS3.endpoint() + "/" + bucket + "/" + key), "no signature");
        URL shortLived = files(bucket, Duration.ofSeconds(1)).presignGet(key);
        TimeUnit.MILLISECONDS.sleep(2_100);
        assertEquals(403, status(shortLived.toString()), "expired");
        assertEquals(200, status(url), "the URL as signed");
    }

    @Test
    void jobFiles_storeAndReadOutputsResultsAndLogs_throughTheLocalStacksClients() throws IOException {
        JobFiles files = files(newBucket(), Duration.ofMinutes(5));
        Path outputs = Files.createDirectories(temp.resolve("out"));
        byte[] image = new byte[200_000];
        new Random(1).nextBytes(image);
        Files.write(outputs.resolve("image.png"), image);
        Files.writeString(outputs.resolve("notes.txt"), "é, ü and 猫\n");
        List<JobFiles.StoredFile> stored = files.putOutputs("job1", 2, outputs);
        assertEquals(List.of("image.png", "notes.txt"), stored.stream().map(JobFiles.StoredFile::name).toList());
        assertEquals("jobs/job1/2/files/image.png", stored.get(0).key());

        // Text with a charset: what S3Proxy 2.6 refused (its signature check saw Jetty's rewriting).
        String result = files.putText(JobFiles.resultKey("job1", 2), "{\"text\":\"猫\"}", "application/json");
        assertEquals("{\"text\":\"猫\"}", files.getText(result));
        assertEquals(java.util.Optional.empty(), files.head(JobFiles.logKey("job1", 2)));

        Path copy = temp.resolve("copy/image.png");
        files.download(stored.get(0).key(), null, copy);
        assertArrayEquals(image, Files.readAllBytes(copy));
    }

    @Test
    void sdkDefaultChecksums_areWhatS3ProxyCannotRead_soTheLocalStackAsksForThemOnlyWhenRequired() {
        String bucket = newBucket();
        Map<String, String> sdkDefault = localEnvironment(Map.of());
        sdkDefault.remove(FerryEnv.AWS_REQUEST_CHECKSUM_CALCULATION);
        try (S3Client defaults = AwsClients.s3(FerryEnv.of(sdkDefault))) {
            S3Exception refused = assertThrows(S3Exception.class, () -> defaults.putObject(
                    r -> r.bucket(bucket).key("k"), RequestBody.fromString("x")));
            assertEquals(400, refused.statusCode(), "a trailing checksum in signed chunks: " + refused.getMessage());
        }
        s3.putObject(r -> r.bucket(bucket).key("k"), RequestBody.fromString("x"));
        assertEquals("x", s3.getObjectAsBytes(r -> r.bucket(bucket).key("k")).asUtf8String());

        IllegalStateException wrong = assertThrows(IllegalStateException.class, () -> AwsClients.s3(FerryEnv.of(
                localEnvironment(Map.of(FerryEnv.AWS_REQUEST_CHECKSUM_CALCULATION, "sometimes")))));
        assertTrue(wrong.getMessage().contains(FerryEnv.AWS_REQUEST_CHECKSUM_CALCULATION), wrong.getMessage());
    }

    @Test
    void noCrossOriginAccess_asTheTemplatesBucketHasNoCorsRules() throws Exception {
        JobFiles files = files(newBucket(), Duration.ofMinutes(5));
        String key = files.putText(JobFiles.logKey("job1", 1), "log", "text/plain");
        HttpResponse<String> get = HTTP.send(HttpRequest.newBuilder(files.presignGet(key).toURI())
                .header("Origin", "https://elsewhere.example").build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, get.statusCode(), "the URL itself works");
        assertEquals(java.util.Optional.empty(), get.headers().firstValue("Access-Control-Allow-Origin"),
                "but no page of another origin may read it");
        HttpResponse<String> preflight = HTTP.send(HttpRequest.newBuilder(URI.create(embeddedS3.endpoint() + "/"
                        + files.bucket() + "/uploads/x"))
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                .header("Origin", "https://elsewhere.example").header("Access-Control-Request-Method", "PUT").build(),
                HttpResponse.BodyHandlers.ofString());
        assertTrue(preflight.statusCode() >= 400, "preflight refused: " + preflight.statusCode());
        assertEquals(java.util.Optional.empty(), preflight.headers().firstValue("Access-Control-Allow-Origin"));
    }

    @Test
    void close_stopsListening() throws Exception {
        EmbeddedS3 stopped = EmbeddedS3.start();
        URI endpoint = stopped.endpoint();
        assertEquals(403, status(endpoint + "/"), "up: an unsigned request is refused, not unanswered");
        stopped.close();
        assertThrows(ConnectException.class, () -> status(endpoint + "/"));
    }

    @Test
    void fixedPort_thatIsTaken_failsNamingThePort() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 50, java.net.InetAddress.getByName("localhost"))) {
            PortInUseException error = assertThrows(PortInUseException.class, () -> EmbeddedS3.start(taken.getLocalPort()));
            assertTrue(error.getMessage().contains(Integer.toString(taken.getLocalPort())), error.getMessage());
        }
    }

    private static int status(String url) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.discarding())
                .statusCode();
    }

    private static boolean onPath(String program) {
        String path = System.getenv("PATH");
        return path != null && java.util.Arrays.stream(path.split(java.io.File.pathSeparator))
                .anyMatch(dir -> Files.isExecutable(Path.of(dir, program)));
    }

    private int curl(String... args) throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of("curl", "--max-time", "30"));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(temp.resolve("curl-" + System.nanoTime() + ".log").toFile()).start();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "curl did not finish");
        return process.exitValue();
    }
}
