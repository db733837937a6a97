package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.ClassWeights.Counts;
import dev.vecloss.ClassWeights.Frequency;
import dev.vecloss.ClassWeights.Options;
import dev.vecloss.ClassWeights.Scheme;
import dev.vecloss.ClassWeights.Weights;
import dev.vecloss.ClassWeights.ZeroCount;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link ClassWeights#countsWithImagePixels} and median-frequency from {@code f_j = n_j / P_j}
 * (LOSSES.md 9, Eigen and Fergus): the counts and pixel totals against a brute-force loop over
 * the images (a set of the classes each holds), every label dtype, both kernels, several thread
 * counts (the totals must be the same at each: exact); a tiny case worked out by hand; the
 * fallback for 1-d labels; the errors; the zero-count policies.
 */
class ClassWeightsImagePixelsTest {

    /** Labels of {@code dtype} from {@code values}, in {@code shape}. */
    static Tensor shaped(DType dtype, long[] values, long... shape) {
        Tensor flat = ClassWeightsTest.labels(dtype, values);
        return Tensor.of(flat.segment(), dtype, shape);
    }

    /** {@code {n, P}} by the plain definition: per image, the set of classes it holds. */
    static long[][] bruteForce(long[] v, long images, long size, int c, long ignore) {
        long[] n = new long[c];
        long[] pixels = new long[c];
        for (long img = 0; img < images; img++) {
            Set<Integer> present = new HashSet<>();
            long total = 0;
            for (long i = img * size; i < (img + 1) * size; i++) {
                long y = v[(int) i];
                if (y != ignore) {
                    n[(int) y]++;
                    present.add((int) y);
                    total++;
                }
            }
            for (int j : present) {
                pixels[j] += total;
            }
        }
        return new long[][] {n, pixels};
    }

    /** Eigen and Fergus's weights written from the formula: median of n/P over the seen classes, over n/P. */
    static double[] medianFrequency(long[] n, long[] pixels) {
        double[] f = new double[n.length];
        for (int j = 0; j < n.length; j++) {
            f[j] = n[j] > 0 ? (double) n[j] / pixels[j] : 0;
        }
        double[] seen = Arrays.stream(f).filter(x -> x > 0).sorted().toArray();
        int m = seen.length;
        double median = m % 2 == 1 ? seen[m / 2] : (seen[m / 2 - 1] + seen[m / 2]) / 2;
        double[] w = new double[n.length];
        for (int j = 0; j < n.length; j++) {
            w[j] = f[j] > 0 ? median / f[j] : 0;
        }
        return w;
    }

    /**
     * Labels of {@code images} images of {@code size}: about one image in six wholly ignored,
     * the others drawing (with 10 % ignored labels) from a few classes of their own, and class
     * {@code c - 1} once in image 0 only (a class present in one image).
     */
    static long[] imageLabels(SplittableRandom rnd, long images, long size, int c, long ignore) {
        long[] v = new long[Math.toIntExact(images * size)];
        for (long img = 0; img < images; img++) {
            boolean allIgnored = rnd.nextInt(6) == 0;
            int[] mine = rnd.ints(1 + rnd.nextInt(Math.min(c, 4)), 0, Math.max(1, c - 1)).toArray();
            for (long i = img * size; i < (img + 1) * size; i++) {
                v[(int) i] = allIgnored || rnd.nextInt(10) == 0 ? ignore : mine[rnd.nextInt(mine.length)];
            }
        }
        if (v.length > 0 && c > 1) {
            v[(int) (size / 2)] = c - 1;
        }
        return v;
    }

