package dev.vecloss;

import dev.vecloss.internal.ElementProblem;
import dev.vecloss.internal.ExactSum;
import dev.vecloss.internal.KernelProvider;
import dev.vecloss.internal.LossKernels;
import dev.vecloss.internal.Parallel;
import dev.vecloss.internal.RowOp;
import dev.vecloss.internal.RowProblem;
import dev.vecloss.internal.Targets;
import java.lang.foreign.MemorySegment;

/**
 * The part of filling a kernel problem that every public loss class of a family shares: this
 * thread's problem, the kernels (those of an enclosing {@link Kernels#callWith}, else the
 * selected ones; the scalar kernels for float64 data or outputs, which they compute in double),
 * the operands and the outputs. The caller adds its operation's own fields and clears the
 * problem when the call ends.
 */
final class Problems {
    private Problems() {}

    /**
     * This thread's accumulator state while {@link LossAccumulator#accept} runs a loss's reduced
     * call, else null: the reduction then adds its exact sums there (the loss sum, the mean's
     * denominator, the positions) instead of returning their quotient.
     */
    static final ThreadLocal<LossAccumulator.Sums> SINK = new ThreadLocal<>();

    /** The kernels for a call with these dtypes. */
    static LossKernels kernels(boolean f64, Tensor losses, Tensor grad) {
        boolean anyF64 = f64 || (losses != null && losses.dtype() == DType.FLOAT64)
                || (grad != null && grad.dtype() == DType.FLOAT64);
        return anyF64 ? KernelProvider.scalar() : KernelProvider.get();
    }

    /** This thread's elementwise problem, filled with the checked operands and outputs. */
    static ElementProblem elements(Tensor input, Tensor target, Tensor losses, Tensor grad) {
        boolean f64 = input.dtype() == DType.FLOAT64;
        return ElementProblem.forThisThread()
                .kernels(kernels(f64, losses, grad))
                .operands(input.segment(), target.segment(), f64, input.dims(), input.numel())
                .losses(losses == null ? null : losses.segment(), losses != null && losses.dtype() == DType.FLOAT64)
                .grad(grad == null ? null : grad.segment(), grad != null && grad.dtype() == DType.FLOAT64);
    }

    /**
     * Evaluates a filled elementwise problem over its {@code numel} elements and clears it: the
     * sum, or the sum over {@code denominator} for {@link Reduction#MEAN} and
     * {@link Reduction#BATCHMEAN} (whose gradient is scaled to match); {@code empty} says what a
     * mean whose denominator is 0 gives ({@link #emptyMean}); {@code what} names the loss in its
     * error.
     */
    static double reduceElements(String what, ElementProblem p, long numel, Reduction reduction, double denominator,
            int threads, EmptyMean empty) {
        return reduceElements(what, p, numel, reduction, denominator, threads, empty, true);
    }

    /** {@link #reduceElements}, leaving the problem set up when {@code clear} is false (the caller clears it). */
    static double reduceElements(String what, ElementProblem p, long numel, Reduction reduction, double denominator,
            int threads, EmptyMean empty, boolean clear) {
        try {
            ExactSum total = p.total();
            total.clear();
            LossAccumulator.Sums sink = SINK.get();
            // an accumulator's batch divides nothing: its sums are added to the sink below
            boolean mean = sink == null && (reduction == Reduction.MEAN || reduction == Reduction.BATCHMEAN);
            MemorySegment zeroGrad = mean && denominator == 0 ? emptyMean(what, empty, p.grad()) : null;
            if (zeroGrad != null) {
                p.grad(null, false); // the gradient of the constant 0, written below
            }
            if (mean) {
                p.gradScale(1.0 / denominator);
            }
            Parallel.exactSum(numel, Parallel.grain(1), threads, ElementProblem::chunk, p, total);
            if (sink != null) {
                sink.sum(0).add(total);
                sink.sum(1).add(denominator);
                sink.count += numel;
                return 0;
            }
            if (mean && denominator == 0 && empty == EmptyMean.ZERO) {
                if (zeroGrad != null) {
                    zeroGrad.fill((byte) 0); // +0.0 in float32 and float64 alike
                }
                return 0.0;
            }
            double sum = total.get();
            return canonical(mean ? sum / denominator : sum);
        } finally {
            if (clear) {
                p.clear();
            }
        }
    }

