package dev.vecloss;

import dev.vecloss.internal.ClassSumOp;
import dev.vecloss.internal.ClassSumProblem;
import dev.vecloss.internal.ExactSum;
import dev.vecloss.internal.Parallel;
import dev.vecloss.internal.Targets;
import java.util.Arrays;
import java.util.Objects;

/**
 * The region losses of segmentation_models_pytorch (smp 0.5, HEAD's {@code losses/dice.py},
 * {@code jaccard.py}, {@code tversky.py} and {@code _functional.soft_tversky_score}; LOSSES.md 8.1,
 * 8.2 and 11 items 7 to 9): Dice, Jaccard and Tversky, one pipeline with three pairs of weights.
 *
 * <h2>Shapes</h2>
 * <ul>
 *   <li>{@link SegmentationMode#MULTICLASS}: input {@code (N, C, d1, ..., dk)} or {@code (N, C)}; target
 *       {@code (N, d1, ..., dk)} class indices (int64, int32, uint8 or bool) in {@code [0, C)}
 *       except where equal to the ignore_index; the softmax over C when from logits.</li>
 *   <li>{@link SegmentationMode#MULTILABEL}: input and target {@code (N, C, d...)}; the target float (the
 *       input's dtype) or integer, 0 and 1 (other values are used as they are, as smp does);
 *       the sigmoid when from logits.</li>
 *   <li>{@link SegmentationMode#BINARY}: input {@code (N, 1, d...)}; target {@code (N, 1, d...)} or
 *       {@code (N, d...)}, as for multilabel.</li>
 * </ul>
 *
 * <h2>The loss</h2>
 * With {@code p} the (activated) prediction and {@code t} the (one-hot) target, both multiplied
 * by the ignore mask, per class {@code c} over the whole batch: {@code Sp = sum p},
 * {@code St = sum t}, {@code D = sum |p - t|}, {@code TP = (Sp + St - D)/2}, {@code FP = Sp - TP},
 * {@code FN = St - TP}; {@code score = (TP + smooth) / max(TP + alpha FP + beta FN + smooth, eps)};
 * {@code l = 1 - score}, or {@code -log(max(score, eps))} with log_loss; {@code l = 0} where
 * {@code St == 0} (a class absent from the batch; it still counts in the mean); the classes
 * subset kept (duplicates count twice, as in indexing); the mean over them, or
 * {@code sum w l / sum w} with class weights; Tversky raises that to {@code gamma}. Dice is
 * alpha = beta = 1/2, Jaccard alpha = beta = 1, both with gamma 1.
 *
 * <p>Special values as smp: a NaN input is NaN in its class's sums (and, through the softmax,
 * every class's), also at an ignored place (smp multiplies by the mask), so the loss is NaN. The
 * gradient is autograd's but at one corner: Tversky with gamma below 1 whose aggregate is 0 has
 * gradient 0 where autograd gives NaN (LOSSES.md 8.2).
 *
 * <p>The per-class sums are exact (each position's {@code pe}, {@code te} and {@code |pe - te|}
 * added to a superaccumulator, rounded once): results have the same bits at any thread count and
 * for any split of the batch along N, which is what the accumulators ({@link #diceAccumulator},
 * ...) rely on. A reduced call allocates nothing once warm; each thread keeps
 * {@code 3C} exact sums (some 600 bytes each) for the largest C it has seen.
 */
public final class RegionLoss {
    private RegionLoss() {}

