package dev.vecloss.internal.panama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vecloss.oracle.DfpOracle;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link VectorMath}'s exponential and logarithms against {@code Math.exp}, {@code Math.log} and
 * {@code Math.log1p} (correctly rounded to within an ulp of double, so a float's error in ulps
 * is measured to about 1e-9 ulp), over sweeps of a few million arguments: the accuracy its
 * Javadoc states, and its special values. Skipped without the incubator module (the scalar pass).
 */
class VectorMathTest {
    private static final int V = 64; // a multiple of every lane count

    @BeforeAll
    static void needsVectorApi() {
        assumeTrue(ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent(), "no jdk.incubator.vector");
    }

    /** The error of {@code got} in ulps of the float nearest {@code exact} (of its binade below, for a power of 2). */
    static double ulps(float got, double exact) {
        float near = (float) exact;
        double ulp = Math.ulp(near);
        if (Math.abs(near) == Math.scalb(1f, Math.getExponent(near)) && Math.abs(exact) < Math.abs(near)) {
            ulp /= 2; // just below a power of 2: the binade below's ulp
        }
        return Math.abs(got - exact) / Math.max(ulp, Float.MIN_VALUE);
    }

    /** {exp} of {@code args} through {@link VectorMath#expInto} with references 0. */
    static float[] exp(float[] args) {
        int n = (args.length + V - 1) / V * V;
        float[] a = Arrays.copyOf(args, n);
        float[] out = new float[n];
        VectorMath.expInto(a, out, n, new float[PanamaConstants.V]);
        return Arrays.copyOf(out, args.length);
    }

    static float[] inPlace(float[] args, boolean onePlus) {
        int n = (args.length + V - 1) / V * V;
        float[] a = Arrays.copyOf(args, n);
        if (onePlus) {
            VectorMath.log1pInPlace(a, n);
        } else {
            VectorMath.logInPlace(a, n);
        }
        return Arrays.copyOf(a, args.length);
    }

    static double maxUlps(float[] args, float[] got, DoubleUnaryOperator exact) {
        double max = 0;
        for (int i = 0; i < args.length; i++) {
            double e = ulps(got[i], exact.applyAsDouble(args[i]));
            assertTrue(e <= max || e > max, "NaN error at " + args[i]);
            max = Math.max(max, e);
        }
        return max;
    }

