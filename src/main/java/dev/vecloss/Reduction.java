package dev.vecloss;

/**
 * How per-element losses are combined, as PyTorch's {@code reduction} argument.
 * The denominator of {@link #MEAN} is loss-specific; each loss's Javadoc names it.
 */
public enum Reduction {
    /** No reduction: one loss per element or position. */
    NONE,
    /** The sum of the per-element losses divided by the loss's denominator (NaN for 0/0). */
    MEAN,
    /** The plain sum of the per-element losses (0 for an empty input). */
    SUM,
    /** {@code kl_div} only: the sum divided by the batch size, the input's first dimension. */
    BATCHMEAN;

    /** Parses PyTorch's spelling ({@code none}, {@code mean}, {@code sum}). */
    public static Reduction parse(String name) {
        return switch (name) {
            case "none" -> NONE;
            case "mean" -> MEAN;
            case "sum" -> SUM;
            case "batchmean" -> BATCHMEAN;
            default -> throw new IllegalArgumentException(
                    "'" + name + "' is not a valid value for reduction (expected none, mean, sum or batchmean)");
        };
    }

    /** PyTorch's spelling. */
    public String pytorchName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
