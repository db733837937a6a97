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
 * The softmax (multi-class) focal loss on index targets (LOSSES.md 5.3): alpha per class (a
 * plain multiplier, not in the mean's denominator), gamma (0, in (0, 1), above 1), ignore_index;
 * gamma 0 without alpha is cross-entropy.
 */
class SoftmaxFocalLossTest extends RowLossTestBase {

    /*
     * Budgets in float32 ulps, for float32 inputs and outputs. The scalar kernels compute in
     * double and round once (0.5 ulp measured). The SIMD kernels take cross-entropy's sums
     * (float32 exponentials, summed in float32) and finish in double (wide rows) or in float32
     * (across positions: exp(gamma log q) for gamma other than 0, 1 and 2); the loss
     * (S'/S)^gamma nll grows the relative error of S' by 1 + gamma (3 at gamma 2), so the budgets
     * are cross-entropy's (CrossEntropyTest) times 3. The gradient alpha G (p_k - [k = y]) is
     * judged at the row's scale.
     */
    @Override
    protected List<Regime> regimes() {
        return List.of(
                new Regime(UNIFORM, 24, 8, new Budget(18, 4.5), new Budget(8, 2)),
                // tiny probabilities: x - m rounded to float32 before exp (see CrossEntropyTest)
                new Regime(WIDE, 144, 24, new Budget(144, 12), new Budget(24, 6)),
                // loss ~ (C-1)^(1+gamma) e^-(20 (1+gamma)): 1 - p_y as the sum of the others
                new Regime(CONFIDENT, 72, 24, new Budget(72, 18), new Budget(24, 6)),
                new Regime(NEAR_TIE, 24, 8, new Budget(18, 4.5), new Budget(8, 2)));
    }

    @Override
    protected List<Config> configs() {
        return List.of(
                new Config("gamma 2", false, false, 0, 2.0),
                new Config("alpha, gamma 2", true, false, 0, 2.0),
                new Config("ignore_index inside [0,C), gamma 0.5", false, true, 0, 0.5),
                new Config("gamma 0 (cross-entropy)", false, false, 0, 0.0),
                new Config("alpha + ignore_index + gamma 1.5", true, true, 0, 1.5));
    }

    /**
     * Cross-entropy's 4 ulps times 1 + gamma (3 at gamma 2): the focal factor {@code (S'/S)^gamma}
     * grows the relative error of the float32 sums of the SIMD kernels by gamma (5 ulps measured
     * on a loss of 4, where the scalar kernel computes in double).
     */
    @Override
    protected double parityUlps() {
        return 12;
    }

    @Override
    protected boolean probTargets() {
        return false;
    }

    /**
     * Ignored positions have gradient 0, but NaN where the row's softmax is NaN: the reference
     * (log_softmax, then the target's term) gives {@code 0 - NaN * 0} there through autograd, as
     * cross-entropy does (golden case smfocal_nan_at_ignored_mean).
     */
    @Override
    protected boolean softmaxBackward() {
        return true;
    }

    @Override
    protected boolean issueBudgets() {
        return true;
    }

    static Focal.SoftmaxOptions options(Tensor alpha, long ignoreIndex, double gamma, Reduction red, int threads) {
        return Focal.SoftmaxOptions.defaults().withAlpha(alpha).withIgnoreIndex(ignoreIndex).withGamma(gamma)
                .withReduction(red).withThreads(threads);
    }

    /** With cross-entropy's options (for {@link #allIgnored}): the weight as alpha, gamma 2. */
    @Override
    protected double call(Tensor input, Tensor target, CrossEntropy.Options o, Tensor losses, Tensor grad) {
        return Focal.softmaxFocalLoss(input, target, options(o.weight(), o.ignoreIndex(), 2, o.reduction(), o.threads()),
                losses, grad);
    }

    @Override
    protected double invoke(Case k, Call call, Tensor losses, Tensor grad) {
        EntryPoint ep = call.ep();
        Arena arena = call.arena();
        Tensor alpha = k.weight() == null ? null : ep.floats(arena, k.weight(), k.c());
        return Focal.softmaxFocalLoss(ep.floats(arena, k.x(), k.inputShape()), ep.indices(arena, k.target(), k.targetShape()),
                options(alpha, k.ignoreIndex(), (double) k.params(), call.red(), call.threads()), losses, grad);
    }

    @Override
    protected DfpOracle.Result oracle(Case k) {
        return RowOracle.softmaxFocal(logSoftmax(k), k.target(), k.weight(), k.ignoreIndex(), (double) k.params());
    }

    @Override
    protected RowOp op() {
        return RowOp.SOFTMAX_FOCAL;
    }

    @Override
    protected RowProblem kernelOptions(RowProblem p, Case k, MemorySegment target) {
        return p.focal((double) k.params());
    }

    /**
     * Both kernel sets run SOFTMAX_FOCAL in the scalar loop (PanamaKernels), so odd sizes exercise
     * no vector tail: fewer shapes than cross-entropy's, to keep the Dfp oracle's time down.
     */
    @Override
    protected List<long[]> oddShapes(int size) {
        return size > 1100 ? List.of() : size > 500 ? List.of(new long[] {2, size})
                : List.of(new long[] {2, size}, new long[] {2, 3, size});
    }

    @Override
    protected List<long[]> accuracyShapes() {
        return List.of(new long[] {100, 10}, new long[] {4, 3, 41}, new long[] {2, 21, 19}, new long[] {24, 300});
    }

    // ------------------------------------------------------------------ properties

    /**
     * Gamma 0 without alpha is cross-entropy (index targets, ignore_index): on the scalar
     * kernels the same bits (one formula, log1p of the other classes' share); on the selected
     * ones within 2 ulps (of the row's scale for the gradient): both run the same SIMD sums, along
     * the classes for wide rows, across positions for narrow rows and (N, C, S).
     */
    @ParameterizedTest
    @EnumSource(value = Reduction.class, names = "BATCHMEAN", mode = EnumSource.Mode.EXCLUDE)
    void gammaZeroIsCrossEntropy(Reduction red) {
        for (long[] shape : new long[][] {{64, 37}, {4, 13, 29}, {16, 300}}) {
            Case k = makeCase(regimes().get(0), configs().get(2), shape, 17);
            long[] ts = k.targetShape();
            float[] x = toFloat(k.x());
            for (Kernels.Implementation impl : EnumSet.of(Kernels.Implementation.SCALAR, Kernels.selected())) {
                float[] l1 = new float[k.target().length], l2 = l1.clone(), g1 = new float[x.length], g2 = g1.clone();
                double ce = Kernels.callWith(impl, () -> CrossEntropy.crossEntropy(Tensor.of(x, shape), Tensor.of(k.target(), ts),
                        CrossEntropy.Options.defaults().withIgnoreIndex(k.ignoreIndex()).withReduction(red),
                        Tensor.of(l1, ts), Tensor.of(g1, shape)));
                double focal = Kernels.callWith(impl, () -> Focal.softmaxFocalLoss(Tensor.of(x, shape), Tensor.of(k.target(), ts),
                        options(null, k.ignoreIndex(), 0, red, 0), Tensor.of(l2, ts), Tensor.of(g2, shape)));
                String where = impl + " " + red + " " + java.util.Arrays.toString(shape);
                assertTrue(Tolerance.ulps(2).test(ce, focal), where + ": focal " + focal + ", cross-entropy " + ce);
                for (int i = 0; i < l1.length; i++) {
                    assertTrue(Tolerance.ulps(2).test(l1[i], l2[i]), where + ": loss[" + i + "] " + l2[i] + " vs " + l1[i]);
                }
                double scale = red == Reduction.MEAN ? 1.0 / k.meanDenominator() : 1;
                for (int i = 0; i < g1.length; i++) {
                    assertTrue(Tolerance.ulps(2, scale).test(g1[i], g2[i]), where + ": grad[" + i + "] " + g2[i] + " vs " + g1[i]);
                }
                if (impl == Kernels.Implementation.SCALAR) {
                    assertTrue(java.util.Arrays.equals(l1, l2) && java.util.Arrays.equals(g1, g2) && ce == focal,
                            where + ": not the same bits as cross-entropy");
                }
            }
        }
    }

    /** The float64 gradient against central differences of the float64 loss, alpha + ignore_index, gamma 0.5 and 2. */
    @ParameterizedTest
    @EnumSource(value = Reduction.class, names = "BATCHMEAN", mode = EnumSource.Mode.EXCLUDE)
    void gradientMatchesFiniteDifferences(Reduction red) {
        int n = 3, c = 5, s = 4;
        SplittableRandom rnd = new SplittableRandom(12);
        double[] x = new double[n * c * s];
        for (int i = 0; i < x.length; i++) {
            x[i] = -3 + 6 * rnd.nextDouble();
        }
        long[] t = new long[n * s];
        for (int i = 0; i < t.length; i++) {
            t[i] = i % 4 == 0 ? 2 : rnd.nextInt(c);
        }
        Tensor alpha = Tensor.of(new double[] {0.5, 2, 1, 0.25, 1.5});
        Tensor target = Tensor.of(t, n, s);
        for (double gamma : new double[] {0.5, 2}) {
            Focal.SoftmaxOptions o = options(alpha, 2, gamma, red, 1);
            double[] g = new double[x.length];
            Focal.softmaxFocalLoss(Tensor.of(x, n, c, s), target, o, Tensor.of(new double[n * s], n, s), Tensor.of(g, n, c, s));
            assertCentralDifferences(x, g,
                    v -> Focal.softmaxFocalLoss(Tensor.of(v, n, c, s), target, o, Tensor.of(new double[n * s], n, s), null),
                    "gamma " + gamma + ", " + red);
        }
    }

    // ------------------------------------------------------------------ errors

    /** Index targets of the input's shape without the class axis, of an integer type; labels in [0, C) unless ignored. */
    @Test
    void targetOfTheWrongShapeOrType() {
        float[] x = new float[12];
        assertRefusedWritingNothing("target (4)", new long[] {3, 4}, (l, g) -> Focal.softmaxFocalLoss(Tensor.of(x, 3, 4),
                Tensor.of(new long[4], 4), options(null, -100, 2, Reduction.MEAN, 0), null, g), "target shape [4]", "[3, 4]");
        assertRefusedWritingNothing("float target", new long[] {3, 4}, (l, g) -> Focal.softmaxFocalLoss(Tensor.of(x, 3, 4),
                Tensor.of(new float[3], 3), options(null, -100, 2, Reduction.MEAN, 0), null, g), "index target must be");
        assertRefusedWritingNothing("label 4 of 4 classes", new long[] {3, 4}, (l, g) -> Focal.softmaxFocalLoss(
                Tensor.of(x, 3, 4), Tensor.of(new long[] {0, 4, 1}, 3), options(null, -100, 2, Reduction.MEAN, 0), null, g),
                "target 4 is out of bounds at flat index 1");
    }

    @Test
    void gammaBelowZero() {
        float[] x = new float[12];
        long[] t = {0, 1, 2};
        for (double gamma : new double[] {-0.5, Double.NaN}) {
            assertRefusedWritingNothing("gamma " + gamma, new long[] {3, 4}, (l, g) ->
                    Focal.softmaxFocalLoss(Tensor.of(x, 3, 4), Tensor.of(t, 3), options(null, -100, gamma, Reduction.MEAN, 0),
                            null, g), "gamma must be at least 0", String.valueOf(gamma));
        }
    }

    @Test
    void alphaOfTheWrongShapeOrDtype() {
        float[] x = new float[12];
        long[] t = {0, 1, 2};
        assertRefusedWritingNothing("alpha (3)", new long[] {3, 4}, (l, g) -> Focal.softmaxFocalLoss(
                Tensor.of(x, 3, 4), Tensor.of(t, 3), options(Tensor.of(new float[3]), -100, 2, Reduction.MEAN, 0), null, g),
                "length C = 4", "[3]");
        assertRefusedWritingNothing("alpha float64", new long[] {3, 4}, (l, g) -> Focal.softmaxFocalLoss(
                Tensor.of(x, 3, 4), Tensor.of(t, 3), options(Tensor.of(new double[4]), -100, 2, Reduction.MEAN, 0), null, g),
                "FLOAT32");
    }
}
