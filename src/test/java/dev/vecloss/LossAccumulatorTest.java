package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * The accumulators' promise (issue 11): batches split anywhere along the first axis, accepted in
 * any order by several accumulators, combined in any order (also through {@code state()}), give
 * the bits of the one call over the whole, at 1 and 2 threads. The data make a plain double
 * reduction depend on the split: losses that span many binades (confident and wrong rows,
 * saturated logits), and sizes of several chunks.
 */
class LossAccumulatorTest {

    /** A loss: its accumulator, its one call, and data along a first axis of {@code n} slices. */
    record Case(String name, Function<Integer, LossAccumulator> accumulator,
            BiFunction<Integer, Tensor[], Double> oneCall, Data data) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** Input and target arrays with their shapes; the first axis is split. */
    record Data(float[] x, long[] dimsX, Object y, long[] dimsY) {
        long n() {
            return dimsX[0];
        }

        Tensor[] slice(long from, long to) {
            long rowX = dimsX[0] == 0 ? 0 : x.length / dimsX[0];
            float[] xs = Arrays.copyOfRange(x, (int) (from * rowX), (int) (to * rowX));
            long[] dx = dimsX.clone();
            dx[0] = to - from;
            long[] dy = dimsY.clone();
            dy[0] = to - from;
            Tensor t;
            if (y instanceof long[] labels) {
                long rowY = labels.length / dimsY[0];
                t = Tensor.of(Arrays.copyOfRange(labels, (int) (from * rowY), (int) (to * rowY)), dy);
            } else {
                float[] f = (float[]) y;
                long rowY = f.length / dimsY[0];
                t = Tensor.of(Arrays.copyOfRange(f, (int) (from * rowY), (int) (to * rowY)), dy);
            }
            return new Tensor[] {Tensor.of(xs, dx), t};
        }
    }

    private static float[] logits(Random r, int n, int row) {
        float[] x = new float[n * row];
        for (int i = 0; i < n; i++) {
            // scales from 0.01 to 100 per row: losses from 1e-40 to 1e3
            float scale = (float) Math.pow(10, r.nextDouble() * 4 - 2);
            for (int k = 0; k < row; k++) {
                x[i * row + k] = (float) r.nextGaussian() * scale;
            }
        }
        return x;
    }

    private static long[] labels(Random r, int n, int c, boolean ignore) {
        long[] y = new long[n];
        for (int i = 0; i < n; i++) {
            y[i] = ignore && r.nextInt(7) == 0 ? -100 : r.nextInt(c);
        }
        return y;
    }

