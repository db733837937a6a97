package dev.vecloss.internal;

import java.lang.foreign.MemorySegment;

/**
 * One count of class labels (the counting family of LOSSES.md 9): a flat run of integer labels
 * ({@code width}-byte integers: 8, 4, or 1 unsigned), the class count {@code C}, and the
 * {@code ignore_index} whose labels are skipped. {@link LossKernels#counts} adds the number of
 * labels of each class in a range into a row of {@code C} longs; every other label outside
 * {@code [0, C)} is an error ({@link Targets.BadTarget}, the lowest index of the range).
 *
 * <p>Filled by the public API after its checks, as {@link RowProblem}: this thread's instance
 * ({@link #forThisThread()}), cleared when the call ends; worker threads only read it.
 */
public final class CountProblem {
    private static final ThreadLocal<CountProblem> PER_THREAD = ThreadLocal.withInitial(CountProblem::new);

    private LossKernels kernels;
    private MemorySegment labels;
    private int width;
    private long length;
    private int c;
    private long ignoreIndex;
    private long imageSize;

    private CountProblem() {}

    /** A problem of its own, for tests and benchmarks of the kernels; the API uses {@link #forThisThread()}. */
    public static CountProblem create() {
        return new CountProblem();
    }

    /** This thread's reusable instance, to fill and then {@link #clear()}. */
    public static CountProblem forThisThread() {
        return PER_THREAD.get();
    }

    /** The kernels that evaluate it (chosen on the calling thread, read by the workers). */
    public CountProblem kernels(LossKernels k) {
        this.kernels = k;
        return this;
    }

    /**
     * The labels: {@code n} integers of {@code bytes} bytes each (8, 4, or 1 unsigned), counted
     * into {@code classes} classes; labels equal to {@code ignore} are skipped.
     */
    public CountProblem labels(MemorySegment segment, int bytes, long n, int classes, long ignore) {
        if (bytes != 8 && bytes != 4 && bytes != 1) {
            throw new IllegalArgumentException("labels of " + bytes + " bytes");
        }
        if (classes < 1) {
            throw new IllegalArgumentException("classes must be at least 1, got " + classes);
        }
        this.labels = segment;
        this.width = bytes;
        this.length = n;
        this.c = classes;
        this.ignoreIndex = ignore;
        return this;
    }

    /**
     * The counts of {@code [from, to)} added into {@code out[off, off + C)} by this problem's
     * kernels: the chunk function of {@link Parallel#counts}.
     */
    public static void chunk(CountProblem p, long from, long to, long[] out, int off) {
        p.kernels.counts(p, from, to, out, off);
    }

    /**
     * The labels per image when they are counted image by image ({@link ImageCounts}, for the
     * per-image pixel totals of median-frequency weights); set by {@link ImageCounts#count}.
     */
    public CountProblem imageSize(long size) {
        this.imageSize = size;
        return this;
    }

    /** Drops the reference to the caller's memory. */
    public void clear() {
        kernels = null;
        labels = null;
        imageSize = 0;
    }

    public LossKernels kernels() { return kernels; }
    public MemorySegment labels() { return labels; }

    /** Whether the SIMD kernels can load the labels with the Vector API ({@link Mem#vectorLoadable}). */
    public boolean vectorLoadable() {
        return Mem.vectorLoadable(labels, width, false);
    }
    /** Bytes per label: 8 (int64), 4 (int32) or 1 (uint8). */
    public int width() { return width; }
    /** The number of labels. */
    public long length() { return length; }
    public int c() { return c; }
    public long ignoreIndex() { return ignoreIndex; }
    /** The labels per image ({@link #imageSize(long)}); 0 until set. */
    public long imageSize() { return imageSize; }
}