    @ParameterizedTest(name = "{0} shape {1} C={2} ignore={3}")
    @CsvSource({
            "INT64, 1;1, 3, -100", "INT64, 4;1, 3, -100", "INT64, 5;7, 21, -100", "INT32, 4;3;5, 21, -1",
            "UINT8, 6;9;11, 21, 255", "UINT8, 20;8;8, 2, 255", "UINT8, 3;2;150, 200, 255", "UINT8, 40;4;4, 250, 255",
            "INT32, 64;2;2, 5000, -100", "INT64, 9;0, 4, -100", "INT64, 0;5, 4, -100", "INT32, 100000;3, 7, 3",
            "UINT8, 300;1000, 21, 255", "UINT8, 3;70001, 21, 255", "INT32, 2;66000, 300, 7", "INT64, 1;70000, 40, -100"})
    void countsAndPixelTotalsAgreeWithABruteForceLoop(DType dtype, String shapeText, int c, long ignore) {
        long[] shape = Arrays.stream(shapeText.split(";")).mapToLong(Long::parseLong).toArray();
        long images = shape[0];
        long size = Arrays.stream(shape).skip(1).reduce(1, (a, b) -> a * b);
        SplittableRandom rnd = new SplittableRandom(images * 131 + size * 7 + c);
        long[] v = imageLabels(rnd, images, size, c, ignore);
        long[][] expected = bruteForce(v, images, size, c, ignore);
        Tensor t = shaped(dtype, v, shape);
        boolean anySeen = Arrays.stream(expected[0]).anyMatch(x -> x > 0);
        for (Kernels.Implementation impl : ClassWeightsTest.implementations()) {
            for (int threads : new int[] {1, 2, 7}) {
                Options o = Options.defaults().withIgnoreIndex(ignore).withThreads(threads);
                String where = impl + " threads " + threads;
                Counts got = Kernels.callWith(impl, () -> ClassWeights.countsWithImagePixels(t, c, o));
                assertArrayEquals(expected[0], got.counts(), "n, " + where);
                assertArrayEquals(expected[1], got.imagePixels(), "P, " + where);
                assertArrayEquals(Kernels.callWith(impl, () -> ClassWeights.counts(t, c, o)), got.counts(),
                        "n as the plain counts, " + where);
                if (anySeen) {
                    Weights w = ClassWeights.weights(got, Scheme.MEDIAN_FREQUENCY, o);
                    assertEquals(Frequency.IMAGE_PIXELS, w.frequency());
                    double[] want = medianFrequency(expected[0], expected[1]);
                    for (int j = 0; j < c; j++) {
                        assertEquals(want[j], w.weights()[j], 4 * Math.ulp(want[j]), "weight " + j + ", " + where);
                    }
                }
            }
        }
    }

    /**
     * Two images of 2 x 3 labels, 4 classes, ignore_index 255:
     * <pre>
     * image 0: 0 0 1 / 1 255 255   4 labels counted, classes {0, 1}
     * image 1: 1 2 2 / 2 2 255     5 labels counted, classes {1, 2}
     * n = (2, 3, 4, 0)   P = (4, 4 + 5, 5, 0) = (4, 9, 5, 0)
     * f = n / P = (1/2, 1/3, 4/5), median 1/2   ->  w = (1, 3/2, 5/8, 0)
     * fallback f = n / N: median(2, 3, 4) = 3   ->  w = (3/2, 1, 3/4, 0)
     * </pre>
     */
    @Test
    void aTinyCaseWorkedOutByHand() {
        long[] v = {0, 0, 1, 1, 255, 255, 1, 2, 2, 2, 2, 255};
        Options o = Options.defaults().withIgnoreIndex(255);
        for (DType dtype : new DType[] {DType.UINT8, DType.INT32, DType.INT64}) {
            for (Kernels.Implementation impl : ClassWeightsTest.implementations()) {
                Counts counts = Kernels.callWith(impl,
                        () -> ClassWeights.countsWithImagePixels(shaped(dtype, v, 2, 2, 3), 4, o));
                assertArrayEquals(new long[] {2, 3, 4, 0}, counts.counts(), dtype + " " + impl);
                assertArrayEquals(new long[] {4, 9, 5, 0}, counts.imagePixels(), dtype + " " + impl);
                Weights w = ClassWeights.weights(counts, Scheme.MEDIAN_FREQUENCY, o);
                assertEquals(Frequency.IMAGE_PIXELS, w.frequency());
                assertArrayEquals(new double[] {1, 1.5, 0.625, 0}, w.weights(), 0);
                Weights fallback = ClassWeights.weights(Counts.of(counts.counts()), Scheme.MEDIAN_FREQUENCY, o);
                assertEquals(Frequency.TOTAL, fallback.frequency());
                assertArrayEquals(new double[] {1.5, 1, 0.75, 0}, fallback.weights(), 0);
            }
        }
    }

