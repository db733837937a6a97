package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.internal.RowOp;
import dev.vecloss.internal.RowProblem;
import dev.vecloss.oracle.DfpOracle;
import dev.vecloss.oracle.RowOracle;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Keras's {@code categorical_hinge} (LOSSES.md 6.3) with targets of the input's shape, class
 * axis 1: one-hot, near-one-hot and soft targets, Keras's quirk (the true class's slot counts as
 * 0 in the maximum), the first maximal class taking the gradient, a margin.
 */
class CategoricalHingeTest extends RowLossTestBase {

    /** One-hot (or near-one-hot) targets, scores uniform in [-4, 4]. */
    static final DataRegime ONE_HOT = new DataRegime("one-hot targets, scores [-4,4]", uniform(-4, 4), null, true);
    /** One-hot targets, scores uniform in [-30, 30]. */
    static final DataRegime ONE_HOT_WIDE = new DataRegime("one-hot targets, scores [-30,30]", uniform(-30, 30), null, true);
    /** Every score negative: the maximum is the true class's slot, 0 (Keras's quirk), so neg = 0. */
    static final DataRegime NEGATIVE = new DataRegime("one-hot targets, scores in [-4,0)", uniform(-4, -0.01), null, true);
    /** The target's score leads by 0 to 2: losses on both sides of the margin 1. */
    static final DataRegime AROUND_MARGIN = new DataRegime("one-hot targets, the target leads by 0 to 2", uniform(-4, 4),
            rnd -> 2 * rnd.nextDouble(), true);
    /** Soft targets: half the mass on a label, the rest spread at random. */
    static final DataRegime SOFT_TARGETS = new DataRegime("soft targets, scores [-4,4]", uniform(-4, 4), null, false);

    /*
     * Budgets in float32 ulps, for float32 inputs and outputs (measured: 0.5 ulp, RMS 0.29, on
     * every kernel set). Both kernels compute pos and neg in double (the SIMD one along the class
     * axis, Margins): products of two floats are exact in double, the sum pos of C of them rounds
     * in double, the loss rounds once to float32; the gradient -y_c + (1 - y_j) is exact before
     * its scale.
     */
    @Override
    protected List<Regime> regimes() {
        return List.of(
                new Regime(ONE_HOT, 1, 1, new Budget(0.6, 0.35), new Budget(0.6, 0.2)),
                new Regime(ONE_HOT_WIDE, 1, 1, new Budget(0.6, 0.35), new Budget(0.6, 0.2)),
                new Regime(NEGATIVE, 1, 1, new Budget(0.6, 0.35), new Budget(0.6, 0.2)),
                new Regime(AROUND_MARGIN, 1, 1, new Budget(0.6, 0.35), new Budget(0.6, 0.2)),
                new Regime(SOFT_TARGETS, 1, 1, new Budget(0.6, 0.35), new Budget(0.6, 0.2)));
    }

    @Override
    protected List<Config> configs() {
        return List.of(
                new Config("margin 1 (Keras)", false, false, 0, 1.0),
                new Config("margin 0.5", false, false, 0, 0.5),
                new Config("margin 2", false, false, 0, 2.0));
    }

    @Override
    protected boolean probTargets() {
        return true;
    }

    @Override
    protected boolean issueBudgets() {
        return true;
    }

    static Hinge.Options options(double margin, Reduction red, int threads) {
        return Hinge.Options.defaults().withMargin(margin).withReduction(red).withThreads(threads);
    }

    /** With cross-entropy's options: margin 1 (for the base's tests that pass those). */
    @Override
    protected double call(Tensor input, Tensor target, CrossEntropy.Options o, Tensor losses, Tensor grad) {
        return Hinge.categoricalHinge(input, target, options(1, o.reduction(), o.threads()).withWeight(o.weight()), losses, grad);
    }

    @Override
    protected double invoke(Case k, Call call, Tensor losses, Tensor grad) {
        EntryPoint ep = call.ep();
        Arena arena = call.arena();
        return Hinge.categoricalHinge(ep.floats(arena, k.x(), k.inputShape()), ep.floats(arena, k.prob(), k.inputShape()),
                options((double) k.params(), call.red(), call.threads()), losses, grad);
    }

