package dev.vecloss.internal;

import java.lang.foreign.MemorySegment;

/**
 * One evaluation of an elementwise loss (the family of {@link ElementOp}), checked and laid out
 * for the kernels: input and target of one shape, {@code numel} elements in C order; a weight
 * and a pos_weight broadcast onto that shape ({@link Broadcast}: their shapes are kept, and the
 * kernels read them in runs). Kernels take a range {@code [from, to)} of elements.
 *
 * <p>Filled by the public API with the named setters after every check has passed, and
 * {@link #clear()}ed after; per thread ({@link #forThisThread()}) so that a reduced call
 * allocates nothing. Segments are little-endian float32, or float64 where {@link #f64()} (the
 * input, target, weight and pos_weight together; losses and grad independently).
 */
public final class ElementProblem extends LossProblem<ElementProblem, ElementOp> {
    private static final ThreadLocal<ElementProblem> PER_THREAD = ThreadLocal.withInitial(ElementProblem::new);

    private MemorySegment input;
    private MemorySegment target;
    private boolean f64;
    private long[] shape;
    private long numel;
    private MemorySegment weight;
    private long[] weightShape;
    private long weightRun;
    private boolean weightContiguous;
    private MemorySegment posWeight;
    private long[] posWeightShape;
    private long posWeightRun;
    private boolean posWeightContiguous;
    private boolean weightPeriodic, posWeightPeriodic;
    private double alpha = -1;
    private double gamma;
    private double margin = 1;
    private boolean zeroOneLabels;
    private boolean logTarget;

    private ElementProblem() {}

    @Override
    ElementProblem self() {
        return this;
    }

    /** A problem of its own, for tests and benchmarks of the kernels. */
    public static ElementProblem create() {
        return new ElementProblem();
    }

    /** This thread's reusable instance, to fill and then {@link #clear()}. */
    public static ElementProblem forThisThread() {
        return PER_THREAD.get();
    }

    /** {@link #op()} by this problem's kernels over elements {@code [from, to)}: the chunk function of {@link Parallel}. */
    public static void chunk(ElementProblem p, long from, long to, ExactSum acc) {
        p.kernels().elements(p.op(), p, from, to, acc);
    }

    /** Input and target of shape {@code dims} (not copied: it must not change), float32 or float64. */
    public ElementProblem operands(MemorySegment x, MemorySegment y, boolean isF64, long[] dims, long count) {
        this.input = x;
        this.target = y;
        this.f64 = isF64;
        this.shape = dims;
        this.numel = count;
        return this;
    }

    /** A weight of shape {@code dims} broadcast onto the input, or null. */
    public ElementProblem weight(MemorySegment w, long[] dims) {
        this.weight = w;
        this.weightShape = dims;
        if (w != null) {
            weightRun = Broadcast.run(dims, shape);
            weightContiguous = Broadcast.contiguous(dims, shape);
            weightPeriodic = Broadcast.periodic(dims, shape);
        }
        return this;
    }

    /** A pos_weight of shape {@code dims} broadcast onto the target, or null. */
    public ElementProblem posWeight(MemorySegment p, long[] dims) {
        this.posWeight = p;
        this.posWeightShape = dims;
        if (p != null) {
            posWeightRun = Broadcast.run(dims, shape);
            posWeightContiguous = Broadcast.contiguous(dims, shape);
            posWeightPeriodic = Broadcast.periodic(dims, shape);
        }
        return this;
    }

    /** The sigmoid focal loss's alpha (negative: off) and gamma. */
    public ElementProblem focal(double a, double g) {
        this.alpha = a;
        this.gamma = g;
        return this;
    }

    /** The hinge losses' margin, and whether labels 0 and 1 are read as -1 and 1. */
    public ElementProblem hinge(double m, boolean zeroOne) {
        this.margin = m;
        this.zeroOneLabels = zeroOne;
        return this;
    }

