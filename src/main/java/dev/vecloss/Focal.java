package dev.vecloss;

import dev.vecloss.internal.ElementOp;
import dev.vecloss.internal.ElementProblem;
import dev.vecloss.internal.RowOp;
import dev.vecloss.internal.RowProblem;
import dev.vecloss.internal.Targets;
import java.util.Objects;

/**
 * Focal losses (LOSSES.md section 5): torchvision's {@code sigmoid_focal_loss}, elementwise on
 * logits, and the softmax (multi-class) focal loss on index targets.
 *
 * <h2>Sigmoid focal loss</h2>
 * Input (logits) and target of one shape, any rank, float32 or float64; per element, with
 * {@code p = sigmoid(x)}, {@code p_t = p y + (1 - p)(1 - y)} and
 * {@code a_t = alpha y + (1 - alpha)(1 - y)} (1 when alpha is -1):
 * {@code l = a_t (1 - p_t)^gamma BCEWithLogits(x, y)}. {@code mean} divides by the element
 * count. As torchvision, the default reduction is {@link Reduction#NONE}. {@code 1 - p} and
 * {@code 1 - p_t} are formed without cancellation, so a confident element keeps its tiny loss
 * where torchvision's float32 {@code 1 - p} rounds to 0, and the gradient is the mathematical
 * limit (finite) at saturation and for gamma in (0, 1), never NaN from {@code 0^gamma}.
 *
 * <h2>Softmax focal loss</h2>
 * Shapes as {@link CrossEntropy}'s index targets. Per active position
 * {@code l = alpha_y (1 - p_y)^gamma (-log p_y)} with {@code p_y} the softmax probability of the
 * target, {@code alpha} the optional per-class weight (a plain multiplier); ignored positions
 * have loss 0 and gradient 0 (NaN where the row's softmax is NaN, as {@link CrossEntropy}'s,
 * which is what autograd gives through {@code log_softmax}); {@code mean} divides by the number of active positions (alpha does
 * not normalise). Gamma 0 without alpha is cross-entropy.
 *
 * <p>Outputs, special values and determinism as in {@link CrossEntropy}.
 */
public final class Focal {
    private Focal() {}

    /**
     * Options of the sigmoid focal loss, with torchvision's defaults.
     *
     * @param alpha     in [0, 1], or -1 to turn the balance off (default 0.25); torchvision 0.29
     *                  refuses any other value, and so does this library
     * @param gamma     at least 0 (default 2)
     * @param reduction default {@link Reduction#NONE}, as torchvision
     * @param threads   threads to use; 0 (default) means all cores for large inputs
     * @param emptyMean what a mean over no active element gives (default {@link EmptyMean#NAN}, PyTorch's)
     */
    public record SigmoidOptions(double alpha, double gamma, Reduction reduction, int threads, EmptyMean emptyMean) {
        private static final SigmoidOptions DEFAULTS = new SigmoidOptions(0.25, 2, Reduction.NONE, 0, EmptyMean.NAN);

        public SigmoidOptions {
            Objects.requireNonNull(reduction, "reduction");
            Objects.requireNonNull(emptyMean, "emptyMean");
            if (!(alpha >= 0 && alpha <= 1) && alpha != -1) {
                throw new IllegalArgumentException("sigmoid_focal_loss: alpha must be in [0, 1], or -1 to turn the"
                        + " balance off (torchvision), got " + alpha);
            }
            Checks.atLeast("sigmoid_focal_loss", "gamma", gamma, 0);
            Checks.threadCount(threads);
        }

        /** The options without {@code emptyMean}, which is then {@link EmptyMean#NAN} (PyTorch's). */
        public SigmoidOptions(double alpha, double gamma, Reduction reduction, int threads) {
            this(alpha, gamma, reduction, threads, EmptyMean.NAN);
        }

        /** torchvision's defaults: alpha 0.25, gamma 2, reduction none, all cores. */
        public static SigmoidOptions defaults() {
            return DEFAULTS;
        }

        public SigmoidOptions withAlpha(double a) {
            return new SigmoidOptions(a, gamma, reduction, threads, emptyMean);
        }

        public SigmoidOptions withGamma(double g) {
            return new SigmoidOptions(alpha, g, reduction, threads, emptyMean);
        }

        public SigmoidOptions withReduction(Reduction r) {
            return new SigmoidOptions(alpha, gamma, r, threads, emptyMean);
        }

        public SigmoidOptions withThreads(int t) {
            return new SigmoidOptions(alpha, gamma, reduction, t, emptyMean);
        }

        /** What a mean over no active element gives (default {@link EmptyMean#NAN}, PyTorch's). */
        public SigmoidOptions withEmptyMean(EmptyMean e) {
            return new SigmoidOptions(alpha, gamma, reduction, threads, e);
        }
    }

    /**
     * Options of the softmax focal loss.
     *
     * @param alpha       per-class weights (C) of the input's dtype, or {@code null}
     * @param gamma       at least 0 (default 2)
     * @param ignoreIndex targets equal to this are skipped (default -100)
     * @param reduction   default {@link Reduction#MEAN}
     * @param threads     threads to use; 0 (default) means all cores for large inputs
     * @param emptyMean what a mean over no active element gives (default {@link EmptyMean#NAN}, PyTorch's)
     */
    public record SoftmaxOptions(Tensor alpha, double gamma, long ignoreIndex, Reduction reduction, int threads, EmptyMean emptyMean) {
        private static final SoftmaxOptions DEFAULTS = new SoftmaxOptions(null, 2, -100, Reduction.MEAN, 0, EmptyMean.NAN);

