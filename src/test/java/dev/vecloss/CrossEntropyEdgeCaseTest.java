package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.oracle.DfpOracle;
import dev.vecloss.oracle.Tolerance;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Edge cases of the cross-entropy kernels, each once a defect of the SIMD kernels (issues 6 and
 * 7), through the public API against exact values (the Dfp oracle, or values derived by hand). The
 * shapes are chosen so that every kernel path is taken at 4, 8 and 16 float lanes: narrow
 * {@code (N, C)} rows (transposed across rows), wide rows of 130 classes or more (along the
 * classes, at least 8 vectors at 16 lanes), spatial {@code (N, C, S)} inputs, and probability
 * targets of 16 classes or more; sizes that are not multiples of any lane count, so that blocks and
 * tails both occur.
 */
class CrossEntropyEdgeCaseTest {

    private static final double NEG_INF = Double.NEGATIVE_INFINITY;
    /** The smallest positive float32, a subnormal: 2^-149. */
    private static final double F32_TINY = Float.MIN_VALUE;
    private static final Reduction[] REDUCTIONS = {Reduction.NONE, Reduction.MEAN, Reduction.SUM};

    // ------------------------------------------------------------------ helpers

    /** A problem in double (float32 values, widened): shape (n, c, s), labels or probabilities. */
    private record Problem(String name, int n, int c, int s, boolean spatial, double[] x, long[] labels, double[] prob,
                           double[] weight, double eps) {
        long[] inputShape() {
            return spatial ? new long[] {n, c, s} : new long[] {n, c};
        }

        long[] positionShape() {
            return spatial ? new long[] {n, s} : new long[] {n};
        }

        int at(int pos, int k) {
            return (pos / s) * c * s + k * s + pos % s;
        }

        DfpOracle.Result truth() {
            DfpOracle.LogSoftmax ls = DfpOracle.logSoftmax(x, n, c, s);
            return prob == null ? DfpOracle.crossEntropyIndex(ls, labels, weight, -100, eps)
                    : DfpOracle.crossEntropyProb(ls, prob, weight, eps);
        }

        double maxWeight() {
            return weight == null ? 1 : Arrays.stream(weight).max().orElse(1);
        }

        @Override
        public String toString() {
            return name + " " + Arrays.toString(inputShape()) + (eps > 0 ? " label_smoothing " + eps : "")
                    + (weight != null ? " weighted" : "");
        }
    }

    /** The library's answer for one reduction: the returned value, losses (NONE only) and gradient. */
    private record Answer(double value, float[] losses, float[] grad) {}

    private static Answer call(Problem p, Reduction red) {
        Tensor target = p.prob() == null ? Tensor.of(p.labels(), p.positionShape()) : Tensor.of(floats(p.prob()), p.inputShape());
        CrossEntropy.Options o = CrossEntropy.Options.defaults().withLabelSmoothing(p.eps()).withReduction(red)
                .withWeight(p.weight() == null ? null : Tensor.of(floats(p.weight())));
        float[] losses = new float[p.n() * p.s()];
        float[] grad = new float[p.x().length];
        double v = CrossEntropy.crossEntropy(Tensor.of(floats(p.x()), p.inputShape()), target, o,
                Tensor.of(losses, p.positionShape()), Tensor.of(grad, p.inputShape()));
        return new Answer(v, losses, grad);
    }