    @Override
    protected DfpOracle.Result oracle(Case k) {
        return RowOracle.categoricalHinge(k.x(), k.prob(), k.n(), k.c(), k.s(), (double) k.params());
    }

    @Override
    protected RowOp op() {
        return RowOp.CATEGORICAL_HINGE;
    }

    @Override
    protected RowProblem kernelOptions(RowProblem p, Case k, MemorySegment target) {
        return p.margin(1, (double) k.params());
    }

    /**
     * An empty class axis is not refused: the maximum over no class is -inf (TensorFlow's
     * reduce_max of nothing; NumPy would raise), so each position's loss is 0.
     */
    @Override
    protected boolean refused(Case k) {
        return false;
    }

    @Override
    protected List<Refusal<Case>> refusals() {
        return List.of();
    }

    /**
     * A non-finite score makes the row NaN (a 0 target times an infinite score is NaN in pos, a
     * NaN in the maximum stays NaN), with gradient 0 (NaN > 0 fails): NaN, +inf at the label,
     * -inf off it, +inf off it, a whole row of -inf.
     */
    @Override
    protected Case withNonFiniteInputs(Case k) {
        double[] x = k.x().clone();
        int s = k.s(), c = k.c();
        java.util.function.IntBinaryOperator at = (pos, cls) -> (pos / s) * c * s + cls * s + pos % s;
        long[] t = k.target();
        x[at.applyAsInt(0, 3)] = Double.NaN;
        x[at.applyAsInt(1, (int) t[1])] = Double.POSITIVE_INFINITY;
        x[at.applyAsInt(2, ((int) t[2] + 1) % c)] = Double.NEGATIVE_INFINITY;
        x[at.applyAsInt(3, ((int) t[3] + 1) % c)] = Double.POSITIVE_INFINITY;
        for (int cls = 0; cls < c; cls++) {
            x[at.applyAsInt(4, cls)] = Double.NEGATIVE_INFINITY;
        }
        return k.with(x, t, k.prob().clone(), "|nonfinite");
    }

    /**
     * Both kernel sets run CATEGORICAL_HINGE in the scalar loop (PanamaKernels), so odd sizes exercise
     * no vector tail: fewer shapes than cross-entropy's, to keep the Dfp oracle's time down.
     */
    @Override
    protected List<long[]> oddShapes(int size) {
        return size > 1100 ? List.of() : size > 500 ? List.of(new long[] {2, size})
                : List.of(new long[] {2, size}, new long[] {2, 3, size});
    }

    @Override
    protected List<long[]> accuracyShapes() {
        return List.of(new long[] {100, 10}, new long[] {4, 3, 41}, new long[] {2, 21, 19});
    }

    // ------------------------------------------------------------------ by hand, errors, finite differences

    /**
     * Keras's quirk by hand: scores (-1, -2, 0.5), one-hot target on class 2: pos = 0.5, neg =
     * max(-1, -2, 0) = 0 (the true class's slot), l = 0.5; the true slot attains the maximum, so
     * only -1 at the true class. With scores (1, -2, 0.5): neg = 1 at class 0, l = 1.5, gradient
     * (1, 0, -1). Ties go to the first class: (0.5, 0.5, 0) with target 2 gives +1 at class 0.
     */
    @Test
    void kerasQuirkByHand() {
        float[] y = {0, 0, 1};
        Object[][] cases = {{new float[] {-1, -2, 0.5f}, 0.5f, new float[] {0, 0, -1}},
                {new float[] {1, -2, 0.5f}, 1.5f, new float[] {1, 0, -1}},
                {new float[] {0.5f, 0.5f, 0}, 1.5f, new float[] {1, 0, -1}},
                {new float[] {-1, -2, 3}, 0f, new float[] {0, 0, 0}},
                {new float[] {-1, -2, 1}, 0f, new float[] {0, 0, 0}}}; // neg - pos + 1 = 0: the kink, inactive
        for (Object[] cs : cases) {
            float[] x = (float[]) cs[0], g = new float[3], l = new float[1];
            Hinge.categoricalHinge(Tensor.of(x, 1, 3), Tensor.of(y, 1, 3), options(1, Reduction.SUM, 0), Tensor.of(l, 1),
                    Tensor.of(g, 1, 3));
            assertEquals((float) cs[1], l[0], java.util.Arrays.toString(x));
            assertTrue(java.util.Arrays.equals((float[]) cs[2], g), java.util.Arrays.toString(x) + ": gradient "
                    + java.util.Arrays.toString(g));
        }
    }

