package dev.ferry.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The test machinery (the testkit's fault proxies, fake metadata service and worker processes; the
 * chaos soak), the benchmarks, and the backends' container launcher and sweep live in modules of
 * their own, and no product artifact carries them or refers to them: not local-stack's classes or
 * jar, not the runtime classpath {@code scripts/run-local.sh} starts
 * the local stack with, not the functions' Lambda jar, not the worker's jar, not the command line's jar. A class counts when it
 * lies in one of those packages, or when its constant pool names a class in one.
 *
 * <p>An IT (failsafe, after {@code package}): the jars and the classpath file are written by the
 * package phase of this module and of the modules it depends on. The pom passes their paths.
 */
class NoTestMachineryShippedIT {

    /**
     * The packages of the test machinery and the benchmarks, as class file names write them;
     * {@code dev/ferry/local/chaos/} is where the soak used to be.
     */
    static final List<String> FORBIDDEN_PACKAGES = List.of("dev/ferry/testkit/", "dev/ferry/chaos/",
            "dev/ferry/backends/", "dev/ferry/local/chaos/", "dev/ferry/bench/");
    /** Their Maven artifacts, as they would appear in a classpath or a shaded jar's META-INF/maven. */
    static final List<String> FORBIDDEN_ARTIFACTS = List.of("ferry-testkit", "ferry-chaos", "ferry-bench",
            "ferry-backends");

    @Test
    void localStackClasses_holdAndReferToNoTestMachinery() throws IOException {
        Path classes = path("ferry.localStack.classes");
        List<String> found = new ArrayList<>();
        try (Stream<Path> files = Files.walk(classes)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                String name = classes.relativize(file).toString().replace('\\', '/');
                check(name, Files.readAllBytes(file), found);
            }
        }
        assertEquals(List.of(), found, classes + " must not carry test machinery");
    }

    @Test
    void localStackJar_holdsAndRefersToNoTestMachinery() throws IOException {
        assertEquals(List.of(), scanJar(path("ferry.localStack.jar")));
    }

    @Test
    void localStackRuntimeClasspath_hasNoTestMachinery() throws IOException {
        Path file = path("ferry.localStack.classpath");
        String classpath = Files.readString(file);
        assertTrue(classpath.contains("ferry-worker-ec2"), "the classpath file looks wrong: " + file);
        for (String artifact : FORBIDDEN_ARTIFACTS) {
            assertTrue(!classpath.contains(artifact), file + " (scripts/run-local.sh) names " + artifact);
        }
    }

    @Test
    void functionsJar_holdsAndRefersToNoTestMachinery() throws IOException {
        assertEquals(List.of(), scanJar(path("ferry.functions.jar")));
    }

    @Test
    void workerJar_holdsAndRefersToNoTestMachinery() throws IOException {
        assertEquals(List.of(), scanJar(path("ferry.worker.jar")));
    }

    @Test
    void cliJar_holdsAndRefersToNoTestMachinery() throws IOException {
        assertEquals(List.of(), scanJar(path("ferry.cli.jar")));
    }

    /**
     * The command line is a client of the HTTP API: its jar (what {@code scripts/ferry} and {@code
     * java -jar} run) carries no other Ferry module (local-stack is its ITs' dependency, in test
     * scope only), no AWS SDK and no test framework.
     */
    @Test
    void cliJar_carriesOnlyTheCli_andNoLocalStackSdkOrTestFramework() throws IOException {
        Path jar = path("ferry.cli.jar");
        List<String> found = new ArrayList<>();
        boolean main = false;
        try (JarFile file = new JarFile(jar.toFile())) {
            Enumeration<JarEntry> entries = file.entries();
            while (entries.hasMoreElements()) {
                String name = entries.nextElement().getName();
                main |= name.equals("dev/ferry/cli/FerryCli.class");
                if (name.endsWith("/")) {
                    continue; // a directory: its files are what count
                }
                boolean otherFerry = name.startsWith("dev/ferry/") && !name.startsWith("dev/ferry/cli/");
                boolean otherArtifact = name.startsWith("META-INF/maven/dev.ferry/")
                        && !name.startsWith("META-INF/maven/dev.ferry/ferry-cli/");
                if (otherFerry || otherArtifact || name.startsWith("software/amazon/") || name.startsWith("org/junit/")
                        || name.startsWith("org/opentest4j/")) {
                    found.add(name);
                }
            }
            assertEquals("dev.ferry.cli.FerryCli", file.getManifest().getMainAttributes().getValue("Main-Class"));
        }
        assertTrue(main, jar + " has no dev/ferry/cli/FerryCli.class: is it the cli's shaded jar?");
        assertEquals(List.of(), found.size() > 20 ? found.subList(0, 20) : found, jar + " carries more than the cli");
    }

    private static List<String> scanJar(Path jar) throws IOException {
        List<String> found = new ArrayList<>();
        try (JarFile file = new JarFile(jar.toFile())) {
            Enumeration<JarEntry> entries = file.entries();
            while (entries.hasMoreElements()) {
                JarEntry entry = entries.nextElement();
                String name = entry.getName();
                for (String artifact : FORBIDDEN_ARTIFACTS) {
                    if (name.startsWith("META-INF/maven/dev.ferry/" + artifact + "/")) {
                        found.add(jar.getFileName() + "!" + name);
                    }
                }
                if (name.endsWith(".class")) {
                    try (InputStream in = file.getInputStream(entry)) {
                        check(jar.getFileName() + "!" + name, in.readAllBytes(), found);
                    }
                }
            }
        }
        return found;
    }

    /** Notes {@code name} if it lies in a forbidden package or its bytes name a class in one. */
    static void check(String name, byte[] classFile, List<String> found) {
        String entry = name.contains("!") ? name.substring(name.indexOf('!') + 1) : name;
        String text = new String(classFile, StandardCharsets.ISO_8859_1);
        for (String forbidden : FORBIDDEN_PACKAGES) {
            if (entry.startsWith(forbidden)) {
                found.add(name + " is test machinery");
            } else if (text.contains(forbidden)) {
                found.add(name + " refers to " + forbidden.replace('/', '.'));
            }
        }
    }

    private static Path path(String property) {
        String value = System.getProperty(property);
        assertTrue(value != null, "system property " + property + " is not set: run through mvn verify");
        Path path = Path.of(value);
        assertTrue(Files.exists(path), path + " does not exist: build the product first (mvn verify, or mvn"
                + " package, from the repository root)");
        return path;
    }
}
