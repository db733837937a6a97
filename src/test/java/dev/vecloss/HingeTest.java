package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.internal.ElementOp;
import dev.vecloss.internal.ElementProblem;
import dev.vecloss.oracle.DfpOracle;
import dev.vecloss.oracle.ElementwiseOracle;
import dev.vecloss.oracle.Tolerance;
import java.util.EnumSet;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Keras's {@code hinge} and {@code squared_hinge} (LOSSES.md 6.1) with a margin: the label rule
 * (AUTO converts {0, 1} to {-1, 1} only when the whole target is 0s and 1s), the strict kink
 * (gradient 0 at {@code margin - y x = 0}), infinite and NaN scores.
 */
class HingeTest extends ElementwiseLossTestBase<HingeTest.HingeParams> {

    /** Hinge or squared hinge, the label rule, whether the targets are drawn as {0, 1} (else {-1, 1}), the margin. */
    record HingeParams(boolean squared, Hinge.Labels labels, boolean zeroOneTargets, double margin) {}

    /** y x within 1e-6 to 1e-3 of the margin, on either side (never on it): both sides of the kink, the loss by cancellation. */
    static final DataRegime NEAR_MARGIN = new DataRegime("near the margin: |margin - y x| in [1e-6,1e-3]",
            magnitudes(1e-6, 1e-3), null, false);

    /*
     * Budgets in float32 ulps, for float32 inputs and outputs (measured: scalar 0.5; Panama at
     * most 1.85 ulps, RMS 0.44, on the losses, 1.6 on the gradient). z = margin - y x is one
     * float32 rounding (exact near the margin, by Sterbenz), max(z, 0) exact, z^2 one more
     * rounding (so about 1.5 ulps of the square); the gradient -y is exact, -2 y z one
     * rounding of z. Margins here are floats (0.5, 1, 1.5, 2): a margin that is not (0.7) is
     * rounded to float32 by the SIMD kernel and not by the scalar one (marginNotAFloat).
     */
    @Override
    protected List<Regime> regimes() {
        return List.of(
                new Regime(UNIFORM, 4, 4, new Budget(3, 0.75), new Budget(3, 0.75)),
                new Regime(WIDE, 4, 4, new Budget(3, 0.75), new Budget(3, 0.75)),
                new Regime(SATURATED_30, 4, 4, new Budget(3, 0.75), new Budget(3, 0.75)),
                new Regime(NEAR_MARGIN, 4, 4, new Budget(3, 0.75), new Budget(3, 0.75)),
                // every loss and gradient exactly 0
                new Regime(CORRECT_SIDE, 4, 4, new Budget(3, 0.75), new Budget(3, 0.75)));
    }

    @Override
    protected List<Config<HingeParams>> configs() {
        return List.of(
                new Config<>("hinge, AUTO labels, targets {0,1}", new HingeParams(false, Hinge.Labels.AUTO, true, 1)),
                new Config<>("hinge, AUTO labels, targets {-1,1}", new HingeParams(false, Hinge.Labels.AUTO, false, 1)),
                new Config<>("hinge, ZERO_ONE, margin 0.5", new HingeParams(false, Hinge.Labels.ZERO_ONE, true, 0.5)),
                new Config<>("squared hinge, AUTO labels, targets {0,1}", new HingeParams(true, Hinge.Labels.AUTO, true, 1)),
                new Config<>("squared hinge, PLUS_MINUS_ONE, margin 2",
                        new HingeParams(true, Hinge.Labels.PLUS_MINUS_ONE, false, 2)),
                new Config<>("squared hinge, ZERO_ONE, margin 1.5", new HingeParams(true, Hinge.Labels.ZERO_ONE, true, 1.5)));
    }

    @Override
    protected double[] targets(Regime r, HingeParams params, double[] x, SplittableRandom rnd) {
        double[] y = hardLabels(x.length, rnd);
        if (!params.zeroOneTargets()) {
            for (int i = 0; i < y.length; i++) {
                y[i] = 2 * y[i] - 1;
            }
        }
        return y;
    }

