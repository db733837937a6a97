package dev.vecloss.internal.panama;

import static dev.vecloss.internal.panama.PanamaConstants.ALONG_CLASSES_MIN_C;
import static dev.vecloss.internal.panama.PanamaConstants.F;
import static dev.vecloss.internal.panama.PanamaConstants.V;

import dev.vecloss.internal.CeProblem;
import dev.vecloss.internal.LossKernels;
import dev.vecloss.internal.ScalarKernels;

/**
 * The SIMD kernels. Each method picks the loop that fits the layout and leaves to the scalar
 * reference kernels only what SIMD cannot cover, position by position:
 * <ul>
 *   <li>{@code (N, C)} with {@code C >= 8 * lanes}: {@link AlongClasses}, one row at a time,
 *       vectorised along the contiguous class axis;</li>
 *   <li>{@code (N, C)} with fewer classes, and {@code (N, C, d...)} with a spatial size of at
 *       least one vector: {@link AcrossPositions}, a block of {@code lanes} positions at a time,
 *       one vector per class (the rows of a narrow (N, C) block are transposed through L1 by a
 *       gather); the positions that do not fill a block (an image's last ones, a chunk's end)
 *       are a block with its other lanes ignored, so that a position's results do not depend on
 *       where it sits;</li>
 *   <li>probability targets: {@link AlongClasses} for {@code (N, C)} with at least one vector of
 *       classes;</li>
 *   <li>spatial sizes below one vector, probability targets of spatial inputs, spatial inputs
 *       of more than {@link AcrossPositions#MAX_C} classes, and float64 problems: the scalar
 *       kernels.</li>
 * </ul>
 * NLL has no SIMD loop: it reads one value per position (a gather, which the Vector API offers
 * only from Java arrays, not from segments), so it is bound by memory latency, not arithmetic,
 * and the scalar loop is as fast.
 */
public final class PanamaKernels implements LossKernels {
    public static final PanamaKernels INSTANCE = new PanamaKernels();

    private static final ScalarKernels SCALAR = ScalarKernels.INSTANCE;

    private PanamaKernels() {
        if (V < 4) {
            throw new UnsupportedOperationException("float vectors of " + V + " lanes: too narrow to pay off");
        }
    }

    @Override
    public String name() {
        return "panama";
    }

    @Override
    public String toString() {
        return "panama kernels (" + F.vectorBitSize() + "-bit vectors, " + V + " float lanes"
                + (PanamaConstants.BITS < PanamaConstants.MACHINE_BITS
                        ? ", narrowed by vecloss.vectorBits from the machine's " + PanamaConstants.MACHINE_BITS : "")
                + ")";
    }

    @Override
    public double crossEntropyIndex(CeProblem p, long from, long to) {
        if (p.s() == 1 && p.c() >= ALONG_CLASSES_MIN_C) {
            return AlongClasses.index(p, from, to);
        }
        if (p.s() == 1 || p.s() >= V) {
            return AcrossPositions.index(p, from, to);
        }
        return SCALAR.crossEntropyIndex(p, from, to);
    }

    @Override
    public double crossEntropyProb(CeProblem p, long from, long to) {
        if (p.s() == 1 && p.c() >= V) {
            return AlongClasses.prob(p, from, to);
        }
        return SCALAR.crossEntropyProb(p, from, to);
    }

    @Override
    public double nllLoss(CeProblem p, long from, long to) {
        return SCALAR.nllLoss(p, from, to);
    }
}
