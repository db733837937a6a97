package dev.vecloss.internal;

import java.util.Arrays;

/**
 * The exact sum of any number of doubles, rounded once when read: a fixed-point accumulator
 * (a "superaccumulator") wide enough for every finite double, so that adding is exact and the
 * result does not depend on the order of the additions, on how they were split between
 * accumulators, or on the order in which those were combined. That is what lets a reduction over
 * batches, threads or machines give the bits of the one-call reduction.
 *
 * <p>Every finite double is an integer multiple of 2^-1074. The sum, in units of 2^-1074, is kept
 * as {@link #DIGITS} signed 64-bit digits of weight 2^(32 i): each addition adds the 53-bit
 * significand, shifted, to three digits as 32-bit pieces, and the digits' carries are propagated
 * only every 2^30 additions, so an addition costs a few integer operations and no branch on the
 * value. Infinities and NaN are counted aside and give IEEE's answer ({@code inf + -inf} is NaN).
 * {@link #get} rounds to nearest, ties to even; a zero sum is {@code +0.0}, as a loop that
 * starts from {@code 0.0} gives.
 *
 * <p>Not thread-safe: one per thread, combined with {@link #add(ExactSum)}.
 */
public final class ExactSum {
    /**
     * Digits of 32 bits: the significand of the largest double (2^1023 times 53 bits) sits at bit
     * 2097 of the units of 2^-1074, shifted by up to 31 within its digit, plus 63 bits of carries:
     * 68 digits cover 2176 bits.
     */
    static final int DIGITS = 68;
    private static final long MASK = 0xffff_ffffL;
    /** Additions between carry propagations: each adds less than 2^33 to a digit, so 2^29 of them stay below 2^62. */
    private static final int SPAN = 1 << 29;

    private final long[] d = new long[DIGITS];
    private int pending;
    private long posInf, negInf, nan;
    private boolean empty = true;

    /** Adds {@code v} exactly. */
    public void add(double v) {
        long bits = Double.doubleToRawLongBits(v);
        int e = (int) (bits >>> 52) & 0x7ff;
        long m = bits & 0x000f_ffff_ffff_ffffL;
        empty = false;
        if (e == 0x7ff) {
            special(m, bits < 0);
            return;
        }
        if (e == 0) {
            e = 1; // subnormal: the same unit as the smallest normal, no hidden bit
        } else {
            m |= 1L << 52;
        }
        int shift = e - 1; // the significand's lowest bit, in units of 2^-1074
        int k = shift >>> 5, r = shift & 31;
        long lo = (m & MASK) << r; // at most 63 bits
        long hi = (m >>> 32) << r; // at most 52 bits
        if (bits < 0) {
            d[k] -= lo & MASK;
            d[k + 1] -= (lo >>> 32) + (hi & MASK);
            d[k + 2] -= hi >>> 32;
        } else {
            d[k] += lo & MASK;
            d[k + 1] += (lo >>> 32) + (hi & MASK);
            d[k + 2] += hi >>> 32;
        }
        if (++pending == SPAN) {
            normalize();
        }
    }

    /** Adds {@code a[from, to)} exactly. */
    public void add(float[] a, int from, int to) {
        for (int i = from; i < to; i++) {
            add(a[i]);
        }
    }

    private void special(long m, boolean negative) {
        if (m != 0) {
            nan++;
        } else if (negative) {
            negInf++;
        } else {
            posInf++;
        }
    }

    /** Adds another accumulator's sum exactly ({@code other} is left as it was, up to its carries). */
    public void add(ExactSum other) {
        if (other.empty) {
            return;
        }
        other.normalize();
        normalize();
        for (int i = 0; i < DIGITS; i++) {
            d[i] += other.d[i];
        }
        pending = 1;
        posInf += other.posInf;
        negInf += other.negInf;
        nan += other.nan;
        empty = false;
    }

    /** Forgets everything added: the sum of nothing, {@code 0.0}. */
    public void clear() {
        Arrays.fill(d, 0);
        pending = 0;
        posInf = negInf = nan = 0;
        empty = true;
    }

    /**
     * Propagates carries: every digit but the top one in [0, 2^32), the top one signed, so that
     * the digits are a two's-complement number (the same value).
     */
    private void normalize() {
        long carry = 0;
        for (int i = 0; i < DIGITS - 1; i++) {
            long v = d[i] + carry;
            d[i] = v & MASK;
            carry = v >> 32;
        }
        d[DIGITS - 1] += carry;
        pending = 0;
    }

    /** The sum, rounded to the nearest double (ties to even); NaN or infinite as IEEE summation gives. */
    public double get() {
        if (nan > 0 || (posInf > 0 && negInf > 0)) {
            return Double.NaN;
        }
        if (posInf > 0) {
            return Double.POSITIVE_INFINITY;
        }
        if (negInf > 0) {
            return Double.NEGATIVE_INFINITY;
        }
        normalize();
        boolean negative = d[DIGITS - 1] < 0;
        // the magnitude's digits, without changing the state
        long[] mag = negative ? negated() : d;
        int h = DIGITS - 1;
        while (h >= 0 && mag[h] == 0) {
            h--;
        }
        if (h < 0) {
            return 0.0;
        }
        double r = round(mag, h);
        return negative ? -r : r;
    }

