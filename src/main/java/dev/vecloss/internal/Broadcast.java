package dev.vecloss.internal;

/**
 * NumPy broadcasting of an operand (a weight, a pos_weight) onto an input shape, read in runs:
 * the input's flat range is cut into runs of {@link #run} consecutive elements over which the
 * operand is either contiguous (its element advances with the input's) or constant. The
 * kernels then read the operand a run at a time, the SIMD ones with plain vector loads or one
 * broadcast, and find a run's first operand element with {@link #offset}, once per run.
 *
 * <p>Dimensions align on the right, as in NumPy: an operand of shape {@code (C)} over an input
 * {@code (N, C)} is one weight per class, contiguous in runs of C; {@code (C, 1, 1)} over
 * {@code (N, C, H, W)} is constant in runs of {@code H*W}; a 0-d operand is constant over the
 * whole input. Nothing here allocates: a broadcast is its two shapes.
 */
public final class Broadcast {
    private Broadcast() {}

    /** Whether {@code operand} broadcasts to {@code input} (NumPy's rule, without growing {@code input}). */
    public static boolean fits(long[] operand, long[] input) {
        if (operand.length > input.length) {
            for (int i = 0; i < operand.length - input.length; i++) {
                if (operand[i] != 1) {
                    return false;
                }
            }
        }
        for (int i = 1; i <= Math.min(operand.length, input.length); i++) {
            long o = operand[operand.length - i];
            if (o != 1 && o != input[input.length - i]) {
                return false;
            }
        }
        return true;
    }

    /** The operand's size along input axis {@code axis} (1 where it has no such axis). */
    private static long dim(long[] operand, long[] input, int axis) {
        int k = axis - (input.length - operand.length);
        return k < 0 || k >= operand.length ? 1 : operand[k];
    }

    /**
     * The length of the runs: the product of the trailing input axes over which the operand is
     * uniformly contiguous (its size equals the input's) or uniformly constant (its size is 1);
     * axes of size 1 fit either. At least 1.
     */
    public static long run(long[] operand, long[] input) {
        long run = 1;
        int kind = 0; // 0 undecided, 1 contiguous, 2 constant
        for (int axis = input.length - 1; axis >= 0; axis--) {
            long n = input[axis];
            if (n == 1) {
                continue;
            }
            int k = dim(operand, input, axis) == 1 ? 2 : 1;
            if (kind != 0 && k != kind) {
                break;
            }
            kind = k;
            run *= n;
        }
        return Math.max(1, run);
    }

    /** Whether the operand advances with the input within a run (else it is constant there). */
    public static boolean contiguous(long[] operand, long[] input) {
        for (int axis = input.length - 1; axis >= 0; axis--) {
            if (input[axis] != 1) {
                return dim(operand, input, axis) != 1;
            }
        }
        return false;
    }

    /**
     * Whether the operand is one of its runs repeated: contiguous within a run and no larger than
     * one, so that its element at the input's flat index {@code i} is {@code i mod run} (a weight
     * of shape {@code (C)} or {@code (1, C)} over {@code (N, C)}, or the input's own shape). A
     * kernel can then read it across runs, cyclically, instead of stopping at each run's end.
     */
    public static boolean periodic(long[] operand, long[] input) {
        long numel = 1;
        for (long d : operand) {
            numel *= d;
        }
        return contiguous(operand, input) && numel == run(operand, input);
    }

    /** The operand's flat element at the input's flat index {@code i}. */
    public static long offset(long[] operand, long[] input, long i) {
        long off = 0;
        long stride = 1;
        for (int axis = input.length - 1; axis >= 0 && i > 0; axis--) {
            long n = input[axis];
            long coord = i % n;
            i /= n;
            long o = dim(operand, input, axis);
            if (o != 1) {
                off += coord * stride;
            }
            stride *= o;
        }
        return off;
    }
}
