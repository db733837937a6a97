package dev.vecloss.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.ClassWeights;
import dev.vecloss.DType;
import dev.vecloss.npy.Npy;
import dev.vecloss.npy.NpyArray;
import dev.vecloss.npy.NpyFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * {@code class-weights} end to end, in-process: the printed lines ({@code class count weight},
 * no header) against counts and weights worked out by hand, the float32 {@code --output}, every
 * scheme's name, and the error contract for bad labels and options.
 */
class ClassWeightsCommandTest extends CliTestBase {

    @Test
    void printsOneLinePerClassAndWritesFloat32Weights() throws IOException {
        // 3 x 0, 2 x 1, 2 x 2, one ignored (255), class 3 never seen
        Path y = NpyFiles.u8(dir.resolve("y.npy"), new long[] {0, 0, 0, 1, 2, 2, 255, 1}, 2, 4);
        Path w = dir.resolve("w.npy");
        Run r = run("class-weights", "--target", p(y), "--num-classes", "4", "--ignore-index", "255",
                "--output", p(w));
        // balanced: N / (C n) = 7 / (4 n)
        assertSuccess(r, "0 3 " + 7.0 / 12 + "\n1 2 " + 7.0 / 8 + "\n2 2 " + 7.0 / 8 + "\n3 0 0.0\n");
        try (NpyArray a = Npy.read(w)) {
            assertEquals(DType.FLOAT32, a.tensor().dtype());
            assertArrayEquals(new long[] {4}, a.tensor().shape());
            assertArrayEquals(new float[] {7f / 12, 7f / 8, 7f / 8, 0}, a.tensor().toFloatArray(), 0);
        }
    }

    @Test
    void everySchemeAndThreadCountPrintsTheLibrarysWeights() throws IOException {
        long[] v = new long[1001];
        for (int i = 0; i < v.length; i++) {
            v[i] = (i * 7L) % 5 == 4 ? (i % 3) : (i * 7L) % 5; // uneven counts
        }
        Path y = NpyFiles.i32(dir.resolve("y.npy"), v, v.length);
        long[] counts = new long[5];
        for (long x : v) {
            counts[(int) x]++;
        }
        for (ClassWeights.Scheme s : ClassWeights.Scheme.values()) {
            double[] w = ClassWeights.weights(counts, s, ClassWeights.Options.defaults().withBeta(0.99));
            StringBuilder expected = new StringBuilder();
            for (int j = 0; j < 5; j++) {
                expected.append(j).append(' ').append(counts[j]).append(' ').append(w[j]).append('\n');
            }
            for (String threads : new String[] {"1", "2", "7"}) {
                assertSuccess(run("class-weights", "--target", p(y), "--num-classes", "5", "--scheme", s.cliName(),
                        "--beta", "0.99", "--threads", threads), expected.toString());
            }
        }
    }

