package dev.vecloss.internal.panama;

import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API statics, kept apart from the classes that decide whether the Vector API may be
 * used at all (as Lucene's {@code PanamaVectorConstants}): loading this class is what needs the
 * incubator module.
 */
final class PanamaConstants {
    private PanamaConstants() {}

    /** The machine's widest float vectors, in bits: 512 on AVX-512, 256 on AVX2, 128 on NEON. */
    static final int MACHINE_BITS = FloatVector.SPECIES_PREFERRED.vectorBitSize();

    /**
     * The vector width the kernels run at: the machine's, or the narrower one asked for by the
     * system property {@code vecloss.vectorBits} (128, 256 or 512), so that an AVX-512 machine
     * can run, and test, the 8- and 4-lane paths of AVX2 and NEON machines (as Lucene's
     * {@code tests.vectorsize}). A width above the machine's gives the machine's.
     */
    static final int BITS = Math.min(MACHINE_BITS, dev.vecloss.internal.KernelProvider.requestedVectorBits(System.getProperty("vecloss.vectorBits")));

    /** The float species of {@link #BITS}: 16 lanes at 512 bits, 8 at 256, 4 at 128. */
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.vectorBitSize() == BITS
            ? FloatVector.SPECIES_PREFERRED
            : VectorSpecies.of(float.class, VectorShape.forBitSize(BITS));

    /** The int species of the same width and lane count as {@link #F}: float bits, indexes. */
    static final VectorSpecies<Integer> I = F.withLanes(int.class);

    /** Lanes of {@link #F}. */
    static final int V = F.length();

    /**
     * The double species of the same width (half of {@link #V}'s lanes), for the kernels that
     * compute in double: a float vector converts to two of them ({@code convertShape(F2D, D, 0 or 1)}).
     */
    static final VectorSpecies<Double> D = VectorSpecies.of(double.class, VectorShape.forBitSize(BITS));

    /** Segments hold little-endian data (as .npy files do), whatever the platform. */
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /**
     * Rows with at least this many classes are vectorised along the class axis; narrower rows
     * are transposed, a block of {@link #V} rows at a time, and vectorised across rows. Measured
     * on AVX-512 (16 lanes): across rows is 1.3 to 2x faster up to C = 127 (the per-row finish
     * of the other loop costs as much as a hundred exponentials), the two are even at 128; on
     * AVX2 (8 lanes, the table exponential, 256 x 100): across rows 0.85 G/s, along the classes
     * 0.55 (best of runs in one session). So 128 classes, or 8 vectors if wider.
     */
    static final int ALONG_CLASSES_MIN_C = Math.max(8 * V, 128);

    /**
     * The start value of a running maximum: the most negative finite float, so that a lane that
     * has seen only -inf yet still has exp(x - max) = 0 rather than exp(-inf + inf) = NaN.
     */
    static final float LOWEST = -Float.MAX_VALUE;
}
