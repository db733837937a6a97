package dev.vecloss;

import dev.vecloss.internal.ElementOp;
import dev.vecloss.internal.ElementProblem;
import dev.vecloss.internal.Parallel;
import dev.vecloss.internal.Ranges;
import java.util.Objects;

/**
 * Binary cross-entropy, with PyTorch's semantics: {@code binary_cross_entropy} on probabilities
 * and {@code binary_cross_entropy_with_logits} (LOSSES.md sections 3 and 4).
 *
 * <h2>Shapes</h2>
 * Input and target have one shape, any rank (0-d included), float32 or float64, the same dtype.
 * The optional {@code weight} broadcasts onto that shape (NumPy's rule: dimensions align on the
 * right), of the input's dtype; so does {@code posWeight} (with logits only): a {@code (C)}
 * pos_weight over an {@code (N, C)} input is one weight per class, and over
 * {@code (N, C, H, W)} it needs the shape {@code (C, 1, 1)}, as in PyTorch. Targets may be any
 * value in [0, 1] (soft labels), not only 0 and 1.
 *
 * <h2>Formulas</h2>
 * Per element, with weight {@code w} (1 when absent), pos_weight {@code P} (1 when absent) and
 * {@code r = 1 + (P - 1) y}:
 * <ul>
 *   <li>on probabilities: {@code l = -w (y max(log p, -100) + (1 - y) max(log(1 - p), -100))};
 *       the gradient is PyTorch's {@code w (p - y) / max(p (1 - p), 1e-12)}, which is not the
 *       derivative of the clamped loss;</li>
 *   <li>with logits: {@code l = w ((1 - y) x - r logsigmoid(x))}, computed without cancellation
 *       ({@code x = 30, y = 1} gives 9.36e-14, where PyTorch's float32 kernel gives 0); the
 *       gradient is {@code w (r sigmoid(x) - P y)}.</li>
 * </ul>
 * {@code mean} divides by the element count (weights never enter the denominator).
 *
 * <h2>Special values</h2>
 * On probabilities, an input or target outside [0, 1], or NaN, is an
 * {@link IllegalArgumentException} naming the value and its flat index. With logits nothing is
 * checked and IEEE arithmetic gives PyTorch's values: {@code x = +inf} gives {@code +inf} for
 * {@code y < 1} and NaN for {@code y = 1} ({@code 0 * inf}); {@code x = -inf} gives NaN; NaN
 * gives NaN. A mean over an empty input is NaN, a sum 0.
 *
 * <h2>Outputs</h2>
 * The full forms take {@code losses} (required for {@link Reduction#NONE}) and {@code grad},
 * float32 or float64, both of the input's shape, writable and sharing no memory with an operand
 * or each other. For {@code NONE} the returned value, whose gradient is written, is the sum.
 * Every check runs before anything is written. Results do not depend on the thread count.
 */
public final class BinaryCrossEntropy {
    private BinaryCrossEntropy() {}

    /**
     * Options, with PyTorch's defaults.
     *
     * @param weight    broadcast onto the input, of its dtype, or {@code null}
     * @param posWeight with logits only: broadcast onto the target, of the input's dtype, or {@code null}
     * @param reduction default {@link Reduction#MEAN}
     * @param threads   threads to use; 0 (default) means all cores for large inputs
     * @param emptyMean what a mean over no active element gives (default {@link EmptyMean#NAN}, PyTorch's)
     */
    public record Options(Tensor weight, Tensor posWeight, Reduction reduction, int threads, EmptyMean emptyMean) {
        private static final Options DEFAULTS = new Options(null, null, Reduction.MEAN, 0, EmptyMean.NAN);

        public Options {
            Objects.requireNonNull(reduction, "reduction");
            Objects.requireNonNull(emptyMean, "emptyMean");
            Checks.threadCount(threads);
        }

        /** The options without {@code emptyMean}, which is then {@link EmptyMean#NAN} (PyTorch's). */
        public Options(Tensor weight, Tensor posWeight, Reduction reduction, int threads) {
            this(weight, posWeight, reduction, threads, EmptyMean.NAN);
        }

        /** PyTorch's defaults: no weight, no pos_weight, mean, all cores. */
        public static Options defaults() {
            return DEFAULTS;
        }

        public Options withWeight(Tensor w) {
            return new Options(w, posWeight, reduction, threads, emptyMean);
        }

        public Options withPosWeight(Tensor p) {
            return new Options(weight, p, reduction, threads, emptyMean);
        }

        public Options withReduction(Reduction r) {
            return new Options(weight, posWeight, r, threads, emptyMean);
        }

        public Options withThreads(int t) {
            return new Options(weight, posWeight, reduction, t, emptyMean);
        }

        /** What a mean over no active element gives (default {@link EmptyMean#NAN}, PyTorch's). */
        public Options withEmptyMean(EmptyMean e) {
            return new Options(weight, posWeight, reduction, threads, e);
        }
    }

    /** {@code binary_cross_entropy(input, target)}: the mean loss on probabilities. */
    public static double binaryCrossEntropy(Tensor input, Tensor target) {
        return binaryCrossEntropy(input, target, Options.defaults());
    }