    /**
     * Options, with smp's defaults.
     *
     * @param mode         required
     * @param fromLogits   apply the mode's activation (default true)
     * @param smooth       added to numerator and denominator, at least 0 (default 0)
     * @param eps          the denominator's (and, with log_loss, the score's) lower clamp, above 0 (default 1e-7)
     * @param ignoreIndex  the target value of ignored places, or {@code null} for none (default)
     * @param logLoss      {@code -log(score)} instead of {@code 1 - score} (default false)
     * @param classes      the classes kept in the aggregate, in {@code [0, C)}, or {@code null} for all
     *                     (not in binary mode)
     * @param classWeights per-class weights, length C, or {@code null} (not in binary mode)
     * @param alpha        Tversky's weight of FP, at least 0 (default 0.5; Dice and Jaccard set their own)
     * @param beta         Tversky's weight of FN, at least 0 (default 0.5)
     * @param gamma        Tversky's exponent of the aggregate, at least 0 (default 1)
     * @param threads      threads to use; 0 (default) means all cores for large inputs
     */
    public record Options(SegmentationMode mode, boolean fromLogits, double smooth, double eps, Long ignoreIndex, boolean logLoss,
            int[] classes, double[] classWeights, double alpha, double beta, double gamma, int threads) {

        public Options {
            Objects.requireNonNull(mode, "mode");
            String what = "region loss";
            if (!(Double.isFinite(smooth) && smooth >= 0)) {
                throw new IllegalArgumentException(what + ": smooth must be finite and at least 0, got " + smooth);
            }
            if (!(eps > 0 && Double.isFinite(eps))) {
                throw new IllegalArgumentException(what + ": eps must be finite and above 0, got " + eps);
            }
            for (double v : new double[] {alpha, beta, gamma}) {
                if (!(Double.isFinite(v) && v >= 0)) {
                    throw new IllegalArgumentException(what + ": alpha, beta and gamma must be finite and at least 0, got "
                            + alpha + ", " + beta + ", " + gamma);
                }
            }
            if (mode == SegmentationMode.BINARY && classes != null) {
                throw new IllegalArgumentException(what + ": classes are not supported with mode binary (smp)");
            }
            if (mode == SegmentationMode.BINARY && classWeights != null) {
                throw new IllegalArgumentException(what + ": class_weights are not supported with mode binary (smp)");
            }
            Checks.threadCount(threads);
            classes = classes == null ? null : classes.clone();
            classWeights = classWeights == null ? null : classWeights.clone();
        }

        /** smp's defaults for {@code mode}: from logits, smooth 0, eps 1e-7, no ignore_index, no log_loss, every class, no weights; Tversky 0.5, 0.5, 1. */
        public static Options defaults(SegmentationMode mode) {
            return new Options(mode, true, 0, 1e-7, null, false, null, null, 0.5, 0.5, 1, 0);
        }

        @Override
        public int[] classes() {
            return classes == null ? null : classes.clone();
        }

        @Override
        public double[] classWeights() {
            return classWeights == null ? null : classWeights.clone();
        }

        public Options withMode(SegmentationMode m) {
            return new Options(m, fromLogits, smooth, eps, ignoreIndex, logLoss, classes, classWeights, alpha, beta, gamma, threads);
        }

        public Options withFromLogits(boolean f) {
            return new Options(mode, f, smooth, eps, ignoreIndex, logLoss, classes, classWeights, alpha, beta, gamma, threads);
        }

        public Options withSmooth(double s) {
            return new Options(mode, fromLogits, s, eps, ignoreIndex, logLoss, classes, classWeights, alpha, beta, gamma, threads);
        }

        public Options withEps(double e) {
            return new Options(mode, fromLogits, smooth, e, ignoreIndex, logLoss, classes, classWeights, alpha, beta, gamma, threads);
        }

        /** The ignore_index, or {@code null} for none. */
        public Options withIgnoreIndex(Long i) {
            return new Options(mode, fromLogits, smooth, eps, i, logLoss, classes, classWeights, alpha, beta, gamma, threads);
        }

        public Options withLogLoss(boolean l) {
            return new Options(mode, fromLogits, smooth, eps, ignoreIndex, l, classes, classWeights, alpha, beta, gamma, threads);
        }

        public Options withClasses(int... c) {
            return new Options(mode, fromLogits, smooth, eps, ignoreIndex, logLoss, c, classWeights, alpha, beta, gamma, threads);
        }

        public Options withClassWeights(double... w) {
            return new Options(mode, fromLogits, smooth, eps, ignoreIndex, logLoss, classes, w, alpha, beta, gamma, threads);
        }

        /** Tversky's alpha (FP), beta (FN) and gamma. */
        public Options withTversky(double a, double b, double g) {
            return new Options(mode, fromLogits, smooth, eps, ignoreIndex, logLoss, classes, classWeights, a, b, g, threads);
        }

        public Options withThreads(int t) {
            return new Options(mode, fromLogits, smooth, eps, ignoreIndex, logLoss, classes, classWeights, alpha, beta, gamma, t);
        }
    }