    @Test
    void oneDimensionalLabelsHaveNoImageAxisAndUseTheFallback() {
        long[] v = {0, 0, 1, 1, 255, 255, 1, 2, 2, 2, 2, 255};
        Options o = Options.defaults().withIgnoreIndex(255);
        Counts counts = ClassWeights.countsWithImagePixels(ClassWeightsTest.labels(DType.INT64, v), 4, o);
        assertFalse(counts.hasImagePixels());
        assertNull(counts.imagePixels());
        assertArrayEquals(new long[] {2, 3, 4, 0}, counts.counts());
        Weights w = ClassWeights.weights(counts, Scheme.MEDIAN_FREQUENCY, o);
        assertEquals(Frequency.TOTAL, w.frequency());
        assertArrayEquals(new double[] {1.5, 1, 0.75, 0}, w.weights(), 0); // median(n) / n
        assertArrayEquals(ClassWeights.weights(counts.counts(), Scheme.MEDIAN_FREQUENCY, o), w.weights(), 0);
    }

    @Test
    void otherSchemesIgnoreThePixelTotals() {
        Counts counts = new Counts(new long[] {2, 3, 4, 0}, new long[] {4, 9, 5, 0});
        for (Scheme s : Scheme.values()) {
            if (s != Scheme.MEDIAN_FREQUENCY) {
                Weights w = ClassWeights.weights(counts, s, Options.defaults());
                assertEquals(Frequency.TOTAL, w.frequency(), s.toString());
                assertArrayEquals(ClassWeights.weights(counts.counts(), s, Options.defaults()), w.weights(), 0);
            }
        }
    }

    /** CLAMP_ONE: f = 1/N for the unseen class, N = 2 + 3 + 4 + 1 = 10; median of (1/2, 1/3, 4/5, 1/10) = 5/12. */
    @Test
    void zeroCountPolicies() {
        Counts counts = new Counts(new long[] {2, 3, 4, 0}, new long[] {4, 9, 5, 0});
        double[] clamped = ClassWeights.weights(counts, Scheme.MEDIAN_FREQUENCY,
                Options.defaults().withZeroCount(ZeroCount.CLAMP_ONE)).weights();
        double median = (1.0 / 3 + 0.5) / 2;
        double[] want = {median / 0.5, median / (3.0 / 9), median / 0.8, median / 0.1};
        for (int j = 0; j < 4; j++) {
            assertEquals(want[j], clamped[j], 4 * Math.ulp(want[j]), "class " + j);
        }
        assertTrue(clamped[3] >= Arrays.stream(clamped).max().orElseThrow());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClassWeights.weights(counts,
                Scheme.MEDIAN_FREQUENCY, Options.defaults().withZeroCount(ZeroCount.ERROR)));
        assertTrue(e.getMessage().contains("class 3 has no label"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ClassWeights.weights(new Counts(new long[2], new long[2]),
                Scheme.MEDIAN_FREQUENCY, Options.defaults()));
    }

