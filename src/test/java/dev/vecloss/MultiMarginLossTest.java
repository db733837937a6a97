package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.internal.RowOp;
import dev.vecloss.internal.RowProblem;
import dev.vecloss.oracle.DfpOracle;
import dev.vecloss.oracle.RowOracle;
import dev.vecloss.oracle.Tolerance;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.EnumSet;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code multi_margin_loss} (LOSSES.md 6.2): (N, C) or (C) input, p 1 or 2, margin, the target's
 * class weight, the strict {@code z > 0} (a NaN term adds nothing), mean over N; every label must
 * be in [0, C) (there is no ignore_index).
 */
class MultiMarginLossTest extends RowLossTestBase {

    /** p and margin. */
    record MarginParams(int p, double margin) {}

    /** The target's score leads by 0 to 2: terms on both sides of the margin 1. */
    static final DataRegime AROUND_MARGIN = new DataRegime("target leads by 0 to 2: around the margin", uniform(-4, 4),
            rnd -> 2 * rnd.nextDouble(), false);

    /*
     * Budgets in float32 ulps, for float32 inputs and outputs (measured: scalar 0.5; Panama at
     * most 2.5 ulps, RMS 0.66, except near-tie: 8.4 ulps, RMS 1.7, on the losses, 4.4 on the
     * gradient). The scalar kernels compute in double and round once. The SIMD kernel (S = 1,
     * C at least a vector) computes z = margin - x_y + x_i in float32 (two roundings), squares
     * it for p = 2, sums the C - 1 terms in lanes and divides by C; the target's gradient is a
     * sum of C - 1 terms too. Near a tie every z is about the margin, all terms count and have
     * one size, so the sum's error grows with C / lanes (C = 100 in the sweep).
     */
    @Override
    protected List<Regime> regimes() {
        return List.of(
                new Regime(UNIFORM, 6, 6, new Budget(4, 1), new Budget(4, 0.5)),
                new Regime(WIDE, 6, 6, new Budget(4, 1), new Budget(4, 0.5)),
                new Regime(NEAR_TIE, 16, 8, new Budget(12, 2.5), new Budget(6, 0.5)),
                new Regime(AROUND_MARGIN, 6, 6, new Budget(4, 1), new Budget(4, 0.5)),
                // every term inactive: losses and gradients exactly 0
                new Regime(CONFIDENT, 6, 6, new Budget(4, 1), new Budget(4, 0.5)));
    }

    @Override
    protected List<Config> configs() {
        return List.of(
                new Config("p 1, margin 1", false, false, 0, new MarginParams(1, 1)),
                new Config("weight", true, false, 0, new MarginParams(1, 1)),
                new Config("p 2", false, false, 0, new MarginParams(2, 1)),
                new Config("margin 0.5", false, false, 0, new MarginParams(1, 0.5)),
                new Config("weight, p 2, margin 2", true, false, 0, new MarginParams(2, 2)));
    }

    @Override
    protected boolean probTargets() {
        return false;
    }

    @Override
    protected boolean supportsIgnore() {
        return false;
    }

    @Override
    protected boolean issueBudgets() {
        return true;
    }

    static Hinge.Options options(Tensor weight, MarginParams mp, Reduction red, int threads) {
        return Hinge.Options.defaults().withWeight(weight).withP(mp.p()).withMargin(mp.margin()).withReduction(red)
                .withThreads(threads);
    }

    /** With cross-entropy's options: the weight, p 1, margin 1 (the ignore_index is not used). */
    @Override
    protected double call(Tensor input, Tensor target, CrossEntropy.Options o, Tensor losses, Tensor grad) {
        return Hinge.multiMarginLoss(input, target, options(o.weight(), new MarginParams(1, 1), o.reduction(), o.threads()),
                losses, grad);
    }

    @Override
    protected double invoke(Case k, Call call, Tensor losses, Tensor grad) {
        EntryPoint ep = call.ep();
        Arena arena = call.arena();
        Tensor w = k.weight() == null ? null : ep.floats(arena, k.weight(), k.c());
        return Hinge.multiMarginLoss(ep.floats(arena, k.x(), k.inputShape()), ep.indices(arena, k.target(), k.targetShape()),
                options(w, (MarginParams) k.params(), call.red(), call.threads()), losses, grad);
    }

    @Override
    protected DfpOracle.Result oracle(Case k) {
        MarginParams mp = (MarginParams) k.params();
        return RowOracle.multiMargin(k.x(), k.n(), k.c(), k.target(), k.weight(), mp.p(), mp.margin());
    }

    @Override
    protected RowOp op() {
        return RowOp.MULTI_MARGIN;
    }

    @Override
    protected RowProblem kernelOptions(RowProblem p, Case k, MemorySegment target) {
        MarginParams mp = (MarginParams) k.params();
        return p.indexTargetWithoutIgnore(target, 8).margin(mp.p(), mp.margin());
    }

