package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.internal.ElementOp;
import dev.vecloss.oracle.DfpOracle;
import dev.vecloss.oracle.ElementwiseOracle;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@code binary_cross_entropy} on probabilities (LOSSES.md 3): the -100 clamp of each log, the
 * gradient's floor 1e-12f, weights broadcast with NumPy's rule, and the range check of input and
 * target (a value outside [0, 1], or NaN, is refused naming the value and its flat index).
 */
class BinaryCrossEntropyTest extends ElementwiseLossTestBase<Void> {

    /** Probabilities uniform in [0, 1), hard labels. */
    static final DataRegime P_UNIFORM = new DataRegime("p uniform in [0,1], hard targets", uniform(0, 1), null, false);
    /** Probabilities uniform in [0, 1), soft targets. */
    static final DataRegime P_SOFT = new DataRegime("p uniform in [0,1], soft targets", uniform(0, 1), null, false);
    /**
     * p = 2^-k (k up to 149: the clamp at -100 below e^-100 = 3.7e-44, the gradient's floor below
     * 1e-12) and 1 - 2^-k (k up to 24), and exactly 0 and 1, with hard labels: losses from 2^-149
     * to the clamp's 100, gradients up to 1e12.
     */
    static final DataRegime P_EDGES = new DataRegime("p near 0 and 1: 2^-k, 1 - 2^-k, 0 and 1", (n, c, s, rnd) -> {
        double[] p = new double[n * c * s];
        for (int i = 0; i < p.length; i++) {
            int kind = rnd.nextInt(10);
            p[i] = kind == 0 ? 0 : kind == 1 ? 1 : kind < 6 ? Math.scalb(1.0, -1 - rnd.nextInt(149))
                    : 1 - Math.scalb(1.0, -1 - rnd.nextInt(24));
        }
        return p;
    }, null, false);
    /** p on the label's side: 1 - 2^-k for label 1, 2^-k for label 0, k in [1, 24]: losses 2^-k, kept without cancellation. */
    static final DataRegime P_CONFIDENT = new DataRegime("confident: p = 1 - 2^-k or 2^-k on the target's side",
            uniform(0, 1), rnd -> 1 + rnd.nextInt(24), false);

    /*
     * Budgets in float32 ulps, for float32 inputs and outputs (measured: scalar 0.5 everywhere;
     * Panama at most 2.5 ulps, RMS 0.57, on the losses and the gradient). The scalar kernels
     * compute in double and round once. The SIMD kernel computes y max(log p, -100) +
     * (1 - y) max(log1p(-p), -100) in float32: each log about 1 ulp, 1 - p exact for p in
     * [1/2, 1] (Sterbenz), two products and a sum of terms of one sign; the gradient
     * (p - y) / max(p (1 - p), 1e-12f) is one subtraction (exact for hard labels), one product
     * and one division. Each check allows half as much again as the sweep's maximum.
     */
    @Override
    protected List<Regime> regimes() {
        return List.of(
                new Regime(P_UNIFORM, 6, 6, new Budget(4, 1), new Budget(4, 1)),
                new Regime(P_SOFT, 6, 6, new Budget(4, 1), new Budget(4, 1)),
                // the clamp and the floor: constants, and logs of exact powers of two
                new Regime(P_EDGES, 6, 6, new Budget(4, 1), new Budget(4, 1)),
                // losses 2^-k from log1p(-2^-k) or log(1 - 2^-k), no cancellation
                new Regime(P_CONFIDENT, 6, 6, new Budget(4, 1), new Budget(4, 1)));
    }

    @Override
    protected List<Config<Void>> configs() {
        return List.of(
                new Config<>("plain", null),
                new Config<>("weight 0-d", Operand.SCALAR, Operand.NONE, null),
                new Config<>("weight (last axis)", Operand.LAST, Operand.NONE, null),
                new Config<>("weight (C, 1, ..., 1)", Operand.CLASS, Operand.NONE, null),
                new Config<>("weight of the input's shape", Operand.FULL, Operand.NONE, null));
    }

