package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vecloss.internal.KernelProvider;
import dev.vecloss.internal.LossKernels;
import dev.vecloss.internal.RowOp;
import dev.vecloss.internal.RowProblem;
import dev.vecloss.oracle.DfpOracle;
import dev.vecloss.oracle.Tolerance;
import dev.vecloss.oracle.Tolerance.ErrorStats;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The checks every loss of the cross-entropy family gets (STYLE 8). A subclass gives the public
 * call, the oracle's answer, its option sets, and named data regimes with their tolerances and
 * error budgets; this class runs every entry point (Java array, unaligned heap slice of a byte
 * array, native segment, offset slice of a native segment), every reduction with and without
 * the gradient, odd sizes along both vectorised axes (C for (N, C) input, S for (N, C, S)),
 * non-finite inputs, all-ignored targets, and the selected kernel against the scalar one.
 *
 * <p>Everything is compared with {@link DfpOracle}, never with the library's own output; only
 * the kernel parity test compares two implementations, with a tolerance that grows with C.
 */
abstract class BaseLossTest {

    // ------------------------------------------------------------------ what a subclass gives

    /** Logits (float32 values, widened) and index labels in {@code [0, C)} of shape (N, C, S). */
    record Data(double[] x, long[] target) {}

    /** Named test data. */
    @FunctionalInterface
    interface Generator {
        Data make(int n, int c, int s, SplittableRandom rnd);
    }

    /** Maximum and RMS error allowed over a regime's accuracy sweep, in float32 ulps. */
    record Budget(double maxUlps, double rmsUlps) {}

    /**
     * A data regime: per-element tolerances (losses in ulps of the expected value; gradients in
     * ulps of {@code max(|expected|, sigma * max|w|)}, the row's natural scale) and the budgets
     * the accuracy sweep must meet.
     */
    record Regime(String name, Generator gen, double lossUlps, double gradUlps, Budget lossBudget, Budget gradBudget) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** An option set: class weights, ignore_index inside [0, C) (else -100), label smoothing. */
    record Config(String name, boolean weighted, boolean ignoreInside, double eps) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** The data regimes, the first being the plain one used for the largest sizes. */
    protected abstract List<Regime> regimes();

    /** The option sets, the first plain and the last the one with every option. */
    protected abstract List<Config> configs();

    /** Whether the target is a probability tensor of the input's shape (else index labels). */
    protected abstract boolean probTargets();

    /** The public call under test. */
    protected abstract double call(Tensor input, Tensor target, CrossEntropy.Options o, Tensor losses, Tensor grad);

    /** The truth for {@code k}. */
    protected abstract DfpOracle.Result oracle(Case k);

    /** The kernels' operation of this loss, for the parity test. */
    protected abstract RowOp op();

    // ------------------------------------------------------------------ shared data helpers

    static final int[] ODD_SIZES = {0, 1, 3, 7, 8, 13, 31, 100, 207, 1021, 4098};
    static final Reduction[] REDUCTIONS = Reduction.values();

    static float f(double v) {
        return (float) v;
    }

    static Generator uniform(double lo, double hi) {
        return (n, c, s, rnd) -> {
            double[] x = new double[n * c * s];
            for (int i = 0; i < x.length; i++) {
                x[i] = f(lo + (hi - lo) * rnd.nextDouble());
            }
            return new Data(x, labels(n * s, c, rnd));
        };
    }

