package dev.vecloss;

import dev.vecloss.internal.ElementOp;
import dev.vecloss.internal.ElementProblem;
import java.util.Objects;

/**
 * {@code kl_div} (LOSSES.md section 7), with PyTorch's semantics: the input holds
 * log-probabilities {@code q}, the target probabilities {@code t} (or log-probabilities with
 * {@code logTarget}), of one shape, any rank, float32 or float64. Per element
 * {@code l = xlogy(t, t) - t q}, where {@code xlogy(t, t) = 0} for {@code t = 0} (so such an
 * element is 0, or NaN where q is infinite) and NaN for {@code t < 0}; with {@code logTarget},
 * {@code l = exp(t) (t - q)}. The gradient with respect to q is {@code -t} (or {@code -exp(t)}).
 *
 * <p>Reductions: {@link Reduction#MEAN} divides by the element count (PyTorch warns that this is
 * not the KL divergence), {@link Reduction#BATCHMEAN} by the input's first dimension (the true KL
 * divergence per sample: recommended; the sum for a 0-d input), {@code sum}, {@code none}. A mean
 * over an empty input is NaN. Outputs and determinism as in {@link CrossEntropy}.
 */
public final class KlDiv {
    private KlDiv() {}

    /**
     * Options, with PyTorch's defaults.
     *
     * @param logTarget whether the target holds log-probabilities (default false)
     * @param reduction default {@link Reduction#MEAN}, as PyTorch (batchmean is the KL divergence)
     * @param threads   threads to use; 0 (default) means all cores for large inputs
     * @param emptyMean what a mean over no active element gives (default {@link EmptyMean#NAN}, PyTorch's)
     */
    public record Options(boolean logTarget, Reduction reduction, int threads, EmptyMean emptyMean) {
        private static final Options DEFAULTS = new Options(false, Reduction.MEAN, 0, EmptyMean.NAN);

        public Options {
            Objects.requireNonNull(reduction, "reduction");
            Objects.requireNonNull(emptyMean, "emptyMean");
            Checks.threadCount(threads);
        }

        /** The options without {@code emptyMean}, which is then {@link EmptyMean#NAN} (PyTorch's). */
        public Options(boolean logTarget, Reduction reduction, int threads) {
            this(logTarget, reduction, threads, EmptyMean.NAN);
        }

        /** PyTorch's defaults: probability targets, mean, all cores. */
        public static Options defaults() {
            return DEFAULTS;
        }

        public Options withLogTarget(boolean log) {
            return new Options(log, reduction, threads, emptyMean);
        }

        public Options withReduction(Reduction r) {
            return new Options(logTarget, r, threads, emptyMean);
        }

        public Options withThreads(int t) {
            return new Options(logTarget, reduction, t, emptyMean);
        }

        /** What a mean over no active element gives (default {@link EmptyMean#NAN}, PyTorch's). */
        public Options withEmptyMean(EmptyMean e) {
            return new Options(logTarget, reduction, threads, e);
        }
    }

    /**
     * An exact accumulator of {@code kl_div} over batches (see {@link LossAccumulator}): batch
     * mean divides by the rows of every batch (their first dimension), mean by their elements.
     */
    public static LossAccumulator accumulator(Options options) {
        return LossAccumulator.ratio("kl_div", options.reduction(), options.emptyMean(),
                (input, target) -> klDiv(input, target, options));
    }

    /** {@code kl_div(input, target)}: the mean over elements. */
    public static double klDiv(Tensor input, Tensor target) {
        return klDiv(input, target, Options.defaults());
    }

    /** The reduced kl_div. */
    public static double klDiv(Tensor input, Tensor target, Options options) {
        Checks.reduced("kl_div", options.reduction());
        return klDiv(input, target, options, null, null);
    }

    /** kl_div, its per-element losses and its gradient. */
    public static double klDiv(Tensor input, Tensor target, Options o, Tensor losses, Tensor grad) {
        Objects.requireNonNull(o, "options");
        String what = "kl_div";
        Checks.elementOperands(what, input, target);
        // batchmean is a sum divided by N: for the outputs' checks it is a sum (the checks refuse it
        // for every other loss)
        Reduction forChecks = o.reduction() == Reduction.BATCHMEAN ? Reduction.SUM : o.reduction();
        Checks.outputs(what, forChecks, input.dims(), losses, input.dims(), grad, input, target, null, null);
        int threads = Checks.threads(o.threads(), input.numel(), input, target, null, null, losses, grad);
        ElementProblem p = Problems.elements(input, target, losses, grad).op(ElementOp.KL_DIV)
                .logTarget(o.logTarget());
        double denominator = o.reduction() == Reduction.BATCHMEAN
                ? (input.rank() == 0 ? 1 : input.dim(0)) : input.numel();
        return Problems.reduceElements(what, p, input.numel(), o.reduction(), denominator, threads, o.emptyMean());
    }
}
