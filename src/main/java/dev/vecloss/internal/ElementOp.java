package dev.vecloss.internal;

/**
 * The elementwise losses: an input and a target of one shape, one loss per element, an
 * optional weight broadcast onto the input ({@link Broadcast}). They share the
 * {@link ElementProblem} layout and the element loop of each kernel class; a new elementwise
 * loss is one constant here, one scalar formula (and its derivative) in {@link ScalarKernels},
 * and one SIMD tile in {@code internal.panama.Elementwise}.
 */
public enum ElementOp {
    /** {@code binary_cross_entropy} on probabilities (LOSSES.md 3). */
    BINARY_CROSS_ENTROPY,
    /** {@code binary_cross_entropy_with_logits}, with an optional pos_weight (LOSSES.md 4). */
    BINARY_CROSS_ENTROPY_WITH_LOGITS
}
