package dev.vecloss.internal.panama;

import static dev.vecloss.internal.panama.PanamaConstants.D;
import static dev.vecloss.internal.panama.PanamaConstants.F;
import static dev.vecloss.internal.panama.PanamaConstants.I;

import dev.vecloss.internal.Mem;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;

/**
 * The exponential, log1p and lane sum of the kernels, written with IEEE arithmetic (add,
 * multiply, fused multiply-add, divide) and bit moves only, over L1 buffers.
 *
 * <p>Why not {@code lanewise(EXP)}, {@code LOG1P} and {@code reduceLanes(ADD)}: their results are
 * not specified to the bit, and they differ between the JIT-compiled intrinsic (a vector math
 * library, within an ulp or so) and the Java fallback that runs before compilation
 * ({@code Math.exp} per lane, a sequential lane sum). A loss computed while the JIT warms up would
 * then differ in its last bits from the same loss a second later, and from one computed on
 * another thread: the reductions would not be deterministic. The functions below give the same
 * bits compiled or interpreted. They are also fast: the Vector API's {@code LOG1P} ran at
 * 0.09 G elements/s against 4.0 for its {@code EXP} (JMH {@code ExpCeilingBenchmark}, AVX-512);
 * its {@code LOG} is as fast as {@code EXP}, but {@code log(1 + u)} loses the small {@code u}
 * that a confident row's loss is made of.
 *
 * <p>Why arrays in, arrays out: the kernels stage their exponentials through these loops rather
 * than call a function of a vector. C2 inlines a bounded number of nodes per compilation and
 * judges a call made once per block cold; a vector passed to or returned from a call left out of
 * line is boxed, every time (megabytes per call were seen). A method here takes and returns no
 * vector, so it needs no inlining to be fast.
 */
final class VectorMath {
    private VectorMath() {}

    /** 8 / ln 2: {@code x} times this, rounded, is the {@code n} of {@code x = n ln2/8 + r}. */
    private static final float EXP_SCALE = 11.5415602f;
    /** ln2 / 8 in two parts: the float nearest it, and the rest. */
    private static final float EXP_LN2_8_HI = (float) (Math.log(2) / 8);
    private static final float EXP_LN2_8_LO = (float) (Math.log(2) / 8 - EXP_LN2_8_HI);
    /** 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer. */
    private static final float ROUND = 12582912f;
    /**
     * {@code (exp(r) - 1 - r) / r^2 = 1/2 + C3 r + C4 r^2} on {@code |r| <= ln2/16}: the minimax
     * (Remez, 40 digits) of degree 2 with 1/2 kept exact, error 3.8e-9 in {@code exp(r)} (0.06 of
     * float's half ulp at 1).
     */
    private static final float EXP_C3 = 0.166658819f, EXP_C4 = 0.0411204733f;
    /**
     * Inside [-87, 87] exp(x) is a normal float; from -104 to -87, above 87, and for NaN, the slow
     * path ({@link #expSpecial}).
     */
    private static final float EXP_FAST = 87f;
    /** Below this, exp(x) is below 2^-150 and rounds to 0. */
    private static final float EXP_ZERO = -104f;
    /** A reference of 0 in every lane. */
    private static final float[] ZEROS = new float[F.length()];
    /** A shift of 1 in every lane ({@link #log1pInPlace}). */
    private static final float[] ONES = new float[F.length()];

    static {
        Arrays.fill(ONES, 1f);
    }
    /** The bits of 2^(j/8), j = 0..7, in every lane: lane l holds entry {@code l mod 8}. */
    private static final int[] EXP_TABLE = new int[Math.max(8, F.length())];

    /** {@link #EXP_TABLE} times 2^64: the sums' exponentials of non-positive arguments, unscaled at the end. */
    private static final int[] EXP_TABLE_64 = new int[EXP_TABLE.length];
    /** Arguments below this give 0 in the sums' loops (exp(-105) is under half of 2^-149). */
    private static final float EXP_FLOOR = -105f;

    static {
        for (int l = 0; l < EXP_TABLE.length; l++) {
            EXP_TABLE[l] = Float.floatToRawIntBits((float) Math.pow(2, (l % 8) / 8.0));
            EXP_TABLE_64[l] = EXP_TABLE[l] + (64 << 23);
        }
    }

