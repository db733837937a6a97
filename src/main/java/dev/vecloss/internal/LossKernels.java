package dev.vecloss.internal;

/**
 * The kernels behind the public loss classes. Each method evaluates positions
 * {@code [from, to)} of a validated problem, writes their per-position losses and gradients
 * where the problem asks for them, and returns the sum of their losses, in double.
 *
 * <p>Two implementations: {@link ScalarKernels}, the reference and the fallback, and the
 * Panama one in {@code internal.panama}, the only package that imports
 * {@code jdk.incubator.vector}. {@link KernelProvider} picks one.
 *
 * <p>Kernels must be deterministic: the result for a range depends on the data and the range
 * only, so that the fixed chunking of {@link Parallel} gives the same bits on any number of
 * threads.
 */
public interface LossKernels {

    /** A short name for logs and benchmarks: {@code scalar} or {@code panama}. */
    String name();

    /** Cross-entropy with index targets (LOSSES.md 1.1); targets were validated by {@link Targets}. */
    double crossEntropyIndex(CeProblem p, long from, long to);

    /** Cross-entropy with class-probability targets (LOSSES.md 1.2). */
    double crossEntropyProb(CeProblem p, long from, long to);

    /** NLL on log-probabilities (LOSSES.md 2); targets were validated by {@link Targets}. */
    double nllLoss(CeProblem p, long from, long to);
}
