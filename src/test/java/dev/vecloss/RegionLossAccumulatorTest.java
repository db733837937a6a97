package dev.vecloss;

import static dev.vecloss.SplitAccumulation.assertBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vecloss.RegionLoss.Options;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The accumulators of Dice, Jaccard and Tversky ({@link RegionLoss#diceAccumulator} ...): random
 * splits of the batch axis into 1 to 5 batches, accepted in a shuffled order and combined in a
 * random tree (directly or through their states), give the raw bits of the one call over the
 * whole batch, for every mode, logits and probabilities, each option that changes the finishing
 * formula (ignore_index, a classes subset with a duplicate, class weights, log_loss, smooth,
 * Tversky's gamma), float32 inputs, at 1 and 2 threads, on the selected kernels (Panama in the
 * Panama passes, so both kernels across the suite's passes) and the scalar ones. The data has
 * spatial sizes that leave short vector blocks, several chunks per call, and logits of widely
 * varying scales (probabilities over some 60 binades), where a plain double sum depends on its
 * order. Also: the state round trip, the refusals, and that a refused batch changes nothing.
 */
class RegionLossAccumulatorTest {

    enum Loss {
        DICE, JACCARD, TVERSKY;

        double call(Tensor x, Tensor y, Options o) {
            return switch (this) {
                case DICE -> RegionLoss.dice(x, y, o);
                case JACCARD -> RegionLoss.jaccard(x, y, o);
                case TVERSKY -> RegionLoss.tversky(x, y, o);
            };
        }

        LossAccumulator accumulator(int c, Options o) {
            return switch (this) {
                case DICE -> RegionLoss.diceAccumulator(c, o);
                case JACCARD -> RegionLoss.jaccardAccumulator(c, o);
                case TVERSKY -> RegionLoss.tverskyAccumulator(c, o);
            };
        }
    }

    /** float32 inputs of shape (N, C, S) and their targets (index labels or dense values). */
    record Data(SegmentationMode mode, int n, int c, int s, float[] x, long[] labels, float[] dense) {
        Tensor[] slice(int from, int to) {
            int m = to - from;
            float[] xs = Arrays.copyOfRange(x, from * c * s, to * c * s);
            Tensor in = Tensor.of(xs, m, c, s);
            if (labels != null) {
                return new Tensor[] {in, Tensor.of(Arrays.copyOfRange(labels, from * s, to * s), m, s)};
            }
            return new Tensor[] {in, Tensor.of(Arrays.copyOfRange(dense, from * c * s, to * c * s), m, c, s)};
        }

        Tensor[] whole() {
            return slice(0, n);
        }
    }

    /**
     * Logits with a scale per image from 0.1 to 30 (so probabilities span many binades), or, for
     * probability inputs, values {@code 2^-u} with u up to 60; labels with some ignored (255) and
     * class {@code c - 1} absent in half of the images; dense targets mostly 0/1 with some soft values.
     */
    static Data data(SegmentationMode mode, boolean logits, int n, int c, int s, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n * c * s];
        for (int i = 0; i < n; i++) {
            double scale = new double[] {0.1, 1, 4, 30}[r.nextInt(4)];
            for (int j = 0; j < c * s; j++) {
                x[i * c * s + j] = logits ? (float) (r.nextGaussian() * scale) : (float) Math.scalb(1.0, -r.nextInt(61));
            }
        }
        if (mode == SegmentationMode.MULTICLASS) {
            long[] y = new long[n * s];
            for (int i = 0; i < y.length; i++) {
                int top = (i / s) % 2 == 0 ? c - 1 : c;
                y[i] = r.nextInt(20) == 0 ? 255 : r.nextInt(top);
            }
            return new Data(mode, n, c, s, x, y, null);
        }
        float[] t = new float[n * c * s];
        for (int i = 0; i < t.length; i++) {
            int u = r.nextInt(20);
            t[i] = u == 0 ? 255f : u == 1 ? 0.3f : r.nextInt(2);
        }
        return new Data(mode, n, c, s, x, null, t);
    }

    /** Option sets that each change the finishing formula. */
    static Options options(SegmentationMode mode, boolean logits, int set, int c) {
        Options o = Options.defaults(mode).withFromLogits(logits).withIgnoreIndex(255L);
        boolean binary = mode == SegmentationMode.BINARY;
        return switch (set) {
            case 0 -> o;
            case 1 -> binary ? o.withLogLoss(true) : o.withClasses(c - 1, 0, 0).withLogLoss(true);
            case 2 -> binary ? o.withSmooth(1) : o.withClassWeights(weights(c)).withSmooth(0.5);
            default -> o.withTversky(0.3, 0.7, 0.75).withEps(1e-3);
        };
    }

    private static double[] weights(int c) {
        double[] w = new double[c];
        for (int k = 0; k < c; k++) {
            w[k] = 0.25 + k;
        }
        return w;
    }

    @TestFactory
    Stream<DynamicTest> splitsGiveTheOneCallBits() {
        List<DynamicTest> tests = new ArrayList<>();
        long seed = 1;
        for (Loss loss : Loss.values()) {
            for (SegmentationMode mode : SegmentationMode.values()) {
                for (boolean logits : new boolean[] {true, false}) {
                    for (int set = 0; set < 4; set++) {
                        for (Kernels.Implementation impl : new Kernels.Implementation[] {null, Kernels.Implementation.SCALAR}) {
                            long sd = seed++;
                            int os = set;
                            String name = loss + " " + mode + (logits ? " logits" : " probabilities") + " options " + os
                                    + " " + (impl == null ? Kernels.selected() : impl);
                            tests.add(DynamicTest.dynamicTest(name, () -> check(loss, mode, logits, os, impl, sd)));
                        }
                    }
                }
            }
        }
        return tests.stream();
    }

    private static void check(Loss loss, SegmentationMode mode, boolean logits, int set, Kernels.Implementation impl,
            long seed) throws Exception {
        int c = mode == SegmentationMode.BINARY ? 1 : 4;
        // S = 61 * 67 = 4087: not a multiple of any lane count; 9 images make 36 783 positions, 3 chunks at C = 4
        Data d = data(mode, logits, 9, c, 61 * 67, seed);
        SplittableRandom r = new SplittableRandom(seed * 31);
        for (int threads : new int[] {1, 2}) {
            Options o = options(mode, logits, set, c).withThreads(threads);
            Tensor[] all = d.whole();
            double want = run(impl, () -> loss.call(all[0], all[1], o));
            for (int trial = 0; trial < 3; trial++) {
                Object[] got = run(impl, () -> SplitAccumulation.accumulate(r, d.n(), d::slice,
                        () -> loss.accumulator(c, o)));
                assertBits(want, (double) got[0], "threads " + threads + ", " + got[1]);
                assertEquals((long) d.n() * d.s(), ((LossAccumulator) got[2]).count());
            }
        }
    }

    private static <T> T run(Kernels.Implementation impl, java.util.concurrent.Callable<T> op) throws Exception {
        return impl == null ? op.call() : Kernels.callWith(impl, op::call);
    }

    /** The data is one where the order of a plain double sum matters: two orders give other bits. */
    @Test
    void theDataDefeatsAPlainSum() {
        Data d = data(SegmentationMode.MULTICLASS, false, 9, 4, 61 * 67, 5);
        double forward = 0, backward = 0;
        for (int i = 0; i < d.x().length; i += 4) {
            forward += d.x()[i];
        }
        for (int i = (d.x().length - 1) / 4 * 4; i >= 0; i -= 4) {
            backward += d.x()[i];
        }
        assertNotEquals(forward, backward);
    }

    @Test
    void stateRoundTripAndEmpty() {
        Data d = data(SegmentationMode.MULTICLASS, true, 3, 4, 100, 9);
        Options o = options(SegmentationMode.MULTICLASS, true, 2, 4);
        LossAccumulator a = RegionLoss.diceAccumulator(4, o);
        assertBits(RegionLoss.dice(Tensor.of(new float[0], 0, 4, 100), Tensor.of(new long[0], 0, 100), o),
                a.getAsDouble(), "no batch: the one call over no image");
        Tensor[] all = d.whole();
        a.accept(all[0], all[1]);
        long[] state = a.state();
        LossAccumulator b = RegionLoss.diceAccumulator(4, o).combineState(state);
        assertBits(a.getAsDouble(), b.getAsDouble(), "round trip");
        assertEquals(300, b.count());
        assertEquals(Arrays.toString(state), Arrays.toString(b.state()));
        // a Jaccard accumulator of the same sums is another loss: refused
        assertThrows(IllegalArgumentException.class, () -> RegionLoss.jaccardAccumulator(4, o).combineState(state));
        assertThrows(IllegalArgumentException.class, () -> RegionLoss.jaccardAccumulator(4, o).combine(a));
        assertThrows(IllegalArgumentException.class, () -> RegionLoss.diceAccumulator(5, o.withClassWeights(weights(5))).combineState(state));
    }

    @Test
    void badBatchesLeaveTheStateUnchanged() {
        Data d = data(SegmentationMode.MULTICLASS, true, 4, 4, 100, 11);
        Options o = Options.defaults(SegmentationMode.MULTICLASS).withIgnoreIndex(255L);
        LossAccumulator a = RegionLoss.diceAccumulator(4, o);
        Tensor[] first = d.slice(0, 2);
        a.accept(first[0], first[1]);
        // another class count
        Data three = data(SegmentationMode.MULTICLASS, true, 2, 3, 100, 12);
        Tensor[] t3 = three.whole();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RegionLoss.diceAccumulator(4, o)
                .accept(t3[0], t3[1]));
        assertEquals(true, e.getMessage().contains("C = 3") && e.getMessage().contains("4 classes"), e.getMessage());
        SplitAccumulation.assertRefusedUnchanged(a, t3[0], t3[1]);
        // a label out of range, found by the kernels after part of the batch was summed
        Tensor[] second = d.slice(2, 4);
        long[] labels = second[1].toLongArray();
        labels[labels.length - 1] = 7;
        SplitAccumulation.assertRefusedUnchanged(a, second[0], Tensor.of(labels, 2, 100));
        // a target of the wrong shape
        SplitAccumulation.assertRefusedUnchanged(a, second[0], Tensor.of(new long[100], 1, 100));
        // and the state still gives the one call over the first two images
        assertBits(RegionLoss.dice(first[0], first[1], o), a.getAsDouble(), "after the refusals");
    }

    @Test
    void refusedFactories() {
        Options mc = Options.defaults(SegmentationMode.MULTICLASS);
        assertThrows(IllegalArgumentException.class, () -> RegionLoss.diceAccumulator(0, mc));
        assertThrows(IllegalArgumentException.class, () -> RegionLoss.diceAccumulator(2, Options.defaults(SegmentationMode.BINARY)));
        assertThrows(IllegalArgumentException.class, () -> RegionLoss.diceAccumulator(3, mc.withClasses(3)));
        assertThrows(IllegalArgumentException.class, () -> RegionLoss.diceAccumulator(3, mc.withClassWeights(1, 2)));
    }
}
