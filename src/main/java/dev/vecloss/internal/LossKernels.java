package dev.vecloss.internal;

/**
 * The kernels behind the public loss classes, one method per shape of work, the loss being an
 * operation of its family:
 * <ul>
 *   <li>{@link #rows}: row losses ({@link RowOp}), a row of class scores per position;</li>
 *   <li>{@link #elements}: elementwise losses ({@link ElementOp}), a loss per element.</li>
 *   <li>{@link #classSums} and {@link #classSumsGrad}: per-class-sum losses ({@link ClassSumOp}), sums per
 *       class over every position, then the gradient from their per-class coefficients.</li>
 * </ul>
 * Each evaluates positions {@code [from, to)} of a checked problem, writes their per-position
 * losses and gradients where the problem asks for them, and returns the sum of their losses, in
 * double. (The per-class-sum and counting families of LOSSES.md 8-9 join here as further
 * methods, each with its operation enum; see docs/ARCHITECTURE.md.)
 *
 * <p>Two implementations: {@link ScalarKernels}, the reference and the fallback, and the Panama
 * one in {@code internal.panama}, the only package that imports {@code jdk.incubator.vector}.
 * {@link KernelProvider} picks one.
 *
 * <p>Kernels must be deterministic: the result for a range depends on the data and the range
 * only, so that the fixed chunking of {@link Parallel} gives the same bits on any number of
 * threads.
 */
public interface LossKernels {

    /** A short name for logs and benchmarks: {@code scalar} or {@code panama}. */
    String name();

    /**
     * Row loss {@code op} over positions {@code [from, to)}, each position's loss added to
     * {@code acc}; index targets were checked by {@link Targets}.
     */
    void rows(RowOp op, RowProblem p, long from, long to, ExactSum acc);

    /** Elementwise loss {@code op} over elements {@code [from, to)}, each loss added to {@code acc}; the operands were checked. */
    void elements(ElementOp op, ElementProblem p, long from, long to, ExactSum acc);

    /**
     * The number of targets in {@code [from, to)} that are neither 0 nor 1 (Keras's hinge label
     * rule, see {@link Ranges#notZeroOne}).
     */
    double notZeroOne(ElementProblem p, long from, long to);

    /**
     * Checks that input and target lie in {@code [0, 1]} over {@code [from, to)}
     * (see {@link Ranges#unitInterval}); returns 0.
     *
     * @throws Ranges.BadValue for the lowest failing index
     */
    double unitInterval(ElementProblem p, long from, long to);

    /**
     * The per-class sums of {@code op} over positions {@code [from, to)}: for each class {@code k},
     * {@code Sp_k}, {@code St_k} and {@code D_k} added exactly into {@code out[k]},
     * {@code out[C + k]} and {@code out[2C + k]} (see {@link ClassSumProblem}). Each position's
     * values must not depend on the range (nor on where the position sits in a vector block), so
     * that any split of the positions gives the same sums.
     *
     * @throws Targets.BadTarget for the lowest position of the range whose active label is outside {@code [0, C)}
     */
    void classSums(ClassSumOp op, ClassSumProblem p, long from, long to, ExactSum[] out);

    /** The gradient of a per-class-sum loss over positions {@code [from, to)}, from the problem's coefficients; returns 0. */
    double classSumsGrad(ClassSumOp op, ClassSumProblem p, long from, long to);

    /**
     * Adds the per-class counts of labels {@code [from, to)} of a counting problem into
     * {@code out[off, off + C)} (LOSSES.md 9): exact, labels equal to {@code ignore_index} skipped.
     *
     * @throws Targets.BadTarget for the lowest index of the range whose label is neither
     *         {@code ignore_index} nor in {@code [0, C)}
     */
    void counts(CountProblem p, long from, long to, long[] out, int off);

    /**
     * Phase {@code phase} of smp's Lovász loss (LOSSES.md 8.3) over items {@code [from, to)}
     * (positions or tasks, see {@link LovaszProblem}); returns 0 (the tasks store their losses in
     * the problem, which the caller combines in a fixed order).
     */
    double lovasz(LovaszProblem.Phase phase, LovaszProblem p, long from, long to);
}