    @Override
    protected double[] targets(Regime r, Void params, double[] x, SplittableRandom rnd) {
        return r.data() == P_SOFT ? softLabels(x.length, rnd) : hardLabels(x.length, rnd);
    }

    /** The confident regime's lead k: p = 1 - 2^-k for label 1, 2^-k for label 0. */
    @Override
    protected double[] inputs(Regime r, Void params, double[] x, double[] y, SplittableRandom rnd) {
        if (r.data() != P_CONFIDENT) {
            return x;
        }
        double[] p = new double[x.length];
        for (int i = 0; i < p.length; i++) {
            double e = Math.scalb(1.0, -(int) Math.abs(x[i]));
            p[i] = x[i] > 0 ? 1 - e : e;
        }
        return p;
    }

    @Override
    protected boolean takesWeight() {
        return true;
    }

    @Override
    protected double call(Tensor input, Tensor target, Tensor weight, Tensor posWeight, Void params, Reduction red,
            int threads, Tensor losses, Tensor grad) {
        BinaryCrossEntropy.Options o = BinaryCrossEntropy.Options.defaults().withWeight(weight).withPosWeight(posWeight)
                .withReduction(red).withThreads(threads);
        return BinaryCrossEntropy.binaryCrossEntropy(input, target, o, losses, grad);
    }

    @Override
    protected DfpOracle.Result oracle(Case<Void> k) {
        return ElementwiseOracle.bce(k.x(), k.y(), k.expandedWeight());
    }

    @Override
    protected ElementOp op(Void params) {
        return ElementOp.BINARY_CROSS_ENTROPY;
    }

    /** Away from the clamp and the floor: p in [0.05, 0.95], where the gradient is the loss's derivative. */
    @Override
    protected List<Smooth<Void>> smoothCases() {
        SplittableRandom rnd = new SplittableRandom(4);
        double[] p = new double[60];
        for (int i = 0; i < p.length; i++) {
            p[i] = 0.05 + 0.9 * rnd.nextDouble();
        }
        return List.of(new Smooth<>(p, softLabels(60, rnd), new long[] {3, 4, 5}, configs().get(3)));
    }

    /**
     * Inputs are probabilities, refused when not finite (see {@link #refusals}): the special
     * values here are the domain's edges, exactly 0 and 1 (both logs clamped at -100) and
     * 2^-149, with targets 0, 1 and 1/2.
     */
    @Override
    protected Case<Void> withNonFiniteInputs(Case<Void> k) {
        double[] x = k.x().clone(), y = k.y().clone();
        int i = 0;
        for (double p : new double[] {0, 1, 0x1p-149, 0x1p-24, 1 - 0x1p-24}) {
            for (double t : new double[] {0, 1, 0.5}) {
                x[i] = p;
                y[i++] = t;
            }
        }
        return k.with(x, y, null, "|edges");
    }

    /** An input or target outside [0, 1] or NaN: refused, naming the operand, the value and its flat index. */
    @Override
    protected List<Refusal<Case<Void>>> refusals() {
        Case<Void> k = makeCase(regimes().get(0), configs().get(configs().size() - 1), new long[] {6, 13}, 5);
        List<Refusal<Case<Void>>> r = new ArrayList<>();
        Object[][] bad = {
                {"input", 7, 1.5, "input 1.5 at flat index 7"},
                {"input", 3, -0.25, "input -0.25 at flat index 3"},
                {"input", 11, Double.NaN, "input NaN at flat index 11"},
                {"input", 77, Double.POSITIVE_INFINITY, "input Infinity at flat index 77"},
                {"target", 5, 2.0, "target 2.0 at flat index 5"},
                {"target", 40, Double.NaN, "target NaN at flat index 40"},
                {"target", 0, -1e-30, "target -1.0000000031710769E-30 at flat index 0"}};
        for (Object[] b : bad) {
            double[] x = k.x().clone(), y = k.y().clone();
            (b[0].equals("input") ? x : y)[(int) b[1]] = (double) b[2];
            r.add(new Refusal<>(b[0] + " " + b[2] + " at " + b[1], k.with(x, y, null, "|bad"), (String) b[3]));
        }
        // the lowest flat index is named, whichever operand it is in
        double[] x = k.x().clone(), y = k.y().clone();
        x[20] = 3;
        y[9] = -1;
        r.add(new Refusal<>("two bad values", k.with(x, y, null, "|two"), "target -1.0 at flat index 9"));
        return r;
    }