    /** Near the margin: x = y (margin + d) for the regime's d. */
    @Override
    protected double[] inputs(Regime r, HingeParams params, double[] x, double[] y, SplittableRandom rnd) {
        if (r.data() != NEAR_MARGIN) {
            return x;
        }
        double[] s = new double[x.length];
        for (int i = 0; i < s.length; i++) {
            double label = params.zeroOneTargets() ? 2 * y[i] - 1 : y[i];
            s[i] = f(label * (params.margin() + x[i]));
        }
        return s;
    }

    @Override
    protected double[] nonFiniteTargets(HingeParams params) {
        return params.zeroOneTargets() ? new double[] {0, 1} : new double[] {-1, 1};
    }

    static Hinge.Options options(HingeParams params, Reduction red, int threads) {
        return Hinge.Options.defaults().withMargin(params.margin()).withLabels(params.labels()).withReduction(red)
                .withThreads(threads);
    }

    @Override
    protected double call(Tensor input, Tensor target, Tensor weight, Tensor posWeight, HingeParams params,
            Reduction red, int threads, Tensor losses, Tensor grad) {
        Hinge.Options o = options(params, red, threads).withWeight(weight);
        return params.squared() ? Hinge.squaredHinge(input, target, o, losses, grad) : Hinge.hinge(input, target, o, losses, grad);
    }

    @Override
    protected DfpOracle.Result oracle(Case<HingeParams> k) {
        HingeParams h = k.params();
        return ElementwiseOracle.hinge(k.x(), k.y(), h.labels(), h.margin(), h.squared(), null);
    }

    @Override
    protected ElementOp op(HingeParams params) {
        return params.squared() ? ElementOp.SQUARED_HINGE : ElementOp.HINGE;
    }

    @Override
    protected ElementProblem kernelOptions(ElementProblem p, HingeParams params, double[] y) {
        boolean zeroOne = switch (params.labels()) {
            case ZERO_ONE -> true;
            case PLUS_MINUS_ONE -> false;
            case AUTO -> java.util.Arrays.stream(y).allMatch(v -> v == 0 || v == 1);
        };
        return p.hinge(params.margin(), zeroOne);
    }

    /** Both losses, margins 1 and 1.5, scores at least 1e-3 from the kink (the derivative is not defined on it). */
    @Override
    protected List<Smooth<HingeParams>> smoothCases() {
        SplittableRandom rnd = new SplittableRandom(6);
        double[] x = new double[60], y = new double[60];
        for (int i = 0; i < x.length; i++) {
            y[i] = rnd.nextInt(2);
            do {
                x[i] = -4 + 8 * rnd.nextDouble();
            } while (Math.abs(1 - (2 * y[i] - 1) * x[i]) < 1e-3 || Math.abs(1.5 - (2 * y[i] - 1) * x[i]) < 1e-3);
        }
        return List.of(new Smooth<>(x, y, new long[] {3, 4, 5}, configs().get(0)),
                new Smooth<>(x, y, new long[] {3, 4, 5}, configs().get(5)));
    }

    // ------------------------------------------------------------------ the label rule

    private static void checkAgainstOracle(String what, float[] x, float[] y, HingeParams h, int threads) {
        DfpOracle.Result want = ElementwiseOracle.hinge(BinaryCrossEntropyWithLogitsTest.toDouble(x),
                BinaryCrossEntropyWithLogitsTest.toDouble(y), h.labels(), h.margin(), h.squared(), null);
        for (Kernels.Implementation impl : EnumSet.of(Kernels.Implementation.SCALAR, Kernels.selected())) {
            float[] l = new float[x.length], g = new float[x.length];
            double sum = Kernels.callWith(impl, () -> {
                Hinge.Options o = options(h, Reduction.SUM, threads);
                return h.squared() ? Hinge.squaredHinge(Tensor.of(x), Tensor.of(y), o, Tensor.of(l), Tensor.of(g))
                        : Hinge.hinge(Tensor.of(x), Tensor.of(y), o, Tensor.of(l), Tensor.of(g));
            });
            assertTrue(Tolerance.relative(2e-6).test(want.sum(), sum), what + ", " + impl + ": sum " + sum + ", want " + want.sum());
            for (int i = 0; i < x.length; i++) {
                if (!Tolerance.ulps(1).test(want.losses()[i], l[i]) || !Tolerance.ulps(1).test(want.gradSum()[i], g[i])) {
                    throw new AssertionError(what + ", " + impl + ", element " + i + " (x = " + x[i] + ", y = " + y[i]
                            + "): loss " + l[i] + ", grad " + g[i] + "; want " + want.losses()[i] + ", " + want.gradSum()[i]);
                }
            }
        }
    }