    /** The reduced BCE on probabilities. */
    public static double binaryCrossEntropy(Tensor input, Tensor target, Options options) {
        Checks.reduced("binary_cross_entropy", options.reduction());
        return binaryCrossEntropy(input, target, options, null, null);
    }

    /** BCE on probabilities, its per-element losses and its gradient. */
    public static double binaryCrossEntropy(Tensor input, Tensor target, Options options, Tensor losses, Tensor grad) {
        return evaluate(ElementOp.BINARY_CROSS_ENTROPY, input, target, options, losses, grad);
    }

    /** {@code binary_cross_entropy_with_logits(input, target)}: the mean loss. */
    public static double binaryCrossEntropyWithLogits(Tensor input, Tensor target) {
        return binaryCrossEntropyWithLogits(input, target, Options.defaults());
    }

    /** The reduced BCE with logits. */
    public static double binaryCrossEntropyWithLogits(Tensor input, Tensor target, Options options) {
        Checks.reduced("binary_cross_entropy_with_logits", options.reduction());
        return binaryCrossEntropyWithLogits(input, target, options, null, null);
    }

    /** BCE with logits, its per-element losses and its gradient. */
    public static double binaryCrossEntropyWithLogits(Tensor input, Tensor target, Options options, Tensor losses,
            Tensor grad) {
        return evaluate(ElementOp.BINARY_CROSS_ENTROPY_WITH_LOGITS, input, target, options, losses, grad);
    }

    /**
     * An exact accumulator of {@code binary_cross_entropy} over batches (see
     * {@link LossAccumulator}): its value over any split of the data has the bits of the one call
     * over the whole. A weight or pos_weight must broadcast to every batch.
     *
     * @throws IllegalArgumentException if the reduction is {@link Reduction#NONE}
     */
    public static LossAccumulator accumulator(Options options) {
        return LossAccumulator.ratio("binary_cross_entropy", options.reduction(), options.emptyMean(),
                (input, target) -> binaryCrossEntropy(input, target, options));
    }

    /** An exact accumulator of {@code binary_cross_entropy_with_logits}; see {@link #accumulator}. */
    public static LossAccumulator withLogitsAccumulator(Options options) {
        return LossAccumulator.ratio("binary_cross_entropy_with_logits", options.reduction(), options.emptyMean(),
                (input, target) -> binaryCrossEntropyWithLogits(input, target, options));
    }

    private static double evaluate(ElementOp op, Tensor input, Tensor target, Options o, Tensor losses, Tensor grad) {
        Objects.requireNonNull(o, "options");
        boolean logits = op == ElementOp.BINARY_CROSS_ENTROPY_WITH_LOGITS;
        String what = logits ? "binary_cross_entropy_with_logits" : "binary_cross_entropy";
        Checks.elementOperands(what, input, target);
        Tensor w = o.weight();
        Tensor pw = o.posWeight();
        Checks.broadcastOperand(what, "weight", w, input);
        if (pw != null && !logits) {
            throw new IllegalArgumentException(what + ": pos_weight is for binary_cross_entropy_with_logits");
        }
        Checks.broadcastOperand(what, "pos_weight", pw, input);
        Checks.outputs(what, o.reduction(), input.dims(), losses, input.dims(), grad, input, target, w, pw);
        int threads = Checks.threads(o.threads(), input.numel(), input, target, w, pw, losses, grad);
        ElementProblem p = Problems.elements(input, target, losses, grad).op(op)
                .weight(w == null ? null : w.segment(), w == null ? null : w.dims())
                .posWeight(pw == null ? null : pw.segment(), pw == null ? null : pw.dims());
        long numel = input.numel();
        // BCE on probabilities refuses a value outside [0, 1] before anything is written. A reduced
        // call that writes nothing (no outputs, no accumulator) skips that pass over both
        // operands: the kernels give such an element a NaN loss, so a NaN result is checked for
        // them afterwards, with the same error (the lowest flat index at any thread count).
        boolean checkAfter = !logits && losses == null && grad == null && Problems.SINK.get() == null
                && o.reduction() != Reduction.NONE;
        if (!checkAfter) {
            if (!logits) {
                checkUnitInterval(what, p, numel, threads);
            }
            return Problems.reduceElements(what, p, numel, o.reduction(), numel, threads, o.emptyMean());
        }
        try {
            double result = Problems.reduceElements(what, p, numel, o.reduction(), numel, threads, o.emptyMean(), false);
            if (Double.isNaN(result)) {
                checkUnitInterval(what, p, numel, threads); // throws if a value is outside [0, 1]
            }
            return result;
        } finally {
            p.clear();
        }
    }

    /** Refuses an input or target value outside [0, 1] (or NaN), naming the lowest flat index. */
    private static void checkUnitInterval(String what, ElementProblem p, long numel, int threads) {
        try {
            Parallel.sum(numel, Parallel.grain(1), threads, Ranges::unitIntervalChunk, p);
        } catch (Ranges.BadValue e) {
            p.clear();
            throw new IllegalArgumentException(what + ": " + e.operand + " " + e.value
                    + " at flat index " + e.index + " is outside [0, 1]");
        } catch (RuntimeException | Error e) {
            p.clear();
            throw e;
        }
    }
}
