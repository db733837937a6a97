package dev.vecloss;

import dev.vecloss.internal.ElementOp;
import dev.vecloss.internal.ElementProblem;
import dev.vecloss.internal.Parallel;
import dev.vecloss.internal.Ranges;
import dev.vecloss.internal.RowOp;
import dev.vecloss.internal.RowProblem;
import dev.vecloss.internal.Targets;
import java.util.Objects;

/**
 * The margin losses (LOSSES.md section 6): Keras's binary {@code hinge} and {@code squared_hinge}
 * (elementwise), PyTorch's {@code multi_margin_loss} and Keras's {@code categorical_hinge} (per
 * row of class scores).
 *
 * <h2>Hinge and squared hinge</h2>
 * Scores and labels of one shape, any rank, float32 or float64: {@code l = max(0, margin - y x)},
 * squared for {@link #squaredHinge}. Labels are -1 and 1; with {@link Labels#AUTO} (the default,
 * Keras's rule) a target whose every element is 0 or 1 is read as {@code 2y - 1}. The gradient is
 * {@code -y} (squared: {@code -2 y max(0, margin - y x)}) where {@code margin - y x > 0}, else 0
 * (0 at the kink). {@code mean} divides by the element count.
 *
 * <h2>multi_margin_loss</h2>
 * Input {@code (N, C)} or {@code (C)}, index targets {@code (N)} or {@code ()}, each in
 * {@code [0, C)} (there is no ignore_index): per sample
 * {@code l = (1/C) sum_{i != y} w_y max(0, margin - x_y + x_i)^p}, p 1 or 2, a term counting only
 * where {@code margin - x_y + x_i > 0} (so a NaN score adds nothing, as in PyTorch). {@code mean}
 * divides by N (the weights do not enter it).
 *
 * <h2>categorical_hinge</h2>
 * Input and one-hot (or soft) targets of one shape {@code (N, C, d1, ..., dk)}, class axis 1:
 * {@code pos = sum_c y_c f_c}, {@code neg = max_c (1 - y_c) f_c},
 * {@code l = max(0, neg - pos + margin)} (Keras: margin 1; the true class's slot contributes 0 to
 * the maximum, so {@code neg >= 0} for one-hot targets, as in Keras). Where the loss is active the
 * gradient is {@code -y_c}, plus {@code 1 - y_j} at the first class {@code j} attaining the
 * maximum. {@code mean} divides by the number of positions.
 *
 * <p>Outputs, special values and determinism as in {@link CrossEntropy}.
 */
public final class Hinge {
    private Hinge() {}

    /** How the binary hinge losses read their labels. */
    public enum Labels {
        /** Keras's rule: 0 and 1 are read as -1 and 1 when every label is 0 or 1; otherwise as given. */
        AUTO,
        /** Labels are 0 and 1, read as -1 and 1. */
        ZERO_ONE,
        /** Labels are used as given (-1 and 1). */
        PLUS_MINUS_ONE
    }

    /**
     * Options of the margin losses.
     *
     * @param margin    the margin (default 1)
     * @param labels    the binary hinges' label rule (default {@link Labels#AUTO})
     * @param p         multi_margin_loss's exponent, 1 (default) or 2
     * @param weight    multi_margin_loss's per-class weights (C), of the input's dtype, or {@code null}
     * @param reduction default {@link Reduction#MEAN}
     * @param threads   threads to use; 0 (default) means all cores for large inputs
     * @param emptyMean what a mean over no active element gives (default {@link EmptyMean#NAN}, PyTorch's)
     */
    public record Options(double margin, Labels labels, int p, Tensor weight, Reduction reduction, int threads, EmptyMean emptyMean) {
        private static final Options DEFAULTS = new Options(1, Labels.AUTO, 1, null, Reduction.MEAN, 0, EmptyMean.NAN);

        public Options {
            Objects.requireNonNull(labels, "labels");
            Objects.requireNonNull(reduction, "reduction");
            Objects.requireNonNull(emptyMean, "emptyMean");
            if (p != 1 && p != 2) {
                throw new IllegalArgumentException("multi_margin_loss: only p == 1 and p == 2 supported, got " + p);
            }
            Checks.threadCount(threads);
        }

        /** The options without {@code emptyMean}, which is then {@link EmptyMean#NAN} (PyTorch's). */
        public Options(double margin, Labels labels, int p, Tensor weight, Reduction reduction, int threads) {
            this(margin, labels, p, weight, reduction, threads, EmptyMean.NAN);
        }

