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
    BINARY_CROSS_ENTROPY_WITH_LOGITS,
    /** torchvision's {@code sigmoid_focal_loss} (LOSSES.md 5.1). */
    SIGMOID_FOCAL,
    /** Keras's {@code hinge}, {@code max(0, margin - y x)} (LOSSES.md 6.1). */
    HINGE,
    /** Keras's {@code squared_hinge}, {@code max(0, margin - y x)^2} (LOSSES.md 6.1). */
    SQUARED_HINGE,
    /** {@code kl_div} on log-probabilities, the target as probabilities or log-probabilities (LOSSES.md 7). */
    KL_DIV
}
