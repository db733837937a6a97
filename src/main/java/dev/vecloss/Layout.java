package dev.vecloss;

/**
 * How the losses read a tensor whose axis 1 is the class axis, as PyTorch does: an input of shape
 * {@code (C)}, {@code (N, C)} or {@code (N, C, d1, ..., dk)} has {@code N} samples (1 for
 * {@code (C)}), {@code C} classes and {@code S = d1 * ... * dk} spatial positions per sample (1
 * without spatial axes). Each {@code (n, d1, ..., dk)} is a position, {@code N * S} of them: the
 * shape of index targets and of per-position losses is the input's shape without axis 1
 * ({@link #positionShape}).
 *
 * <p>Element {@code (n, c, s)} sits at flat index {@code n*C*S + c*S + s}: the class axis is
 * strided by {@code S}.
 */
public final class Layout {
    private Layout() {}

    /** N: the first axis, or 1 for a 1-d {@code (C)} input. */
    public static long batch(long[] inputShape) {
        return inputShape.length == 1 ? 1 : inputShape[0];
    }

    /** C: axis 1, or axis 0 of a 1-d input. */
    public static long classes(long[] inputShape) {
        return inputShape.length == 1 ? inputShape[0] : inputShape[1];
    }

    /** S: the product of the axes after the class axis, 1 if there are none. */
    public static long spatial(long[] inputShape) {
        long s = 1;
        for (int i = 2; i < inputShape.length; i++) {
            s *= inputShape[i];
        }
        return s;
    }

    /** The input's shape without the class axis: {@code ()} for {@code (C)}, else {@code (N, d1, ..., dk)}. */
    public static long[] positionShape(long[] inputShape) {
        if (inputShape.length <= 1) {
            return new long[0];
        }
        long[] t = new long[inputShape.length - 1];
        t[0] = inputShape[0];
        System.arraycopy(inputShape, 2, t, 1, inputShape.length - 2);
        return t;
    }

    /** Whether {@code shape} is {@link #positionShape} of {@code inputShape} (allocates nothing). */
    public static boolean isPositionShape(long[] inputShape, long[] shape) {
        if (inputShape.length == 0 || shape.length != inputShape.length - 1) {
            return false;
        }
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] != inputShape[i == 0 ? 0 : i + 1]) {
                return false;
            }
        }
        return true;
    }
}
