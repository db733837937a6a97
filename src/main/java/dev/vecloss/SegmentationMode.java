package dev.vecloss;

/**
 * segmentation_models_pytorch's modes (its {@code constants.py}; LOSSES.md 8.1), shared by the
 * segmentation losses ({@link RegionLoss}, {@link Lovasz}): what the input's channels mean and
 * which target fits it. {@link Checks#segmentation} checks the shapes.
 */
public enum SegmentationMode {
    /** One channel, a sigmoid: input {@code (N, 1, d...)}, target of its shape or {@code (N, d...)}, 0/1 values. */
    BINARY,
    /** C exclusive classes, a softmax: input {@code (N, C, d...)}, target {@code (N, d...)} of class indices. */
    MULTICLASS,
    /** C independent channels, a sigmoid each: input {@code (N, C, d...)}, target of its shape, 0/1 values. */
    MULTILABEL
}
