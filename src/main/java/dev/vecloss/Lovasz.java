package dev.vecloss;

import dev.vecloss.internal.ExactSum;
import dev.vecloss.internal.LovaszProblem;
import dev.vecloss.internal.Mem;
import dev.vecloss.internal.Parallel;
import java.util.Arrays;
import java.util.Objects;

/**
 * segmentation_models_pytorch's {@code LovaszLoss} (LOSSES.md 8.3): the Lovász-softmax loss
 * (multiclass mode, {@code classes='present'}) and the Lovász hinge (binary and multilabel
 * modes), a convex surrogate of the Jaccard loss (Berman et al. 2018).
 *
 * <h2>Shapes</h2>
 * The input is {@code (N, C, d1, ..., dk)} (k &gt;= 0), float32 or float64, logits:
 * <ul>
 *   <li>{@link SegmentationMode#MULTICLASS}: {@code C >= 2}; the target holds class indices
 *       {@code (N, d1, ..., dk)}, int64, int32, uint8 or bool, in {@code [0, C)} or equal to the
 *       ignore index;</li>
 *   <li>{@link SegmentationMode#BINARY}: {@code C == 1}; the target is {@code (N, 1, d1, ...)} or
 *       {@code (N, d1, ...)};</li>
 *   <li>{@link SegmentationMode#MULTILABEL}: the target has the input's shape.</li>
 * </ul>
 * Binary and multilabel targets are 0 or 1 (or the ignore index), of any floating or integer
 * dtype. Any other label is an error naming its value and flat index.
 *
 * <h2>Formulas</h2>
 * For a 0/1 vector {@code g} sorted by decreasing error, with {@code G = sum g}:
 * {@code J_k = 1 - (G - sum_{j<=k} g_j) / (G + sum_{j<=k} (1 - g_j))},
 * {@code Delta_k = J_k - J_(k-1)} ({@code J_0 = 0}).
 * <ul>
 *   <li>Hinge: the elements of the batch (or of each image with {@code perImage}), all channels
 *       flattened into one vector (multilabel is one hinge, not one per class), without the
 *       ignored ones; {@code e = 1 - x (2y - 1)}; the loss is {@code sum_k max(e_k, 0) Delta_k}.</li>
 *   <li>Softmax: {@code p = softmax(x)} over the class axis (always: smp ignores
 *       {@code from_logits}); over the non-ignored positions of the batch (or of each image),
 *       for each class {@code c} present among the labels, {@code e = |[y == c] - p_c|} and
 *       {@code l_c = sum_k e_k Delta_k}; the loss is the mean of {@code l_c} over the present
 *       classes, 0 when none is present.</li>
 *   <li>{@code perImage}: the mean of the images' losses (their exact sum, rounded once, over N:
 *       the same bits however the images are batched, see {@link #accumulator}); an image whose
 *       labels are all ignored has loss 0 and counts in the mean (LOSSES.md 12: smp returns an
 *       empty tensor or fails).</li>
 * </ul>
 * Errors are sorted with ties in index order (a stable sort). The loss does not depend on the
 * order of ties, but its gradient does: PyTorch's {@code torch.sort} is stable on CPU only for up
 * to 16 elements, so for longer vectors with tied errors of different labels the gradient may
 * differ from smp's, which then depends on {@code std::sort}'s order.
 *
 * <h2>Gradient</h2>
 * With respect to the input, scaled as the means above: hinge {@code -(2y - 1) Delta_k} where
 * {@code e > 0}, 0 elsewhere and at ignored elements; softmax {@code dL/dp_c = -sgn([y == c] - p_c)
 * Delta_k / K} (0 where the error is 0), then the softmax's chain rule.
 *
 * <h2>Special values and cost</h2>
 * A NaN logit makes the loss NaN (a NaN error sorts first, as in PyTorch). Each class of each
 * group is sorted: the work is about {@code N * C * S} radix-sorted keys. Per thread, sort buffers
 * for the largest group seen are allocated once and kept (16 bytes per element of a group, 24 on
 * the scalar kernels); the labels are read into an int array of the calling thread first (4 bytes
 * per position, or per element for the hinge), also kept. Groups are limited to 2^30 elements and
 * a call to 2^31 - 9 labels. Results are deterministic: the same bits for any
 * {@link Options#threads()}.
 */
