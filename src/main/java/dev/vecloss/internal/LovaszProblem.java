package dev.vecloss.internal;

import java.lang.foreign.MemorySegment;

/**
 * One evaluation of smp's {@code LovaszLoss} (LOSSES.md 8.3), checked and laid out for the
 * kernels: the input read as {@code (N, C, S)}, its labels already read into {@link #labels()}
 * (one int per position for Lovász-softmax, the class or -1 where ignored; one per element for
 * the hinge, 0, 1 or -1), and the per-group class counts. A group is an image ({@code per_image})
 * or the whole batch.
 *
 * <p>The work runs in three phases ({@link Phase}), each a {@link Parallel} reduction whose items
 * are written by one task only, so that the result does not depend on the thread count:
 * <ol>
 *   <li>{@link Phase#STATS} (softmax only), over positions: the maximum and the reciprocal of the
 *       sum of exponentials at each position, into the kernel's own arrays;</li>
 *   <li>{@link Phase#TASK}, over tasks: one task per (group, class) for Lovász-softmax, one per
 *       group for the hinge. A task gathers its errors, sorts them (radix sort, descending,
 *       index order for ties; without a gradient the SIMD kernels sort no indices, ties in any
 *       order, which the loss, summed per run of ties, does not see), walks them once for the
 *       Jaccard gradient by prefix counts, stores
 *       its loss in {@link #taskLoss()} and, with a gradient, writes the gradient of the returned
 *       value with respect to its errors' inputs (softmax: with respect to the probabilities, staged
 *       in the gradient tensor);</li>
 *   <li>{@link Phase#BACKWARD} (softmax with a gradient), over positions: the softmax's chain rule
 *       {@code dz_c = p_c (G_c - sum_k p_k G_k)} in place.</li>
 * </ol>
 *
 * <p>Filled on the calling thread by the public API ({@link #forThisThread()}), read by workers,
 * and {@link #clear()}ed at the end. Its arrays only grow, so a thread's repeated calls allocate
 * nothing once it has seen the largest shape.
 */
public final class LovaszProblem {
    private static final ThreadLocal<LovaszProblem> PER_THREAD = ThreadLocal.withInitial(LovaszProblem::new);

    /** The phases of an evaluation, in order. */
    public enum Phase { STATS, TASK, BACKWARD }

    /**
     * The largest group (positions of a softmax group, elements of a hinge group) the kernels
     * take: a sorted element carries its index within the group and its label in one int.
     */
    public static final long MAX_GROUP = 1L << 30;

    private LossKernels kernels;
    private boolean softmax;
    private MemorySegment input;
    private boolean f64;
    private long n, c, s;
    private boolean perImage;
    private MemorySegment grad;
    private boolean gradF64;
    private int[] labels = new int[0];
    /** Per group and class (softmax) or per group (hinge): the number of foreground labels. */
    private long[] counts = new long[0];
    /** Per group: 1 / (number of groups * classes present) (softmax) or 1 / groups (hinge). */
    private double[] scale = new double[0];
    private double[] taskLoss = new double[0];
    /** The kernels' per-position softmax statistics: maxima and reciprocal sums. */
    private float[] maxF = new float[0];
    private float[] invF = new float[0];
    private double[] maxD = new double[0];
    private double[] sumD = new double[0];
    /** The exact sum of the images' losses (per_image), kept so that a call allocates nothing. */
    private final ExactSum imageLosses = new ExactSum();

    private LovaszProblem() {}

    /** A problem of its own, for tests and benchmarks of the kernels. */
    public static LovaszProblem create() {
        return new LovaszProblem();
    }

    /** This thread's reusable instance. */
    public static LovaszProblem forThisThread() {
        return PER_THREAD.get();
    }

    /** The chunk function of {@link Parallel} for the softmax statistics. */
    public static double stats(LovaszProblem p, long from, long to) {
        return p.kernels.lovasz(Phase.STATS, p, from, to);
    }

    /** The chunk function of {@link Parallel} for the tasks. */
    public static double task(LovaszProblem p, long from, long to) {
        return p.kernels.lovasz(Phase.TASK, p, from, to);
    }

