package dev.vecloss.internal;

import java.lang.foreign.MemorySegment;

/**
 * One cross-entropy or NLL evaluation, validated and laid out for the kernels: the logits of
 * position {@code (n, s)} and class {@code c} sit at element {@code n*C*S + c*S + s}, so the
 * class axis is strided by {@code S} (S = 1 for an {@code (N, C)} input). Positions are
 * numbered {@code p = n*S + s}; kernels take a range {@code [from, to)} of them.
 *
 * <p>Filled by the public API after every check has passed: kernels trust it. The API reuses
 * one instance per thread ({@link #forThisThread()}) so that a reduced call allocates nothing;
 * it is filled before the call's parallel section starts and cleared after it ends, so the
 * workers only ever read it. Segments are
 * little-endian. {@code input}, {@code weight}, {@code probTarget}, {@code losses} and
 * {@code grad} hold float32 unless {@code f64} is set ({@code losses} and {@code grad} may
 * independently be float64, see {@link #lossesF64} and {@link #gradF64}).
 *
 * @param input        logits (CE) or log-probabilities (NLL), shape (N, C, S)
 * @param f64          whether {@code input}, {@code weight} and {@code probTarget} are float64
 * @param n            batch size N
 * @param c            class count C
 * @param s            spatial size S (product of d1..dk, 1 for (N, C))
 * @param target       index targets (shape (N, S)), or {@code null} for probability targets
 * @param targetKind   how to read {@code target}: 8, 4 or 1 bytes per element (int64, int32, uint8/bool)
 * @param probTarget   probability targets (same shape as input), or {@code null}
 * @param weight       per-class weights (C), or {@code null} for all ones
 * @param weightSum    the sum of all C weights (C when unweighted)
 * @param ignoreIndex  targets equal to this are skipped
 * @param eps          label smoothing, 0 when off
 * @param gradScale    the factor sigma of the gradient (1, or 1/denominator for mean)
 * @param losses       per-position losses to write (shape (N, S)), or {@code null}
 * @param lossesF64    whether {@code losses} is float64
 * @param grad         gradient to write (input's shape), or {@code null}
 * @param gradF64      whether {@code grad} is float64
 */
public final class CeProblem {
    private static final ThreadLocal<CeProblem> PER_THREAD = ThreadLocal.withInitial(CeProblem::new);

    private MemorySegment input;
    private boolean f64;
    private long n, c, s;
    private MemorySegment target;
    private int targetKind;
    private MemorySegment probTarget;
    private MemorySegment weight;
    private double weightSum;
    private long ignoreIndex;
    private double eps;
    private double gradScale;
    private MemorySegment losses;
    private boolean lossesF64;
    private MemorySegment grad;
    private boolean gradF64;

    private CeProblem() {}

    /** A problem of its own (tests, benchmarks); see the class comment for the parameters. */
    public CeProblem(MemorySegment input, boolean f64, long n, long c, long s,
            MemorySegment target, int targetKind, MemorySegment probTarget,
            MemorySegment weight, double weightSum, long ignoreIndex, double eps, double gradScale,
            MemorySegment losses, boolean lossesF64, MemorySegment grad, boolean gradF64) {
        set(input, f64, n, c, s, target, targetKind, probTarget, weight, weightSum, ignoreIndex, eps, gradScale,
                losses, lossesF64, grad, gradF64);
    }

    /** This thread's reusable instance, to {@link #set} and then {@link #clear}. */
    public static CeProblem forThisThread() {
        return PER_THREAD.get();
    }

    /** Fills every field; returns this. */
    public CeProblem set(MemorySegment input, boolean f64, long n, long c, long s,
            MemorySegment target, int targetKind, MemorySegment probTarget,
            MemorySegment weight, double weightSum, long ignoreIndex, double eps, double gradScale,
            MemorySegment losses, boolean lossesF64, MemorySegment grad, boolean gradF64) {
        this.input = input;
        this.f64 = f64;
        this.n = n;
        this.c = c;
        this.s = s;
        this.target = target;
        this.targetKind = targetKind;
        this.probTarget = probTarget;
        this.weight = weight;
        this.weightSum = weightSum;
        this.ignoreIndex = ignoreIndex;
        this.eps = eps;
        this.gradScale = gradScale;
        this.losses = losses;
        this.lossesF64 = lossesF64;
        this.grad = grad;
        this.gradF64 = gradF64;
        return this;
    }

    /** Sets the gradient scale, known after the target pre-pass. */
    public void setGradScale(double scale) {
        this.gradScale = scale;
    }

    /** Drops the references to the caller's memory. */
    public void clear() {
        input = target = probTarget = weight = losses = grad = null;
    }

    public MemorySegment input() { return input; }
    public boolean f64() { return f64; }
    public long n() { return n; }
    public long c() { return c; }
    public long s() { return s; }
    public MemorySegment target() { return target; }
    public int targetKind() { return targetKind; }
    public MemorySegment probTarget() { return probTarget; }
    public MemorySegment weight() { return weight; }
    public double weightSum() { return weightSum; }
    public long ignoreIndex() { return ignoreIndex; }
    public double eps() { return eps; }
    public double gradScale() { return gradScale; }
    public MemorySegment losses() { return losses; }
    public boolean lossesF64() { return lossesF64; }
    public MemorySegment grad() { return grad; }
    public boolean gradF64() { return gradF64; }

    /** The number of positions, N*S. */
    public long positions() {
        return n * s;
    }

    /** Whether this is the plain float32 case the SIMD kernels handle. */
    public boolean allFloat32() {
        return !f64 && !lossesF64 && !gradF64;
    }
}