    /** smp's {@code DiceLoss}. */
    public static double dice(Tensor input, Tensor target, Options o) {
        return dice(input, target, o, null);
    }

    /** smp's {@code DiceLoss}, and its gradient with respect to the input into {@code grad} (the input's shape) unless null. */
    public static double dice(Tensor input, Tensor target, Options o, Tensor grad) {
        return loss("dice_loss", input, target, o, 0.5, 0.5, 1, grad);
    }

    /** smp's {@code JaccardLoss}. */
    public static double jaccard(Tensor input, Tensor target, Options o) {
        return jaccard(input, target, o, null);
    }

    /** smp's {@code JaccardLoss} and its gradient, as {@link #dice(Tensor, Tensor, Options, Tensor)}. */
    public static double jaccard(Tensor input, Tensor target, Options o, Tensor grad) {
        return loss("jaccard_loss", input, target, o, 1, 1, 1, grad);
    }

    /** smp's {@code TverskyLoss} with the options' alpha, beta and gamma. */
    public static double tversky(Tensor input, Tensor target, Options o) {
        return tversky(input, target, o, null);
    }

    /** smp's {@code TverskyLoss} and its gradient, as {@link #dice(Tensor, Tensor, Options, Tensor)}. */
    public static double tversky(Tensor input, Tensor target, Options o, Tensor grad) {
        Objects.requireNonNull(o, "options");
        return loss("tversky_loss", input, target, o, o.alpha(), o.beta(), o.gamma(), grad);
    }

    /**
     * An accumulator of {@link #dice} over batches of {@code classes} classes (see
     * {@link LossAccumulator}): its state is the exact per-class sums {@code Sp}, {@code St} and
     * {@code D}, so any split of the batch along N, accepted and combined in any order, gives the
     * bits of the one call over the concatenated batch. {@link LossAccumulator#count()} counts
     * positions ({@code N * d1 * ... * dk}).
     *
     * @throws IllegalArgumentException for fewer than 1 class, or options that do not fit {@code classes}
     */
    public static LossAccumulator diceAccumulator(int classes, Options o) {
        return accumulator("dice_loss", classes, o, 0.5, 0.5, 1);
    }

    /** An accumulator of {@link #jaccard}, as {@link #diceAccumulator}. */
    public static LossAccumulator jaccardAccumulator(int classes, Options o) {
        return accumulator("jaccard_loss", classes, o, 1, 1, 1);
    }

    /** An accumulator of {@link #tversky} with the options' alpha, beta and gamma, as {@link #diceAccumulator}. */
    public static LossAccumulator tverskyAccumulator(int classes, Options o) {
        Objects.requireNonNull(o, "options");
        return accumulator("tversky_loss", classes, o, o.alpha(), o.beta(), o.gamma());
    }

    private static LossAccumulator accumulator(String what, int classes, Options o, double alpha, double beta,
            double gamma) {
        Objects.requireNonNull(o, "options");
        if (classes < 1 || classes > (Integer.MAX_VALUE - 8) / 3) {
            throw new IllegalArgumentException(what + ": an accumulator needs 1 to " + (Integer.MAX_VALUE - 8) / 3
                    + " classes, got " + classes);
        }
        if (o.mode() == SegmentationMode.BINARY && classes != 1) {
            throw new IllegalArgumentException(what + ": mode binary has 1 class, got " + classes);
        }
        checkClasses(what, o, classes);
        // the state's identity: what the sums are of (the finishing options only read them)
        String name = what + " (" + o.mode().name().toLowerCase(java.util.Locale.ROOT) + ", C = " + classes
                + (o.fromLogits() ? ", from logits" : ", probabilities")
                + (o.ignoreIndex() != null ? ", ignore_index " + o.ignoreIndex() : "") + ")";
        return new LossAccumulator(name, 3 * classes,
                (input, target) -> loss(what, input, target, o, alpha, beta, gamma, null),
                sums -> {
                    double[] totals = new double[3 * classes];
                    for (int j = 0; j < totals.length; j++) {
                        totals[j] = sums.sum(j).get();
                    }
                    double value = finish(o, alpha, beta, gamma, classes, totals, null);
                    return Problems.canonical(value);
                });
    }