    /**
     * median-frequency with --per-image on labels with an image axis: Eigen and Fergus's
     * f = n/P. The two images of ClassWeightsImagePixelsTest.aTinyCaseWorkedOutByHand, (2, 2, 3),
     * ignore_index 255: n = (2, 3, 4, 0), P = (4, 9, 5, 0), f = (1/2, 1/3, 4/5), median 1/2,
     * w = (1, 3/2, 5/8, 0). Without the flag, CLI.md's median(n)/n: median(2, 3, 4) / n.
     */
    @Test
    void medianFrequencyPerImageUsesThePixelTotals() throws IOException {
        long[] v = {0, 0, 1, 1, 255, 255, 1, 2, 2, 2, 2, 255};
        Path y = NpyFiles.u8(dir.resolve("y.npy"), v, 2, 2, 3);
        Path w = dir.resolve("w.npy");
        for (String threads : new String[] {"1", "2"}) {
            assertSuccess(run("class-weights", "--target", p(y), "--num-classes", "4", "--ignore-index", "255",
                    "--scheme", "median-frequency", "--per-image", "--output", p(w), "--threads", threads),
                    "0 2 1.0\n1 3 1.5\n2 4 0.625\n3 0 0.0\n");
            try (NpyArray a = Npy.read(w)) {
                assertArrayEquals(new float[] {1, 1.5f, 0.625f, 0}, a.tensor().toFloatArray(), 0);
            }
        }
        assertSuccess(run("class-weights", "--target", p(y), "--num-classes", "4", "--ignore-index", "255",
                "--scheme", "median-frequency"), "0 2 1.5\n1 3 1.0\n2 4 0.75\n3 0 0.0\n");
        // flat labels have no image axis; the flag is median-frequency's only
        Files.deleteIfExists(w);
        Path flat = NpyFiles.u8(dir.resolve("flat.npy"), v, v.length);
        fails(new String[] {"class-weights", "--target", p(flat), "--num-classes", "4", "--ignore-index", "255",
                "--scheme", "median-frequency", "--per-image", "--output", p(w)}, "--per-image needs labels with an image axis",
                "\\[12\\]");
        assertFalse(Files.exists(w));
        fails(new String[] {"class-weights", "--target", p(y), "--num-classes", "4", "--scheme", "balanced", "--per-image"},
                "--per-image is median-frequency's");
        // errors as the plain counts: the flat index of the bad label, no output left behind
        Path bad = NpyFiles.i64(dir.resolve("bad.npy"), new long[] {0, 1, 2, 1, 9, 1}, 2, 3);
        fails(new String[] {"class-weights", "--target", p(bad), "--num-classes", "3", "--scheme", "median-frequency",
                "--per-image", "--output", p(w)}, "label 9 is out of bounds at flat index 4", "bad\\.npy");
        assertFalse(Files.exists(w));
    }

    @Test
    void zeroCountChoices() throws IOException {
        Path y = NpyFiles.i64(dir.resolve("y.npy"), new long[] {0, 0, 2, 2, 2, 2}, 6);
        assertSuccess(run("class-weights", "--target", p(y), "--num-classes", "3", "--scheme", "inverse"),
                "0 2 0.5\n1 0 0.0\n2 4 0.25\n");
        assertSuccess(run("class-weights", "--target", p(y), "--num-classes", "3", "--scheme", "inverse",
                "--zero-count", "clamp-one"), "0 2 0.5\n1 0 1.0\n2 4 0.25\n");
        fails(new String[] {"class-weights", "--target", p(y), "--num-classes", "3", "--zero-count", "error"},
                "class 1 has no label");
    }

    @Test
    void errors() throws IOException {
        Path y = NpyFiles.i64(dir.resolve("y.npy"), new long[] {0, 1, 5, 1, 7}, 5);
        Path w = dir.resolve("w.npy");
        fails(new String[] {"class-weights", "--target", p(y), "--num-classes", "3", "--output", p(w)},
                "label 5 is out of bounds at flat index 2", "y\\.npy");
        assertFalse(Files.exists(w));
        fails(new String[] {"class-weights", "--target", p(y)}, "--num-classes");
        fails(new String[] {"class-weights", "--target", p(y), "--num-classes", "0"}, "--num-classes");
        fails(new String[] {"class-weights", "--target", p(y), "--num-classes", "8", "--scheme", "sqrt"}, "--scheme");
        fails(new String[] {"class-weights", "--target", p(y), "--num-classes", "8", "--beta", "1"}, "--beta",
                "\\[0, 1\\)");
        fails(new String[] {"class-weights", "--target", p(x), "--num-classes", "8"}, "int64, int32, uint8 or bool");
        Path ignored = NpyFiles.i64(dir.resolve("ignored.npy"), new long[] {-100, -100}, 2);
        fails(new String[] {"class-weights", "--target", p(ignored), "--num-classes", "2", "--output", p(w)},
                "every count is zero");
        fails(new String[] {"class-weights", "--target", p(y), "--num-classes", "8", "--output", p(y)},
                "same file");
    }

    @Test
    void helpNamesEveryScheme() {
        Run r = run("class-weights", "--help");
        assertEquals(0, r.status);
        for (ClassWeights.Scheme s : ClassWeights.Scheme.values()) {
            assertTrue(r.out.contains(s.cliName()), s.cliName());
        }
    }
}