    @Test
    void errors() {
        float[] x = new float[12];
        assertRefusedWritingNothing("target (3, 3)", new long[] {3, 4}, (l, g) -> Hinge.categoricalHinge(
                Tensor.of(x, 3, 4), Tensor.of(new float[9], 3, 3), options(1, Reduction.MEAN, 0), null, g), "target shape");
        assertRefusedWritingNothing("int64 target", new long[] {3, 4}, (l, g) -> Hinge.categoricalHinge(
                Tensor.of(x, 3, 4), Tensor.of(new long[12], 3, 4), options(1, Reduction.MEAN, 0), null, g), "target must be FLOAT32");
        assertRefusedWritingNothing("weight", new long[] {3, 4}, (l, g) -> Hinge.categoricalHinge(
                Tensor.of(x, 3, 4), Tensor.of(new float[12], 3, 4), options(1, Reduction.MEAN, 0).withWeight(Tensor.of(new float[4])),
                null, g), "weight is for multi_margin_loss");
        assertRefusedWritingNothing("0-d input", new long[0], (l, g) -> Hinge.categoricalHinge(
                Tensor.of(MemorySegment.ofArray(new float[1]), DType.FLOAT32), Tensor.of(MemorySegment.ofArray(new float[1]),
                        DType.FLOAT32), options(1, Reduction.MEAN, 0), null, g), "class axis");
    }

    /** The float64 gradient against central differences, one-hot and soft targets, away from the kink and from ties. */
    @ParameterizedTest
    @EnumSource(value = Reduction.class, names = "BATCHMEAN", mode = EnumSource.Mode.EXCLUDE)
    void gradientMatchesFiniteDifferences(Reduction red) {
        int n = 3, c = 5, s = 4;
        for (DataRegime regime : List.of(ONE_HOT, SOFT_TARGETS)) {
            Case k;
            long seed = 14;
            do {
                k = makeCase(new Regime(regime, 0, 0, null, null), configs().get(0), new long[] {n, c, s}, seed++);
            } while (!smooth(k));
            double[] x = k.x(), y = k.prob();
            long[] shape = k.inputShape();
            Tensor target = Tensor.of(y, shape);
            Hinge.Options o = options(1, red, 1);
            double[] g = new double[x.length];
            Hinge.categoricalHinge(Tensor.of(x, shape), target, o, Tensor.of(new double[n * s], n, s), Tensor.of(g, shape));
            assertCentralDifferences(x, g,
                    v -> Hinge.categoricalHinge(Tensor.of(v, shape), target, o, Tensor.of(new double[n * s], n, s), null),
                    regime + ", " + red);
        }
    }

    /** Every position at least 1e-3 from the kink and its maximum at least 1e-3 ahead of the runner-up. */
    private static boolean smooth(Case k) {
        int s = k.s(), c = k.c();
        for (int pos = 0; pos < k.n() * s; pos++) {
            int base = (pos / s) * c * s + pos % s;
            double p = 0, first = Double.NEGATIVE_INFINITY, second = Double.NEGATIVE_INFINITY;
            for (int cls = 0; cls < c; cls++) {
                double f = k.x()[base + cls * s], y = k.prob()[base + cls * s], v = (1 - y) * f;
                p += y * f;
                if (v > first) {
                    second = first;
                    first = v;
                } else {
                    second = Math.max(second, v);
                }
            }
            if (Math.abs(first - p + 1) < 1e-3 || first - second < 1e-3) {
                return false;
            }
        }
        return true;
    }
}