    /** {@code count} floats uniform in [lo, hi). */
    static float[] uniform(long seed, int count, double lo, double hi) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[count];
        for (int i = 0; i < count; i++) {
            a[i] = (float) r.nextDouble(lo, hi);
        }
        return a;
    }

    @Test
    void expWithinItsBudgetOverTheNormalRange() {
        float[] wide = uniform(1, 1 << 22, -87, 87);
        double max = maxUlps(wide, exp(wide), Math::exp);
        float[] near0 = uniform(2, 1 << 20, -0.1, 0.1);
        max = Math.max(max, maxUlps(near0, exp(near0), Math::exp));
        float[] softmax = uniform(3, 1 << 21, -30, 0); // x - max, as the kernels pass it
        max = Math.max(max, maxUlps(softmax, exp(softmax), Math::exp));
        System.out.printf("exp: %.3f ulp%n", max);
        assertTrue(max <= 0.95, "exp: " + max + " ulp");
    }

    @Test
    void expSubnormalResultsWithinAnUlpOfTheSmallestSubnormal() {
        float[] a = uniform(4, 1 << 20, -104, -87);
        float[] got = exp(a);
        for (int i = 0; i < a.length; i++) {
            double e = Math.exp(a[i]);
            assertTrue(Math.abs(got[i] - e) <= (e < 0x1p-126 ? Float.MIN_VALUE : Math.ulp((float) e)),
                    "exp(" + a[i] + ") = " + got[i] + ", not " + e);
        }
    }

    @Test
    void expSpecialValues() {
        float[] a = {Float.NEGATIVE_INFINITY, -1e30f, -104.5f, Float.NaN, 0f, -0f, 88.7f, 88.73f, 200f,
                Float.POSITIVE_INFINITY, -87f, 87f, Float.MIN_VALUE, -Float.MIN_VALUE};
        float[] got = exp(a);
        assertEquals(0f, got[0]);
        assertEquals(0f, got[1]);
        assertEquals(0f, got[2]);
        assertTrue(Float.isNaN(got[3]));
        assertEquals(1f, got[4]);
        assertEquals(1f, got[5]);
        assertTrue(ulps(got[6], Math.exp(88.7f)) <= 1.1, "exp(88.7) = " + got[6]);
        assertEquals(Float.POSITIVE_INFINITY, got[7]);
        assertEquals(Float.POSITIVE_INFINITY, got[8]);
        assertEquals(Float.POSITIVE_INFINITY, got[9]);
        assertTrue(ulps(got[10], Math.exp(-87f)) <= 1.1);
        assertTrue(ulps(got[11], Math.exp(87f)) <= 1.1);
        assertEquals(1f, got[12]);
        assertEquals(1f, got[13]);
    }

    /**
     * A lane's result does not depend on its neighbours: every argument alone in a vector of
     * zeros, and next to -inf, NaN and 100 (which send the vector to the special path), gives
     * the bits it gives among ordinary arguments.
     */
    @Test
    void expLaneIndependentOfItsNeighbours() {
        float[] a = uniform(5, 4096, -110, 95);
        float[] together = exp(a);
        float[] neighbours = {0f, Float.NEGATIVE_INFINITY, Float.NaN, 100f};
        for (float other : neighbours) {
            for (int i = 0; i < a.length; i += 7) {
                float[] v = new float[V];
                Arrays.fill(v, other);
                v[i % PanamaConstants.V] = a[i];
                assertEquals(Float.floatToRawIntBits(together[i]), Float.floatToRawIntBits(exp(v)[i % PanamaConstants.V]),
                        "exp(" + a[i] + ") next to " + other);
            }
        }
    }

    /** {@code expSum} is the fixed-order sum of {@code expInto}'s values, special vectors included. */
    @Test
    void expSumIsTheSumOfExpInto() {
        float[] a = uniform(6, 4096, -120, 20);
        a[100] = Float.NEGATIVE_INFINITY;
        float[] m = new float[PanamaConstants.V];
        Arrays.fill(m, 3f);
        float[] e = new float[a.length];
        VectorMath.expInto(a, e, a.length, m);
        float expected = VectorMath.sum(e, e.length);
        assertEquals(expected, VectorMath.expSum(a.clone(), 0, a.length, 3f));
    }

    /**
     * The segment form of {@code expSum}: every length (whole vectors, a partial last one), the
     * skipped index anywhere (in a whole vector, in the partial one, none), -inf entries and a
     * far tail taking the slow path; against the double sum of {@code Math.exp}, and each term
     * present once: doubling one logit's contribution or dropping one shows. Lengths past the
     * float partial sums' blocks (256 floats at 8 lanes) too, and a reference below the maximum
     * (arguments above 0: the general path).
     */
    @Test
    void expSumOverASegmentSkipsOneIndexAndCountsTheRest() {
        float[] tmp = new float[4 * PanamaConstants.V];
        double[] lanes = new double[PanamaConstants.V];
        SplittableRandom r = new SplittableRandom(14);
        java.util.List<Integer> lengths = new java.util.ArrayList<>();
        for (int n = 1; n <= 70; n++) {
            lengths.add(n);
        }
        lengths.addAll(java.util.List.of(255, 256, 257, 263, 511, 512, 520, 1000, 4099));
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            for (int n : lengths) {
                java.lang.foreign.MemorySegment seg = arena.allocate(4L * n + 64);
                float[] x = new float[n];
                float max = Float.NEGATIVE_INFINITY;
                for (int k = 0; k < n; k++) {
                    x[k] = k % 11 == 5 ? Float.NEGATIVE_INFINITY : k % 13 == 7 ? -95f : (float) r.nextDouble(-8, 8);
                    max = Math.max(max, x[k]);
                }
                java.lang.foreign.MemorySegment.copy(x, 0, seg, dev.vecloss.internal.Mem.F32, 16, n);
                for (float m : new float[] {max, max - 1.5f}) {
                    for (int skip : new int[] {-1, 0, n / 2, n - 1}) {
                        double expected = 0;
                        for (int k = 0; k < n; k++) {
                            expected += k == skip ? 0 : Math.exp((double) x[k] - m);
                        }
                        double got = VectorMath.expSum(seg, 16, n, m, skip, tmp, lanes);
                        assertEquals(expected, got, 2e-6 * expected + Float.MIN_VALUE,
                                "n = " + n + ", skip = " + skip + ", m = " + m);
                    }
                }
            }
        }
    }

    /**
     * The segment sum's far tail: arguments from -110 to -80, where exp(x) goes from normal floats
     * through subnormals to 0, summed at 2^64 times their size and unscaled in double: within 2
     * ulp of 2^-149 per term (the single-term error of a subnormal result) of the double sum of
     * {@code Math.exp}, and 0 below -104.
     */
    @Test
    void expSumOverASegmentKeepsTheFarTail() {
        float[] tmp = new float[4 * PanamaConstants.V];
        double[] lanes = new double[PanamaConstants.V];
        SplittableRandom r = new SplittableRandom(16);
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            int n = 777;
            java.lang.foreign.MemorySegment seg = arena.allocate(4L * n);
            float[] x = new float[n];
            double expected = 0;
            for (int k = 0; k < n; k++) {
                x[k] = k == 3 ? 0f : (float) r.nextDouble(-110, -80);
                expected += k == 3 ? 0 : Math.exp(x[k]);
            }
            java.lang.foreign.MemorySegment.copy(x, 0, seg, dev.vecloss.internal.Mem.F32, 0, n);
            double got = VectorMath.expSum(seg, 0, n, 0f, 3, tmp, lanes);
            assertEquals(expected, got, 2e-7 * expected + n * 0x1p-148);
            java.lang.foreign.MemorySegment.copy(new float[] {-104.5f, -200f, Float.NEGATIVE_INFINITY, -105f}, 0, seg,
                    dev.vecloss.internal.Mem.F32, 0, 4);
            assertEquals(0.0, VectorMath.expSum(seg, 0, 4, 0f, -1, tmp, lanes));
        }
    }

    /**
     * {@code expScaleInto}: for every length, with and without a far tail taking the slow path,
     * each value is {@code a} times {@code expInto}'s exponential rounded once, and nothing is
     * written before or after the row (guard bytes set to a pattern stay as they were).
     */
    @Test
    void expScaleIntoIsTheScaledExpIntoAndWritesOnlyItsRow() {
        float[] tmp = new float[4 * PanamaConstants.V];
        float[] lanes = new float[PanamaConstants.V];
        SplittableRandom r = new SplittableRandom(15);
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            for (int n = 1; n <= 70; n++) {
                for (boolean farTail : new boolean[] {false, true}) {
                    java.lang.foreign.MemorySegment in = arena.allocate(4L * n + 32);
                    java.lang.foreign.MemorySegment out = arena.allocate(4L * n + 32);
                    out.fill((byte) 0x5A);
                    float[] x = new float[n];
                    for (int k = 0; k < n; k++) {
                        x[k] = farTail && k == n / 2 ? -95f : k % 9 == 4 ? Float.NEGATIVE_INFINITY : (float) r.nextDouble(-10, 3);
                    }
                    java.lang.foreign.MemorySegment.copy(x, 0, in, dev.vecloss.internal.Mem.F32, 16, n);
                    float m = 2.5f, a = 0.37f;
                    Arrays.fill(lanes, m);
                    VectorMath.expScaleInto(in, 16, n, lanes, a, out, 16, tmp);
                    float[] e = new float[(n + V - 1) / V * V];
                    System.arraycopy(x, 0, e, 0, n);
                    VectorMath.expInto(e, e, e.length, lanes);
                    for (int k = 0; k < n; k++) {
                        assertEquals(Float.floatToRawIntBits(a * e[k]),
                                Float.floatToRawIntBits(out.get(dev.vecloss.internal.Mem.F32, 16 + 4L * k)),
                                "n = " + n + ", k = " + k + ", far tail " + farTail);
                    }
                    for (long b = 0; b < 16; b++) {
                        assertEquals((byte) 0x5A, out.get(java.lang.foreign.ValueLayout.JAVA_BYTE, b), "before the row");
                        assertEquals((byte) 0x5A, out.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 16 + 4L * n + b), "after the row");
                    }
                }
            }
        }
    }

    /**
     * {@code logOrLog1pInPlace}: each lane the bits of {@code logInPlace} where its shift is 0 and
     * of {@code log1pInPlace} where it is 1, whatever its neighbours' shifts, special arguments
     * (0, -0, -1, subnormals, huge, +-inf, NaN, negative) included.
     */
    @Test
    void logOrLog1pIsLogOrLog1pLaneByLane() {
        float[] a = uniform(16, 4096, -1, 3);
        float[] specials = {0f, -0f, -1f, Float.MIN_VALUE, 1e-39f, 3e38f, Float.MAX_VALUE, Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY, Float.NaN, -2f, 1e-30f, -1e-30f, 1f};
        for (int i = 0; i < a.length; i += 37) {
            a[i] = specials[(i / 37) % specials.length];
        }
        float[] one = new float[a.length];
        SplittableRandom r = new SplittableRandom(17);
        for (int i = 0; i < one.length; i++) {
            one[i] = r.nextBoolean() ? 1f : 0f;
        }
        float[] log = inPlace(a, false), log1p = inPlace(a, true);
        float[] got = a.clone();
        VectorMath.logOrLog1pInPlace(got, one, got.length);
        for (int i = 0; i < a.length; i++) {
            float expected = one[i] == 1f ? log1p[i] : log[i];
            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(got[i]),
                    (one[i] == 1f ? "log1p(" : "log(") + a[i] + ")");
        }
    }

    @Test
    void logWithinItsBudget() {
        SplittableRandom r = new SplittableRandom(7);
        float[] bits = new float[1 << 22];
        for (int i = 0; i < bits.length; i++) { // every positive float, subnormals too
            bits[i] = Float.intBitsToFloat(1 + r.nextInt(0x7f7fffff));
        }
        double max = maxUlps(bits, inPlace(bits, false), Math::log);
        float[] near1 = uniform(8, 1 << 20, 0.5, 2);
        max = Math.max(max, maxUlps(near1, inPlace(near1, false), Math::log));
        System.out.printf("log: %.3f ulp%n", max);
        assertTrue(max <= 0.85, "log: " + max + " ulp");
    }

    @Test
    void log1pWithinItsBudget() {
        SplittableRandom r = new SplittableRandom(9);
        float[] bits = new float[1 << 22];
        for (int i = 0; i < bits.length; i++) { // every float above -1
            float f;
            do {
                f = Float.intBitsToFloat(r.nextInt());
            } while (!(f > -1f) || Float.isInfinite(f));
            bits[i] = f;
        }
        double max = maxUlps(bits, inPlace(bits, true), Math::log1p);
        float[] unit = uniform(10, 1 << 21, -1, 1);
        max = Math.max(max, maxUlps(unit, inPlace(unit, true), Math::log1p));
        float[] tiny = uniform(11, 1 << 20, -1e-3, 1e-3);
        max = Math.max(max, maxUlps(tiny, inPlace(tiny, true), Math::log1p));
        System.out.printf("log1p: %.3f ulp%n", max);
        assertTrue(max <= 0.85, "log1p: " + max + " ulp"); // 1.38 before the table-driven log
    }

    /** {@code count} consecutive floats from {@code from} up, every {@code step}-th. */
    static float[] consecutive(float from, int count, int step) {
        float[] a = new float[count];
        int b = Float.floatToRawIntBits(from);
        for (int i = 0; i < count; i++) {
            a[i] = Float.intBitsToFloat(b + i * step);
        }
        return a;
    }

    /**
     * Next to 1, where log w is as small as the reduced argument r: every float of the table's
     * entries 3 to 5 ([0.8958, 1.1665)), whose invc has few bits so that r is exact, and
     * log1p's arguments there (u in [-0.104, 0.1665), every 8th float of a binade down to 2^-8),
     * where w = 1 + u is rounded and its correction goes into the small terms.
     */
    @Test
    void logAndLog1pNextToOne() {
        float[] w = consecutive(0.8958f, (int) ((1 - 0.8958) * (1 << 24) + 0.1665 * (1 << 23)), 1);
        double max = maxUlps(w, inPlace(w, false), Math::log);
        System.out.printf("log next to 1: %.3f ulp%n", max);
        assertTrue(max <= 0.85, "log next to 1: " + max + " ulp");
        double max1p = 0;
        for (float from : new float[] {0x1p-8f, 0x1p-7f, 0x1p-6f, 0x1p-5f, 0x1p-4f, 0x1p-3f, -0x1p-4f, -0x1p-5f}) {
            float[] all = consecutive(from, 1 << 20, 8);
            float[] u = new float[all.length];
            int m = 0;
            for (float v : all) {
                if (v > -0.1042f && v < 0.1665f) {
                    u[m++] = v;
                }
            }
            u = Arrays.copyOf(u, m);
            max1p = Math.max(max1p, maxUlps(u, inPlace(u, true), Math::log1p));
        }
        System.out.printf("log1p next to 0: %.3f ulp%n", max1p);
        assertTrue(max1p <= 0.85, "log1p next to 0: " + max1p + " ulp");
    }

    /** log1p of arguments from 1e36 to the largest float: 2^127 z_min and above go through logSpecial. */
    @Test
    void log1pOfHugeArguments() {
        float[] huge = new float[1 << 16];
        SplittableRandom r = new SplittableRandom(18);
        for (int i = 0; i < huge.length; i++) {
            huge[i] = (float) Math.exp(r.nextDouble(Math.log(1e36), Math.log(Float.MAX_VALUE)));
        }
        huge[0] = Float.MAX_VALUE;
        huge[1] = 0x1.6aap126f; // about 2^127 z_min, where k = 127 begins
        double max = maxUlps(huge, inPlace(huge, true), Math::log1p);
        assertTrue(max <= 0.85, "log1p of huge arguments: " + max + " ulp");
    }

    /** The sigmoid family's log1p of {@code exp(-|x|)}, in [0, 1]. */
    @Test
    void log1pUnitWithinItsBudget() {
        float[] unit = uniform(12, 1 << 20, 0, 1);
        SplittableRandom r = new SplittableRandom(13);
        float[] tiny = new float[1 << 18];
        for (int i = 0; i < tiny.length; i++) {
            tiny[i] = (float) Math.pow(10, r.nextDouble(-30, 0));
        }
        double max = 0;
        for (float[] a : new float[][] {unit, tiny, {0f, 1f, Float.MIN_VALUE, 0x1p-126f, 0.5f}}) {
            int n = (a.length + V - 1) / V * V;
            float[] got = Arrays.copyOf(a, n);
            VectorMath.log1pUnitInPlace(got, n);
            max = Math.max(max, maxUlps(a, Arrays.copyOf(got, a.length), Math::log1p));
        }
        System.out.printf("log1pUnit: %.3f ulp%n", max);
        assertTrue(max <= 1.4, "log1pUnit: " + max + " ulp");
        float[] special = new float[V];
        special[1] = Float.NaN;
        VectorMath.log1pUnitInPlace(special, V);
        assertEquals(Float.floatToRawIntBits(0f), Float.floatToRawIntBits(special[0]));
        assertTrue(Float.isNaN(special[1]));
    }

    /** {@link VectorMath#logDoubleInto} of {@code args}. */
    static double[] logDouble(float[] args) {
        int n = (args.length + V - 1) / V * V;
        double[] out = new double[n];
        VectorMath.logDoubleInto(Arrays.copyOf(args, n), out, n);
        return Arrays.copyOf(out, args.length);
    }

    /**
     * The double log of float arguments (kl_div's {@code log t}) against the 40-digit Dfp log:
     * the absolute error at most 2.9e-16 (the polynomial's) plus an ulp of the result, over
     * every positive float (bits uniform, subnormals too), probabilities in (0, 1] and every
     * float next to 1 (the table's entries 3 to 5, where the log is as small as r). kl_div's
     * terms {@code t (log t - q)} near the optimum (q = log t rounded to float) are 1e-7 of
     * {@code t}: the float log (0.8 ulp, 2e-7 at log t = -7) would swamp them.
     */
    @Test
    void logDoubleWithinItsBudget() {
        SplittableRandom r = new SplittableRandom(21);
        float[] any = new float[1 << 15];
        float[] probs = new float[1 << 15];
        for (int i = 0; i < any.length; i++) {
            any[i] = Float.intBitsToFloat(1 + r.nextInt(0x7f7fffff));
            probs[i] = (float) Math.exp(-r.nextDouble(0, 16));
        }
        float[] near1 = consecutive(0.8958f, 1 << 15, 97);
        double maxUlps = 0, maxAbs = 0;
        for (float[] a : new float[][] {any, probs, near1, {Float.MIN_VALUE, 0x1p-126f, Float.MAX_VALUE, 1f, 0.5f}}) {
            double[] got = logDouble(a);
            for (int i = 0; i < a.length; i++) {
                org.apache.commons.math3.dfp.Dfp exact = org.apache.commons.math3.dfp.DfpMath.log(DfpOracle.dfp(a[i]));
                double err = Math.abs(DfpOracle.toDouble(exact.subtract(DfpOracle.dfp(got[i]))));
                double ulps = (err - 2.9e-16) / Math.ulp(got[i]);
                assertTrue(ulps <= 1, "log(" + a[i] + ") = " + got[i] + ", error " + err);
                maxUlps = Math.max(maxUlps, err / Math.ulp(got[i]));
                maxAbs = Math.max(maxAbs, Math.abs(got[i]) < 1 ? err : 0);
            }
        }
        System.out.printf("logDouble: %.3f ulp of double, %.3g absolute below |log| = 1%n", maxUlps, maxAbs);
        // the float log's form would be 2^-25 off next to |log| = 1: far outside
        assertTrue(maxAbs <= 4e-16, "logDouble: " + maxAbs + " absolute");
    }

    @Test
    void logDoubleSpecialValues() {
        float[] a = {0f, -0f, Float.MIN_VALUE, 1f, -1f, Float.NaN, Float.POSITIVE_INFINITY, -Float.MIN_VALUE, Float.NEGATIVE_INFINITY};
        double[] got = logDouble(a);
        assertEquals(-151 * Math.log(2), got[0], 1e-12); // finite: callers multiply by the argument
        assertTrue(Double.isFinite(got[1]));
        assertEquals(Math.log(Float.MIN_VALUE), got[2], 1e-13);
        assertEquals(0.0, got[3]);
        assertTrue(Double.isNaN(got[4]));
        assertTrue(Double.isNaN(got[5]));
        assertEquals(128 * Math.log(2), got[6], 1e-12);
        assertTrue(Double.isNaN(got[7]));
        assertTrue(Double.isNaN(got[8]));
    }

    @Test
    void logSpecialValues() {
        float[] a = {0f, -0f, -1f, Float.NaN, Float.POSITIVE_INFINITY, Float.MIN_VALUE, 1f};
        float[] got = inPlace(a, false);
        assertEquals(Float.NEGATIVE_INFINITY, got[0]);
        assertEquals(Float.NEGATIVE_INFINITY, got[1]);
        assertTrue(Float.isNaN(got[2]));
        assertTrue(Float.isNaN(got[3]));
        assertEquals(Float.POSITIVE_INFINITY, got[4]);
        assertEquals((float) Math.log(Float.MIN_VALUE), got[5]);
        assertEquals(0f, got[6]);
        float[] b = {-1f, -2f, 0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.MAX_VALUE};
        float[] g1 = inPlace(b, true);
        assertEquals(Float.NEGATIVE_INFINITY, g1[0]);
        assertTrue(Float.isNaN(g1[1]));
        assertEquals(Float.floatToRawIntBits(0f), Float.floatToRawIntBits(g1[2]));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(g1[3]));
        assertTrue(Float.isNaN(g1[4]));
        assertEquals(Float.POSITIVE_INFINITY, g1[5]);
        assertEquals((float) Math.log1p(Float.MAX_VALUE), g1[6]);
    }
}
