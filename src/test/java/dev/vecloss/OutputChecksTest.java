package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.npy.Npy;
import dev.vecloss.npy.NpyArray;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The outputs are checked before anything is written (issue 6, defect 1): a read-only output,
 * and an output that shares memory with an input or with the other output, are an
 * {@link IllegalArgumentException} that names them, and the call leaves every byte of every
 * tensor as it was. Class counts on both sides of the kernels' layouts: 10 (across positions)
 * and 300 (along classes).
 */
class OutputChecksTest {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @TempDir
    Path dir;

    private static float[] logits(int n, int c) {
        SplittableRandom rnd = new SplittableRandom(n * 31L + c);
        float[] x = new float[n * c];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextDouble(-4, 4);
        }
        return x;
    }

    private static long[] labels(int n, int c) {
        long[] t = new long[n];
        for (int i = 0; i < n; i++) {
            t[i] = (i * 7L) % c;
        }
        return t;
    }

    private static void assertRefused(String expectedWords, Runnable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        assertTrue(e.getMessage().contains(expectedWords), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(ints = {10, 300})
    void readOnlyGradIsRefusedBeforeAnythingIsWritten(int c) {
        int n = 40;
        float[] x = logits(n, c);
        Tensor input = Tensor.of(x, n, c);
        Tensor target = Tensor.of(labels(n, c));
        float[] losses = new float[n];
        Arrays.fill(losses, -7f);
        float[] g = new float[n * c];
        Tensor grad = Tensor.of(MemorySegment.ofArray(g).asReadOnly(), DType.FLOAT32, n, c);
        CrossEntropy.Options o = CrossEntropy.Options.defaults().withReduction(Reduction.NONE);
        assertRefused("grad is read-only",
                () -> CrossEntropy.crossEntropy(input, target, o, Tensor.of(losses, n), grad));
        float[] untouched = new float[n];
        Arrays.fill(untouched, -7f);
        assertArrayEquals(untouched, losses, "losses written before the error");
    }

    /** A .npy file memory-mapped read-only (as the command line maps its inputs) as the gradient. */
    @ParameterizedTest
    @ValueSource(ints = {10, 300})
    void mappedReadOnlyFileAsGradIsRefused(int c) throws Exception {
        int n = 16;
        Path file = dir.resolve("g.npy");
        Npy.write(file, Tensor.of(new float[n * c], n, c));
        byte[] before = java.nio.file.Files.readAllBytes(file);
        try (NpyArray mapped = Npy.read(file)) {
            assertRefused("grad is read-only", () -> CrossEntropy.crossEntropy(Tensor.of(logits(n, c), n, c),
                    Tensor.of(labels(n, c)), CrossEntropy.Options.defaults(), null, mapped.tensor()));
        }
        assertArrayEquals(before, java.nio.file.Files.readAllBytes(file));
    }

    @ParameterizedTest
    @ValueSource(ints = {10, 300})
    void gradOverTheInputIsRefused(int c) {
        int n = 24;
        float[] x = logits(n, c);
        float[] copy = x.clone();
        Tensor input = Tensor.of(x, n, c);
        assertRefused("grad overlaps the input", () -> CrossEntropy.crossEntropy(input, Tensor.of(labels(n, c)),
                CrossEntropy.Options.defaults(), null, Tensor.of(x, n, c)));
        assertArrayEquals(copy, x);
    }

    /** The gradient one float past the input's start, inside the same native buffer. */
    @ParameterizedTest
    @ValueSource(ints = {10, 300})
    void gradOffsetByOneFloatInsideTheInputIsRefused(int c) {
        int n = 24;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(4L * (n * c + 1));
            float[] x = logits(n, c);
            MemorySegment.copy(x, 0, buf, F32, 0, x.length);
            Tensor input = Tensor.of(buf.asSlice(0, 4L * n * c), DType.FLOAT32, n, c);
            Tensor grad = Tensor.of(buf.asSlice(4, 4L * n * c), DType.FLOAT32, n, c);
            assertRefused("grad overlaps the input", () -> CrossEntropy.crossEntropy(input,
                    Tensor.of(labels(n, c)), CrossEntropy.Options.defaults(), null, grad));
            assertArrayEquals(x, buf.asSlice(0, 4L * n * c).toArray(F32));
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {10, 300})
    void lossesOverTheTargetOrTheWeightOrTheGradAreRefused(int c) {
        int n = 8;
        Tensor input = Tensor.of(logits(n, c), n, c);
        long[] y = labels(n, c);
        Tensor target = Tensor.of(y);
        float[] w = new float[c];
        Arrays.fill(w, 1f);
        CrossEntropy.Options none = CrossEntropy.Options.defaults().withReduction(Reduction.NONE);
        // float64 losses viewed over the int64 target's own memory
        assertRefused("losses overlaps the target", () -> CrossEntropy.crossEntropy(input, target, none,
                Tensor.of(MemorySegment.ofArray(y), DType.FLOAT64, n), null));
        assertRefused("losses overlaps the weight", () -> CrossEntropy.crossEntropy(input, target,
                none.withWeight(Tensor.of(w)), Tensor.of(MemorySegment.ofArray(w).asSlice(0, 4L * n), DType.FLOAT32, n),
                null));
        float[] g = new float[n * c];
        assertRefused("losses overlaps grad", () -> CrossEntropy.crossEntropy(input, target, none,
                Tensor.of(MemorySegment.ofArray(g).asSlice(4L * c, 4L * n), DType.FLOAT32, n), Tensor.of(g, n, c)));
        assertEquals(0f, g[0]);
    }

    /** Distinct arrays, and adjacent slices of one buffer, are fine: only shared bytes are refused. */
    @ParameterizedTest
    @ValueSource(ints = {10, 300})
    void adjacentSlicesOfOneBufferAreAccepted(int c) {
        int n = 8;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(4L * (2 * n * c + n));
            float[] x = logits(n, c);
            MemorySegment.copy(x, 0, buf, F32, 0, x.length);
            Tensor input = Tensor.of(buf.asSlice(0, 4L * n * c), DType.FLOAT32, n, c);
            Tensor grad = Tensor.of(buf.asSlice(4L * n * c, 4L * n * c), DType.FLOAT32, n, c);
            Tensor losses = Tensor.of(buf.asSlice(8L * n * c, 4L * n), DType.FLOAT32, n);
            double sum = CrossEntropy.crossEntropy(input, Tensor.of(labels(n, c)),
                    CrossEntropy.Options.defaults().withReduction(Reduction.SUM), losses, grad);
            double want = CrossEntropy.crossEntropy(Tensor.of(x, n, c), Tensor.of(labels(n, c)),
                    CrossEntropy.Options.defaults().withReduction(Reduction.SUM));
            assertEquals(want, sum);
        }
    }
}
