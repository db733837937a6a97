package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.vecloss.ClassWeights.Options;
import dev.vecloss.ClassWeights.Scheme;
import dev.vecloss.ClassWeights.ZeroCount;
import dev.vecloss.internal.CountProblem;
import dev.vecloss.internal.KernelProvider;
import dev.vecloss.internal.ScalarCounts;
import dev.vecloss.internal.Targets;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link ClassWeights}: counts against a plain loop over random labels of every dtype, both
 * kernels and several thread counts; the lowest bad label; the schemes against values computed
 * independently in 50-digit {@link BigDecimal} from LOSSES.md 9's formulas; the zero-count
 * policies and the conveniences.
 */
class ClassWeightsTest {
    private static final MathContext MC = new MathContext(50, RoundingMode.HALF_EVEN);

    /** Labels of {@code dtype} from {@code values} (each must fit). */
    static Tensor labels(DType dtype, long[] values) {
        return switch (dtype) {
            case INT64 -> Tensor.of(values.clone(), values.length);
            case INT32 -> Tensor.of(Arrays.stream(values).mapToInt(v -> (int) v).toArray(), values.length);
            case UINT8, BOOL -> {
                byte[] b = new byte[values.length];
                for (int i = 0; i < b.length; i++) {
                    b[i] = (byte) values[i];
                }
                yield dtype == DType.UINT8 ? Tensor.ofUint8(b, b.length)
                        : Tensor.of(java.lang.foreign.MemorySegment.ofArray(b), DType.BOOL, b.length);
            }
            default -> throw new IllegalArgumentException(dtype.toString());
        };
    }

    /** The counts by the obvious loop. */
    static long[] plainCounts(long[] values, int c, long ignore) {
        long[] n = new long[c];
        for (long v : values) {
            if (v != ignore) {
                n[(int) v]++;
            }
        }
        return n;
    }

    /**
     * Random labels in [0, c), some equal to {@code ignore}, in runs of equal labels (as a
     * segmentation mask has) for {@code runs}.
     */
    static long[] randomLabels(SplittableRandom rnd, int length, int c, long ignore, boolean runs) {
        long[] v = new long[length];
        for (int i = 0; i < length; ) {
            long y = rnd.nextInt(10) == 0 ? ignore : rnd.nextInt(c);
            int run = runs ? 1 + rnd.nextInt(200) : 1;
            for (int r = 0; r < run && i < length; r++) {
                v[i++] = y;
            }
        }
        return v;
    }

    @ParameterizedTest(name = "{0} n={1} C={2} ignore={3}")
    @CsvSource({
            "UINT8, 1, 1, -100", "UINT8, 7, 2, -100", "UINT8, 63, 21, 255", "UINT8, 65, 21, 3",
            "UINT8, 1023, 47, -100", "UINT8, 70001, 48, 255", "UINT8, 70001, 49, 0", "UINT8, 300001, 21, 255",
            "UINT8, 140003, 2, -100", "UINT8, 140003, 200, 199", "UINT8, 9999, 256, 255", "UINT8, 9999, 300, -100",
            "BOOL, 1001, 2, -100",
            "INT32, 1, 1, -100", "INT32, 67, 21, -100", "INT32, 70001, 21, 5", "INT32, 140003, 1000, -1",
            "INT32, 99, 100000, -100",
            "INT64, 1, 3, -100", "INT64, 67, 21, -100", "INT64, 70001, 21, 20", "INT64, 140003, 150, -100",
            "INT64, 70001, 100000, -100"})
    void countsAgreeWithAPlainLoop(DType dtype, int n, int c, long ignore) {
        for (boolean runs : new boolean[] {false, true}) {
            SplittableRandom rnd = new SplittableRandom(n * 31L + c);
            long effectiveIgnore = dtype == DType.BOOL ? -100 : ignore;
            int range = dtype == DType.BOOL ? 2 : dtype == DType.UINT8 ? Math.min(c, 256) : c;
            long[] v = randomLabels(rnd, n, range, effectiveIgnore, runs);
            if (dtype.byteSize() == 1 && (effectiveIgnore < 0 || effectiveIgnore > 255)) {
                v = Arrays.stream(v).map(x -> x == effectiveIgnore ? 0 : x).toArray();
            }
            long[] expected = plainCounts(v, c, effectiveIgnore);
            Tensor t = labels(dtype, v);
            for (Kernels.Implementation impl : implementations()) {
                for (int threads : new int[] {1, 2, 7}) {
                    Options o = Options.defaults().withIgnoreIndex(effectiveIgnore).withThreads(threads);
                    long[] got = Kernels.callWith(impl, () -> ClassWeights.counts(t, c, o));
                    assertArrayEquals(expected, got, impl + " threads " + threads + " runs " + runs);
                }
            }
        }
    }

