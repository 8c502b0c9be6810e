package dev.ferry.worker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How many jobs this machine runs at once, and which GPU each one gets: one {@link GpuSlot} per
 * GPU that {@code nvidia-smi -L} lists, or {@value #ENV_SLOTS} slots where that variable is set.
 */
public final class GpuSlots {

    /**
     * Number of slots, overriding GPU detection; slot {@code i} gets {@code CUDA_VISIBLE_DEVICES=i}.
     * For machines without a GPU (local runs, tests), or to run a set number of jobs at once.
     */
    public static final String ENV_SLOTS = WorkerConfig.SLOTS;

    private static final Logger LOG = LoggerFactory.getLogger(GpuSlots.class);

    // GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-5a0f0b6e-1111-2222-3333-444455556666)
    private static final Pattern GPU_LINE = Pattern.compile("^GPU \\d+: .*\\(UUID: (GPU-[^)\\s]+)\\)\\s*$");
    // "  MIG 1g.10gb     Device  0: (UUID: MIG-...)"; drivers before R470 wrote MIG-GPU-<uuid>/<gi>/<ci>.
    private static final Pattern MIG_LINE = Pattern.compile("^\\s+MIG .*Device\\s+\\d+: \\(UUID: (MIG-[^)\\s]+)\\)\\s*$");
    private static final Pattern POSITIVE_INT = Pattern.compile("[1-9][0-9]*");
    private static final int QUOTED_OUTPUT_CHARS = 200;

    private GpuSlots() {
    }

    /** Lists the machine's GPUs. */
    @FunctionalInterface
    public interface NvidiaSmi {

        /** How long {@link #system()} waits for {@code nvidia-smi -L}. */
        Duration TIMEOUT = Duration.ofSeconds(10);

        /**
         * @return what {@code nvidia-smi -L} printed on stdout; empty when it is not installed,
         *     fails, or does not finish in time
         */
        Optional<String> list();

        /** @return the real {@code nvidia-smi -L}, given at most {@link #TIMEOUT} to answer */
        static NvidiaSmi system() {
            return () -> output(TIMEOUT, "nvidia-smi", "-L");
        }
    }

    /**
     * The slots of this machine.
     *
     * <p>When a GPU is split into MIG instances, its MIG devices are the slots, not the GPU: with
     * MIG mode on, CUDA work runs only inside MIG instances, a process sees at most one of them,
     * and each has its own memory and compute, so one job per instance is how the GPU is meant to
     * be shared. A MIG device's UUID is a valid {@code CUDA_VISIBLE_DEVICES} value.
     *
     * @param env the environment, usually {@link System#getenv()}; {@value #ENV_SLOTS} is read
     * @param nvidiaSmi asked only when {@value #ENV_SLOTS} is not set
     * @return at least one slot, indexed from 0 in {@code nvidia-smi} order
     * @throws IllegalArgumentException {@value #ENV_SLOTS} is not a positive integer
     * @throws IllegalStateException {@value #ENV_SLOTS} is not set and no GPU was found
     */
    public static List<GpuSlot> detect(Map<String, String> env, NvidiaSmi nvidiaSmi) {
        String configured = env.get(ENV_SLOTS);
        if (configured != null) {
            List<GpuSlot> slots = numbered(configured);
            LOG.info("{}={}: {} slot(s), no GPU detection", ENV_SLOTS, configured, slots.size());
            return slots;
        }
        Optional<String> listing = nvidiaSmi.list();
        List<GpuSlot> slots = listing.map(GpuSlots::parse).orElse(List.of());
        if (slots.isEmpty()) {
            throw new IllegalStateException("no GPU was found by `nvidia-smi -L` ("
                    + listing.map(GpuSlots::quote).orElse("it is not installed or failed")
                    + "); set " + ENV_SLOTS + " to the number of jobs to run at once to run without GPUs");
        }
        LOG.info("{} slot(s) from nvidia-smi -L: {}", slots.size(),
                slots.stream().map(GpuSlot::cudaVisibleDevices).toList());
        return slots;
    }

    private static List<GpuSlot> numbered(String configured) {
        String text = configured.strip();
        if (POSITIVE_INT.matcher(text).matches()) {
            try {
                int count = Integer.parseInt(text);
                List<GpuSlot> slots = new ArrayList<>(count);
                for (int i = 0; i < count; i++) {
                    slots.add(new GpuSlot(i, String.valueOf(i)));
                }
                return List.copyOf(slots);
            } catch (NumberFormatException e) {
                // too big for an int: reported below
            }
        }
        throw new IllegalArgumentException(ENV_SLOTS + " must be a positive integer, got '" + configured + "'");
    }

    /** One slot per GPU, or per MIG device of a GPU that has them (see {@link #detect}). */
    private static List<GpuSlot> parse(String listing) {
        List<String> devices = new ArrayList<>();
        String gpu = null;
        List<String> migs = new ArrayList<>();
        for (String line : listing.split("\\R")) {
            Matcher gpuLine = GPU_LINE.matcher(line);
            Matcher migLine = MIG_LINE.matcher(line);
            if (gpuLine.matches()) {
                addGpu(devices, gpu, migs);
                gpu = gpuLine.group(1);
                migs.clear();
            } else if (migLine.matches() && gpu != null) {
                migs.add(migLine.group(1));
            }
        }
        addGpu(devices, gpu, migs);
        List<GpuSlot> slots = new ArrayList<>();
        for (String device : devices) {
            slots.add(new GpuSlot(slots.size(), device));
        }
        return List.copyOf(slots);
    }

    private static void addGpu(List<String> devices, String gpu, List<String> migs) {
        if (gpu != null) {
            devices.addAll(migs.isEmpty() ? List.of(gpu) : migs);
        }
    }

    private static String quote(String output) {
        String text = output.strip();
        if (text.isEmpty()) {
            return "it printed nothing";
        }
        return "it printed: " + (text.length() <= QUOTED_OUTPUT_CHARS ? text : text.substring(0, QUOTED_OUTPUT_CHARS) + "...");
    }

    /**
     * Runs {@code command} and returns its stdout, or empty when it cannot start, exits with a
     * non-zero code or runs past {@code timeout} (then it is killed). Stdout goes through a file,
     * so a program that prints a lot cannot block on a full pipe while this waits.
     */
    static Optional<String> output(Duration timeout, String... command) {
        String commandLine = String.join(" ", command);
        Path stdout = null;
        Process process = null;
        try {
            stdout = Files.createTempFile("ferry-", ".out");
            process = new ProcessBuilder(command)
                    .redirectOutput(stdout.toFile())
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            if (!process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                LOG.warn("{} did not finish within {}: killed", commandLine, timeout);
                return Optional.empty();
            }
            if (process.exitValue() != 0) {
                LOG.warn("{} exited with {}", commandLine, process.exitValue());
                return Optional.empty();
            }
            return Optional.of(Files.readString(stdout, StandardCharsets.UTF_8));
        } catch (IOException e) {
            LOG.info("could not run {}: {}", commandLine, e.toString());
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for " + commandLine, e);
        } finally {
            if (process != null) { // no-ops once it has exited
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
            }
            if (stdout != null) {
                try {
                    Files.deleteIfExists(stdout);
                } catch (IOException e) {
                    LOG.debug("could not delete {}: {}", stdout, e.toString());
                }
            }
        }
    }
}
