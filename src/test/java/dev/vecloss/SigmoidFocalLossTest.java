package dev.vecloss;

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
 * torchvision's {@code sigmoid_focal_loss} (LOSSES.md 5.1): alpha (or -1, off), gamma (0, in
 * (0, 1), above 1), soft targets, and saturated logits, where the library keeps the exact tiny
 * loss and returns the gradient's finite limit where float32 torchvision gives 0 and autograd NaN.
 */
class SigmoidFocalLossTest extends ElementwiseLossTestBase<SigmoidFocalLossTest.FocalParams> {

    /** The loss's own options. */
    record FocalParams(double alpha, double gamma) {}

    /*
     * Budgets in float32 ulps, for float32 inputs and outputs (measured: scalar 0.5 everywhere;
     * Panama at most 7.4 ulps, RMS 1.2, on the losses, 3.4 on the gradient at its scale). The
     * scalar kernels compute in double and round once. The SIMD kernel adds, in float32, the BCE
     * with logits (see BinaryCrossEntropyWithLogitsTest), 1 - p_t = (1 - p) y + p (1 - y) from
     * sigmoid(-x) (no cancellation), (1 - p_t)^gamma as exp(gamma log(1 - p_t)) (gamma times the
     * log's absolute error, relative), a_t and the products: up to about 8 roundings. The
     * gradient's two terms have opposite signs for soft targets: judged at its natural scale.
     * Saturated elements keep their exact tiny loss (down to the float32 subnormals) and a
     * finite gradient, the mathematical limit. Each check allows half as much again.
     */
    @Override
    protected List<Regime> regimes() {
        return List.of(
                new Regime(UNIFORM, 16, 8, new Budget(12, 2), new Budget(6, 1)),
                new Regime(WIDE, 16, 8, new Budget(12, 2), new Budget(6, 1)),
                new Regime(SATURATED_30, 16, 8, new Budget(12, 2), new Budget(6, 1)),
                new Regime(CORRECT_SIDE, 16, 8, new Budget(12, 2), new Budget(6, 1)),
                new Regime(SOFT, 16, 8, new Budget(12, 2), new Budget(6, 1)));
    }

    @Override
    protected List<Config<FocalParams>> configs() {
        return List.of(
                new Config<>("alpha 0.25, gamma 2 (torchvision's defaults)", new FocalParams(0.25, 2)),
                new Config<>("alpha -1 (off), gamma 2", new FocalParams(-1, 2)),
                new Config<>("alpha 0.25, gamma 0 (weighted BCE)", new FocalParams(0.25, 0)),
                new Config<>("alpha 1, gamma 1", new FocalParams(1, 1)),
                new Config<>("alpha 0.75, gamma 0.5 (in (0, 1))", new FocalParams(0.75, 0.5)));
    }

    @Override
    protected double[] targets(Regime r, FocalParams params, double[] x, SplittableRandom rnd) {
        return r.data() == SOFT ? softLabels(x.length, rnd) : hardLabels(x.length, rnd);
    }

    @Override
    protected double[] nonFiniteTargets(FocalParams params) {
        return new double[] {0, 1, 0.25};
    }

    @Override
    protected double call(Tensor input, Tensor target, Tensor weight, Tensor posWeight, FocalParams params, Reduction red,
            int threads, Tensor losses, Tensor grad) {
        dev.vecloss.Focal.SigmoidOptions o = dev.vecloss.Focal.SigmoidOptions.defaults().withAlpha(params.alpha())
                .withGamma(params.gamma()).withReduction(red).withThreads(threads);
        return dev.vecloss.Focal.sigmoidFocalLoss(input, target, o, losses, grad);
    }

    @Override
    protected DfpOracle.Result oracle(Case<FocalParams> k) {
        return ElementwiseOracle.sigmoidFocal(k.x(), k.y(), k.params().alpha(), k.params().gamma());
    }

    @Override
    protected ElementOp op(FocalParams params) {
        return ElementOp.SIGMOID_FOCAL;
    }

    @Override
    protected ElementProblem kernelOptions(ElementProblem p, FocalParams params, double[] y) {
        return p.focal(params.alpha(), params.gamma());
    }

