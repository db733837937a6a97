package dev.vecloss;

import static dev.vecloss.SplitAccumulation.assertBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.Lovasz.Options;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The accumulator of the per_image Lovász loss ({@link Lovasz#accumulator}): random splits of the
 * images into 1 to 5 batches, accepted in a shuffled order and combined in a random tree, give the
 * raw bits of the one call over the whole batch, in every mode, with and without an ignore index,
 * float32, at 1 and 2 threads, on the selected and the scalar kernels; the images' logits have
 * scales from 0.01 to 30, so their losses span several binades and a plain double sum of them
 * depends on its order. Also: the refusal without per_image, the state round trip, and refused
 * batches that leave the state unchanged.
 */
class LovaszAccumulatorTest {

    /** float32 logits (N, C, S) and targets: class indices (multiclass) or 0/1 of the input's shape. */
    record Data(SegmentationMode mode, int n, int c, int s, float[] x, long[] y) {
        Tensor[] slice(int from, int to) {
            int m = to - from;
            Tensor in = Tensor.of(Arrays.copyOfRange(x, from * c * s, to * c * s), m, c, s);
            int per = mode == SegmentationMode.MULTICLASS ? s : c * s;
            long[] t = Arrays.copyOfRange(y, from * per, to * per);
            return new Tensor[] {in, mode == SegmentationMode.MULTICLASS ? Tensor.of(t, m, s) : Tensor.of(t, m, c, s)};
        }
    }

    static Data data(SegmentationMode mode, int n, int c, int s, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n * c * s];
        for (int i = 0; i < n; i++) {
            double scale = new double[] {0.01, 0.3, 2, 30}[r.nextInt(4)];
            for (int j = 0; j < c * s; j++) {
                x[i * c * s + j] = (float) (r.nextGaussian() * scale);
            }
        }
        int per = mode == SegmentationMode.MULTICLASS ? s : c * s;
        long[] y = new long[n * per];
        for (int i = 0; i < y.length; i++) {
            y[i] = r.nextInt(15) == 0 ? 255 : r.nextInt(mode == SegmentationMode.MULTICLASS ? c : 2);
        }
        return new Data(mode, n, c, s, x, y);
    }

    @TestFactory
    Stream<DynamicTest> splitsGiveTheOneCallBits() {
        List<DynamicTest> tests = new ArrayList<>();
        long seed = 1;
        for (SegmentationMode mode : SegmentationMode.values()) {
            for (Long ignore : new Long[] {null, 255L}) {
                for (Kernels.Implementation impl : new Kernels.Implementation[] {null, Kernels.Implementation.SCALAR}) {
                    long sd = seed++;
                    String name = mode + " ignore " + ignore + " " + (impl == null ? Kernels.selected() : impl);
                    tests.add(DynamicTest.dynamicTest(name, () -> check(mode, ignore, impl, sd)));
                }
            }
        }
        return tests.stream();
    }

    private static void check(SegmentationMode mode, Long ignore, Kernels.Implementation impl, long seed) throws Exception {
        int c = mode == SegmentationMode.BINARY ? 1 : 3;
        // 40 images of 13 x 11: short vector blocks in every image
        Data d = data(mode, 40, c, 13 * 11, seed);
        if (ignore == null) { // labels 255 are errors without an ignore index: make them valid
            for (int i = 0; i < d.y().length; i++) {
                d.y()[i] = d.y()[i] == 255 ? 0 : d.y()[i];
            }
        }
        SplittableRandom r = new SplittableRandom(seed * 17);
        for (int threads : new int[] {1, 2}) {
            Options o = Options.defaults(mode).withPerImage(true).withIgnoreIndex(ignore).withThreads(threads);
            Tensor[] all = d.slice(0, d.n());
            double want = run(impl, () -> Lovasz.lovaszLoss(all[0], all[1], o));
            for (int trial = 0; trial < 4; trial++) {
                Object[] got = run(impl, () -> SplitAccumulation.accumulate(r, d.n(), d::slice, () -> Lovasz.accumulator(c, o)));
                assertBits(want, (double) got[0], "threads " + threads + ", " + got[1]);
                assertEquals(d.n(), ((LossAccumulator) got[2]).count());
            }
        }
    }

    private static <T> T run(Kernels.Implementation impl, java.util.concurrent.Callable<T> op) throws Exception {
        return impl == null ? op.call() : Kernels.callWith(impl, op::call);
    }

    /** The images' losses are such that a plain double sum in two orders gives other bits (so exactness is tested). */
    @Test
    void theDataDefeatsAPlainSum() {
        Data d = data(SegmentationMode.MULTICLASS, 40, 3, 13 * 11, 1);
        Options o = Options.defaults(SegmentationMode.MULTICLASS).withPerImage(true).withIgnoreIndex(255L).withThreads(1);
        double[] l = new double[d.n()];
        for (int i = 0; i < d.n(); i++) {
            Tensor[] t = d.slice(i, i + 1);
            l[i] = Lovasz.lovaszLoss(t[0], t[1], o);
        }
        boolean differs = false;
        for (int shift = 1; shift < d.n() && !differs; shift++) {
            double a = 0, b = 0;
            for (int i = 0; i < d.n(); i++) {
                a += l[i];
                b += l[(i + shift) % d.n()];
            }
            differs = a != b;
        }
        assertTrue(differs, "every rotation of the image losses summed to the same double");
    }

    @Test
    void withoutPerImageIsRefused() {
        for (SegmentationMode mode : SegmentationMode.values()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Lovasz.accumulator(mode == SegmentationMode.BINARY ? 1 : 3, Options.defaults(mode)));
            assertTrue(e.getMessage().contains("per_image") && e.getMessage().contains("sorts the errors of the whole batch"),
                    e.getMessage());
        }
        assertThrows(IllegalArgumentException.class,
                () -> Lovasz.accumulator(1, Options.defaults(SegmentationMode.MULTICLASS).withPerImage(true)));
        assertThrows(IllegalArgumentException.class,
                () -> Lovasz.accumulator(2, Options.defaults(SegmentationMode.BINARY).withPerImage(true)));
    }

    @Test
    void stateRoundTripAndEmpty() {
        Data d = data(SegmentationMode.MULTICLASS, 6, 3, 20, 3);
        Options o = Options.defaults(SegmentationMode.MULTICLASS).withPerImage(true).withIgnoreIndex(255L);
        LossAccumulator a = Lovasz.accumulator(3, o);
        assertBits(Lovasz.lovaszLoss(Tensor.of(new float[0], 0, 3, 20), Tensor.of(new long[0], 0, 20), o),
                a.getAsDouble(), "no image");
        Tensor[] all = d.slice(0, 6);
        a.accept(all[0], all[1]);
        LossAccumulator b = Lovasz.accumulator(3, o).combineState(a.state());
        assertBits(a.getAsDouble(), b.getAsDouble(), "round trip");
        assertEquals(6, b.count());
        assertThrows(IllegalArgumentException.class, () -> Lovasz.accumulator(4, o).combineState(a.state()));
        assertThrows(IllegalArgumentException.class, () -> Lovasz.accumulator(3, o.withIgnoreIndex(null)).combine(a));
    }

    @Test
    void badBatchesLeaveTheStateUnchanged() {
        Data d = data(SegmentationMode.MULTICLASS, 4, 3, 20, 5);
        Options o = Options.defaults(SegmentationMode.MULTICLASS).withPerImage(true).withIgnoreIndex(255L);
        LossAccumulator a = Lovasz.accumulator(3, o);
        Tensor[] first = d.slice(0, 2);
        a.accept(first[0], first[1]);
        Data four = data(SegmentationMode.MULTICLASS, 2, 4, 20, 6);
        Tensor[] t4 = four.slice(0, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Lovasz.accumulator(3, o).accept(t4[0], t4[1]));
        assertTrue(e.getMessage().contains("C = 4"), e.getMessage());
        SplitAccumulation.assertRefusedUnchanged(a, t4[0], t4[1]);
        Tensor[] second = d.slice(2, 4);
        long[] labels = second[1].toLongArray();
        labels[labels.length - 1] = 3;
        SplitAccumulation.assertRefusedUnchanged(a, second[0], Tensor.of(labels, 2, 20));
        assertBits(Lovasz.lovaszLoss(first[0], first[1], o), a.getAsDouble(), "after the refusals");
    }
}