public final class Lovasz {
    private Lovasz() {}

    /**
     * Options of {@code LovaszLoss}, with smp's defaults.
     *
     * @param mode        required
     * @param perImage    the mean over images of each image's loss (default false: one loss over
     *                    the batch)
     * @param ignoreIndex labels equal to this are left out, or {@code null} for none (default)
     * @param fromLogits  accepted and unused, as in smp: the hinge always reads logits and
     *                    multiclass always applies the softmax
     * @param threads     threads to use; 0 (default) means all cores for large inputs
     */
    public record Options(SegmentationMode mode, boolean perImage, Long ignoreIndex, boolean fromLogits, int threads) {
        public Options {
            Objects.requireNonNull(mode, "mode");
            Checks.threadCount(threads);
        }

        /** smp's defaults for {@code mode}: per_image false, no ignore_index, from_logits true, all cores. */
        public static Options defaults(SegmentationMode mode) {
            return new Options(mode, false, null, true, 0);
        }

        public Options withPerImage(boolean b) {
            return new Options(mode, b, ignoreIndex, fromLogits, threads);
        }

        /** Labels equal to {@code i} are left out; {@code null} for none. */
        public Options withIgnoreIndex(Long i) {
            return new Options(mode, perImage, i, fromLogits, threads);
        }

        public Options withFromLogits(boolean b) {
            return new Options(mode, perImage, ignoreIndex, b, threads);
        }

        public Options withThreads(int t) {
            return new Options(mode, perImage, ignoreIndex, fromLogits, t);
        }
    }

    /** The loss. */
    public static double lovaszLoss(Tensor input, Tensor target, Options options) {
        return lovaszLoss(input, target, options, null);
    }

    /**
     * The loss and its gradient.
     *
     * @param grad the gradient of the loss with respect to {@code input} (float32 or float64, the
     *             input's shape), or {@code null}
     * @throws IllegalArgumentException for an invalid shape, dtype, mode or label; nothing has
     *         been written then
     */
    public static double lovaszLoss(Tensor input, Tensor target, Options o, Tensor grad) {
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(o, "options");
        final boolean softmax = o.mode() == SegmentationMode.MULTICLASS;
        final String what = switch (o.mode()) { // constants: a call allocates nothing
            case BINARY -> "lovasz_loss (binary)";
            case MULTICLASS -> "lovasz_loss (multiclass)";
            case MULTILABEL -> "lovasz_loss (multilabel)";
        };
        if (o.mode() == SegmentationMode.MULTICLASS && input.rank() >= 2 && input.dims()[1] < 2) {
            throw new IllegalArgumentException(what + ": input shape " + Arrays.toString(input.dims()) + " has C = "
                    + input.dims()[1] + " classes; Lovász-softmax needs at least 2 (binary mode takes one channel)");
        }
        Checks.segmentation(what, o.mode(), input, target);
        long[] in = input.dims();
        long n = in[0], c = in[1], s = Layout.spatial(in);
        long groupSize = (softmax ? n * s : n * c * s) / (o.perImage() && n > 0 ? n : 1);
        if (groupSize > LovaszProblem.MAX_GROUP) {
            throw new IllegalArgumentException(what + ": " + groupSize + " elements in one group, more than the "
                    + LovaszProblem.MAX_GROUP + " the kernels take (per_image makes groups of one image)");
        }
        long labels = softmax ? n * s : n * c * s;
        if (labels > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(what + ": " + labels + " labels, more than the " + (Integer.MAX_VALUE - 8)
                    + " the kernels take (they are read into an int array first)");
        }
        Checks.outputs(what, Reduction.MEAN, null, null, in, grad, input, target, null, null);
        int threads = Checks.threads(o.threads(), input.numel(), input, target, grad, null, null, null);
        boolean f64 = input.dtype() == DType.FLOAT64;
        LovaszProblem p = LovaszProblem.forThisThread().setUp(Problems.kernels(f64, null, grad), softmax,
                input.segment(), f64, n, c, s, o.perImage(), grad == null ? null : grad.segment(),
                grad != null && grad.dtype() == DType.FLOAT64);
        try {
            if (softmax) {
                readClassLabels(what, p, target, o.ignoreIndex());
            } else {
                readBinaryLabels(what, p, target, o.ignoreIndex());
            }
            long positions = n * s;
            if (softmax) {
                Parallel.sum(positions, Parallel.grain(c), threads, LovaszProblem::stats, p);
                if (grad != null) {
                    grad.segment().fill((byte) 0); // classes no task writes: absent, ignored, error 0
                }
            }
            Parallel.sum(p.tasks(), 1, threads, LovaszProblem::task, p);
            if (softmax && grad != null) {
                Parallel.sum(positions, Parallel.grain(c), threads, LovaszProblem::backward, p);
            }
            if (o.perImage()) {
                ExactSum images = imageLosses(p);
                LossAccumulator.Sums sink = Problems.SINK.get();
                if (sink != null) { // an accumulator's batch: the exact sum of its images' losses
                    sink.sum(0).add(images);
                    sink.count += n;
                    return 0;
                }
                return perImageMean(images, n);
            }
            double loss = combine(p);
            return Problems.canonical(loss);
        } finally {
            p.clear();
        }
    }

