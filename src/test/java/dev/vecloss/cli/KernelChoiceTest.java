package dev.vecloss.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.BinaryCrossEntropy;
import dev.vecloss.CrossEntropy;
import dev.vecloss.DType;
import dev.vecloss.Kernels;
import dev.vecloss.Reduction;
import dev.vecloss.Tensor;
import dev.vecloss.npy.Npy;
import dev.vecloss.npy.NpyArray;
import dev.vecloss.npy.NpyFiles;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link KernelChoice}: the command line runs an input of fewer than 2^28 elements on the scalar
 * kernels, a pure function of the shape, so its result is bit for bit that of
 * {@code Kernels.callWith(SCALAR, ...)} through the public API (in the Panama passes this differs
 * from the selected kernels' result in the last bits, so it tests the choice); and it checks the
 * kernel properties with the library's words without loading the Panama kernels.
 */
class KernelChoiceTest extends CliTestBase {
    static final Kernels.Implementation SCALAR = Kernels.Implementation.SCALAR;

    @Test
    void theChoiceIsAPureFunctionOfTheShape() {
        long below = KernelChoice.SCALAR_BELOW;
        assertEquals(1L << 28, below);
        assertEquals(SCALAR, KernelChoice.forShape(new long[] {below - 1}, null));
        assertEquals(SCALAR, KernelChoice.forShape(new long[] {1000, 1000}, null));
        assertEquals(SCALAR, KernelChoice.forShape(new long[] {4, 21, 512, 512}, "")); // 22 M elements
        assertEquals(SCALAR, KernelChoice.forShape(new long[] {0, Long.MAX_VALUE}, null));
        assertEquals(SCALAR, KernelChoice.forShape(new long[] {}, null)); // a scalar
        assertNull(KernelChoice.forShape(new long[] {below}, null));
        assertNull(KernelChoice.forShape(new long[] {1 << 14, 1 << 14}, null));
        assertEquals(SCALAR, KernelChoice.forShape(new long[] {100_000, 1000}, null));
        assertEquals(SCALAR, KernelChoice.forShape(new long[] {268_000, 1000}, null));
        assertNull(KernelChoice.forShape(new long[] {269_000, 1000}, null));
        assertNull(KernelChoice.forShape(new long[] {Long.MAX_VALUE, Long.MAX_VALUE}, null)); // no overflow
        // vecloss.impl forces one kind for any size: the selected kernels are that kind
        assertNull(KernelChoice.forShape(new long[] {2, 3}, "panama"));
        assertNull(KernelChoice.forShape(new long[] {2, 3}, " scalar "));
    }

    @Test
    void aSmallInputGivesTheScalarKernelsResultsToTheLastBit() throws Exception {
        Random r = new Random(7);
        int n = 64;
        int c = 1000;
        float[] v = new float[n * c];
        long[] y = new long[n];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (3 * r.nextGaussian());
        }
        for (int i = 0; i < n; i++) {
            y[i] = r.nextInt(c);
        }
        Path xf = NpyFiles.f32(dir.resolve("xs.npy"), v, n, c);
        Path yf = NpyFiles.i64(dir.resolve("ys.npy"), y, n);
        Run run = run("cross-entropy", "--input", xf.toString(), "--target", yf.toString(), "--label-smoothing",
                "0.1", "--output", dir.resolve("l.npy").toString(), "--grad", dir.resolve("g.npy").toString());
        assertEquals(successErr(), run.errLines(), run.err);

        float[] losses = new float[n];
        float[] grad = new float[n * c];
        double expected = Kernels.callWith(SCALAR, () -> CrossEntropy.crossEntropy(Tensor.of(v, n, c), Tensor.of(y),
                CrossEntropy.Options.defaults().withLabelSmoothing(0.1), Tensor.of(losses, n), Tensor.of(grad, n, c)));
        assertEquals(expected + "\n", run.out);
        assertArrayEquals(losses, floats(dir.resolve("l.npy")));
        assertArrayEquals(grad, floats(dir.resolve("g.npy")));

        // an elementwise loss likewise
        float[] b = new float[n * c];
        for (int i = 0; i < b.length; i++) {
            b[i] = r.nextInt(2);
        }
        Path bf = NpyFiles.f32(dir.resolve("b.npy"), b, n, c);
        Run bce = run("binary-cross-entropy-with-logits", "--input", xf.toString(), "--target", bf.toString(),
                "--reduction", "sum");
        assertEquals(successErr(), bce.errLines(), bce.err);
        double bceExpected = Kernels.callWith(SCALAR, () -> BinaryCrossEntropy.binaryCrossEntropyWithLogits(
                Tensor.of(v, n, c), Tensor.of(b, n, c),
                BinaryCrossEntropy.Options.defaults().withReduction(Reduction.SUM), null, null));
        assertEquals(bceExpected + "\n", bce.out);
    }

    @Test
    void verboseSaysWhichKernelsRunThisInput() {
        Run run = run("-v", "cross-entropy", "--input", x.toString(), "--target", t.toString());
        assertEquals(0, run.status, run.err);
        assertTrue(run.errLines().contains("vecloss: scalar kernels for this input (fewer than 268435456 elements,"
                + " see vecloss --help)"), run.err);
    }

    static float[] floats(Path p) throws Exception {
        try (NpyArray a = Npy.read(p)) {
            assertEquals(DType.FLOAT32, a.tensor().dtype());
            return a.tensor().toFloatArray();
        }
    }
}
