package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.internal.ElementOp;
import dev.vecloss.oracle.DfpOracle;
import dev.vecloss.oracle.ElementwiseOracle;
import dev.vecloss.oracle.Tolerance;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@code binary_cross_entropy_with_logits} (LOSSES.md 4): weight and pos_weight broadcast with
 * NumPy's rule, soft targets, saturated logits kept exact, and IEEE's values at infinite logits.
 */
class BinaryCrossEntropyWithLogitsTest extends ElementwiseLossTestBase<Void> {

    /*
     * Budgets in float32 ulps, for float32 inputs and outputs (measured: scalar 0.5 everywhere;
     * Panama at most 3.9 ulps, RMS 0.66, on the losses, 1.7 on the gradient at its scale). The
     * scalar kernels work in double and round once. The SIMD kernel computes l = A + r log1p(e),
     * e = exp(-|x|), in float32: A = (1 - y) x or -P y x one or two roundings, exp and log1p
     * about 1 ulp each, and the terms all have one sign (no cancellation), so a few ulps of the
     * loss everywhere, the tiny losses of confident and saturated elements included: e^-50 is a
     * normal float32, and the exact value rounded to float32 is what a float32 kernel can give
     * down to e^-103 (a subnormal; PyTorch's float32 kernel gives 0 from x = 17). The gradient
     * p (1 - y) - P y (1 - p) cancels for soft targets where p ~ y: judged at its scale (the
     * largest weight times pos_weight), besides the 1e-5 relative or 1e-7 absolute.
     * Each check allows about half as much again as the sweep's maximum.
     */
    @Override
    protected List<Regime> regimes() {
        return List.of(
                new Regime(UNIFORM, 8, 6, new Budget(6, 1.5), new Budget(4, 1)),
                new Regime(WIDE, 8, 6, new Budget(6, 1.5), new Budget(4, 1)),
                new Regime(SATURATED_30, 8, 6, new Budget(6, 1.5), new Budget(4, 1)),
                new Regime(CORRECT_SIDE, 8, 6, new Budget(6, 1.5), new Budget(4, 1)),
                new Regime(SOFT, 8, 6, new Budget(6, 1.5), new Budget(4, 1)));
    }

    @Override
    protected List<Config<Void>> configs() {
        return List.of(
                new Config<>("plain", null),
                new Config<>("weight 0-d", Operand.SCALAR, Operand.NONE, null),
                new Config<>("weight and pos_weight (last axis)", Operand.LAST, Operand.LAST, null),
                new Config<>("weight and pos_weight (C, 1, ..., 1)", Operand.CLASS, Operand.CLASS, null),
                new Config<>("weight of the input's shape, pos_weight 0-d", Operand.FULL, Operand.SCALAR, null));
    }

    @Override
    protected double[] targets(Regime r, Void params, double[] x, SplittableRandom rnd) {
        return r.data() == SOFT ? softLabels(x.length, rnd) : hardLabels(x.length, rnd);
    }

    @Override
    protected double[] nonFiniteTargets(Void params) {
        return new double[] {0, 1, 0.25};
    }

    @Override
    protected boolean takesWeight() {
        return true;
    }

    @Override
    protected boolean takesPosWeight() {
        return true;
    }

    @Override
    protected double call(Tensor input, Tensor target, Tensor weight, Tensor posWeight, Void params, Reduction red,
            int threads, Tensor losses, Tensor grad) {
        BinaryCrossEntropy.Options o = BinaryCrossEntropy.Options.defaults().withWeight(weight).withPosWeight(posWeight)
                .withReduction(red).withThreads(threads);
        return BinaryCrossEntropy.binaryCrossEntropyWithLogits(input, target, o, losses, grad);
    }

    @Override
    protected DfpOracle.Result oracle(Case<Void> k) {
        return ElementwiseOracle.bceWithLogits(k.x(), k.y(), k.expandedWeight(), k.expandedPosWeight());
    }

    @Override
    protected ElementOp op(Void params) {
        return ElementOp.BINARY_CROSS_ENTROPY_WITH_LOGITS;
    }

    @Override
    protected List<Smooth<Void>> smoothCases() {
        SplittableRandom rnd = new SplittableRandom(3);
        double[] x = new double[60];
        for (int i = 0; i < x.length; i++) {
            x[i] = -4 + 8 * rnd.nextDouble();
        }
        return List.of(new Smooth<>(x, softLabels(60, rnd), new long[] {3, 4, 5}, configs().get(3)));
    }

    // ------------------------------------------------------------------ operands over the last axis

