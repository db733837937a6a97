package dev.vecloss.npy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Npy#write} leaves the whole new file or nothing, and never a temporary file. */
class NpyWriteTest {
    @TempDir
    Path dir;

    private List<Path> filesIn(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.toList();
        }
    }

    @Test
    void missingDirectoryLeavesNothing() throws IOException {
        Path f = dir.resolve("no/such/dir/out.npy");
        IOException e = assertThrows(IOException.class, () -> Npy.write(f, Tensor.of(new float[] {1})));
        assertTrue(e instanceof NoSuchFileException, e.toString());
        assertEquals(List.of(), filesIn(dir));
    }

    @Test
    void targetThatIsADirectoryIsKeptAndNoTempRemains() throws IOException {
        Path target = Files.createDirectory(dir.resolve("out.npy"));
        Files.writeString(target.resolve("inside.txt"), "keep");
        assertThrows(IOException.class, () -> Npy.write(target, Tensor.of(new float[] {1, 2})));
        assertEquals(List.of(target), filesIn(dir));
        assertTrue(Files.isDirectory(target));
        assertEquals(List.of(target.resolve("inside.txt")), filesIn(target));

        Path empty = Files.createDirectory(dir.resolve("empty.npy"));
        assertThrows(IOException.class, () -> Npy.write(empty, Tensor.of(new float[] {1, 2})));
        assertTrue(Files.isDirectory(empty));
        assertEquals(2, filesIn(dir).size());
    }

    @Test
    void failureWhileWritingDataKeepsTheOldFile() throws IOException {
        Path f = dir.resolve("out.npy");
        Npy.write(f, Tensor.of(new float[] {1, 2, 3}));
        byte[] before = Files.readAllBytes(f);
        Tensor dead;
        try (Arena arena = Arena.ofConfined()) {
            dead = Tensor.allocate(arena, dev.vecloss.DType.FLOAT32, 4);
        }
        // The tensor's memory is gone: the copy fails after the temporary file was created.
        assertThrows(IllegalStateException.class, () -> Npy.write(f, dead));
        assertArrayEquals(before, Files.readAllBytes(f));
        assertEquals(List.of(f), filesIn(dir));
    }

    @Test
    void relativePathAndEmptyTensor() throws IOException {
        Path f = dir.resolve("e.npy");
        Npy.write(f, Tensor.of(MemorySegment.ofArray(new float[0]), dev.vecloss.DType.FLOAT32, 0, 5));
        try (NpyArray a = Npy.read(f)) {
            assertArrayEquals(new long[] {0, 5}, a.tensor().shape());
        }
        Path cwd = Path.of("").toAbsolutePath();
        Path rel = cwd.relativize(dir.resolve("rel.npy"));
        assertFalse(rel.isAbsolute());
        Npy.write(rel, Tensor.of(new int[] {4, 5}));
        try (NpyArray a = Npy.read(rel)) {
            assertArrayEquals(new long[] {4, 5}, a.tensor().toLongArray());
            assertEquals(rel, a.path());
        }
    }
}
