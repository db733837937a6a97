package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.internal.RowOp;
import dev.vecloss.oracle.DfpOracle;
import dev.vecloss.oracle.Tolerance;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.commons.math3.dfp.DfpMath;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** {@code cross_entropy} with index targets (LOSSES.md 1.1), plus its properties and errors. */
class CrossEntropyTest extends RowLossTestBase {

    /*
     * Budgets in float32 ulps, for float32 inputs and outputs. The scalar kernels work in double
     * and round once to float32 (<= 0.5 ulp). A float32 SIMD kernel adds: exp and log of the
     * Vector API (about 1 ulp each), the row sum of C exponentials (relative error ~ C/lanes * u
     * in S, absolute in log S), and the final additions. The loss is formed without cancellation
     * (log S + (m - x_y), or log1p of the other terms when the target is the maximum), so a
     * few ulps of the loss itself is attainable in every regime. Gradients are judged in ulps
     * of max(|g|, sigma * max w), the row's natural scale: p_k - 1 and the smoothing term
     * p_k * sum(w) - w_k may cancel to below that scale in float32.
     */
    @Override
    protected List<Regime> regimes() {
        return List.of(
                // The common case: losses of order 1, C <= 100 in the sweep.
                new Regime(UNIFORM, 8, 8, new Budget(6, 1.5), new Budget(8, 2)),
                // exp(x - m) spans 1e-26..1: tiny probabilities must not flush, losses reach 60.
                // The SIMD kernels round x - m to float32, as PyTorch's float32 kernels do, and exp turns
                // that absolute error (|x - m| 2^-25) into a relative one: up to 30 ulps measured on
                // the tiniest losses (1e-18, a sum of such terms), where the scalar kernels (double)
                // stay within 0.5. The per-element budget, 1e-5 relative, is 84+ ulps.
                new Regime(WIDE, 48, 8, new Budget(48, 4), new Budget(8, 2)),
                // loss ~ (C-1) e^-20: only log1p of the other terms keeps it (float32 lse - x_y is 0).
                // Same cause with |x - m| >= 20: 14 ulps measured (RMS 3.2) on losses of 1e-9.
                new Regime(CONFIDENT, 24, 8, new Budget(24, 6), new Budget(8, 2)),
                // p_k ~ 1/C, losses ~ log C; x - m is tiny and exact.
                new Regime(NEAR_TIE, 8, 8, new Budget(6, 1.5), new Budget(8, 2)));
    }

    @Override
    protected List<Config> configs() {
        return List.of(
                new Config("plain", false, false, 0),
                new Config("weight", true, false, 0),
                new Config("ignore_index inside [0,C)", false, true, 0),
                new Config("label_smoothing 0.1", false, false, 0.1),
                new Config("weight + ignore_index + label_smoothing 0.1", true, true, 0.1));
    }

    @Override
    protected boolean probTargets() {
        return false;
    }

    @Override
    protected double call(Tensor input, Tensor target, CrossEntropy.Options o, Tensor losses, Tensor grad) {
        return CrossEntropy.crossEntropy(input, target, o, losses, grad);
    }

    @Override
    protected DfpOracle.Result oracle(Case k) {
        return DfpOracle.crossEntropyIndex(logSoftmax(k), k.target(), k.weight(), k.ignoreIndex(), k.eps());
    }

    @Override
    protected RowOp op() {
        return RowOp.CROSS_ENTROPY;
    }

    // ------------------------------------------------------------------ properties

    private static CrossEntropy.Options allOptions(Tensor weight, Reduction r) {
        return CrossEntropy.Options.defaults().withWeight(weight).withIgnoreIndex(2).withLabelSmoothing(0.1).withReduction(r);
    }