    // ------------------------------------------------------------------ shapes: (N, C) only

    @Override
    protected List<long[]> entryShapes() {
        return List.of(new long[] {6, 13}, new long[] {9, 5});
    }

    /** Along C (the SIMD kernel's axis when C is at least a vector) and, up to 207, along N. */
    @Override
    protected List<long[]> oddShapes(int size) {
        return size > 500 ? List.of(new long[] {2, size}) : List.of(new long[] {2, size}, new long[] {size, 9});
    }

    @Override
    protected List<long[]> accuracyShapes() {
        return List.of(new long[] {60, 10}, new long[] {3, 100}, new long[] {5, 37});
    }

    @Override
    protected List<long[]> nonFiniteShapes() {
        return List.of(new long[] {9, 13});
    }

    /** Three chunks of rows each (2^16 / C rows per chunk). */
    @Override
    protected List<long[]> largeShapes() {
        return List.of(new long[] {1400, 100}, new long[] {15000, 9});
    }

    @Override
    protected String describe(long[] shape) {
        return java.util.Arrays.toString(shape) + " (N, C)";
    }

    /** An empty class axis is refused, with or without samples. */
    @Override
    protected boolean refused(Case k) {
        return k.c() == 0;
    }

    /** Labels outside [0, C), -100 included (there is no ignore_index). */
    @Override
    protected List<Refusal<Case>> refusals() {
        Case k = makeCase(regimes().get(0), configs().get(configs().size() - 1), new long[] {6, 13}, 5);
        long[] high = k.target().clone(), low = k.target().clone(), ignore = k.target().clone();
        high[4] = 13;
        low[1] = -3;
        ignore[5] = -100;
        return List.of(new Refusal<>("label C", k.with(k.x(), high, null, "|high"), "target 13 is out of bounds at flat index 4"),
                new Refusal<>("label -3", k.with(k.x(), low, null, "|low"), "target -3 is out of bounds at flat index 1"),
                new Refusal<>("label -100", k.with(k.x(), ignore, null, "|ignore"), "target -100 is out of bounds at flat index 5"),
                new Refusal<>("empty class axis", makeCase(regimes().get(0), configs().get(0), new long[] {3, 0}, 5),
                        "class axis is empty"));
    }

    /**
     * PyTorch's strict test z > 0: a NaN score at a wrong class adds nothing (row 0); a NaN
     * target score makes every z NaN, the sample 0 (row 1); +inf at a wrong class, an infinite
     * loss (row 2); +inf at the target, every z -inf, 0 (row 3); -inf at the target, every z
     * +inf (row 4); -inf at a wrong class, inactive (row 5); +inf at the target and at a wrong
     * class, NaN there and -inf elsewhere, 0 (row 6).
     */
    @Override
    protected Case withNonFiniteInputs(Case k) {
        double[] x = k.x().clone();
        long[] t = k.target().clone();
        int c = k.c();
        double nan = Double.NaN, inf = Double.POSITIVE_INFINITY;
        t[0] = 1; x[3] = nan;
        t[1] = 4; x[c + 4] = nan;
        t[2] = 0; x[2 * c + 5] = inf;
        t[3] = 2; x[3 * c + 2] = inf;
        t[4] = 7; x[4 * c + 7] = -inf;
        t[5] = 3; x[5 * c + 9] = -inf;
        t[6] = 1; x[6 * c + 1] = inf; x[6 * c + 8] = inf;
        return k.with(x, t, null, "|nonfinite");
    }

    // ------------------------------------------------------------------ (C) input, errors, finite differences

