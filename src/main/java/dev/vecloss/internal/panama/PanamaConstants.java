package dev.vecloss.internal.panama;

import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API statics, kept apart from the classes that decide whether the Vector API may be
 * used at all (as Lucene's {@code PanamaVectorConstants}): loading this class is what needs the
 * incubator module.
 */
final class PanamaConstants {
    private PanamaConstants() {}

    /** The widest float species of the machine: 8 lanes on AVX2, 16 on AVX-512, 4 on NEON. */
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    /** Lanes of {@link #F}. */
    static final int V = F.length();

    /** Segments hold little-endian data (as .npy files do), whatever the platform. */
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /**
     * Rows with at least this many classes are vectorised along the class axis; narrower rows
     * are transposed, a block of {@link #V} rows at a time, and vectorised across rows. Measured
     * on AVX-512 (16 lanes): across rows is 1.3 to 2x faster up to C = 127 (the per-row finish
     * of the other loop costs as much as a hundred exponentials), the two are even at 128.
     */
    static final int ALONG_CLASSES_MIN_C = 8 * V;

    /**
     * The start value of a running maximum: the most negative finite float, so that a lane that
     * has seen only -inf yet still has exp(x - max) = 0 rather than exp(-inf + inf) = NaN.
     */
    static final float LOWEST = -Float.MAX_VALUE;
}