    /** A per-thread array for the magnitude of a negative sum, so that {@link #get} allocates nothing. */
    private static final ThreadLocal<long[]> NEGATED = ThreadLocal.withInitial(() -> new long[DIGITS]);

    private long[] negated() {
        long[] m = NEGATED.get();
        long carry = 0;
        for (int i = 0; i < DIGITS; i++) {
            long v = -d[i] + carry;
            m[i] = v & MASK;
            carry = v >> 32;
        }
        return m;
    }

    /** The magnitude whose highest non-zero digit is {@code h}, rounded to a double. */
    private static double round(long[] mag, int h) {
        // the 64 bits from the leading one down, and whether any bit below them is set
        long top = mag[h];
        int lz = Long.numberOfLeadingZeros(top) - 32; // leading zeros within the 32-bit digit
        long d1 = h >= 1 ? mag[h - 1] : 0, d2 = h >= 2 ? mag[h - 2] : 0;
        long t = (top << (32 + lz)) | (d1 << lz) | (lz == 0 ? 0 : d2 >>> (32 - lz));
        boolean sticky = lz != 0 && (d2 & ((1L << (32 - lz)) - 1)) != 0 || lz == 0 && d2 != 0;
        for (int i = h - 3; i >= 0 && !sticky; i--) {
            sticky = mag[i] != 0;
        }
        // the leading one is bit 63 of t; its weight, in units of 2^-1074, is 2^(32 h + 31 - lz).
        // Halve t (keeping the lost bit as sticky) so that it converts as a positive long: the
        // conversion rounds to nearest even on the 53 bits, the sticky bit below the rounding bit
        // breaks ties correctly.
        long half = (t >>> 1) | (t & 1) | (sticky ? 1 : 0);
        double r = (double) half; // in [2^62, 2^63], rounded once
        int exp = 32 * h + 31 - lz - 62 - 1074; // weight of half's bit 0
        // scalb is exact here: a result below 2^-1022 has fewer than 53 significant bits (every
        // bit of the sum is at or above 2^-1074), so r held it exactly; above, no rounding occurs
        return Math.scalb(r, exp);
    }

    /**
     * The state as longs (the normalized digits, then the counts of +inf, -inf and NaN, then 1 if
     * nothing was added), for {@link #addLongs}: the same value, whatever order built it, gives the same longs.
     */
    public long[] toLongs() {
        normalize();
        long[] out = new long[DIGITS + 4];
        System.arraycopy(d, 0, out, 0, DIGITS);
        out[DIGITS] = posInf;
        out[DIGITS + 1] = negInf;
        out[DIGITS + 2] = nan;
        out[DIGITS + 3] = empty ? 1 : 0;
        return out;
    }

    /** The number of longs of {@link #toLongs}. */
    public static final int LONGS = DIGITS + 4;

    /**
     * Adds a state written by {@link #toLongs} ({@code s[off, off + LONGS)}).
     *
     * @throws IllegalArgumentException if the longs are not such a state
     */
    public void addLongs(long[] s, int off) {
        if (s.length - off < LONGS) {
            throw new IllegalArgumentException("an exact sum's state has " + LONGS + " longs, got " + (s.length - off));
        }
        long flags = s[off + DIGITS + 3];
        for (int i = 0; i < DIGITS - 1; i++) {
            if (s[off + i] < 0 || s[off + i] > MASK) {
                throw new IllegalArgumentException("not an exact sum's state: digit " + i + " is " + s[off + i]);
            }
        }
        // the top digit holds the sign and bits from 2^(32 * 67): a sum of 2^63 largest doubles
        // reaches 2^(2098 + 63) units, digit 67 below 2^18; far larger is a forged state, whose
        // merges could overflow
        long top = s[off + DIGITS - 1];
        if (top > MASK || top < -MASK) {
            throw new IllegalArgumentException("not an exact sum's state: top digit " + top);
        }
        if ((flags & ~1L) != 0 || s[off + DIGITS] < 0 || s[off + DIGITS + 1] < 0 || s[off + DIGITS + 2] < 0) {
            throw new IllegalArgumentException("not an exact sum's state: bad counts or flags");
        }
        if ((flags & 1) != 0) {
            return; // empty
        }
        normalize();
        for (int i = 0; i < DIGITS; i++) {
            d[i] += s[off + i];
        }
        pending = 1;
        posInf += s[off + DIGITS];
        negInf += s[off + DIGITS + 1];
        nan += s[off + DIGITS + 2];
        empty = false;
    }
}
