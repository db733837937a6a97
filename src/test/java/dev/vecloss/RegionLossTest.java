package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.SegmentationMode;
import dev.vecloss.RegionLoss.Options;
import dev.vecloss.internal.ClassSumOp;
import dev.vecloss.internal.ClassSumProblem;
import dev.vecloss.internal.ExactSum;
import dev.vecloss.internal.KernelProvider;
import dev.vecloss.internal.Parallel;
import dev.vecloss.oracle.RegionOracle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Dice, Jaccard and Tversky ({@link RegionLoss}) against the 40-digit {@link RegionOracle}: the
 * loss, the per-class sums of the kernels and the gradient, on the selected kernels (Panama in the
 * Panama passes) and the scalar ones, float32 and float64, every mode, from logits or not, odd
 * spatial sizes (1, below one vector, a vector, and a short block after full ones), each option;
 * the gradient against central differences; the same bits at 1, 2 and 7 threads; SIMD against
 * scalar on a larger input; special values; and every refusal. PyTorch's values (a torch port of
 * smp) are in {@link GoldenTest}.
 */
class RegionLossTest {

    /** The three losses: one pipeline, three pairs of weights. */
    enum Loss {
        DICE, JACCARD, TVERSKY;

        double call(Tensor x, Tensor y, Options o, Tensor g) {
            return switch (this) {
                case DICE -> RegionLoss.dice(x, y, o, g);
                case JACCARD -> RegionLoss.jaccard(x, y, o, g);
                case TVERSKY -> RegionLoss.tversky(x, y, o, g);
            };
        }

        double[] weights(Options o) {
            return switch (this) {
                case DICE -> new double[] {0.5, 0.5, 1};
                case JACCARD -> new double[] {1, 1, 1};
                case TVERSKY -> new double[] {o.alpha(), o.beta(), o.gamma()};
            };
        }
    }

    /** A data set: input values (float32 values when {@code f32}), targets, shape. */
    record Data(SegmentationMode mode, boolean logits, long[] dims, double[] x, long[] labels, double[] dense, boolean f32) {
        int n() { return (int) dims[0]; }
        int c() { return (int) dims[1]; }
        int s() { return (int) (Arrays.stream(dims).reduce(1, (a, b) -> a * b) / (dims[0] * dims[1])); }

        Tensor input() {
            return f32 ? Tensor.of(LossTestBase.toFloat(x), dims) : Tensor.of(x.clone(), dims);
        }

        Tensor target() {
            if (labels != null) {
                return Tensor.of(labels.clone(), Layout.positionShape(dims));
            }
            return f32 ? Tensor.of(LossTestBase.toFloat(dense), dims) : Tensor.of(dense.clone(), dims);
        }

        Tensor newGrad() {
            return f32 ? Tensor.of(new float[x.length], dims) : Tensor.of(new double[x.length], dims);
        }
    }

    static Data data(SegmentationMode mode, boolean logits, boolean f32, long seed, Long ignore, int absentFrom, long... dims) {
        SplittableRandom r = new SplittableRandom(seed);
        int numel = (int) Arrays.stream(dims).reduce(1, (a, b) -> a * b);
        int c = (int) dims[1];
        int s = numel / (int) (dims[0] * c);
        double[] x = new double[numel];
        for (int i = 0; i < numel; i++) {
            double v = logits ? r.nextGaussian() * 2.5 : r.nextDouble(0.02, 0.98);
            x[i] = f32 ? (float) v : v;
        }
        if (!logits && mode == SegmentationMode.MULTICLASS) { // probabilities along the class axis
            for (int b = 0; b < dims[0]; b++) {
                for (int j = 0; j < s; j++) {
                    double sum = 0;
                    for (int k = 0; k < c; k++) {
                        sum += x[b * c * s + k * s + j];
                    }
                    for (int k = 0; k < c; k++) {
                        int i = b * c * s + k * s + j;
                        x[i] = f32 ? (float) (x[i] / sum) : x[i] / sum;
                    }
                }
            }
        }
        long[] labels = null;
        double[] dense = null;
        if (mode == SegmentationMode.MULTICLASS) {
            labels = new long[numel / c];
            for (int i = 0; i < labels.length; i++) {
                labels[i] = ignore != null && r.nextInt(6) == 0 ? ignore : r.nextInt(Math.min(c, absentFrom));
            }
        } else {
            dense = new double[numel];
            for (int i = 0; i < numel; i++) {
                int k = (i / s) % c;
                dense[i] = ignore != null && r.nextInt(6) == 0 ? ignore : k >= absentFrom ? 0 : r.nextInt(2);
            }
        }
        return new Data(mode, logits, dims, x, labels, dense, f32);
    }