    /**
     * Compares every reduction's value, the losses and the gradient with the oracle; the gradient
     * in ulps of the row's natural scale {@code sigma * max w}, as the base test does.
     */
    private static void check(Problem p, Tolerance lossTol, Tolerance reducedTol, double gradUlps) {
        DfpOracle.Result want = p.truth();
        List<String> bad = new ArrayList<>();
        for (Reduction red : REDUCTIONS) {
            Answer got = call(p, red);
            if (!reducedTol.test(want.reduced(red), got.value())) {
                bad.add(red + ": expected " + want.reduced(red) + ", got " + got.value() + " (" + reducedTol + ")");
            }
            for (int i = 0; i < got.losses().length; i++) {
                if (!lossTol.test(want.losses()[i], got.losses()[i]) && bad.size() < 12) {
                    bad.add(red + " loss[" + i + "]: expected " + want.losses()[i] + ", got " + got.losses()[i]
                            + " (" + lossTol + ")");
                }
            }
            Tolerance gradTol = Tolerance.ulps(gradUlps, Math.abs(want.sigma(red)) * p.maxWeight());
            double[] wg = want.grad(red);
            for (int i = 0; i < wg.length; i++) {
                if (!gradTol.test(wg[i], got.grad()[i]) && bad.size() < 12) {
                    bad.add(red + " grad[" + i + "]: expected " + wg[i] + ", got " + got.grad()[i] + " (" + gradTol + ")");
                }
            }
        }
        assertTrue(bad.isEmpty(), p + ":\n  " + String.join("\n  ", bad));
    }