    /** The chunk function of {@link Parallel} for the softmax backward pass. */
    public static double backward(LovaszProblem p, long from, long to) {
        return p.kernels.lovasz(Phase.BACKWARD, p, from, to);
    }

    /**
     * Sets the kernels, the input {@code (N, C, S)}, the kind of loss and the gradient to write
     * (or null), and sizes the label, count and task arrays (the caller fills labels and counts)
     * and the softmax statistics of the kernels that will run: double for the scalar kernels,
     * float for the Panama kernels on float32 problems.
     */
    public LovaszProblem setUp(LossKernels k, boolean isSoftmax, MemorySegment x, boolean isF64, long batch,
            long classes, long spatial, boolean images, MemorySegment g, boolean isGradF64) {
        this.kernels = k;
        this.softmax = isSoftmax;
        this.input = x;
        this.f64 = isF64;
        this.n = batch;
        this.c = classes;
        this.s = spatial;
        this.perImage = images;
        this.grad = g;
        this.gradF64 = isGradF64;
        long labelCount = isSoftmax ? batch * spatial : batch * classes * spatial;
        if (labels.length < labelCount) {
            labels = new int[Math.toIntExact(labelCount)];
        }
        int tasks = Math.toIntExact(tasks());
        if (counts.length < tasks) {
            counts = new long[tasks];
            taskLoss = new double[tasks];
        }
        if (scale.length < groups()) {
            scale = new double[Math.toIntExact(groups())];
        }
        java.util.Arrays.fill(counts, 0, tasks, 0);
        java.util.Arrays.fill(taskLoss, 0, tasks, 0);
        if (isSoftmax) {
            int positions = Math.toIntExact(batch * spatial);
            if (k instanceof ScalarKernels || !simd()) {
                if (maxD.length < positions) {
                    maxD = new double[positions];
                    sumD = new double[positions];
                }
            } else if (maxF.length < positions) {
                maxF = new float[positions];
                invF = new float[positions];
            }
        }
        return this;
    }

    /**
     * Whether the SIMD kernels handle this problem: input and gradient float32, and in segments
     * the Vector API loads from ({@link Mem#vectorLoadable}). The Panama kernels leave any other to
     * the scalar ones, whose softmax statistics {@link #setUp} then sizes.
     */
    public boolean simd() {
        return !f64 && !(grad != null && gradF64) && Mem.vectorLoadable(input, 4, true) && Mem.vectorLoadable(grad, 4, true);
    }

    /** Drops the references to the caller's memory. */
    public void clear() {
        kernels = null;
        input = null;
        grad = null;
    }

    /** The number of groups: N with per_image, else 1. */
    public long groups() {
        return perImage ? n : 1;
    }

    /** The number of tasks: groups times classes (softmax) or groups (hinge). */
    public long tasks() {
        return softmax ? groups() * c : groups();
    }

    /** Softmax groups: positions per group; hinge groups: elements per group. */
    public long groupSize() {
        long total = softmax ? n * s : n * c * s;
        return perImage ? (n == 0 ? 0 : total / n) : total;
    }

    public LossKernels kernels() { return kernels; }
    public boolean softmax() { return softmax; }
    public MemorySegment input() { return input; }

    public boolean f64() { return f64; }
    public long n() { return n; }
    public long c() { return c; }
    public long s() { return s; }
    public boolean perImage() { return perImage; }
    public MemorySegment grad() { return grad; }
    public boolean gradF64() { return gradF64; }
    /** Labels: per position (softmax: the class, -1 if ignored) or per element (hinge: 0, 1, -1). */
    public int[] labels() { return labels; }
    /** Foreground counts: index {@code group * C + class} (softmax) or {@code group} (hinge). */
    public long[] counts() { return counts; }
    /** The gradient's factor per group. */
    public double[] scale() { return scale; }
    /** Each task's loss, written by the task. */
    public double[] taskLoss() { return taskLoss; }
    /** A per-thread exact sum for the images' losses (per_image); the caller clears it. */
    public ExactSum imageLosses() { return imageLosses; }
    public float[] maxF() { return maxF; }
    public float[] invF() { return invF; }
    public double[] maxD() { return maxD; }
    public double[] sumD() { return sumD; }
}