        /** Margin 1, labels AUTO, p 1, no weight, mean, all cores. */
        public static Options defaults() {
            return DEFAULTS;
        }

        public Options withMargin(double m) {
            return new Options(m, labels, p, weight, reduction, threads, emptyMean);
        }

        public Options withLabels(Labels l) {
            return new Options(margin, l, p, weight, reduction, threads, emptyMean);
        }

        public Options withP(int exponent) {
            return new Options(margin, labels, exponent, weight, reduction, threads, emptyMean);
        }

        public Options withWeight(Tensor w) {
            return new Options(margin, labels, p, w, reduction, threads, emptyMean);
        }

        public Options withReduction(Reduction r) {
            return new Options(margin, labels, p, weight, r, threads, emptyMean);
        }

        public Options withThreads(int t) {
            return new Options(margin, labels, p, weight, reduction, t, emptyMean);
        }

        /** What a mean over no active element gives (default {@link EmptyMean#NAN}, PyTorch's). */
        public Options withEmptyMean(EmptyMean e) {
            return new Options(margin, labels, p, weight, reduction, threads, e);
        }
    }

    /**
     * An exact accumulator of the hinge loss over batches (see {@link LossAccumulator}). The labels
     * must be given as {@link Labels#ZERO_ONE} or {@link Labels#PLUS_MINUS_ONE}: {@link Labels#AUTO}
     * decides per call, so a batch of 0s and 1s could be read otherwise than the whole.
     */
    public static LossAccumulator hingeAccumulator(Options options) {
        explicitLabels("hinge", options);
        return LossAccumulator.ratio("hinge", options.reduction(), options.emptyMean(),
                (input, target) -> hinge(input, target, options));
    }

    /** An exact accumulator of the squared hinge loss; see {@link #hingeAccumulator}. */
    public static LossAccumulator squaredHingeAccumulator(Options options) {
        explicitLabels("squared_hinge", options);
        return LossAccumulator.ratio("squared_hinge", options.reduction(), options.emptyMean(),
                (input, target) -> squaredHinge(input, target, options));
    }

    /** An exact accumulator of {@code multi_margin_loss} over batches (see {@link LossAccumulator}). */
    public static LossAccumulator multiMarginAccumulator(Options options) {
        return LossAccumulator.ratio("multi_margin_loss", options.reduction(), options.emptyMean(),
                (input, target) -> multiMarginLoss(input, target, options));
    }

    /** An exact accumulator of Keras's categorical hinge over batches (see {@link LossAccumulator}). */
    public static LossAccumulator categoricalHingeAccumulator(Options options) {
        return LossAccumulator.ratio("categorical_hinge", options.reduction(), options.emptyMean(),
                (input, target) -> categoricalHinge(input, target, options));
    }

    private static void explicitLabels(String what, Options options) {
        if (options.labels() == Labels.AUTO) {
            throw new IllegalArgumentException(what + ": an accumulator needs labels ZERO_ONE or PLUS_MINUS_ONE, "
                    + "not AUTO, which decides per batch");
        }
    }

    /** The mean hinge loss with the default options. */
    public static double hinge(Tensor input, Tensor target) {
        return hinge(input, target, Options.defaults());
    }

    /** The reduced hinge loss. */
    public static double hinge(Tensor input, Tensor target, Options options) {
        Checks.reduced("hinge", options.reduction());
        return hinge(input, target, options, null, null);
    }

    /** The hinge loss, its per-element losses and its gradient. */
    public static double hinge(Tensor input, Tensor target, Options options, Tensor losses, Tensor grad) {
        return binary(ElementOp.HINGE, "hinge", input, target, options, losses, grad);
    }

    /** The mean squared hinge loss with the default options. */
    public static double squaredHinge(Tensor input, Tensor target) {
        return squaredHinge(input, target, Options.defaults());
    }

    /** The reduced squared hinge loss. */
    public static double squaredHinge(Tensor input, Tensor target, Options options) {
        Checks.reduced("squared_hinge", options.reduction());
        return squaredHinge(input, target, options, null, null);
    }

    /** The squared hinge loss, its per-element losses and its gradient. */
    public static double squaredHinge(Tensor input, Tensor target, Options options, Tensor losses, Tensor grad) {
        return binary(ElementOp.SQUARED_HINGE, "squared_hinge", input, target, options, losses, grad);
    }

