package dev.vecloss.internal.panama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vecloss.internal.ExactSum;
import java.math.BigDecimal;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link ExactTiles#add} gives the exact sum of its tile, the value of adding the floats one by
 * one (checked against {@link BigDecimal}), for tiles whose magnitudes span one band or many,
 * with zeros, subnormals, mixed signs, infinities and NaN.
 */
class ExactTilesTest {

    @BeforeAll
    static void needsVectorApi() {
        assumeTrue(ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent(), "no jdk.incubator.vector");
    }

    private static double truth(float[] a, int n) {
        BigDecimal s = BigDecimal.ZERO;
        for (int i = 0; i < n; i++) {
            s = s.add(new BigDecimal(a[i]));
        }
        return s.doubleValue();
    }

    private static void check(float[] a, int n, String what) {
        ExactSum tiles = new ExactSum(), single = new ExactSum();
        ExactTiles.add(a, n, tiles);
        single.add(a, 0, n);
        assertEquals(Double.doubleToRawLongBits(single.get()), Double.doubleToRawLongBits(tiles.get()), what);
        boolean finite = true;
        for (int i = 0; i < n; i++) {
            finite &= Float.isFinite(a[i]);
        }
        if (finite) {
            assertEquals(truth(a, n), tiles.get(), 0.0, what);
        }
    }

    @Test
    void tilesOfEveryRangeSumExactly() {
        Random r = new Random(5);
        int v = PanamaConstants.F.length();
        for (int t = 0; t < 2000; t++) {
            int n = v * (1 + r.nextInt(ExactTiles.MAX_TILE / v));
            float[] a = new float[n];
            int span = switch (t % 5) {
                case 0 -> 1;
                case 1 -> 20;
                case 2 -> 21;
                case 3 -> 60;
                default -> 280;
            };
            int base = r.nextInt(200) - 140;
            for (int i = 0; i < n; i++) {
                int e = base + r.nextInt(span);
                float m = r.nextFloat() * (t % 3 == 0 ? 1 : 2) - (t % 3 == 0 ? 0 : 1);
                a[i] = r.nextInt(10) == 0 ? 0f : Math.scalb(m, Math.max(-149, Math.min(127, e)));
            }
            check(a, n, "trial " + t + ", span " + span);
        }
    }

    @Test
    void specialValues() {
        int v = PanamaConstants.F.length();
        float[] a = new float[4 * v];
        a[0] = 1f;
        a[1] = Float.MIN_VALUE;
        a[2] = -Float.MIN_VALUE;
        a[3] = Float.MAX_VALUE;
        a[4] = Float.MAX_VALUE;
        check(a, a.length, "max + max stays finite in double");
        a[5] = Float.POSITIVE_INFINITY;
        check(a, a.length, "+inf");
        a[6] = Float.NEGATIVE_INFINITY;
        check(a, a.length, "inf - inf");
        a[6] = Float.NaN;
        check(a, a.length, "NaN");
        float[] zeros = new float[v];
        zeros[0] = -0f;
        check(zeros, v, "zeros");
        float[] sub = new float[2 * v];
        for (int i = 0; i < sub.length; i++) {
            sub[i] = Math.scalb((float) (i + 1), -149 + (i % 3) * 12); // subnormals and the smallest normals
        }
        sub[1] = 1e30f;
        check(sub, sub.length, "subnormals below a large value");
    }
}
