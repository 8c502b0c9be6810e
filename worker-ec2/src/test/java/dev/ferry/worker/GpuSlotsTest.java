package dev.ferry.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.worker.GpuSlots.NvidiaSmi;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class GpuSlotsTest {

    // p5.48xlarge-style single line, as printed by driver 535+.
    private static final String ONE_H100 =
            "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-5a0f0b6e-1111-2222-3333-444455556666)\n";

    // p4d.24xlarge.
    private static final String EIGHT_A100 = """
            GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-d4cb6b7e-4b3b-4a49-9c1b-000000000000)
            GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-d4cb6b7e-4b3b-4a49-9c1b-000000000001)
            GPU 2: NVIDIA A100-SXM4-40GB (UUID: GPU-d4cb6b7e-4b3b-4a49-9c1b-000000000002)
            GPU 3: NVIDIA A100-SXM4-40GB (UUID: GPU-d4cb6b7e-4b3b-4a49-9c1b-000000000003)
            GPU 4: NVIDIA A100-SXM4-40GB (UUID: GPU-d4cb6b7e-4b3b-4a49-9c1b-000000000004)
            GPU 5: NVIDIA A100-SXM4-40GB (UUID: GPU-d4cb6b7e-4b3b-4a49-9c1b-000000000005)
            GPU 6: NVIDIA A100-SXM4-40GB (UUID: GPU-d4cb6b7e-4b3b-4a49-9c1b-000000000006)
            GPU 7: NVIDIA A100-SXM4-40GB (UUID: GPU-d4cb6b7e-4b3b-4a49-9c1b-000000000007)
            """;

    // GPU 0 split into MIG instances, GPU 1 whole.
    private static final String MIG_AND_WHOLE = """
            GPU 0: NVIDIA A100-SXM4-80GB (UUID: GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77)
              MIG 3g.40gb     Device  0: (UUID: MIG-c6d4f1ef-42e4-5de3-91c7-45d71c87eb3f)
              MIG 2g.20gb     Device  1: (UUID: MIG-cba663e8-9bed-5b25-b243-5985ef7c9beb)
              MIG 1g.10gb     Device  2: (UUID: MIG-1c6b1d2e-58ef-5f6b-8e3b-0a3c6b3e8f41)
            GPU 1: NVIDIA A100-SXM4-80GB (UUID: GPU-7f2e3c1a-0b9d-4e8f-a6c5-3d2b1a0f9e8d)
            """;

    // Drivers before R470 named MIG devices after their GPU, GPU instance and compute instance.
    private static final String OLD_DRIVER_MIG = """
            GPU 0: A100-SXM4-40GB (UUID: GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77)
              MIG 3g.20gb Device 0: (UUID: MIG-GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77/1/0)
              MIG 3g.20gb Device 1: (UUID: MIG-GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77/2/0)
            """;

    private static final NvidiaSmi NOT_CALLED = () -> {
        throw new AssertionError("nvidia-smi must not be run when FERRY_SLOTS is set");
    };

    @Test
    void detect_oneGpu_oneSlotPinnedByUuid() {
        assertEquals(List.of(new GpuSlot(0, "GPU-5a0f0b6e-1111-2222-3333-444455556666")),
                GpuSlots.detect(Map.of(), () -> Optional.of(ONE_H100)));
    }

    @Test
    void detect_eightGpus_eightSlotsInOrder() {
        List<GpuSlot> slots = GpuSlots.detect(Map.of(), () -> Optional.of(EIGHT_A100));

        assertEquals(8, slots.size());
        for (int i = 0; i < 8; i++) {
            assertEquals(new GpuSlot(i, "GPU-d4cb6b7e-4b3b-4a49-9c1b-00000000000" + i), slots.get(i));
        }
    }

    @Test
    void detect_migInstances_areTheSlotsOfTheirGpu() {
        assertEquals(List.of(
                        new GpuSlot(0, "MIG-c6d4f1ef-42e4-5de3-91c7-45d71c87eb3f"),
                        new GpuSlot(1, "MIG-cba663e8-9bed-5b25-b243-5985ef7c9beb"),
                        new GpuSlot(2, "MIG-1c6b1d2e-58ef-5f6b-8e3b-0a3c6b3e8f41"),
                        new GpuSlot(3, "GPU-7f2e3c1a-0b9d-4e8f-a6c5-3d2b1a0f9e8d")),
                GpuSlots.detect(Map.of(), () -> Optional.of(MIG_AND_WHOLE)));
    }

    @Test
    void detect_oldDriverMigNames_areKeptWhole() {
        assertEquals(List.of(
                        new GpuSlot(0, "MIG-GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77/1/0"),
                        new GpuSlot(1, "MIG-GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77/2/0")),
                GpuSlots.detect(Map.of(), () -> Optional.of(OLD_DRIVER_MIG)));
    }

    @Test
    void detect_windowsLineEnds_areParsed() {
        assertEquals(2, GpuSlots.detect(Map.of(), () -> Optional.of(EIGHT_A100.lines().limit(2)
                .map(line -> line + "\r\n").reduce("", String::concat))).size());
    }

    @Test
    void detect_ferrySlots_overridesDetection() {
        assertEquals(List.of(new GpuSlot(0, "0"), new GpuSlot(1, "1"), new GpuSlot(2, "2")),
                GpuSlots.detect(Map.of("FERRY_SLOTS", "3"), NOT_CALLED));
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "-1", "two", "", "1.5", "+2", "99999999999"})
    void detect_badFerrySlots_namesTheVariableAndValue(String value) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GpuSlots.detect(Map.of("FERRY_SLOTS", value), NOT_CALLED));

        assertEquals("FERRY_SLOTS must be a positive integer, got '" + value + "'", e.getMessage());
    }

    @Test
    void detect_noNvidiaSmi_saysToSetFerrySlots() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> GpuSlots.detect(Map.of(), Optional::empty));

        assertEquals("no GPU was found by `nvidia-smi -L` (it is not installed or failed); set FERRY_SLOTS to the "
                + "number of jobs to run at once to run without GPUs", e.getMessage());
    }

    @Test
    void detect_nvidiaSmiListsNoGpu_quotesIt() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> GpuSlots.detect(Map.of(), () -> Optional.of("No devices were found\n")));

        assertTrue(e.getMessage().startsWith("no GPU was found by `nvidia-smi -L` (it printed: No devices were found)"),
                e.getMessage());
        assertTrue(e.getMessage().contains("set FERRY_SLOTS"), e.getMessage());
    }

    @Test
    void output_returnsStdoutOfASuccessfulProgram() {
        assertEquals(Optional.of("GPU 0: x\n"),
                GpuSlots.output(Duration.ofSeconds(5), "/bin/sh", "-c", "echo 'GPU 0: x'; echo noise >&2"));
    }

    @Test
    void output_failingProgram_isEmpty() {
        assertEquals(Optional.empty(), GpuSlots.output(Duration.ofSeconds(5), "/bin/sh", "-c", "echo 'NVML error'; exit 9"));
    }

    @Test
    void output_missingProgram_isEmpty() {
        assertEquals(Optional.empty(), GpuSlots.output(Duration.ofSeconds(5), "ferry-no-such-program", "-L"));
    }

    @Test
    void output_programPastTheTimeout_isEmptyAndDoesNotWaitForIt() {
        long start = System.nanoTime();

        assertEquals(Optional.empty(), GpuSlots.output(Duration.ofMillis(200), "/bin/sh", "-c", "echo 'GPU 0: x'; sleep 5; true"));
        assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofSeconds(2)) < 0);
    }
}