    private static double binary(ElementOp op, String what, Tensor input, Tensor target, Options o, Tensor losses,
            Tensor grad) {
        Objects.requireNonNull(o, "options");
        Checks.elementOperands(what, input, target);
        if (o.weight() != null) {
            throw new IllegalArgumentException(what + ": weight is for multi_margin_loss");
        }
        Checks.outputs(what, o.reduction(), input.dims(), losses, input.dims(), grad, input, target, null, null);
        int threads = Checks.threads(o.threads(), input.numel(), input, target, null, null, losses, grad);
        ElementProblem p = Problems.elements(input, target, losses, grad).op(op);
        boolean zeroOne = switch (o.labels()) {
            case ZERO_ONE -> true;
            case PLUS_MINUS_ONE -> false;
            case AUTO -> {
                try {
                    yield Parallel.sum(input.numel(), Parallel.grain(1), threads, Ranges::notZeroOneChunk, p) == 0;
                } catch (RuntimeException | Error e) {
                    p.clear();
                    throw e;
                }
            }
        };
        p.hinge(o.margin(), zeroOne);
        return Problems.reduceElements(what, p, input.numel(), o.reduction(), input.numel(), threads, o.emptyMean());
    }

    /** The mean multi_margin_loss with the default options. */
    public static double multiMarginLoss(Tensor input, Tensor target) {
        return multiMarginLoss(input, target, Options.defaults());
    }

    /** The reduced multi_margin_loss. */
    public static double multiMarginLoss(Tensor input, Tensor target, Options options) {
        Checks.reduced("multi_margin_loss", options.reduction());
        return multiMarginLoss(input, target, options, null, null);
    }

    /** multi_margin_loss, its per-sample losses and its gradient. */
    public static double multiMarginLoss(Tensor input, Tensor target, Options o, Tensor losses, Tensor grad) {
        Objects.requireNonNull(o, "options");
        String what = "multi_margin_loss";
        Checks.classInput(what, input);
        if (input.rank() > 2) {
            throw new IllegalArgumentException(what + ": input must be (C) or (N, C), got shape "
                    + java.util.Arrays.toString(input.dims()));
        }
        long[] in = input.dims();
        long c = Layout.classes(in);
        if (c == 0) {
            throw new IllegalArgumentException(what + ": the class axis is empty");
        }
        Checks.indexTarget(what, input, target);
        Tensor w = o.weight();
        double weightSum = Checks.classWeight(what, w, c, input.dtype());
        Checks.outputs(what, o.reduction(), losses == null ? null : Layout.positionShape(in), losses, in, grad, input, target, w, null);
        int threads = Checks.threads(o.threads(), input.numel(), input, target, w, null, losses, grad);
        RowProblem p = Problems.rows(RowOp.MULTI_MARGIN, input, losses, grad)
                .indexTargetWithoutIgnore(target.segment(), target.dtype().byteSize())
                .weight(w == null ? null : w.segment(), weightSum)
                .margin(o.p(), o.margin());
        return Problems.reduceRows(what, p, o.reduction(), threads, Targets::activeCount, o.emptyMean());
    }

    /** The mean categorical hinge with the default options. */
    public static double categoricalHinge(Tensor input, Tensor target) {
        return categoricalHinge(input, target, Options.defaults());
    }

    /** The reduced categorical hinge. */
    public static double categoricalHinge(Tensor input, Tensor target, Options options) {
        Checks.reduced("categorical_hinge", options.reduction());
        return categoricalHinge(input, target, options, null, null);
    }

    /** The categorical hinge, its per-position losses and its gradient. */
    public static double categoricalHinge(Tensor input, Tensor target, Options o, Tensor losses, Tensor grad) {
        Objects.requireNonNull(o, "options");
        String what = "categorical_hinge";
        Checks.classInput(what, input);
        Checks.elementOperands(what, input, target);
        if (o.weight() != null) {
            throw new IllegalArgumentException(what + ": weight is for multi_margin_loss");
        }
        long[] in = input.dims();
        Checks.outputs(what, o.reduction(), losses == null ? null : Layout.positionShape(in), losses, in, grad, input, target, null, null);
        int threads = Checks.threads(o.threads(), input.numel(), input, target, null, null, losses, grad);
        RowProblem p = Problems.rows(RowOp.CATEGORICAL_HINGE, input, losses, grad)
                .probTarget(target.segment())
                .margin(1, o.margin());
        return Problems.reduceRows(what, p, o.reduction(), threads, null, o.emptyMean());
    }
}
