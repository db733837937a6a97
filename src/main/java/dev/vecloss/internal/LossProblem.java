package dev.vecloss.internal;

import java.lang.foreign.MemorySegment;

/**
 * What a row or elementwise loss problem ({@link RowProblem}, {@link ElementProblem}) holds
 * besides its operands: the kernels that evaluate it, the operation, the factor of the gradient
 * and the outputs to write. Setters return the problem itself, so a call fills it in one chain.
 *
 * @param <P> the problem's own class
 * @param <O> its family's operation
 */
public abstract sealed class LossProblem<P extends LossProblem<P, O>, O> permits RowProblem, ElementProblem {
    private LossKernels kernels;
    private O op;
    private double gradScale = 1;
    private MemorySegment losses;
    private boolean lossesF64;
    private MemorySegment grad;
    private boolean gradF64;
    /** The exact sums of a reduction (the losses', the mean's denominator), reused per thread. */
    private final ExactSum total = new ExactSum(), denominator = new ExactSum();

    LossProblem() {}

    /** This problem, as its own class. */
    abstract P self();

    /** The kernels that evaluate it (chosen on the calling thread, read by the workers). */
    public final P kernels(LossKernels k) {
        this.kernels = k;
        return self();
    }

    /** The loss to evaluate. */
    public final P op(O o) {
        this.op = o;
        return self();
    }

    /** The factor of the gradient: 1, or 1 / the mean's denominator. */
    public final P gradScale(double scale) {
        this.gradScale = scale;
        return self();
    }

    /** Per-position (row losses) or per-element losses to write, or null. */
    public final P losses(MemorySegment l, boolean isF64) {
        this.losses = l;
        this.lossesF64 = isF64;
        return self();
    }

    /** The gradient to write (the input's shape), or null. */
    public final P grad(MemorySegment g, boolean isF64) {
        this.grad = g;
        this.gradF64 = isF64;
        return self();
    }

    /** Drops the kernels, the operation and the outputs, and resets the gradient's factor: the part of {@code clear()} shared. */
    final void clearCommon() {
        kernels = null;
        op = null;
        losses = grad = null;
        gradScale = 1;
        total.clear();
        denominator.clear();
    }

    /** This problem's exact sum of the losses, cleared with it. */
    public final ExactSum total() { return total; }
    /** This problem's exact sum of the mean's denominator, cleared with it. */
    public final ExactSum denominator() { return denominator; }

    public final LossKernels kernels() { return kernels; }

    /** Whether the outputs are absent, native, or heap segments over float[] ({@link Mem#vectorLoadable}). */
    protected final boolean outputsVectorLoadable() {
        return Mem.vectorLoadable(losses, 4, true) && Mem.vectorLoadable(grad, 4, true);
    }
    public final O op() { return op; }
    public final double gradScale() { return gradScale; }
    public final MemorySegment losses() { return losses; }
    public final boolean lossesF64() { return lossesF64; }
    public final MemorySegment grad() { return grad; }
    public final boolean gradF64() { return gradF64; }
}