    /**
     * {@code dst[i] = exp(src[i] - m[i mod V])} for {@code i} in {@code [0, n)}, {@code n} a
     * multiple of the lane count: a reference per lane (fill {@code m} with one value for a
     * scalar reference). {@code src} and {@code dst} may be the same array.
     *
     * <p>How: {@code x = (8k + j) ln2/8 + r}, {@code n = 8k + j} the integer nearest
     * {@code 8x/ln2}, {@code |r| <= ln2/16} (ln2/8 in two parts, each product exact in the fused
     * multiply-add), {@code exp(x) = 2^k 2^(j/8) exp(r)}: {@code 2^(j/8)} from a table of eight
     * floats in a vector register, read with a lane permutation ({@code selectFrom}), {@code 2^k}
     * added to its exponent bits, {@code exp(r) - 1 = r + r^2 (1/2 + C3 r + C4 r^2)}, and
     * {@code T + T (exp(r) - 1)} in one fused multiply-add; 0 blended in below -104 (-inf among
     * them: the kernels' masked entries). About twenty vector operations, no division, the same
     * in every lane: the same bits at any vector width, compiled or interpreted (IEEE operations
     * only, no {@code lanewise(EXP)}).
     *
     * <p>Accuracy, measured against {@code Math.exp} (VectorMathTest): within 0.91 ulp for
     * arguments in {@code [-87, 87]}, where the result is a normal float. A pass before the loop
     * ({@link #anySlow}) finds an argument in {@code [-104, -87)}, above 87, or NaN; then every
     * vector of the call goes through {@link #expSpecial}, which computes ordinary lanes with the
     * same operations (so a lane's bits do not depend on its neighbours), and gives
     * subnormal results for {@code [-104, -87)} (within an ulp of 2^-149: one more rounding), the
     * result or +inf above 87, NaN for NaN. So a loss below float32's normal range (a row whose
     * target leads by 90 to 103) is the value the scalar kernels give, not 0.
     */
    static void expInto(float[] src, float[] dst, int n, float[] m) {
        if (anySlow(src, n, m)) { // rare: every vector by the general path, whose ordinary lanes are the same
            for (int i = 0; i < n; i += F.length()) {
                expSpecial(src, i, m, dst);
            }
            return;
        }
        final FloatVector mv = FloatVector.fromArray(F, m, 0);
        final IntVector table = IntVector.fromArray(I, EXP_TABLE, 0);
        final IntVector table2 = IntVector.fromArray(I, EXP_TABLE, EXP_TABLE.length - F.length());
        for (int i = 0; i < n; i += F.length()) {
            FloatVector x = FloatVector.fromArray(F, src, i).sub(mv);
            // the exponential, written out in each loop (see the note after expSumRange)
            FloatVector t = x.fma(EXP_SCALE, ROUND);
            IntVector bits = t.reinterpretAsInts();
            IntVector j = bits.and(7);
            FloatVector tk = (F.length() >= 8 ? j.selectFrom(table) : j.selectFrom(table, table2))
                    .add(bits.lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.LSHL, 23)).reinterpretAsFloats();
            FloatVector nf = t.sub(ROUND);
            FloatVector r = nf.fma(FloatVector.broadcast(F, -EXP_LN2_8_LO), nf.fma(FloatVector.broadcast(F, -EXP_LN2_8_HI), x));
            FloatVector w = r.mul(r).fma(r.fma(EXP_C4, EXP_C3).fma(r, FloatVector.broadcast(F, 0.5f)), r);
            FloatVector e = tk.fma(w, tk).blend(0f, x.compare(VectorOperators.LT, EXP_ZERO));
            e.intoArray(dst, i);
        }
    }

    /**
     * Whether an argument {@code a[i] - m[i mod V]}, {@code i} in {@code [0, n)}, needs
     * {@link #expSpecial} (in [-104, -87), above 87, or NaN). A pass of its own, before the
     * exponentials: a branch to the slow path inside their loop kept its vectors alive across a
     * call that C2 could not see through, and it boxed them (21 bytes per element in JMH).
     */
    private static boolean anySlow(float[] a, int n, float[] m) {
        final FloatVector mv = FloatVector.fromArray(F, m, 0);
        for (int i = 0; i < n; i += F.length()) {
            FloatVector x = FloatVector.fromArray(F, a, i).sub(mv);
            if (!x.abs().compare(VectorOperators.LE, EXP_FAST).or(x.compare(VectorOperators.LT, EXP_ZERO)).allTrue()) {
                return true;
            }
        }
        return false;
    }

    /**
     * {@code sum_i exp(a[i] - m)} over {@code [from, to)}, whole vectors, as {@link #expInto}
     * followed by {@link #sum}, in one pass that stores nothing. Each exponential is computed at
     * 2^64 times its size and scaled back (the same bits as {@link #expInto}'s, subnormal
     * results of [-104, -87) included, with no slow path for them); an argument above 0 (or
     * a NaN of sign 0) is found in the loop (the largest bits, as integers), and then the range
     * is done again by {@link #expSpecial}, vector by vector, its exponentials replacing the
     * arguments in {@code a}, then summed in the same order.
     */
    static float expSum(float[] a, int from, int to, float m) {
        final FloatVector mv = FloatVector.broadcast(F, m);
        final IntVector table = IntVector.fromArray(I, EXP_TABLE_64, 0);
        final IntVector table2 = IntVector.fromArray(I, EXP_TABLE_64, EXP_TABLE_64.length - F.length());
        FloatVector s = FloatVector.zero(F);
        IntVector top = IntVector.broadcast(I, Integer.MIN_VALUE);
        for (int i = from; i < to; i += F.length()) {
            FloatVector x0 = FloatVector.fromArray(F, a, i).sub(mv);
            // the arguments' largest bits as integers: above 0 for a positive argument (see expSumRange)
            top = top.max(x0.reinterpretAsInts());
            FloatVector x = x0.blend(EXP_FLOOR, x0.compare(VectorOperators.LT, EXP_FLOOR));
            // the exponential of an argument <= 0 at 2^64 times its size, written out in each loop
            FloatVector t = x.fma(EXP_SCALE, ROUND);
            IntVector bits = t.reinterpretAsInts();
            IntVector j = bits.and(7);
            FloatVector tk = (F.length() >= 8 ? j.selectFrom(table) : j.selectFrom(table, table2))
                    .add(bits.lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.LSHL, 23)).reinterpretAsFloats();
            FloatVector nf = t.sub(ROUND);
            FloatVector r = nf.fma(FloatVector.broadcast(F, -EXP_LN2_8_LO), nf.fma(FloatVector.broadcast(F, -EXP_LN2_8_HI), x));
            FloatVector w = r.mul(r).fma(r.fma(EXP_C4, EXP_C3).fma(r, FloatVector.broadcast(F, 0.5f)), r);
            s = s.add(tk.fma(w, tk).mul(0x1p-64f));
        }
        if (top.compare(VectorOperators.GT, 0).anyTrue()) { // rare: again, every vector by the general path
            for (int i = from; i < to; i += F.length()) {
                FloatVector.fromArray(F, a, i).sub(mv).intoArray(a, i);
                expSpecial(a, i, ZEROS, a);
            }
            return sum(a, from, to);
        }
        final int v = F.length(); // the lane tree of sum, written out (see there)
        if (v > 8) {
            s = s.add(s.rearrange(HALF_8));
        }
        if (v > 4) {
            s = s.add(s.rearrange(HALF_4));
        }
        s = s.add(s.rearrange(HALF_2));
        return s.add(s.rearrange(HALF_1)).lane(0);
    }

    /**
     * The sums of a block of positions laid out class by class ({@code AcrossPositions}): for
     * each lane {@code l}, {@code rest[l] = sum_{k < c} exp(a[kV + l] - m[l])}, and
     * {@code dst[cV + l] = exp(a[cV + l] - m[l])} (the lane's target term, kept out of the sum);
     * with {@code store}, every {@code exp(a[kV + l] - m[l])} into {@code dst[kV + l]} as well
     * (the gradient's). {@code m[l]} is the lane's maximum, so every argument is {@code <= 0},
     * -inf (a masked entry), or NaN.
     *
     * <p>The exponential is {@link #expInto}'s computed at 2^64 times its size, as the sums'
     * ({@link #expSum(float[], int, int, float)}): arguments in {@code [-104, 0]} give normal
     * floats, so there is no pass looking for the slow path and no slow path; below -104 (and
     * -inf) the result is blended to 0. The values stored are unscaled by 2^-64: the same bits
     * as {@link #expInto}'s, subnormal results included (one rounding, as its slow path). NaN
     * (an argument {@code x - m} of a NaN logit, or {@code -inf - -inf}, {@code inf - inf})
     * goes through the fused multiply-adds and makes the lane's sum NaN.
     *
     * <p>The sum is as if in twice the precision, then rounded once: the float nearest to the
     * exact sum (but in rare near-ties) whatever the order of the classes, so that a position's
     * gradient does not change when the classes are permuted. It starts at 2^64 and every term
     * is at most 2^64, so the rounding error of each addition is exactly {@code (acc - r) + e}
     * (Dekker's Fast2Sum, 2 operations where TwoSum takes 5); the errors are summed apart, and
     * {@code acc - 2^64} is exact. Terms below 2^-24 of the sum all go to the errors' sum, which
     * then is the plain sum of a confident position's tiny terms.
     */
    static void expSumAcross(float[] a, float[] dst, int c, float[] m, boolean store, float[] rest) {
        final int v = F.length();
        final FloatVector mv = FloatVector.fromArray(F, m, 0);
        final IntVector table = IntVector.fromArray(I, EXP_TABLE_64, 0);
        final IntVector table2 = IntVector.fromArray(I, EXP_TABLE_64, EXP_TABLE_64.length - v);
        FloatVector acc = FloatVector.broadcast(F, 0x1p64f);
        FloatVector lost = FloatVector.zero(F);
        for (int k = 0; k < c; k++) {
            FloatVector x = FloatVector.fromArray(F, a, k * v).sub(mv);
            // the exponential at 2^64 times its size, written out (see the note after stage)
            FloatVector t = x.fma(EXP_SCALE, ROUND);
            IntVector bits = t.reinterpretAsInts();
            IntVector j = bits.and(7);
            FloatVector tk = (v >= 8 ? j.selectFrom(table) : j.selectFrom(table, table2))
                    .add(bits.lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.LSHL, 23)).reinterpretAsFloats();
            FloatVector nf = t.sub(ROUND);
            FloatVector r = nf.fma(FloatVector.broadcast(F, -EXP_LN2_8_LO), nf.fma(FloatVector.broadcast(F, -EXP_LN2_8_HI), x));
            FloatVector w = r.mul(r).fma(r.fma(EXP_C4, EXP_C3).fma(r, FloatVector.broadcast(F, 0.5f)), r);
            FloatVector e = tk.fma(w, tk).blend(0f, x.compare(VectorOperators.LT, EXP_ZERO));
            if (store) {
                e.mul(0x1p-64f).intoArray(dst, k * v);
            }
            FloatVector s = acc.add(e);
            lost = lost.add(acc.sub(s).add(e));
            acc = s;
        }
        acc.sub(0x1p64f).add(lost).mul(0x1p-64f).intoArray(rest, 0);
        expTargets(a, c * v, m, dst);
    }

    /**
     * {@code dst[at + l] = exp(a[at + l] - m[l])}, {@code l} in {@code [0, V)}: the exponential of
     * {@link #expSumAcross}, unscaled (the same bits as {@link #expInto}'s), for the arguments
     * {@code <= 0} of a block's target logits. Arrays in and out.
     */
    private static void expTargets(float[] a, int at, float[] m, float[] dst) {
        final int v = F.length();
        final IntVector table = IntVector.fromArray(I, EXP_TABLE_64, 0);
        final IntVector table2 = IntVector.fromArray(I, EXP_TABLE_64, EXP_TABLE_64.length - v);
        FloatVector x = FloatVector.fromArray(F, a, at).sub(FloatVector.fromArray(F, m, 0));
        FloatVector t = x.fma(EXP_SCALE, ROUND);
        IntVector bits = t.reinterpretAsInts();
        IntVector j = bits.and(7);
        FloatVector tk = (v >= 8 ? j.selectFrom(table) : j.selectFrom(table, table2))
                .add(bits.lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.LSHL, 23)).reinterpretAsFloats();
        FloatVector nf = t.sub(ROUND);
        FloatVector r = nf.fma(FloatVector.broadcast(F, -EXP_LN2_8_LO), nf.fma(FloatVector.broadcast(F, -EXP_LN2_8_HI), x));
        FloatVector w = r.mul(r).fma(r.fma(EXP_C4, EXP_C3).fma(r, FloatVector.broadcast(F, 0.5f)), r);
        tk.fma(w, tk).blend(0f, x.compare(VectorOperators.LT, EXP_ZERO)).mul(0x1p-64f).intoArray(dst, at);
    }

    /**
     * The sums of a block of {@code V} rows of {@code c} classes laid out row by row in
     * {@code rows} (at least {@code cV + V} floats: a row's last partial vector is read whole),
     * for rows too wide to transpose cheaply ({@code AcrossPositions}): for each row {@code l},
     * its maximum {@code M} into {@code max[l]}, its target logit {@code x_y} into
     * {@code xy[cV + l]} (0 where {@code targets[l] < 0}: no target), the sum of
     * {@code exp(x_k - M)} over {@code k != y} into {@code rest[l]}, and
     * {@code exp(x_y - M)} into {@code exps[cV + l]}; with {@code store}, every
     * {@code exp(x_k - M)} into {@code exps} in the layout of {@code rows} (the target's 0), for
     * the gradient. The row's target entry in {@code rows} is set to -inf.
     *
     * <p>Each row by itself, with the operations of {@link #expSumAcross} in each lane: the
     * maximum by comparison and blend (which skips a NaN: the row's sum is NaN anyway), the
     * exponential at 2^64 times its size, the sum by Fast2Sum lane by lane; then the lanes'
     * sums and errors added in double in a fixed order and rounded once, the float nearest
     * to the exact sum (but in rare near-ties) whatever the order of the classes. A row's
     * results do not depend on the other rows of the block. {@code parts} (at least
     * {@code 2V^2} floats) and {@code lanes} (at least {@code V^2 / 2} doubles) hold each row's
     * lanes until the last row is done.
     *
     * <p>In three loops over the rows: the maxima (and the targets taken out), the sums, the
     * lanes' additions. So a row's lane reduction overlaps the next row's loads, and the -inf
     * stored at a target is in L1 long before the row's vectors are read again (a store just
     * before an overlapping vector load stalls it: 12 % of the block at C = 100); the lanes'
     * additions in double after each row's exponentials cost a tenth of the block, here a few
     * percent.
     */
    static void expSumRows(float[] rows, int c, float[] targets, float[] max, float[] xy, float[] rest, float[] exps,
            boolean store, float[] parts, double[] lanes) {
        final int v = F.length();
        final int full = c - c % v;
        final boolean partial = full < c;
        final VectorMask<Float> out = F.indexInRange(full, c).not(); // the lanes past a row's end
        final IntVector table = IntVector.fromArray(I, EXP_TABLE_64, 0);
        final IntVector table2 = IntVector.fromArray(I, EXP_TABLE_64, EXP_TABLE_64.length - v);
        // the rows' maxima first, then their sums: the latency of a row's lane reduction is
        // hidden behind the next row's loads (a row's sums wait on its maximum)
        for (int l = 0; l < v; l++) {
            final int base = l * c;
            // two running maxima, by comparison and blend
            FloatVector m0 = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            FloatVector m1 = m0;
            int i = 0;
            for (; i + 2 * v <= full; i += 2 * v) {
                FloatVector a0 = FloatVector.fromArray(F, rows, base + i);
                FloatVector a1 = FloatVector.fromArray(F, rows, base + i + v);
                m0 = m0.blend(a0, a0.compare(VectorOperators.GT, m0));
                m1 = m1.blend(a1, a1.compare(VectorOperators.GT, m1));
            }
            for (; i < full; i += v) {
                FloatVector a0 = FloatVector.fromArray(F, rows, base + i);
                m0 = m0.blend(a0, a0.compare(VectorOperators.GT, m0));
            }
            if (partial) {
                FloatVector a1 = FloatVector.fromArray(F, rows, base + full).blend(Float.NEGATIVE_INFINITY, out);
                m1 = m1.blend(a1, a1.compare(VectorOperators.GT, m1));
            }
            m0 = m0.blend(m1, m1.compare(VectorOperators.GT, m0));
            // the lanes' maximum by the lane tree of sum (no NaN is left)
            if (v > 8) {
                m1 = m0.rearrange(HALF_8);
                m0 = m0.blend(m1, m1.compare(VectorOperators.GT, m0));
            }
            if (v > 4) {
                m1 = m0.rearrange(HALF_4);
                m0 = m0.blend(m1, m1.compare(VectorOperators.GT, m0));
            }
            m1 = m0.rearrange(HALF_2);
            m0 = m0.blend(m1, m1.compare(VectorOperators.GT, m0));
            m1 = m0.rearrange(HALF_1);
            max[l] = m0.blend(m1, m1.compare(VectorOperators.GT, m0)).lane(0);
            // the target out of the sum here, long before the row's vectors are read again (a
            // store just before an overlapping vector load stalls it)
            final int y = (int) targets[l];
            if (y >= 0) {
                xy[c * v + l] = rows[base + y];
                rows[base + y] = Float.NEGATIVE_INFINITY; // its exponential is 0
            } else {
                xy[c * v + l] = 0f;
            }
        }
        for (int l = 0; l < v; l++) {
            final int base = l * c;
            final float mx = max[l];
            int i;
            final FloatVector mv = FloatVector.broadcast(F, mx);
            FloatVector acc = FloatVector.broadcast(F, 0x1p64f);
            FloatVector lost = FloatVector.zero(F);
            for (i = 0; i < full; i += v) {
                FloatVector x = FloatVector.fromArray(F, rows, base + i).sub(mv);
                // the exponential at 2^64 times its size, written out (see the note after stage)
                FloatVector t = x.fma(EXP_SCALE, ROUND);
                IntVector bits = t.reinterpretAsInts();
                IntVector j = bits.and(7);
                FloatVector tk = (v >= 8 ? j.selectFrom(table) : j.selectFrom(table, table2))
                        .add(bits.lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.LSHL, 23)).reinterpretAsFloats();
                FloatVector nf = t.sub(ROUND);
                FloatVector r = nf.fma(FloatVector.broadcast(F, -EXP_LN2_8_LO), nf.fma(FloatVector.broadcast(F, -EXP_LN2_8_HI), x));
                FloatVector w = r.mul(r).fma(r.fma(EXP_C4, EXP_C3).fma(r, FloatVector.broadcast(F, 0.5f)), r);
                FloatVector e = tk.fma(w, tk).blend(0f, x.compare(VectorOperators.LT, EXP_ZERO));
                if (store) {
                    e.mul(0x1p-64f).intoArray(exps, base + i);
                }
                FloatVector s = acc.add(e);
                lost = lost.add(acc.sub(s).add(e));
                acc = s;
            }
            if (partial) { // the lanes past the row's end (the next row's first) as -inf: 0
                FloatVector x = FloatVector.fromArray(F, rows, base + full).sub(mv).blend(Float.NEGATIVE_INFINITY, out);
                FloatVector t = x.fma(EXP_SCALE, ROUND);
                IntVector bits = t.reinterpretAsInts();
                IntVector j = bits.and(7);
                FloatVector tk = (v >= 8 ? j.selectFrom(table) : j.selectFrom(table, table2))
                        .add(bits.lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.LSHL, 23)).reinterpretAsFloats();
                FloatVector nf = t.sub(ROUND);
                FloatVector r = nf.fma(FloatVector.broadcast(F, -EXP_LN2_8_LO), nf.fma(FloatVector.broadcast(F, -EXP_LN2_8_HI), x));
                FloatVector w = r.mul(r).fma(r.fma(EXP_C4, EXP_C3).fma(r, FloatVector.broadcast(F, 0.5f)), r);
                FloatVector e = tk.fma(w, tk).blend(0f, x.compare(VectorOperators.LT, EXP_ZERO));
                if (store) { // the next row's first lanes are written again with that row
                    e.mul(0x1p-64f).intoArray(exps, base + full);
                }
                FloatVector s = acc.add(e);
                lost = lost.add(acc.sub(s).add(e));
                acc = s;
            }
            // acc - 2^64 is exact; the lanes are added after the last row (see there). (Two rows
            // interleaved in this loop, each with its own sums, ran no faster: not kept.)
            acc.sub(0x1p64f).intoArray(parts, 2 * v * l);
            lost.intoArray(parts, 2 * v * l + v);
        }
        // each row's lanes, their two parts, in double in a fixed order, rounded once: a loop of
        // its own, where the rows' chains of additions overlap (after each row's exponentials
        // they cost a tenth of the block)
        final int dv = D.length();
        for (int l = 0; l < v; l++) {
            final int at = 2 * v * l;
            FloatVector hi = FloatVector.fromArray(F, parts, at);
            FloatVector lo = FloatVector.fromArray(F, parts, at + v);
            ((DoubleVector) hi.convertShape(VectorOperators.F2D, D, 0)).add((DoubleVector) lo.convertShape(VectorOperators.F2D, D, 0))
                    .add(((DoubleVector) hi.convertShape(VectorOperators.F2D, D, 1))
                            .add((DoubleVector) lo.convertShape(VectorOperators.F2D, D, 1)))
                    .intoArray(lanes, dv * l);
        }
        for (int l = 0; l < v; l++) {
            double sum = 0;
            for (int d = 0; d < dv; d++) {
                sum += lanes[dv * l + d];
            }
            rest[l] = (float) (sum * 0x1p-64);
        }
        expTargets(xy, c * v, max, exps);
    }

    /** Vectors per float partial sum in {@link #expSum(MemorySegment, long, int, float, int, float[], double[])}. */
    private static final int SUM_BLOCK = 32;

    /**
     * {@code sum_k exp(x_k - m)} over the {@code n} floats at byte {@code off} of {@code x}
     * (little-endian), but for the one at {@code skip} (a row's target; -1 or any index outside
     * {@code [0, n)} for none), straight from the segment, for {@code m} the maximum of the
     * floats (every argument {@code <= 0}). The whole vectors are summed lane-wise in float,
     * {@link #SUM_BLOCK} vectors at a time (32 terms per lane), each partial sum added to the
     * lane's double in {@code lanes} (at least {@code V}), and the lanes added in lane order;
     * plus the float sum ({@link #expSum(float[], int, int, float)}) of the vector holding
     * {@code skip} and of the last, partial one, staged in {@code tmp} (at least {@code 4V}) with
     * -inf in the skipped and absent lanes (whose exponential is 0). One call per row: the
     * staging and the calls cost as much as 200 exponentials (a call per 256 classes ran 10 %
     * slower at C = 1000).
     *
     * <p>The exponential is {@link #expInto}'s for an argument {@code <= 0}, computed at 2^64
     * times its size (the table's exponents raised by 64, arguments below -105 raised to it),
     * so that results down to 2^-150 stay normal floats: no test and no slow path per vector for
     * the far tail, and the partial sums are unscaled exactly in double. A NaN gives a NaN sum.
     * An argument above 0 (an {@code m} that is not the maximum) is found in the loop (the
     * largest bits, as integers) and the range done again element by element by
     * {@link #expSpecial}.
     *
     * <p>The loop over the segment has plain loads only: staged loads chosen inside it made C2
     * recompile it without end (profiled loop predicates), and a masked load made it too large
     * to inline the exponential, whose vectors were then boxed; a blend of the skipped lane in
     * every vector cost 5-20 % at {@code C >= 1000}.
     */
    static double expSum(MemorySegment x, long off, int n, float m, int skip, float[] tmp, double[] lanes) {
        final int v = F.length();
        final int full = n - n % v;
        final int skipAt = skip >= 0 && skip < n ? skip - skip % v : -1; // its vector
        Arrays.fill(lanes, 0, v, 0.0);
        int staged = 0; // vectors staged at tmp[2v], tmp[3v]
        if (skipAt >= 0) {
            stage(x, off, skipAt, n, tmp, 2 * v);
            tmp[2 * v + skip - skipAt] = Float.NEGATIVE_INFINITY;
            staged = 1;
        }
        if (full < n && full != skipAt) {
            stage(x, off, full, n, tmp, 2 * v + staged * v);
            staged++;
        }
        final int splitAt = skipAt >= 0 && skipAt < full ? skipAt : full;
        expSumRange(x, off, 0, splitAt, m, lanes, tmp);
        expSumRange(x, off, Math.min(splitAt + v, full), full, m, lanes, tmp);
        double s = 0;
        for (int l = 0; l < v; l++) {
            s += lanes[l];
        }
        return s + expSum(tmp, 2 * v, (2 + staged) * v, m);
    }

    /**
     * Adds {@code exp(x_k - m)} over the whole vectors {@code [from, to)} at byte {@code off} of
     * {@code x} to the lanes' doubles {@code lanes[0, V)} ({@code tmp[V, 2V)}: the slow path's
     * vector). Arrays in and out.
     */
    private static void expSumRange(MemorySegment x, long off, int from, int to, float m, double[] lanes, float[] tmp) {
        if (from >= to) {
            return;
        }
        final int v = F.length();
        final int dv = D.length();
        final FloatVector mv = FloatVector.broadcast(F, m);
        final IntVector table = IntVector.fromArray(I, EXP_TABLE_64, 0);
        final IntVector table2 = IntVector.fromArray(I, EXP_TABLE_64, EXP_TABLE_64.length - v);
        DoubleVector d0 = DoubleVector.fromArray(D, lanes, 0), d1 = DoubleVector.fromArray(D, lanes, dv);
        IntVector top = IntVector.broadcast(I, Integer.MIN_VALUE);
        for (int i0 = from; i0 < to; i0 += SUM_BLOCK * v) {
            final int i1 = Math.min(to, i0 + SUM_BLOCK * v);
            FloatVector s = FloatVector.zero(F);
            for (int i = i0; i < i1; i += v) {
                FloatVector x0 = FloatVector.fromMemorySegment(F, x, off + i * 4L, PanamaConstants.LE).sub(mv);
                // the arguments' largest bits as integers: above 0 for a positive argument (or a
                // NaN of sign 0, whose sum is NaN on either path)
                top = top.max(x0.reinterpretAsInts());
                FloatVector x1 = x0.blend(EXP_FLOOR, x0.compare(VectorOperators.LT, EXP_FLOOR));
                // the exponential at 2^64 times its size, written out in each loop (see the note after stage)
                FloatVector t = x1.fma(EXP_SCALE, ROUND);
                IntVector bits = t.reinterpretAsInts();
                IntVector j = bits.and(7);
                FloatVector tk = (v >= 8 ? j.selectFrom(table) : j.selectFrom(table, table2))
                        .add(bits.lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.LSHL, 23)).reinterpretAsFloats();
                FloatVector nf = t.sub(ROUND);
                FloatVector r = nf.fma(FloatVector.broadcast(F, -EXP_LN2_8_LO), nf.fma(FloatVector.broadcast(F, -EXP_LN2_8_HI), x1));
                FloatVector w = r.mul(r).fma(r.fma(EXP_C4, EXP_C3).fma(r, FloatVector.broadcast(F, 0.5f)), r);
                s = s.add(tk.fma(w, tk));
            }
            // 2^-64 in double: exact
            d0 = d0.add(((DoubleVector) s.convertShape(VectorOperators.F2D, D, 0)).mul(0x1p-64));
            d1 = d1.add(((DoubleVector) s.convertShape(VectorOperators.F2D, D, 1)).mul(0x1p-64));
        }
        if (top.compare(VectorOperators.GT, 0).anyTrue()) { // rare: again, element by element by the general path
            d0 = DoubleVector.fromArray(D, lanes, 0);
            d1 = DoubleVector.fromArray(D, lanes, dv);
            for (int i = from; i < to; i += v) {
                FloatVector.fromMemorySegment(F, x, off + i * 4L, PanamaConstants.LE).sub(mv).intoArray(tmp, v);
                expSpecial(tmp, v, ZEROS, tmp);
                FloatVector e = FloatVector.fromArray(F, tmp, v);
                d0 = d0.add((DoubleVector) e.convertShape(VectorOperators.F2D, D, 0));
                d1 = d1.add((DoubleVector) e.convertShape(VectorOperators.F2D, D, 1));
            }
        }
        d0.intoArray(lanes, 0);
        d1.intoArray(lanes, dv);
    }

    /**
     * {@code dst_k = a exp(x_k - m)} for the {@code n} floats at byte {@code off} of {@code x},
     * written at byte {@code dstOff} of {@code dst} (little-endian; a softmax row's gradient), in
     * one pass straight from the segment: the exponentials of {@link #expInto}, each times
     * {@code a} in float (one rounding more), the last partial vector staged in {@code tmp} (at
     * least {@code V} floats); {@code m} in each of the {@code V} lanes of {@code m}. The lanes that need the slow path are counted in the loop as in
     * {@link #expSum}; if there is any, every vector is done again by {@link #expSpecial}, whose
     * ordinary lanes are the same.
     */
    static void expScaleInto(MemorySegment x, long off, int n, float[] m, float a, MemorySegment dst, long dstOff,
            float[] tmp) {
        final int v = F.length();
        final int full = n - n % v;
        if (!expScaleRange(x, off, full, m[0], a, dst, dstOff)) {
            for (int i = 0; i < full; i += v) {
                MemorySegment.copy(x, Mem.F32, off + i * 4L, tmp, 0, v);
                expSpecial(tmp, 0, m, tmp);
                FloatVector.fromArray(F, tmp, 0).mul(a).intoMemorySegment(dst, dstOff + i * 4L, PanamaConstants.LE);
            }
        }
        if (full < n) {
            stage(x, off, full, n, tmp, 0);
            expInto(tmp, tmp, v, m);
            FloatVector.fromArray(F, tmp, 0).mul(a).intoArray(tmp, 0);
            MemorySegment.copy(tmp, 0, dst, Mem.F32, dstOff + full * 4L, n - full);
        }
    }

    /**
     * The whole vectors {@code [0, full)} of {@link #expScaleInto}; false if a lane needed the
     * slow path (the values written are then to be done again).
     */
    private static boolean expScaleRange(MemorySegment x, long off, int full, float m, float a, MemorySegment dst, long dstOff) {
        final FloatVector mv = FloatVector.broadcast(F, m);
        final FloatVector av = FloatVector.broadcast(F, a);
        final IntVector table = IntVector.fromArray(I, EXP_TABLE, 0);
        final IntVector table2 = IntVector.fromArray(I, EXP_TABLE, EXP_TABLE.length - F.length());
        FloatVector slow = FloatVector.zero(F);
        for (int i = 0; i < full; i += F.length()) {
            FloatVector x0 = FloatVector.fromMemorySegment(F, x, off + i * 4L, PanamaConstants.LE).sub(mv);
            // the lanes that need expSpecial count 1: no branch in the loop (see anySlow)
            slow = slow.add(FloatVector.zero(F).blend(1f, x0.abs().compare(VectorOperators.LE, EXP_FAST)
                    .or(x0.compare(VectorOperators.LT, EXP_ZERO)).not()));
            // the exponential, written out in each loop (see the note after expSumRange)
            FloatVector t = x0.fma(EXP_SCALE, ROUND);
            IntVector bits = t.reinterpretAsInts();
            IntVector j = bits.and(7);
            FloatVector tk = (F.length() >= 8 ? j.selectFrom(table) : j.selectFrom(table, table2))
                    .add(bits.lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.LSHL, 23)).reinterpretAsFloats();
            FloatVector nf = t.sub(ROUND);
            FloatVector r = nf.fma(FloatVector.broadcast(F, -EXP_LN2_8_LO), nf.fma(FloatVector.broadcast(F, -EXP_LN2_8_HI), x0));
            FloatVector w = r.mul(r).fma(r.fma(EXP_C4, EXP_C3).fma(r, FloatVector.broadcast(F, 0.5f)), r);
            FloatVector e = tk.fma(w, tk).blend(0f, x0.compare(VectorOperators.LT, EXP_ZERO));
            e.mul(av).intoMemorySegment(dst, dstOff + i * 4L, PanamaConstants.LE);
        }
        return !slow.compare(VectorOperators.NE, 0f).anyTrue();
    }

    /** The floats {@code [at, min(at + V, n))} at byte {@code off} of {@code x} into {@code tmp[to, to + V)}, -inf past n. */
    private static void stage(MemorySegment x, long off, int at, int n, float[] tmp, int to) {
        final int count = Math.min(F.length(), n - at);
        MemorySegment.copy(x, Mem.F32, off + at * 4L, tmp, to, count);
        Arrays.fill(tmp, to + count, to + F.length(), Float.NEGATIVE_INFINITY);
    }

    /*
     * The exponential of expInto for arguments in [-87, 87], 0 below -104, is written out in each
     * of the loops that take it (expInto, the two expSum, expScaleRange; the sums' at 2^64
     * times its size, for arguments up to 0, and so AcrossPositions' expSumAcross, expTargets
     * and expSumRows, whose last partial vector has a copy of its own), not called: C2 inlines a method
     * taking vectors only while it is small and hot, and refuses one it has already compiled into
     * more than InlineSmallCode bytes, which depends on the order of warm-up; an exponential left
     * out of line boxes its vectors on every call (21 bytes per element in JMH's
     * VectorMathBenchmark). The test for the slow path is written out too.
     */

    /**
     * The general exponential of one vector, at {@code src[off]} less {@code m}, into
     * {@code dst[off]}, for calls with an argument in [-104, -87), above 87, or NaN: the same operations as
     * the loops' exponential for the ordinary lanes; below -87, {@code 2^(k+64) T[j]} (a normal float)
     * then times 2^-64, exact but for the one rounding of a subnormal result; above 87,
     * {@code 2^(k-64)} then 2^64, which overflows to +inf past 88.72; below -104 (and -inf) 0;
     * above 104 the argument is taken as 104 (+inf); NaN stays NaN (it goes through the fused
     * multiply-adds). Arrays in and out, no vector: see the class comment.
     */
    private static void expSpecial(float[] src, int off, float[] m, float[] dst) {
        final FloatVector x = FloatVector.fromArray(F, src, off).sub(FloatVector.fromArray(F, m, 0));
        final IntVector table = IntVector.fromArray(I, EXP_TABLE, 0);
        final IntVector table2 = IntVector.fromArray(I, EXP_TABLE, EXP_TABLE.length - F.length());
        VectorMask<Float> low = x.compare(VectorOperators.LT, -EXP_FAST);
        VectorMask<Float> high = x.compare(VectorOperators.GT, EXP_FAST);
        VectorMask<Float> zero = x.compare(VectorOperators.LT, EXP_ZERO);
        FloatVector xc = x.blend(EXP_ZERO, zero).blend(-EXP_ZERO, x.compare(VectorOperators.GT, -EXP_ZERO));
        FloatVector t = xc.fma(EXP_SCALE, ROUND);
        FloatVector nf = t.sub(ROUND);
        IntVector bits = t.reinterpretAsInts();
        IntVector j = bits.and(7);
        IntVector tj = F.length() >= 8 ? j.selectFrom(table) : j.selectFrom(table, table2);
        // the exponent of 2^k T[j] moved by +64 (low) or -64 (high) into the normal range
        IntVector bias = IntVector.zero(I).blend(64 << 23, low.cast(I))
                .blend(-64 << 23, high.cast(I));
        FloatVector tk = tj.add(bits.lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.LSHL, 23)).add(bias)
                .reinterpretAsFloats();
        FloatVector r = nf.fma(FloatVector.broadcast(F, -EXP_LN2_8_HI), xc);
        r = nf.fma(FloatVector.broadcast(F, -EXP_LN2_8_LO), r);
        FloatVector q = r.fma(EXP_C4, EXP_C3).fma(r, FloatVector.broadcast(F, 0.5f));
        FloatVector w = r.mul(r).fma(q, r);
        FloatVector unscale = FloatVector.broadcast(F, 1f).blend(0x1p-64f, low).blend(0x1p64f, high);
        tk.fma(w, tk).mul(unscale).blend(0f, zero).intoArray(dst, off);
    }

    /**
     * The sum of {@code a[0, n)}, {@code n} a multiple of the lane count: lane-wise in order, then
     * the lanes by a fixed tree (halves added lane-wise, then quarters, ...). Not
     * {@code reduceLanes(ADD)}, whose order differs between the intrinsic and the fallback.
     */
    static float sum(float[] a, int n) {
        return sum(a, 0, n);
    }

    /**
     * The sum of {@code a[from, to)}, whole vectors, as {@link #sum(float[], int)}. The lane tree
     * is written out here (and in {@link #expSum(float[], int, int, float)}), not called: a large
     * caller that inlines this method may stop inlining at a further call taking a vector
     * ("NodeCountInliningCutoff"), which then boxes it on every call (1.7 KB per reduced
     * spatial cross-entropy call in AllocationTest).
     */
    static float sum(float[] a, int from, int to) {
        final int v = F.length();
        FloatVector s = FloatVector.zero(F);
        for (int i = from; i < to; i += v) {
            s = s.add(FloatVector.fromArray(F, a, i));
        }
        if (v > 8) {
            s = s.add(s.rearrange(HALF_8));
        }
        if (v > 4) {
            s = s.add(s.rearrange(HALF_4));
        }
        s = s.add(s.rearrange(HALF_2));
        return s.add(s.rearrange(HALF_1)).lane(0);
    }

    /**
     * The sum of the {@code D.length()} doubles of {@code lanes}, a double vector's lanes stored
     * by the caller, in lane order: a fixed order, so the same bits compiled or interpreted
     * ({@code reduceLanes(ADD)} promises no order).
     */
    static double sum(double[] lanes) {
        double s = 0;
        for (int l = 0; l < D.length(); l++) {
            s += lanes[l];
        }
        return s;
    }

    /**
     * Lane l + half for lane l (wrapping): the rotations of the lane tree, one constant each
     * (a constant shuffle is one permutation; {@code slice}, which it replaces, was left to a
     * slow path when C2 did not inline this method, with an allocation per call).
     */
    private static final VectorShuffle<Float> HALF_1 = VectorShuffle.iota(F, 1, 1, true);
    private static final VectorShuffle<Float> HALF_2 = VectorShuffle.iota(F, 2, 1, true);
    private static final VectorShuffle<Float> HALF_4 = VectorShuffle.iota(F, 4 % F.length(), 1, true);
    private static final VectorShuffle<Float> HALF_8 = VectorShuffle.iota(F, 8 % F.length(), 1, true);


    /** 2^-126, the smallest normal float. */
    private static final float MIN_NORMAL = 0x1p-126f;
    private static final int MIN_NORMAL_BITS = Float.floatToRawIntBits(MIN_NORMAL);
    /** The bits of +inf: a float's bits, read as an int, are at least this for +inf and NaN. */
    private static final int INF_BITS = 0x7f800000;
    // The table-driven log's constants, from tools/log_table.py (degree 4; rerun it to regenerate).
    // w = 2^k z, z in [0.70825, 1.41650): tmp = bits(w) - LOG_OFF, k = tmp >> 23, and j, the top
    // three bits of tmp's mantissa field, picks one of 8 sub-intervals of z (1/16 wide below 1,
    // 1/8 above; entry 4 holds 1 and has invc = 1, logc = 0, so that r = z - 1 is exact there).
    // LOG_INVC[j] is a float near the inverse of the sub-interval's centre (|z invc - 1| <= 0.0572),
    // LOG_LOGC[j] + LOG_LOGC_LO[j] is -log(invc) to float64's precision: log z = logc + log1p(z invc - 1)
    // whatever invc is. Entries 3 and 5, next to 1, where log z is as small as r, have invc = 17/16
    // and 29/32: with so few bits z invc - 1 is exact in the fused multiply-add. The others are
    // chosen among their 4097 nearest floats for a logc within 5e-12 of -log(invc).
    /** {@code bits(w) - LOG_OFF} has {@code k} in its exponent field and {@code j} in its top three mantissa bits. */
    private static final int LOG_OFF = 0x3f355000;
    private static final float[] LOG_INVC = {0x1.5a208cp0f, 0x1.3f404cp0f, 0x1.282894p0f, 0x1.1p0f, 1f, 0x1.dp-1f,
        0x1.a0a386p-1f, 0x1.7a1fe8p-1f};
    private static final float[] LOG_LOGC = {-0x1.34de28p-2f, -0x1.c43326p-3f, -0x1.2a6ddep-3f, -0x1.f0a30cp-5f, 0f,
        0x1.9335e6p-4f, 0x1.a61a68p-3f, 0x1.36600cp-2f};
    private static final float[] LOG_LOGC_LO = {0x1.fccp-44f, -0x1.805p-43f, -0x1.68p-40f, -0x1.162a6p-37f, 0f,
        -0x1.535b3cp-31f, 0x1.45bap-39f, -0x1.53bcp-38f};
    /** The three tables' bits, lane l holding entry {@code l mod 8} (as {@link #EXP_TABLE}). */
    private static final int[] LOG_INVC_BITS = new int[Math.max(8, F.length())];
    private static final int[] LOG_LOGC_BITS = new int[Math.max(8, F.length())];
    private static final int[] LOG_LOGC_LO_BITS = new int[Math.max(8, F.length())];

    static {
        for (int l = 0; l < LOG_INVC_BITS.length; l++) {
            LOG_INVC_BITS[l] = Float.floatToRawIntBits(LOG_INVC[l % 8]);
            LOG_LOGC_BITS[l] = Float.floatToRawIntBits(LOG_LOGC[l % 8]);
            LOG_LOGC_LO_BITS[l] = Float.floatToRawIntBits(LOG_LOGC_LO[l % 8]);
        }
    }
    /**
     * {@code log1p(r) = r + r^2 Q(r)}, {@code Q(r) = LQ0 + LQ1 r + ... + LQ4 r^4} the minimax
     * polynomial (Remez, float64, then rounded to float) of {@code (log1p(r) - r) / r^2} on
     * {@code |r| <= 0.0572}: error 6.2e-9 in Q, times {@code r^2} in the log.
     */
    private static final float LQ0 = -0.5f, LQ1 = 0.3333328664302826f, LQ2 = -0.24999891221523285f,
            LQ3 = 0.20058467984199524f, LQ4 = -0.16738346219062805f;
    /** ln 2 in two floats: the nearest, and the rest. */
    private static final float LOG_LN2_HI = (float) Math.log(2);
    private static final float LOG_LN2_LO = (float) (Math.log(2) - LOG_LN2_HI);
    /** The bits of 2^127 z_min: from here on k >= 127, where invc 2^-k may not be a normal float (log1p only). */
    private static final int LOG1P_HIGH_BITS = LOG_OFF + (127 << 23);
    /** Added to a float's bits (wrapping), maps [MIN_NORMAL_BITS, limit) to [MIN_VALUE, limit + LOG_WRAP), all else above. */
    private static final int LOG_WRAP = Integer.MIN_VALUE - MIN_NORMAL_BITS;


    /**
     * {@code a[i] = log(a[i])} over {@code [0, n)}, {@code n} a multiple of the lane count,
     * within 0.81 ulp: 0 gives -inf, a negative value or NaN gives NaN, +inf gives +inf; subnormal
     * arguments are exact too (scaled by 2^24 first). See {@link #logInPlace(float[], float[], int, int)}.
     * Measured against {@code Math.log} (VectorMathTest and a sweep of every float of [0.25, 4)):
     * 0.81 ulp at most over [0.25, 4), 0.80 over all positive floats (bits uniform), 0.57 over
     * every float of [0.896, 1.167), next to 1 (Cephes' degree-8 polynomial before: 0.79; the
     * division form before it: 2.8).
     */
    static void logInPlace(float[] a, int n) {
        logInPlace(a, null, 0, n);
    }

    /**
     * {@code a[i] = log1p(a[i])} over {@code [0, n)}, {@code n} a multiple of the lane count, for
     * any argument, within 0.81 ulp: {@code -1} gives -inf, below -1 NaN, +-0 stays +-0, +inf and
     * NaN stay, as {@code Math.log1p}: {@code w = 1 + u} is formed and its rounding error
     * {@code u - (w - 1)} corrected to first order, so that the small {@code u} of a confident
     * row, and BCE's {@code log(1 - p)}, keep their value. Measured against {@code Math.log1p}
     * (VectorMathTest and sweeps of every 7th float of [-0.5, 4), every 3rd of [-0.99, -0.5)):
     * 0.81 ulp at most over all floats above -1 (bits uniform), 0.78 over [-0.5, 4) and
     * [-0.99, -0.5), 0.61 next to 0 (u in [-0.104, 0.167), where w is in the table's entries
     * next to 1), 0.64 above 4, 0.50 from 1e30 up (Cephes' polynomial before: 1.38, near
     * u = 0.414 where its x = (f - 1) + corr 2^-e was rounded once more; the division form: 3.3).
     */
    static void log1pInPlace(float[] a, int n) {
        logInPlace(a, ONES, 0, n);
    }

    /**
     * {@code a[i] = log1p(a[i])} where {@code one[i]} is 1, {@code log(a[i])} where it is 0
     * (no other value), over {@code [0, n)}: each lane the bits {@link #log1pInPlace} or
     * {@link #logInPlace} gives it, in one pass (BCE on hard labels needs {@code log p} or
     * {@code log1p(-p)} per element, never both).
     */
    static void logOrLog1pInPlace(float[] a, float[] one, int n) {
        logInPlace(a, one, -1, n);
    }

    // log1p(u) = u + u^2 Q(u) on [0, 1]: Q's coefficients are those of the minimax polynomial
    // of degree 9 of log1p(u)/u (Remez on the relative error, 50 digits: 4.7e-9), but the first (1)
    private static final float L1_1 = -0.499999017f, L1_2 = 0.333299637f, L1_3 = -0.249541342f,
            L1_4 = 0.196759388f, L1_5 = -0.153055921f, L1_6 = 0.106036544f, L1_7 = -0.0569595285f,
            L1_8 = 0.0198514592f, L1_9 = -0.00324402447f;

    /**
     * {@code a[i] = log1p(a[i])} over {@code [0, n)}, {@code n} a multiple of the lane count, for
     * arguments in [0, 1] only (the sigmoid family's {@code log1p(exp(-|x|))}): one polynomial,
     * {@code u + u^2 Q(u)}, nine fused multiply-adds and a product, no reduction and no special
     * case (a third of {@link #log1pInPlace}'s operations). 0 gives +0 and NaN NaN; arguments
     * outside [0, 1] give values that are not log1p. Within 1.35 ulp of {@code Math.log1p}
     * (VectorMathTest: 1.3 M arguments over [0, 1] and [1e-30, 1]).
     */
    static void log1pUnitInPlace(float[] a, int n) {
        for (int off = 0; off < n; off += F.length()) {
            FloatVector u = FloatVector.fromArray(F, a, off);
            FloatVector q = u.fma(L1_9, L1_8)
                    .fma(u, FloatVector.broadcast(F, L1_7))
                    .fma(u, FloatVector.broadcast(F, L1_6))
                    .fma(u, FloatVector.broadcast(F, L1_5))
                    .fma(u, FloatVector.broadcast(F, L1_4))
                    .fma(u, FloatVector.broadcast(F, L1_3))
                    .fma(u, FloatVector.broadcast(F, L1_2))
                    .fma(u, FloatVector.broadcast(F, L1_1));
            u.mul(u).fma(q, u).intoArray(a, off);
        }
    }

    /**
     * The loop of the three: {@code log(w + corr)}, {@code w = a[i] + s} with the shift
     * {@code s = one[i & step]} 0 or 1 per lane ({@code step} 0: the lanes of {@code one[0, V)}
     * for every vector; -1: one shift per element; {@code one} null: the plain log, a shift of 0
     * whose correction and -0 test C2 compiles out of that case's loop),
     * {@code corr = a[i] - (w - s)} its rounding error (0 where {@code s = 0}: {@code w - 0} is
     * {@code a[i]}, and a correction of 0 leaves {@code r} as it is, so a lane of log gets the
     * same bits with a shift of 0 as without). One method with the whole computation in its
     * loop, so that no vector crosses a call.
     *
     * <p>A table-driven log, no division: {@code w = 2^k z}, {@code z} in [0.708, 1.417) from the
     * bits ({@code tmp = bits(w) - LOG_OFF}, {@code k = tmp >> 23}, {@code z} the bits of
     * {@code w} less {@code k << 23}), {@code j} the top three bits of tmp's mantissa field,
     * {@code invc} and {@code logc = -log(invc)} read from two eight-float tables in registers
     * ({@code selectFrom}, as the exponential's), {@code r = z invc - 1} (one fused multiply-add,
     * {@code |r| <= 0.0572}; exact for z next to 1, where the entries have invc = 1, 17/16, 29/32), and
     * {@code log w = k ln2 + logc + log1p(r)}, {@code log1p(r) = r + r^2 Q(r)} of degree 4 (see
     * tools/log_table.py). The sum is ordered for accuracy: {@code t = logc + r} with its rounding
     * error {@code (logc - t) + r} (exact: {@code |logc| >= |r|} where logc is not 0) kept with the small
     * terms {@code r^2 Q + logc_lo + k ln2_lo}, then {@code k ln2_hi + (t + small)} in one fused
     * multiply-add. The correction of log1p is a small term too, not added to r (whose rounding
     * would cost up to half an ulp of a result next to 0): {@code log(2^k (z + d)) = k ln2 + logc +
     * log1p(r + d invc)}, {@code d = corr 2^-k}, and {@code log1p(r + e) = log1p(r) + e (1 - r)}
     * to within {@code e r^2}; {@code invc 2^-k} is built from the bits (exact for {@code k <= 126}; a
     * shifted argument with {@code k >= 127} goes to logSpecial).
     *
     * <p>The special arguments (w not a positive normal float: 0, negative, subnormal, +inf, NaN;
     * with a shift, w at or above 2^128 z_min, where 2^-k is not a float, and
     * {@code a[i] = -0}, whose log1p is -0) are one test per vector: a vector with none (nearly all) takes the straight path;
     * one with any goes through {@link #logSpecial}, which computes its ordinary lanes with the
     * same operations, so a lane's result does not depend on its neighbours.
     */
    private static void logInPlace(float[] a, float[] one, int step, int n) {
        final boolean shifted = one != null; // loop-invariant: C2 compiles a loop for each case
        final IntVector invcTable = IntVector.fromArray(I, LOG_INVC_BITS, 0);
        final IntVector invcTable2 = IntVector.fromArray(I, LOG_INVC_BITS, LOG_INVC_BITS.length - F.length());
        final IntVector logcTable = IntVector.fromArray(I, LOG_LOGC_BITS, 0);
        final IntVector logcTable2 = IntVector.fromArray(I, LOG_LOGC_BITS, LOG_LOGC_BITS.length - F.length());
        final IntVector loTable = IntVector.fromArray(I, LOG_LOGC_LO_BITS, 0);
        final IntVector loTable2 = IntVector.fromArray(I, LOG_LOGC_LO_BITS, LOG_LOGC_LO_BITS.length - F.length());
        for (int off = 0; off < n; off += F.length()) {
            FloatVector u = FloatVector.fromArray(F, a, off);
            // a shift of 0 for the plain log: w = u (but -0 + 0 = +0, whose log is -inf as -0's).
            // Not w = shifted ? u.add(s) : u with s null for the log: where C2 compiles this
            // method on its own (not inlined, shifted not a constant), a vector merged with null
            // is boxed on every iteration (6 bytes per element in BCE on soft labels)
            FloatVector s = FloatVector.fromArray(F, shifted ? one : ZEROS, off & step);
            FloatVector w = u.add(s);
            IntVector bits = w.reinterpretAsInts();
            // as ints, the positive normal floats are [MIN_NORMAL_BITS, INF_BITS) (with a shift, up
            // to LOG1P_HIGH_BITS); the negative ones, -0 and -NaN are negative ints. One signed
            // comparison tests both ends: bits + LOG_WRAP maps that range, and only it, below
            // the limit (an unsigned comparison, with the sign bit flipped)
            VectorMask<Integer> special = bits.add(LOG_WRAP).compare(VectorOperators.GT,
                    shifted ? LOG1P_HIGH_BITS + LOG_WRAP - 1 : INF_BITS + LOG_WRAP - 1);
            if (shifted) {
                special = special.or(u.reinterpretAsInts().compare(VectorOperators.EQ, Integer.MIN_VALUE)); // u = -0
            }
            if (special.anyTrue()) {
                logSpecial(a, off, shifted ? one : ZEROS, off & step);
                continue;
            }
            // the core, the same operations as logSpecial's
            IntVector tmp = bits.sub(LOG_OFF);
            IntVector eBits = tmp.and(0xff800000); // k << 23
            IntVector j = tmp.lanewise(VectorOperators.LSHR, 20).and(7);
            FloatVector invc = (F.length() >= 8 ? j.selectFrom(invcTable) : j.selectFrom(invcTable, invcTable2))
                    .reinterpretAsFloats();
            FloatVector logc = (F.length() >= 8 ? j.selectFrom(logcTable) : j.selectFrom(logcTable, logcTable2))
                    .reinterpretAsFloats();
            FloatVector logcLo = (F.length() >= 8 ? j.selectFrom(loTable) : j.selectFrom(loTable, loTable2))
                    .reinterpretAsFloats();
            FloatVector r = bits.sub(eBits).reinterpretAsFloats().fma(invc, FloatVector.broadcast(F, -1f));
            FloatVector k = (FloatVector) eBits.lanewise(VectorOperators.ASHR, 23).convert(VectorOperators.I2F, 0);
            FloatVector r2 = r.mul(r);
            FloatVector q = r2.fma(r2.fma(FloatVector.broadcast(F, LQ4), r.fma(LQ3, LQ2)), r.fma(LQ1, LQ0)); // Estrin: a shorter chain
            FloatVector t = logc.add(r);
            FloatVector lo = k.fma(FloatVector.broadcast(F, LOG_LN2_LO), logc.sub(t).add(r).add(logcLo));
            if (shifted) { // + d / (1 + r) = lo - nd + nd r, nd = -corr 2^-k invc, invc 2^-k from the bits (k <= 126)
                FloatVector nd = w.sub(s).sub(u).mul(invc.reinterpretAsInts().sub(eBits).reinterpretAsFloats());
                lo = nd.fma(r, lo.sub(nd));
            }
            k.fma(FloatVector.broadcast(F, LOG_LN2_HI), t.add(r2.fma(q, lo))).intoArray(a, off);
        }
    }

    /**
     * One vector of {@link #logInPlace(float[], float[], int, int)}'s loop, at {@code a[off]}
     * with its shifts at {@code one[at]}, with a special argument among its lanes: the loop's
     * operations for the ordinary lanes (subnormal w scaled by 2^24 first), then 0 gives -inf,
     * below 0 and NaN give NaN, +inf stays +inf (as {@code Math.log} of w), and where the shift
     * is 1, log1p(+-0) is +-0, log1p(NaN) the same NaN. Arrays in and out, no vector: see the
     * class comment.
     */
    private static void logSpecial(float[] a, int off, float[] one, int at) {
        final FloatVector zero = FloatVector.zero(F);
        final IntVector invcTable = IntVector.fromArray(I, LOG_INVC_BITS, 0);
        final IntVector invcTable2 = IntVector.fromArray(I, LOG_INVC_BITS, LOG_INVC_BITS.length - F.length());
        final IntVector logcTable = IntVector.fromArray(I, LOG_LOGC_BITS, 0);
        final IntVector logcTable2 = IntVector.fromArray(I, LOG_LOGC_BITS, LOG_LOGC_BITS.length - F.length());
        final IntVector loTable = IntVector.fromArray(I, LOG_LOGC_LO_BITS, 0);
        final IntVector loTable2 = IntVector.fromArray(I, LOG_LOGC_LO_BITS, LOG_LOGC_LO_BITS.length - F.length());
        FloatVector u = FloatVector.fromArray(F, a, off);
        FloatVector s = FloatVector.fromArray(F, one, at);
        FloatVector w = u.add(s);
        VectorMask<Float> sub = w.compare(VectorOperators.LT, MIN_NORMAL); // 0 and below too: blended over
        IntVector bits = w.blend(w.mul(0x1p24f), sub).reinterpretAsInts();
        IntVector tmp = bits.sub(LOG_OFF);
        IntVector eBits = tmp.and(0xff800000);
        IntVector j = tmp.lanewise(VectorOperators.LSHR, 20).and(7);
        FloatVector invc = (F.length() >= 8 ? j.selectFrom(invcTable) : j.selectFrom(invcTable, invcTable2))
                .reinterpretAsFloats();
        FloatVector logc = (F.length() >= 8 ? j.selectFrom(logcTable) : j.selectFrom(logcTable, logcTable2))
                .reinterpretAsFloats();
        FloatVector logcLo = (F.length() >= 8 ? j.selectFrom(loTable) : j.selectFrom(loTable, loTable2))
                .reinterpretAsFloats();
        FloatVector r = bits.sub(eBits).reinterpretAsFloats().fma(invc, FloatVector.broadcast(F, -1f));
        FloatVector k = ((FloatVector) eBits.lanewise(VectorOperators.ASHR, 23).convert(VectorOperators.I2F, 0))
                .sub(zero.blend(24f, sub));
        FloatVector r2 = r.mul(r);
        FloatVector q = r2.fma(r2.fma(FloatVector.broadcast(F, LQ4), r.fma(LQ3, LQ2)), r.fma(LQ1, LQ0));
        FloatVector t = logc.add(r);
        FloatVector lo = k.fma(FloatVector.broadcast(F, LOG_LN2_LO), logc.sub(t).add(r).add(logcLo));
        // invc 2^-k's bits are negative for k >= 127 with invc < 1, made 0 (a subnormal for
        // k = 127 with invc >= 1): corr is 0 there (u + 1 rounds to u); where w was scaled, corr
        // is 0 too (u + 1 is exact for u near -1). A shift of 0 gives corr = 0.
        FloatVector nd = w.sub(s).sub(u).mul(invc.reinterpretAsInts().sub(eBits).max(0).reinterpretAsFloats());
        lo = nd.fma(r, lo.sub(nd));
        FloatVector res = k.fma(FloatVector.broadcast(F, LOG_LN2_HI), t.add(r2.fma(q, lo)));
        res = res.blend(Float.NaN, w.compare(VectorOperators.LT, 0f).or(w.test(VectorOperators.IS_NAN)))
                .blend(Float.NEGATIVE_INFINITY, w.compare(VectorOperators.EQ, 0f))
                .blend(Float.POSITIVE_INFINITY, w.compare(VectorOperators.EQ, Float.POSITIVE_INFINITY));
        // log1p(+-0) is +-0, log1p(NaN) the same NaN
        res = res.blend(u, u.compare(VectorOperators.EQ, 0f).or(u.test(VectorOperators.IS_NAN)).and(s.compare(VectorOperators.EQ, 1f)));
        res.intoArray(a, off);
    }

    // The double log of float arguments: the float log's table and reduction, the rest in double.
    // ln 2 split as fdlibm's e_log.c: LN2_HI_D has 32 significant bits, so that k LN2_HI_D + logc is
    // exact for |k| < 2^8 (a multiple of 2^-32 below 2^7).
    private static final double LN2_HI_D = 6.93147180369123816490e-01;
    private static final double LN2_LO_D = 1.90821492927058770002e-10;
    /**
     * {@code log1p(r) = r + r^2 P(r)}, {@code P(r) = LD0 + LD1 r + ... + LD7 r^7} the minimax
     * polynomial (Remez, 50 digits, then rounded to double; tools/log_double_poly.py) of
     * {@code (log1p(r) - r) / r^2} on {@code |r| <= 0.05714}, the float log's reduced range:
     * error 8.9e-14 in P, 2.9e-16 in the log (at |r| = 0.057; less inside).
     */
    private static final double LD0 = -0.4999999999999107, LD1 = 0.33333333333268284, LD2 = -0.25000000087514146,
            LD3 = 0.200000002190477, LD4 = -0.16666532732904257, LD5 = 0.1428550707678926, LD6 = -0.1256555033769376,
            LD7 = 0.11185659572032397;
    /** NaN in every lane: the reduced argument of a negative or NaN argument. */
    private static final float[] NANS = new float[F.length()];

    static {
        Arrays.fill(NANS, Float.NaN);
    }

    /**
     * {@code dst[i] = log(src[i])} in double for float arguments, {@code i} in {@code [0, n)},
     * {@code n} a multiple of the float lane count, within 2.9e-16 plus an ulp of the double
     * result (kl_div's probability targets, whose terms {@code t log t - t q} cancel near the
     * optimum).
     *
     * <p>How: {@link #logInPlace(float[], float[], int, int)}'s reduction in float lanes
     * ({@code w = 2^k z}, {@code j} from the bits, {@code invc}, {@code logc}, {@code logc_lo}
     * from its three eight-float tables in registers; subnormal arguments scaled by 2^24 first),
     * then per half in double lanes: {@code r = z invc - 1} in one fused multiply-add, exact (the
     * product of two floats has 48 bits; {@code |r| <= 0.0572}), {@code k ln2_hi + logc} exact, and
     * {@code log w = (k ln2_hi + logc) + (r + (r^2 P(r) + (k ln2_lo + logc_lo)))}, P of degree
     * 7 (Estrin). No division and no branch: fdlibm's form before took a division per element
     * and ran at 0.47 G/s (VectorMathBenchmark). IEEE operations and conversions only: the same bits
     * compiled or interpreted.
     *
     * <p>Special values are left to the caller but for a negative or NaN argument, which gives
     * NaN: 0 gives -151 ln 2, -0 another finite value, +inf 128 ln 2 (callers multiply by the argument,
     * which makes these 0 and +inf).
     */
    static void logDoubleInto(float[] src, double[] dst, int n) {
        final int half = D.length();
        final FloatVector zero = FloatVector.zero(F);
        final FloatVector nans = FloatVector.fromArray(F, NANS, 0);
        final IntVector invcTable = IntVector.fromArray(I, LOG_INVC_BITS, 0);
        final IntVector invcTable2 = IntVector.fromArray(I, LOG_INVC_BITS, LOG_INVC_BITS.length - F.length());
        final IntVector logcTable = IntVector.fromArray(I, LOG_LOGC_BITS, 0);
        final IntVector logcTable2 = IntVector.fromArray(I, LOG_LOGC_BITS, LOG_LOGC_BITS.length - F.length());
        final IntVector loTable = IntVector.fromArray(I, LOG_LOGC_LO_BITS, 0);
        final IntVector loTable2 = IntVector.fromArray(I, LOG_LOGC_LO_BITS, LOG_LOGC_LO_BITS.length - F.length());
        for (int off = 0; off < n; off += F.length()) {
            FloatVector v = FloatVector.fromArray(F, src, off);
            VectorMask<Float> sub = v.compare(VectorOperators.LT, MIN_NORMAL); // subnormal, 0 (and below: NaN anyway)
            IntVector bits = v.blend(v.mul(0x1p24f), sub).reinterpretAsInts();
            IntVector tmp = bits.sub(LOG_OFF);
            IntVector eBits = tmp.and(0xff800000); // k << 23
            IntVector j = tmp.lanewise(VectorOperators.LSHR, 20).and(7);
            FloatVector invc = (F.length() >= 8 ? j.selectFrom(invcTable) : j.selectFrom(invcTable, invcTable2))
                    .reinterpretAsFloats();
            FloatVector logc = (F.length() >= 8 ? j.selectFrom(logcTable) : j.selectFrom(logcTable, logcTable2))
                    .reinterpretAsFloats();
            FloatVector logcLo = (F.length() >= 8 ? j.selectFrom(loTable) : j.selectFrom(loTable, loTable2))
                    .reinterpretAsFloats();
            // z, made NaN where v < 0 or NaN (the one case where v >= 0 is false): r and the log follow
            FloatVector z = nans.blend(bits.sub(eBits).reinterpretAsFloats(), v.compare(VectorOperators.GE, 0f));
            FloatVector k = ((FloatVector) eBits.lanewise(VectorOperators.ASHR, 23).convert(VectorOperators.I2F, 0))
                    .sub(zero.blend(24f, sub));
            for (int part = 0; part < 2; part++) {
                DoubleVector zd = (DoubleVector) z.convertShape(VectorOperators.F2D, D, part);
                DoubleVector ic = (DoubleVector) invc.convertShape(VectorOperators.F2D, D, part);
                DoubleVector kd = (DoubleVector) k.convertShape(VectorOperators.F2D, D, part);
                DoubleVector r = zd.fma(ic, DoubleVector.broadcast(D, -1.0)); // exact
                DoubleVector r2 = r.mul(r);
                DoubleVector r4 = r2.mul(r2);
                DoubleVector p = r4.fma(r2.fma(r.fma(LD7, LD6), r.fma(LD5, LD4)),
                        r2.fma(r.fma(LD3, LD2), r.fma(LD1, LD0)));
                DoubleVector hi = kd.fma(DoubleVector.broadcast(D, LN2_HI_D), (DoubleVector) logc.convertShape(VectorOperators.F2D, D, part)); // exact
                DoubleVector lo = kd.fma(DoubleVector.broadcast(D, LN2_LO_D), (DoubleVector) logcLo.convertShape(VectorOperators.F2D, D, part));
                hi.add(r.add(r2.fma(p, lo))).intoArray(dst, off + part * half);
            }
        }
    }
}