    /**
     * A reduced call without outputs checks the values only when its result is NaN (the kernels
     * give an element outside [0, 1] a NaN loss): it still refuses each bad value with the same
     * words and the lowest flat index, soft and hard labels, one and two threads, both kernels.
     * (The refusals above write outputs, which the pass before the loss checks.)
     */
    @Test
    void reducedCallsRefuseValuesOutsideTheUnitInterval() throws Exception {
        int n = 2003; // several SIMD tiles, and two threads' chunks
        java.util.SplittableRandom r = new java.util.SplittableRandom(8);
        for (boolean hard : new boolean[] {true, false}) {
            float[] p = new float[n], y = new float[n];
            for (int i = 0; i < n; i++) {
                p[i] = (float) r.nextDouble();
                y[i] = hard ? r.nextInt(2) : (float) r.nextDouble();
            }
            Object[][] bad = {{"input", 1500, 1.5f}, {"input", 3, -0.25f}, {"input", 11, Float.NaN},
                {"target", 1990, hard ? 2f : 1.0001f}, {"target", 40, -1e-30f}};
            for (Object[] b : bad) {
                float[] pb = p.clone(), yb = y.clone();
                (b[0].equals("input") ? pb : yb)[(int) b[1]] = (float) b[2];
                if (b[0].equals("input") && hard) {
                    yb[(int) b[1]] = (float) b[2] > 1 ? 1 : 0; // the label whose one log is finite there
                }
                String expected = b[0] + " " + (double) (float) b[2] + " at flat index " + b[1] + " is outside [0, 1]";
                for (Kernels.Implementation impl : java.util.EnumSet.of(Kernels.Implementation.SCALAR, Kernels.selected())) {
                    for (int threads : new int[] {1, 2}) {
                        for (Reduction red : new Reduction[] {Reduction.MEAN, Reduction.SUM}) {
                            BinaryCrossEntropy.Options o = BinaryCrossEntropy.Options.defaults().withThreads(threads)
                                    .withReduction(red);
                            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
                                    IllegalArgumentException.class, () -> Kernels.callWith(impl,
                                            () -> BinaryCrossEntropy.binaryCrossEntropy(Tensor.of(pb), Tensor.of(yb), o)),
                                    expected + ", " + impl + ", " + threads + " threads, hard " + hard);
                            assertTrue(e.getMessage().endsWith(expected), e.getMessage() + " for " + expected);
                        }
                    }
                }
            }
        }
    }

    /** A pos_weight is binary_cross_entropy_with_logits's only. */
    @Test
    void posWeightIsRefused() {
        float[] p = {0.25f, 0.5f, 0.75f};
        assertRefusedWritingNothing("pos_weight", new long[] {3}, (l, g) -> BinaryCrossEntropy.binaryCrossEntropy(
                Tensor.of(p), Tensor.of(p), BinaryCrossEntropy.Options.defaults().withPosWeight(Tensor.of(new float[] {2}))
                        .withReduction(Reduction.NONE), l, g), "pos_weight is for binary_cross_entropy_with_logits");
    }

    /** p = 0 with label 1 and p = 1 with label 0: each log clamped at -100, so the loss is 100 (times the weight). */
    @Test
    void clampAtMinus100() {
        for (Kernels.Implementation impl : java.util.EnumSet.of(Kernels.Implementation.SCALAR, Kernels.selected())) {
            float[] l = new float[4], g = new float[4];
            double sum = Kernels.callWith(impl, () -> BinaryCrossEntropy.binaryCrossEntropy(
                    Tensor.of(new float[] {0, 1, 0, 1}), Tensor.of(new float[] {1, 0, 0, 1}),
                    BinaryCrossEntropy.Options.defaults()
                            .withWeight(Tensor.of(java.lang.foreign.MemorySegment.ofArray(new float[] {0.5f}), DType.FLOAT32))
                            .withReduction(Reduction.NONE), Tensor.of(l), Tensor.of(g)));
            assertEquals(100.0, sum, 0, impl.toString());
            assertEquals(50.0, l[0], 0, impl + ": p = 0, y = 1");
            assertEquals(50.0, l[1], 0, impl + ": p = 1, y = 0");
            assertEquals(0.0, l[2], 0, impl + ": p = 0, y = 0");
            assertEquals(0.0, l[3], 0, impl + ": p = 1, y = 1");
            // (p - y) / max(p (1 - p), 1e-12f), times the weight 0.5
            assertEquals(-0.5 / ElementwiseOracle.BCE_GRAD_FLOOR, g[0], Math.ulp(g[0]), impl + ": gradient at p = 0, y = 1");
            assertEquals(0.5 / ElementwiseOracle.BCE_GRAD_FLOOR, g[1], Math.ulp(g[1]), impl + ": gradient at p = 1, y = 0");
            assertTrue(g[2] == 0 && g[3] == 0, impl + ": gradients at the right edge " + g[2] + ", " + g[3]);
        }
    }

    /**
     * Labels that are all 0 or 1 take one logarithm per element (the SIMD kernels' hard-label
     * path); a soft label in the same tile sends every element through both: the losses and
     * gradients of the other elements must have the same bits either way, signs of zero
     * included, on the edge values (p = 0 and 1 with both labels, 2^-24, 1 - 2^-24, subnormal p).
     */
    @Test
    void hardLabelPathGivesTheGeneralFormsBits() {
        SplittableRandom r = new SplittableRandom(21);
        int n = 300; // one tile, with a partial last vector
        float[] p = new float[n + 1], hard = new float[n + 1], soft;
        float[] edges = {0f, 1f, 0x1p-24f, 1 - 0x1p-24f, Float.MIN_VALUE, 0x1p-126f, 0.5f};
        for (int i = 0; i < n; i++) {
            p[i] = i < 4 * edges.length ? edges[i % edges.length] : (float) r.nextDouble();
            hard[i] = (i / edges.length) % 2 == 0 ? 1f : 0f;
        }
        p[n] = 0.25f;
        hard[n] = 1f;
        soft = hard.clone();
        soft[n] = 0.5f; // one soft label: the whole tile takes both logarithms
        for (Kernels.Implementation impl : java.util.EnumSet.of(Kernels.Implementation.SCALAR, Kernels.selected())) {
            float[] lh = new float[n + 1], gh = new float[n + 1], ls = new float[n + 1], gs = new float[n + 1];
            BinaryCrossEntropy.Options none = BinaryCrossEntropy.Options.defaults().withReduction(Reduction.NONE);
            Kernels.callWith(impl, () -> BinaryCrossEntropy.binaryCrossEntropy(Tensor.of(p), Tensor.of(hard), none,
                    Tensor.of(lh), Tensor.of(gh)));
            Kernels.callWith(impl, () -> BinaryCrossEntropy.binaryCrossEntropy(Tensor.of(p), Tensor.of(soft), none,
                    Tensor.of(ls), Tensor.of(gs)));
            for (int i = 0; i < n; i++) {
                assertEquals(Float.floatToRawIntBits(ls[i]), Float.floatToRawIntBits(lh[i]),
                        impl + ": loss at p = " + p[i] + ", y = " + hard[i] + ": " + lh[i] + " vs " + ls[i]);
                assertEquals(Float.floatToRawIntBits(gs[i]), Float.floatToRawIntBits(gh[i]), impl + ": gradient at " + i);
            }
        }
    }
}