    @Test
    void inconsistentPixelTotalsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Counts(new long[] {1, 2}, new long[] {1}));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Counts(new long[] {3, 2}, new long[] {2, 5}));
        assertTrue(e.getMessage().contains("class 0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Counts(new long[] {0, 2}, new long[] {4, 5}));
    }

    /**
     * A bad label is reported at its lowest flat index by every way of counting (small images one
     * label at a time, larger ones by the kernels, a few large images split over the threads),
     * and the scratch rows it leaves behind do not spoil the next count on the same thread.
     */
    @ParameterizedTest(name = "shape {0} C={1}")
    @CsvSource({"50;2;2, 100", "50;40, 10", "3;70000, 10", "1000;70, 21"})
    void theLowestBadLabelIsReported(String shapeText, int c) {
        long[] shape = Arrays.stream(shapeText.split(";")).mapToLong(Long::parseLong).toArray();
        long images = shape[0];
        long size = Arrays.stream(shape).skip(1).reduce(1, (a, b) -> a * b);
        SplittableRandom rnd = new SplittableRandom(3);
        long[] good = imageLabels(rnd, images, size, c, 255);
        long[] bad = good.clone();
        int first = (int) (images * size * 2 / 3) + 1;
        bad[first] = c + 1;
        bad[bad.length - 1] = c + 2;
        long[][] expected = bruteForce(good, images, size, c, 255);
        for (DType dtype : new DType[] {DType.UINT8, DType.INT32, DType.INT64}) {
            Tensor t = shaped(dtype, bad, shape);
            Tensor u = shaped(dtype, good, shape);
            for (Kernels.Implementation impl : ClassWeightsTest.implementations()) {
                for (int threads : new int[] {1, 2, 7}) {
                    Options o = Options.defaults().withIgnoreIndex(255).withThreads(threads);
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                            () -> Kernels.callWith(impl, () -> ClassWeights.countsWithImagePixels(t, c, o)));
                    assertTrue(e.getMessage().contains("label " + (c + 1) + " is out of bounds at flat index " + first),
                            e.getMessage());
                    Counts after = Kernels.callWith(impl, () -> ClassWeights.countsWithImagePixels(u, c, o));
                    assertArrayEquals(expected[0], after.counts(), dtype + " " + impl + " " + threads);
                    assertArrayEquals(expected[1], after.imagePixels(), dtype + " " + impl + " " + threads);
                }
            }
        }
    }

    @Test
    void badArgumentsAsThePlainCounts() {
        Tensor f = Tensor.of(new float[4], 2, 2);
        assertThrows(IllegalArgumentException.class, () -> ClassWeights.countsWithImagePixels(f, 2, Options.defaults()));
        Tensor t = shaped(DType.INT64, new long[] {0, 1, 0, 1}, 2, 2);
        assertThrows(IllegalArgumentException.class, () -> ClassWeights.countsWithImagePixels(t, 0, Options.defaults()));
    }

    /**
     * cross-entropy's convenience keeps f = n/N, as the command without --per-image: the counts
     * (2, 3, 4, 0) give median(2, 3, 4) / n; the per-image weights go through weights(Counts).
     */
    @Test
    void crossEntropyOptionsKeepTheTotalFrequency() {
        long[] v = {0, 0, 1, 1, -100, -100, 1, 2, 2, 2, 2, -100};
        Tensor target = shaped(DType.INT64, v, 2, 2, 3);
        Tensor input = Tensor.of(new float[2 * 4 * 6], 2, 4, 2, 3);
        CrossEntropy.Options o = ClassWeights.crossEntropyOptions(CrossEntropy.Options.defaults(), input, target,
                Scheme.MEDIAN_FREQUENCY, Options.defaults());
        assertArrayEquals(new float[] {1.5f, 1, 0.75f, 0}, o.weight().toFloatArray(), 0);
        assertArrayEquals(new double[] {1, 1.5, 0.625, 0}, ClassWeights.weights(ClassWeights.countsWithImagePixels(target, 4,
                Options.defaults()), Scheme.MEDIAN_FREQUENCY, Options.defaults()).weights(), 0);
    }
}