    static Kernels.Implementation[] implementations() {
        return Kernels.vectorModuleAbsent() ? new Kernels.Implementation[] {Kernels.Implementation.SCALAR}
                : Kernels.Implementation.values();
    }

    /** Both loops of the Panama histogram against the scalar reference on random ranges (SIMD vs scalar parity). */
    @Test
    void bothHistogramLoopsAgreeWithTheReference() {
        assumeFalse(Kernels.vectorModuleAbsent(), "no incubator module");
        SplittableRandom rnd = new SplittableRandom(7);
        for (int trial = 0; trial < 200; trial++) {
            int c = 1 + rnd.nextInt(trial % 2 == 0 ? 60 : 300);
            long ignore = switch (trial % 3) {
                case 0 -> -100;
                case 1 -> Math.min(255, c + rnd.nextInt(5));
                default -> rnd.nextInt(Math.min(c, 256));
            };
            int n = 1 + rnd.nextInt(20000);
            long[] v = randomLabels(rnd, n, Math.min(c, 256), ignore, trial % 4 == 0);
            long fixedIgnore = ignore;
            v = Arrays.stream(v).map(x -> x < 0 || x > 255 ? 0 : x).toArray();
            Tensor t = labels(DType.UINT8, v);
            int from = rnd.nextInt(n);
            int to = from + rnd.nextInt(n - from + 1);
            CountProblem p = CountProblem.create().kernels(KernelProvider.scalar())
                    .labels(t.segment(), 1, n, c, fixedIgnore);
            long[] expected = new long[c + 3];
            ScalarCounts.counts(p, from, to, expected, 3);
            long[] a = new long[c + 3];
            long[] b = new long[c + 3];
            dev.vecloss.internal.panama.Histogram.compareAndCount(p, from, to, a, 3);
            dev.vecloss.internal.panama.Histogram.subHistograms(p, from, to, b, 3);
            assertArrayEquals(expected, a, "compare-and-count, trial " + trial);
            assertArrayEquals(expected, b, "sub-histograms, trial " + trial);
        }
    }