    static RegionOracle.Result oracle(Data d, Loss loss, Options o) {
        double[] w = loss.weights(o);
        return RegionOracle.evaluate(new RegionOracle.Spec(d.x, d.n(), d.c(), d.s(),
                d.logits && d.mode == SegmentationMode.MULTICLASS, d.logits && d.mode != SegmentationMode.MULTICLASS, d.labels, d.dense,
                o.ignoreIndex(), o.smooth(), o.eps(), o.logLoss(), o.classes(), o.classWeights(), w[0], w[1], w[2]));
    }

    /** The option sets of the sweep, by index: defaults and one or more options each. */
    static Options options(SegmentationMode mode, boolean logits, int i) {
        Options o = Options.defaults(mode).withFromLogits(logits).withThreads(1);
        boolean classy = mode != SegmentationMode.BINARY;
        return switch (i) {
            case 0 -> o;
            case 1 -> o.withSmooth(0.5).withIgnoreIndex(mode == SegmentationMode.MULTICLASS ? 255L : 7L);
            case 2 -> o.withLogLoss(true).withTversky(0.3, 0.7, 1.5);
            case 3 -> classy ? o.withClasses(0, 2).withClassWeights(0.5, 2, 1.25, 0.75) : o.withEps(1e-3);
            default -> classy ? o.withClassWeights(1, 0.25, 3, 2).withTversky(0.7, 0.3, 0.75) : o.withTversky(0, 1, 2);
        };
    }

    static final long[][] SHAPES = {{3, 4}, {2, 4, 7}, {2, 4, 8}, {2, 4, 3, 5}, {3, 4, 37}};

    private static void assertClose(String what, double want, double got, double rel, double abs) {
        if (Double.isNaN(want)) {
            assertTrue(Double.isNaN(got), what + ": expected NaN, got " + got);
            return;
        }
        assertTrue(Math.abs(want - got) <= Math.max(rel * Math.abs(want), abs),
                what + ": expected " + want + ", got " + got + " (rel " + (Math.abs(want - got) / Math.abs(want)) + ")");
    }

