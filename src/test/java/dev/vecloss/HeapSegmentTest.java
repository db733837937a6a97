package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Tensors over heap segments of another array type than their elements' (float32 over a
 * {@code byte[]} or an {@code int[]}, as {@code MemorySegment.ofBuffer} of a heap buffer gives):
 * JDK 25's C2 does not intrinsify the Vector API's loads from them, and its Java fallback
 * allocates every vector. The SIMD kernels leave such problems to the scalar ones, so each loss
 * gives the scalar kernels' bits there, whatever kernels are selected, and allocates nothing per
 * reduced call.
 */
class HeapSegmentTest {

    /** The same float32 values over a float[], a byte[] and an int[]. */
    private static Tensor[] views(float[] v, long... shape) {
        byte[] bytes = new byte[v.length * 4];
        int[] ints = new int[v.length];
        MemorySegment.copy(v, 0, MemorySegment.ofArray(bytes), ValueLayout.JAVA_FLOAT_UNALIGNED, 0, v.length);
        MemorySegment.copy(v, 0, MemorySegment.ofArray(ints), ValueLayout.JAVA_FLOAT_UNALIGNED, 0, v.length);
        return new Tensor[] {Tensor.of(v, shape), Tensor.of(MemorySegment.ofArray(bytes), DType.FLOAT32, shape),
            Tensor.of(MemorySegment.ofArray(ints), DType.FLOAT32, shape)};
    }

    private static float[] uniform(SplittableRandom r, int n, double lo, double hi) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (lo + (hi - lo) * r.nextDouble());
        }
        return v;
    }

    /** {@code n} class indices below {@code classes}. */
    private static long[] labels(SplittableRandom r, int n, int classes) {
        long[] y = new long[n];
        for (int i = 0; i < n; i++) {
            y[i] = r.nextInt(classes);
        }
        return y;
    }

    /**
     * {@code loss} on the byte[]- and int[]-backed views gives the scalar kernels' bits on the
     * float[] one. On a thread of its own, the other views first: the thread's problems have not
     * been set up for the scalar kernels by an earlier call.
     */
    private static void scalarBits(String name, Tensor[] views, Function<Tensor, Double> loss) throws Exception {
        double[] got = new double[views.length];
        Throwable[] failure = {null};
        Thread t = new Thread(() -> {
            try {
                for (int k = 1; k < views.length; k++) {
                    got[k] = loss.apply(views[k]);
                }
                got[0] = Kernels.callWith(Kernels.Implementation.SCALAR, () -> loss.apply(views[0]));
            } catch (Throwable e) {
                failure[0] = e;
            }
        });
        t.start();
        t.join();
        if (failure[0] != null) {
            throw new AssertionError(name + " threw " + failure[0], failure[0]);
        }
        for (int k = 1; k < views.length; k++) {
            assertEquals(Double.doubleToLongBits(got[0]), Double.doubleToLongBits(got[k]),
                    name + " over a " + (k == 1 ? "byte[]" : "int[]"));
        }
    }

    @Test
    void mismatchedHeapSegmentsRunOnTheScalarKernels() throws Exception {
        SplittableRandom r = new SplittableRandom(5);
        Tensor labels = Tensor.of(labels(r, 64, 100), 64);
        Tensor[] wide = views(uniform(r, 64 * 1000, -4, 4), 64, 1000);
        Tensor[] narrow = views(uniform(r, 64 * 100, -4, 4), 64, 100);
        CrossEntropy.Options ce = CrossEntropy.Options.defaults().withThreads(1);
        scalarBits("cross_entropy, wide rows", wide, t -> CrossEntropy.crossEntropy(t, labels, ce));
        scalarBits("cross_entropy, narrow rows", narrow, t -> CrossEntropy.crossEntropy(t, labels, ce));

        Tensor[] logits = views(uniform(r, 4096, -6, 6), 64, 64);
        Tensor target = Tensor.of(uniform(r, 4096, 0, 1), 64, 64);
        Tensor[] posWeight = views(uniform(r, 64, 0.5, 4), 64);
        BinaryCrossEntropy.Options bce = BinaryCrossEntropy.Options.defaults().withThreads(1);
        scalarBits("bce_with_logits", logits, t -> BinaryCrossEntropy.binaryCrossEntropyWithLogits(t, target, bce));
        scalarBits("bce_with_logits, pos_weight over a byte[]", new Tensor[] {posWeight[0], posWeight[1]},
                pw -> BinaryCrossEntropy.binaryCrossEntropyWithLogits(logits[0], target, bce.withPosWeight(pw)));

        Tensor masks = Tensor.of(labels(r, 2 * 16 * 16, 5), 2, 16, 16);
        Tensor[] spatial = views(uniform(r, 2 * 5 * 256, -4, 4), 2, 5, 16, 16);
        RegionLoss.Options dice = RegionLoss.Options.defaults(SegmentationMode.MULTICLASS).withThreads(1);
        scalarBits("dice_loss", spatial, t -> RegionLoss.dice(t, masks, dice));
        Lovasz.Options lovasz = Lovasz.Options.defaults(SegmentationMode.MULTICLASS).withThreads(1);
        scalarBits("lovasz_loss", spatial, t -> Lovasz.lovaszLoss(t, masks, lovasz));
    }

    /**
     * The same call on the selected kernels allocates nothing per call once compiled, where the
     * Vector API's fallback allocated about 1 MB per call (cross-entropy on 64 x 1000 over a
     * byte[]); and a float[]-backed tensor after it still allocates nothing.
     */
    @Test
    void aMismatchedHeapSegmentAllocatesNothingPerCall() {
        com.sun.management.ThreadMXBean bean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        if (!bean.isThreadAllocatedMemorySupported() || !bean.isThreadAllocatedMemoryEnabled()) {
            return;
        }
        SplittableRandom r = new SplittableRandom(9);
        Tensor labels = Tensor.of(labels(r, 64, 1000), 64);
        Tensor[] wide = views(uniform(r, 64 * 1000, -4, 4), 64, 1000);
        CrossEntropy.Options ce = CrossEntropy.Options.defaults().withThreads(1);
        for (Tensor t : new Tensor[] {wide[1], wide[0]}) {
            long best = Long.MAX_VALUE;
            double sink = 0;
            for (int round = 0; round < 40 && best > 0; round++) {
                long before = bean.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 100; i++) {
                    sink += CrossEntropy.crossEntropy(t, labels, ce);
                }
                long per = (bean.getCurrentThreadAllocatedBytes() - before) / 100;
                if (round >= 3) {
                    best = Math.min(best, per);
                }
            }
            assertTrue(Double.isFinite(sink));
            // far below the fallback's megabyte: a few bytes of a stray allocation would still pass
            assertTrue(best < 1024, (t == wide[0] ? "float[]" : "byte[]") + ": " + best + " bytes per call");
        }
    }
}