    /** Whether kl_div's target holds log-probabilities. */
    public ElementProblem logTarget(boolean log) {
        this.logTarget = log;
        return this;
    }

    /** Drops the references to the caller's memory and resets every option. */
    public void clear() {
        clearCommon();
        input = target = weight = posWeight = null;
        shape = weightShape = posWeightShape = null;
        alpha = -1;
        gamma = 0;
        margin = 1;
        zeroOneLabels = false;
        logTarget = false;
    }

    public MemorySegment input() { return input; }
    public MemorySegment target() { return target; }

    /** Whether the SIMD kernels can load every operand and output with the Vector API ({@link Mem#vectorLoadable}). */
    public boolean vectorLoadable() {
        return outputsVectorLoadable() && Mem.vectorLoadable(input, 4, true) && Mem.vectorLoadable(target, 4, true)
                && Mem.vectorLoadable(weight, 4, true) && Mem.vectorLoadable(posWeight, 4, true);
    }
    public boolean f64() { return f64; }
    public long numel() { return numel; }
    public MemorySegment weight() { return weight; }
    public MemorySegment posWeight() { return posWeight; }
    public double alpha() { return alpha; }
    public double gamma() { return gamma; }
    public double margin() { return margin; }
    public boolean zeroOneLabels() { return zeroOneLabels; }
    public boolean logTarget() { return logTarget; }

    /**
     * The length of the run that starts at element {@code i} and ends before {@code to}: no
     * longer than any broadcast operand's run, so that within it each operand is contiguous or
     * constant.
     */
    public long runEnd(long i, long to) {
        return runEnd(i, to, false);
    }

    /**
     * {@link #runEnd}, but not stopping at the runs of an operand that is one run repeated
     * ({@link Broadcast#periodic}): a caller reads such an operand cyclically, its element at
     * input element {@code i} being {@code i mod} {@link #weightPeriod} (or
     * {@link #posWeightPeriod}). So a pos_weight over the last axis of 64 does not cut the
     * SIMD kernel's tiles to 64 elements.
     */
    public long runEndAcrossPeriods(long i, long to) {
        return runEnd(i, to, true);
    }

    /** {@link #runEnd}; with {@code acrossPeriods}, not stopping for a periodic operand. */
    private long runEnd(long i, long to, boolean acrossPeriods) {
        long end = to;
        if (weight != null && !(acrossPeriods && weightPeriodic)) {
            end = Math.min(end, (i / weightRun + 1) * weightRun);
        }
        if (posWeight != null && !(acrossPeriods && posWeightPeriodic)) {
            end = Math.min(end, (i / posWeightRun + 1) * posWeightRun);
        }
        return end;
    }

    /** The weight's period (its size) if it is one run repeated ({@link Broadcast#periodic}), else 0. */
    public long weightPeriod() {
        return weight != null && weightPeriodic ? weightRun : 0;
    }

    /** The pos_weight's period (its size) if it is one run repeated ({@link Broadcast#periodic}), else 0. */
    public long posWeightPeriod() {
        return posWeight != null && posWeightPeriodic ? posWeightRun : 0;
    }

    /** The weight's element at input element {@code i} (the start of a run). */
    public long weightOffset(long i) {
        return Broadcast.offset(weightShape, shape, i);
    }

    /** Whether the weight advances with the input within a run. */
    public boolean weightContiguous() {
        return weightContiguous;
    }

    /** The pos_weight's element at input element {@code i} (the start of a run). */
    public long posWeightOffset(long i) {
        return Broadcast.offset(posWeightShape, shape, i);
    }

    /** Whether the pos_weight advances with the input within a run. */
    public boolean posWeightContiguous() {
        return posWeightContiguous;
    }

    /** Whether this is the plain float32 case the SIMD kernels handle. */
    public boolean allFloat32() {
        return !f64 && !lossesF64() && !gradF64();
    }
}
