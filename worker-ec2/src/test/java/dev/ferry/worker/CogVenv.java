package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real Cog, from PyPI, for the tests: a virtual environment under {@code target/cog-venv}
 * with {@code cog} and {@code coglet} at {@link #VERSION}, made by the first test that needs it
 * and reused after (a {@code mvn clean} makes it again). Where pip or PyPI cannot be reached the
 * tests that need it are skipped, saying why; under CI ({@code CI=true}) they fail instead.
 */
final class CogVenv {

    /** The Cog release the tests run; its server is coglet (Rust), its models BaseRunner.run or BasePredictor.predict. */
    static final String VERSION = "0.23.1";
    static final Path DIR = Path.of("target", "cog-venv").toAbsolutePath();
    private static final long INSTALL_MINUTES = 5;

    private static Path bin;

    private CogVenv() {
    }

    /** The venv's {@code bin} directory, with {@code python} running Cog {@link #VERSION}. */
    static synchronized Path bin() throws IOException, InterruptedException {
        if (bin != null) {
            return bin;
        }
        Path candidate = DIR.resolve("bin");
        if (!installed(candidate)) {
            install(candidate);
        }
        bin = candidate;
        return bin;
    }

    private static boolean installed(Path candidate) throws IOException, InterruptedException {
        if (!Files.isExecutable(candidate.resolve("python"))) {
            return false;
        }
        Result version = run(List.of(candidate.resolve("python").toString(), "-c",
                "import cog, coglet; print(cog.__version__, coglet.__version__)"), 1);
        return version.code == 0 && version.output.strip().equals(VERSION + " " + VERSION);
    }

    private static void install(Path candidate) throws IOException, InterruptedException {
        Result venv = run(List.of("python3", "-m", "venv", "--clear", DIR.toString()), 2);
        if (venv.code != 0) {
            unavailable("python3 -m venv failed (python3 with venv is needed): " + venv.output);
        }
        Result pip = run(List.of(candidate.resolve("python").toString(), "-m", "pip", "install",
                "--disable-pip-version-check", "--no-input", "-q", "cog==" + VERSION, "coglet==" + VERSION),
                INSTALL_MINUTES);
        if (pip.code != 0) {
            unavailable("pip could not install cog==" + VERSION + " and coglet==" + VERSION + " from PyPI into " + DIR
                    + ": " + pip.output);
        }
        if (!installed(candidate)) {
            unavailable("cog " + VERSION + " was installed into " + DIR + " but does not import");
        }
    }

    private static void unavailable(String why) {
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            fail("CI needs the real Cog: " + why);
        }
        assumeTrue(false, "skipped, Cog is not available here: " + why);
    }

    private record Result(int code, String output) {
    }

    private static Result run(List<String> command, long minutes) throws IOException, InterruptedException {
        Path log = Files.createTempFile("cog-venv", ".log");
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!process.waitFor(minutes, TimeUnit.MINUTES)) {
                process.destroyForcibly();
                return new Result(-1, "timed out after " + minutes + " min: " + String.join(" ", command));
            }
            String output = Files.readString(log, StandardCharsets.UTF_8);
            return new Result(process.exitValue(), output.length() > 4000 ? output.substring(output.length() - 4000)
                    : output);
        } catch (IOException e) {
            return new Result(-1, e.toString());
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