    /**
     * An accumulator of the per_image loss over batches of {@code classes} classes (see
     * {@link LossAccumulator}): its state is the exact sum of the images' losses and the number
     * of images, so any split of the batch along N, accepted and combined in any order, gives the
     * bits of the one call over the concatenated batch (whose per_image mean is that same exact
     * sum over N). {@link LossAccumulator#count()} counts images.
     *
     * @throws IllegalArgumentException without per_image: the loss over the whole batch sorts all
     *         of its errors together, which no finite state of earlier batches can be merged into;
     *         or for a class count that does not fit the mode
     */
    public static LossAccumulator accumulator(int classes, Options o) {
        Objects.requireNonNull(o, "options");
        String mode = o.mode().name().toLowerCase(java.util.Locale.ROOT);
        if (!o.perImage()) {
            throw new IllegalArgumentException("lovasz_loss (" + mode + "): an accumulator needs per_image: without it the "
                    + "loss sorts the errors of the whole batch together, and no finite state of the batches seen so far "
                    + "can be merged with a new one (use perImage, or one call over the whole batch)");
        }
        if (classes < 1 || (o.mode() == SegmentationMode.MULTICLASS && classes < 2)
                || (o.mode() == SegmentationMode.BINARY && classes != 1)) {
            throw new IllegalArgumentException("lovasz_loss (" + mode + "): an accumulator of " + classes
                    + " classes (binary has 1, multiclass at least 2)");
        }
        String name = "lovasz_loss (" + mode + ", per_image, C = " + classes
                + (o.ignoreIndex() != null ? ", ignore_index " + o.ignoreIndex() : "") + ")";
        return new LossAccumulator(name, 1, (input, target) -> {
            Objects.requireNonNull(input, "input");
            if (input.rank() >= 2 && input.dims()[1] != classes) {
                throw new IllegalArgumentException(name + ": a batch of C = " + input.dims()[1]
                        + " classes (input shape " + Arrays.toString(input.dims()) + ") for an accumulator of "
                        + classes);
            }
            lovaszLoss(input, target, o, null);
        }, sums -> perImageMean(sums.sum(0), sums.count));
    }

    /** The per_image mean: the exact sum of the images' losses over their number, 0 for none. */
    private static double perImageMean(ExactSum images, long n) {
        if (n == 0) {
            return 0; // smp's empty mean, as combine gives for no group
        }
        double loss = images.get() / n;
        return Problems.canonical(loss);
    }

    /**
     * Each image's loss ({@link #combine}'s per-group value), summed exactly into the problem's
     * {@link LovaszProblem#imageLosses()}: a sum that does not depend on how the images were
     * batched.
     */
    private static ExactSum imageLosses(LovaszProblem p) {
        ExactSum sum = p.imageLosses();
        sum.clear();
        int groups = (int) p.groups();
        for (int g = 0; g < groups; g++) {
            sum.add(groupLoss(p, g));
        }
        return sum;
    }