    /** A (C) input with a 0-d target: one sample, against the oracle, both kernels, every reduction. */
    @Test
    void oneDimensionalInput() {
        float[] x = {0.5f, 2.25f, -1, 1.75f, 0.1f, 3, -2, 0.3f, 1.2f, 2.9f, -0.7f};
        double[] xd = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            xd[i] = x[i];
        }
        float[] w = toFloat(weights(11));
        for (MarginParams mp : new MarginParams[] {new MarginParams(1, 1), new MarginParams(2, 0.5)}) {
            DfpOracle.Result want = RowOracle.multiMargin(xd, 1, 11, new long[] {5}, weights(11), mp.p(), mp.margin());
            for (Kernels.Implementation impl : EnumSet.of(Kernels.Implementation.SCALAR, Kernels.selected())) {
                for (Reduction red : REDUCTIONS) {
                    float[] l = new float[1], g = new float[11];
                    double r = Kernels.callWith(impl, () -> Hinge.multiMarginLoss(Tensor.of(x),
                            Tensor.of(MemorySegment.ofArray(new long[] {5}), DType.INT64), options(Tensor.of(w), mp, red, 0),
                            Tensor.of(MemorySegment.ofArray(l), DType.FLOAT32), Tensor.of(g)));
                    String where = impl + ", " + mp + ", " + red;
                    assertTrue(Tolerance.ulps(4).test(want.reduced(red), r), where + ": " + r + ", want " + want.reduced(red));
                    assertTrue(Tolerance.ulps(4).test(want.losses()[0], l[0]), where + ": loss " + l[0]);
                    for (int i = 0; i < 11; i++) {
                        assertTrue(Tolerance.ulps(4, 1).test(want.grad(red)[i], g[i]), where + ": grad[" + i + "] " + g[i]
                                + ", want " + want.grad(red)[i]);
                    }
                }
            }
        }
    }

    @Test
    void targetOfTheWrongShapeOrType() {
        float[] x = new float[12];
        assertRefusedWritingNothing("target (4)", new long[] {3, 4}, (l, g) -> Hinge.multiMarginLoss(Tensor.of(x, 3, 4),
                Tensor.of(new long[4], 4), options(null, new MarginParams(1, 1), Reduction.MEAN, 0), null, g),
                "target shape [4]", "[3, 4]");
        assertRefusedWritingNothing("float target", new long[] {3, 4}, (l, g) -> Hinge.multiMarginLoss(Tensor.of(x, 3, 4),
                Tensor.of(new float[3], 3), options(null, new MarginParams(1, 1), Reduction.MEAN, 0), null, g),
                "index target must be");
        assertRefusedWritingNothing("float64 input, float32 weight", new long[] {3, 4}, (l, g) -> Hinge.multiMarginLoss(
                Tensor.of(new double[12], 3, 4), Tensor.of(new long[3], 3),
                options(Tensor.of(new float[4]), new MarginParams(1, 1), Reduction.MEAN, 0), null, g), "FLOAT64");
    }

    @Test
    void spatialInputIsRefused() {
        assertRefusedWritingNothing("(N, C, S)", new long[] {2, 4}, (l, g) -> Hinge.multiMarginLoss(
                Tensor.of(new float[24], 2, 3, 4), Tensor.of(new long[8], 2, 4)), "input must be (C) or (N, C)", "[2, 3, 4]");
    }

    @Test
    void pOtherThanOneOrTwo() {
        for (int p : new int[] {0, 3, -1}) {
            assertRefusedWritingNothing("p " + p, new long[] {3}, (l, g) -> Hinge.multiMarginLoss(
                    Tensor.of(new float[12], 3, 4), Tensor.of(new long[3], 3), Hinge.Options.defaults().withP(p)
                            .withReduction(Reduction.NONE), l, null), "only p == 1 and p == 2", String.valueOf(p));
        }
    }

    @Test
    void weightOfTheWrongShapeOrDtype() {
        float[] x = new float[12];
        long[] t = {0, 1, 2};
        Object[][] bad = {{Tensor.of(new float[3]), "length C = 4"}, {Tensor.of(new float[8], 2, 4), "1-D"},
                {Tensor.of(new double[4]), "FLOAT32"}};
        for (Object[] b : bad) {
            assertRefusedWritingNothing("weight " + b[1], new long[] {3}, (l, g) -> Hinge.multiMarginLoss(
                    Tensor.of(x, 3, 4), Tensor.of(t, 3), options((Tensor) b[0], new MarginParams(1, 1), Reduction.NONE, 0),
                    l, null), (String) b[1]);
        }
    }

    /** The float64 gradient against central differences, p 1 and 2, with weights, every z at least 1e-3 from 0. */
    @ParameterizedTest
    @EnumSource(value = Reduction.class, names = "BATCHMEAN", mode = EnumSource.Mode.EXCLUDE)
    void gradientMatchesFiniteDifferences(Reduction red) {
        int n = 6, c = 5;
        SplittableRandom rnd = new SplittableRandom(13);
        double[] x = new double[n * c];
        long[] t = new long[n];
        for (int s = 0; s < n; s++) {
            t[s] = rnd.nextInt(c);
            boolean nearKink;
            do {
                nearKink = false;
                for (int k = 0; k < c; k++) {
                    x[s * c + k] = -2 + 4 * rnd.nextDouble();
                }
                for (int k = 0; k < c; k++) {
                    nearKink |= k != t[s] && Math.abs(1 - x[s * c + (int) t[s]] + x[s * c + k]) < 1e-3;
                }
            } while (nearKink);
        }
        Tensor w = Tensor.of(new double[] {0.5, 2, 1, 0.25, 1.5});
        Tensor target = Tensor.of(t, n);
        for (int p = 1; p <= 2; p++) {
            Hinge.Options o = options(w, new MarginParams(p, 1), red, 1);
            double[] g = new double[x.length];
            Hinge.multiMarginLoss(Tensor.of(x, n, c), target, o, Tensor.of(new double[n], n), Tensor.of(g, n, c));
            assertCentralDifferences(x, g,
                    v -> Hinge.multiMarginLoss(Tensor.of(v, n, c), target, o, Tensor.of(new double[n], n), null),
                    "p " + p + ", " + red);
        }
    }
}
