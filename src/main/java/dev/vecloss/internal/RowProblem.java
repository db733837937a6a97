package dev.vecloss.internal;

import java.lang.foreign.MemorySegment;

/**
 * One evaluation of a row loss (the family of {@link RowOp}), checked and laid out for the
 * kernels. The scores of position {@code (n, s)} and class {@code c} sit at element
 * {@code n*C*S + c*S + s}, so the class axis is strided by {@code S} (S = 1 for an {@code (N, C)}
 * input). Positions are numbered {@code p = n*S + s}; kernels take a range {@code [from, to)}.
 *
 * <p>Filled by the public API, with the named setters below, after every check has passed:
 * kernels trust it and only read it. A reduced call must allocate nothing, so the API fills this
 * thread's instance ({@link #forThisThread()}) before the call's parallel section starts and
 * {@link #clear()}s it after it ends; worker threads only read it. A problem of one's own
 * ({@link #create()}) serves tests and benchmarks of the kernels.
 *
 * <p>Segments are little-endian; {@code input}, {@code weight} and {@code probTarget} hold float32
 * unless {@link #f64()}, {@code losses} and {@code grad} independently.
 */
public final class RowProblem extends LossProblem<RowProblem, RowOp> {
    private static final ThreadLocal<RowProblem> PER_THREAD = ThreadLocal.withInitial(RowProblem::new);

    private MemorySegment input;
    private boolean f64;
    private long n, c, s;
    private MemorySegment target;
    private int targetKind;
    private MemorySegment probTarget;
    private MemorySegment weight;
    private double weightSum;
    private long ignoreIndex;
    private boolean ignores;
    private double eps;
    private double gamma;
    private int power = 1;
    private double margin = 1;

    private RowProblem() {}

    @Override
    RowProblem self() {
        return this;
    }

    /** A problem of its own, for tests and benchmarks of the kernels; the API uses {@link #forThisThread()}. */
    public static RowProblem create() {
        return new RowProblem();
    }

    /** This thread's reusable instance, to fill and then {@link #clear()}. */
    public static RowProblem forThisThread() {
        return PER_THREAD.get();
    }

    /** {@link #op()} by this problem's kernels over positions {@code [from, to)}: the chunk function of {@link Parallel}. */
    public static void chunk(RowProblem p, long from, long to, ExactSum acc) {
        p.kernels().rows(p.op(), p, from, to, acc);
    }

    /** The scores (logits or log-probabilities), (N, C, S), float32 or float64. */
    public RowProblem input(MemorySegment x, boolean isF64, long batch, long classes, long spatial) {
        this.input = x;
        this.f64 = isF64;
        this.n = batch;
        this.c = classes;
        this.s = spatial;
        return this;
    }

    /** Index targets, (N, S), of {@code width}-byte integers (8, 4, or 1 unsigned); positions equal to {@code ignore} are skipped. */
    public RowProblem indexTarget(MemorySegment t, int width, long ignore) {
        this.target = t;
        this.targetKind = width;
        this.probTarget = null;
        this.ignoreIndex = ignore;
        this.ignores = true;
        return this;
    }

    /** Index targets with no ignore_index: every label must be in {@code [0, C)} (multi_margin_loss). */
    public RowProblem indexTargetWithoutIgnore(MemorySegment t, int width) {
        indexTarget(t, width, Long.MIN_VALUE);
        this.ignores = false;
        return this;
    }

    /** Class-probability targets of the input's shape and dtype. */
    public RowProblem probTarget(MemorySegment q) {
        this.probTarget = q;
        this.target = null;
        this.targetKind = 0;
        return this;
    }

    /** Per-class weights (C) of the input's dtype, or null for all ones; {@code sum} is their sum (C when null). */
    public RowProblem weight(MemorySegment w, double sum) {
        this.weight = w;
        this.weightSum = sum;
        return this;
    }

    /** Label smoothing, 0 when off. */
    public RowProblem labelSmoothing(double e) {
        this.eps = e;
        return this;
    }

    /** The focusing exponent of the softmax focal loss. */
    public RowProblem focal(double g) {
        this.gamma = g;
        return this;
    }

    /** multi_margin_loss's exponent {@code p} (1 or 2) and margin. */
    public RowProblem margin(int p, double m) {
        this.power = p;
        this.margin = m;
        return this;
    }

    /** Drops the references to the caller's memory and resets every option. */
    public void clear() {
        clearCommon();
        input = target = probTarget = weight = null;
        eps = 0;
        gamma = 0;
        power = 1;
        margin = 1;
    }

    public MemorySegment input() { return input; }
    public boolean f64() { return f64; }
    public long n() { return n; }
    public long c() { return c; }
    public long s() { return s; }
    public MemorySegment target() { return target; }
    public int targetKind() { return targetKind; }

    /** Whether the SIMD kernels can load every operand and output with the Vector API ({@link Mem#vectorLoadable}). */
    public boolean vectorLoadable() {
        return outputsVectorLoadable() && Mem.vectorLoadable(input, 4, true) && Mem.vectorLoadable(probTarget, 4, true)
                && Mem.vectorLoadable(weight, 4, true) && (target == null || Mem.vectorLoadable(target, targetKind, false));
    }
    public MemorySegment probTarget() { return probTarget; }
    public MemorySegment weight() { return weight; }
    public double weightSum() { return weightSum; }
    public long ignoreIndex() { return ignoreIndex; }
    /** Whether positions whose target is {@link #ignoreIndex()} are skipped. */
    public boolean ignores() { return ignores; }
    public double gamma() { return gamma; }
    public int power() { return power; }
    public double margin() { return margin; }
    public double eps() { return eps; }

    /** The number of positions, N*S. */
    public long positions() {
        return n * s;
    }

    /** Whether this is the plain float32 case the SIMD kernels handle. */
    public boolean allFloat32() {
        return !f64 && !lossesF64() && !gradF64();
    }
}
