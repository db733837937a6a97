package dev.vecloss;

import dev.vecloss.internal.RowOp;
import dev.vecloss.internal.RowProblem;
import dev.vecloss.internal.Targets;
import java.util.Arrays;
import java.util.Objects;

/**
 * The cross-entropy family, with PyTorch's semantics: {@code cross_entropy} with index or
 * class-probability targets, and {@code nll_loss} on log-probabilities (LOSSES.md sections 1
 * and 2).
 *
 * <h2>Shapes</h2>
 * The input is {@code (C)}, {@code (N, C)} or {@code (N, C, d1, ..., dk)}, class axis 1, C-order,
 * float32 or float64. Index targets are {@code ()}, {@code (N)} or {@code (N, d1, ..., dk)},
 * int64, int32, uint8 or bool; a target of the input's own shape is a class-probability target
 * (floating, of the input's dtype). Call each {@code (n, d1, ..., dk)} a position; there are
 * {@code M = N * d1 * ... * dk} of them. In the spatial case the class axis is strided by
 * {@code d1 * ... * dk}: the kernels vectorise across positions and never copy the input.
 *
 * <h2>Formulas</h2>
 * With {@code lp_c = x_c - max - log(sum_k exp(x_k - max))} at a position, target {@code y},
 * weights {@code w} (all 1 by default) and label smoothing {@code eps}:
 * <ul>
 *   <li>index targets: {@code l = (1-eps) * (-w_y * lp_y) + eps/C * sum_c (-w_c * lp_c)};
 *       ignored positions ({@code y == ignoreIndex}) have loss 0 and gradient 0, except where
 *       the row's softmax is NaN (a NaN or +inf logit, or all -inf): there the gradient is NaN,
 *       as PyTorch's {@code log_softmax} backward gives (LOSSES.md 1.3 chose 0; PyTorch wins), so
 *       an ignored row is read when a gradient is asked for; {@code mean} divides by
 *       {@code W = sum over active positions of w_y};</li>
 *   <li>probability targets: {@code l = -sum_c w_c * q_c * lp_c}, {@code q = (1-eps) * y + eps/C};
 *       {@code mean} divides by {@code M} (weights are not in the denominator);</li>
 *   <li>NLL: {@code l = -w_y * input[y]}, {@code mean} divides by {@code W}.</li>
 * </ul>
 *
 * <h2>Special values</h2>
 * A NaN or infinite logit in a row that is read makes that row's loss NaN, as in PyTorch; a
 * mean over no active position (empty input, all targets ignored, all target weights 0) is NaN
 * (0/0); a sum over none is 0. A row whose target leads every other logit by a wide margin
 * keeps its small loss ({@code log1p} of the other terms) rather than rounding to 0.
 *
 * <h2>Outputs</h2>
 * The full form takes two optional tensors: {@code losses} (float32 or float64, one loss per
 * position in the target's shape, required for {@link Reduction#NONE}) and {@code grad} (float32
 * or float64, the input's shape) which receives the gradient of the returned value. Both must be
 * writable and share no memory with the input, the target, the weight or each other; every
 * check runs before anything is written. For
 * {@code NONE} the returned value, and the function whose gradient is written, is the sum.
 *
 * <p>Results are deterministic: the same bits for any {@link Options#threads()}.
 */
public final class CrossEntropy {
    private CrossEntropy() {}

    /**
     * Options of {@code cross_entropy} and {@code nll_loss}, with PyTorch's defaults.
     *
     * @param weight          per-class weights of length C, of the input's dtype, or {@code null}
     * @param ignoreIndex     index targets equal to this are skipped (default -100; any value,
     *                        also one in {@code [0, C)})
     * @param labelSmoothing  eps at most 1 (default 0; cross-entropy only); a negative or NaN
     *                        value means no smoothing, as in PyTorch, which ignores it silently
     * @param reduction       default {@link Reduction#MEAN}
     * @param threads         threads to use; 0 (default) means all cores for large inputs
     * @param emptyMean what a mean over no active element gives (default {@link EmptyMean#NAN}, PyTorch's)
     */
    public record Options(Tensor weight, long ignoreIndex, double labelSmoothing, Reduction reduction, int threads, EmptyMean emptyMean) {
        private static final Options DEFAULTS = new Options(null, -100, 0.0, Reduction.MEAN, 0, EmptyMean.NAN);