        public SoftmaxOptions {
            Objects.requireNonNull(reduction, "reduction");
            Objects.requireNonNull(emptyMean, "emptyMean");
            Checks.atLeast("softmax_focal_loss", "gamma", gamma, 0);
            Checks.threadCount(threads);
        }

        /** The options without {@code emptyMean}, which is then {@link EmptyMean#NAN} (PyTorch's). */
        public SoftmaxOptions(Tensor alpha, double gamma, long ignoreIndex, Reduction reduction, int threads) {
            this(alpha, gamma, ignoreIndex, reduction, threads, EmptyMean.NAN);
        }

        /** No alpha, gamma 2, ignore_index -100, mean, all cores. */
        public static SoftmaxOptions defaults() {
            return DEFAULTS;
        }

        public SoftmaxOptions withAlpha(Tensor a) {
            return new SoftmaxOptions(a, gamma, ignoreIndex, reduction, threads, emptyMean);
        }

        public SoftmaxOptions withGamma(double g) {
            return new SoftmaxOptions(alpha, g, ignoreIndex, reduction, threads, emptyMean);
        }

        public SoftmaxOptions withIgnoreIndex(long i) {
            return new SoftmaxOptions(alpha, gamma, i, reduction, threads, emptyMean);
        }

        public SoftmaxOptions withReduction(Reduction r) {
            return new SoftmaxOptions(alpha, gamma, ignoreIndex, r, threads, emptyMean);
        }

        public SoftmaxOptions withThreads(int t) {
            return new SoftmaxOptions(alpha, gamma, ignoreIndex, reduction, t, emptyMean);
        }

        /** What a mean over no active element gives (default {@link EmptyMean#NAN}, PyTorch's). */
        public SoftmaxOptions withEmptyMean(EmptyMean e) {
            return new SoftmaxOptions(alpha, gamma, ignoreIndex, reduction, threads, e);
        }
    }

    /** The reduced sigmoid focal loss (the options' reduction must be mean or sum). */
    public static double sigmoidFocalLoss(Tensor input, Tensor target, SigmoidOptions options) {
        Checks.reduced("sigmoid_focal_loss", options.reduction());
        return sigmoidFocalLoss(input, target, options, null, null);
    }

    /** The sigmoid focal loss, its per-element losses and its gradient. */
    public static double sigmoidFocalLoss(Tensor input, Tensor target, SigmoidOptions o, Tensor losses, Tensor grad) {
        Objects.requireNonNull(o, "options");
        String what = "sigmoid_focal_loss";
        Checks.elementOperands(what, input, target);
        Checks.outputs(what, o.reduction(), input.dims(), losses, input.dims(), grad, input, target, null, null);
        int threads = Checks.threads(o.threads(), input.numel(), input, target, null, null, losses, grad);
        ElementProblem p = Problems.elements(input, target, losses, grad).op(ElementOp.SIGMOID_FOCAL)
                .focal(o.alpha(), o.gamma());
        return Problems.reduceElements(what, p, input.numel(), o.reduction(), input.numel(), threads, o.emptyMean());
    }

    /**
     * An exact accumulator of the sigmoid focal loss over batches (see {@link LossAccumulator});
     * the options' reduction must be mean or sum.
     */
    public static LossAccumulator sigmoidAccumulator(SigmoidOptions options) {
        return LossAccumulator.ratio("sigmoid_focal_loss", options.reduction(), options.emptyMean(),
                (input, target) -> sigmoidFocalLoss(input, target, options));
    }

    /** An exact accumulator of the softmax focal loss over batches (see {@link LossAccumulator}). */
    public static LossAccumulator softmaxAccumulator(SoftmaxOptions options) {
        return LossAccumulator.ratio("softmax_focal_loss", options.reduction(), options.emptyMean(),
                (input, target) -> softmaxFocalLoss(input, target, options));
    }

    /** The mean softmax focal loss with the default options. */
    public static double softmaxFocalLoss(Tensor input, Tensor target) {
        return softmaxFocalLoss(input, target, SoftmaxOptions.defaults());
    }

    /** The reduced softmax focal loss. */
    public static double softmaxFocalLoss(Tensor input, Tensor target, SoftmaxOptions options) {
        Checks.reduced("softmax_focal_loss", options.reduction());
        return softmaxFocalLoss(input, target, options, null, null);
    }

    /** The softmax focal loss, its per-position losses and its gradient. */
    public static double softmaxFocalLoss(Tensor input, Tensor target, SoftmaxOptions o, Tensor losses, Tensor grad) {
        Objects.requireNonNull(o, "options");
        String what = "softmax_focal_loss";
        Checks.classInput(what, input);
        Checks.indexTarget(what, input, target);
        long[] in = input.dims();
        long c = Layout.classes(in);
        Tensor alpha = o.alpha();
        double alphaSum = Checks.classWeight(what, alpha, c, input.dtype());
        Checks.outputs(what, o.reduction(), losses == null ? null : Layout.positionShape(in), losses, in, grad, input, target, alpha, null);
        int threads = Checks.threads(o.threads(), input.numel(), input, target, alpha, null, losses, grad);
        RowProblem p = Problems.rows(RowOp.SOFTMAX_FOCAL, input, losses, grad)
                .indexTarget(target.segment(), target.dtype().byteSize(), o.ignoreIndex())
                .weight(alpha == null ? null : alpha.segment(), alphaSum)
                .focal(o.gamma());
        return Problems.reduceRows(what, p, o.reduction(), threads, Targets::activeCount, o.emptyMean());
    }
}
