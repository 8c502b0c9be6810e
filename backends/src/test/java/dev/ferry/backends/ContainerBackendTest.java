package dev.ferry.backends;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The launcher's pinned images, and its quick answer where no Docker engine can be reached. */
class ContainerBackendTest {

    @TempDir
    Path home;

    @Test
    void noDockerHost_noSocket_isASkipAtOnce_namingWhereItLooked() {
        List<Path> sockets = List.of(home.resolve("docker.sock"));

        Optional<String> reason = ContainerBackend.nothingToAsk(Map.of(), home, sockets);

        assertEquals(Optional.of("no Docker engine: DOCKER_HOST is unset and there is no Docker socket ("
                + home.resolve("docker.sock") + ")"), reason);
    }

    @Test
    void aSocket_aDockerHost_orTestcontainersSettings_areAskedAbout() throws IOException {
        Path socket = Files.createFile(home.resolve("docker.sock"));
        assertTrue(ContainerBackend.nothingToAsk(Map.of(), home, List.of(socket)).isEmpty());
        assertTrue(ContainerBackend.nothingToAsk(Map.of("DOCKER_HOST", "tcp://127.0.0.1:2375"), home,
                List.of(home.resolve("none"))).isEmpty());
        Files.writeString(home.resolve(".testcontainers.properties"), "docker.host=tcp://127.0.0.1:2375\n");
        assertTrue(ContainerBackend.nothingToAsk(Map.of(), home, List.of(home.resolve("none"))).isEmpty());
    }

    @Test
    void sockets_includeTheRootlessAndDesktopOnes() {
        List<Path> sockets = ContainerBackend.candidateSockets(Map.of("XDG_RUNTIME_DIR", "/run/user/1000"), home);

        assertEquals(List.of(Path.of("/var/run/docker.sock"), Path.of("/run/user/1000/docker.sock"),
                home.resolve(".docker/run/docker.sock"), home.resolve(".docker/desktop/docker.sock")), sockets);
    }

    @Test
    void images_arePinned_toVersionsThatNeedNoAuthToken() {
        assertEquals("localstack/localstack:4.14.0", ContainerBackend.EMULATORS.get("localstack").image());
        assertEquals("floci/floci:1.5.34", ContainerBackend.EMULATORS.get("floci").image());
        ContainerBackend.EMULATORS.values().forEach(emulator ->
                assertFalse(emulator.image().endsWith(":latest"), emulator.image()));
    }

    @Test
    void sweepPrefix_isARunsOwn_neverTheDefaultStackName() {
        assertTrue(Sweep.RUN_PREFIX.matcher("ferry-r1a2b3c4").matches());
        assertFalse(Sweep.RUN_PREFIX.matcher("ferry").matches());
        assertFalse(Sweep.RUN_PREFIX.matcher("ferry-").matches());
        assertFalse(Sweep.RUN_PREFIX.matcher("ferry_r1a2b3c4").matches());
    }
}
