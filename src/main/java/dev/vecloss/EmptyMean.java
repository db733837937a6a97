package dev.vecloss;

/**
 * What a {@code mean} (or KL's {@code batchmean}) over no active element gives: the value of a
 * reduction whose denominator is 0. That is an empty input, every target ignored (cross-entropy,
 * NLL, softmax focal), or, for weighted cross-entropy and NLL, active targets whose weights sum
 * to 0. PyTorch gives NaN (0/0, LOSSES.md 0.3), Keras 0 ({@code divide_no_nan}); the default is
 * PyTorch's. Every loss with a mean takes it as the {@code emptyMean} of its options; the
 * {@code sum} and {@code none} reductions do not depend on it.
 */
public enum EmptyMean {
    /**
     * NaN, and PyTorch's gradient (the default): where PyTorch's gradient is 0 (every target
     * ignored: nothing reaches the input) it is 0, where it divides by the zero denominator
     * (weights summing to 0) it is NaN.
     */
    NAN,
    /**
     * 0, as Keras; the gradient is that of the constant 0: every entry 0, whatever the input
     * holds. Per-position losses ({@code losses}) are written as usual.
     */
    ZERO,
    /**
     * An {@link IllegalArgumentException} naming the loss and saying the mean had no active
     * element, thrown after the checks of the operands and before anything is written: neither
     * {@code losses} nor {@code grad} is touched.
     */
    ERROR
}