        public Options {
            Objects.requireNonNull(reduction, "reduction");
            Objects.requireNonNull(emptyMean, "emptyMean");
            if (labelSmoothing > 1) {
                throw new IllegalArgumentException("label_smoothing must be at most 1.0, got " + labelSmoothing);
            }
            Checks.threadCount(threads);
        }

        /** The options without {@code emptyMean}, which is then {@link EmptyMean#NAN} (PyTorch's). */
        public Options(Tensor weight, long ignoreIndex, double labelSmoothing, Reduction reduction, int threads) {
            this(weight, ignoreIndex, labelSmoothing, reduction, threads, EmptyMean.NAN);
        }

        /** PyTorch's defaults: no weight, ignore_index -100, no smoothing, mean, all cores. */
        public static Options defaults() {
            return DEFAULTS;
        }

        public Options withWeight(Tensor w) {
            return new Options(w, ignoreIndex, labelSmoothing, reduction, threads, emptyMean);
        }

        public Options withIgnoreIndex(long i) {
            return new Options(weight, i, labelSmoothing, reduction, threads, emptyMean);
        }

        public Options withLabelSmoothing(double eps) {
            return new Options(weight, ignoreIndex, eps, reduction, threads, emptyMean);
        }

        public Options withReduction(Reduction r) {
            return new Options(weight, ignoreIndex, labelSmoothing, r, threads, emptyMean);
        }

        public Options withThreads(int t) {
            return new Options(weight, ignoreIndex, labelSmoothing, reduction, t, emptyMean);
        }

        /** What a mean over no active element gives (default {@link EmptyMean#NAN}, PyTorch's). */
        public Options withEmptyMean(EmptyMean e) {
            return new Options(weight, ignoreIndex, labelSmoothing, reduction, threads, e);
        }
    }

    /** {@code cross_entropy(input, target)} with the default options: the mean loss. */
    public static double crossEntropy(Tensor input, Tensor target) {
        return crossEntropy(input, target, Options.defaults());
    }

    /**
     * The reduced cross-entropy.
     *
     * @throws IllegalArgumentException for {@link Reduction#NONE} (use the full form with a
     *         {@code losses} tensor), or for any invalid shape, dtype, option or label
     */
    public static double crossEntropy(Tensor input, Tensor target, Options options) {
        Checks.reduced("cross_entropy", options.reduction());
        return crossEntropy(input, target, options, null, null);
    }

    /**
     * The cross-entropy, its per-position losses and its gradient.
     *
     * @param losses per-position losses to fill (required for NONE), or {@code null}
     * @param grad   the gradient of the returned value with respect to {@code input}, or {@code null}
     * @return the mean or the sum; for NONE the sum
     * @throws IllegalArgumentException for an invalid shape, dtype, option or label; nothing has
     *         been written then
     */
    public static double crossEntropy(Tensor input, Tensor target, Options options, Tensor losses, Tensor grad) {
        return evaluate(Kind.CROSS_ENTROPY, input, target, options, losses, grad);
    }

    /** {@code nll_loss(input, target)} with the default options: the mean loss. */
    public static double nllLoss(Tensor input, Tensor target) {
        return nllLoss(input, target, Options.defaults());
    }

    /** The reduced NLL loss; see {@link #crossEntropy(Tensor, Tensor, Options)}. */
    public static double nllLoss(Tensor input, Tensor target, Options options) {
        Checks.reduced("nll_loss", options.reduction());
        return nllLoss(input, target, options, null, null);
    }

