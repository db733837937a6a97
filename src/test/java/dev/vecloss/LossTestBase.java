package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vecloss.internal.KernelProvider;
import dev.vecloss.oracle.DfpOracle;
import dev.vecloss.oracle.Tolerance;
import dev.vecloss.oracle.Tolerance.ErrorStats;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The checks every loss test gets, whatever the loss's family (STYLE 8). A family's base
 * ({@link RowLossTestBase}, ...) says how to make one of its problems ({@link Problem}) from a data
 * regime, an option set and a shape, how to call the loss on it, and which shapes exercise its
 * vectorised axes; a loss's test gives the public call, the oracle's answer and the error budgets
 * of each regime. This class then runs, on every loss:
 * <ul>
 *   <li>every entry point (Java array, unaligned heap slice of a byte array, native segment,
 *       offset slice of a native segment) and every reduction, with and without the gradient;</li>
 *   <li>odd sizes (STYLE 5) along the family's vectorised axes, and non-finite inputs;</li>
 *   <li>outputs filled with a sentinel and surrounded by guard elements: every call, including
 *       one that throws, must leave the guards as they were;</li>
 *   <li>the accuracy sweep of each regime against the oracle, max and RMS in float32 ulps
 *       (STYLE 6);</li>
 *   <li>the selected kernels against the scalar ones through the public API
 *       ({@link Kernels#callWith}), with tolerances that grow with the reduction length, and the
 *       same bits for 1, 2 and 7 threads.</li>
 * </ul>
 * Everything is compared with {@link DfpOracle} or with exact expectations, never with the
 * library's own output, except in the parity and thread-count tests, which compare two runs. The data regimes (uniform, wide, confident, near-tie,
 * saturated) are drawn by the shared generators below, so every family and loss means the same
 * thing by the same name.
 *
 * @param <O> the family's option sets (named by {@code toString})
 * @param <K> the family's problems
 */
abstract class LossTestBase<O, K extends LossTestBase.Problem> {

    // ------------------------------------------------------------------ what a family and a loss give

    /** One problem, all in double, as this class sees it; a family's record adds the data and options. */
    interface Problem {
        /** The input's shape, which is also the gradient's. */
        long[] inputShape();

        /** The shape of the losses of reduction none. */
        long[] lossesShape();

        /**
         * How many input elements each loss is a sum over (C for a softmax row, 1 for an
         * elementwise loss): two kernels may add them in different orders.
         */
        long termsPerLoss();

        /** The gradient's natural scale for a unit upstream factor: the largest |weight|, 1 without weights. */
        double gradScale();

        /** The denominator of reduction mean (0 when nothing counts), in double: it scales tolerances only. */
        double meanDenominator();

        /**
         * The natural scale of loss {@code i} (of reduction none), below which its error is
         * judged in ulps of this scale rather than of the loss: 0 (ulps of the loss itself) unless
         * the loss is a difference of larger terms that a float32 kernel cannot keep, as kl_div's
         * {@code t log t - t q} where {@code q ~ log t}.
         */
        default double lossFloor(int i) {
            return 0;
        }
    }

    /** Maximum and RMS error allowed over a regime's accuracy sweep, in float32 ulps. */
    record Budget(double maxUlps, double rmsUlps) {}

    /**
     * A data regime with a loss's tolerances: per element, losses in ulps of the expected value,
     * gradients in ulps of {@code max(|expected|, sigma * gradScale)} (the natural scale of the
     * problem), reduced values in ulps of {@code max(|expected|, sigma * sum|losses|)}; and the
     * budgets the accuracy sweep must meet.
     */
    record Regime(DataRegime data, double lossUlps, double gradUlps, double reducedUlps, Budget lossBudget,
                  Budget gradBudget) {
        /** Reduced values within the per-element loss tolerance. */
        Regime(DataRegime data, double lossUlps, double gradUlps, Budget lossBudget, Budget gradBudget) {
            this(data, lossUlps, gradUlps, lossUlps, lossBudget, gradBudget);
        }

        String name() {
            return data.name();
        }

        @Override
        public String toString() {
            return name();
        }
    }

    /** The loss's data regimes with their tolerances, the first being the plain one used for the largest sizes. */
    protected abstract List<Regime> regimes();

    /** The option sets, the first plain and the last the one with every option. */
    protected abstract List<O> configs();

    /** The problem of regime {@code r} with options {@code cfg}, input of shape {@code shape}, data from {@code seed}. */
    protected abstract K makeCase(Regime r, O cfg, long[] shape, long seed);

    /** The truth for {@code k}. */
    protected abstract DfpOracle.Result oracle(K k);

    /**
     * Calls the loss on {@code k}: its tensors made through {@code call.ep()} in {@code call.arena()},
     * with {@code call}'s reduction and thread count, and the given outputs (either may be null).
     */
    protected abstract double invoke(K k, Call call, Tensor losses, Tensor grad);

    /** A copy of {@code k} with NaN and infinite inputs where the family's special cases are. */
    protected abstract K withNonFiniteInputs(K k);

    /** Shapes for every entry point and reduction: a 2-D and a higher-rank one. */
    protected abstract List<long[]> entryShapes();

    /** Shapes of {@code size} elements along each of the family's vectorised axes. */
    protected abstract List<long[]> oddShapes(int size);

    /** Shapes of the accuracy sweep. */
    protected abstract List<long[]> accuracyShapes();

    /** Shapes of {@link #withNonFiniteInputs}. */
    protected abstract List<long[]> nonFiniteShapes();

    /** Shapes large enough to be cut into many chunks for several threads. */
    protected abstract List<long[]> largeShapes();

    /** A shape for test names: by default the dimensions. */
    protected String describe(long[] shape) {
        return Arrays.toString(shape);
    }

    /** Whether the loss refuses {@code k} (a shape it rejects): an {@link IllegalArgumentException}, nothing written. */
    protected boolean refused(K k) {
        return false;
    }

    /** A problem the loss must refuse before writing anything, with the words its message must contain. */
    record Refusal<P>(String name, P problem, String words) {}

    /** Problems of this loss that are refused for their data or options (beyond wrong output shapes). */
    protected List<Refusal<K>> refusals() {
        return List.of();
    }

    // ------------------------------------------------------------------ sizes, helpers

    static final int[] ODD_SIZES = {0, 1, 3, 7, 8, 13, 31, 100, 207, 1021, 4098};
    /** The reductions of every loss; kl_div adds {@link Reduction#BATCHMEAN} ({@link #reductions}). */
    static final Reduction[] REDUCTIONS = {Reduction.NONE, Reduction.MEAN, Reduction.SUM};

    /** The reductions this loss accepts; the others are refused ({@link #refusedCallsWriteNothing}). */
    protected List<Reduction> reductions() {
        return Arrays.asList(REDUCTIONS);
    }

    /**
     * Whether every checked call must also meet the issue's accuracy requirement, besides the
     * regime's ulp budgets: losses and gradients within 1e-5 relative or 1e-7 absolute of the
     * exact value, reduced values within 2e-6 relative or 1e-9 absolute.
     */
    protected boolean issueBudgets() {
        return false;
    }

    /** The issue's per-element requirement (losses and gradients). */
    static final Tolerance ISSUE_ELEMENT = Tolerance.relative(1e-5).or(Tolerance.absolute(1e-7));
    /** The issue's requirement on reduced values. */
    static final Tolerance ISSUE_REDUCED = Tolerance.relative(2e-6).or(Tolerance.absolute(1e-9));

    static float f(double v) {
        return (float) v;
    }

    static float[] toFloat(double[] v) {
        float[] r = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            r[i] = (float) v[i];
        }
        return r;
    }

    static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    // ------------------------------------------------------------------ data regimes, shared by every family

    /** Input values of a problem read as (N, C, S) ({@link Layout}), drawn as a regime says. */
    @FunctionalInterface
    interface Values {
        double[] draw(int n, int c, int s, SplittableRandom rnd);
    }

    /** How far the value a target favours leads, per position. */
    @FunctionalInterface
    interface Lead {
        double draw(SplittableRandom rnd);
    }

    /**
     * A named way to draw a problem's data: its input values, optionally a lead of the value
     * each target favours (null: none), and whether soft targets are sharp (one-hot or within
     * about 1e-3 of it). A family base turns it into its data: for a softmax row the target's
     * logit leads the others of its position ({@link #lead}); for an elementwise loss the lead
     * is a margin on the target's side.
     */
    record DataRegime(String name, Values values, Lead lead, boolean sharpTargets) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** The common case: logits of order 1, losses of order 1. */
    static final DataRegime UNIFORM = new DataRegime("uniform logits [-4,4]", uniform(-4, 4), null, false);
    /** Exponentials spanning 1e-26..1: tiny probabilities must not flush, losses reach 60. */
    static final DataRegime WIDE = new DataRegime("wide logits [-30,30]", uniform(-30, 30), null, false);
    /** The target's value leads by 20 (others uniform in [-4, 4]): losses of about e^-20. */
    static final DataRegime CONFIDENT = new DataRegime("confident: target leads by 20", uniform(-4, 4), rnd -> 20, false);
    /**
     * The target's value leads by 10 to 50 and soft targets are one-hot or near-one-hot: losses
     * down to 1e-21, which only a formula without cancellation keeps (issue 7 item 11).
     */
    static final DataRegime CONFIDENT_SHARP = new DataRegime(
            "confident: (near-)one-hot target leads by 10 to 50", uniform(-4, 4), rnd -> 10 + 40 * rnd.nextDouble(), true);
    /** Values within about 1e-3 of a centre in [-4, 4] per position: p ~ 1/C, differences tiny and exact. */
    static final DataRegime NEAR_TIE = new DataRegime("near-tie", nearTie(), null, false);
    /** |values| uniform in [20, 100], random signs: sigmoids and exponentials saturate in float32. */
    static final DataRegime SATURATED = new DataRegime("saturated logits: |x| in [20,100]", saturated(), null, false);

    /**
     * Asserts that {@code g}, the float64 gradient of {@code loss} at {@code x}, agrees with the
     * central differences {@code (loss(x + h e_i) - loss(x - h e_i)) / 2h}, {@code h = 1e-5},
     * within 1e-8 absolute or 1e-6 relative: truncation ~ h^2 |f'''| and rounding
     * ~ 1e-16 |f| / h are both about 1e-10. {@code what} and the entry name a failure.
     */
    static void assertCentralDifferences(double[] x, double[] g, java.util.function.ToDoubleFunction<double[]> loss,
            String what) {
        double h = 1e-5;
        Tolerance tol = Tolerance.absolute(1e-8).or(Tolerance.relative(1e-6));
        for (int i = 0; i < x.length; i++) {
            double[] xp = x.clone(), xm = x.clone();
            xp[i] += h;
            xm[i] -= h;
            double fd = (loss.applyAsDouble(xp) - loss.applyAsDouble(xm)) / (2 * h);
            assertTrue(tol.test(fd, g[i]), what + ": d/dx[" + i + "] = " + g[i] + " at x = " + x[i] + "; finite difference "
                    + fd + " (" + tol + ")");
        }
    }

    /** Independent values uniform in [lo, hi), rounded to float32. */
    static Values uniform(double lo, double hi) {
        return (n, c, s, rnd) -> {
            double[] x = new double[n * c * s];
            for (int i = 0; i < x.length; i++) {
                x[i] = f(lo + (hi - lo) * rnd.nextDouble());
            }
            return x;
        };
    }

    /** Per position a centre uniform in [-4, 4] and its C values within about 1e-3 (Gaussian) of it. */
    static Values nearTie() {
        return (n, c, s, rnd) -> {
            double[] x = new double[n * c * s];
            for (int pos = 0; pos < n * s; pos++) {
                double centre = -4 + 8 * rnd.nextDouble();
                int base = (pos / s) * c * s + pos % s;
                for (int k = 0; k < c; k++) {
                    x[base + k * s] = f(centre + 1e-3 * rnd.nextGaussian());
                }
            }
            return x;
        };
    }

    /** Values of magnitude uniform in [20, 100] and random sign. */
    static Values saturated() {
        return (n, c, s, rnd) -> {
            double[] x = new double[n * c * s];
            for (int i = 0; i < x.length; i++) {
                double v = f(20 + 80 * rnd.nextDouble());
                x[i] = rnd.nextBoolean() ? v : -v;
            }
            return x;
        };
    }

    /**
     * Makes the favoured class of each position lead every other value of the position by
     * {@code lead} (the value is then {@code f(max + lead)}; with one class, {@code lead} itself).
     * Positions whose favoured class is outside {@code [0, C)} (ignored) are left alone.
     */
    static void lead(double[] x, int n, int c, int s, long[] favoured, Lead lead, SplittableRandom rnd) {
        for (int pos = 0; pos < n * s; pos++) {
            long y = favoured[pos];
            if (y < 0 || y >= c) {
                continue;
            }
            int base = (pos / s) * c * s + pos % s;
            double m = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < c; k++) {
                if (k != y) {
                    m = Math.max(m, x[base + k * s]);
                }
            }
            double l = lead.draw(rnd);
            x[base + (int) y * s] = c == 1 ? l : f(m + l);
        }
    }

    // ------------------------------------------------------------------ entry points and guarded outputs

    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Written into outputs and their guards before a call: an element left unwritten shows up as this. */
    static final float SENTINEL = 7777.5f;
    /** Guard elements before and after each output: a 512-bit vector's worth, so a whole stray store shows. */
    static final int GUARD = 16;

    /**
     * Where the tensors live. Index tensors are int64, except int32 for the native segment.
     * Outputs are sentinel-filled slices of a larger segment of the same kind ({@link Output}):
     * for {@code JAVA_ARRAY}, a slice of a {@code float[]}'s segment.
     */
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

        /** A float32 tensor holding {@code v} (float32 values, widened). */
        Tensor floats(Arena arena, double[] v, long... shape) {
            if (this == JAVA_ARRAY) {
                // Tensor.of(float[]) reads an empty shape as (length): a 0-d view needs the segment form
                return Tensor.of(MemorySegment.ofArray(toFloat(v)), DType.FLOAT32, shape);
            }
            MemorySegment seg = bytes(arena, 4L * v.length, 4);
            MemorySegment.copy(toFloat(v), 0, seg, F32, 0, v.length);
            return Tensor.of(seg, DType.FLOAT32, shape);
        }

        /** An integer tensor holding {@code v}: int64, or int32 for {@code NATIVE}. */
        Tensor indices(Arena arena, long[] v, long... shape) {
            if (this == JAVA_ARRAY) {
                return Tensor.of(v.clone(), shape);
            }
            boolean i32 = this == NATIVE;
            MemorySegment seg = bytes(arena, (i32 ? 4L : 8L) * v.length, 12);
            if (i32) {
                MemorySegment.copy(Arrays.stream(v).mapToInt(Math::toIntExact).toArray(), 0, seg, I32, 0, v.length);
            } else {
                MemorySegment.copy(v, 0, seg, I64, 0, v.length);
            }
            return Tensor.of(seg, i32 ? DType.INT32 : DType.INT64, shape);
        }

        /** A float32 output of {@code shape} filled with {@link #SENTINEL}, between {@link #GUARD} guard elements each side. */
        Output output(Arena arena, long... shape) {
            long n = numel(shape);
            long total = n + 2L * GUARD;
            MemorySegment whole = switch (this) {
                case JAVA_ARRAY -> MemorySegment.ofArray(new float[Math.toIntExact(total)]);
                case HEAP_BYTES_UNALIGNED -> MemorySegment.ofArray(new byte[Math.toIntExact(4 * total + 3)]).asSlice(3, 4 * total);
                case NATIVE -> arena.allocate(4 * total, 64);
                case NATIVE_SLICE -> arena.allocate(4 * total + 16, 32).asSlice(4, 4 * total);
            };
            float[] fill = new float[Math.toIntExact(total)];
            Arrays.fill(fill, SENTINEL);
            MemorySegment.copy(fill, 0, whole, F32, 0, fill.length);
            return new Output(whole, Tensor.of(whole.asSlice(4L * GUARD, 4 * n), DType.FLOAT32, shape));
        }
    }

    /** An output tensor and the guarded segment around it. */
    record Output(MemorySegment whole, Tensor tensor) {
        private static boolean sentinel(float v) {
            return Float.floatToRawIntBits(v) == Float.floatToRawIntBits(SENTINEL);
        }

        /** Fails if a guard element is no longer the sentinel: the call wrote outside the tensor. */
        void assertGuards(String where) {
            long total = whole.byteSize() / 4;
            for (long j = 0; j < 2 * GUARD; j++) {
                long i = j < GUARD ? j : total - 2 * GUARD + j;
                if (!sentinel(whole.getAtIndex(F32, i))) {
                    String at = i < GUARD ? (GUARD - i) + " element(s) before it" : (i - (total - GUARD) + 1) + " element(s) after it";
                    fail(where + ": written outside the output, " + at + " (" + whole.getAtIndex(F32, i) + ")");
                }
            }
        }

        /** Fails unless every element, the tensor's included, is still the sentinel. */
        void assertUntouched(String where) {
            long total = whole.byteSize() / 4;
            for (long i = 0; i < total; i++) {
                if (!sentinel(whole.getAtIndex(F32, i))) {
                    fail(where + ": element " + (i - GUARD) + " written (" + whole.getAtIndex(F32, i) + ")");
                }
            }
        }

        double[] read() {
            return LossTestBase.read(tensor);
        }
    }

    /** A float32 tensor's elements, widened. */
    static double[] read(Tensor t) {
        float[] a = new float[Math.toIntExact(t.numel())];
        MemorySegment.copy(t.segment(), F32, 0, a, 0, a.length);
        double[] r = new double[a.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = a[i];
        }
        return r;
    }

    /** How one public call is made: where its tensors live, its reduction and its threads (0: the default). */
    record Call(EntryPoint ep, Arena arena, Reduction red, int threads) {
        Call(EntryPoint ep, Arena arena, Reduction red) {
            this(ep, arena, red, 0);
        }
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
     * gradient between guards, and compares everything with the oracle. Mismatches are collected
     * (up to 8) so that one failure names every bad element.
     */
    void check(K k, Regime r, EntryPoint ep, Reduction red, DfpOracle.Result want, Stats stats) {
        List<String> bad = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            Output losses = ep.output(arena, k.lossesShape());
            Output grad = ep.output(arena, k.inputShape());
            double got = invoke(k, new Call(ep, arena, red), losses.tensor(), grad.tensor());
            String where = k + ", " + ep + ", reduction " + red.pytorchName() + ", kernels " + KernelProvider.get().name();
            losses.assertGuards("losses, " + where);
            grad.assertGuards("grad, " + where);
            double sigma = want.sigma(red);

            double sumAbs = 0;
            for (int i = 0; i < want.losses().length; i++) {
                double l = want.losses()[i];
                sumAbs += Double.isFinite(l) ? Math.max(Math.abs(l), k.lossFloor(i)) : 0;
            }
            Tolerance redTol = Tolerance.ulps(r.reducedUlps(), Math.abs(sigma) * sumAbs);
            if (!redTol.test(want.reduced(red), got)) {
                bad.add("reduced " + red + ": expected " + want.reduced(red) + ", got " + got);
            }
            if (issueBudgets() && !ISSUE_REDUCED.test(want.reduced(red), got)) {
                bad.add("reduced " + red + " outside the issue's budget (" + ISSUE_REDUCED + "): expected "
                        + want.reduced(red) + ", got " + got);
            }
            if (stats != null) {
                stats.reduced().add(want.reduced(red), got, Math.abs(sigma) * sumAbs, () -> k + " " + red);
            }

            Tolerance lossTol = Tolerance.ulps(r.lossUlps());
            double[] gotLosses = losses.read();
            for (int i = 0; i < gotLosses.length; i++) {
                double lossFloor = k.lossFloor(i);
                Tolerance tol = lossFloor > 0 ? Tolerance.ulps(r.lossUlps(), lossFloor) : lossTol;
                if (!tol.test(want.losses()[i], gotLosses[i]) && bad.size() < 8) {
                    bad.add("loss[" + i + "]: expected " + want.losses()[i] + ", got " + gotLosses[i]
                            + (lossFloor > 0 ? " (" + tol + ")" : ""));
                }
                if (issueBudgets() && red == Reduction.NONE && !ISSUE_ELEMENT.test(want.losses()[i], gotLosses[i])
                        && bad.size() < 8) {
                    bad.add("loss[" + i + "] outside the issue's budget (" + ISSUE_ELEMENT + "): expected "
                            + want.losses()[i] + ", got " + gotLosses[i]);
                }
                if (stats != null && red == Reduction.NONE) {
                    int at = i;
                    stats.loss().add(want.losses()[i], gotLosses[i], lossFloor, () -> k + " loss[" + at + "]");
                }
            }

            double floor = Double.isFinite(sigma) ? Math.abs(sigma) * k.gradScale() : 0;
            Tolerance gradTol = Tolerance.ulps(r.gradUlps(), floor);
            double[] wantGrad = want.grad(red);
            double[] gotGrad = grad.read();
            for (int i = 0; i < gotGrad.length; i++) {
                if (!gradTol.test(wantGrad[i], gotGrad[i]) && bad.size() < 8) {
                    bad.add("grad[" + i + "]: expected " + wantGrad[i] + ", got " + gotGrad[i]);
                }
                if (issueBudgets() && !ISSUE_ELEMENT.test(wantGrad[i], gotGrad[i]) && bad.size() < 8) {
                    bad.add("grad[" + i + "] outside the issue's budget (" + ISSUE_ELEMENT + "): expected "
                            + wantGrad[i] + ", got " + gotGrad[i]);
                }
                if (stats != null) {
                    int at = i;
                    stats.grad().add(wantGrad[i], gotGrad[i], floor, () -> k + " " + red + " grad[" + at + "]");
                }
            }
            if (!bad.isEmpty()) {
                fail(where + " (losses: " + lossTol + "; reduced: " + redTol + "; grad: " + gradTol + "):\n  "
                        + String.join("\n  ", bad));
            }
        }
    }

    /**
     * Calls the loss on {@code k} with outputs of the given shapes (null: no such output) and
     * expects an {@link IllegalArgumentException} whose message contains {@code words}, with
     * every element of both outputs and their guards untouched.
     */
    void checkRefused(K k, EntryPoint ep, Reduction red, long[] lossesShape, long[] gradShape, String words) {
        try (Arena arena = Arena.ofConfined()) {
            Output losses = lossesShape == null ? null : ep.output(arena, lossesShape);
            Output grad = gradShape == null ? null : ep.output(arena, gradShape);
            String where = k + ", " + ep + ", reduction " + red.pytorchName();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> invoke(k,
                    new Call(ep, arena, red), losses == null ? null : losses.tensor(), grad == null ? null : grad.tensor()),
                    where + ": not refused");
            assertTrue(e.getMessage().contains(words), where + ": the message should say '" + words + "': " + e.getMessage());
            if (losses != null) {
                losses.assertUntouched("losses of a refused call, " + where);
            }
            if (grad != null) {
                grad.assertUntouched("grad of a refused call, " + where);
            }
        }
    }

    /** A call with the given outputs. */
    @FunctionalInterface
    interface Invocation {
        double call(Tensor losses, Tensor grad);
    }

    /**
     * Expects {@code c} to throw an {@link IllegalArgumentException} whose message contains every
     * one of {@code words}, with both outputs (of shape {@code shape}) and their guards untouched.
     */
    static void assertRefusedWritingNothing(String what, long[] shape, Invocation c, String... words) {
        try (Arena arena = Arena.ofConfined()) {
            Output losses = EntryPoint.NATIVE_SLICE.output(arena, shape), grad = EntryPoint.NATIVE_SLICE.output(arena, shape);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> c.call(losses.tensor(), grad.tensor()), what + ": not refused");
            for (String word : words) {
                assertTrue(e.getMessage().contains(word), what + ": the message should say '" + word + "': " + e.getMessage());
            }
            losses.assertUntouched("losses of a refused call, " + what);
            grad.assertUntouched("grad of a refused call, " + what);
        }
    }

    // ------------------------------------------------------------------ the tests

    /** Every regime, option set, entry point and reduction on the family's entry shapes. */
    @TestFactory
    Stream<DynamicTest> entryPointsAndReductions() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Regime r : regimes()) {
            for (long[] shape : entryShapes()) {
                for (O cfg : configs()) {
                    tests.add(DynamicTest.dynamicTest(r + ", " + cfg + ", " + describe(shape), () -> {
                        K k = makeCase(r, cfg, shape, 42 + shape.length);
                        DfpOracle.Result want = oracle(k);
                        for (EntryPoint ep : EntryPoint.values()) {
                            for (Reduction red : reductions()) {
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
     * Sizes that are not multiples of any vector length ({@link #ODD_SIZES}) along each of the
     * family's vectorised axes, with the first and the last option set; sizes above 500 in the
     * first regime only (the Dfp oracle is slow). Each reduction goes through a different entry
     * point. A shape the loss refuses must be refused, with nothing written.
     */
    @TestFactory
    Stream<DynamicTest> oddSizes() {
        List<DynamicTest> tests = new ArrayList<>();
        List<O> cfgs = List.of(configs().get(0), configs().get(configs().size() - 1));
        for (int size : ODD_SIZES) {
            for (Regime r : size > 500 ? regimes().subList(0, 1) : regimes()) {
                for (long[] shape : oddShapes(size)) {
                    tests.add(DynamicTest.dynamicTest(r + ", " + describe(shape), () -> {
                        for (O cfg : cfgs) {
                            K k = makeCase(r, cfg, shape, 1000 + size);
                            if (refused(k)) {
                                checkRefused(k, EntryPoint.JAVA_ARRAY, Reduction.SUM, k.lossesShape(), k.inputShape(), "");
                                continue;
                            }
                            DfpOracle.Result want = oracle(k);
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

    /** NaN and infinite inputs where the family puts them ({@link #withNonFiniteInputs}), every option set and reduction. */
    @TestFactory
    Stream<DynamicTest> nonFiniteInputs() {
        List<DynamicTest> tests = new ArrayList<>();
        for (long[] shape : nonFiniteShapes()) {
            for (O cfg : configs()) {
                tests.add(DynamicTest.dynamicTest(cfg + ", " + describe(shape), () -> {
                    Regime r = regimes().get(0);
                    K k = withNonFiniteInputs(makeCase(r, cfg, shape, 7));
                    DfpOracle.Result want = oracle(k);
                    for (EntryPoint ep : List.of(EntryPoint.JAVA_ARRAY, EntryPoint.NATIVE_SLICE)) {
                        for (Reduction red : reductions()) {
                            check(k, r, ep, red, want, null);
                        }
                    }
                }));
            }
        }
        return tests.stream();
    }

    /**
     * The accuracy sweep of each regime (STYLE 6): every option set on the family's sweep
     * shapes, losses (reduction none), reduced values and gradients (none and mean) against the
     * oracle; the maximum and RMS errors in float32 ulps must stay within the regime's budgets.
     * The numbers are printed (surefire's *-output.txt) for the README's accuracy table.
     */
    @TestFactory
    Stream<DynamicTest> accuracyBudgets() {
        return regimes().stream().map(r -> DynamicTest.dynamicTest(r.name(), () -> {
            Stats stats = Stats.of(r.name());
            // a failing check is rethrown after the sweep, so that the report covers every case
            AssertionError failure = null;
            for (long[] shape : accuracyShapes()) {
                for (O cfg : configs()) {
                    K k = makeCase(r, cfg, shape, 31 * Layout.classes(shape) + Layout.spatial(shape));
                    DfpOracle.Result want = oracle(k);
                    for (Reduction red : List.of(Reduction.NONE, Reduction.MEAN)) {
                        try {
                            check(k, r, EntryPoint.JAVA_ARRAY, red, want, stats);
                        } catch (AssertionError e) {
                            failure = failure == null ? e : failure;
                        }
                    }
                }
            }
            String report = String.format(Locale.ROOT, "[accuracy] %s, kernels %s%n  %s%n  %s%n  %s",
                    getClass().getSimpleName(), KernelProvider.get().name(), stats.loss().describe(),
                    stats.reduced().describe(), stats.grad().describe());
            System.out.println(report);
            if (failure != null) {
                throw failure;
            }
            assertTrue(stats.loss().max() <= r.lossBudget().maxUlps() && stats.loss().rms() <= r.lossBudget().rmsUlps(),
                    "loss budget " + r.lossBudget() + " exceeded: " + report);
            assertTrue(stats.reduced().max() <= Math.min(r.lossBudget().maxUlps(), r.reducedUlps()),
                    "reduced budget " + Math.min(r.lossBudget().maxUlps(), r.reducedUlps()) + " ulps exceeded: " + report);
            assertTrue(stats.grad().max() <= r.gradBudget().maxUlps() && stats.grad().rms() <= r.gradBudget().rmsUlps(),
                    "gradient budget " + r.gradBudget() + " exceeded: " + report);
        }));
    }

    /**
     * The selected kernels against the scalar ones ({@link Kernels#callWith}) through the public
     * API, on the odd-size shapes, every regime (the first two above 500), the first and last
     * option sets and every reduction, each through another entry point. The two add a loss's
     * terms in different orders and in different precisions: the tolerance grows with the terms
     * per loss T, and the reduced value's with the number of losses M.
     */
    @TestFactory
    Stream<DynamicTest> selectedKernelsMatchScalarThroughTheApi() {
        List<DynamicTest> tests = new ArrayList<>();
        List<O> cfgs = List.of(configs().get(0), configs().get(configs().size() - 1));
        for (int size : ODD_SIZES) {
            for (long[] shape : oddShapes(size)) {
                for (O cfg : cfgs) {
                    tests.add(DynamicTest.dynamicTest(describe(shape) + ", " + cfg, () -> {
                        for (Regime r : size > 500 ? regimes().subList(0, 2) : regimes()) {
                            K k = makeCase(r, cfg, shape, 77 + size);
                            if (refused(k)) {
                                continue;
                            }
                            apiParity(k, r, EntryPoint.NATIVE_SLICE, Reduction.NONE);
                            apiParity(k, r, EntryPoint.HEAP_BYTES_UNALIGNED, Reduction.MEAN);
                            apiParity(k, r, EntryPoint.JAVA_ARRAY, Reduction.SUM);
                        }
                    }));
                }
            }
        }
        return tests.stream();
    }

    /**
     * How far apart two kernels' losses and gradients may be, in ulps, in regime {@code r}: 4 by
     * default; a loss whose SIMD kernel is allowed more than that against the truth (its
     * regime's budget) allows as much here.
     */
    protected double parityUlps(Regime r) {
        return 4;
    }

    private void apiParity(K k, Regime r, EntryPoint ep, Reduction red) {
        try (Arena arena = Arena.ofConfined()) {
            Output l1 = ep.output(arena, k.lossesShape()), l2 = ep.output(arena, k.lossesShape());
            Output g1 = ep.output(arena, k.inputShape()), g2 = ep.output(arena, k.inputShape());
            Call call = new Call(ep, arena, red);
            double want = Kernels.callWith(Kernels.Implementation.SCALAR, () -> invoke(k, call, l1.tensor(), g1.tensor()));
            double got = invoke(k, call, l2.tensor(), g2.tensor());
            String where = k + ", " + ep + ", reduction " + red.pytorchName() + ", " + KernelProvider.get().name() + " vs scalar";
            for (Output o : List.of(l1, l2, g1, g2)) {
                o.assertGuards(where);
            }
            double den = k.meanDenominator();
            double sigma = red == Reduction.MEAN && den > 0 ? 1 / den : 1;
            double terms = k.termsPerLoss() + 4;
            long m = numel(k.lossesShape());
            double elemErr = terms * Tolerance.F32_EPS * k.gradScale();
            double ulps = parityUlps(r);
            Tolerance lossTol = Tolerance.ulps(ulps).or(Tolerance.absolute(elemErr));
            Tolerance sumTol = Tolerance.relative(terms * Tolerance.F32_EPS).or(Tolerance.absolute(sigma * m * elemErr));
            Tolerance gradTol = Tolerance.ulps(ulps, sigma * k.gradScale()).or(Tolerance.relative(terms * Tolerance.F32_EPS))
                    .or(Tolerance.absolute(sigma * elemErr));
            assertTrue(sumTol.test(want, got), where + ": reduced " + got + ", scalar " + want + " (" + sumTol + ")");
            double[] a = l1.read(), b = l2.read();
            for (int i = 0; i < a.length; i++) {
                if (!lossTol.test(a[i], b[i])) {
                    fail(where + ": loss[" + i + "] " + b[i] + ", scalar " + a[i] + " (" + lossTol + ")");
                }
            }
            double[] ga = g1.read(), gb = g2.read();
            for (int i = 0; i < ga.length; i++) {
                if (!gradTol.test(ga[i], gb[i])) {
                    fail(where + ": grad[" + i + "] " + gb[i] + ", scalar " + ga[i] + " (" + gradTol + ")");
                }
            }
        }
    }

    /**
     * The same bits for 1, 2 and 7 threads, on inputs cut into many chunks, with every option
     * (the last option set), through a Java array and a native segment of a shared arena (a
     * confined one would keep the call on one thread).
     */
    @TestFactory
    Stream<DynamicTest> deterministicForAnyThreadCount() {
        return reductions().stream().map(red -> DynamicTest.dynamicTest(red.toString(), () -> {
            List<long[]> shapes = largeShapes();
            for (int i = 0; i < shapes.size(); i++) {
                long[] shape = shapes.get(i);
                EntryPoint ep = i % 2 == 0 ? EntryPoint.JAVA_ARRAY : EntryPoint.NATIVE_SLICE;
                K k = makeCase(regimes().get(0), configs().get(configs().size() - 1), shape, 3);
                double[] l0 = null, g0 = null;
                double r0 = 0;
                try (Arena arena = Arena.ofShared()) {
                    for (int threads : new int[] {1, 2, 7}) {
                        Output l = ep.output(arena, k.lossesShape()), g = ep.output(arena, k.inputShape());
                        double r = invoke(k, new Call(ep, arena, red, threads), l.tensor(), g.tensor());
                        String where = red + " " + describe(shape) + ", " + ep + " with " + threads + " threads";
                        l.assertGuards(where);
                        g.assertGuards(where);
                        if (l0 == null) {
                            l0 = l.read();
                            g0 = g.read();
                            r0 = r;
                        } else {
                            assertEquals(Double.doubleToRawLongBits(r0), Double.doubleToRawLongBits(r), where + ": " + r + " vs " + r0);
                            assertTrue(Arrays.equals(l0, l.read()), where + ": losses differ");
                            assertTrue(Arrays.equals(g0, g.read()), where + ": gradients differ");
                        }
                    }
                }
            }
        }));
    }

    /**
     * Refused calls write nothing: outputs of a wrong shape, and the family's refused problems,
     * through every entry point; the outputs and their guards keep the sentinel everywhere.
     */
    @TestFactory
    Stream<DynamicTest> refusedCallsWriteNothing() {
        List<DynamicTest> tests = new ArrayList<>();
        for (EntryPoint ep : EntryPoint.values()) {
            tests.add(DynamicTest.dynamicTest("losses of a wrong shape, " + ep, () -> {
                K k = makeCase(regimes().get(0), configs().get(configs().size() - 1), entryShapes().get(0), 5);
                checkRefused(k, ep, Reduction.NONE, wrongShape(k.lossesShape()), k.inputShape(), "losses");
            }));
            tests.add(DynamicTest.dynamicTest("grad of a wrong shape, " + ep, () -> {
                K k = makeCase(regimes().get(0), configs().get(configs().size() - 1), entryShapes().get(0), 5);
                checkRefused(k, ep, Reduction.MEAN, k.lossesShape(), wrongShape(k.inputShape()), "grad");
            }));
            if (!reductions().contains(Reduction.BATCHMEAN)) {
                tests.add(DynamicTest.dynamicTest("batchmean (kl_div's only), " + ep, () -> {
                    K k = makeCase(regimes().get(0), configs().get(configs().size() - 1), entryShapes().get(0), 5);
                    checkRefused(k, ep, Reduction.BATCHMEAN, k.lossesShape(), k.inputShape(), "batchmean");
                }));
            }
            for (Refusal<K> bad : refusals()) {
                tests.add(DynamicTest.dynamicTest(bad.name() + ", " + ep, () -> {
                    for (Reduction red : reductions()) {
                        checkRefused(bad.problem(), ep, red, bad.problem().lossesShape(), bad.problem().inputShape(), bad.words());
                    }
                }));
            }
        }
        return tests.stream();
    }

    /** {@code shape} with one more element along its last axis. */
    static long[] wrongShape(long[] shape) {
        if (shape.length == 0) {
            return new long[] {2};
        }
        long[] r = shape.clone();
        r[r.length - 1]++;
        return r;
    }

    /** The guards see a write just before and just after an output, and the untouched check one inside it. */
    @Test
    void guardsSeeStrayWrites() {
        for (EntryPoint ep : EntryPoint.values()) {
            try (Arena arena = Arena.ofConfined()) {
                for (long at : new long[] {GUARD - 1, GUARD + 5}) {
                    Output o = ep.output(arena, 5);
                    o.assertGuards("fresh");
                    o.assertUntouched("fresh");
                    o.whole().setAtIndex(F32, at, 0f);
                    assertThrows(AssertionError.class, () -> o.assertGuards("stray"), ep + ": a write at " + (at - GUARD) + " unseen");
                }
                Output o = ep.output(arena, 5);
                o.tensor().segment().setAtIndex(F32, 4, 1f);
                o.assertGuards("inside");
                assertThrows(AssertionError.class, () -> o.assertUntouched("inside"), ep + ": a write inside unseen");
            }
        }
    }

    /** Reduction none without a losses tensor is refused (nothing to return the losses in). */
    @Test
    void noneWithoutLossesIsRefused() {
        K k = makeCase(regimes().get(0), configs().get(0), entryShapes().get(0), 3);
        checkRefused(k, EntryPoint.JAVA_ARRAY, Reduction.NONE, null, null, "losses");
    }
}
