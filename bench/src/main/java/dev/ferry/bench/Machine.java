package dev.ferry.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;

/**
 * What a figure was measured on, written beside it: when, how many CPUs this JVM may use (what
 * {@code nproc} says), which CPU, which Java, which OS, and how busy the machine was as it began.
 */
record Machine(Instant date, int nproc, String cpu, String java, String os, double loadAverage) {

    static Machine current() {
        return new Machine(Instant.now().truncatedTo(ChronoUnit.SECONDS), Runtime.getRuntime().availableProcessors(),
                cpuModel().orElse(System.getProperty("os.arch")),
                System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"),
                System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                        + System.getProperty("os.arch"), currentLoadAverage());
    }

    /**
     * The system's load average over the last minute (runnable processes, on every CPU together);
     * NaN where the OS does not say. Above {@code nproc}, other work competed for the CPUs.
     */
    static double currentLoadAverage() {
        double load = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        return load < 0 ? Double.NaN : load;
    }

    /** The CPU's model name from {@code /proc/cpuinfo}, where there is one (Linux). */
    private static Optional<String> cpuModel() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                    .filter(line -> line.startsWith("model name"))
                    .map(line -> line.substring(line.indexOf(':') + 1).strip())
                    .findFirst();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }
}
