package dev.vecloss.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.oracle.DfpOracle;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.apache.commons.math3.dfp.Dfp;
import org.junit.jupiter.api.Test;

/** {@link ScalarMath#exp} against the 40-digit oracle, and its special values against Math.exp. */
class ScalarMathTest {

    /** The error of {@code got} in ulps of float64 at the exact value {@code exact}. */
    private static double ulps(double got, Dfp exact) {
        double e = DfpOracle.toDouble(exact);
        return Math.abs(DfpOracle.toDouble(DfpOracle.dfp(got).subtract(exact))) / Math.ulp(e);
    }

    @Test
    void withinOneUlpOfTheExactValue() {
        SplittableRandom r = new SplittableRandom(7);
        double worst = 0;
        for (int i = 0; i < 20_000; i++) {
            // the kernels' arguments (x - max, -|x|: [-105, 0] mostly), and the rest of the fast range
            double x = i % 4 == 0 ? r.nextDouble(-699.9, 699.9) : i % 4 == 1 ? -r.nextDouble(0, 1e-6) : -r.nextDouble(0, 105);
            double u = ulps(ScalarMath.exp(x), DfpOracle.dfp(x).exp());
            worst = Math.max(worst, u);
            assertTrue(u <= 1, () -> "exp(" + x + "): " + u + " ulps");
        }
        assertTrue(worst > 0.5, "the sweep should reach the rounding of the table: " + worst); // not an identity
    }

    @Test
    void agreesWithMathExpToAnUlpOnADenseSweep() {
        SplittableRandom r = new SplittableRandom(11);
        for (int i = 0; i < 2_000_000; i++) {
            double x = r.nextDouble(-700, 700);
            double a = ScalarMath.exp(x), b = Math.exp(x);
            assertTrue(Math.abs(a - b) <= 2 * Math.ulp(b), () -> "exp(" + x + ") = " + a + ", Math.exp " + b);
        }
    }

    @Test
    void boundariesAndSpecialValuesAreMathExps() {
        double[] xs = {0, -0.0, 1, -1, 699.99, -699.99, 700, -700, 709.78, 709.79, -745.1, -746, -1e300, 1e300,
            Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, Double.NaN, Double.MIN_VALUE, -Double.MIN_VALUE,
            0x1p-60, -0x1p-60, Math.log(2), -Math.log(2) / 128};
        for (double x : xs) {
            double a = ScalarMath.exp(x), b = Math.exp(x);
            if (Math.abs(x) >= 700 || Double.isNaN(x)) {
                assertEquals(b, a, "exp(" + x + ")"); // Math.exp's own value, bit for bit
            } else {
                assertTrue(Math.abs(a - b) <= Math.ulp(b), () -> "exp(" + x + ") = " + a + ", Math.exp " + b);
            }
        }
        assertEquals(1.0, ScalarMath.exp(0));
        assertEquals(1.0, ScalarMath.exp(-0.0));
    }

    /** A plain running maximum, the definition rowMax must agree with. */
    private static double runningMax(double[] v, int base, int n, int stride) {
        double m = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < n; k++) {
            m = Math.max(m, v[base + k * stride]);
        }
        return m;
    }

    @Test
    void rowMaxIsTheRunningMaximumForEveryLengthStrideAndSpecialValue() {
        SplittableRandom r = new SplittableRandom(3);
        double[] specials = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -0.0, 0.0};
        try (Arena arena = Arena.ofConfined()) {
            for (boolean f64 : new boolean[] {false, true}) {
                for (int stride : new int[] {1, 3}) {
                    for (int n = 0; n <= 11; n++) {
                        for (int trial = 0; trial < 40; trial++) {
                            int base = r.nextInt(3);
                            double[] v = new double[base + Math.max(n, 1) * stride];
                            for (int i = 0; i < v.length; i++) {
                                v[i] = r.nextInt(4) == 0 ? specials[r.nextInt(specials.length)] : (float) r.nextGaussian();
                            }
                            MemorySegment seg = arena.allocate(v.length * 8L);
                            for (int i = 0; i < v.length; i++) {
                                Mem.set(seg, f64, i, v[i]);
                            }
                            double want = runningMax(v, base, n, stride);
                            double got = ScalarMath.rowMax(seg, f64, base, n, stride);
                            // the same value, and the same sign of zero (NaN: any NaN)
                            assertEquals(Double.doubleToLongBits(want), Double.doubleToLongBits(got),
                                    "f64 " + f64 + " stride " + stride + " n " + n + " " + java.util.Arrays.toString(v));
                        }
                    }
                }
            }
        }
    }
}
