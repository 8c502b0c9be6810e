package dev.ferry.worker;

import java.util.Objects;

/**
 * One place a job can run: one GPU, or one configured slot on a machine without one.
 *
 * @param index the slot's position, 0-based
 * @param cudaVisibleDevices what {@code CUDA_VISIBLE_DEVICES} is set to for a job in this slot:
 *     the GPU's UUID when the GPU was found by {@code nvidia-smi -L} (immune to device ordering),
 *     else the slot index
 */
public record GpuSlot(int index, String cudaVisibleDevices) {
    public GpuSlot {
        Objects.requireNonNull(cudaVisibleDevices, "cudaVisibleDevices");
    }
}