    @Test
    void bothHistogramLoopsReportTheLowestBadLabel() {
        assumeFalse(Kernels.vectorModuleAbsent(), "no incubator module");
        long[] v = new long[5000];
        Arrays.fill(v, 1);
        v[4000] = 9;
        v[1234] = 7; // the lowest bad label (C = 5, ignore 8)
        v[1000] = 8;
        Tensor t = labels(DType.UINT8, v);
        CountProblem p = CountProblem.create().kernels(KernelProvider.scalar()).labels(t.segment(), 1, v.length, 5, 8);
        Targets.BadTarget e1 = assertThrows(Targets.BadTarget.class,
                () -> dev.vecloss.internal.panama.Histogram.compareAndCount(p, 0, v.length, new long[5], 0));
        Targets.BadTarget e2 = assertThrows(Targets.BadTarget.class,
                () -> dev.vecloss.internal.panama.Histogram.subHistograms(p, 0, v.length, new long[5], 0));
        assertEquals(1234, e1.position);
        assertEquals(7, e1.value);
        assertEquals(1234, e2.position);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"UINT8", "INT32", "INT64"})
    void anOutOfRangeLabelNamesTheLowestIndexAtAnyThreadCount(DType dtype) {
        int n = 300_001; // five chunks
        long[] v = new long[n];
        for (int i = 0; i < n; i++) {
            v[i] = i % 21;
        }
        v[250_000] = dtype == DType.UINT8 ? 200 : -3;
        v[140_001] = 21; // the lowest, in the third chunk
        v[70_000] = 255; // the ignore_index
        Tensor t = labels(dtype, v);
        for (Kernels.Implementation impl : implementations()) {
            for (int threads : new int[] {1, 2, 7}) {
                Options o = Options.defaults().withIgnoreIndex(255).withThreads(threads);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> Kernels.callWith(impl, () -> ClassWeights.counts(t, 21, o)));
                assertEquals("class_weights: label 21 is out of bounds at flat index 140001 of the labels "
                        + "(classes 0..20, ignore_index 255)", e.getMessage(), impl + " " + threads);
            }
        }
        long[] neg = {0, 1, -1};
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ClassWeights.counts(labels(DType.INT64, neg), 2));
        assertTrue(e.getMessage().contains("label -1 is out of bounds at flat index 2"), e.getMessage());
    }

    @Test
    void badArguments() {
        Tensor t = labels(DType.INT64, new long[] {0, 1});
        assertThrows(IllegalArgumentException.class, () -> ClassWeights.counts(Tensor.of(new float[] {0f}), 2));
        assertThrows(IllegalArgumentException.class, () -> ClassWeights.counts(t, 0));
        assertThrows(IllegalArgumentException.class, () -> ClassWeights.counts(t, 2, Options.defaults(), new long[1]));
        assertThrows(IllegalArgumentException.class, () -> Options.defaults().withBeta(1));
        assertThrows(IllegalArgumentException.class, () -> Options.defaults().withBeta(-0.1));
        assertThrows(IllegalArgumentException.class, () -> Options.defaults().withBeta(Double.NaN));
        assertArrayEquals(new long[] {0, 0}, ClassWeights.counts(Tensor.of(new long[0], 0), 2));
    }

    // ---- schemes, against BigDecimal ----

    private static BigDecimal bd(double v) {
        return new BigDecimal(v);
    }

    /** The expected weights of LOSSES.md 9, in BigDecimal, for counts already past the zero-count policy (0 = left out). */
    static double[] expected(long[] n, Scheme scheme, double beta) {
        int c = n.length;
        BigDecimal total = BigDecimal.ZERO;
        for (long x : n) {
            total = total.add(BigDecimal.valueOf(x));
        }
        BigDecimal[] w = new BigDecimal[c];
        BigDecimal sumInv = BigDecimal.ZERO;
        for (long x : n) {
            if (x > 0) {
                sumInv = sumInv.add(BigDecimal.ONE.divide(BigDecimal.valueOf(x), MC));
            }
        }
        long[] kept = Arrays.stream(n).filter(x -> x > 0).sorted().toArray();
        BigDecimal median = kept.length % 2 == 1 ? BigDecimal.valueOf(kept[kept.length / 2])
                : BigDecimal.valueOf(kept[kept.length / 2 - 1]).add(BigDecimal.valueOf(kept[kept.length / 2]))
                        .divide(BigDecimal.valueOf(2), MC);
        BigDecimal b = bd(beta);
        for (int j = 0; j < c; j++) {
            if (n[j] == 0) {
                w[j] = BigDecimal.ZERO;
                continue;
            }
            BigDecimal nj = BigDecimal.valueOf(n[j]);
            w[j] = switch (scheme) {
                case INVERSE -> BigDecimal.ONE.divide(nj, MC);
                case BALANCED -> total.divide(nj.multiply(BigDecimal.valueOf(c)), MC);
                case ODDS -> total.subtract(nj).divide(nj, MC);
                case INVERSE_NORMALIZED -> BigDecimal.ONE.divide(nj, MC).divide(sumInv, MC);
                case MEDIAN_FREQUENCY -> median.divide(nj, MC);
                case EFFECTIVE_NUMBER -> BigDecimal.ONE.subtract(b).divide(BigDecimal.ONE.subtract(b.pow((int) n[j], MC), MC), MC);
            };
        }
        if (scheme == Scheme.EFFECTIVE_NUMBER) {
            BigDecimal sum = Arrays.stream(w).reduce(BigDecimal.ZERO, BigDecimal::add);
            for (int j = 0; j < c; j++) {
                w[j] = w[j].multiply(BigDecimal.valueOf(c)).divide(sum, MC);
            }
        }
        return Arrays.stream(w).mapToDouble(BigDecimal::doubleValue).toArray();
    }

    static void assertClose(double[] expected, double[] got, String what) {
        assertEquals(expected.length, got.length, what);
        for (int j = 0; j < got.length; j++) {
            assertTrue(Double.isFinite(got[j]), what + " class " + j + ": " + got[j]);
            double tol = 4 * Math.ulp(expected[j]) + 1e-300;
            assertEquals(expected[j], got[j], tol, what + " class " + j);
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"INVERSE", "BALANCED", "ODDS", "INVERSE_NORMALIZED", "MEDIAN_FREQUENCY", "EFFECTIVE_NUMBER"})
    void schemesMatchTheirFormulas(Scheme scheme) {
        long[][] cases = {{100, 300}, {5, 1, 0, 94}, {1, 2, 3, 4}, {7}, {0, 3, 0}, {123456789, 1, 42, 999, 5000},
                {10, 10, 10, 10, 10, 10}};
        for (long[] counts : cases) {
            for (double beta : new double[] {0.999, 0.9, 0.5, 0.0, 0.9999}) {
                Options o = Options.defaults().withBeta(beta);
                assertClose(expected(counts, scheme, beta), ClassWeights.weights(counts, scheme, o),
                        scheme + " " + Arrays.toString(counts) + " beta " + beta);
            }
        }
    }

    @Test
    void handValues() {
        // scikit-learn's compute_class_weight('balanced', classes=[0, 1, 2], y) for 6, 3 and 1 labels:
        // 10 / (3 * [6, 3, 1]) = [0.5556, 1.1111, 3.3333]
        assertArrayEquals(new double[] {10.0 / 18, 10.0 / 9, 10.0 / 3},
                ClassWeights.weights(new long[] {6, 3, 1}, Scheme.BALANCED), 1e-15);
        // PyTorch's BCEWithLogitsLoss docs: 100 positives, 300 negatives -> pos_weight 3
        assertArrayEquals(new double[] {3, 1.0 / 3}, ClassWeights.weights(new long[] {100, 300}, Scheme.ODDS), 1e-15);
        // median frequency of [2, 4, 8, 0]: median of the seen ones is 4
        assertArrayEquals(new double[] {2, 1, 0.5, 0}, ClassWeights.weights(new long[] {2, 4, 8, 0},
                Scheme.MEDIAN_FREQUENCY), 0);
        assertArrayEquals(new double[] {2, 1, 4.0 / 6}, ClassWeights.weights(new long[] {2, 4, 6},
                Scheme.MEDIAN_FREQUENCY), 0); // the median of {2, 4, 6} is 4
        assertArrayEquals(new double[] {2.5, 1.25, 5.0 / 6, 0.5}, ClassWeights.weights(new long[] {2, 4, 6, 10},
                Scheme.MEDIAN_FREQUENCY), 0); // an even count: the mean of 4 and 6
        // the only class present: odds 0
        assertArrayEquals(new double[] {0, 0}, ClassWeights.weights(new long[] {5, 0}, Scheme.ODDS), 0);
        // beta 0: uniform, summing to C
        assertArrayEquals(new double[] {1, 1, 1}, ClassWeights.weights(new long[] {1, 50, 9999},
                Scheme.EFFECTIVE_NUMBER, Options.defaults().withBeta(0)), 1e-15);
    }

    @Test
    void effectiveNumberStaysFiniteForHugeCounts() {
        // beta^n underflows to 0 for n = 1e15; 1 - beta^n must not round to a wrong value or 0
        double[] w = ClassWeights.weights(new long[] {1_000_000_000_000_000L, 1}, Scheme.EFFECTIVE_NUMBER,
                Options.defaults().withBeta(0.9999999999));
        assertTrue(Double.isFinite(w[0]) && Double.isFinite(w[1]) && w[1] > w[0], Arrays.toString(w));
        assertEquals(2, w[0] + w[1], 1e-15);
    }

    /**
     * LOSSES.md 9's {@code scale = C}: inverse-normalized weights that sum to C (mean 1), the
     * default ones times C; only that scheme is scaled; a scale that is not finite and above 0 is
     * refused.
     */
    @Test
    void inverseNormalizedScale() {
        long[] counts = {4, 1, 12, 3};
        double[] unit = ClassWeights.weights(counts, Scheme.INVERSE_NORMALIZED);
        double[] scaled = ClassWeights.weights(counts, Scheme.INVERSE_NORMALIZED, Options.defaults().withScale(4));
        // 1/4 + 1 + 1/12 + 1/3 = 5/3: weights 3/20, 3/5, 1/20, 1/5, times 4
        assertArrayEquals(new double[] {0.6, 2.4, 0.2, 0.8}, scaled, 1e-15);
        assertEquals(4, Arrays.stream(scaled).sum(), 1e-14);
        for (int j = 0; j < counts.length; j++) {
            assertEquals(4 * unit[j], scaled[j], 1e-15);
        }
        assertArrayEquals(ClassWeights.weights(counts, Scheme.BALANCED),
                ClassWeights.weights(counts, Scheme.BALANCED, Options.defaults().withScale(4)), 0);
        for (double bad : new double[] {0, -1, Double.NaN, Double.POSITIVE_INFINITY}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Options.defaults().withScale(bad));
            assertTrue(e.getMessage().contains("scale"), e.getMessage());
        }
    }

    @Test
    void zeroCountPolicies() {
        long[] counts = {4, 0, 12};
        assertArrayEquals(new double[] {0.25, 0, 1.0 / 12}, ClassWeights.weights(counts, Scheme.INVERSE), 0);
        // ZERO: left out of the normalising sum
        double[] norm = ClassWeights.weights(counts, Scheme.INVERSE_NORMALIZED);
        assertEquals(1, norm[0] + norm[2], 1e-15);
        assertEquals(0, norm[1]);
        // CLAMP_ONE: counted as 1, N includes it
        Options clamp = Options.defaults().withZeroCount(ZeroCount.CLAMP_ONE);
        assertArrayEquals(new double[] {17.0 / 12, 17.0 / 3, 17.0 / 36}, ClassWeights.weights(counts, Scheme.BALANCED,
                clamp), 1e-15);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClassWeights.weights(counts,
                Scheme.INVERSE, Options.defaults().withZeroCount(ZeroCount.ERROR)));
        assertTrue(e.getMessage().contains("class 1 has no label"), e.getMessage());
        for (ZeroCount z : ZeroCount.values()) {
            IllegalArgumentException all = assertThrows(IllegalArgumentException.class, () -> ClassWeights.weights(
                    new long[] {0, 0}, Scheme.BALANCED, Options.defaults().withZeroCount(z)));
            assertTrue(all.getMessage().contains("every count is zero"), all.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> ClassWeights.weights(new long[0], Scheme.INVERSE));
        assertThrows(IllegalArgumentException.class, () -> ClassWeights.weights(new long[] {1, -1}, Scheme.INVERSE));
    }

    @Test
    void schemeNames() {
        for (Scheme s : Scheme.values()) {
            assertSame(s, Scheme.parse(s.cliName()));
        }
        assertEquals("inverse-normalized", Scheme.INVERSE_NORMALIZED.cliName());
        assertThrows(IllegalArgumentException.class, () -> Scheme.parse("sqrt"));
    }

    // ---- conveniences ----

    @Test
    void crossEntropyOptionsCarryTheWeightsInTheInputsDtype() {
        long[] y = {0, 0, 0, 1, 2, 2, -100, 5};
        Tensor input = Tensor.of(new double[8 * 6], 8, 6);
        CrossEntropy.Options base = CrossEntropy.Options.defaults().withIgnoreIndex(5);
        // ignore_index 5 (the loss's) is skipped; -100 is then a bad label
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClassWeights
                .crossEntropyOptions(base, input, Tensor.of(y), Scheme.BALANCED, Options.defaults()));
        assertTrue(e.getMessage().contains("label -100"), e.getMessage());
        y[6] = 5;
        CrossEntropy.Options o = ClassWeights.crossEntropyOptions(base, input, Tensor.of(y), Scheme.BALANCED,
                Options.defaults());
        assertEquals(DType.FLOAT64, o.weight().dtype());
        assertArrayEquals(new double[] {6.0 / 18, 6.0 / 6, 6.0 / 12, 0, 0, 0}, o.weight().toDoubleArray(), 1e-15);
        assertEquals(5, o.ignoreIndex());
        // and the loss takes them
        double loss = CrossEntropy.crossEntropy(input, Tensor.of(y), o);
        assertEquals(Math.log(6), loss, 1e-12);
        Tensor f32 = Tensor.of(new float[8 * 6], 8, 6);
        assertEquals(DType.FLOAT32, ClassWeights.crossEntropyOptions(base, f32, Tensor.of(y), Scheme.INVERSE,
                Options.defaults()).weight().dtype());
    }

    @Test
    void posWeightPerChannelOfTheLastAxis() {
        // 4 samples, 2 channels: channel 0 has 1 positive of 4, channel 1 has 3 of 4
        float[] t = {1, 1, 0, 1, 0, 0, 0, 1};
        Tensor target = Tensor.of(t, 4, 2);
        Tensor pw = ClassWeights.posWeight(target, DType.FLOAT32, Options.defaults());
        assertArrayEquals(new float[] {3f, 1f / 3}, pw.toFloatArray(), 0);
        BinaryCrossEntropy.Options o = ClassWeights.bceOptions(BinaryCrossEntropy.Options.defaults(),
                Tensor.of(new float[8], 4, 2), target, Options.defaults());
        assertArrayEquals(new float[] {3f, 1f / 3}, o.posWeight().toFloatArray(), 0);
        // a channel without positives
        float[] none = {1, 0, 0, 0};
        Tensor nt = Tensor.of(none, 2, 2);
        assertArrayEquals(new float[] {1, 0}, ClassWeights.posWeight(nt, DType.FLOAT32, Options.defaults())
                .toFloatArray(), 0);
        assertArrayEquals(new float[] {1, 1}, ClassWeights.posWeight(nt, DType.FLOAT32, Options.defaults()
                .withZeroCount(ZeroCount.CLAMP_ONE)).toFloatArray(), 0);
        assertThrows(IllegalArgumentException.class, () -> ClassWeights.posWeight(nt, DType.FLOAT32,
                Options.defaults().withZeroCount(ZeroCount.ERROR)));
        assertThrows(IllegalArgumentException.class, () -> ClassWeights.posWeight(Tensor.of(new float[4], 2, 2),
                DType.FLOAT32, Options.defaults()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClassWeights.posWeight(
                Tensor.of(new float[] {0, 1, 0.5f}, 3), DType.FLOAT32, Options.defaults()));
        assertTrue(e.getMessage().contains("0.5 at flat index 2"), e.getMessage());
        // integer labels with ignore_index
        long[] y = {1, -100, 0, 0};
        assertArrayEquals(new double[] {1, 0}, ClassWeights.posWeight(Tensor.of(y, 2, 2), DType.FLOAT64,
                Options.defaults()).toDoubleArray(), 0);
    }
}
