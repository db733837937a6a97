package dev.vecloss.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link ExactSum} against {@link BigDecimal}, whose sums are exact: the accumulator must give
 * the exact sum rounded once to nearest-even, whatever the order, the split and the merges.
 */
class ExactSumTest {

    /** The exact sum of {@code v}, rounded to the nearest double, ties to even (BigDecimal, then the double nearest it). */
    static double truth(double[] v) {
        BigDecimal s = BigDecimal.ZERO;
        for (double x : v) {
            s = s.add(new BigDecimal(x));
        }
        return roundToDouble(s);
    }

    /** The double nearest {@code s}, ties to even: {@link BigDecimal#doubleValue} rounds correctly (JDK 19+). */
    static double roundToDouble(BigDecimal s) {
        return s.doubleValue();
    }

    private static void assertBits(double want, double got, String what) {
        assertEquals(Double.doubleToRawLongBits(want), Double.doubleToRawLongBits(got),
                what + ": want " + want + ", got " + got);
    }

    private static double[] wild(Random r, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            double m = r.nextDouble() * 2 - 1;
            int e = switch (r.nextInt(4)) {
                case 0 -> r.nextInt(2099) - 1074; // anywhere, subnormals included
                case 1 -> r.nextInt(60) - 30;
                case 2 -> 1000 + r.nextInt(23);
                default -> -1074 + r.nextInt(60);
            };
            v[i] = Math.scalb(m, e);
        }
        return v;
    }

    @Test
    void sumsOfWildlyScaledValuesAreTheRoundedExactSumInAnyOrderAndSplit() {
        Random r = new Random(11);
        for (int t = 0; t < 300; t++) {
            double[] v = wild(r, 1 + r.nextInt(200));
            double want = truth(v);
            ExactSum one = new ExactSum();
            for (double x : v) {
                one.add(x);
            }
            assertBits(want, one.get(), "trial " + t);
            // shuffled, split in parts, merged in reverse
            List<Double> l = new ArrayList<>();
            for (double x : v) {
                l.add(x);
            }
            Collections.shuffle(l, r);
            int parts = 1 + r.nextInt(5);
            ExactSum[] s = new ExactSum[parts];
            for (int p = 0; p < parts; p++) {
                s[p] = new ExactSum();
            }
            for (int i = 0; i < l.size(); i++) {
                s[r.nextInt(parts)].add(l.get(i));
            }
            ExactSum all = new ExactSum();
            for (int p = parts - 1; p >= 0; p--) {
                all.add(s[p]);
            }
            assertBits(want, all.get(), "trial " + t + " split");
            ExactSum viaLongs = new ExactSum();
            viaLongs.addLongs(all.toLongs(), 0);
            assertBits(want, viaLongs.get(), "trial " + t + " via longs");
        }
    }

    @Test
    void cancellationTiesAndNegativeSums() {
        assertBits(0.0, sum(1e300, -1e300), "cancel");
        assertBits(0.0, sum(), "empty");
        assertBits(0.0, sum(-0.0), "a negative zero sums to +0, as a loop from 0.0");
        assertBits(1.0, sum(1e300, 1.0, -1e300), "a small term survives a large cancellation");
        // 1 + 2^-53 is a tie between 1 and 1 + 2^-52: to even (1); a sticky bit below breaks it upwards
        assertBits(1.0, sum(1.0, 0x1p-53), "tie to even");
        assertBits(Math.nextUp(1.0), sum(1.0, 0x1p-53, Double.MIN_VALUE), "sticky");
        assertBits(-Math.nextUp(1.0), sum(-1.0, -0x1p-53, -Double.MIN_VALUE), "negative sticky");
        assertBits(Math.nextUp(1.0), sum(1.0, 0x1p-52 + 0x1p-53 - 0x1p-53), "exact");
        assertBits(2 * Double.MIN_VALUE, sum(Double.MIN_VALUE, Double.MIN_VALUE), "subnormal");
        assertBits(Double.MIN_NORMAL, sum(Double.MIN_NORMAL - Double.MIN_VALUE, Double.MIN_VALUE), "to normal");
        assertBits(Double.POSITIVE_INFINITY, sum(Double.MAX_VALUE, Double.MAX_VALUE), "overflow");
        assertBits(Double.MAX_VALUE, sum(Double.MAX_VALUE, Double.MAX_VALUE, -Double.MAX_VALUE), "no intermediate overflow");
        assertBits(Double.NaN, sum(Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY), "inf - inf");
        assertBits(Double.NEGATIVE_INFINITY, sum(Double.NEGATIVE_INFINITY, 1.0), "-inf");
        assertBits(Double.NaN, sum(1.0, Double.longBitsToDouble(0xfff8_0000_0000_0001L)), "NaN, canonical");
    }

    @Test
    void manyAdditionsPastTheCarrySpanStayExact() {
        ExactSum s = new ExactSum();
        int n = (1 << 29) + 12345; // past the additions between carry propagations
        double x = 0x1.fffffffffffffp-1; // all 53 bits set: the largest pieces
        for (int i = 0; i < n; i++) {
            s.add(x);
        }
        assertBits(new BigDecimal(x).multiply(BigDecimal.valueOf(n)).doubleValue(), s.get(), "n x");
    }

    @Test
    void badStatesAreRefused() {
        ExactSum s = new ExactSum();
        long[] bad = new long[ExactSum.LONGS];
        bad[3] = -1;
        assertThrows(IllegalArgumentException.class, () -> s.addLongs(bad, 0));
        assertThrows(IllegalArgumentException.class, () -> s.addLongs(new long[3], 0));
        long[] forged = new long[ExactSum.LONGS];
        forged[ExactSum.LONGS - 5] = Long.MAX_VALUE; // the top digit
        assertThrows(IllegalArgumentException.class, () -> s.addLongs(forged, 0));
        long[] negativeCount = new long[ExactSum.LONGS];
        negativeCount[ExactSum.LONGS - 2] = -1; // NaN count
        assertThrows(IllegalArgumentException.class, () -> s.addLongs(negativeCount, 0));
        assertBits(0.0, s.get(), "unchanged");
    }

    private static double sum(double... v) {
        ExactSum s = new ExactSum();
        for (double x : v) {
            s.add(x);
        }
        return s.get();
    }

}
