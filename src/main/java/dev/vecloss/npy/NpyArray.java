package dev.vecloss.npy;

import dev.vecloss.Tensor;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A {@code .npy} file mapped into memory by {@link Npy#read}: its {@link #tensor()} is a
 * read-only view of the file's data, valid until {@link #close()} unmaps it. The mapping
 * belongs to a shared arena, so the tensor can be read from any thread (the parallel
 * kernels do), but it must not be used after, or while, the array is closed.
 */
public final class NpyArray implements AutoCloseable {
    private final Path path;
    private final Tensor tensor;
    private final Arena arena;
    private final AtomicBoolean closed = new AtomicBoolean();

    NpyArray(Path path, Tensor tensor, Arena arena) {
        this.path = path;
        this.tensor = tensor;
        this.arena = arena;
    }

    /** The array as a read-only tensor over the mapped file; valid until {@link #close()}. */
    public Tensor tensor() {
        return tensor;
    }

    /** The file the array was read from, as given to {@link Npy#read}. */
    public Path path() {
        return path;
    }

    /** Unmaps the file; any later access to the tensor's elements throws. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "NpyArray[" + path + ": " + tensor + "]";
    }
}