    private static float[] uniform(Random r, int n, boolean binary) {
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            y[i] = binary ? r.nextInt(2) : r.nextFloat();
        }
        return y;
    }

    private static float[] probs(Random r, int n) {
        float[] p = new float[n];
        for (int i = 0; i < n; i++) {
            float v = (float) (1 / (1 + Math.exp(-r.nextGaussian() * 12)));
            p[i] = v;
        }
        return p;
    }

    private static float[] rowsOfProbabilities(Random r, int n, int c, boolean log) {
        float[] q = new float[n * c];
        for (int i = 0; i < n; i++) {
            double s = 0;
            double[] e = new double[c];
            for (int k = 0; k < c; k++) {
                e[k] = Math.exp(r.nextGaussian() * 4);
                s += e[k];
            }
            for (int k = 0; k < c; k++) {
                q[i * c + k] = log ? (float) Math.log(e[k] / s) : (float) (e[k] / s);
            }
        }
        return q;
    }

    static Stream<Case> cases() {
        Random r = new Random(2026);
        List<Case> cases = new ArrayList<>();
        int wide = 300, c = 1000; // AlongClasses: 5 chunks of 64 rows
        Data ce = new Data(logits(r, wide, c), new long[] {wide, c}, labels(r, wide, c, true), new long[] {wide});
        float[] w = new float[c];
        for (int k = 0; k < c; k++) {
            w[k] = (float) Math.pow(2, r.nextInt(30) - 15) * (1 + r.nextFloat());
        }
        Tensor weight = Tensor.of(w, c);
        CrossEntropy.Options ceo = CrossEntropy.Options.defaults().withWeight(weight).withLabelSmoothing(0.1);
        cases.add(new Case("cross_entropy wide, weight, smoothing, ignore",
                t -> CrossEntropy.accumulator(ceo.withThreads(t)),
                (t, a) -> CrossEntropy.crossEntropy(a[0], a[1], ceo.withThreads(t)), ce));
        cases.add(new Case("cross_entropy wide, sum",
                t -> CrossEntropy.accumulator(CrossEntropy.Options.defaults().withReduction(Reduction.SUM).withThreads(t)),
                (t, a) -> CrossEntropy.crossEntropy(a[0], a[1], CrossEntropy.Options.defaults().withReduction(Reduction.SUM).withThreads(t)), ce));
        cases.add(new Case("nll_loss",
                t -> CrossEntropy.nllLossAccumulator(CrossEntropy.Options.defaults().withWeight(weight).withThreads(t)),
                (t, a) -> CrossEntropy.nllLoss(a[0], a[1], CrossEntropy.Options.defaults().withWeight(weight).withThreads(t)), ce));
        int narrow = 9000, c10 = 10; // AcrossPositions: two chunks of 6528 rows, a partial block
        Data ce10 = new Data(logits(r, narrow, c10), new long[] {narrow, c10}, labels(r, narrow, c10, true), new long[] {narrow});
        cases.add(new Case("cross_entropy narrow",
                t -> CrossEntropy.accumulator(CrossEntropy.Options.defaults().withThreads(t)),
                (t, a) -> CrossEntropy.crossEntropy(a[0], a[1], CrossEntropy.Options.defaults().withThreads(t)), ce10));
        int img = 6, h = 37 * 41; // N, C, H*W with H*W not a multiple of the lanes
        Data spatial = new Data(logits(r, img, 5 * h), new long[] {img, 5, 37, 41}, labels(r, img * h, 5, true),
                new long[] {img, 37, 41});
        cases.add(new Case("cross_entropy spatial N,C,H,W",
                t -> CrossEntropy.accumulator(CrossEntropy.Options.defaults().withLabelSmoothing(0.05).withThreads(t)),
                (t, a) -> CrossEntropy.crossEntropy(a[0], a[1], CrossEntropy.Options.defaults().withLabelSmoothing(0.05).withThreads(t)), spatial));
        Data prob = new Data(logits(r, wide, 200), new long[] {wide, 200}, rowsOfProbabilities(r, wide, 200, false),
                new long[] {wide, 200});
        cases.add(new Case("cross_entropy probability targets",
                t -> CrossEntropy.accumulator(CrossEntropy.Options.defaults().withThreads(t)),
                (t, a) -> CrossEntropy.crossEntropy(a[0], a[1], CrossEntropy.Options.defaults().withThreads(t)), prob));
        Focal.SoftmaxOptions fo = Focal.SoftmaxOptions.defaults();
        cases.add(new Case("softmax focal wide", t -> Focal.softmaxAccumulator(fo.withThreads(t)),
                (t, a) -> Focal.softmaxFocalLoss(a[0], a[1], fo.withThreads(t)), ce));
        cases.add(new Case("softmax focal narrow", t -> Focal.softmaxAccumulator(fo.withThreads(t)),
                (t, a) -> Focal.softmaxFocalLoss(a[0], a[1], fo.withThreads(t)), ce10));
        Data mm = new Data(logits(r, wide, 100), new long[] {wide, 100}, labels(r, wide, 100, false), new long[] {wide});
        Hinge.Options ho = Hinge.Options.defaults();
        cases.add(new Case("multi_margin_loss p=2", t -> Hinge.multiMarginAccumulator(ho.withP(2).withThreads(t)),
                (t, a) -> Hinge.multiMarginLoss(a[0], a[1], ho.withP(2).withThreads(t)), mm));
        Data onehot = new Data(logits(r, wide, 100), new long[] {wide, 100}, uniform(r, wide * 100, true), new long[] {wide, 100});
        cases.add(new Case("categorical_hinge", t -> Hinge.categoricalHingeAccumulator(ho.withThreads(t)),
                (t, a) -> Hinge.categoricalHinge(a[0], a[1], ho.withThreads(t)), onehot));
        int rows = 700, cols = 300; // 210000 elements: 4 chunks
        Data bin = new Data(logits(r, rows, cols), new long[] {rows, cols}, uniform(r, rows * cols, false), new long[] {rows, cols});
        Data binHard = new Data(bin.x(), bin.dimsX(), uniform(r, rows * cols, true), bin.dimsY());
        float[] pw = new float[cols];
        for (int k = 0; k < cols; k++) {
            pw[k] = 0.5f + r.nextFloat() * 3;
        }
        BinaryCrossEntropy.Options bo = BinaryCrossEntropy.Options.defaults().withPosWeight(Tensor.of(pw, cols))
                .withWeight(Tensor.of(Arrays.copyOf(pw, cols), cols));
        cases.add(new Case("bce_with_logits pos_weight, weight", t -> BinaryCrossEntropy.withLogitsAccumulator(bo.withThreads(t)),
                (t, a) -> BinaryCrossEntropy.binaryCrossEntropyWithLogits(a[0], a[1], bo.withThreads(t)), bin));
        Data bprob = new Data(probs(r, rows * cols), bin.dimsX(), binHard.y(), bin.dimsY());
        Data bprobSoft = new Data(bprob.x(), bin.dimsX(), bin.y(), bin.dimsY());
        BinaryCrossEntropy.Options bd = BinaryCrossEntropy.Options.defaults();
        cases.add(new Case("bce 0/1 labels", t -> BinaryCrossEntropy.accumulator(bd.withThreads(t)),
                (t, a) -> BinaryCrossEntropy.binaryCrossEntropy(a[0], a[1], bd.withThreads(t)), bprob));
        cases.add(new Case("bce soft labels, sum", t -> BinaryCrossEntropy.accumulator(bd.withReduction(Reduction.SUM).withThreads(t)),
                (t, a) -> BinaryCrossEntropy.binaryCrossEntropy(a[0], a[1], bd.withReduction(Reduction.SUM).withThreads(t)), bprobSoft));
        Focal.SigmoidOptions so = Focal.SigmoidOptions.defaults().withReduction(Reduction.MEAN);
        cases.add(new Case("sigmoid focal", t -> Focal.sigmoidAccumulator(so.withThreads(t)),
                (t, a) -> Focal.sigmoidFocalLoss(a[0], a[1], so.withThreads(t)), binHard));
        Hinge.Options h01 = ho.withLabels(Hinge.Labels.ZERO_ONE);
        cases.add(new Case("hinge", t -> Hinge.hingeAccumulator(h01.withThreads(t)),
                (t, a) -> Hinge.hinge(a[0], a[1], h01.withThreads(t)), binHard));
        cases.add(new Case("squared_hinge", t -> Hinge.squaredHingeAccumulator(h01.withThreads(t)),
                (t, a) -> Hinge.squaredHinge(a[0], a[1], h01.withThreads(t)), binHard));
        Data kl = new Data(rowsOfProbabilities(r, rows, cols, true), bin.dimsX(), rowsOfProbabilities(r, rows, cols, false), bin.dimsY());
        Data klLog = new Data(kl.x(), bin.dimsX(), rowsOfProbabilities(r, rows, cols, true), bin.dimsY());
        KlDiv.Options bm = KlDiv.Options.defaults().withReduction(Reduction.BATCHMEAN);
        cases.add(new Case("kl_div batchmean", t -> KlDiv.accumulator(bm.withThreads(t)),
                (t, a) -> KlDiv.klDiv(a[0], a[1], bm.withThreads(t)), kl));
        cases.add(new Case("kl_div log_target mean", t -> KlDiv.accumulator(KlDiv.Options.defaults().withLogTarget(true).withThreads(t)),
                (t, a) -> KlDiv.klDiv(a[0], a[1], KlDiv.Options.defaults().withLogTarget(true).withThreads(t)), klLog));
        return cases.stream();
    }

    static Stream<Arguments> casesAndThreads() {
        return cases().flatMap(k -> Stream.of(Arguments.of(k, 1), Arguments.of(k, 2)));
    }

    private static void assertBits(double want, double got, String what) {
        assertEquals(Double.doubleToRawLongBits(want), Double.doubleToRawLongBits(got), what + ": want " + want + ", got " + got);
    }

    @ParameterizedTest(name = "{0}, {1} threads")
    @MethodSource("casesAndThreads")
    void anySplitAnyOrderGivesTheOneCallsBits(Case k, int threads) {
        Data d = k.data();
        double want = k.oneCall().apply(threads, d.slice(0, d.n()));
        Random r = new Random(k.name().hashCode() + threads);
        for (int trial = 0; trial < 4; trial++) {
            // cut points anywhere (odd sizes, single rows)
            int parts = 1 + r.nextInt(6);
            List<Long> cuts = new ArrayList<>();
            for (int i = 1; i < parts; i++) {
                cuts.add(1 + (long) r.nextInt((int) d.n() - 1));
            }
            cuts.add(0L);
            cuts.add(d.n());
            List<Long> sorted = cuts.stream().distinct().sorted().toList();
            List<Tensor[]> batches = new ArrayList<>();
            for (int i = 0; i + 1 < sorted.size(); i++) {
                batches.add(d.slice(sorted.get(i), sorted.get(i + 1)));
            }
            Collections.shuffle(batches, r);
            // two accumulators, batches dealt at random, combined directly or through state()
            LossAccumulator a = k.accumulator().apply(threads), b = k.accumulator().apply(threads);
            for (Tensor[] batch : batches) {
                (r.nextBoolean() ? a : b).accept(batch[0], batch[1]);
            }
            String what = k + ", " + threads + " threads, cuts " + sorted;
            if (r.nextBoolean()) {
                a.combine(b);
                assertBits(want, a.getAsDouble(), what);
            } else {
                LossAccumulator fresh = k.accumulator().apply(threads);
                fresh.combineState(b.state()).combineState(a.state());
                assertBits(want, fresh.getAsDouble(), what + " via state()");
            }
        }
    }

    @Test
    void theDataMakeBatchSumsInDoubleDependOnTheSplit() {
        // the premise of the test above: adding the batches' rounded sums in double, the way a
        // loop over batches would, misses the one call's bits for these data
        for (String name : List.of("cross_entropy wide, sum", "bce soft labels, sum")) {
            Case k = cases().filter(c -> c.name().equals(name)).findFirst().orElseThrow();
            Data d = k.data();
            double want = k.oneCall().apply(1, d.slice(0, d.n()));
            int misses = 0;
            for (int parts = 2; parts <= 9; parts++) {
                double naive = 0;
                for (int i = 0; i < parts; i++) {
                    naive += k.oneCall().apply(1, d.slice(d.n() * i / parts, d.n() * (i + 1) / parts));
                }
                misses += naive == want ? 0 : 1;
            }
            assertNotEquals(0, misses, name);
        }
    }

    @Test
    void aBadBatchLeavesTheStateAsItWas() {
        LossAccumulator a = CrossEntropy.accumulator(CrossEntropy.Options.defaults());
        a.accept(Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3), Tensor.of(new long[] {0, 2}));
        double before = a.getAsDouble();
        assertThrows(IllegalArgumentException.class,
                () -> a.accept(Tensor.of(new float[] {1, 2, 3}, 1, 3), Tensor.of(new long[] {3})));
        assertBits(before, a.getAsDouble(), "unchanged");
        assertEquals(2, a.count());
    }

    @Test
    void misuseIsRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> CrossEntropy.accumulator(CrossEntropy.Options.defaults().withReduction(Reduction.NONE)));
        assertThrows(IllegalArgumentException.class, () -> Hinge.hingeAccumulator(Hinge.Options.defaults()));
        LossAccumulator ce = CrossEntropy.accumulator(CrossEntropy.Options.defaults());
        LossAccumulator sum = CrossEntropy.accumulator(CrossEntropy.Options.defaults().withReduction(Reduction.SUM));
        assertThrows(IllegalArgumentException.class, () -> ce.combine(sum));
        assertThrows(IllegalArgumentException.class, () -> ce.combineState(sum.state()));
        long[] s = ce.state();
        s[6] = -5; // a digit out of range
        assertThrows(IllegalArgumentException.class, () -> ce.combineState(s));
        assertThrows(IllegalStateException.class,
                () -> CrossEntropy.accumulator(CrossEntropy.Options.defaults().withEmptyMean(EmptyMean.ERROR)).getAsDouble());
        assertBits(Double.NaN, ce.getAsDouble(), "the mean of nothing, as PyTorch's mean of an empty batch");
    }
}
