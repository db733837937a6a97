package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vecloss.internal.ExactSum;
import dev.vecloss.internal.KernelProvider;
import dev.vecloss.internal.LossKernels;
import dev.vecloss.internal.RowOp;
import dev.vecloss.internal.RowProblem;
import dev.vecloss.oracle.DfpOracle;
import dev.vecloss.oracle.Tolerance;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntBinaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The row family (LOSSES.md 1 and 2: cross-entropy with index or probability targets, NLL): an
 * input (N, C) or (N, C, d1, ..., dk) read as (N, C, S) ({@link Layout}), one loss per position
 * from the C values of its row, index targets (with ignore_index) or probability targets of the
 * input's shape, class weights and label smoothing ({@link Config}). Besides {@link LossTestBase}'s
 * checks: all targets ignored, and the selected kernel against the scalar one through
 * {@link LossKernels#rows} over a part {@code [1, M-1)} of the positions, outside which nothing
 * may be written. A loss's test gives its call, its oracle, its kernel operation, its option
 * sets and its regimes with their budgets.
 */
abstract class RowLossTestBase extends LossTestBase<RowLossTestBase.Config, RowLossTestBase.Case> {

    // ------------------------------------------------------------------ what a loss gives

    /**
     * An option set: class weights (alpha for the softmax focal loss), ignore_index inside
     * [0, C) (else -100), label smoothing, and the loss's own parameters (gamma, p and margin,
     * ...; null for cross-entropy and NLL).
     */
    record Config(String name, boolean weighted, boolean ignoreInside, double eps, Object params) {
        Config(String name, boolean weighted, boolean ignoreInside, double eps) {
            this(name, weighted, ignoreInside, eps, null);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** Whether the target is a probability tensor of the input's shape (else index labels). */
    protected abstract boolean probTargets();

    /** The public call under test. */
    protected abstract double call(Tensor input, Tensor target, CrossEntropy.Options o, Tensor losses, Tensor grad);

    /** The kernels' operation of this loss, for the range parity test. */
    protected abstract RowOp op();

    /** The loss's own parameters on a kernel problem, for the range parity test ({@code target}: the index target). */
    protected RowProblem kernelOptions(RowProblem p, Case k, MemorySegment target) {
        return p;
    }

    /** Whether the loss goes through a log-softmax, whose backward is NaN at ignored NaN rows. */
    protected boolean softmaxBackward() {
        return true;
    }

    /** Whether this loss has index targets that can be ignored. */
    protected boolean supportsIgnore() {
        return !probTargets();
    }

    // ------------------------------------------------------------------ data

    /** Logits (float32 values, widened) and index labels in {@code [0, C)} of shape (N, C, S). */
    record Data(double[] x, long[] target) {}

    /** The data of a shared regime: its values, labels uniform over the classes, the label's logit leading if the regime says so. */
    static Data data(DataRegime r, int n, int c, int s, SplittableRandom rnd) {
        double[] x = r.values().draw(n, c, s, rnd);
        long[] t = labels(n * s, c, rnd);
        if (r.lead() != null) {
            lead(x, n, c, s, t, r.lead(), rnd);
        }
        return new Data(x, t);
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

    /** One problem, all in double: the data, the option set and the shape (N, C, spatial...). */
    record Case(String regime, String config, int n, int c, long[] spatial, double[] x, long[] target,
                double[] prob, double[] weight, long ignoreIndex, double eps, Object params, String key) implements Problem {
        int s() {
            int s = 1;
            for (long d : spatial) {
                s *= (int) d;
            }
            return s;
        }

        @Override
        public long[] inputShape() {
            long[] r = new long[2 + spatial.length];
            r[0] = n;
            r[1] = c;
            System.arraycopy(spatial, 0, r, 2, spatial.length);
            return r;
        }

        /** The index target's shape, which is also the losses': the input's without the class axis. */
        long[] targetShape() {
            return Layout.positionShape(inputShape());
        }

        @Override
        public long[] lossesShape() {
            return targetShape();
        }

        @Override
        public long termsPerLoss() {
            return c;
        }

        @Override
        public double gradScale() {
            return maxWeight();
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

        /**
         * Positions for probability targets; else the sum of the (float32) weights of the counted
         * targets for cross-entropy and NLL, their number for the other losses (params not null).
         */
        @Override
        public double meanDenominator() {
            if (prob != null) {
                return (double) n * s();
            }
            double d = 0;
            for (long t : target) {
                if (t != ignoreIndex && t >= 0 && t < c) {
                    d += weight == null || params != null ? 1 : f(weight[(int) t]);
                }
            }
            return d;
        }

        /** A copy with other data. */
        Case with(double[] x2, long[] t2, double[] prob2, String keySuffix) {
            return new Case(regime, config, n, c, spatial, x2, t2, prob2, weight, ignoreIndex, eps, params, key + keySuffix);
        }

        @Override
        public String toString() {
            return regime + ", " + config + ", shape " + Arrays.toString(inputShape());
        }
    }

    @Override
    protected Case makeCase(Regime r, Config cfg, long[] shape, long seed) {
        int n = Math.toIntExact(Layout.batch(shape)), c = Math.toIntExact(Layout.classes(shape));
        int s = Math.toIntExact(Layout.spatial(shape));
        long[] spatial = Arrays.copyOfRange(shape, 2, shape.length);
        Data d = data(r.data(), n, c, s, new SplittableRandom(seed));
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
                // sharp: one-hot, or 1 - delta on the label and delta spread over the others
                double delta = !r.data().sharpTargets() || c < 2 || rnd.nextBoolean() ? 0 : 1e-3 * (0.5 + rnd.nextDouble());
                for (int k = 0; k < c; k++) {
                    prob[base + k * s] = r.data().sharpTargets()
                            ? f(k == t[pos] ? 1 - delta : delta / (c - 1))
                            // half the mass on the label, the rest spread at random (not summing to 1 exactly)
                            : f((k == t[pos] ? 0.5 : 0) + 0.5 * rnd.nextDouble() / Math.max(1, c - 1) * 2);
                }
            }
            ignore = -100;
        }
        return new Case(r.name(), cfg.name(), n, c, spatial, d.x(), t, prob, cfg.weighted() ? weights(c) : null,
                ignore, cfg.eps(), cfg.params(), r.name() + "|" + n + "|" + c + "|" + s + "|" + seed);
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

    @Override
    protected double invoke(Case k, Call call, Tensor losses, Tensor grad) {
        EntryPoint ep = call.ep();
        Arena arena = call.arena();
        Tensor in = ep.floats(arena, k.x(), k.inputShape());
        Tensor tg = probTargets() ? ep.floats(arena, k.prob(), k.inputShape()) : ep.indices(arena, k.target(), k.targetShape());
        Tensor w = k.weight() == null ? null : ep.floats(arena, k.weight(), k.c());
        CrossEntropy.Options o = CrossEntropy.Options.defaults().withWeight(w).withIgnoreIndex(k.ignoreIndex())
                .withLabelSmoothing(k.eps()).withReduction(call.red()).withThreads(call.threads());
        return call(in, tg, o, losses, grad);
    }

    // ------------------------------------------------------------------ shapes

    /** A 2-D and a 4-D input. */
    @Override
    protected List<long[]> entryShapes() {
        return List.of(new long[] {6, 13}, new long[] {2, 3, 5, 7});
    }

    /**
     * Along C for (N, C) input (the classes are the vector axis) and along S for (N, C, S) input
     * with C = 3 and 21 (the positions are): 21 classes of 4098 positions would cost the oracle
     * 86k exponentials, so 21 stops at 1021.
     */
    @Override
    protected List<long[]> oddShapes(int size) {
        return size > 1100 ? List.of(new long[] {2, size}, new long[] {2, 3, size})
                : List.of(new long[] {2, size}, new long[] {2, 3, size}, new long[] {1, 21, size});
    }

    @Override
    protected List<long[]> accuracyShapes() {
        return List.of(new long[] {200, 10}, new long[] {8, 3, 41}, new long[] {3, 21, 19}, new long[] {6, 100});
    }

    @Override
    protected List<long[]> nonFiniteShapes() {
        return List.of(new long[] {9, 13}, new long[] {2, 13, 5});
    }

    /** 300k elements each: many chunks of Parallel's grain along rows, and across positions. */
    @Override
    protected List<long[]> largeShapes() {
        return List.of(new long[] {3000, 100}, new long[] {30, 21, 500});
    }

    @Override
    protected String describe(long[] shape) {
        return Arrays.toString(shape) + (shape.length == 2 ? " (N, C)" : " (N, C, S)");
    }

    // ------------------------------------------------------------------ special cases

    /**
     * NaN, +inf and -inf logits: per IEEE and PyTorch a row with NaN or +inf, or all -inf, is
     * NaN; a -inf among finite logits has probability 0 (a -inf at the target gives +inf); an
     * ignored position is never read.
     */
    @Override
    protected Case withNonFiniteInputs(Case k0) {
        double[] x = k0.x().clone();
        long[] t = k0.target().clone();
        int s = k0.s(), c = k0.c();
        IntBinaryOperator at = (pos, cls) -> (pos / s) * c * s + cls * s + pos % s;
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
        return k0.with(x, t, k0.prob() == null ? null : k0.prob().clone(), "|nonfinite");
    }

    /** Probability targets need a class: an empty class axis with positions is refused. */
    @Override
    protected boolean refused(Case k) {
        return probTargets() && k.c() == 0 && k.n() * k.s() > 0;
    }

    /** Labels outside [0, C) (not ignored) for index targets; an empty class axis for probability targets. */
    @Override
    protected List<Refusal<Case>> refusals() {
        Regime r = regimes().get(0);
        if (probTargets()) {
            return List.of(new Refusal<>("empty class axis", makeCase(r, configs().get(0), new long[] {2, 0}, 5),
                    "class axis is empty"));
        }
        Case k = makeCase(r, configs().get(0), new long[] {6, 13}, 5);
        long[] high = k.target().clone(), low = k.target().clone();
        high[4] = k.c();
        low[1] = -3;
        return List.of(new Refusal<>("label C", k.with(k.x(), high, null, "|high"), "out of bounds"),
                new Refusal<>("label -3", k.with(k.x(), low, null, "|low"), "out of bounds"));
    }

    /** All targets ignored (NaN inputs there, unread): mean NaN, sum 0, losses and gradient exactly 0. */
    @TestFactory
    Stream<DynamicTest> allIgnored() {
        if (!supportsIgnore()) {
            return Stream.empty();
        }
        List<DynamicTest> tests = new ArrayList<>();
        for (long ignore : new long[] {-100, 2}) {
            for (Reduction red : reductions()) {
                for (EntryPoint ep : EntryPoint.values()) {
                    tests.add(DynamicTest.dynamicTest("ignore " + ignore + ", " + red + ", " + ep, () -> {
                        long[] shape = {4, 13, 3, 3};
                        double[] x = new double[4 * 13 * 9];
                        Arrays.fill(x, Double.NaN);
                        long[] t = new long[4 * 9];
                        Arrays.fill(t, ignore);
                        for (Config cfg : configs()) {
                            try (Arena arena = Arena.ofConfined()) {
                                Output losses = ep.output(arena, 4, 3, 3);
                                Output grad = ep.output(arena, shape);
                                CrossEntropy.Options o = CrossEntropy.Options.defaults().withIgnoreIndex(ignore)
                                        .withLabelSmoothing(cfg.eps()).withReduction(red)
                                        .withWeight(cfg.weighted() ? ep.floats(arena, weights(13), 13) : null);
                                double got = call(ep.floats(arena, x, shape), ep.indices(arena, t, 4, 3, 3), o,
                                        losses.tensor(), grad.tensor());
                                String where = cfg + ", " + red + ", " + ep;
                                losses.assertGuards(where);
                                grad.assertGuards(where);
                                if (red == Reduction.MEAN) {
                                    assertTrue(Double.isNaN(got), "mean over no active position is 0/0: " + where + " gave " + got);
                                } else {
                                    assertEquals(0.0, got, where);
                                }
                                for (double v : losses.read()) {
                                    assertEquals(0.0, v, "loss of an ignored position: " + where);
                                }
                                // every logit is NaN: after a softmax PyTorch's backward gives
                                // 0 - NaN * 0 = NaN at ignored positions; NLL has no softmax: 0
                                double g0 = softmaxBackward() ? Double.NaN : 0.0;
                                for (double v : grad.read()) {
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

    // ------------------------------------------------------------------ the kernel over ranges

    /**
     * The selected kernel against {@link KernelProvider#scalar()} through the internal interface,
     * on native float32 segments, over the whole range and over {@code [1, M-1)}: positions
     * outside the range must stay untouched, and so must the guards around the outputs. The
     * tolerance grows with C, since the two sum a row's exponentials in different orders.
     */
    @TestFactory
    Stream<DynamicTest> selectedKernelMatchesScalarOverRanges() {
        List<DynamicTest> tests = new ArrayList<>();
        for (int size : ODD_SIZES) {
            for (long[] shape : List.of(new long[] {3, size}, new long[] {2, 3, size}, new long[] {1, 21, size})) {
                if (Layout.classes(shape) == 0) {
                    continue;
                }
                for (Config cfg : List.of(configs().get(0), configs().get(configs().size() - 1))) {
                    tests.add(DynamicTest.dynamicTest(describe(shape) + ", " + cfg, () -> {
                        for (Regime r : size > 500 ? regimes().subList(0, 2) : regimes()) {
                            Case k = makeCase(r, cfg, shape, 77 + size);
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

    /**
     * The per-position loss tolerance of {@link #selectedKernelMatchesScalarOverRanges}, in ulps
     * (or an absolute error that grows with C): 4, for two kernels that sum a row's exponentials
     * in different orders and precisions.
     */
    protected double parityUlps() {
        return 4;
    }

    private RowProblem problem(Arena arena, Case k, double gradScale, MemorySegment losses, MemorySegment grad) {
        EntryPoint ep = EntryPoint.NATIVE;
        MemorySegment in = ep.floats(arena, k.x(), k.x().length).segment();
        MemorySegment tg = probTargets() ? null : EntryPoint.NATIVE_SLICE.indices(arena, k.target(), k.target().length).segment();
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
        return kernelOptions(probTargets() ? p.probTarget(prob) : p.indexTarget(tg, 8, k.ignoreIndex()), k, tg);
    }

    private void parity(Case k, int from, int to) {
        LossKernels scalar = KernelProvider.scalar();
        LossKernels selected = KernelProvider.get();
        int m = k.n() * k.s();
        try (Arena arena = Arena.ofConfined()) {
            EntryPoint ep = EntryPoint.NATIVE;
            double scale = 0.37; // an arbitrary gradient scale, as for mean
            Output l1 = ep.output(arena, m), l2 = ep.output(arena, m);
            Output g1 = ep.output(arena, k.x().length), g2 = ep.output(arena, k.x().length);
            ExactSum sum1 = new ExactSum(), sum2 = new ExactSum();
            scalar.rows(op(), problem(arena, k, scale, l1.tensor().segment(), g1.tensor().segment()), from, to, sum1);
            selected.rows(op(), problem(arena, k, scale, l2.tensor().segment(), g2.tensor().segment()), from, to, sum2);
            double want = sum1.get(), got = sum2.get();
            String where = k + ", range [" + from + ", " + to + "), " + selected.name() + " vs scalar";
            for (Output o : List.of(l1, l2, g1, g2)) {
                o.assertGuards(where);
            }
            double maxW = k.maxWeight();
            double rowErr = (k.c() + 4) * Tolerance.F32_EPS * maxW;
            Tolerance lossTol = Tolerance.ulps(parityUlps()).or(Tolerance.absolute(rowErr));
            Tolerance sumTol = Tolerance.relative((k.c() + 4) * Tolerance.F32_EPS).or(Tolerance.absolute((to - from) * rowErr));
            Tolerance gradTol = Tolerance.ulps(4, scale * maxW).or(Tolerance.relative((k.c() + 4) * Tolerance.F32_EPS))
                    .or(Tolerance.absolute(scale * rowErr));
            assertTrue(sumTol.test(want, got), where + ": sum " + got + ", scalar " + want + " (" + sumTol + ")");
            double[] a = l1.read(), b = l2.read();
            int s = k.s(), c = k.c();
            for (int pos = 0; pos < m; pos++) {
                boolean in = pos >= from && pos < to;
                if (!in && b[pos] != SENTINEL) {
                    fail(where + ": loss written outside the range at " + pos);
                } else if (in && !lossTol.test(a[pos], b[pos])) {
                    fail(where + ": loss[" + pos + "] " + b[pos] + ", scalar " + a[pos] + " (" + lossTol + ")");
                }
            }
            double[] ga = g1.read(), gb = g2.read();
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
}