    /**
     * Keras's rule, under AUTO: a target of 0s and 1s only is read as {-1, 1}; a target with a -1
     * or any other value is used as given (so a 0 there is a label 0: loss = margin, gradient 0);
     * a target of 1s only is 1s either way. The oracle applies the rule to the whole tensor.
     */
    @Test
    void autoLabelRule() {
        float[] x = {0.5f, -0.25f, 2, -3, 0.75f, 0};
        for (boolean squared : new boolean[] {false, true}) {
            HingeParams auto = new HingeParams(squared, Hinge.Labels.AUTO, false, 1);
            checkAgainstOracle("all 0 and 1", x, new float[] {0, 1, 1, 0, 0, 1}, auto, 1);
            checkAgainstOracle("-1 and 1", x, new float[] {-1, 1, 1, -1, -1, 1}, auto, 1);
            checkAgainstOracle("0, 1 and one -1: not converted", x, new float[] {0, 1, 1, -1, 0, 1}, auto, 1);
            checkAgainstOracle("0, 1 and one 0.5: not converted", x, new float[] {0, 1, 0.5f, 0, 0, 1}, auto, 1);
            checkAgainstOracle("all 1", x, new float[] {1, 1, 1, 1, 1, 1}, auto, 1);
            checkAgainstOracle("all 0", x, new float[] {0, 0, 0, 0, 0, 0}, auto, 1);
            // explicit rules, whatever the values
            checkAgainstOracle("ZERO_ONE on 0 and 1", x, new float[] {0, 1, 1, 0, 0, 1},
                    new HingeParams(squared, Hinge.Labels.ZERO_ONE, true, 1), 1);
            checkAgainstOracle("PLUS_MINUS_ONE on 0 and 1", x, new float[] {0, 1, 1, 0, 0, 1},
                    new HingeParams(squared, Hinge.Labels.PLUS_MINUS_ONE, true, 1), 1);
        }
        // the values the rule must give, by hand: AUTO on {0, 1} at x = 0.5, y = 0 is max(0, 1 + 0.5)
        float[] l = new float[1];
        Hinge.hinge(Tensor.of(new float[] {0.5f}), Tensor.of(new float[] {0}), Hinge.Options.defaults()
                .withReduction(Reduction.NONE), Tensor.of(l), null);
        assertEquals(1.5f, l[0]);
    }

