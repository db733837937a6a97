package dev.vecloss.internal.panama;

import static dev.vecloss.internal.panama.PanamaConstants.F;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Vector functions the Vector API computes too slowly for a once-per-position finish. On the
 * machines measured, {@code lanewise(LOG1P)} and {@code lanewise(LOG)} run at a tenth of the
 * speed of {@code EXP}; a position of a 21-class problem needs 21 exponentials and one
 * logarithm, so the logarithm would cost as much as all the exponentials.
 */
final class VectorMath {
    private VectorMath() {}

    private static final float LN2_HI = 0.693145752f; // ln 2 split so that e * LN2_HI is exact
    private static final float LN2_LO = 1.42860677e-6f;
    private static final float SQRT2 = 1.41421356f;

    /**
     * {@code log1p(u)} for {@code u >= 0}, +inf and NaN (as {@code Math.log1p}), within about
     * 2 ulps: {@code w = 1 + u = 2^e * f} with {@code f} in {@code [sqrt(1/2), sqrt(2))},
     * {@code log(f) = 2 atanh(t)}, {@code t = (f - 1)/(f + 1)} by its odd series to
     * {@code t^9}, plus the rounding error of {@code 1 + u} as the first-order correction
     * {@code (u - (w - 1)) / w}.
     */
    static FloatVector log1pNonNegative(FloatVector u) {
        FloatVector w = u.add(1f);
        FloatVector corr = u.sub(w.sub(1f)).div(w);
        IntVector bits = w.reinterpretAsInts();
        IntVector e = bits.lanewise(VectorOperators.ASHR, 23).sub(127);
        FloatVector f = bits.and(0x007fffff).or(0x3f800000).reinterpretAsFloats();
        VectorMask<Float> high = f.compare(VectorOperators.GT, SQRT2);
        f = f.blend(f.mul(0.5f), high);
        FloatVector ef = ((FloatVector) e.convert(VectorOperators.I2F, 0)).add(FloatVector.zero(F).blend(1f, high));
        FloatVector t = f.sub(1f).div(f.add(1f));
        FloatVector t2 = t.mul(t);
        FloatVector poly = t2.fma(1f / 9, 1f / 7)
                .fma(t2, FloatVector.broadcast(F, 1f / 5))
                .fma(t2, FloatVector.broadcast(F, 1f / 3))
                .fma(t2, FloatVector.broadcast(F, 1f));
        FloatVector logF = t.mul(2f).mul(poly);
        FloatVector r = ef.fma(FloatVector.broadcast(F, LN2_LO), logF.add(corr)).add(ef.mul(LN2_HI));
        // +inf stays +inf, NaN stays NaN; exact 0 for 0
        VectorMask<Float> special = u.test(VectorOperators.IS_NAN).or(u.compare(VectorOperators.EQ, Float.POSITIVE_INFINITY));
        return r.blend(u, special.or(u.compare(VectorOperators.EQ, 0f)));
    }
}
