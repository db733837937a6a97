package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vecloss.internal.ExactSum;
import dev.vecloss.internal.ElementOp;
import dev.vecloss.internal.ElementProblem;
import dev.vecloss.internal.KernelProvider;
import dev.vecloss.internal.LossKernels;
import dev.vecloss.oracle.Tolerance;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The elementwise family (LOSSES.md 3 to 7: BCE, BCE with logits, sigmoid focal, the binary
 * hinges, kl_div): an input and a target of one shape, any rank, one loss per element, and
 * optional operands broadcast onto the input with NumPy's rule ({@link Operand}: 0-d, the last
 * axis, {@code (C, 1, ..., 1)}, the whole shape). A loss's test gives its call, its oracle, how its
 * targets (and, if they are not the regime's values, its inputs) are drawn, its option sets
 * ({@link Config}, with the loss's own parameters {@code P}) and its regimes with their budgets.
 * Besides {@link LossTestBase}'s checks: the selected kernel against the scalar one through
 * {@link LossKernels#elements} over a part {@code [1, n-1)} of the elements, outside which nothing
 * may be written; the gradient against central differences; the errors every elementwise loss
 * shares (shapes, dtypes, operands that do not broadcast), each writing nothing.
 *
 * @param <P> the loss's own parameters (alpha and gamma, margin and labels, ...)
 */
abstract class ElementwiseLossTestBase<P> extends LossTestBase<ElementwiseLossTestBase.Config<P>, ElementwiseLossTestBase.Case<P>> {

    // ------------------------------------------------------------------ operands, options, problems

    /** How an optional operand (weight, pos_weight) is shaped against the input: NumPy aligns dimensions on the right. */
    enum Operand {
        NONE, SCALAR, LAST, CLASS, FULL;

        /** The operand's shape for input {@code in}: {@code ()}, {@code (last)}, {@code (C, 1, ..., 1)} (axis 1), or {@code in}. */
        long[] shape(long[] in) {
            return switch (this) {
                case NONE -> null;
                case SCALAR -> new long[0];
                case LAST -> in.length == 0 ? new long[0] : new long[] {in[in.length - 1]};
                case CLASS -> {
                    if (in.length < 2) {
                        yield in.clone();
                    }
                    long[] r = new long[in.length - 1];
                    Arrays.fill(r, 1);
                    r[0] = in[1];
                    yield r;
                }
                case FULL -> in.clone();
            };
        }
    }

    /** An option set: the weight's and the pos_weight's shapes (NONE: absent) and the loss's own parameters. */
    record Config<P>(String name, Operand weight, Operand posWeight, P params) {
        Config(String name, P params) {
            this(name, Operand.NONE, Operand.NONE, params);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /**
     * One problem, all in double: input and target (flat, of {@code shape}), the operands' own
     * values (of their broadcast shapes) or null, the losses' natural scales (null: none) and the
     * gradient's.
     */
    record Case<P>(String regime, Config<P> config, long[] shape, double[] x, double[] y, double[] weight,
                   double[] posWeight, double[] lossFloors, double gradScale, String key) implements Problem {
        @Override
        public long[] inputShape() {
            return shape;
        }

        @Override
        public long[] lossesShape() {
            return shape;
        }

        @Override
        public long termsPerLoss() {
            return 1;
        }

        @Override
        public double meanDenominator() {
            return x.length;
        }

        @Override
        public double lossFloor(int i) {
            return lossFloors == null ? 0 : lossFloors[i];
        }

        P params() {
            return config.params();
        }

        long[] weightShape() {
            return config.weight().shape(shape);
        }

        long[] posWeightShape() {
            return config.posWeight().shape(shape);
        }

        /** The weight broadcast to one value per element, or null. */
        double[] expandedWeight() {
            return weight == null ? null : expand(weight, weightShape(), shape);
        }

        double[] expandedPosWeight() {
            return posWeight == null ? null : expand(posWeight, posWeightShape(), shape);
        }

        Case<P> with(double[] x2, double[] y2, double[] floors2, String keySuffix) {
            return new Case<>(regime, config, shape, x2, y2, weight, posWeight, floors2, gradScale, key + keySuffix);
        }

        @Override
        public String toString() {
            return regime + ", " + config + ", shape " + Arrays.toString(shape);
        }
    }

    /** {@code v} of shape {@code vShape} broadcast (NumPy) to {@code in}, flat in C order. */
    static double[] expand(double[] v, long[] vShape, long[] in) {
        int n = Math.toIntExact(numel(in));
        double[] r = new double[n];
        for (int i = 0; i < n; i++) {
            long rest = i, at = 0, stride = 1;
            for (int axis = in.length - 1, k = vShape.length - 1; axis >= 0; axis--, k--) {
                long idx = rest % in[axis];
                rest /= in[axis];
                if (k >= 0) {
                    at += (vShape[k] == 1 ? 0 : idx) * stride;
                    stride *= vShape[k];
                }
            }
            r[i] = v[(int) at];
        }
        return r;
    }

    // ------------------------------------------------------------------ what a loss gives

    /** The public call under test, with the given operands (null: absent) and outputs (null: none). */
    protected abstract double call(Tensor input, Tensor target, Tensor weight, Tensor posWeight, P params,
            Reduction red, int threads, Tensor losses, Tensor grad);

    /** The kernels' operation of this loss with these parameters, for the range parity test. */
    protected abstract ElementOp op(P params);

    /** The loss's own parameters on a kernel problem ({@code y}: the target, for a label rule). */
    protected ElementProblem kernelOptions(ElementProblem p, P params, double[] y) {
        return p;
    }

    /** The targets of regime {@code r}, for inputs {@code x} already drawn. */
    protected abstract double[] targets(Regime r, P params, double[] x, SplittableRandom rnd);

    /** The inputs from the regime's values {@code x} (already on the targets' side where the regime leads); by default {@code x}. */
    protected double[] inputs(Regime r, P params, double[] x, double[] y, SplittableRandom rnd) {
        return x;
    }

    /** The losses' natural scales ({@link Problem#lossFloor}), or null. */
    protected double[] lossFloors(P params, double[] x, double[] y) {
        return null;
    }

    /** The targets paired with NaN, +inf and -inf inputs in {@link #withNonFiniteInputs}: both labels by default. */
    protected double[] nonFiniteTargets(P params) {
        return new double[] {0, 1};
    }

    /** Float64 data for the finite-difference test, away from kinks and clamps: input, target, and the option set. */
    protected record Smooth<P>(double[] x, double[] y, long[] shape, Config<P> config) {}

    /** The finite-difference test's problems. */
    protected abstract List<Smooth<P>> smoothCases();

    @Override
    protected boolean issueBudgets() {
        return true;
    }

    /** The two kernels' errors against the truth add up: the regime's per-element budget and the scalar half ulp. */
    @Override
    protected double parityUlps(Regime r) {
        return Math.max(r.lossUlps(), r.gradUlps()) + 0.5;
    }

    // ------------------------------------------------------------------ data

    /** Logits on the target's side, |x| uniform in [10, 50]: losses down to e^-50, which only a formula without cancellation keeps. */
    static final DataRegime CORRECT_SIDE = new DataRegime("confident: x on the target's side, |x| in [10,50]",
            uniform(-4, 4), rnd -> f(10 + 40 * rnd.nextDouble()), false);
    /** |x| uniform in [30, 100], random signs and labels: where float32 PyTorch's 1 - sigmoid(x) rounds to 0. */
    static final DataRegime SATURATED_30 = new DataRegime("saturated: |x| in [30,100]", magnitudes(30, 100), null, false);
    /** Soft targets uniform in [0, 1] (some exactly 0 or 1), logits in [-4, 4]. */
    static final DataRegime SOFT = new DataRegime("soft targets in [0,1], logits [-4,4]", uniform(-4, 4), null, false);

    /** Values of magnitude uniform in [lo, hi) and random sign, rounded to float32. */
    static Values magnitudes(double lo, double hi) {
        return (n, c, s, rnd) -> {
            double[] x = new double[n * c * s];
            for (int i = 0; i < x.length; i++) {
                double v = f(lo + (hi - lo) * rnd.nextDouble());
                x[i] = rnd.nextBoolean() ? v : -v;
            }
            return x;
        };
    }

    /** Labels 0 and 1, one half each. */
    static double[] hardLabels(int n, SplittableRandom rnd) {
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            y[i] = rnd.nextInt(2);
        }
        return y;
    }

    /** Float32 values uniform in [0, 1], every seventh exactly 0 or 1. */
    static double[] softLabels(int n, SplittableRandom rnd) {
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            y[i] = i % 7 == 3 ? rnd.nextInt(2) : f(rnd.nextDouble());
        }
        return y;
    }

    /** Positive operand values on a binary grid (exact in float32), not all equal. */
    static double[] operandValues(int n, int salt) {
        double[] v = new double[n];
        for (int k = 0; k < n; k++) {
            v[k] = 0.25 + ((7 * k + salt) % 13) / 8.0;
        }
        return v;
    }

    /** Distinct values per regime: the inputs of every problem are drawn from them. */
    static final int POOL = 1024;
    private static final java.util.Map<String, double[]> POOLS = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * {@code n} values drawn (with repetition) from a fixed pool of {@link #POOL} values of the
     * regime, named {@code name}: {@code draw} fills the pool once. Dfp's exponential and
     * logarithm cost 50 to 100 microseconds; the oracles keep the values of recent inputs, and a
     * pool lets every test of a class share them (a pool of 1024 float32 values covers a regime
     * as well as fresh draws would, for the kernels as for the error statistics).
     */
    static double[] pooled(String name, java.util.function.Function<SplittableRandom, double[]> draw, int n,
            SplittableRandom rnd) {
        double[] pool = POOLS.computeIfAbsent(name, k -> draw.apply(new SplittableRandom(k.hashCode())));
        double[] r = new double[n];
        for (int i = 0; i < n; i++) {
            r[i] = pool[rnd.nextInt(pool.length)];
        }
        return r;
    }

    @Override
    protected Case<P> makeCase(Regime r, Config<P> cfg, long[] shape, long seed) {
        int n = Math.toIntExact(numel(shape));
        SplittableRandom rnd = new SplittableRandom(seed);
        DataRegime d = r.data();
        double[] x = pooled(d.name(), g -> d.values().draw(1, POOL, 1, g), n, rnd);
        double[] y = targets(r, cfg.params(), x, rnd);
        if (d.lead() != null) {
            double[] lead = pooled(d.name() + "|lead", g -> {
                double[] v = new double[POOL];
                for (int i = 0; i < POOL; i++) {
                    v[i] = d.lead().draw(g);
                }
                return v;
            }, n, rnd);
            for (int i = 0; i < n; i++) {
                x[i] = (y[i] > 0.5 ? 1 : -1) * lead[i];
            }
        }
        x = inputs(r, cfg.params(), x, y, rnd);
        long[] ws = cfg.weight().shape(shape), ps = cfg.posWeight().shape(shape);
        double[] w = ws == null ? null : operandValues(Math.toIntExact(numel(ws)), 0);
        double[] pw = ps == null ? null : operandValues(Math.toIntExact(numel(ps)), 5);
        double scale = (w == null ? 1 : Arrays.stream(w).max().orElse(1)) * Math.max(1, pw == null ? 1 : Arrays.stream(pw).max().orElse(1));
        return new Case<>(r.name(), cfg, shape, x, y, w, pw, lossFloors(cfg.params(), x, y), scale,
                r.name() + "|" + Arrays.toString(shape) + "|" + seed);
    }

    @Override
    protected double invoke(Case<P> k, Call call, Tensor losses, Tensor grad) {
        EntryPoint ep = call.ep();
        Arena arena = call.arena();
        Tensor w = k.weight() == null ? null : ep.floats(arena, k.weight(), k.weightShape());
        Tensor pw = k.posWeight() == null ? null : ep.floats(arena, k.posWeight(), k.posWeightShape());
        return call(ep.floats(arena, k.x(), k.shape()), ep.floats(arena, k.y(), k.shape()), w, pw, k.params(),
                call.red(), call.threads(), losses, grad);
    }

    /** NaN, +inf and -inf inputs, each with every target of {@link #nonFiniteTargets}, at the first elements. */
    @Override
    protected Case<P> withNonFiniteInputs(Case<P> k) {
        double[] x = k.x().clone(), y = k.y().clone();
        int i = 0;
        for (double v : new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
            for (double t : nonFiniteTargets(k.params())) {
                x[i] = v;
                y[i++] = t;
            }
        }
        return k.with(x, y, lossFloors(k.params(), x, y), "|nonfinite");
    }

    // ------------------------------------------------------------------ shapes

    /** A 2-D, a 4-D and a 0-d input. */
    @Override
    protected List<long[]> entryShapes() {
        return List.of(new long[] {6, 13}, new long[] {2, 3, 5, 7}, new long[0]);
    }

    /**
     * Along the flat axis: {@code (size)}, and {@code (1, 3, size)}, where a (C, 1) operand is
     * constant in runs of size; the latter only up to 207 (the Dfp oracle is slow).
     */
    @Override
    protected List<long[]> oddShapes(int size) {
        return size > 500 ? List.of(new long[] {size}) : List.of(new long[] {size}, new long[] {1, 3, size});
    }

    @Override
    protected List<long[]> accuracyShapes() {
        return List.of(new long[] {4, 3, 41}, new long[] {97});
    }

    @Override
    protected List<long[]> nonFiniteShapes() {
        return List.of(new long[] {9, 13}, new long[] {2, 13, 5});
    }

    /**
     * Three chunks of {@code Parallel.CHUNK_ELEMENTS} (2^16), the last of one element, and two
     * chunks whose boundary cuts a run of 5000 elements of a (C, 1, 1) operand.
     */
    @Override
    protected List<long[]> largeShapes() {
        return List.of(new long[] {131_073}, new long[] {3, 5, 5000});
    }

    // ------------------------------------------------------------------ the kernel over ranges

    /**
     * The selected kernel against {@link KernelProvider#scalar()} through the internal interface,
     * on native float32 segments, over the whole range and over {@code [1, n-1)}: elements outside
     * the range must stay untouched, and so must the guards; a range starting at 1 starts the SIMD
     * tiles off their alignment and the operands' runs in their middle.
     */
    @TestFactory
    Stream<DynamicTest> selectedKernelMatchesScalarOverRanges() {
        List<DynamicTest> tests = new ArrayList<>();
        for (int size : ODD_SIZES) {
            for (long[] shape : oddShapes(size)) {
                for (Config<P> cfg : List.of(configs().get(0), configs().get(configs().size() - 1))) {
                    tests.add(DynamicTest.dynamicTest(Arrays.toString(shape) + ", " + cfg, () -> {
                        for (Regime r : regimes()) {
                            Case<P> k = makeCase(r, cfg, shape, 77 + size);
                            int n = k.x().length;
                            rangeParity(k, r, 0, n);
                            if (n > 2) {
                                rangeParity(k, r, 1, n - 1);
                            }
                        }
                    }));
                }
            }
        }
        return tests.stream();
    }

    /**
     * The two kernels' difference is at most the sum of their errors against the truth: the
     * regime's per-element budgets plus the scalar kernels' half ulp.
     */
    private void rangeParity(Case<P> k, Regime r, int from, int to) {
        LossKernels scalar = KernelProvider.scalar(), selected = KernelProvider.get();
        int n = k.x().length;
        try (Arena arena = Arena.ofConfined()) {
            EntryPoint ep = EntryPoint.NATIVE;
            double scale = 0.37; // an arbitrary gradient scale, as for mean
            Output l1 = ep.output(arena, n), l2 = ep.output(arena, n), g1 = ep.output(arena, n), g2 = ep.output(arena, n);
            ElementOp op = op(k.params());
            ExactSum sum1 = new ExactSum(), sum2 = new ExactSum();
            scalar.elements(op, problem(arena, k, scale, l1, g1), from, to, sum1);
            selected.elements(op, problem(arena, k, scale, l2, g2), from, to, sum2);
            double want = sum1.get(), got = sum2.get();
            String where = k + ", range [" + from + ", " + to + "), " + selected.name() + " vs scalar";
            for (Output o : List.of(l1, l2, g1, g2)) {
                o.assertGuards(where);
            }
            double elemErr = 5 * Tolerance.F32_EPS * k.gradScale();
            Tolerance lossTol = Tolerance.ulps(r.lossUlps() + 0.5).or(Tolerance.absolute(elemErr));
            Tolerance sumTol = Tolerance.relative(5 * Tolerance.F32_EPS).or(Tolerance.absolute((to - from) * elemErr));
            Tolerance gradTol = Tolerance.ulps(r.gradUlps() + 0.5, scale * k.gradScale()).or(Tolerance.absolute(scale * elemErr));
            assertTrue(sumTol.test(want, got), where + ": sum " + got + ", scalar " + want + " (" + sumTol + ")");
            double[] a = l1.read(), b = l2.read(), ga = g1.read(), gb = g2.read();
            for (int i = 0; i < n; i++) {
                boolean in = i >= from && i < to;
                if (!in && (b[i] != SENTINEL || gb[i] != SENTINEL)) {
                    fail(where + ": written outside the range at " + i);
                } else if (in && !(Tolerance.ulps(r.lossUlps() + 0.5, k.lossFloor(i)).test(a[i], b[i])
                        || lossTol.test(a[i], b[i]) || a[i] == b[i])) {
                    fail(where + ": loss[" + i + "] " + b[i] + ", scalar " + a[i] + " (" + lossTol + ")");
                } else if (in && !(gradTol.test(ga[i], gb[i]) || ga[i] == gb[i])) {
                    fail(where + ": grad[" + i + "] " + gb[i] + ", scalar " + ga[i] + " (" + gradTol + ")");
                }
            }
        }
    }

    private ElementProblem problem(Arena arena, Case<P> k, double scale, Output losses, Output grad) {
        EntryPoint ep = EntryPoint.NATIVE;
        MemorySegment x = ep.floats(arena, k.x(), k.x().length).segment();
        MemorySegment y = ep.floats(arena, k.y(), k.y().length).segment();
        MemorySegment w = k.weight() == null ? null : ep.floats(arena, k.weight(), k.weight().length).segment();
        MemorySegment pw = k.posWeight() == null ? null : ep.floats(arena, k.posWeight(), k.posWeight().length).segment();
        ElementProblem p = ElementProblem.create().op(op(k.params())).operands(x, y, false, k.shape(), k.x().length)
                .weight(w, k.weightShape()).posWeight(pw, k.posWeightShape()).gradScale(scale)
                .losses(losses.tensor().segment(), false).grad(grad.tensor().segment(), false);
        return kernelOptions(p, k.params(), k.y());
    }

    // ------------------------------------------------------------------ gradient against finite differences

    /**
     * The float64 gradient (scalar kernels, in double) against central differences of the
     * float64 reduced loss, for every reduction, on {@link #smoothCase} (with its operands).
     * Truncation ~ h^2 |f'''| and rounding ~ 1e-16 |f| / h are both about 1e-10 for h = 1e-5.
     */
    @TestFactory
    Stream<DynamicTest> gradientMatchesFiniteDifferences() {
        return smoothCases().stream().flatMap(s -> reductions().stream().map(red -> DynamicTest.dynamicTest(
                s.config() + ", " + red, () -> {
            long[] shape = s.shape();
            Config<P> cfg = s.config();
            long[] ws = cfg.weight().shape(shape), ps = cfg.posWeight().shape(shape);
            Tensor w = ws == null ? null : Tensor.of(operandValues(Math.toIntExact(numel(ws)), 0), ws);
            Tensor pw = ps == null ? null : Tensor.of(operandValues(Math.toIntExact(numel(ps)), 5), ps);
            Tensor target = Tensor.of(s.y(), shape);
            double[] x = s.x();
            double[] g = new double[x.length];
            call(Tensor.of(x, shape), target, w, pw, cfg.params(), red, 1, Tensor.of(new double[x.length], shape),
                    Tensor.of(g, shape));
            assertCentralDifferences(x, g, v -> call(Tensor.of(v, shape), target, w, pw, cfg.params(), red, 1,
                    Tensor.of(new double[x.length], shape), null), cfg + ", " + red + ", targets " + Arrays.toString(s.y()));
        })));
    }

    // ------------------------------------------------------------------ errors every elementwise loss shares

    /** Whether the loss takes a weight (BCE) and a pos_weight (BCE with logits). */
    protected boolean takesWeight() {
        return false;
    }

    protected boolean takesPosWeight() {
        return false;
    }

    /**
     * Target of another shape or dtype, an integer input, operands that do not broadcast or are
     * of another dtype: refused, naming the problem, nothing written.
     */
    @TestFactory
    Stream<DynamicTest> sharedErrors() {
        long[] shape = {6, 13};
        Case<P> k = makeCase(regimes().get(0), configs().get(0), shape, 9);
        P params = k.params();
        float[] x = toFloat(k.x()), y = toFloat(k.y());
        Tensor in = Tensor.of(x, shape), tg = Tensor.of(y, shape);
        List<DynamicTest> tests = new ArrayList<>();
        for (Reduction red : reductions()) {
            tests.add(DynamicTest.dynamicTest("target of another shape, " + red, () -> assertRefusedWritingNothing(
                    "target (6, 14)", shape, (l, g) -> call(in, Tensor.of(new float[6 * 14], 6, 14), null, null, params,
                            red, 0, l, g), "target shape", "[6, 14]", "[6, 13]")));
            tests.add(DynamicTest.dynamicTest("float64 target, " + red, () -> assertRefusedWritingNothing(
                    "float64 target", shape, (l, g) -> call(in, Tensor.of(k.y(), shape), null, null, params, red, 0, l, g),
                    "target must be FLOAT32", "FLOAT64")));
            tests.add(DynamicTest.dynamicTest("int64 input, " + red, () -> assertRefusedWritingNothing(
                    "int64 input", shape, (l, g) -> call(Tensor.of(new long[78], shape), tg, null, null, params, red, 0, l, g),
                    "input must be float32 or float64")));
            if (takesWeight()) {
                tests.add(DynamicTest.dynamicTest("weight (14), " + red, () -> assertRefusedWritingNothing(
                        "weight (14)", shape, (l, g) -> call(in, tg, Tensor.of(new float[14], 14), null, params, red, 0, l, g),
                        "weight shape [14] does not broadcast", "[6, 13]")));
                tests.add(DynamicTest.dynamicTest("weight (6), " + red, () -> assertRefusedWritingNothing(
                        "weight (6) against (6, 13): dimensions align on the right", shape,
                        (l, g) -> call(in, tg, Tensor.of(new float[6], 6), null, params, red, 0, l, g),
                        "weight shape [6] does not broadcast")));
                tests.add(DynamicTest.dynamicTest("float64 weight, " + red, () -> assertRefusedWritingNothing(
                        "float64 weight", shape, (l, g) -> call(in, tg, Tensor.of(new double[13], 13), null, params, red, 0, l, g),
                        "weight must be FLOAT32")));
            }
            if (takesPosWeight()) {
                tests.add(DynamicTest.dynamicTest("pos_weight (2, 6, 13), " + red, () -> assertRefusedWritingNothing(
                        "pos_weight (2, 6, 13)", shape,
                        (l, g) -> call(in, tg, null, Tensor.of(new float[156], 2, 6, 13), params, red, 0, l, g),
                        "pos_weight shape [2, 6, 13] does not broadcast")));
                tests.add(DynamicTest.dynamicTest("float64 pos_weight, " + red, () -> assertRefusedWritingNothing(
                        "float64 pos_weight", shape, (l, g) -> call(in, tg, null, Tensor.of(new double[13], 13), params, red, 0, l, g),
                        "pos_weight must be FLOAT32")));
            }
        }
        return tests.stream();
    }
}
