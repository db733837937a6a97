package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;

/**
 * A reduced call (the three-argument forms, no output tensors) on one thread allocates nothing,
 * for every loss and kernel layout: the problems are per-thread, the kernels' buffers per-thread
 * and grow-only, and no vector crosses a method boundary. Measured on the calling thread
 * ({@code ThreadMXBean.getCurrentThreadAllocatedBytes}) after warm-up, since interpreted vector
 * code allocates its vectors; the best of several rounds counts, so that a recompilation during
 * one round does not fail the test.
 *
 * <p>Tagged {@code allocation} and left out of {@code ./mvnw verify}: on a loaded machine C2
 * sometimes compiles a kernel without inlining one of its vector helpers, which then boxes its
 * vectors for the life of that compilation (seen on 2 cores at a load of 9: the sigmoid focal
 * and multi_margin tiles, kilobytes per call), so the result depends on the JIT's history, not
 * only on the code. Run it on a quiet machine:
 * {@code ./mvnw test -Dtest=AllocationTest -Dtest.excludedGroups=}.
 */
@Tag("allocation")
class AllocationTest {

    private static float[] uniform(SplittableRandom rnd, int n, double lo, double hi) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rnd.nextDouble(lo, hi);
        }
        return a;
    }

    private static long[] labels(SplittableRandom rnd, int n, int c) {
        long[] t = new long[n];
        for (int i = 0; i < n; i++) {
            t[i] = rnd.nextInt(c);
        }
        return t;
    }

    @TestFactory
    Stream<DynamicTest> reducedCallsAllocateNothing() {
        SplittableRandom rnd = new SplittableRandom(99);
        int n = 64;
        int c = 300;
        Tensor wide = Tensor.of(uniform(rnd, n * c, -4, 4), n, c);
        Tensor narrow = Tensor.of(uniform(rnd, n * 10, -4, 4), n, 10);
        Tensor spatial = Tensor.of(uniform(rnd, 2 * 5 * 100, -4, 4), 2, 5, 100);
        Tensor y = Tensor.of(labels(rnd, n, c));
        Tensor y10 = Tensor.of(labels(rnd, n, 10));
        Tensor ySpatial = Tensor.of(labels(rnd, 200, 5), 2, 100);
        Tensor logits = Tensor.of(uniform(rnd, 4099, -8, 8), 4099);
        Tensor probs = Tensor.of(uniform(rnd, 4099, 0, 1), 4099);
        float[] zeroOne = new float[4099];
        for (int i = 0; i < zeroOne.length; i++) {
            zeroOne[i] = rnd.nextBoolean() ? 1 : 0;
        }
        Tensor labels01 = Tensor.of(zeroOne, 4099);
        // the wide rows' other paths: class weights with smoothing, probability targets
        SplittableRandom more = new SplittableRandom(5);
        Tensor classWeight = Tensor.of(uniform(more, c, 0.5, 2), c);
        Tensor wideProb = Tensor.of(uniform(more, n * c, 0, 2f / c), n, c);
        Tensor softLabels = Tensor.of(uniform(new SplittableRandom(3), 4099, 0, 1), 4099); // BCE's other path
        Tensor logProbs = Tensor.of(uniform(rnd, 4099, -9, 0), 4099);
        Tensor grid = Tensor.of(uniform(rnd, 37 * 64, -8, 8), 37, 64);
        Tensor gridTarget = Tensor.of(uniform(rnd, 37 * 64, 0, 1), 37, 64);
        Tensor posWeight = Tensor.of(uniform(rnd, 64, 0.5, 2), 64);
        Tensor oneHot = Tensor.of(new float[n * 10], n, 10);
        for (int i = 0; i < n; i++) {
            oneHot.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i * 10L + i % 10, 1f);
        }
        CrossEntropy.Options ce = CrossEntropy.Options.defaults().withThreads(1);
        CrossEntropy.Options smooth = ce.withLabelSmoothing(0.1);
        CrossEntropy.Options weightedSmooth = smooth.withWeight(classWeight);
        Focal.SoftmaxOptions softmaxFocal = Focal.SoftmaxOptions.defaults().withThreads(1);
        Hinge.Options hinge = Hinge.Options.defaults().withThreads(1);
        BinaryCrossEntropy.Options bce = BinaryCrossEntropy.Options.defaults().withThreads(1);
        BinaryCrossEntropy.Options bcePos = bce.withPosWeight(posWeight);
        Focal.SigmoidOptions sigmoidFocal = Focal.SigmoidOptions.defaults().withGamma(1.5).withReduction(Reduction.MEAN)
                .withThreads(1);
        KlDiv.Options kl = KlDiv.Options.defaults().withReduction(Reduction.BATCHMEAN).withThreads(1);
        RegionLoss.Options dice = RegionLoss.Options.defaults(SegmentationMode.MULTICLASS).withThreads(1);
        RegionLoss.Options jaccard = dice.withIgnoreIndex(3L);
        RegionLoss.Options tversky = RegionLoss.Options.defaults(SegmentationMode.MULTILABEL).withTversky(0.3, 0.7, 2)
                .withClasses(0, 2).withThreads(1);
        float[] mask = new float[2 * 5 * 100];
        for (int i = 0; i < mask.length; i++) {
            mask[i] = rnd.nextBoolean() ? 1 : 0;
        }
        Tensor spatialMask = Tensor.of(mask, 2, 5, 100);
        byte[] u8 = new byte[5000];
        for (int i = 0; i < u8.length; i++) {
            u8[i] = (byte) (i % 7 == 0 ? 255 : rnd.nextInt(21));
        }
        Tensor u8Labels = Tensor.ofUint8(u8, u8.length);
        ClassWeights.Options counting = ClassWeights.Options.defaults().withIgnoreIndex(255).withThreads(1);
        long[] counts = new long[21];
        long[] wideCounts = new long[c];
        Lovasz.Options lovaszMc = Lovasz.Options.defaults(SegmentationMode.MULTICLASS).withThreads(1);
        Lovasz.Options lovaszBin = Lovasz.Options.defaults(SegmentationMode.BINARY).withPerImage(true).withThreads(1);
        Tensor binLogits = Tensor.of(uniform(rnd, 2 * 300, -4, 4), 2, 1, 300);
        float[] binMask = new float[2 * 300];
        for (int i = 0; i < binMask.length; i++) {
            binMask[i] = rnd.nextBoolean() ? 1 : 0;
        }
        Tensor binTarget = Tensor.of(binMask, 2, 1, 300);
        Object[][] calls = {
            {"cross_entropy, wide rows", (DoubleSupplier) () -> CrossEntropy.crossEntropy(wide, y, ce)},
            {"cross_entropy, wide rows, weight and smoothing", (DoubleSupplier) () ->
                    CrossEntropy.crossEntropy(wide, y, weightedSmooth)},
            {"cross_entropy, wide rows, probability targets", (DoubleSupplier) () -> CrossEntropy.crossEntropy(wide, wideProb, ce)},
            {"cross_entropy, narrow rows and smoothing", (DoubleSupplier) () -> CrossEntropy.crossEntropy(narrow, y10, smooth)},
            {"cross_entropy, spatial", (DoubleSupplier) () -> CrossEntropy.crossEntropy(spatial, ySpatial, ce)},
            {"softmax_focal_loss", (DoubleSupplier) () -> Focal.softmaxFocalLoss(wide, y, softmaxFocal)},
            {"multi_margin_loss", (DoubleSupplier) () -> Hinge.multiMarginLoss(wide, y, hinge)},
            {"categorical_hinge", (DoubleSupplier) () -> Hinge.categoricalHinge(narrow, oneHot, hinge)},
            {"binary_cross_entropy_with_logits, pos_weight", (DoubleSupplier) () ->
                    BinaryCrossEntropy.binaryCrossEntropyWithLogits(grid, gridTarget, bcePos)},
            {"binary_cross_entropy", (DoubleSupplier) () -> BinaryCrossEntropy.binaryCrossEntropy(probs, labels01, bce)},
            {"binary_cross_entropy, soft labels", (DoubleSupplier) () ->
                    BinaryCrossEntropy.binaryCrossEntropy(probs, softLabels, bce)},
            {"sigmoid_focal_loss, gamma 1.5", (DoubleSupplier) () -> Focal.sigmoidFocalLoss(logits, labels01, sigmoidFocal)},
            {"hinge, labels AUTO", (DoubleSupplier) () -> Hinge.hinge(logits, labels01, hinge)},
            {"kl_div, batchmean", (DoubleSupplier) () -> KlDiv.klDiv(logProbs, probs, kl)},
            {"dice_loss, multiclass, spatial", (DoubleSupplier) () -> RegionLoss.dice(spatial, ySpatial, dice)},
            {"tversky_loss, multilabel, spatial", (DoubleSupplier) () -> RegionLoss.tversky(spatial, spatialMask, tversky)},
            {"jaccard_loss, multiclass, (N, C)", (DoubleSupplier) () -> RegionLoss.jaccard(narrow, y10, jaccard)},
            {"class_weights counts, uint8 and int64", (DoubleSupplier) () -> {
                ClassWeights.counts(u8Labels, 21, counting, counts);
                ClassWeights.counts(y, c, counting, wideCounts);
                return counts[0] + wideCounts[0];
            }},
            {"lovasz_loss, multiclass", (DoubleSupplier) () -> Lovasz.lovaszLoss(spatial, ySpatial, lovaszMc)},
            {"lovasz_loss, binary per image", (DoubleSupplier) () -> Lovasz.lovaszLoss(binLogits, binTarget, lovaszBin)},
        };
        return Stream.of(calls).map(k -> DynamicTest.dynamicTest((String) k[0], () -> check((String) k[0],
                (DoubleSupplier) k[1])));
    }

    private static void check(String name, DoubleSupplier call) {
        com.sun.management.ThreadMXBean bean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        if (!bean.isThreadAllocatedMemorySupported() || !bean.isThreadAllocatedMemoryEnabled()) {
            return;
        }
        double sink = 0;
        long best = Long.MAX_VALUE;
        for (int round = 0; round < 80 && best > 0; round++) { // stops at the first round with none
            long before = bean.getCurrentThreadAllocatedBytes();
            for (int it = 0; it < 500; it++) {
                sink += call.getAsDouble();
            }
            long allocated = bean.getCurrentThreadAllocatedBytes() - before;
            if (round >= 4) { // rounds 0-3: warm-up, until C2 compiles the kernels
                best = Math.min(best, allocated);
            }
        }
        assertTrue(!Double.isInfinite(sink), name);
        assertEquals(0, best, "bytes allocated by 500 reduced calls of " + name);
    }
}