    private static double loss(String what, Tensor input, Tensor target, Options o, double alpha, double beta,
            double gamma, Tensor grad) {
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(o, "options");
        long[] in = input.dims();
        long c = Checks.segmentation(what, o.mode(), input, target);
        if (c > (Integer.MAX_VALUE - 8) / 3) { // three sums per class in one double array
            throw new IllegalArgumentException(what + ": " + c + " classes is too many (at most " + (Integer.MAX_VALUE - 8) / 3 + ")");
        }
        checkClasses(what, o, c);
        LossAccumulator.Sums batch = Problems.SINK.get();
        if (batch != null && batch.sums.length != 3 * c) {
            throw new IllegalArgumentException(what + ": a batch of C = " + c + " classes for an accumulator of "
                    + batch.sums.length / 3 + " classes (input shape " + Arrays.toString(in) + ")");
        }
        Checks.outputs(what, Reduction.MEAN, null, null, in, grad, input, target, null, null);
        int threads = Checks.threads(o.threads(), input.numel(), input, target, grad, null, null, null);
        boolean f64 = input.dtype() == DType.FLOAT64;
        long n = in[0];
        long s = c == 0 || n == 0 ? 0 : input.numel() / (n * c);
        ClassSumOp op = o.mode() == SegmentationMode.MULTICLASS
                ? (o.fromLogits() ? ClassSumOp.SOFTMAX : ClassSumOp.INDEX_PROB)
                : (o.fromLogits() ? ClassSumOp.SIGMOID : ClassSumOp.DENSE_PROB);
        ClassSumProblem p = ClassSumProblem.forThisThread()
                .kernels(Problems.kernels(f64, null, grad))
                .op(op)
                .input(input.segment(), f64, n, c, s)
                .target(target.segment(), targetType(target.dtype()))
                .ignore(o.ignoreIndex() != null, o.ignoreIndex() == null ? 0 : o.ignoreIndex())
                .grad(grad == null ? null : grad.segment(), grad != null && grad.dtype() == DType.FLOAT64);
        try {
            int width = (int) (3 * c);
            long positions = n * s;
            long grain = Parallel.grain(c);
            // the sums pass goes by tiles of positions (ClassSumProblem.TILE), a chunk about a grain of positions
            ExactSum[] exact = classSums(what, o, p, p.tiles(), Math.max(1, grain / Math.max(1, Math.min(ClassSumProblem.TILE, s))),
                    threads, width);
            LossAccumulator.Sums sink = Problems.SINK.get();
            if (sink != null) { // an accumulator's batch: its exact sums, not their loss
                for (int j = 0; j < width; j++) {
                    sink.sum(j).add(exact[j]);
                }
                sink.count += positions;
                return 0;
            }
            double[] sums = p.totals(width);
            for (int j = 0; j < width; j++) {
                sums[j] = exact[j].get();
            }
            double value = finish(o, alpha, beta, gamma, (int) c, sums, grad == null ? null : p);
            if (grad != null) {
                Parallel.sum(positions, grain, threads, ClassSumProblem::gradChunk, p);
            }
            return Problems.canonical(value);
        } finally {
            p.clear();
        }
    }

    /**
     * The exact per-class sums {@code [Sp | St | D]} over every position, by tiles (each the exact
     * sum of what the kernel gives per tile, rounded once when read): the same for any split of
     * the batch along N and any thread count.
     */
    private static ExactSum[] classSums(String what, Options o, ClassSumProblem p, long tiles, long grain,
            int threads, int width) {
        long chunks = tiles <= 0 ? 1 : (tiles + grain - 1) / grain;
        ExactSum[][] rows = p.exactSums((int) Math.max(1, Math.min(Math.max(1, threads), chunks)), width);
        try {
            Parallel.exactSums(tiles, grain, threads, width, ClassSumProblem::sumsChunk, p, rows);
        } catch (Targets.BadTarget e) {
            throw new IllegalArgumentException(what + ": target " + e.value + " is out of bounds at flat index "
                    + e.position + " of the target (classes 0.." + (p.c() - 1)
                    + (o.ignoreIndex() != null ? ", ignore_index " + o.ignoreIndex() : ", no ignore_index") + ")");
        }
        return rows[0];
    }