    /**
     * A weight and a pos_weight over the last axis are read cyclically across the SIMD kernel's
     * tiles (not tile by tile of one row): with periods that do not divide the tile, are longer
     * than it, or are 1, and chunks of two threads that start inside a period, the selected
     * kernels agree with the scalar ones (which read the operands run by run) within the
     * issue's per-element budget; an operand read out of phase is off by far more (pos_weight
     * and weight vary by a factor of 9 and 8 along the axis).
     */
    @Test
    void operandsOverTheLastAxisAreReadInPhaseAcrossTiles() throws Exception {
        SplittableRandom rnd = new SplittableRandom(17);
        for (long[] shape : new long[][] {{37, 29}, {5, 300}, {3, 1100}, {700, 1}, {2, 3, 257}}) {
            int n = 1;
            for (long d : shape) {
                n *= (int) d;
            }
            int period = (int) shape[shape.length - 1];
            float[] x = new float[n], y = new float[n], w = new float[period], pw = new float[period];
            for (int i = 0; i < n; i++) {
                x[i] = (float) (-6 + 12 * rnd.nextDouble());
                y[i] = (float) rnd.nextDouble();
            }
            for (int j = 0; j < period; j++) {
                w[j] = (float) (0.25 + 2 * rnd.nextDouble());
                pw[j] = (float) (0.5 + 4 * rnd.nextDouble());
            }
            Tensor wt = Tensor.of(w, period), pwt = Tensor.of(pw, period);
            float[] ls = new float[n], gs = new float[n];
            double ms = Kernels.callWith(Kernels.Implementation.SCALAR,
                    () -> bceWithLogits(x, y, wt, pwt, shape, 1, ls, gs));
            for (int threads : new int[] {1, 2}) {
                float[] l = new float[n], g = new float[n];
                double m = bceWithLogits(x, y, wt, pwt, shape, threads, l, g);
                String where = java.util.Arrays.toString(shape) + ", " + threads + " threads";
                assertEquals(ms, m, 2e-6 * Math.abs(ms), "mean, " + where);
                for (int i = 0; i < n; i++) {
                    assertEquals(ls[i], l[i], 1e-5 * Math.abs(ls[i]) + 1e-7, "loss " + i + ", " + where);
                    assertEquals(gs[i], g[i], 1e-5 * Math.abs(gs[i]) + 1e-7, "gradient " + i + ", " + where);
                }
            }
        }
    }

    /** The mean, with the losses and the gradient written to {@code losses} and {@code grad}. */
    private static double bceWithLogits(float[] x, float[] y, Tensor w, Tensor pw, long[] shape, int threads,
            float[] losses, float[] grad) {
        BinaryCrossEntropy.Options o = BinaryCrossEntropy.Options.defaults().withWeight(w).withPosWeight(pw).withThreads(threads);
        double mean = BinaryCrossEntropy.binaryCrossEntropyWithLogits(Tensor.of(x, shape), Tensor.of(y, shape), o, null,
                Tensor.of(grad, shape));
        BinaryCrossEntropy.binaryCrossEntropyWithLogits(Tensor.of(x, shape), Tensor.of(y, shape),
                o.withReduction(Reduction.NONE), Tensor.of(losses, shape), null);
        return mean;
    }

    // ------------------------------------------------------------------ saturation

    /**
     * x = 30, y = 1 (and x = -30, y = 0) has loss log1p(e^-30) = 9.36e-14, where PyTorch's float32
     * kernel gives 0; x = 100 gives 3.7e-44, a float32 subnormal; the gradient -1/(1 + e^30).
     */
    @Test
    void saturatedLogitsKeepTheirTinyLoss() {
        float[] x = {30, -30, 100, -100, 88};
        float[] y = {1, 0, 1, 0, 1};
        DfpOracle.Result want = ElementwiseOracle.bceWithLogits(toDouble(x), toDouble(y), null, null);
        assertEquals(9.357622968839737e-14, want.losses()[0], 1e-27); // e^-30 - e^-60 / 2
        for (Kernels.Implementation impl : java.util.EnumSet.of(Kernels.Implementation.SCALAR, Kernels.selected())) {
            float[] l = new float[5], g = new float[5];
            double sum = Kernels.callWith(impl, () -> BinaryCrossEntropy.binaryCrossEntropyWithLogits(Tensor.of(x, 5),
                    Tensor.of(y, 5), BinaryCrossEntropy.Options.defaults().withReduction(Reduction.SUM),
                    Tensor.of(l, 5), Tensor.of(g, 5)));
            assertTrue(Tolerance.relative(2e-6).test(want.sum(), sum), impl + ": sum " + sum + ", want " + want.sum());
            for (int i = 0; i < 5; i++) {
                // ulps of the float32 value: a subnormal's ulp is 1.4e-45
                assertTrue(Tolerance.ulps(4).test(want.losses()[i], l[i]), impl + ": loss at x = " + x[i] + ": " + l[i]
                        + ", want " + want.losses()[i]);
                // the gradient sigmoid(x) - 1 = -9.36e-14 next to gradients of order 1: judged at
                // that scale (r sigmoid(x) - P y cancels; the library promises the loss, not this)
                assertTrue(Tolerance.ulps(4, 1).test(want.gradSum()[i], g[i]), impl + ": grad at x = " + x[i] + ": "
                        + g[i] + ", want " + want.gradSum()[i]);
            }
        }
    }

    static double[] toDouble(float[] v) {
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            r[i] = v[i];
        }
        return r;
    }
}