    /**
     * The empty-set policy, in one place for every loss with a mean: called when a mean's
     * denominator is 0 (no active element; see {@link EmptyMean}), after the operands were checked
     * and the denominator computed and before anything is written. {@link EmptyMean#ERROR}
     * throws; otherwise returns the gradient segment to fill with zeros for
     * {@link EmptyMean#ZERO} (null when there is none or for {@link EmptyMean#NAN}, which keeps
     * PyTorch's arithmetic).
     *
     * @throws IllegalArgumentException for {@link EmptyMean#ERROR}, naming the loss
     */
    private static MemorySegment emptyMean(String what, EmptyMean empty, MemorySegment grad) {
        return switch (empty) {
            case NAN -> null;
            case ZERO -> grad;
            case ERROR -> throw new IllegalArgumentException(what + ": the mean is over no active element (empty "
                    + "input, every target ignored, or target weights summing to 0) and emptyMean is ERROR; "
                    + "nothing was written");
        };
    }

    /**
     * This thread's row problem for {@code op}, filled with the checked input (read as
     * {@code (N, C, S)}, see {@link Layout}) and outputs; the caller adds the target and its
     * options.
     */
    static RowProblem rows(RowOp op, Tensor input, Tensor losses, Tensor grad) {
        boolean f64 = input.dtype() == DType.FLOAT64;
        long[] in = input.dims();
        return RowProblem.forThisThread()
                .kernels(kernels(f64, losses, grad))
                .op(op)
                .input(input.segment(), f64, Layout.batch(in), Layout.classes(in), Layout.spatial(in))
                .losses(losses == null ? null : losses.segment(), losses != null && losses.dtype() == DType.FLOAT64)
                .grad(grad == null ? null : grad.segment(), grad != null && grad.dtype() == DType.FLOAT64);
    }

    /**
     * Evaluates a filled row problem over its positions and clears it. The mean's denominator is
     * {@code denominator} summed over the positions (a pass over the index targets that also
     * checks every active label, before anything is written: {@link Targets#weightSum} or
     * {@link Targets#activeCount}), or the number of positions when it is {@code null}
     * (probability targets); {@code empty} says what a mean whose denominator is 0 gives
     * ({@link #emptyMean}).
     */
    static double reduceRows(String what, RowProblem p, Reduction reduction, int threads,
            Parallel.RangeExact<RowProblem> denominator, EmptyMean empty) {
        try {
            long positions = p.positions();
            ExactSum total = p.total(), den = p.denominator();
            total.clear();
            den.clear();
            if (denominator != null) {
                try {
                    Parallel.exactSum(positions, Parallel.grain(1), threads, denominator, p, den);
                } catch (Targets.BadTarget e) {
                    throw new IllegalArgumentException(what + ": target " + e.value + " is out of bounds at flat index "
                            + e.position + " of the target (classes 0.." + (p.c() - 1)
                            + (p.ignores() ? ", ignore_index " + p.ignoreIndex() : "") + ")");
                }
            } else {
                den.add((double) positions);
            }
            LossAccumulator.Sums sink = SINK.get();
            double d = den.get();
            // an accumulator's batch divides nothing: its sums are added to the sink below
            boolean mean = sink == null && reduction == Reduction.MEAN;
            MemorySegment zeroGrad = mean && d == 0 ? emptyMean(what, empty, p.grad()) : null;
            if (zeroGrad != null) {
                p.grad(null, false); // the gradient of the constant 0, written below
            }
            if (mean) {
                p.gradScale(1.0 / d);
            }
            boolean zero = mean && d == 0 && empty == EmptyMean.ZERO;
            // ZERO needs the pass only for the per-position losses
            if (!zero || p.losses() != null) {
                Parallel.exactSum(positions, Parallel.grain(p.c()), threads, RowProblem::chunk, p, total);
            }
            if (sink != null) {
                sink.sum(0).add(total);
                sink.sum(1).add(den);
                sink.count += positions;
                return 0;
            }
            if (zero) {
                if (zeroGrad != null) {
                    zeroGrad.fill((byte) 0); // +0.0 in float32 and float64 alike
                }
                return 0.0;
            }
            double sum = total.get();
            return canonical(mean ? sum / d : sum);
        } finally {
            p.clear();
        }
    }

    /**
     * {@code v}, with any NaN as {@link Double#NaN}: the sign and payload of a NaN made by
     * arithmetic differ between the interpreter and JIT-compiled code (x86's default NaN is
     * negative), and the returned value must have the same bits on every call.
     */
    static double canonical(double v) {
        return v != v ? Double.NaN : v;
    }
}
