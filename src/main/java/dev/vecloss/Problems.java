package dev.vecloss;

import dev.vecloss.internal.ElementProblem;
import dev.vecloss.internal.KernelProvider;
import dev.vecloss.internal.LossKernels;

/**
 * The part of filling a kernel problem that every public loss class of a family shares: this
 * thread's problem, the kernels (those of an enclosing {@link Kernels#callWith}, else the
 * selected ones; the scalar kernels for float64 data or outputs, which they compute in double),
 * the operands and the outputs. The caller adds its operation's own fields and clears the
 * problem when the call ends.
 */
final class Problems {
    private Problems() {}

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
}