    /** The target logit leads every other one by 20 (others uniform in [-4, 4]). */
    static Generator confident() {
        return (n, c, s, rnd) -> {
            Data d = uniform(-4, 4).make(n, c, s, rnd);
            for (int pos = 0; pos < n * s; pos++) {
                if (c == 0) {
                    continue;
                }
                int base = (pos / s) * c * s + pos % s;
                double m = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < c; k++) {
                    if (k != d.target[pos]) {
                        m = Math.max(m, d.x[base + k * s]);
                    }
                }
                d.x[base + (int) d.target[pos] * s] = c == 1 ? 20 : f(m + 20);
            }
            return d;
        };
    }

    /** Per position a centre in [-4, 4] and logits within about 1e-3 of it. */
    static Generator nearTie() {
        return (n, c, s, rnd) -> {
            double[] x = new double[n * c * s];
            for (int pos = 0; pos < n * s; pos++) {
                double centre = -4 + 8 * rnd.nextDouble();
                int base = (pos / s) * c * s + pos % s;
                for (int k = 0; k < c; k++) {
                    x[base + k * s] = f(centre + 1e-3 * rnd.nextGaussian());
                }
            }
            return new Data(x, labels(n * s, c, rnd));
        };
    }

    static long[] labels(int m, int c, SplittableRandom rnd) {
        long[] t = new long[m];
        for (int i = 0; i < m; i++) {
            t[i] = c == 0 ? -100 : rnd.nextInt(c);
        }
        return t;
    }

    /** Positive weights on a binary grid, not all equal: 0.25 + ((7k) mod 13) / 8. */
    static double[] weights(int c) {
        double[] w = new double[c];
        for (int k = 0; k < c; k++) {
            w[k] = 0.25 + ((7 * k) % 13) / 8.0;
        }
        return w;
    }

    /** One problem, all in double: the data, the option set and the shape. */
    record Case(String regime, String config, int n, int c, long[] spatial, double[] x, long[] target,
                double[] prob, double[] weight, long ignoreIndex, double eps, String key) {
        int s() {
            int s = 1;
            for (long d : spatial) {
                s *= (int) d;
            }
            return s;
        }

        long[] inputShape() {
            long[] r = new long[2 + spatial.length];
            r[0] = n;
            r[1] = c;
            System.arraycopy(spatial, 0, r, 2, spatial.length);
            return r;
        }

        long[] targetShape() {
            long[] r = new long[1 + spatial.length];
            r[0] = n;
            System.arraycopy(spatial, 0, r, 1, spatial.length);
            return r;
        }

        double maxWeight() {
            double m = 1;
            if (weight != null) {
                m = 0;
                for (double w : weight) {
                    m = Math.max(m, Math.abs(w));
                }
            }
            return m;
        }

        @Override
        public String toString() {
            return regime + ", " + config + ", shape " + Arrays.toString(inputShape());
        }
    }

    Case makeCase(Regime r, Config cfg, int n, int c, long[] spatial, long seed) {
        int s = 1;
        for (long d : spatial) {
            s *= (int) d;
        }
        Data d = r.gen().make(n, c, s, new SplittableRandom(seed));
        long[] t = d.target().clone();
        long ignore = -100;
        if (cfg.ignoreInside() && c > 0) {
            ignore = c / 2;
            for (int i = 0; i < t.length; i += 3) {
                t[i] = ignore;
            }
        }
        double[] prob = null;
        if (probTargets()) {
            prob = new double[d.x().length];
            SplittableRandom rnd = new SplittableRandom(seed ^ 0x5DEECE66DL);
            for (int pos = 0; pos < n * s; pos++) {
                int base = (pos / s) * c * s + pos % s;
                for (int k = 0; k < c; k++) {
                    // half the mass on the label, the rest spread at random (not summing to 1 exactly)
                    prob[base + k * s] = f((k == t[pos] ? 0.5 : 0) + 0.5 * rnd.nextDouble() / Math.max(1, c - 1) * 2);
                }
            }
            ignore = -100;
        }
        return new Case(r.name(), cfg.name(), n, c, spatial, d.x(), t, prob, cfg.weighted() ? weights(c) : null,
                ignore, cfg.eps(), r.name() + "|" + n + "|" + c + "|" + s + "|" + seed);
    }

    /** The log-softmax of recent data sets: Dfp exponentials are slow, so share them between options. */
    private static final Map<String, DfpOracle.LogSoftmax> LOG_SOFTMAX = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, DfpOracle.LogSoftmax> e) {
            return size() > 6;
        }
    };

    static synchronized DfpOracle.LogSoftmax logSoftmax(Case k) {
        return LOG_SOFTMAX.computeIfAbsent(k.key(), key -> DfpOracle.logSoftmax(k.x(), k.n(), k.c(), k.s()));
    }

    // ------------------------------------------------------------------ entry points

    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Written into outputs before a call: an element left unwritten shows up as this. */
    static final float SENTINEL = 7777.5f;

    /** Where the tensors live. Index targets are int64, except int32 for the native segment. */
    enum EntryPoint {
        JAVA_ARRAY, HEAP_BYTES_UNALIGNED, NATIVE, NATIVE_SLICE;

        MemorySegment bytes(Arena arena, long size, int offset) {
            return switch (this) {
                case JAVA_ARRAY -> throw new AssertionError();
                case HEAP_BYTES_UNALIGNED -> MemorySegment.ofArray(new byte[Math.toIntExact(size + 16)]).asSlice(3, size);
                case NATIVE -> arena.allocate(Math.max(size, 1)).asSlice(0, size);
                case NATIVE_SLICE -> arena.allocate(size + 16, 32).asSlice(offset, size);
            };
        }

        Tensor floats(Arena arena, double[] v, long... shape) {
            if (this == JAVA_ARRAY) {
                float[] a = new float[v.length];
                for (int i = 0; i < v.length; i++) {
                    a[i] = f(v[i]);
                }
                return Tensor.of(a, shape);
            }
            MemorySegment seg = bytes(arena, 4L * v.length, 4);
            for (int i = 0; i < v.length; i++) {
                seg.setAtIndex(F32, i, f(v[i]));
            }
            return Tensor.of(seg, DType.FLOAT32, shape);
        }

        Tensor labels(Arena arena, long[] v, long... shape) {
            if (this == JAVA_ARRAY) {
                return Tensor.of(v.clone(), shape);
            }
            boolean i32 = this == NATIVE;
            MemorySegment seg = bytes(arena, (i32 ? 4L : 8L) * v.length, 12);
            for (int i = 0; i < v.length; i++) {
                if (i32) {
                    seg.setAtIndex(I32, i, Math.toIntExact(v[i]));
                } else {
                    seg.setAtIndex(I64, i, v[i]);
                }
            }
            return Tensor.of(seg, i32 ? DType.INT32 : DType.INT64, shape);
        }

        /** A float32 output filled with {@link #SENTINEL}. */
        Tensor output(Arena arena, long... shape) {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            double[] fill = new double[Math.toIntExact(n)];
            Arrays.fill(fill, SENTINEL);
            return floats(arena, fill, shape);
        }
    }

    static double[] read(Tensor t) {
        double[] r = new double[Math.toIntExact(t.numel())];
        for (int i = 0; i < r.length; i++) {
            r[i] = t.segment().getAtIndex(F32, i);
        }
        return r;
    }

    // ------------------------------------------------------------------ one checked call

    /** Error accumulators of one regime, or none. */
    record Stats(ErrorStats loss, ErrorStats reduced, ErrorStats grad) {
        static Stats of(String regime) {
            return new Stats(new ErrorStats(regime + " losses"), new ErrorStats(regime + " reduced"),
                    new ErrorStats(regime + " gradient"));
        }
    }

    /**
     * Calls the loss on {@code k} through {@code ep} with {@code red}, a losses tensor and a
     * gradient, and compares everything with the oracle. Mismatches are collected (up to 8) so
     * that one failure names every bad element.
     */
    void check(Case k, Regime r, EntryPoint ep, Reduction red, DfpOracle.Result want, Stats stats) {
        List<String> bad = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            Tensor in = ep.floats(arena, k.x(), k.inputShape());
            Tensor tg = probTargets() ? ep.floats(arena, k.prob(), k.inputShape()) : ep.labels(arena, k.target(), k.targetShape());
            Tensor w = k.weight() == null ? null : ep.floats(arena, k.weight(), k.c());
            Tensor losses = ep.output(arena, k.targetShape());
            Tensor grad = ep.output(arena, k.inputShape());
            CrossEntropy.Options o = CrossEntropy.Options.defaults().withWeight(w).withIgnoreIndex(k.ignoreIndex())
                    .withLabelSmoothing(k.eps()).withReduction(red);
            double got = call(in, tg, o, losses, grad);
            double sigma = want.sigma(red);

            double sumAbs = 0;
            for (double l : want.losses()) {
                sumAbs += Double.isFinite(l) ? Math.abs(l) : 0;
            }
            Tolerance redTol = Tolerance.ulps(r.lossUlps(), Math.abs(sigma) * sumAbs);
            if (!redTol.test(want.reduced(red), got)) {
                bad.add("reduced " + red + ": expected " + want.reduced(red) + ", got " + got);
            }
            if (stats != null) {
                stats.reduced().add(want.reduced(red), got, Math.abs(sigma) * sumAbs, () -> k + " " + red);
            }

            Tolerance lossTol = Tolerance.ulps(r.lossUlps());
            double[] gotLosses = read(losses);
            for (int i = 0; i < gotLosses.length; i++) {
                if (!lossTol.test(want.losses()[i], gotLosses[i]) && bad.size() < 8) {
                    bad.add("loss[" + i + "]: expected " + want.losses()[i] + ", got " + gotLosses[i]);
                }
                if (stats != null && red == Reduction.NONE) {
                    int at = i;
                    stats.loss().add(want.losses()[i], gotLosses[i], 0, () -> k + " loss[" + at + "]");
                }
            }

            double floor = Double.isFinite(sigma) ? Math.abs(sigma) * k.maxWeight() : 0;
            Tolerance gradTol = Tolerance.ulps(r.gradUlps(), floor);
            double[] wantGrad = want.grad(red);
            double[] gotGrad = read(grad);
            for (int i = 0; i < gotGrad.length; i++) {
                if (!gradTol.test(wantGrad[i], gotGrad[i]) && bad.size() < 8) {
                    bad.add("grad[" + i + "]: expected " + wantGrad[i] + ", got " + gotGrad[i]);
                }
                if (stats != null) {
                    int at = i;
                    stats.grad().add(wantGrad[i], gotGrad[i], floor, () -> k + " " + red + " grad[" + at + "]");
                }
            }
            if (!bad.isEmpty()) {
                fail(k + ", " + ep + ", reduction " + red.pytorchName() + ", kernels " + KernelProvider.get().name()
                        + " (losses: " + lossTol + "; reduced: " + redTol + "; grad: " + gradTol + "):\n  "
                        + String.join("\n  ", bad));
            }
        }
    }

    DfpOracle.Result truth(Case k) {
        return oracle(k);
    }

    // ------------------------------------------------------------------ the tests

    /** Every regime, option set, entry point and reduction on a 2-D and a 4-D shape. */
    @TestFactory
    Stream<DynamicTest> entryPointsAndReductions() {
        List<DynamicTest> tests = new ArrayList<>();
        long[][] shapes = {{6, 13}, {2, 3, 5, 7}};
        for (Regime r : regimes()) {
            for (long[] shape : shapes) {
                for (Config cfg : configs()) {
                    String name = r + ", " + cfg + ", " + Arrays.toString(shape);
                    tests.add(DynamicTest.dynamicTest(name, () -> {
                        Case k = makeCase(r, cfg, (int) shape[0], (int) shape[1],
                                Arrays.copyOfRange(shape, 2, shape.length), 42 + shape.length);
                        DfpOracle.Result want = truth(k);
                        for (EntryPoint ep : EntryPoint.values()) {
                            for (Reduction red : REDUCTIONS) {
                                check(k, r, ep, red, want, null);
                            }
                        }
                    }));
                }
            }
        }
        return tests.stream();
    }

    /**
     * Sizes that are not multiples of any vector length, along C for (N, C) input and along S
     * for (N, C, S) input with C = 3 and 21 (21 up to S = 1021); sizes above 500 in the first regime only (the Dfp
     * oracle is slow). Each reduction goes through a different entry point.
     */
    @TestFactory
    Stream<DynamicTest> oddSizes() {
        List<DynamicTest> tests = new ArrayList<>();
        List<Config> cfgs = List.of(configs().get(0), configs().get(configs().size() - 1));
        for (int size : ODD_SIZES) {
            for (Regime r : size > 500 ? regimes().subList(0, 1) : regimes()) {
                // 21 classes of 4098 positions would cost the oracle 86k exponentials: stop at 1021
                int[][] layouts = size > 1100 ? new int[][] {{2, size, 1}, {2, 3, size}}
                        : new int[][] {{2, size, 1}, {2, 3, size}, {1, 21, size}};
                for (int[] l : layouts) {
                    long[] spatial = l[2] == 1 && l[1] == size ? new long[0] : new long[] {l[2]};
                    String name = r + ", " + Arrays.toString(l) + (spatial.length == 0 ? " (N, C)" : " (N, C, S)");
                    tests.add(DynamicTest.dynamicTest(name, () -> {
                        for (Config cfg : cfgs) {
                            Case k = makeCase(r, cfg, l[0], l[1], spatial, 1000 + size);
                            if (l[1] == 0 && probTargets() && k.n() * k.s() > 0) {
                                try (Arena arena = Arena.ofConfined()) {
                                    EntryPoint ep = EntryPoint.JAVA_ARRAY;
                                    assertThrows(IllegalArgumentException.class, () -> call(
                                            ep.floats(arena, k.x(), k.inputShape()), ep.floats(arena, k.prob(), k.inputShape()),
                                            CrossEntropy.Options.defaults().withReduction(Reduction.SUM), null, null));
                                }
                                continue;
                            }
                            DfpOracle.Result want = truth(k);
                            check(k, r, EntryPoint.NATIVE_SLICE, Reduction.NONE, want, null);
                            check(k, r, EntryPoint.HEAP_BYTES_UNALIGNED, Reduction.MEAN, want, null);
                            check(k, r, EntryPoint.JAVA_ARRAY, Reduction.SUM, want, null);
                        }
                    }));
                }
            }
        }
        return tests.stream();
    }

    /**
     * NaN, +inf and -inf logits: per IEEE and PyTorch a row with NaN or +inf, or all -inf, is
     * NaN; a -inf among finite logits has probability 0 (a -inf at the target gives +inf); an
     * ignored position is never read.
     */
    @TestFactory
    Stream<DynamicTest> nonFiniteInputs() {
        List<DynamicTest> tests = new ArrayList<>();
        int[][] shapes = {{9, 13, 1}, {2, 13, 5}};
        for (int[] sh : shapes) {
            for (Config cfg : configs()) {
                tests.add(DynamicTest.dynamicTest(cfg + ", " + Arrays.toString(sh), () -> {
                    Regime r = regimes().get(0);
                    long[] spatial = sh[2] == 1 ? new long[0] : new long[] {sh[2]};
                    Case k0 = makeCase(r, cfg, sh[0], sh[1], spatial, 7);
                    double[] x = k0.x().clone();
                    long[] t = k0.target().clone();
                    int s = k0.s(), c = k0.c();
                    java.util.function.IntBinaryOperator at = (pos, cls) -> (pos / s) * c * s + cls * s + pos % s;
                    double nan = Double.NaN, inf = Double.POSITIVE_INFINITY;
                    t[0] = 1; x[at.applyAsInt(0, 3)] = nan;                    // NaN in the row
                    t[1] = 4; x[at.applyAsInt(1, 0)] = inf;                    // +inf in the row
                    t[2] = 1; x[at.applyAsInt(2, 5)] = -inf;                   // -inf off the target
                    t[3] = 2;
                    for (int cls = 0; cls < c; cls++) {
                        x[at.applyAsInt(3, cls)] = -inf;                      // all -inf
                    }
                    t[4] = 7; x[at.applyAsInt(4, 7)] = -inf;                   // -inf at the target
                    t[5] = 0; x[at.applyAsInt(5, 0)] = -inf; x[at.applyAsInt(5, 1)] = inf;
                    if (!probTargets()) {
                        t[6] = k0.ignoreIndex(); x[at.applyAsInt(6, 2)] = nan;  // ignored: not read
                        x[at.applyAsInt(6, 4)] = inf;
                    }
                    t[7] = 9; x[at.applyAsInt(7, 9)] = nan;                    // NaN at the target
                    double[] prob = k0.prob() == null ? null : k0.prob().clone();
                    Case k = new Case(k0.regime(), k0.config(), k0.n(), c, spatial, x, t, prob, k0.weight(),
                            k0.ignoreIndex(), k0.eps(), k0.key() + "|nonfinite");
                    DfpOracle.Result want = truth(k);
                    for (EntryPoint ep : List.of(EntryPoint.JAVA_ARRAY, EntryPoint.NATIVE_SLICE)) {
                        for (Reduction red : REDUCTIONS) {
                            check(k, r, ep, red, want, null);
                        }
                    }
                }));
            }
        }
        return tests.stream();
    }

    /** Whether this loss has index targets that can be ignored. */
    /** Whether the loss goes through a log-softmax, whose backward is NaN at ignored NaN rows. */
    protected boolean softmaxBackward() {
        return true;
    }

    protected boolean supportsIgnore() {
        return !probTargets();
    }

    /** All targets ignored (NaN inputs there, unread): mean NaN, sum 0, losses and gradient exactly 0. */
    @TestFactory
    Stream<DynamicTest> allIgnored() {
        if (!supportsIgnore()) {
            return Stream.empty();
        }
        List<DynamicTest> tests = new ArrayList<>();
        for (long ignore : new long[] {-100, 2}) {
            for (Reduction red : REDUCTIONS) {
                for (EntryPoint ep : EntryPoint.values()) {
                    tests.add(DynamicTest.dynamicTest("ignore " + ignore + ", " + red + ", " + ep, () -> {
                        long[] shape = {4, 13, 3, 3};
                        double[] x = new double[4 * 13 * 9];
                        Arrays.fill(x, Double.NaN);
                        long[] t = new long[4 * 9];
                        Arrays.fill(t, ignore);
                        for (Config cfg : configs()) {
                            try (Arena arena = Arena.ofConfined()) {
                                Tensor losses = ep.output(arena, 4, 3, 3);
                                Tensor grad = ep.output(arena, shape);
                                CrossEntropy.Options o = CrossEntropy.Options.defaults().withIgnoreIndex(ignore)
                                        .withLabelSmoothing(cfg.eps()).withReduction(red)
                                        .withWeight(cfg.weighted() ? ep.floats(arena, weights(13), 13) : null);
                                double got = call(ep.floats(arena, x, shape), ep.labels(arena, t, 4, 3, 3), o, losses, grad);
                                String where = cfg + ", " + red + ", " + ep;
                                if (red == Reduction.MEAN) {
                                    assertTrue(Double.isNaN(got), "mean over no active position is 0/0: " + where + " gave " + got);
                                } else {
                                    assertEquals(0.0, got, where);
                                }
                                for (double v : read(losses)) {
                                    assertEquals(0.0, v, "loss of an ignored position: " + where);
                                }
                                // every logit is NaN: after a softmax PyTorch's backward gives
                                // 0 - NaN * 0 = NaN at ignored positions; NLL has no softmax: 0
                                double g0 = softmaxBackward() ? Double.NaN : 0.0;
                                for (double v : read(grad)) {
                                    assertEquals(g0, v, "gradient at an ignored position: " + where);
                                }
                            }
                        }
                    }));
                }
            }
        }
        return tests.stream();
    }

    /**
     * The selected kernel against {@link KernelProvider#scalar()} through the internal interface,
     * on native float32 segments, over the whole range and over {@code [1, M-1)}: positions
     * outside the range must stay untouched. The tolerance grows with C, since the two sum a
     * row's exponentials in different orders.
     */
    @TestFactory
    Stream<DynamicTest> selectedKernelMatchesScalar() {
        List<DynamicTest> tests = new ArrayList<>();
        for (int size : ODD_SIZES) {
            int[][] layouts = {{3, size, 1}, {2, 3, size}, {1, 21, size}};
            for (int[] l : layouts) {
                if (l[1] == 0) {
                    continue;
                }
                for (Config cfg : List.of(configs().get(0), configs().get(configs().size() - 1))) {
                    tests.add(DynamicTest.dynamicTest(Arrays.toString(l) + ", " + cfg, () -> {
                        for (Regime r : size > 500 ? regimes().subList(0, 2) : regimes()) {
                            Case k = makeCase(r, cfg, l[0], l[1], new long[] {l[2]}, 77 + size);
                            int m = k.n() * k.s();
                            parity(k, 0, m);
                            if (m > 2) {
                                parity(k, 1, m - 1);
                            }
                        }
                    }));
                }
            }
        }
        return tests.stream();
    }

    private RowProblem problem(Arena arena, Case k, double gradScale, MemorySegment losses, MemorySegment grad) {
        EntryPoint ep = EntryPoint.NATIVE;
        MemorySegment in = ep.floats(arena, k.x(), k.x().length).segment();
        MemorySegment tg = probTargets() ? null : EntryPoint.NATIVE_SLICE.labels(arena, k.target(), k.target().length).segment();
        MemorySegment prob = probTargets() ? ep.floats(arena, k.prob(), k.prob().length).segment() : null;
        MemorySegment w = k.weight() == null ? null : ep.floats(arena, k.weight(), k.c()).segment();
        double wsum = k.c();
        if (k.weight() != null) {
            wsum = 0;
            for (double v : k.weight()) {
                wsum += f(v);
            }
        }
        RowProblem p = RowProblem.create().input(in, false, k.n(), k.c(), k.s()).weight(w, wsum)
                .labelSmoothing(k.eps()).gradScale(gradScale).losses(losses, false).grad(grad, false);
        return probTargets() ? p.probTarget(prob) : p.indexTarget(tg, 8, k.ignoreIndex());
    }

    private void parity(Case k, int from, int to) {
        LossKernels scalar = KernelProvider.scalar();
        LossKernels selected = KernelProvider.get();
        int m = k.n() * k.s();
        try (Arena arena = Arena.ofConfined()) {
            EntryPoint ep = EntryPoint.NATIVE;
            double scale = 0.37; // an arbitrary gradient scale, as for mean
            Tensor l1 = ep.output(arena, m), l2 = ep.output(arena, m);
            Tensor g1 = ep.output(arena, k.x().length), g2 = ep.output(arena, k.x().length);
            double want = scalar.rows(op(), problem(arena, k, scale, l1.segment(), g1.segment()), from, to);
            double got = selected.rows(op(), problem(arena, k, scale, l2.segment(), g2.segment()), from, to);
            double maxW = k.maxWeight();
            double rowErr = (k.c() + 4) * Tolerance.F32_EPS * maxW;
            Tolerance lossTol = Tolerance.ulps(4).or(Tolerance.absolute(rowErr));
            Tolerance sumTol = Tolerance.relative((k.c() + 4) * Tolerance.F32_EPS).or(Tolerance.absolute((to - from) * rowErr));
            Tolerance gradTol = Tolerance.ulps(4, scale * maxW).or(Tolerance.relative((k.c() + 4) * Tolerance.F32_EPS))
                    .or(Tolerance.absolute(scale * rowErr));
            String where = k + ", range [" + from + ", " + to + "), " + selected.name() + " vs scalar";
            assertTrue(sumTol.test(want, got), where + ": sum " + got + ", scalar " + want + " (" + sumTol + ")");
            double[] a = read(l1), b = read(l2);
            int s = k.s(), c = k.c();
            for (int pos = 0; pos < m; pos++) {
                boolean in = pos >= from && pos < to;
                if (!in && b[pos] != SENTINEL) {
                    fail(where + ": loss written outside the range at " + pos);
                } else if (in && !lossTol.test(a[pos], b[pos])) {
                    fail(where + ": loss[" + pos + "] " + b[pos] + ", scalar " + a[pos] + " (" + lossTol + ")");
                }
            }
            double[] ga = read(g1), gb = read(g2);
            for (int i = 0; i < ga.length; i++) {
                int pos = (i / (c * s)) * s + i % s;
                boolean in = pos >= from && pos < to;
                if (!in && gb[i] != SENTINEL) {
                    fail(where + ": gradient written outside the range at element " + i);
                } else if (in && !gradTol.test(ga[i], gb[i])) {
                    fail(where + ": grad[" + i + "] " + gb[i] + ", scalar " + ga[i] + " (" + gradTol + ")");
                }
            }
        }
    }

    /**
     * The accuracy sweep of each regime (STYLE 6): every option set on a few shapes, losses
     * (reduction none), reduced values and gradients (none and mean) against the oracle; the
     * maximum and RMS errors in float32 ulps must stay within the regime's budgets. The numbers
     * are printed (surefire's *-output.txt) for the README's accuracy table.
     */
    @TestFactory
    Stream<DynamicTest> accuracyBudgets() {
        return regimes().stream().map(r -> DynamicTest.dynamicTest(r.name(), () -> {
            Stats stats = Stats.of(r.name());
            int[][] shapes = {{200, 10, 1}, {8, 3, 41}, {3, 21, 19}, {6, 100, 1}};
            for (int[] sh : shapes) {
                long[] spatial = sh[2] == 1 ? new long[0] : new long[] {sh[2]};
                for (Config cfg : configs()) {
                    Case k = makeCase(r, cfg, sh[0], sh[1], spatial, 31 * sh[1] + sh[2]);
                    DfpOracle.Result want = truth(k);
                    check(k, r, EntryPoint.JAVA_ARRAY, Reduction.NONE, want, stats);
                    check(k, r, EntryPoint.JAVA_ARRAY, Reduction.MEAN, want, stats);
                }
            }
            String report = String.format(Locale.ROOT, "[accuracy] %s, kernels %s%n  %s%n  %s%n  %s",
                    getClass().getSimpleName(), KernelProvider.get().name(), stats.loss().describe(),
                    stats.reduced().describe(), stats.grad().describe());
            System.out.println(report);
            assertTrue(stats.loss().max() <= r.lossBudget().maxUlps() && stats.loss().rms() <= r.lossBudget().rmsUlps(),
                    "loss budget " + r.lossBudget() + " exceeded: " + report);
            assertTrue(stats.reduced().max() <= r.lossBudget().maxUlps(), "reduced budget " + r.lossBudget() + " exceeded: " + report);
            assertTrue(stats.grad().max() <= r.gradBudget().maxUlps() && stats.grad().rms() <= r.gradBudget().rmsUlps(),
                    "gradient budget " + r.gradBudget() + " exceeded: " + report);
        }));
    }

    /** reduction none without a losses tensor is refused (nothing to return the losses in). */
    @Test
    void noneWithoutLossesIsRefused() {
        Case k = makeCase(regimes().get(0), configs().get(0), 2, 3, new long[0], 3);
        Tensor in = EntryPoint.JAVA_ARRAY.floats(null, k.x(), k.inputShape());
        Tensor tg = probTargets() ? EntryPoint.JAVA_ARRAY.floats(null, k.prob(), k.inputShape())
                : Tensor.of(k.target(), k.targetShape());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> call(in, tg,
                CrossEntropy.Options.defaults().withReduction(Reduction.NONE), null, null));
        assertTrue(e.getMessage().contains("losses"), e.getMessage());
    }
}