    @Override
    protected List<Smooth<FocalParams>> smoothCases() {
        SplittableRandom rnd = new SplittableRandom(5);
        double[] x = new double[60];
        for (int i = 0; i < x.length; i++) {
            x[i] = -4 + 8 * rnd.nextDouble();
        }
        double[] y = softLabels(60, rnd);
        return List.of(new Smooth<>(x, y, new long[] {3, 4, 5}, configs().get(0)),
                new Smooth<>(x, y, new long[] {3, 4, 5}, configs().get(4)));
    }

    // ------------------------------------------------------------------ saturation

    /**
     * Confident elements, x = 30 to 80 on the label's side, gamma 0.5: the loss is
     * a_t log1p(e^-|x|) (e^-|x| / (1 + e^-|x|))^0.5, about 1e-20 at x = 30, where float32
     * torchvision's 1 - p is 0 (so is its loss) and autograd's 0^(gamma - 1) * 0 is NaN; the
     * library keeps the loss (a normal float32 down to about x = 57) and the finite gradient.
     */
    @Test
    void saturatedElementsKeepTheirLossAndAFiniteGradient() {
        float[] x = {30, -30, 40, -40, 57, -57, 80, -80};
        float[] y = {1, 0, 1, 0, 1, 0, 1, 0};
        double[] xd = BinaryCrossEntropyWithLogitsTest.toDouble(x), yd = BinaryCrossEntropyWithLogitsTest.toDouble(y);
        for (double gamma : new double[] {0.5, 2}) {
            DfpOracle.Result want = ElementwiseOracle.sigmoidFocal(xd, yd, 0.25, gamma);
            for (Kernels.Implementation impl : EnumSet.of(Kernels.Implementation.SCALAR, Kernels.selected())) {
                float[] l = new float[x.length], g = new float[x.length];
                Kernels.callWith(impl, () -> dev.vecloss.Focal.sigmoidFocalLoss(Tensor.of(x), Tensor.of(y),
                        dev.vecloss.Focal.SigmoidOptions.defaults().withGamma(gamma), Tensor.of(l), Tensor.of(g)));
                for (int i = 0; i < x.length; i++) {
                    assertTrue(Tolerance.ulps(8).test(want.losses()[i], l[i]), impl + ", gamma " + gamma + ": loss at x = "
                            + x[i] + ": " + l[i] + ", want " + want.losses()[i]);
                    assertTrue(Float.isFinite(g[i]) && Tolerance.ulps(8, 1).test(want.gradSum()[i], g[i]), impl + ", gamma "
                            + gamma + ": gradient at x = " + x[i] + ": " + g[i] + ", want " + want.gradSum()[i]);
                }
            }
        }
    }

    // ------------------------------------------------------------------ errors

    /** torchvision 0.29: alpha in [0, 1] or exactly -1; gamma at least 0. Refused, naming the value, nothing written. */
    @Test
    void alphaAndGammaOutsideTheirDomains() {
        float[] v = {0.5f, -1, 2};
        for (double alpha : new double[] {1.5, -0.5, -2, Double.NaN}) {
            assertRefusedWritingNothing("alpha " + alpha, new long[] {3}, (l, g) -> dev.vecloss.Focal.sigmoidFocalLoss(
                    Tensor.of(v), Tensor.of(new float[] {0, 1, 1}), dev.vecloss.Focal.SigmoidOptions.defaults().withAlpha(alpha),
                    l, g), "alpha must be in [0, 1], or -1", String.valueOf(alpha));
        }
        for (double gamma : new double[] {-1, -1e-9, Double.NaN}) {
            assertRefusedWritingNothing("gamma " + gamma, new long[] {3}, (l, g) -> dev.vecloss.Focal.sigmoidFocalLoss(
                    Tensor.of(v), Tensor.of(new float[] {0, 1, 1}), dev.vecloss.Focal.SigmoidOptions.defaults().withGamma(gamma),
                    l, g), "gamma must be at least 0", String.valueOf(gamma));
        }
    }

    /** torchvision's default reduction is none: the reduced form with the defaults is refused (nowhere to put the losses). */
    @Test
    void defaultReductionIsNone() {
        float[] v = {0.5f, -1, 2};
        assertRefusedWritingNothing("defaults, reduced form", new long[] {3}, (l, g) -> dev.vecloss.Focal.sigmoidFocalLoss(
                Tensor.of(v), Tensor.of(new float[] {0, 1, 1}), dev.vecloss.Focal.SigmoidOptions.defaults()), "reduction none");
    }
}
