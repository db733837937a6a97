package dev.vecloss.npy;

import dev.vecloss.Tensor;
import java.lang.foreign.Arena;
import java.nio.file.Path;

/**
 * TEMPORARY stand-in written by the cli branch so it compiles; replaced by the npy branch's
 * class at merge. A memory-mapped {@code .npy} array, valid until {@link #close()}.
 */
public final class NpyArray implements AutoCloseable {
    private final Path path;
    private final Tensor tensor;
    private final Arena arena;

    NpyArray(Path path, Tensor tensor, Arena arena) {
        this.path = path;
        this.tensor = tensor;
        this.arena = arena;
    }

    public Tensor tensor() {
        return tensor;
    }

    public Path path() {
        return path;
    }

    @Override
    public void close() {
        arena.close();
    }
}