    /** The rule looks at the whole target, across chunks and threads: one -1 at the very end of 300k 0s and 1s turns it off. */
    @Test
    void autoLabelRuleSeesTheWholeTensor() {
        int n = 300_001;
        SplittableRandom rnd = new SplittableRandom(8);
        float[] x = new float[n], y = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = f(-2 + 4 * rnd.nextDouble());
            y[i] = rnd.nextInt(2);
        }
        checkExact("0 and 1", x, y, true);
        y[n - 1] = -1;
        checkExact("0 and 1, and a -1 at the end", x, y, false);
    }

    /**
     * The hinge (margin 1, AUTO, two threads) against its exact value: with labels -1, 0 and 1,
     * {@code z = 1 - y x} is exact in double, so the loss is {@code max(z, 0)} rounded once.
     */
    private static void checkExact(String what, float[] x, float[] y, boolean converted) {
        for (Kernels.Implementation impl : EnumSet.of(Kernels.Implementation.SCALAR, Kernels.selected())) {
            float[] l = new float[x.length], g = new float[x.length];
            Kernels.callWith(impl, () -> Hinge.hinge(Tensor.of(x), Tensor.of(y),
                    Hinge.Options.defaults().withReduction(Reduction.SUM).withThreads(2), Tensor.of(l), Tensor.of(g)));
            for (int i = 0; i < x.length; i++) {
                double label = converted ? 2 * y[i] - 1 : y[i];
                double z = 1 - label * x[i];
                if (l[i] != (float) Math.max(z, 0) || g[i] != (float) (z > 0 ? -label : 0)) {
                    throw new AssertionError(what + ", " + impl + ", element " + i + " (x = " + x[i] + ", y = " + y[i]
                            + "): loss " + l[i] + ", grad " + g[i] + "; want " + Math.max(z, 0) + ", " + (z > 0 ? -label : 0));
                }
            }
        }
    }

    // ------------------------------------------------------------------ the kink and the margin

    /** At {@code margin - y x = 0} the loss and the gradient are 0 (strict: no subgradient); one float inside, -y. */
    @Test
    void kinkHasGradientZero() {
        for (boolean squared : new boolean[] {false, true}) {
            for (double margin : new double[] {1, 0.5, 2}) {
                float m = (float) margin;
                float[] x = {m, -m, Math.nextDown(m), Math.nextUp(-m), Math.nextUp(m), Math.nextDown(-m)};
                float[] y = {1, -1, 1, -1, 1, -1};
                checkAgainstOracle("kink, margin " + margin, x, y,
                        new HingeParams(squared, Hinge.Labels.PLUS_MINUS_ONE, false, margin), 1);
                float[] g = new float[6];
                Hinge.Options o = Hinge.Options.defaults().withMargin(margin).withReduction(Reduction.SUM);
                if (squared) {
                    Hinge.squaredHinge(Tensor.of(x), Tensor.of(y), o, Tensor.of(new float[6]), Tensor.of(g));
                } else {
                    Hinge.hinge(Tensor.of(x), Tensor.of(y), o, Tensor.of(new float[6]), Tensor.of(g));
                }
                assertTrue(g[0] == 0 && g[1] == 0, "gradient at the kink: " + g[0] + ", " + g[1]);
                assertTrue(g[2] < 0 && g[3] > 0, "gradient inside the margin: " + g[2] + ", " + g[3]);
            }
        }
    }

    /**
     * A margin that is not a float32 (0.7): the SIMD kernel rounds it to 0.7f, the scalar one
     * keeps the double, and near y x = 0.7 the loss differs by 0.7 - 0.7f = 1.2e-8 absolute. The
     * issue's budget (1e-5 relative or 1e-7 absolute) holds on both against the exact margin.
     */
    @Test
    void marginNotAFloat() {
        float m = 0.7f;
        float[] x = {m, Math.nextDown(m), Math.nextUp(m), 0.6999f, 0.7001f, 0.2f, -1.3f, 3};
        float[] y = {1, 1, 1, 1, 1, 1, -1, -1};
        for (boolean squared : new boolean[] {false, true}) {
            DfpOracle.Result want = ElementwiseOracle.hinge(BinaryCrossEntropyWithLogitsTest.toDouble(x),
                    BinaryCrossEntropyWithLogitsTest.toDouble(y), Hinge.Labels.PLUS_MINUS_ONE, 0.7, squared, null);
            for (Kernels.Implementation impl : EnumSet.of(Kernels.Implementation.SCALAR, Kernels.selected())) {
                float[] l = new float[x.length];
                Kernels.callWith(impl, () -> {
                    Hinge.Options o = Hinge.Options.defaults().withMargin(0.7).withReduction(Reduction.NONE);
                    return squared ? Hinge.squaredHinge(Tensor.of(x), Tensor.of(y), o, Tensor.of(l), null)
                            : Hinge.hinge(Tensor.of(x), Tensor.of(y), o, Tensor.of(l), null);
                });
                for (int i = 0; i < x.length; i++) {
                    assertTrue(ISSUE_ELEMENT.test(want.losses()[i], l[i]), impl + ", squared " + squared + ": loss at x = "
                            + x[i] + ": " + l[i] + ", want " + want.losses()[i]);
                }
            }
        }
    }

    /** The binary hinges take no weight. */
    @Test
    void weightIsRefused() {
        float[] v = {0.5f, -1, 2};
        for (boolean squared : new boolean[] {false, true}) {
            Hinge.Options o = Hinge.Options.defaults().withWeight(Tensor.of(new float[] {1, 2, 3})).withReduction(Reduction.NONE);
            assertRefusedWritingNothing("weight", new long[] {3}, (l, g) -> squared
                    ? Hinge.squaredHinge(Tensor.of(v), Tensor.of(new float[] {1, -1, 1}), o, l, g)
                    : Hinge.hinge(Tensor.of(v), Tensor.of(new float[] {1, -1, 1}), o, l, g), "weight is for multi_margin_loss");
        }
    }
}
