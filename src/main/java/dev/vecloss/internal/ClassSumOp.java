package dev.vecloss.internal;

/**
 * The per-class-sum losses (Dice, Jaccard, Tversky: LOSSES.md 8.2): one pass over the prediction
 * gives, per class {@code c}, {@code Sp = sum p}, {@code St = sum t} and {@code D = sum |p - t|}
 * over every position of the batch; a formula per class turns them into the loss, and one more
 * pass writes the gradient. The operation says how a prediction {@code p} and a target {@code t}
 * are read at an element; the losses differ only in the per-class formula
 * ({@code RegionLoss}), not in the pass.
 */
public enum ClassSumOp {
    /** Multiclass from logits: {@code p} the softmax over the class axis, index targets one-hot. */
    SOFTMAX,
    /** Multiclass on probabilities: {@code p} the input as is, index targets one-hot. */
    INDEX_PROB,
    /** Binary and multilabel from logits: {@code p = sigmoid(x)}, a target element per input element. */
    SIGMOID,
    /** Binary and multilabel on probabilities: {@code p} the input as is, a target element per input element. */
    DENSE_PROB;

    /** Whether the targets are class indices, one per position (else one per element). */
    public boolean indexTargets() {
        return this == SOFTMAX || this == INDEX_PROB;
    }
}