    private static void assertGrad(String what, double[] want, double[] got, double rel) {
        double scale = 0;
        for (double v : want) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < want.length; i++) {
            assertClose(what + " grad[" + i + "]", want[i], got[i], rel, rel * scale + 1e-300);
        }
    }

    /**
     * Every loss, mode, activation, shape and option set against the oracle, float32 on the
     * selected kernels and float64 on the scalar ones. Budgets: float32, 2e-6 relative on the
     * loss (the reduced budget; the sums are float over at most 16 terms per lane, then
     * double) and 2e-5 of the largest gradient entry per entry (float32 softmax and division);
     * float64, 1e-11.
     */
    @TestFactory
    Stream<DynamicTest> oracle() {
        List<DynamicTest> tests = new ArrayList<>();
        long seed = 1;
        for (Loss loss : Loss.values()) {
            for (SegmentationMode mode : SegmentationMode.values()) {
                for (boolean logits : new boolean[] {true, false}) {
                    for (long[] shape : SHAPES) {
                        long[] dims = mode == SegmentationMode.BINARY ? binaryShape(shape) : shape;
                        for (boolean f32 : new boolean[] {true, false}) {
                            int optionSet = (int) (seed % 5);
                            long sd = seed++;
                            String name = loss + " " + mode + (logits ? " logits " : " probs ") + Arrays.toString(dims)
                                    + (f32 ? " f32" : " f64") + " options " + optionSet;
                            tests.add(DynamicTest.dynamicTest(name, () -> {
                                Options o = options(mode, logits, optionSet);
                                Data d = data(mode, logits, f32, sd, o.ignoreIndex(), optionSet == 4 ? 3 : 99, dims);
                                RegionOracle.Result want = oracle(d, loss, o);
                                Tensor g = d.newGrad();
                                double got = loss.call(d.input(), d.target(), o, g);
                                double tol = f32 ? 2e-6 : 1e-11;
                                assertClose(name + " loss", want.loss(), got, tol, 1e-12);
                                assertGrad(name, want.grad(), g.toDoubleArray(), f32 ? 2e-5 : 1e-11);
                                // the reduced form gives the same bits
                                assertEquals(Double.doubleToLongBits(got),
                                        Double.doubleToLongBits(loss.call(d.input(), d.target(), o, null)), name);
                            }));
                        }
                    }
                }
            }
        }
        return tests.stream();
    }

    private static long[] binaryShape(long[] shape) {
        long[] b = shape.clone();
        b[1] = 1;
        return b;
    }

    /** The per-class sums of the selected kernels, straight from {@code LossKernels.classSums}, against the oracle's. */
    @TestFactory
    Stream<DynamicTest> kernelSums() {
        List<DynamicTest> tests = new ArrayList<>();
        ClassSumOp[] ops = ClassSumOp.values();
        long seed = 100;
        for (ClassSumOp op : ops) {
            for (long[] shape : new long[][] {{2, 5, 9}, {2, 5, 3, 5}, {1, 3, 64}, {4, 2, 1}}) {
                long sd = seed++;
                tests.add(DynamicTest.dynamicTest(op + " " + Arrays.toString(shape), () -> {
                    SegmentationMode mode = op.indexTargets() ? SegmentationMode.MULTICLASS : SegmentationMode.MULTILABEL;
                    boolean logits = op == ClassSumOp.SOFTMAX || op == ClassSumOp.SIGMOID;
                    Data d = data(mode, logits, true, sd, null, 99, shape);
                    Options o = Options.defaults(mode).withFromLogits(logits);
                    RegionOracle.Result want = oracle(d, Loss.DICE, o);
                    Tensor x = d.input(), y = d.target();
                    int c = d.c();
                    ClassSumProblem p = ClassSumProblem.create().kernels(KernelProvider.get()).op(op)
                            .input(x.segment(), false, d.n(), c, d.s())
                            .target(y.segment(), op.indexTargets() ? ClassSumProblem.T_I64 : ClassSumProblem.T_F32)
                            .ignore(false, 0);
                    ExactSum[][] rows = {new ExactSum[3 * c]};
                    for (int j = 0; j < 3 * c; j++) {
                        rows[0][j] = new ExactSum();
                    }
                    // one tile per chunk: the most chunk boundaries the tiling allows
                    Parallel.exactSums(p.tiles(), 1, 1, 3 * c, ClassSumProblem::sumsChunk, p, rows);
                    for (int j = 0; j < 3 * c; j++) {
                        assertClose("sum " + j, want.sums()[j], rows[0][j].get(), 1e-6, 1e-6);
                    }
                }));
            }
        }
        return tests.stream();
    }

    /**
     * The per-class sums are the same bits however the tiles are dealt into chunks: one chunk, a
     * tile per chunk, or chunks of 2 and 5 tiles. S = 300 cuts each image into tiles of 128, 128
     * and 44 positions (the last with a short block); a kernel whose tile ran across an image's
     * end, or began at a chunk's first position rather than at the image's tile boundary, gives
     * other bits for some of these.
     */
    @TestFactory
    Stream<DynamicTest> sumsDoNotDependOnChunks() {
        List<DynamicTest> tests = new ArrayList<>();
        long seed = 300;
        for (ClassSumOp op : ClassSumOp.values()) {
            long sd = seed++;
            tests.add(DynamicTest.dynamicTest(op.toString(), () -> {
                SegmentationMode mode = op.indexTargets() ? SegmentationMode.MULTICLASS : SegmentationMode.MULTILABEL;
                boolean logits = op == ClassSumOp.SOFTMAX || op == ClassSumOp.SIGMOID;
                Data d = data(mode, logits, true, sd, null, 99, new long[] {3, 5, 300});
                int c = d.c();
                ClassSumProblem p = ClassSumProblem.create().kernels(KernelProvider.get()).op(op)
                        .input(d.input().segment(), false, d.n(), c, d.s())
                        .target(d.target().segment(), op.indexTargets() ? ClassSumProblem.T_I64 : ClassSumProblem.T_F32)
                        .ignore(false, 0);
                assertEquals(9, p.tiles());
                long[] want = null;
                for (long grain : new long[] {p.tiles(), 1, 2, 5}) {
                    ExactSum[][] rows = {new ExactSum[3 * c]};
                    for (int j = 0; j < 3 * c; j++) {
                        rows[0][j] = new ExactSum();
                    }
                    Parallel.exactSums(p.tiles(), grain, 1, 3 * c, ClassSumProblem::sumsChunk, p, rows);
                    long[] got = new long[3 * c];
                    for (int j = 0; j < 3 * c; j++) {
                        got[j] = Double.doubleToRawLongBits(rows[0][j].get());
                    }
                    if (want == null) {
                        want = got;
                    } else {
                        assertArrayEquals(want, got, "chunks of " + grain + " tiles");
                    }
                }
            }));
        }
        return tests.stream();
    }

    /** The float64 gradient against central differences of the float64 loss (away from the L1 kink). */
    @TestFactory
    Stream<DynamicTest> finiteDifferences() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Loss loss : Loss.values()) {
            for (SegmentationMode mode : SegmentationMode.values()) {
                for (int optionSet = 0; optionSet < 5; optionSet++) {
                    int os = optionSet;
                    tests.add(DynamicTest.dynamicTest(loss + " " + mode + " options " + os, () -> {
                        long[] dims = mode == SegmentationMode.BINARY ? new long[] {2, 1, 9} : new long[] {2, 4, 9};
                        Options o = options(mode, true, os);
                        Data d = data(mode, true, false, 7 + os, o.ignoreIndex(), os == 4 ? 3 : 99, dims);
                        Tensor g = d.newGrad();
                        loss.call(d.input(), d.target(), o, g);
                        double[] grad = g.toDoubleArray();
                        double h = 1e-6;
                        for (int i = 0; i < d.x.length; i += 5) {
                            double[] xp = d.x.clone(), xm = d.x.clone();
                            xp[i] += h;
                            xm[i] -= h;
                            Data dp = new Data(mode, true, dims, xp, d.labels, d.dense, false);
                            Data dm = new Data(mode, true, dims, xm, d.labels, d.dense, false);
                            double fd = (loss.call(dp.input(), dp.target(), o, null)
                                    - loss.call(dm.input(), dm.target(), o, null)) / (2 * h);
                            assertClose("grad[" + i + "]", fd, grad[i], 1e-5, 1e-8);
                        }
                    }));
                }
            }
        }
        return tests.stream();
    }

    /** Several chunks: 1, 2 and 7 threads give the same bits, loss and gradient; the selected kernels match the scalar ones. */
    @TestFactory
    Stream<DynamicTest> threadsAndParity() {
        List<DynamicTest> tests = new ArrayList<>();
        for (SegmentationMode mode : SegmentationMode.values()) {
            for (boolean logits : new boolean[] {true, false}) {
                tests.add(DynamicTest.dynamicTest(mode + (logits ? " logits" : " probs"), () -> {
                    long[] dims = mode == SegmentationMode.BINARY ? new long[] {3, 1, 50001} : new long[] {3, 5, 30001};
                    Options base = Options.defaults(mode).withFromLogits(logits).withIgnoreIndex(mode == SegmentationMode.MULTICLASS ? 9L : 3L);
                    Data d = data(mode, logits, true, 42, base.ignoreIndex(), 99, dims);
                    Tensor x = d.input(), y = d.target();
                    double first = 0;
                    float[] firstGrad = null;
                    for (int threads : new int[] {1, 2, 7}) {
                        Tensor g = d.newGrad();
                        double v = RegionLoss.dice(x, y, base.withThreads(threads), g);
                        if (firstGrad == null) {
                            first = v;
                            firstGrad = g.toFloatArray();
                        } else {
                            assertEquals(Double.doubleToLongBits(first), Double.doubleToLongBits(v), threads + " threads");
                            assertArrayEquals(firstGrad, g.toFloatArray(), threads + " threads");
                        }
                    }
                    Tensor gs = d.newGrad();
                    double scalar = Kernels.callWith(Kernels.Implementation.SCALAR,
                            () -> RegionLoss.dice(x, y, base.withThreads(2), gs));
                    assertClose("scalar parity", scalar, first, 2e-6, 1e-12);
                    double[] want = gs.toDoubleArray();
                    double[] got = new double[firstGrad.length];
                    for (int i = 0; i < got.length; i++) {
                        got[i] = firstGrad[i];
                    }
                    assertGrad("scalar parity", want, got, 2e-5);
                }));
            }
        }
        return tests.stream();
    }

    /**
     * The same data on the heap, in a confined native arena (one thread, its owner) and in a
     * shared one at an unaligned byte offset (two threads): the same bits, loss and gradient.
     */
    @Test
    void entryPoints() {
        for (SegmentationMode mode : SegmentationMode.values()) {
            long[] dims = mode == SegmentationMode.BINARY ? new long[] {2, 1, 3, 13} : new long[] {2, 4, 3, 13};
            Data d = data(mode, true, true, 77, mode == SegmentationMode.MULTICLASS ? 255L : 5L, 99, dims);
            Options o = Options.defaults(mode).withIgnoreIndex(d.labels != null ? 255L : 5L);
            Tensor gHeap = d.newGrad();
            double heap = RegionLoss.tversky(d.input(), d.target(), o.withTversky(0.3, 0.7, 1.5), gHeap);
            for (boolean confined : new boolean[] {true, false}) {
                try (java.lang.foreign.Arena arena = confined ? java.lang.foreign.Arena.ofConfined()
                        : java.lang.foreign.Arena.ofShared()) {
                    long off = confined ? 0 : 4;
                    Tensor x = copy(arena, d.input(), off);
                    Tensor y = copy(arena, d.target(), off);
                    Tensor g = Tensor.of(arena.allocate(d.x.length * 4L + off).asSlice(off), DType.FLOAT32, dims);
                    double v = RegionLoss.tversky(x, y, o.withTversky(0.3, 0.7, 1.5).withThreads(confined ? 0 : 2), g);
                    assertEquals(Double.doubleToLongBits(heap), Double.doubleToLongBits(v), mode + " confined " + confined);
                    assertArrayEquals(gHeap.toFloatArray(), g.toFloatArray(), mode + " confined " + confined);
                }
            }
        }
    }

    private static Tensor copy(java.lang.foreign.Arena arena, Tensor t, long off) {
        long bytes = t.numel() * t.dtype().byteSize();
        java.lang.foreign.MemorySegment m = arena.allocate(bytes + off).asSlice(off);
        m.copyFrom(t.segment().asSlice(0, bytes));
        return Tensor.of(m, t.dtype(), t.shape());
    }

    /** NaN and infinities: the selected kernels as the scalar ones, and as smp (NaN even at an ignored place). */
    @Test
    void nonFiniteInputs() {
        Data d = data(SegmentationMode.MULTICLASS, true, true, 5, 255L, 99, 2, 3, 11);
        Options o = Options.defaults(SegmentationMode.MULTICLASS).withIgnoreIndex(255L);
        int ignoredPos = -1;
        for (int i = 0; i < d.labels.length; i++) {
            if (d.labels[i] == 255) {
                ignoredPos = i;
                break;
            }
        }
        assertTrue(ignoredPos >= 0);
        int n = ignoredPos / 11, s = ignoredPos % 11;
        double[] x = d.x.clone();
        x[n * 33 + 11 + s] = Double.NaN; // class 1 of an ignored position
        Data nan = new Data(SegmentationMode.MULTICLASS, true, d.dims, x, d.labels, null, true);
        assertTrue(Double.isNaN(RegionLoss.dice(nan.input(), nan.target(), o)), "smp: p * 0 is NaN");
        double[] xi = d.x.clone();
        xi[0] = Double.POSITIVE_INFINITY;
        Data inf = new Data(SegmentationMode.MULTICLASS, true, d.dims, xi, d.labels, null, true);
        Tensor g = inf.newGrad();
        assertTrue(Double.isNaN(RegionLoss.jaccard(inf.input(), inf.target(), o, g)), "softmax of +inf is NaN");
        Tensor gs = inf.newGrad();
        assertTrue(Double.isNaN(Kernels.callWith(Kernels.Implementation.SCALAR,
                () -> RegionLoss.jaccard(inf.input(), inf.target(), o, gs))));
        // the sigmoid of +-inf is 1 and 0: finite, and the selected kernels agree with the scalar ones
        Data ml = data(SegmentationMode.MULTILABEL, true, true, 6, null, 99, 2, 3, 11);
        double[] xm = ml.x.clone();
        xm[3] = Double.POSITIVE_INFINITY;
        xm[20] = Double.NEGATIVE_INFINITY;
        Data mli = new Data(SegmentationMode.MULTILABEL, true, ml.dims, xm, null, ml.dense, true);
        Options mo = Options.defaults(SegmentationMode.MULTILABEL);
        Tensor g1 = mli.newGrad(), g2 = mli.newGrad();
        double v = RegionLoss.dice(mli.input(), mli.target(), mo, g1);
        double w = Kernels.callWith(Kernels.Implementation.SCALAR, () -> RegionLoss.dice(mli.input(), mli.target(), mo, g2));
        assertTrue(Double.isFinite(v));
        assertClose("inf logits", w, v, 2e-6, 0);
        assertEquals(0.0, g1.toDoubleArray()[3], 0.0); // p q = 0 at saturation (either sign of 0)
        assertEquals(0.0, g1.toDoubleArray()[20], 0.0);
    }

    /** All background, everything ignored, one class, absent classes. */
    @Test
    void degenerateTargets() {
        Data bg = data(SegmentationMode.BINARY, true, true, 8, null, 0, 2, 1, 13); // absentFrom 0: every target 0
        Tensor g = bg.newGrad();
        assertEquals(0.0, RegionLoss.dice(bg.input(), bg.target(), Options.defaults(SegmentationMode.BINARY), g));
        assertTrue(Arrays.stream(g.toDoubleArray()).allMatch(v -> v == 0));
        // ignore_index everywhere
        long[] all = new long[2 * 13];
        Arrays.fill(all, 255);
        Data mc = data(SegmentationMode.MULTICLASS, true, true, 9, null, 99, 2, 4, 13);
        Data ign = new Data(SegmentationMode.MULTICLASS, true, mc.dims, mc.x, all, null, true);
        Tensor gi = ign.newGrad();
        for (Loss loss : Loss.values()) {
            assertEquals(0.0, loss.call(ign.input(), ign.target(), Options.defaults(SegmentationMode.MULTICLASS).withIgnoreIndex(255L), gi));
            assertTrue(Arrays.stream(gi.toDoubleArray()).allMatch(v -> v == 0));
        }
        // one class: the softmax is 1 everywhere, the score 1, the loss 0
        Data one = data(SegmentationMode.MULTICLASS, true, true, 10, null, 99, 2, 1, 13);
        assertEquals(0.0, RegionLoss.dice(one.input(), one.target(), Options.defaults(SegmentationMode.MULTICLASS)));
        // absent classes count in the mean: two of four classes present, each loss < 1
        Data absent = data(SegmentationMode.MULTICLASS, true, false, 11, null, 2, 2, 4, 13);
        Options o = Options.defaults(SegmentationMode.MULTICLASS);
        double all4 = RegionLoss.dice(absent.input(), absent.target(), o);
        double two = RegionLoss.dice(absent.input(), absent.target(), o.withClasses(0, 1));
        assertClose("absent classes in the mean", two / 2, all4, 1e-15, 0);
    }

    private static void refused(Runnable call, String... words) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        for (String w : words) {
            assertTrue(e.getMessage().contains(w), "'" + e.getMessage() + "' lacks '" + w + "'");
        }
    }

    @Test
    void refusals() {
        Data mc = data(SegmentationMode.MULTICLASS, true, true, 12, null, 99, 2, 3, 10);
        Tensor x = mc.input(), y = mc.target();
        Options o = Options.defaults(SegmentationMode.MULTICLASS);
        // mode and shape mismatches, with both shapes
        refused(() -> RegionLoss.dice(x, Tensor.of(new long[18], 2, 9), o), "dice_loss", "[2, 9]", "[2, 3, 10]");
        refused(() -> RegionLoss.dice(x, Tensor.of(new float[20], 2, 10), o), "multiclass", "FLOAT32");
        refused(() -> RegionLoss.dice(x, Tensor.of(new float[60], 2, 3, 10), o), "multiclass", "[2, 3, 10]", "multilabel");
        refused(() -> RegionLoss.dice(x, y, Options.defaults(SegmentationMode.BINARY)), "binary", "[2, 3, 10]", "[2, 10]");
        refused(() -> RegionLoss.dice(x, y, Options.defaults(SegmentationMode.MULTILABEL)), "multilabel", "[2, 10]", "[2, 3, 10]");
        Tensor x1 = Tensor.of(new float[20], 2, 1, 10);
        refused(() -> RegionLoss.dice(x1, Tensor.of(new float[20], 2, 10, 1), Options.defaults(SegmentationMode.BINARY)), "[2, 10, 1]");
        refused(() -> RegionLoss.dice(x1, Tensor.of(new double[20], 2, 1, 10), Options.defaults(SegmentationMode.BINARY)), "FLOAT64");
        refused(() -> RegionLoss.dice(Tensor.of(new float[3], 3), Tensor.of(new long[1], 1), o), "[3]");
        // labels out of range: value and flat index, the lowest at any thread count, on either kernels
        long[] bad = mc.labels.clone();
        bad[13] = 3;
        bad[17] = -2;
        for (int threads : new int[] {1, 2}) {
            refused(() -> RegionLoss.jaccard(x, Tensor.of(bad, 2, 10), o.withThreads(threads)), "target 3", "flat index 13",
                    "classes 0..2");
            refused(() -> Kernels.callWith(Kernels.Implementation.SCALAR,
                    () -> RegionLoss.jaccard(x, Tensor.of(bad, 2, 10), o.withThreads(threads))), "target 3", "flat index 13");
        }
        long[] ignored = mc.labels.clone();
        ignored[13] = 255;
        RegionLoss.dice(x, Tensor.of(ignored, 2, 10), o.withIgnoreIndex(255L)); // ignored: fine
        refused(() -> RegionLoss.dice(x, Tensor.of(ignored, 2, 10), o), "target 255", "no ignore_index");
        // classes and weights
        refused(() -> RegionLoss.dice(x, y, o.withClasses(0, 3)), "classes[1] = 3");
        refused(() -> RegionLoss.dice(x, y, o.withClasses(-1)), "classes[0] = -1");
        refused(() -> RegionLoss.dice(x, y, o.withClassWeights(1, 2)), "class_weights", "C = 3", "got 2");
        refused(() -> Options.defaults(SegmentationMode.BINARY).withClasses(0), "binary");
        refused(() -> Options.defaults(SegmentationMode.BINARY).withClassWeights(1), "binary");
        refused(() -> o.withEps(0), "eps");
        refused(() -> o.withEps(Double.NaN), "eps");
        refused(() -> o.withSmooth(-1), "smooth");
        refused(() -> o.withTversky(0.5, Double.NaN, 1), "alpha, beta and gamma");
        refused(() -> o.withThreads(-1), "threads");
        // outputs: shape, overlap; nothing written on any refusal
        refused(() -> RegionLoss.dice(x, y, o, Tensor.of(new float[60], 2, 10, 3)), "grad shape");
        refused(() -> RegionLoss.dice(x, y, o, x), "overlaps");
        float[] sentinel = new float[60];
        Arrays.fill(sentinel, 7f);
        Tensor gs = Tensor.of(sentinel, 2, 3, 10);
        refused(() -> RegionLoss.dice(x, Tensor.of(bad, 2, 10), o, gs), "flat index 13");
        for (float v : sentinel) {
            assertEquals(7f, v, "the gradient was written before the labels were checked");
        }
    }
}