    /**
     * The per-class formula on the global sums {@code [Sp | St | D]}, and the aggregate; with a
     * problem, also the gradient's coefficients {@code dL/dp = a A_k + B_k} (a = dTP/dp).
     */
    private static double finish(Options o, double alpha, double beta, double gamma, int c, double[] sums,
            ClassSumProblem grad) {
        final double smooth = o.smooth(), eps = o.eps();
        final int[] classes = o.classes;
        final double[] w = o.classWeights;
        final int kept = classes == null ? c : classes.length;
        double total = 0, wsum = 0;
        for (int j = 0; j < kept; j++) {
            int k = classes == null ? j : classes[j];
            double wk = w == null ? 1 : w[k];
            total += classLoss(o, alpha, beta, sums, c, k) * wk;
            wsum += wk;
        }
        final double agg = w == null ? total / kept : total / wsum;
        final double value = gamma == 1 ? agg : Math.pow(agg, gamma);
        if (grad != null) {
            double[] a = grad.coefA(), b = grad.coefB();
            Arrays.fill(a, 0, c, 0.0);
            Arrays.fill(b, 0, c, 0.0);
            // gamma agg^(gamma - 1), and 0 at agg = 0 where autograd gives gamma 0^(gamma-1) * 0 = NaN for gamma < 1
            double dAgg = gamma == 1 ? 1 : agg == 0 ? 0 : gamma * Math.pow(agg, gamma - 1);
            for (int j = 0; j < kept; j++) {
                int k = classes == null ? j : classes[j];
                double up = dAgg * (w == null ? 1.0 / kept : w[k] / wsum);
                double sp = sums[k], st = sums[c + k], d = sums[2 * c + k];
                double tp = (sp + st - d) / 2, fp = sp - tp, fn = st - tp;
                double num = tp + smooth, den = tp + alpha * fp + beta * fn + smooth;
                double score = num / Math.max(den, eps);
                double present = st > 0 ? 1 : 0;
                // dl/dscore: -1, or -1/score where the log's clamp is inactive (clamp_min passes at score >= eps)
                double dl = o.logLoss() ? (score >= eps ? -1 / score : 0) : -1;
                double g = up * present * dl;
                if (den < eps) { // clamped: score = num / eps
                    a[k] += g / eps;
                } else {
                    double den2 = den * den;
                    a[k] += g * ((den - num * (1 - alpha - beta)) / den2);
                    b[k] += g * (-num * alpha / den2);
                }
            }
        }
        return value;
    }

    /** Class k's loss, 0 (times the loss: NaN stays) where the class is absent. */
    private static double classLoss(Options o, double alpha, double beta, double[] sums, int c, int k) {
        double sp = sums[k], st = sums[c + k], d = sums[2 * c + k];
        double tp = (sp + st - d) / 2, fp = sp - tp, fn = st - tp;
        double score = (tp + o.smooth()) / Math.max(tp + alpha * fp + beta * fn + o.smooth(), o.eps());
        double l = o.logLoss() ? -Math.log(Math.max(score, o.eps())) : 1 - score;
        return l * (st > 0 ? 1 : 0);
    }

    private static void checkClasses(String what, Options o, long c) {
        int[] classes = o.classes;
        if (classes != null) {
            for (int j = 0; j < classes.length; j++) {
                if (classes[j] < 0 || classes[j] >= c) {
                    throw new IllegalArgumentException(what + ": classes[" + j + "] = " + classes[j]
                            + " is out of range (classes 0.." + (c - 1) + ")");
                }
            }
        }
        if (o.classWeights != null && o.classWeights.length != c) {
            throw new IllegalArgumentException(what + ": class_weights must have C = " + c + " entries, got "
                    + o.classWeights.length);
        }
    }

    private static int targetType(DType t) {
        return switch (t) {
            case FLOAT32 -> ClassSumProblem.T_F32;
            case FLOAT64 -> ClassSumProblem.T_F64;
            case INT64 -> ClassSumProblem.T_I64;
            case INT32 -> ClassSumProblem.T_I32;
            case UINT8, BOOL -> ClassSumProblem.T_U8;
        };
    }
}