    /** The float64 gradient against central differences of the float64 loss, weight + ignore + smoothing. */
    @ParameterizedTest
    @EnumSource(value = Reduction.class, names = "BATCHMEAN", mode = EnumSource.Mode.EXCLUDE)
    void gradientMatchesFiniteDifferences(Reduction red) {
        int n = 3, c = 5, s = 4;
        SplittableRandom rnd = new SplittableRandom(11);
        double[] x = new double[n * c * s];
        for (int i = 0; i < x.length; i++) {
            x[i] = -3 + 6 * rnd.nextDouble();
        }
        long[] t = new long[n * s];
        for (int i = 0; i < t.length; i++) {
            t[i] = i % 4 == 0 ? 2 : rnd.nextInt(c);
        }
        Tensor w = Tensor.of(new double[] {0.5, 2, 1, 0.25, 1.5});
        Tensor target = Tensor.of(t, n, s);
        CrossEntropy.Options o = allOptions(w, red);
        double[] g = new double[x.length];
        CrossEntropy.crossEntropy(Tensor.of(x, n, c, s), target, o, Tensor.of(new double[n * s], n, s), Tensor.of(g, n, c, s));
        assertCentralDifferences(x, g,
                v -> CrossEntropy.crossEntropy(Tensor.of(v, n, c, s), target, o, Tensor.of(new double[n * s], n, s), null),
                red.toString());
    }

