package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vecloss.ClassWeights.Counter;
import dev.vecloss.ClassWeights.Counts;
import dev.vecloss.ClassWeights.Options;
import dev.vecloss.ClassWeights.Scheme;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * {@link ClassWeights.Counter} and {@link Counts#plus}: labels {@code (N, H, W)} cut at random
 * along N into 1 to 5 batches, accepted in a shuffled order by one to three counters, combined in
 * a random order (counter to counter, or through their {@link Counts}), give the counts and the
 * per-image pixel totals of one call over all the labels, and so the same weights to the bit for
 * every scheme; uint8 (the SIMD histogram) and int64 labels, at 1 and 2 threads, on the selected
 * and the scalar kernels. Refused batches leave a counter unchanged.
 */
class ClassWeightsCounterTest {

    static Tensor labels(boolean uint8, int n, int h, int w, int c, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int size = n * h * w;
        long[] y = new long[size];
        for (int i = 0; i < size; i++) {
            int img = i / (h * w);
            // class j occurs in some images only, with skewed frequencies; some labels ignored (255)
            int v = r.nextInt(20) == 0 ? 255 : (int) Math.min(c - 1, Math.abs(r.nextGaussian()) * (1 + img % 4));
            y[i] = v;
        }
        if (!uint8) {
            return Tensor.of(y, n, h, w);
        }
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = (byte) y[i];
        }
        return Tensor.ofUint8(b, n, h, w);
    }

    static Tensor slice(Tensor t, int from, int to) {
        int per = (int) (t.numel() / t.dim(0));
        long[] dims = t.dims().clone();
        dims[0] = to - from;
        if (t.dtype() == DType.UINT8) {
            byte[] b = new byte[(to - from) * per];
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) t.getLong((long) from * per + i);
            }
            return Tensor.ofUint8(b, dims);
        }
        return Tensor.of(Arrays.copyOfRange(t.toLongArray(), from * per, to * per), dims);
    }

    @TestFactory
    Stream<DynamicTest> splitsGiveTheOneCallCountsAndWeights() {
        List<DynamicTest> tests = new ArrayList<>();
        long seed = 1;
        for (boolean uint8 : new boolean[] {true, false}) {
            for (boolean pixels : new boolean[] {true, false}) {
                for (Kernels.Implementation impl : new Kernels.Implementation[] {null, Kernels.Implementation.SCALAR}) {
                    long sd = seed++;
                    tests.add(DynamicTest.dynamicTest((uint8 ? "uint8" : "int64") + (pixels ? " with image pixels" : "")
                            + " " + (impl == null ? Kernels.selected() : impl), () -> check(uint8, pixels, impl, sd)));
                }
            }
        }
        return tests.stream();
    }

    private static void check(boolean uint8, boolean pixels, Kernels.Implementation impl, long seed) throws Exception {
        int c = 6;
        Tensor all = labels(uint8, 23, 37, 41, c, seed); // 34 891 labels: several chunks
        SplittableRandom r = new SplittableRandom(seed * 7);
        for (int threads : new int[] {1, 2}) {
            Options o = Options.defaults().withIgnoreIndex(255).withThreads(threads);
            Counts want = run(impl, () -> pixels ? ClassWeights.countsWithImagePixels(all, c, o)
                    : Counts.of(ClassWeights.counts(all, c, o)));
            for (int trial = 0; trial < 4; trial++) {
                int[] cuts = SplitAccumulation.cuts(r, 23);
                List<int[]> batches = new ArrayList<>();
                for (int i = 0; i + 1 < cuts.length; i++) {
                    batches.add(new int[] {cuts[i], cuts[i + 1]});
                }
                java.util.Collections.shuffle(batches, new java.util.Random(r.nextLong()));
                int k = 1 + r.nextInt(Math.min(3, batches.size()));
                List<Counter> counters = new ArrayList<>();
                for (int i = 0; i < k; i++) {
                    counters.add(ClassWeights.counter(c, o, pixels));
                }
                for (int b = 0; b < batches.size(); b++) {
                    int[] range = batches.get(b);
                    Counter target = counters.get(b % k);
                    run(impl, () -> target.accept(slice(all, range[0], range[1])));
                }
                while (counters.size() > 1) {
                    Counter a = counters.remove(r.nextInt(counters.size()));
                    Counter b = counters.remove(r.nextInt(counters.size()));
                    counters.add(r.nextBoolean() ? a.combine(b) : a.combine(b.counts()));
                }
                Counts got = counters.get(0).counts();
                String how = "threads " + threads + ", cuts " + Arrays.toString(cuts);
                assertArrayEquals(want.counts(), got.counts(), how);
                assertArrayEquals(want.imagePixels(), got.imagePixels(), how);
                for (Scheme scheme : Scheme.values()) {
                    ClassWeights.Weights ww = ClassWeights.weights(want, scheme, o);
                    ClassWeights.Weights gw = counters.get(0).weights(scheme);
                    assertEquals(ww.frequency(), gw.frequency());
                    assertArrayEquals(bits(ww.weights()), bits(gw.weights()), how + ", " + scheme);
                }
            }
        }
    }

    private static long[] bits(double[] w) {
        return Arrays.stream(w).mapToLong(Double::doubleToRawLongBits).toArray();
    }

    private static <T> T run(Kernels.Implementation impl, java.util.concurrent.Callable<T> op) throws Exception {
        return impl == null ? op.call() : Kernels.callWith(impl, op::call);
    }

    @Test
    void countsPlus() {
        Counts a = new Counts(new long[] {1, 0, 3}, new long[] {5, 0, 7});
        Counts b = new Counts(new long[] {2, 4, 0}, new long[] {3, 9, 0});
        Counts s = a.plus(b);
        assertArrayEquals(new long[] {3, 4, 3}, s.counts());
        assertArrayEquals(new long[] {8, 9, 7}, s.imagePixels());
        assertArrayEquals(s.counts(), Counts.empty(3, true).plus(s).counts());
        assertNull(a.plus(Counts.of(new long[] {1, 1, 1})).imagePixels(), "totals kept only when both have them");
        assertThrows(IllegalArgumentException.class, () -> a.plus(Counts.of(new long[2])));
        assertThrows(ArithmeticException.class, () -> Counts.of(new long[] {Long.MAX_VALUE}).plus(Counts.of(new long[] {1})));
    }

    @Test
    void refusedBatchesLeaveTheCounterUnchanged() {
        Options o = Options.defaults().withIgnoreIndex(255).withThreads(1);
        Tensor all = labels(false, 4, 5, 5, 3, 9);
        Counter counter = ClassWeights.counter(3, o, true).accept(slice(all, 0, 2));
        Counts before = counter.counts();
        long[] bad = slice(all, 2, 4).toLongArray();
        bad[bad.length - 1] = 3;
        assertThrows(IllegalArgumentException.class, () -> counter.accept(Tensor.of(bad, 2, 5, 5)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> counter.accept(Tensor.of(new long[] {0, 1}, 2)));
        assertEquals(true, e.getMessage().contains("image axis"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> counter.accept(Tensor.of(new float[4], 2, 2)));
        assertThrows(IllegalArgumentException.class, () -> counter.combine(ClassWeights.counter(4, o, true)));
        assertThrows(IllegalArgumentException.class, () -> counter.combine(ClassWeights.counter(3, o, false)));
        assertThrows(IllegalArgumentException.class, () -> counter.combine(Counts.of(new long[3])));
        assertArrayEquals(before.counts(), counter.counts().counts());
        assertArrayEquals(before.imagePixels(), counter.counts().imagePixels());
        assertThrows(IllegalArgumentException.class, () -> ClassWeights.counter(0, o, false));
    }
}
