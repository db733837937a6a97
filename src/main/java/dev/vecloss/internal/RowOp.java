package dev.vecloss.internal;

/**
 * The row losses: at each position a score per class along axis 1, a target, and a loss that
 * needs the whole row (a softmax, a margin against the target's score, a gather). They share the
 * {@link RowProblem} layout, the target pre-pass of {@link Targets} and the position loop of each
 * kernel class; a new row loss is one constant here, one position function in
 * {@link ScalarKernels}, and its SIMD tile where it pays.
 */
public enum RowOp {
    /** {@code cross_entropy} with index targets (LOSSES.md 1.1). */
    CROSS_ENTROPY,
    /** {@code cross_entropy} with class-probability targets (LOSSES.md 1.2). */
    CROSS_ENTROPY_PROB,
    /** {@code nll_loss} on log-probabilities (LOSSES.md 2). */
    NLL,
    /** The softmax (multi-class) focal loss, {@code -alpha_y (1 - p_y)^gamma log p_y} (LOSSES.md 5.3). */
    SOFTMAX_FOCAL,
    /** {@code multi_margin_loss} (LOSSES.md 6.2). */
    MULTI_MARGIN,
    /** Keras's {@code categorical_hinge} on one-hot (or soft) targets of the input's shape (LOSSES.md 6.3). */
    CATEGORICAL_HINGE
}