    /** Group g's loss: the classes' losses summed in class order over their count (softmax), or the task's (hinge). */
    private static double groupLoss(LovaszProblem p, int g) {
        if (!p.softmax()) {
            return p.taskLoss()[g];
        }
        int c = (int) p.c();
        int k = 0;
        double a = 0;
        for (int cls = 0; cls < c; cls++) {
            if (p.counts()[g * c + cls] > 0) {
                double l = p.taskLoss()[g * c + cls];
                a = k == 0 ? l : a + l;
                k++;
            }
        }
        return k <= 1 ? a : a / k;
    }

    /**
     * smp's means, in its order: per group the classes' losses summed in class order and divided
     * by their count (not divided when there is one), then the groups' the same way; none gives 0.
     */
    private static double combine(LovaszProblem p) {
        int groups = (int) p.groups();
        double acc = 0;
        for (int g = 0; g < groups; g++) {
            double gl = groupLoss(p, g);
            acc = g == 0 ? gl : acc + gl;
        }
        return groups <= 1 ? acc : acc / groups;
    }

    /** Multiclass labels to {@code p.labels()} (-1 where ignored), the counts, and the scales. */
    private static void readClassLabels(String what, LovaszProblem p, Tensor target, Long ignore) {
        final int width = target.dtype().byteSize();
        final boolean ignores = ignore != null;
        final long ig = ignores ? ignore : 0;
        final long c = p.c(), s = p.s(), positions = p.n() * s;
        final int[] labels = p.labels();
        final long[] counts = p.counts();
        for (long pos = 0; pos < positions; pos++) {
            long y = Mem.getIndex(target.segment(), width, pos);
            if (ignores && y == ig) {
                labels[(int) pos] = -1;
                continue;
            }
            if (y < 0 || y >= c) {
                throw new IllegalArgumentException(what + ": target " + y + " is out of bounds at flat index " + pos
                        + " of the target (classes 0.." + (c - 1) + (ignores ? ", ignore_index " + ig : "") + ")");
            }
            labels[(int) pos] = (int) y;
            counts[(int) ((p.perImage() ? pos / s : 0) * c + y)]++;
        }
        int groups = (int) p.groups();
        for (int g = 0; g < groups; g++) {
            int k = 0;
            for (int cls = 0; cls < c; cls++) {
                k += counts[(int) (g * c + cls)] > 0 ? 1 : 0;
            }
            p.scale()[g] = k == 0 ? 0 : 1.0 / groups / k;
        }
    }

    /** Binary and multilabel labels (0, 1, -1 where ignored), the foreground counts, and the scales. */
    private static void readBinaryLabels(String what, LovaszProblem p, Tensor target, Long ignore) {
        final boolean ignores = ignore != null;
        final long ig = ignores ? ignore : 0;
        final long elements = p.n() * p.c() * p.s();
        final long size = p.groupSize();
        final int[] labels = p.labels();
        final long[] counts = p.counts();
        final boolean floating = target.dtype().isFloating();
        final boolean f64 = target.dtype() == DType.FLOAT64;
        for (long i = 0; i < elements; i++) {
            double v = floating ? Mem.get(target.segment(), f64, i) : Mem.getIndex(target.segment(), target.dtype().byteSize(), i);
            int y;
            if (ignores && v == ig) {
                y = -1;
            } else if (v == 0) {
                y = 0;
            } else if (v == 1) {
                y = 1;
                counts[(int) (p.perImage() ? i / size : 0)]++;
            } else {
                throw new IllegalArgumentException(what + ": target " + (floating ? Double.toString(v) : Long.toString((long) v))
                        + " at flat index " + i + " is not 0 or 1" + (ignores ? " (nor ignore_index " + ig + ")" : ""));
            }
            labels[(int) i] = y;
        }
        int groups = (int) p.groups();
        for (int g = 0; g < groups; g++) {
            p.scale()[g] = 1.0 / groups;
        }
    }
}
