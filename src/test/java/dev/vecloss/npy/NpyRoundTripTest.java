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
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every dtype written by {@link Npy#write} and read back by {@link Npy#read}, bit for bit. */
class NpyRoundTripTest {
    @TempDir
    Path dir;

    private static final long[][] SHAPES = {{}, {1}, {7}, {0}, {3, 0, 2}, {2, 3, 4}};

    static Stream<Arguments> dtypesAndShapes() {
        return Arrays.stream(DType.values())
                .flatMap(t -> Arrays.stream(SHAPES).map(s -> Arguments.of(t, s)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dtypesAndShapes")
    void roundTripKeepsDtypeShapeAndBits(DType dtype, long[] shape) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = Tensor.allocate(arena, dtype, shape);
            fill(t);
            Path file = dir.resolve("t.npy");
            Npy.write(file, t);
            // Preamble and header take a multiple of 64 bytes, as NumPy writes them.
            assertEquals(0, (Files.size(file) - t.segment().byteSize()) % 64);
            try (NpyArray a = Npy.read(file)) {
                Tensor r = a.tensor();
                assertEquals(file, a.path());
                assertEquals(dtype, r.dtype());
                assertArrayEquals(shape, r.shape());
                assertEquals(t.numel(), r.numel());
                assertEquals(-1L, t.segment().mismatch(r.segment()), "bytes differ");
            }
        }
    }

    /** Special values, then a ramp: NaN, infinities, -0.0, subnormals, extreme integers. */
    private static void fill(Tensor t) {
        MemorySegment s = t.segment();
        long n = t.numel();
        double[] doubles = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -0.0, 0.0,
            Double.MIN_VALUE, Double.MAX_VALUE, -1.5};
        float[] floats = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0.0f, 0.0f,
            Float.MIN_VALUE, Float.MAX_VALUE, -1.5f};
        long[] longs = {Long.MIN_VALUE, Long.MAX_VALUE, -1, 0, 1, Integer.MIN_VALUE, 42};
        int[] ints = {Integer.MIN_VALUE, Integer.MAX_VALUE, -1, 0, 1, 42};
        for (long i = 0; i < n; i++) {
            int k = (int) i;
            switch (t.dtype()) {
                case FLOAT64 -> s.setAtIndex(LE_F64, i, k < doubles.length ? doubles[k] : k * 0.25);
                case FLOAT32 -> s.setAtIndex(LE_F32, i, k < floats.length ? floats[k] : k * 0.25f);
                case INT64 -> s.setAtIndex(LE_I64, i, k < longs.length ? longs[k] : k * 1_000_000_007L);
                case INT32 -> s.setAtIndex(LE_I32, i, k < ints.length ? ints[k] : -k);
                case UINT8 -> s.set(ValueLayout.JAVA_BYTE, i, (byte) (k < 2 ? 255 * k : k));
                case BOOL -> s.set(ValueLayout.JAVA_BYTE, i, (byte) (k % 3 == 0 ? 1 : 0));
            }
        }
    }

    private static final ValueLayout.OfDouble LE_F64 =
            ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat LE_F32 =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE_I64 =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE_I32 =
            ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    @Test
    void specialValuesReadBackThroughTheTensorApi() throws IOException {
        Path f = dir.resolve("f.npy");
        Npy.write(f, Tensor.of(new double[] {Double.NaN, Double.NEGATIVE_INFINITY, -0.0, 1e308}));
        try (NpyArray a = Npy.read(f)) {
            double[] d = a.tensor().toDoubleArray();
            assertTrue(Double.isNaN(d[0]));
            assertEquals(Double.NEGATIVE_INFINITY, d[1]);
            assertEquals(Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits(d[2]));
            assertEquals(1e308, d[3]);
        }
        Path l = dir.resolve("l.npy");
        Npy.write(l, Tensor.of(new long[] {Long.MIN_VALUE, Long.MAX_VALUE, -1, 0, 1, 2}, 2, 3));
        try (NpyArray a = Npy.read(l)) {
            assertArrayEquals(new long[] {Long.MIN_VALUE, Long.MAX_VALUE, -1, 0, 1, 2}, a.tensor().toLongArray());
            assertArrayEquals(new long[] {2, 3}, a.tensor().shape());
        }
    }

    /** The exact bytes NumPy's {@code np.save} writes for {@code np.zeros((2, 3), np.float32)}. */
    @Test
    void headerIsByteForByteWhatNumpyWrites() throws IOException {
        Path f = dir.resolve("z.npy");
        Npy.write(f, Tensor.of(new float[6], 2, 3));
        byte[] expected = NpyFiles.npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", new byte[24]);
        assertArrayEquals(expected, Files.readAllBytes(f));
        assertEquals(128, expected.length - 24);

        Npy.write(f, Tensor.of(MemorySegment.ofArray(new long[] {7}), DType.INT64)); // 0-d
        byte[] scalar = Files.readAllBytes(f);
        String header = new String(scalar, 10, scalar.length - 18, StandardCharsets.ISO_8859_1);
        assertTrue(header.startsWith("{'descr': '<i8', 'fortran_order': False, 'shape': (), }"), header);
        Npy.write(f, Tensor.of(new int[] {7}));
        byte[] one = Files.readAllBytes(f);
        assertTrue(new String(one, StandardCharsets.ISO_8859_1).contains("'shape': (1,), }"));
    }

    @Test
    void writeUsesVersion2OnlyWhenTheHeaderNeedsIt() throws IOException {
        Path f = dir.resolve("big.npy");
        long[] shape = new long[9000]; // 9000 zeros: a header of about 27 KB fits version 1.0
        Npy.write(f, Tensor.of(MemorySegment.ofArray(new byte[0]), DType.UINT8, shape));
        assertEquals(1, Files.readAllBytes(f)[6]);
        // More than 64 KiB of header needs version 2.0, though we read at most 64 dimensions.
        long[] huge = new long[25_000];
        Npy.write(f, Tensor.of(MemorySegment.ofArray(new byte[0]), DType.UINT8, huge));
        byte[] b = Files.readAllBytes(f);
        assertEquals(2, b[6]);
        assertEquals(0, b.length % 64);
        NpyFormatException e = assertThrows(NpyFormatException.class, () -> Npy.read(f));
        assertTrue(e.getMessage().contains("more than 64 dimensions"), e.getMessage());
    }

    @Test
    void writesHeapAndNativeSegmentsAndReplacesAnExistingFile() throws IOException {
        Path f = dir.resolve("r.npy");
        Files.writeString(f, "old content");
        float[] data = new float[300_000]; // more than one 1 MiB copy chunk
        for (int i = 0; i < data.length; i++) {
            data[i] = i * 0.5f;
        }
        Npy.write(f, Tensor.of(data, 600, 500));
        try (NpyArray a = Npy.read(f)) {
            assertArrayEquals(data, a.tensor().toFloatArray());
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(4 * 3 + 1).asSlice(1); // unaligned native slice
            for (int i = 0; i < 3; i++) {
                seg.setAtIndex(LE_F32, i, -i);
            }
            Npy.write(f, Tensor.of(seg, DType.FLOAT32, 3));
        }
        try (NpyArray a = Npy.read(f)) {
            assertArrayEquals(new float[] {0, -1, -2}, a.tensor().toFloatArray());
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(1, files.count(), "only the target remains");
        }
    }
}