    /** The NLL loss, its per-position losses and its gradient; see {@link #crossEntropy(Tensor, Tensor, Options, Tensor, Tensor)}. */
    public static double nllLoss(Tensor input, Tensor target, Options options, Tensor losses, Tensor grad) {
        return evaluate(Kind.NLL, input, target, options, losses, grad);
    }

    /**
     * An exact accumulator of {@code cross_entropy} over batches (see {@link LossAccumulator}):
     * its value over any split of the data has the bits of {@link #crossEntropy(Tensor, Tensor, Options)}
     * over the whole. The reduction must be mean or sum; a weighted mean divides by the weights
     * summed over every batch, as the one call does.
     *
     * @throws IllegalArgumentException if the reduction is {@link Reduction#NONE}
     */
    public static LossAccumulator accumulator(Options options) {
        return LossAccumulator.ratio("cross_entropy", options.reduction(), options.emptyMean(),
                (input, target) -> crossEntropy(input, target, options));
    }

    /** An exact accumulator of {@code nll_loss} over batches; see {@link #accumulator(Options)}. */
    public static LossAccumulator nllLossAccumulator(Options options) {
        return LossAccumulator.ratio("nll_loss", options.reduction(), options.emptyMean(),
                (input, target) -> nllLoss(input, target, options));
    }

    private enum Kind { CROSS_ENTROPY, NLL }

    private static double evaluate(Kind kind, Tensor input, Tensor target, Options o, Tensor losses, Tensor grad) {
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(o, "options");
        String what = kind == Kind.NLL ? "nll_loss" : "cross_entropy";
        Checks.classInput(what, input);
        long[] in = input.dims();
        long n = Layout.batch(in);
        long c = Layout.classes(in);
        long s = Layout.spatial(in);
        boolean prob = Arrays.equals(in, target.dims());
        if (prob) {
            if (kind == Kind.NLL) {
                throw new IllegalArgumentException("nll_loss: target " + Arrays.toString(target.dims())
                        + " must have the input's shape " + Arrays.toString(in) + " without the class axis");
            }
            if (target.dtype() != input.dtype()) {
                throw new IllegalArgumentException(what + ": a target of the input's shape " + Arrays.toString(in)
                        + " holds class probabilities and must be " + input.dtype() + ", got " + target.dtype());
            }
            if (o.ignoreIndex() >= 0) {
                throw new IllegalArgumentException(what + ": ignore_index (" + o.ignoreIndex()
                        + ") is not supported for probability targets");
            }
            if (c == 0 && n * s > 0) {
                throw new IllegalArgumentException(what + ": the class axis is empty");
            }
        } else {
            Checks.indexTarget(what, input, target);
        }
        if (kind == Kind.NLL && o.labelSmoothing() > 0) {
            throw new IllegalArgumentException("nll_loss has no label_smoothing");
        }
        Tensor w = o.weight();
        double weightSum = Checks.classWeight(what, w, c, input.dtype());
        Checks.outputs(what, o.reduction(), losses == null ? null : Layout.positionShape(in), losses, in, grad,
                input, target, w, null);
        int threads = Checks.threads(o.threads(), input.numel(), input, target, w, null, losses, grad);
        RowProblem p = Problems.rows(kind == Kind.NLL ? RowOp.NLL : prob ? RowOp.CROSS_ENTROPY_PROB : RowOp.CROSS_ENTROPY,
                input, losses, grad)
                .weight(w == null ? null : w.segment(), weightSum)
                .labelSmoothing(kind == Kind.NLL || !(o.labelSmoothing() > 0) ? 0 : o.labelSmoothing());
        if (prob) {
            p.probTarget(target.segment());
        } else {
            p.indexTarget(target.segment(), target.dtype().byteSize(), o.ignoreIndex());
        }
        return Problems.reduceRows(what, p, o.reduction(), threads, prob ? null : Targets::weightSum, o.emptyMean());
    }
}
