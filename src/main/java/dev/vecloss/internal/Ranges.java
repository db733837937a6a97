package dev.vecloss.internal;

import java.lang.foreign.MemorySegment;

/**
 * Pre-passes over an elementwise problem's operands that check their values before anything is
 * written, as {@link Targets} does for labels (the scalar versions; the kernels have SIMD ones,
 * {@link LossKernels#unitInterval} and {@link LossKernels#notZeroOne}, and the public API calls
 * those through {@link #unitIntervalChunk} and {@link #notZeroOneChunk}): each returns normally or throws {@link BadValue}
 * for the lowest flat index of its range that fails (the input before the target at one index),
 * so that with the lowest failing chunk of {@link Parallel} the error is the same at any thread
 * count.
 */
public final class Ranges {
    private Ranges() {}

    /** Input and target in {@code [0, 1]}, NaN failing (BCE on probabilities, LOSSES.md 3). */
    public static double unitInterval(ElementProblem p, long from, long to) {
        final MemorySegment x = p.input(), y = p.target();
        final boolean f64 = p.f64();
        for (long i = from; i < to; i++) {
            double xv = Mem.get(x, f64, i);
            if (!(xv >= 0 && xv <= 1)) {
                throw new BadValue("input", i, xv);
            }
            double yv = Mem.get(y, f64, i);
            if (!(yv >= 0 && yv <= 1)) {
                throw new BadValue("target", i, yv);
            }
        }
        return 0;
    }

    /** {@link LossKernels#unitInterval} of the problem's kernels: a chunk function for {@link Parallel}. */
    public static double unitIntervalChunk(ElementProblem p, long from, long to) {
        return p.kernels().unitInterval(p, from, to);
    }

    /** {@link LossKernels#notZeroOne} of the problem's kernels: a chunk function for {@link Parallel}. */
    public static double notZeroOneChunk(ElementProblem p, long from, long to) {
        return p.kernels().notZeroOne(p, from, to);
    }

    /** A value out of its domain: which operand, its flat index, the value. */
    public static final class BadValue extends RuntimeException {
        private static final long serialVersionUID = 1L;
        public final String operand;
        public final long index;
        public final double value;

        BadValue(String operand, long index, double value) {
            super(null, null, false, false);
            this.operand = operand;
            this.index = index;
            this.value = value;
        }
    }

    /** The number of targets in {@code [from, to)} that are neither 0 nor 1 (Keras's hinge label rule). */
    public static double notZeroOne(ElementProblem p, long from, long to) {
        final MemorySegment y = p.target();
        final boolean f64 = p.f64();
        long n = 0;
        for (long i = from; i < to; i++) {
            double v = Mem.get(y, f64, i);
            if (v != 0 && v != 1) {
                n++;
            }
        }
        return n;
    }
}