    private static float[] floats(double[] v) {
        float[] r = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            r[i] = (float) v[i];
        }
        return r;
    }

    /** Logits uniform in [-4, 4] (float32 values) and uniform labels. */
    private static Problem random(String name, int n, int c, int s, boolean spatial, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] x = new double[n * c * s];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (-4 + 8 * rnd.nextDouble());
        }
        long[] t = new long[n * s];
        for (int i = 0; i < t.length; i++) {
            t[i] = rnd.nextInt(c);
        }
        return new Problem(name, n, c, s, spatial, x, t, null, null, 0);
    }

    /** Positive weights on a binary grid, not all equal. */
    private static double[] weights(int c) {
        double[] w = new double[c];
        for (int k = 0; k < c; k++) {
            w[k] = 0.25 + ((7 * k) % 13) / 8.0;
        }
        return w;
    }

    private static Problem with(Problem p, String name, double[] weight, double eps) {
        return new Problem(name, p.n(), p.c(), p.s(), p.spatial(), p.x(), p.labels(), p.prob(), weight, eps);
    }

    /** The target's logit leads every other one of its position by {@code lead}. */
    private static void lead(Problem p, double lead) {
        for (int pos = 0; pos < p.n() * p.s(); pos++) {
            int y = (int) p.labels()[pos];
            double m = NEG_INF;
            for (int k = 0; k < p.c(); k++) {
                if (k != y) {
                    m = Math.max(m, p.x()[p.at(pos, k)]);
                }
            }
            p.x()[p.at(pos, y)] = (float) (m + lead);
        }
    }

    /** One-hot probability targets at the labels. */
    private static Problem oneHot(Problem p) {
        double[] q = new double[p.x().length];
        for (int pos = 0; pos < p.n() * p.s(); pos++) {
            q[p.at(pos, (int) p.labels()[pos])] = 1;
        }
        return new Problem(p.name() + ", one-hot probabilities", p.n(), p.c(), p.s(), p.spatial(), p.x(), p.labels(), q,
                p.weight(), p.eps());
    }

    // ------------------------------------------------------------------ -inf logits with label smoothing

    /**
     * A -inf logit at the target, with label smoothing, gives +inf as in PyTorch (float32 and
     * float64), with a finite gradient; -inf at class 0 of wide rows gives +inf too, and a -inf
     * logit whose weight is 0 gives 0 * inf = NaN, as PyTorch's sum. Once NaN in narrow rows
     * ({@code nll - gap} computed inf - inf) and in wide rows and probability targets (the shift
     * by {@code x0 = -inf} computed -inf - -inf).
     */
    @Test
    void negativeInfinityWithLabelSmoothing() {
        List<Problem> problems = new ArrayList<>();
        for (int[] shape : new int[][] {{16, 3, 1}, {19, 3, 1}, {37, 13, 1}, {2, 3, 19}}) {
            boolean spatial = shape[2] > 1;
            Problem p = random("narrow: -inf at the target", shape[0], shape[1], shape[2], spatial, 3 + shape[0]);
            for (int pos = 0; pos < p.n() * p.s(); pos += 3) {
                p.x()[p.at(pos, (int) p.labels()[pos])] = NEG_INF;
            }
            problems.add(with(p, p.name(), null, 0.1));
            problems.add(with(p, p.name(), weights(p.c()), 0.1));
        }
        for (int c : new int[] {130, 300}) {
            Problem p = random("wide: -inf at class 0", 5, c, 1, false, c);
            for (int row = 0; row < 5; row++) {
                p.x()[row * c] = NEG_INF;
            }
            p.labels()[0] = 0; // and at the target in one row
            problems.add(with(p, p.name(), null, 0.1));
            problems.add(with(p, p.name(), weights(c), 0.1));
            double[] w = weights(c);
            w[0] = 0; // 0 * inf in the smoothing sum: NaN, as in PyTorch
            problems.add(with(p, p.name() + ", its weight 0", w, 0.1));
        }
        for (int c : new int[] {16, 40, 300}) {
            Problem p = oneHot(random("probabilities: -inf at class 0", 6, c, 1, false, 7 * c));
            for (int row = 0; row < 6; row++) {
                p.x()[row * c] = NEG_INF;
                p.prob()[row * c] = row % 2 == 0 ? 0.25 : 0; // without smoothing: inf where q > 0, NaN (0 * inf) where q = 0
            }
            problems.add(with(p, p.name(), null, 0.1));
            problems.add(with(p, p.name(), weights(c), 0.1));
            problems.add(with(p, p.name(), null, 0));
        }
        for (Problem p : problems) {
            check(p, Tolerance.relative(1e-5), Tolerance.relative(2e-6), 8);
        }
    }

    /** PyTorch 2.13 (float32 and float64) on the first row of the narrow case: loss inf, gradient finite. */
    @Test
    void negativeInfinityAtTheTargetHasPyTorchsGradient() {
        // x = (-inf, 1, 2), y = 0, label_smoothing 0.1, reduction sum: p = softmax(1, 2) on classes 1, 2
        double e1 = Math.exp(1 - 2), s = e1 + 1;
        double[] want = {-0.9 - 0.1 / 3, (e1 / s) * (0.9 + 0.1) - 0.1 / 3, (1 / s) * (0.9 + 0.1) - 0.1 / 3};
        for (int n : new int[] {1, 16, 17}) { // the row alone, in a full block, in a block and a tail
            float[] x = new float[3 * n];
            long[] y = new long[n];
            for (int r = 0; r < n; r++) {
                x[3 * r] = Float.NEGATIVE_INFINITY;
                x[3 * r + 1] = 1;
                x[3 * r + 2] = 2;
            }
            float[] g = new float[3 * n];
            float[] l = new float[n];
            double sum = CrossEntropy.crossEntropy(Tensor.of(x, n, 3), Tensor.of(y, n),
                    CrossEntropy.Options.defaults().withLabelSmoothing(0.1).withReduction(Reduction.SUM),
                    Tensor.of(l, n), Tensor.of(g, n, 3));
            assertEquals(Double.POSITIVE_INFINITY, sum, "N = " + n);
            for (int r = 0; r < n; r++) {
                assertEquals(Float.POSITIVE_INFINITY, l[r], "N = " + n + ", loss[" + r + "]");
                for (int k = 0; k < 3; k++) {
                    assertEquals(want[k], g[3 * r + k], 1e-7, "N = " + n + ", grad[" + r + ", " + k + "]");
                }
            }
        }
    }

    // ------------------------------------------------------------------ one-hot probability targets

    /**
     * The example: one-hot probability target at class 3, which leads by 22. The loss is
     * {@code log1p(sum_{k != 3} exp(x_k - x_3))}, 2.1656e-8 (PyTorch float64: 2.1656108671649366e-08
     * for the decimal inputs; index targets give it too), where
     * {@code (log S + m - x0) sum wq - sum wq (x - x0)} once gave -7.15e-7.
     */
    @Test
    void oneHotProbabilityTargetKeepsItsSmallLoss() {
        for (int c : new int[] {16, 40, 300}) {
            float[] x = new float[c];
            x[0] = -1.7f;
            x[3] = 20.3f;
            float[] q = new float[c];
            q[3] = 1;
            double want = Math.log1p(Math.exp((double) -1.7f - 20.3f) + (c - 2) * Math.exp(-(double) 20.3f));
            if (c == 16) {
                assertEquals(2.1656108671649366e-08, want, 1e-13); // float32 -1.7 and 20.3, not the decimals
            }
            float[] l = new float[1];
            double got = CrossEntropy.crossEntropy(Tensor.of(x, 1, c), Tensor.of(q, 1, c),
                    CrossEntropy.Options.defaults().withReduction(Reduction.NONE), Tensor.of(l, 1), null);
            assertTrue(Tolerance.relative(1e-5).test(want, got), "C = " + c + ": " + got + ", want " + want);
            assertTrue(Tolerance.relative(1e-5).test(want, l[0]), "C = " + c + ": loss " + l[0] + ", want " + want);
        }
    }

    /**
     * Random one-hot (and nearly one-hot) rows whose target leads by 10 or 20 meet the index
     * targets' budgets: per element 1e-5 relative, reduced 2e-6 relative (the loss once cancelled:
     * 286x off at a lead of 20, 4e-3 relative at 10).
     */
    @ParameterizedTest
    @ValueSource(doubles = {10, 20})
    void oneHotProbabilityTargetsInTheConfidentRegime(double leadBy) {
        for (int c : new int[] {16, 40, 300}) {
            Problem p = random("lead " + leadBy, 24, c, 1, false, 11 * c + (long) leadBy);
            lead(p, leadBy);
            Problem hot = oneHot(p);
            check(hot, Tolerance.relative(1e-5), Tolerance.relative(2e-6), 8);
            check(with(hot, hot.name(), weights(c), 0), Tolerance.relative(1e-5), Tolerance.relative(2e-6), 8);
            // nearly one-hot: 1e-3 of the mass spread over the other classes
            double[] q = hot.prob().clone();
            for (int i = 0; i < q.length; i++) {
                q[i] = (float) (q[i] == 1 ? 1 - 1e-3 : 1e-3 / (c - 1));
            }
            check(new Problem(p.name() + ", nearly one-hot", p.n(), c, 1, false, p.x(), p.labels(), q, null, 0),
                    Tolerance.relative(1e-5), Tolerance.relative(2e-6), 8);
        }
    }

    // ------------------------------------------------------------------ below float32's normal range

    /**
     * Rows whose target leads by 100 have losses of about (C - 1) e^-100, below float32's normal
     * range (1.2e-38): every row gets its subnormal loss, wherever it sits (once 0 in SIMD blocks
     * and exact in the scalar tail, so that N = 37 gave a mean of 5/37 of the truth). Each
     * exponential is a subnormal rounded to a multiple of 2^-149: the loss is within C - 1 such
     * units. The truth is {@code log1p(u) = u} for {@code u = sum_{k != y} exp(x_k - x_y)}, in
     * double (the 40-digit oracle cannot resolve 1 + 1e-43).
     */
    @Test
    void lossesBelowTheNormalRangeAreKeptEverywhere() {
        List<Problem> problems = new ArrayList<>();
        problems.add(random("narrow rows", 37, 3, 1, false, 1));
        problems.add(random("narrow rows", 37, 13, 1, false, 2));
        problems.add(random("spatial", 2, 3, 37, true, 3));
        problems.add(random("wide rows", 4, 130, 1, false, 4));
        for (Problem p : problems) {
            lead(p, 100);
            int m = p.n() * p.s();
            double[] want = new double[m];
            double sum = 0;
            for (int pos = 0; pos < m; pos++) {
                int y = (int) p.labels()[pos];
                for (int k = 0; k < p.c(); k++) {
                    want[pos] += k == y ? 0 : Math.exp(p.x()[p.at(pos, k)] - p.x()[p.at(pos, y)]);
                }
                assertTrue(want[pos] > 0 && want[pos] < Float.MIN_NORMAL, "the case is subnormal");
                sum += want[pos];
            }
            Tolerance lossTol = Tolerance.absolute((p.c() - 1) * F32_TINY);
            for (Reduction red : REDUCTIONS) {
                Answer got = call(p, red);
                double wantReduced = red == Reduction.MEAN ? sum / m : sum;
                assertTrue(Tolerance.relative(0.05).test(wantReduced, got.value()),
                        p + " " + red + ": " + got.value() + ", want " + wantReduced);
                for (int i = 0; i < m; i++) {
                    assertTrue(lossTol.test(want[i], got.losses()[i]),
                            p + " loss[" + i + "]: " + got.losses()[i] + ", want " + want[i] + " (" + lossTol + ")");
                }
            }
        }
    }

    // ------------------------------------------------------------------ narrow rows done row by row

    /**
     * Narrow rows of C = 100 and 37 without smoothing (done row by row, not transposed, at 4 and
     * 8 lanes; 100 at 16 too), N = 19 (two full blocks and a short one), with the rows that
     * break a row-by-row sum: a -inf logit (class 0, the last partial vector), the target at
     * -inf (loss +inf), a +inf logit (NaN), a NaN at the target and in the last partial vector,
     * the target 110 below the maximum (the far path), the others 120 below the target (0 terms),
     * every other class -inf (loss exactly 0), ignored rows (gradient 0, NaN where the row has a
     * NaN), the target in the last partial vector. Against the loss and gradient in double
     * (log-sum-exp at the row's maximum).
     */
    @Test
    void narrowRowsDoneRowByRow() {
        for (int c : new int[] {100, 37}) {
            int n = 19;
            Problem p = random("row by row", n, c, 1, false, 77L * c);
            double[] x = p.x();
            long[] t = p.labels();
            t[0] = 5;
            x[0] = NEG_INF; // class 0
            x[c - 1] = NEG_INF; // the last partial vector
            t[1] = 7;
            x[c + 7] = NEG_INF; // the target: +inf
            x[2 * c + 11] = Double.POSITIVE_INFINITY; // NaN
            t[3] = 2;
            x[3 * c + 2] = Double.NaN; // at the target: NaN
            x[4 * c + c - 2] = Double.NaN; // in the last partial vector: NaN
            t[5] = 3;
            x[5 * c + 3] = (float) (x[5 * c + 4] - 110); // 110 below a class: the far path
            t[6] = c - 1; // the target in the last partial vector, 120 above every other class
            for (int k = 0; k < c - 1; k++) {
                x[6 * c + k] = (float) (x[6 * c + c - 1] - 120);
            }
            t[7] = 4;
            for (int k = 0; k < c; k++) {
                x[7 * c + k] = k == 4 ? 1.5 : NEG_INF; // loss 0, gradient 0
            }
            t[8] = -100; // ignored, with a NaN: gradient NaN
            x[8 * c + 9] = Double.NaN;
            t[9] = -100; // ignored: gradient 0
            t[17] = c - 2; // a short block, the target in the last partial vector, leading by 30
            for (int k = 0; k < c; k++) {
                x[17 * c + k] = k == c - 2 ? 31 : 1;
            }
            Answer a = call(p, Reduction.NONE);
            for (int row = 0; row < n; row++) {
                String where = "C = " + c + ", row " + row;
                double m = NEG_INF;
                boolean nan = false;
                for (int k = 0; k < c; k++) {
                    m = Math.max(m, x[row * c + k]);
                    nan |= Double.isNaN(x[row * c + k]);
                }
                nan |= Double.isInfinite(m);
                float[] g = Arrays.copyOfRange(a.grad(), row * c, row * c + c);
                if (t[row] < 0) {
                    assertEquals(0f, a.losses()[row], where);
                    for (int k = 0; k < c; k++) {
                        assertEquals(nan ? Float.NaN : 0f, g[k], where + ", class " + k);
                    }
                    continue;
                }
                if (nan) {
                    assertTrue(Float.isNaN(a.losses()[row]), where + ": loss " + a.losses()[row]);
                    for (int k = 0; k < c; k++) {
                        assertTrue(Float.isNaN(g[k]), where + ", class " + k + ": " + g[k]);
                    }
                    continue;
                }
                int y = (int) t[row];
                double sum = 0, rest = 0;
                for (int k = 0; k < c; k++) {
                    double e = Math.exp(x[row * c + k] - m);
                    sum += e;
                    rest += k == y ? 0 : e;
                }
                double ey = Math.exp(x[row * c + y] - m);
                // log1p(S'/e_y) where e_y is not tiny, else log(S) + gap
                double loss = x[row * c + y] == NEG_INF ? Double.POSITIVE_INFINITY
                        : ey > 1e-30 ? Math.log1p(rest / ey) : Math.log(sum) + (m - x[row * c + y]);
                assertTrue(Tolerance.relative(2e-6).or(Tolerance.absolute(c * F32_TINY)).test(loss, a.losses()[row]),
                        where + ": loss " + a.losses()[row] + ", want " + loss);
                for (int k = 0; k < c; k++) {
                    double want = Math.exp(x[row * c + k] - m) / sum - (k == y ? 1 : 0);
                    assertTrue(Tolerance.ulps(4, 1).test(want, g[k]), where + ", class " + k + ": gradient " + g[k] + ", want " + want);
                }
            }
            assertEquals(0f, a.losses()[7], "C = " + c + ": a row whose other classes are -inf");
        }
    }

    // ------------------------------------------------------------------ position independence

    /**
     * A row's loss and gradient have the same bits wherever it sits: the rows (or, for spatial
     * inputs, the positions of each image) are rotated, and each row's results must follow it
     * unchanged. Once the rows of a SIMD block and those of the scalar tail differed in their last
     * bits (float32 SIMD against the double scalar kernel).
     */
    /**
     * A NaN logit makes its row's loss and every entry of its row's gradient NaN (PyTorch: the
     * row's softmax is NaN), and leaves the other rows alone: the NaN anywhere in a row (the wide
     * rows' four-vector part, their last whole vectors, the last {@code C mod V}, the target
     * itself), with index targets, label smoothing and probability targets; narrow, wide and
     * spatial rows. The wide rows' maximum skips a NaN in its whole vectors, so this is what
     * makes sure the row still comes out NaN.
     */
    @Test
    void aNaNLogitMakesItsRowNaNAndOnlyIt() {
        for (int[] shape : new int[][] {{6, 1000, 1}, {6, 1003, 1}, {6, 133, 1}, {6, 100, 1}, {6, 37, 1}, {6, 10, 1}, {2, 21, 9}}) {
            int n = shape[0], c = shape[1], s = shape[2];
            boolean spatial = s > 1;
            for (int variant = 0; variant < 3; variant++) {
                Problem p = random("nan", n, c, s, spatial, 31L * c + variant);
                if (variant == 1) {
                    p = with(p, "nan smoothing", weights(c), 0.1);
                } else if (variant == 2) {
                    double[] q = new double[p.x().length];
                    for (int pos = 0; pos < n * s; pos++) {
                        q[p.at(pos, (int) p.labels()[pos])] = 0.75;
                        q[p.at(pos, (pos + 1) % c)] += 0.25;
                    }
                    p = new Problem("nan prob", n, c, s, spatial, p.x(), p.labels(), q, null, 0);
                }
                int[] nanAt = {3, c / 2, c - 1, (int) p.labels()[4], c - c % 8 - 1};
                for (int r = 0; r < nanAt.length; r++) {
                    int pos = r * s; // rows 0..4 (first position of images 0.. for spatial), row 5 clean
                    if (pos >= n * s) {
                        break;
                    }
                    p.x()[p.at(pos, Math.max(0, nanAt[r]))] = Double.NaN;
                }
                Answer a = call(p, Reduction.NONE);
                for (int pos = 0; pos < n * s; pos++) {
                    boolean nan = false;
                    for (int k = 0; k < c; k++) {
                        nan |= Double.isNaN(p.x()[p.at(pos, k)]);
                    }
                    String where = p.name() + " " + Arrays.toString(shape) + " position " + pos;
                    assertEquals(nan, Float.isNaN(a.losses()[pos]), where + ": loss " + a.losses()[pos]);
                    for (int k = 0; k < c; k++) {
                        float g = a.grad()[p.at(pos, k)];
                        assertEquals(nan, Float.isNaN(g), where + ", class " + k + ": gradient " + g);
                    }
                }
                assertTrue(Double.isNaN(call(p, Reduction.MEAN).value()), p.name() + " mean");
            }
        }
    }

    @Test
    void rowResultsDoNotDependOnTheirPosition() {
        // without smoothing too: narrow rows of C >= 4 lanes are then done row by row
        for (int[] shape : new int[][] {{37, 3, 1}, {37, 13, 1}, {23, 40, 1}, {23, 100, 0}, {21, 37, 0}, {2, 13, 37}, {3, 3, 21}}) {
            int n = shape[0], c = shape[1], s = Math.max(1, shape[2]);
            boolean spatial = s > 1;
            Problem base = with(random("rotation", n, c, s, spatial, 5 * c + s), "rotation", weights(c), shape[2] == 0 ? 0 : 0.1);
            int m = n * s;
            Answer a = call(base, Reduction.MEAN);
            for (int shift : new int[] {1, 3, 5, 8, 13}) {
                // position pos of the rotated problem holds position from(pos) of the base one
                java.util.function.IntUnaryOperator from = spatial
                        ? pos -> (pos / s) * s + (pos % s + shift) % s
                        : pos -> (pos + shift) % n;
                double[] x = new double[base.x().length];
                long[] t = new long[m];
                for (int pos = 0; pos < m; pos++) {
                    int src = from.applyAsInt(pos);
                    t[pos] = base.labels()[src];
                    for (int k = 0; k < c; k++) {
                        x[base.at(pos, k)] = base.x()[base.at(src, k)];
                    }
                }
                Answer b = call(new Problem("rotated", n, c, s, spatial, x, t, null, base.weight(), base.eps()), Reduction.MEAN);
                for (int pos = 0; pos < m; pos++) {
                    int src = from.applyAsInt(pos);
                    String where = Arrays.toString(shape) + " rotated by " + shift + ": position " + pos + " (was " + src + ")";
                    assertEquals(Float.floatToRawIntBits(a.losses()[src]), Float.floatToRawIntBits(b.losses()[pos]),
                            where + ": loss " + b.losses()[pos] + " vs " + a.losses()[src]);
                    for (int k = 0; k < c; k++) {
                        float ga = a.grad()[base.at(src, k)], gb = b.grad()[base.at(pos, k)];
                        assertEquals(Float.floatToRawIntBits(ga), Float.floatToRawIntBits(gb),
                                where + ", class " + k + ": gradient " + gb + " vs " + ga);
                    }
                }
            }
        }
    }

    /**
     * Permuting the classes (with the labels and weights) permutes the gradient, within a few ulps
     * of 2^-10 where the smoothing term {@code p_k sum(w) - w_k} cancels: the sum of
     * exponentials must not depend on the order of the classes. Once it did in SIMD blocks (a
     * plain float sum, which CrossEntropyTest.permutationInvariance caught at 8 lanes, where its
     * 9 positions per image first reached a SIMD block); here with 40 positions per image, a block
     * at any lane count.
     */
    @Test
    void gradientDoesNotDependOnTheOrderOfClasses() {
        for (int[] shape : new int[][] {{3, 13, 40}, {37, 13, 1}, {2, 29, 40}}) {
            int n = shape[0], c = shape[1], s = shape[2];
            boolean spatial = s > 1;
            Problem base = with(random("classes permuted", n, c, s, spatial, 9 * c + s), "classes permuted", weights(c), 0.1);
            int[] perm = new int[c];
            for (int k = 0; k < c; k++) {
                perm[k] = (k * 5 + 3) % c;
            }
            double[] x = new double[base.x().length];
            long[] t = new long[n * s];
            double[] w = new double[c];
            for (int pos = 0; pos < n * s; pos++) {
                t[pos] = perm[(int) base.labels()[pos]];
                for (int k = 0; k < c; k++) {
                    x[base.at(pos, perm[k])] = base.x()[base.at(pos, k)];
                }
            }
            for (int k = 0; k < c; k++) {
                w[perm[k]] = base.weight()[k];
            }
            Problem permuted = new Problem("permuted", n, c, s, spatial, x, t, null, w, base.eps());
            for (Reduction red : REDUCTIONS) {
                Answer a = call(base, red);
                Answer b = call(permuted, red);
                Tolerance tol = Tolerance.ulps(4, 0x1p-10).or(Tolerance.summation(2L * c));
                for (int pos = 0; pos < n * s; pos++) {
                    for (int k = 0; k < c; k++) {
                        float ga = a.grad()[base.at(pos, k)], gb = b.grad()[base.at(pos, perm[k])];
                        assertTrue(tol.test(ga, gb), Arrays.toString(shape) + " " + red + ": gradient at position " + pos
                                + ", class " + k + ": " + ga + ", permuted " + gb + " (" + tol + ")");
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------ allocation

    /**
     * A reduced call on one thread allocates nothing, also when the class count alternates: the
     * kernels' per-thread buffers only grow. Once they were reallocated whenever C changed (3.7 KB
     * per call alternating C = 10 and 20, 8.6 KB for spatial inputs). Measured on the calling
     * thread after warm-up (compiled code: interpreted vector code allocates); the best of a few
     * rounds counts, so that a recompilation in the middle of one does not fail the test.
     */
    @Test
    @org.junit.jupiter.api.Tag("allocation") // left out of verify, see AllocationTest: the JIT's history decides it
    void alternatingShapesAllocateNothing() {
        com.sun.management.ThreadMXBean bean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        if (!bean.isThreadAllocatedMemorySupported() || !bean.isThreadAllocatedMemoryEnabled()) {
            return;
        }
        SplittableRandom rnd = new SplittableRandom(17);
        Tensor[] inputs = new Tensor[4];
        Tensor[] targets = new Tensor[4];
        long[][] shapes = {{64, 10}, {64, 20}, {2, 10, 40}, {2, 20, 40}};
        for (int i = 0; i < 4; i++) {
            long[] sh = shapes[i];
            int numel = (int) Arrays.stream(sh).reduce(1, (u, v) -> u * v);
            float[] x = new float[numel];
            for (int j = 0; j < numel; j++) {
                x[j] = (float) rnd.nextGaussian();
            }
            long[] tshape = sh.length == 2 ? new long[] {sh[0]} : new long[] {sh[0], sh[2]};
            long[] t = new long[(int) (numel / sh[1])];
            for (int j = 0; j < t.length; j++) {
                t[j] = rnd.nextInt((int) sh[1]);
            }
            inputs[i] = Tensor.of(x, sh);
            targets[i] = Tensor.of(t, tshape);
        }
        CrossEntropy.Options o = CrossEntropy.Options.defaults().withThreads(1);
        CrossEntropy.Options smooth = o.withLabelSmoothing(0.1).withReduction(Reduction.SUM);
        double sink = 0;
        long best = Long.MAX_VALUE;
        for (int round = 0; round < 12 && best > 0; round++) {
            long before = bean.getCurrentThreadAllocatedBytes();
            for (int it = 0; it < 2000; it++) {
                int i = it % 4;
                sink += CrossEntropy.crossEntropy(inputs[i], targets[i], (it & 4) == 0 ? o : smooth);
            }
            long allocated = bean.getCurrentThreadAllocatedBytes() - before;
            if (round >= 4) { // rounds 0-3: warm-up
                best = Math.min(best, allocated);
            }
        }
        assertTrue(Double.isFinite(sink));
        assertEquals(0, best, "bytes allocated by 2000 reduced calls alternating C = 10 and 20, (N, C) and (N, C, S)");
    }
}
