package dev.ferry.local;

import java.net.BindException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.CrossOriginResourceSharing;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;
import org.jclouds.blobstore.TransientApiMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * S3 in this JVM: S3Proxy over jclouds' in-memory blob store, on localhost. Buckets are addressed
 * as paths ({@code http://localhost:<port>/<bucket>/<key>}), and requests are checked as S3 checks
 * them: signed with SigV4 (or V2) by {@link #ACCESS_KEY_ID}/{@link #SECRET_ACCESS_KEY}, so a
 * presigned URL works from curl or a browser until it expires, and a tampered, expired or unsigned
 * one is refused with 403.
 *
 * <p>What S3Proxy 2.9 does differently from S3:
 * <ul>
 *   <li>it keeps no lifecycle rules ({@code PutBucketLifecycleConfiguration} answers 501): objects
 *       live until the server stops, in the heap, so a large file costs its size in memory;
 *   <li>it does not read the SDK's default uploads over plain HTTP, which stream the body in
 *       signed chunks with a trailing CRC32 ({@code STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER}):
 *       clients ask for checksums only where an operation requires them
 *       ({@code AWS_REQUEST_CHECKSUM_CALCULATION=WHEN_REQUIRED}, which
 *       {@code AwsClients.s3} reads), and then send signed chunks without a trailer, which it
 *       does read;
 *   <li>it stores a {@code Content-Type} as Jetty normalises it ({@code application/json;charset=utf-8},
 *       with no space);
 *   <li>it sends no CORS headers here: the template gives the bucket no CORS rules (Ferry's
 *       clients are scripts), and so no web page in a browser on this machine may read it.
 * </ul>
 */
public final class EmbeddedS3 implements AutoCloseable {

    /** The key pair S3Proxy checks signatures with: the local stack's clients sign with it. */
    public static final String ACCESS_KEY_ID = "local";
    public static final String SECRET_ACCESS_KEY = "local";
    /** The value of {@code AWS_REQUEST_CHECKSUM_CALCULATION} whose uploads S3Proxy can read. */
    public static final String CHECKSUM_WHEN_REQUIRED = "WHEN_REQUIRED";

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedS3.class);
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    /** Enough for the workers' and the API's transfers; S3Proxy's default is 200. */
    private static final int MAX_THREADS = 64;

    private final BlobStoreContext context;
    private final S3Proxy server;
    private final URI endpoint;

    private EmbeddedS3(BlobStoreContext context, S3Proxy server, int port) {
        this.context = context;
        this.server = server;
        this.endpoint = URI.create("http://localhost:" + port);
    }

    /** Starts S3Proxy on a free port. */
    public static EmbeddedS3 start() {
        return start(0);
    }

    /**
     * Starts S3Proxy on localhost.
     *
     * @param port the port, 0 for a free one
     * @throws PortInUseException when the port is taken
     * @throws IllegalStateException when S3Proxy does not start
     */
    public static EmbeddedS3 start(int port) {
        if (port < 0 || port > 65_535) {
            throw new IllegalArgumentException("port must be 0-65535, but is " + port);
        }
        BlobStoreContext context = ContextBuilder.newBuilder(new TransientApiMetadata())
                .credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
                .build(BlobStoreContext.class);
        S3Proxy server = S3Proxy.builder()
                .blobStore(context.getBlobStore())
                .endpoint(URI.create("http://localhost:" + port))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY_ID, SECRET_ACCESS_KEY)
                // No origin, method or header allowed: no CORS headers at all, as the template's bucket.
                .corsRules(new CrossOriginResourceSharing(List.of(), List.of(), List.of(), List.of(), ""))
                .jettyMaxThreads(MAX_THREADS)
                .build();
        try {
            server.start();
            awaitStarted(server);
        } catch (Exception e) {
            stopQuietly(server);
            context.close();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            if (hasCause(e, BindException.class)) {
                throw new PortInUseException("S3Proxy (S3)", port, e);
            }
            throw new IllegalStateException("cannot start S3Proxy (S3) on port " + port + ": " + e, e);
        }
        EmbeddedS3 s3 = new EmbeddedS3(context, server, server.getPort());
        LOG.debug("S3Proxy listening on {}", s3.endpoint);
        return s3;
    }

    private static void awaitStarted(S3Proxy server) throws InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!"STARTED".equals(server.getState())) {
            if ("FAILED".equals(server.getState()) || System.nanoTime() > deadline) {
                throw new IllegalStateException("S3Proxy is " + server.getState() + " after "
                        + START_TIMEOUT.toSeconds() + " s");
            }
            Thread.sleep(5);
        }
    }

    /** The S3 endpoint, {@code http://localhost:<port>}: {@code AWS_ENDPOINT_URL_S3}, path-style. */
    public URI endpoint() {
        return endpoint;
    }

    /** Stops the server; every bucket and object is gone. */
    @Override
    public void close() {
        try {
            server.stop();
        } catch (Exception e) {
            throw new IllegalStateException("S3Proxy on " + endpoint + " did not stop cleanly: " + e, e);
        } finally {
            context.close();
        }
        LOG.debug("S3Proxy on {} stopped", endpoint);
    }

    @Override
    public String toString() {
        return "EmbeddedS3[" + endpoint + "]";
    }

    private static void stopQuietly(S3Proxy server) {
        try {
            server.stop();
        } catch (Exception e) {
            LOG.debug("stopping an S3Proxy that did not start failed too", e);
        }
    }

    private static boolean hasCause(Throwable error, Class<? extends Throwable> type) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }
}
