package dev.vecloss.npy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.DType;
import dev.vecloss.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shapes at the edges of {@code long}, as the npy files and the command line meet them (issue 7,
 * item 8): an empty array whose other dimensions are huge has no element, not "too many"; an
 * element or byte count that overflows is an {@link IllegalArgumentException} from
 * {@link Tensor}, or a format error naming the file from {@link Npy#read}.
 */
class NpyShapeTest {
    static final long HUGE = 1L << 40;

    @TempDir
    Path dir;

    @Test
    void aZeroDimensionMakesAnEmptyTensorWhateverTheOthers() {
        Tensor t = Tensor.of(MemorySegment.ofArray(new float[0]), DType.FLOAT32, HUGE, HUGE, 0);
        assertEquals(0, t.numel());
        assertArrayEquals(new long[] {HUGE, HUGE, 0}, t.shape());
        try (Arena arena = Arena.ofConfined()) {
            Tensor a = Tensor.allocate(arena, DType.FLOAT64, 0, Long.MAX_VALUE, HUGE);
            assertEquals(0, a.numel());
            assertEquals(0, a.segment().byteSize());
        }
    }

    @Test
    void aNegativeDimensionIsRefusedEvenBesideAZero() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Tensor.of(MemorySegment.ofArray(new float[0]), DType.FLOAT32, 0, -1));
        assertTrue(e.getMessage().contains("negative dimension -1 at axis 1"), e.getMessage());
        try (Arena arena = Arena.ofConfined()) {
            assertThrows(IllegalArgumentException.class, () -> Tensor.allocate(arena, DType.FLOAT32, HUGE, 0, -3));
        }
    }

    @Test
    void anOverflowingCountIsAnIllegalArgument() {
        try (Arena arena = Arena.ofConfined()) {
            // the element count fits a long, the byte count does not
            IllegalArgumentException bytes = assertThrows(IllegalArgumentException.class,
                    () -> Tensor.allocate(arena, DType.FLOAT64, 1L << 61));
            assertTrue(bytes.getMessage().contains("too large"), bytes.getMessage());
            IllegalArgumentException elements = assertThrows(IllegalArgumentException.class,
                    () -> Tensor.allocate(arena, DType.UINT8, HUGE, HUGE));
            assertTrue(elements.getMessage().contains("too many elements"), elements.getMessage());
        }
        assertThrows(IllegalArgumentException.class,
                () -> Tensor.of(MemorySegment.ofArray(new float[0]), DType.FLOAT32, HUGE, HUGE));
    }

    @Test
    void anEmptyFileWithHugeDimensionsReadsAndWritesBack() throws IOException {
        Path f = dir.resolve("empty.npy");
        Files.write(f, NpyFiles.npy(1, NpyFiles.dict("<f4", NpyFiles.tuple(HUGE, HUGE, 0)), new byte[0]));
        try (NpyArray a = Npy.read(f)) {
            assertArrayEquals(new long[] {HUGE, HUGE, 0}, a.tensor().shape());
            assertEquals(0, a.tensor().numel());
            Path back = dir.resolve("back.npy");
            Npy.write(back, a.tensor());
            assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(back));
        }
    }

    @Test
    void aFileTooLargeForALongIsAFormatError() throws IOException {
        Path f = dir.resolve("huge.npy");
        Files.write(f, NpyFiles.npy(1, NpyFiles.dict("<f8", NpyFiles.tuple(HUGE, HUGE)), new byte[0]));
        NpyFormatException e = assertThrows(NpyFormatException.class, () -> Npy.read(f));
        assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
        assertTrue(e.getMessage().contains("too large"), e.getMessage());
    }
}
