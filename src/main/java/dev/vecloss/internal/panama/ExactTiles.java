package dev.vecloss.internal.panama;

import static dev.vecloss.internal.panama.PanamaConstants.D;
import static dev.vecloss.internal.panama.PanamaConstants.F;
import static dev.vecloss.internal.panama.PanamaConstants.I;

import dev.vecloss.internal.ExactSum;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * The exact sum of a tile of floats, vectorised: the value {@code acc.add(a[i])} for each
 * {@code i} would give, at a few vector operations per element instead of a superaccumulator
 * update each.
 *
 * <p>Floats whose exponents lie in a band of 21 binades, at most {@link #MAX_TILE} of them, sum
 * exactly in double in any order: the smallest has its last bit at 2^(e - 23) and the sum is
 * below 2^(e + 21 + 9), 53 bits at most. So the tile is summed band by band, from its largest
 * magnitude down: each pass adds, in double vectors, the lanes in the band and finds the largest
 * magnitude below it, and hands its exact double to the accumulator. A first pass finds the
 * tile's largest and smallest non-zero magnitudes and sums it in double: when they lie in one
 * band, the common case, that sum is exact and the tile is done. Losses of one tile usually
 * span a band or two (a saturated loss of 1e-14 next to ones of order 1 takes three). A tile
 * with an infinity or a NaN goes to the accumulator element by element, which counts them.
 */
final class ExactTiles {
    private ExactTiles() {}

    /** The most floats {@link #add} takes: 2^9, so that a band's sum has 9 bits of headroom. */
    static final int MAX_TILE = 512;
    /** Binades per band: 53 bits = 24 (a float) + 20 (the band's spread) + 9 (the count). */
    private static final int BAND = 20;
    private static final int ABS = 0x7fff_ffff;
    private static final int INF_BITS = 0x7f80_0000;

    /**
     * Adds {@code a[0, n)} to {@code acc} exactly; {@code n} a multiple of the lane count, at most
     * {@link #MAX_TILE}.
     */
    static void add(float[] a, int n, ExactSum acc) {
        final int v = F.length();
        // one pass: the largest magnitude and the smallest non-zero one, as bits (integer order
        // is the floats' order for magnitudes, and integer max/min are exact in any lane order),
        // and the double sum, which is exact when they lie in one band: the common case
        IntVector hi = IntVector.zero(I), lo = IntVector.broadcast(I, Integer.MAX_VALUE);
        DoubleVector s0 = DoubleVector.zero(D), s1 = DoubleVector.zero(D);
        for (int i = 0; i < n; i += v) {
            FloatVector x = FloatVector.fromArray(F, a, i);
            IntVector b = x.reinterpretAsInts().and(ABS);
            hi = hi.max(b);
            lo = lo.min(b.blend(Integer.MAX_VALUE, b.compare(VectorOperators.EQ, 0)));
            s0 = s0.add((DoubleVector) x.convertShape(VectorOperators.F2D, D, 0));
            s1 = s1.add((DoubleVector) x.convertShape(VectorOperators.F2D, D, 1));
        }
        add(a, n, hi.reduceLanes(VectorOperators.MAX), lo.reduceLanes(VectorOperators.MIN),
                s0.add(s1).reduceLanes(VectorOperators.ADD), acc);
    }

    /**
     * {@link #add(float[], int, ExactSum)} for a caller that formed, in a pass of its own over
     * the tile, its largest magnitude's bits {@code top}, its smallest non-zero magnitude's bits
     * {@code smallest} (any value above {@code top} if none) and its sum in double {@code sum}
     * (floats converted to double and added in any order).
     */
    static void add(float[] a, int n, int top, int smallest, double sum, ExactSum acc) {
        final int v = F.length();
        if (top == 0) {
            return;
        }
        if (top >= INF_BITS) {
            acc.add(a, 0, n);
            return;
        }
        if ((top >>> 23) - Math.max(1, smallest >>> 23) <= BAND) {
            // every partial sum was exact, so any order of the lanes gives the same double
            acc.add(sum);
            return;
        }
        int e = top >>> 23;
        while (true) {
            // the band: biased exponents [low, e], subnormals (exponent field 0) with exponent 1,
            // whose last bit they share
            final int low = e - BAND <= 1 ? 0 : e - BAND;
            final int lowBits = low << 23;
            DoubleVector b0 = DoubleVector.zero(D), b1 = DoubleVector.zero(D);
            IntVector below = IntVector.zero(I);
            for (int i = 0; i < n; i += v) {
                FloatVector x = FloatVector.fromArray(F, a, i);
                IntVector b = x.reinterpretAsInts().and(ABS);
                // lanes above the band were added by an earlier pass; lanes below it wait
                VectorMask<Integer> under = b.compare(VectorOperators.LT, lowBits);
                VectorMask<Integer> over = b.compare(VectorOperators.GE, (e + 1) << 23);
                FloatVector in = x.blend(0f, under.or(over).cast(F));
                b0 = b0.add((DoubleVector) in.convertShape(VectorOperators.F2D, D, 0));
                b1 = b1.add((DoubleVector) in.convertShape(VectorOperators.F2D, D, 1));
                below = below.max(b.blend(0, under.not()));
            }
            // every partial sum is exact, so any order of the lanes gives the same double
            acc.add(b0.add(b1).reduceLanes(VectorOperators.ADD));
            int next = below.reduceLanes(VectorOperators.MAX);
            if (next == 0) {
                return;
            }
            e = next >>> 23;
        }
    }
}
