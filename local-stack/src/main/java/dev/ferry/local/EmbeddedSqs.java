package dev.ferry.local;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.net.BindException;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.http.scaladsl.Http;
import org.elasticmq.NodeAddress;
import org.elasticmq.rest.sqs.SQSRestServer;
import org.elasticmq.rest.sqs.SQSRestServerBuilder;
import org.elasticmq.rest.sqs.TheSQSRestServerBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.concurrent.duration.FiniteDuration;
import scala.jdk.javaapi.FutureConverters;

/**
 * SQS in this JVM: an ElasticMQ server on localhost. Queue URLs have the form
 * {@code http://localhost:<port>/000000000000/<name>}, ARNs
 * {@code arn:aws:sqs:<region>:000000000000:<name>}.
 *
 * <p>ElasticMQ runs on an actor system of its own that does not stop itself on JVM shutdown
 * (Pekko's default would): workers still need SQS to give their jobs back while a shutdown hook
 * closes them, so SQS stops only when {@link #close()} says so.
 *
 * <p>What ElasticMQ 1.7 does differently from SQS:
 * <ul>
 *   <li>it accepts but ignores {@code MessageRetentionPeriod} and {@code MaximumMessageSize} (its
 *       strict limits cap messages at 256 KiB anyway);
 *   <li>it rejects {@code RedriveAllowPolicy}, so {@link LocalResources} checks that policy itself;
 *   <li>{@code StartMessageMoveTask} without a destination looks for the dead-letter queue's source
 *       only among redrive policies given to {@code CreateQueue}; for one set later by
 *       {@code SetQueueAttributes} it fails inside and never answers (the client times out), so
 *       {@link LocalResources} creates queues with their redrive policy;
 *   <li>a message moved back from a dead-letter queue keeps its message id (SQS gives it a new one).
 * </ul>
 */
public final class EmbeddedSqs implements AutoCloseable {

    /** The account id in ElasticMQ's queue URLs and ARNs. */
    public static final String ACCOUNT_ID = "000000000000";
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedSqs.class);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
    /** How long a request still open at {@link #close()} may take before its connection is closed. */
    private static final Duration REQUEST_GRACE = Duration.ofSeconds(5);

    private final ActorSystem actorSystem;
    private final SQSRestServer server;
    private final URI endpoint;

    private EmbeddedSqs(ActorSystem actorSystem, SQSRestServer server, int port) {
        this.actorSystem = actorSystem;
        this.server = server;
        this.endpoint = URI.create("http://localhost:" + port);
    }

    /** Starts ElasticMQ on a free port; its ARNs carry {@code region}. */
    public static EmbeddedSqs start(String region) {
        return start(0, region);
    }

    /**
     * Starts ElasticMQ on localhost.
     *
     * @param port the port, 0 for a free one
     * @param region the region in the queue ARNs; make it the SDK clients' region
     * @throws PortInUseException when the port is taken
     * @throws IllegalStateException when ElasticMQ does not start
     */
    public static EmbeddedSqs start(int port, String region) {
        Objects.requireNonNull(region, "region");
        ActorSystem actorSystem = ActorSystem.create("elasticmq", pekkoConfig());
        try {
            TheSQSRestServerBuilder builder = SQSRestServerBuilder
                    .withActorSystem(actorSystem)
                    .withInterface("localhost")
                    .withAWSRegion(region)
                    .withAWSAccountId(ACCOUNT_ID);
            // Queue URLs carry the node address: with a dynamic port ElasticMQ makes it from the
            // port it bound; with a fixed one it would otherwise say 9324.
            builder = port == 0
                    ? builder.withDynamicPort()
                    : builder.withPort(port).withServerAddress(new NodeAddress("http", "localhost", port, ""));
            SQSRestServer server = builder.start();
            int bound = server.waitUntilStarted().localAddress().getPort();
            EmbeddedSqs sqs = new EmbeddedSqs(actorSystem, server, bound);
            LOG.debug("ElasticMQ listening on {}", sqs.endpoint);
            return sqs;
        } catch (RuntimeException e) {
            terminate(actorSystem);
            if (hasCause(e, BindException.class)) {
                throw new PortInUseException("ElasticMQ (SQS)", port, e);
            }
            throw new IllegalStateException("cannot start ElasticMQ (SQS) on port " + port + ": " + e, e);
        }
    }

    /** The SQS endpoint, {@code http://localhost:<port>}: {@code AWS_ENDPOINT_URL_SQS}. */
    public URI endpoint() {
        return endpoint;
    }

    /**
     * Stops the server and its actor system; queued messages are gone. Requests still open get
     * {@link #REQUEST_GRACE} to finish, then their connections are closed: ElasticMQ's own stop
     * waits a minute for them and then fails, so one client that left a request open (a long poll
     * whose JVM is shutting down) made closing the whole local stack fail.
     */
    @Override
    public void close() {
        try {
            Http.ServerBinding binding = server.waitUntilStarted();
            FutureConverters.asJava(binding.terminate(
                            FiniteDuration.create(REQUEST_GRACE.toMillis(), TimeUnit.MILLISECONDS)))
                    .toCompletableFuture()
                    .get(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.warn("ElasticMQ on {} did not close its connections within {}: {}", endpoint, STOP_TIMEOUT,
                    e.toString());
        } finally {
            terminate(actorSystem); // ours (withActorSystem), so ElasticMQ leaves it running
        }
        LOG.debug("ElasticMQ on {} stopped", endpoint);
    }

    private static Config pekkoConfig() {
        return ConfigFactory.parseMap(Map.of(
                        "pekko.coordinated-shutdown.run-by-jvm-shutdown-hook", "off",
                        "pekko.loglevel", "WARNING",
                        "pekko.stdout-loglevel", "WARNING",
                        "pekko.log-dead-letters", "off",
                        "pekko.log-dead-letters-during-shutdown", "off"))
                .withFallback(ConfigFactory.load(EmbeddedSqs.class.getClassLoader()));
    }

    private static void terminate(ActorSystem actorSystem) {
        try {
            actorSystem.terminate();
            actorSystem.getWhenTerminated().toCompletableFuture()
                    .get(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.warn("ElasticMQ's actor system did not stop within {}: {}", STOP_TIMEOUT, e.toString());
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