    /** Logits on a 2^-10 grid plus 16 (exact in float32): x - max is unchanged, so is everything else. */
    @ParameterizedTest
    @EnumSource(value = Reduction.class, names = "BATCHMEAN", mode = EnumSource.Mode.EXCLUDE)
    void shiftInvariance(Reduction red) {
        for (long[] shape : new long[][] {{50, 13}, {4, 21, 17}}) {
            int n = (int) shape[0], c = (int) shape[1], s = shape.length > 2 ? (int) shape[2] : 1;
            SplittableRandom rnd = new SplittableRandom(5);
            float[] x = new float[n * c * s], y = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                x[i] = rnd.nextInt(-4096, 4097) / 1024f;
                y[i] = x[i] + 16;
            }
            long[] tshape = shape.length > 2 ? new long[] {n, s} : new long[] {n};
            long[] t = labels(n * s, c, rnd);
            Tensor w = Tensor.of(toFloat(weights(c)));
            float[] l1 = new float[n * s], l2 = new float[n * s], g1 = new float[x.length], g2 = new float[x.length];
            double r1 = CrossEntropy.crossEntropy(Tensor.of(x, shape), Tensor.of(t, tshape), allOptions(w, red),
                    Tensor.of(l1, tshape), Tensor.of(g1, shape));
            double r2 = CrossEntropy.crossEntropy(Tensor.of(y, shape), Tensor.of(t, tshape), allOptions(w, red),
                    Tensor.of(l2, tshape), Tensor.of(g2, shape));
            Tolerance tol = Tolerance.ulps(2);
            assertTrue(tol.test(r1, r2), red + " " + Arrays.toString(shape) + ": " + r1 + " vs shifted " + r2);
            for (int i = 0; i < l1.length; i++) {
                assertTrue(tol.test(l1[i], l2[i]), "loss[" + i + "]: " + l1[i] + " vs shifted " + l2[i]);
            }
            Tolerance gt = Tolerance.ulps(2, 0x1p-20);
            for (int i = 0; i < g1.length; i++) {
                assertTrue(gt.test(g1[i], g2[i]), "grad[" + i + "]: " + g1[i] + " vs shifted " + g2[i]);
            }
        }
    }

    /** Permuting the classes together with the targets, weights and ignore_index changes nothing. */
    @ParameterizedTest
    @EnumSource(value = Reduction.class, names = "BATCHMEAN", mode = EnumSource.Mode.EXCLUDE)
    void permutationInvariance(Reduction red) {
        int n = 7, c = 13, s = 9;
        long[] shape = {n, c, s}, tshape = {n, s};
        SplittableRandom rnd = new SplittableRandom(9);
        Data d = data(UNIFORM, n, c, s, rnd);
        int[] perm = new int[c];
        for (int i = 0; i < c; i++) {
            perm[i] = (i * 5 + 3) % c;
        }
        float[] x = toFloat(d.x()), xp = new float[x.length];
        for (int pos = 0; pos < n * s; pos++) {
            int base = (pos / s) * c * s + pos % s;
            for (int k = 0; k < c; k++) {
                xp[base + perm[k] * s] = x[base + k * s];
            }
        }
        long[] t = d.target(), tp = new long[t.length];
        for (int i = 0; i < t.length; i++) {
            tp[i] = perm[(int) t[i]];
        }
        double[] w = weights(c), wp = new double[c];
        for (int k = 0; k < c; k++) {
            wp[perm[k]] = w[k];
        }
        CrossEntropy.Options o = allOptions(Tensor.of(toFloat(w)), red);
        CrossEntropy.Options op = allOptions(Tensor.of(toFloat(wp)), red).withIgnoreIndex(perm[2]);
        float[] l1 = new float[n * s], l2 = new float[n * s], g1 = new float[x.length], g2 = new float[x.length];
        double r1 = CrossEntropy.crossEntropy(Tensor.of(x, shape), Tensor.of(t, tshape), o, Tensor.of(l1, tshape), Tensor.of(g1, shape));
        double r2 = CrossEntropy.crossEntropy(Tensor.of(xp, shape), Tensor.of(tp, tshape), op, Tensor.of(l2, tshape), Tensor.of(g2, shape));
        // Only the order of the row sums changes.
        Tolerance tol = Tolerance.ulps(4).or(Tolerance.summation(2 * c));
        assertTrue(tol.test(r1, r2), red + ": " + r1 + " vs permuted " + r2 + " (" + tol + ")");
        for (int i = 0; i < l1.length; i++) {
            assertTrue(tol.test(l1[i], l2[i]), "loss[" + i + "]: " + l1[i] + " vs permuted " + l2[i]);
        }
        Tolerance gt = Tolerance.ulps(4, 0x1p-10).or(Tolerance.summation(2 * c));
        for (int pos = 0; pos < n * s; pos++) {
            int base = (pos / s) * c * s + pos % s;
            for (int k = 0; k < c; k++) {
                float a = g1[base + k * s], b = g2[base + perm[k] * s];
                assertTrue(gt.test(a, b), "grad at position " + pos + " class " + k + ": " + a + " vs permuted " + b);
            }
        }
    }

    /** A row whose target leads by 20 (C = 10) has loss log1p(9 e^-20) = 1.855e-8, not 0 as in float32 PyTorch. */
    @ParameterizedTest
    @EnumSource(value = Reduction.class, names = "BATCHMEAN", mode = EnumSource.Mode.EXCLUDE)
    void confidentRowKeepsItsSmallLoss(Reduction red) {
        // log1p(9 e^-20) in 40 digits
        double want = DfpMath.log(DfpOracle.dfp(9).multiply(DfpMath.exp(DfpOracle.dfp(-20)))
                .add(DfpOracle.FIELD.getOne())).toDouble();
        assertEquals(1.855e-8, want, 1e-11);
        Tolerance tol = Tolerance.relative(1e-5);
        for (long[] shape : new long[][] {{3, 10}, {1, 10, 37}}) {
            int n = (int) shape[0], s = shape.length > 2 ? (int) shape[2] : 1;
            long[] tshape = shape.length > 2 ? new long[] {n, s} : new long[] {n};
            float[] x = new float[n * 10 * s];
            long[] t = new long[n * s];
            for (int pos = 0; pos < n * s; pos++) {
                t[pos] = (pos * 3) % 10;
                int base = (pos / s) * 10 * s + pos % s;
                for (int k = 0; k < 10; k++) {
                    x[base + k * s] = k == t[pos] ? 20.5f : 0.5f;
                }
            }
            float[] l = new float[n * s];
            double r = CrossEntropy.crossEntropy(Tensor.of(x, shape), Tensor.of(t, tshape),
                    CrossEntropy.Options.defaults().withReduction(red), Tensor.of(l, tshape), null);
            double wantReduced = red == Reduction.MEAN ? want : want * n * s;
            assertTrue(tol.test(wantReduced, r), red + " " + Arrays.toString(shape) + ": " + r + ", want " + wantReduced);
            for (int i = 0; i < l.length; i++) {
                assertTrue(tol.test(want, l[i]), "loss[" + i + "] = " + l[i] + ", want " + want);
            }
        }
    }

    // ------------------------------------------------------------------ errors

    private static final float[] X = new float[20 * 13];

    @Test
    void labelOutOfRangeNamesValueAndFlatIndex() {
        long[] t = new long[20];
        t[11] = 57;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CrossEntropy.crossEntropy(Tensor.of(X, 20, 13), Tensor.of(t, 20)));
        assertTrue(e.getMessage().contains("57") && e.getMessage().contains("11"), e.getMessage());
        long[] u = new long[20];
        u[17] = -3;
        e = assertThrows(IllegalArgumentException.class,
                () -> CrossEntropy.crossEntropy(Tensor.of(X, 20, 13), Tensor.of(u, 20)));
        assertTrue(e.getMessage().contains("-3") && e.getMessage().contains("17"), e.getMessage());
        // ...but an out-of-range value at an ignored position is fine
        long[] v = new long[20];
        v[4] = 255;
        double r = CrossEntropy.crossEntropy(Tensor.of(X, 20, 13), Tensor.of(v, 20),
                CrossEntropy.Options.defaults().withIgnoreIndex(255));
        assertTrue(Double.isFinite(r));
    }

    @Test
    void shapeMismatchNamesBothShapes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CrossEntropy.crossEntropy(Tensor.of(X, 20, 13), Tensor.of(new long[19], 19)));
        assertTrue(e.getMessage().contains("[20, 13]") && e.getMessage().contains("[19]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> CrossEntropy.crossEntropy(Tensor.of(X, 4, 13, 5), Tensor.of(new long[16], 4, 4)));
        assertTrue(e.getMessage().contains("[4, 13, 5]") && e.getMessage().contains("[4, 4]"), e.getMessage());
    }

    @Test
    void weightOfWrongLength() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CrossEntropy.crossEntropy(Tensor.of(X, 20, 13), Tensor.of(new long[20], 20),
                        CrossEntropy.Options.defaults().withWeight(Tensor.of(new float[12]))));
        assertTrue(e.getMessage().contains("13") && e.getMessage().contains("12"), e.getMessage());
    }

    @Test
    void labelSmoothingAboveOne() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CrossEntropy.Options.defaults().withLabelSmoothing(1.5));
        assertTrue(e.getMessage().contains("1.5"), e.getMessage());
    }

    @Test
    void probabilityTargetWithIgnoreIndex() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CrossEntropy.crossEntropy(Tensor.of(X, 20, 13), Tensor.of(new float[20 * 13], 20, 13),
                        CrossEntropy.Options.defaults().withIgnoreIndex(0)));
        assertTrue(e.getMessage().contains("ignore_index"), e.getMessage());
    }

    @Test
    void reductionNoneNeedsLosses() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CrossEntropy.crossEntropy(Tensor.of(X, 20, 13), Tensor.of(new long[20], 20),
                        CrossEntropy.Options.defaults().withReduction(Reduction.NONE)));
        assertTrue(e.getMessage().contains("losses"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> CrossEntropy.crossEntropy(Tensor.of(X, 20, 13), Tensor.of(new long[20], 20),
                        CrossEntropy.Options.defaults().withReduction(Reduction.NONE), null, null));
        assertTrue(e.getMessage().contains("losses"), e.getMessage());
    }
}
