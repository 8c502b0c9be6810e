package dev.ferry.backends;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * Starts an AWS emulator in a container (Testcontainers) for {@code scripts/test-backends.sh},
 * prints one line on stdout and keeps it running until this process is stopped (SIGTERM: the
 * container is stopped; if this process dies harder, Testcontainers' reaper removes it):
 *
 * <ul>
 *   <li>{@code endpoint=http://localhost:32768}: the emulator answers there, for every service;</li>
 *   <li>{@code skip=<reason>}: it cannot run here (no Docker engine answers, or the image does
 *       not start), and the script reports the backend as skipped with that reason.</li>
 * </ul>
 *
 * <pre>{@code java -cp <classpath> dev.ferry.backends.ContainerBackend localstack|floci}</pre>
 *
 * <p>Images are pinned, and need no account or auth token: LocalStack 4.14.0, its last community
 * release (from 2026.03 LocalStack's image requires an auth token); Floci 1.5.34.
 */
public final class ContainerBackend {

    /** An emulator: its pinned image, its port, and the path that answers 200 once it is ready. */
    record Emulator(String name, String image, int port, String healthPath, Map<String, String> environment) {
    }

    static final Map<String, Emulator> EMULATORS = Map.of(
            "localstack", new Emulator("localstack", "localstack/localstack:4.14.0", 4566, "/_localstack/health",
                    Map.of("SERVICES", "sqs,dynamodb,dynamodbstreams,sts")),
            "floci", new Emulator("floci", "floci/floci:1.5.34", 4566, "/_floci/health", Map.of()));

    /** How long Docker may take to answer Testcontainers' first question. */
    static final Duration DOCKER_ANSWER = Duration.ofSeconds(20);
    /** How long a container may take to be ready, the image's pull included. */
    static final Duration STARTUP = Duration.ofMinutes(5);

    private ContainerBackend() {
    }

    public static void main(String[] args) throws InterruptedException {
        if (args.length != 1 || !EMULATORS.containsKey(args[0].toLowerCase(Locale.ROOT))) {
            System.err.println("usage: ContainerBackend " + String.join("|", EMULATORS.keySet().stream().sorted().toList()));
            System.exit(2);
        }
        Emulator emulator = EMULATORS.get(args[0].toLowerCase(Locale.ROOT));
        Optional<String> noDocker = noDockerEngine(System.getenv(), Path.of(System.getProperty("user.home")));
        if (noDocker.isPresent()) {
            say("skip=" + noDocker.get());
            return;
        }
        GenericContainer<?> container = new GenericContainer<>(DockerImageName.parse(emulator.image()))
                .withExposedPorts(emulator.port())
                .withEnv(emulator.environment())
                .waitingFor(Wait.forHttp(emulator.healthPath()).forPort(emulator.port()).forStatusCode(200)
                        .withStartupTimeout(STARTUP));
        try {
            container.start();
        } catch (RuntimeException e) {
            say("skip=" + emulator.image() + " did not start: " + oneLine(e));
            return;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            container.stop();
            stopped.countDown();
        }, "stop-" + emulator.name()));
        say("endpoint=http://" + container.getHost() + ":" + container.getMappedPort(emulator.port()));
        stopped.await();
    }

    /**
     * Why no Docker engine can be used here, if none can: decided at once where there is no
     * {@code DOCKER_HOST} and no socket file (the Docker client alone is not an engine), else by
     * asking Testcontainers, for at most {@link #DOCKER_ANSWER}.
     */
    static Optional<String> noDockerEngine(Map<String, String> environment, Path home) {
        Optional<String> none = nothingToAsk(environment, home, candidateSockets(environment, home));
        if (none.isPresent()) {
            return none;
        }
        String host = environment.get("DOCKER_HOST");
        ExecutorService asking = Executors.newSingleThreadExecutor(r -> {
            Thread thread = new Thread(r, "docker-check");
            thread.setDaemon(true);
            return thread;
        });
        try {
            Future<Boolean> available = asking.submit(() -> DockerClientFactory.instance().isDockerAvailable());
            return available.get(DOCKER_ANSWER.toSeconds(), TimeUnit.SECONDS) ? Optional.empty()
                    : Optional.of("no Docker engine answers (" + describe(host) + ")");
        } catch (TimeoutException e) {
            return Optional.of("no Docker engine answered within " + DOCKER_ANSWER.toSeconds() + " s ("
                    + describe(host) + ")");
        } catch (ExecutionException e) {
            return Optional.of("no Docker engine answers (" + describe(host) + "): " + oneLine(e.getCause()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.of("interrupted while asking for a Docker engine");
        } finally {
            asking.shutdownNow();
        }
    }

    /**
     * Why there is no engine to ask, if there is none: no {@code DOCKER_HOST}, no Testcontainers
     * configuration that could name one, and none of {@code sockets} exists.
     */
    static Optional<String> nothingToAsk(Map<String, String> environment, Path home, List<Path> sockets) {
        String host = environment.get("DOCKER_HOST");
        if ((host == null || host.isBlank()) && !Files.exists(home.resolve(".testcontainers.properties"))
                && sockets.stream().noneMatch(Files::exists)) {
            return Optional.of("no Docker engine: DOCKER_HOST is unset and there is no Docker socket ("
                    + String.join(", ", sockets.stream().map(Path::toString).toList()) + ")");
        }
        return Optional.empty();
    }

    /** Where a local Docker engine (rootful, rootless, Docker Desktop) keeps its socket. */
    static List<Path> candidateSockets(Map<String, String> environment, Path home) {
        List<Path> sockets = new ArrayList<>();
        sockets.add(Path.of("/var/run/docker.sock"));
        String runtime = environment.get("XDG_RUNTIME_DIR");
        if (runtime != null && !runtime.isBlank()) {
            sockets.add(Path.of(runtime, "docker.sock"));
        }
        sockets.add(home.resolve(".docker/run/docker.sock"));
        sockets.add(home.resolve(".docker/desktop/docker.sock"));
        return sockets;
    }

    private static String describe(String host) {
        return host == null || host.isBlank() ? "the local socket" : "DOCKER_HOST=" + host;
    }

    private static String oneLine(Throwable e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return message.replaceAll("\\s+", " ").trim();
    }

    private static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
