package dev.vecloss.internal.panama;

import static dev.vecloss.internal.panama.PanamaConstants.D;
import static dev.vecloss.internal.panama.PanamaConstants.F;
import static dev.vecloss.internal.panama.PanamaConstants.I;
import static dev.vecloss.internal.panama.PanamaConstants.LE;
import static dev.vecloss.internal.panama.PanamaConstants.V;

import dev.vecloss.internal.ElementOp;
import dev.vecloss.internal.ExactSum;
import dev.vecloss.internal.ElementProblem;
import dev.vecloss.internal.Mem;
import dev.vecloss.internal.Ranges;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * The elementwise losses, vectorised along the flat element axis, in tiles of {@link #TILE}
 * elements staged through L1 arrays: the family's loop ({@link #elements}) copies a tile of the
 * input, the target and the broadcast operands (a weight run contiguous or constant, see
 * {@code Broadcast}) to per-thread arrays, the operation's tile computes the losses and the
 * gradient there, and the loop applies the weight and the gradient's scale, sums the losses and
 * copies them out. A tile of an operation is a method over arrays that takes and returns no
 * vector, so C2 inlines it or calls it without boxing (see {@link VectorMath}); every element,
 * the last ones of a range included, goes through the same arithmetic (the tile is padded to
 * whole vectors and the padding's losses are zeroed), so an element's result does not depend on
 * where it sits.
 */
final class Elementwise {
    private Elementwise() {}

    /** Elements per tile: 2 KiB of floats per array, a multiple of any lane count. */
    static final int TILE = 512;

    /** Per-thread arrays of a tile. */
    private static final class Scratch {
        final float[] x = new float[TILE];
        final float[] y = new float[TILE];
        final float[] w = new float[TILE];
        final float[] pw = new float[TILE];
        final float[] loss = new float[TILE];
        final float[] grad = new float[TILE];
        final float[] tmp = new float[TILE];
        final float[] a1 = new float[TILE];
        final float[] a2 = new float[TILE];
        final float[] a3 = new float[TILE];
        final float[] zero = new float[V];
        /** What {@link #finish} found of the tile's losses, for {@link ExactTiles}. */
        int top, smallest;
        double sum;
        /** kl_div's {@code log t} in double. */
        final double[] logT = new double[TILE];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** Whether the SIMD kernels cover {@code op}. */
    static boolean covers(ElementOp op, ElementProblem p) {
        return switch (op) {
            case BINARY_CROSS_ENTROPY, BINARY_CROSS_ENTROPY_WITH_LOGITS, SIGMOID_FOCAL, HINGE, SQUARED_HINGE, KL_DIV -> true;
        };
    }

    /** The family's loop over elements {@code [from, to)} of a float32 problem. */
    static void elements(ElementOp op, ElementProblem p, long from, long to, ExactSum acc) {
        if (op == ElementOp.KL_DIV && !p.logTarget()) {
            klDivProb(p, from, to, acc);
            return;
        }
        final Scratch sc = SCRATCH.get();
        final MemorySegment w = p.weight(), pw = p.posWeight();
        final boolean wantGrad = p.grad() != null;
        final float sigma = (float) p.gradScale();
        // an operand that is one run repeated (a weight or pos_weight over the last axis) is read
        // cyclically: it does not cut the tiles to its runs
        final long wPeriod = p.weightPeriod(), pwPeriod = p.posWeightPeriod();
        for (long i = from; i < to; ) {
            final long end = p.runEndAcrossPeriods(i, to);
            long wi = w == null || wPeriod > 0 ? 0 : p.weightOffset(i);
            long pi = pw == null || pwPeriod > 0 ? 0 : p.posWeightOffset(i);
            while (i < end) {
                final int n = (int) Math.min(TILE, end - i);
                final int nv = (n + V - 1) / V * V;
                load(p.input(), i, n, nv, sc.x);
                load(p.target(), i, n, nv, sc.y);
                if (pwPeriod > 0) {
                    cyclic(pw, i % pwPeriod, pwPeriod, n, nv, sc.pw);
                } else if (pw != null) {
                    operand(pw, pi, p.posWeightContiguous(), n, nv, sc.pw);
                }
                switch (op) {
                    case BINARY_CROSS_ENTROPY_WITH_LOGITS -> bceWithLogits(sc, nv, pw != null, wantGrad);
                    case HINGE, SQUARED_HINGE -> hinge(sc, nv, op == ElementOp.SQUARED_HINGE, (float) p.margin(),
                            p.zeroOneLabels(), wantGrad);
                    case KL_DIV -> klDivLogTarget(sc, nv, wantGrad);
                    case BINARY_CROSS_ENTROPY -> bce(sc, n, nv, wantGrad);
                    case SIGMOID_FOCAL -> sigmoidFocal(sc, nv, (float) p.alpha(), (float) p.gamma(), wantGrad);
                }
                if (wPeriod > 0) {
                    cyclic(w, i % wPeriod, wPeriod, n, nv, sc.w);
                } else if (w != null) {
                    operand(w, wi, p.weightContiguous(), n, nv, sc.w);
                }
                finish(sc, n, nv, w != null, wantGrad, sigma);
                ExactTiles.add(sc.loss, nv, sc.top, sc.smallest, sc.sum, acc);
                if (p.losses() != null) {
                    MemorySegment.copy(sc.loss, 0, p.losses(), Mem.F32, i * 4L, n);
                }
                if (wantGrad) {
                    MemorySegment.copy(sc.grad, 0, p.grad(), Mem.F32, i * 4L, n);
                }
                i += n;
                if (p.weightContiguous()) {
                    wi += n;
                }
                if (p.posWeightContiguous()) {
                    pi += n;
                }
            }
        }
    }

    /** {@code n} floats from element {@code i} into {@code a}, zeros up to {@code nv}. */
    private static void load(MemorySegment seg, long i, int n, int nv, float[] a) {
        MemorySegment.copy(seg, Mem.F32, i * 4L, a, 0, n);
        Arrays.fill(a, n, nv, 0f);
    }

    /**
     * A periodic operand ({@code ElementProblem.weightPeriod}): {@code n} floats from element
     * {@code at} of its {@code period}, wrapping to its start, zeros up to {@code nv}.
     */
    private static void cyclic(MemorySegment seg, long at, long period, int n, int nv, float[] a) {
        for (int k = 0; k < n; ) {
            int len = (int) Math.min(n - k, period - at);
            MemorySegment.copy(seg, Mem.F32, at * 4L, a, k, len);
            k += len;
            at = 0;
        }
        Arrays.fill(a, n, nv, 0f);
    }

    /** A broadcast operand's run: {@code n} floats from element {@code i}, or element {@code i} repeated. */
    private static void operand(MemorySegment seg, long i, boolean contiguous, int n, int nv, float[] a) {
        if (contiguous) {
            load(seg, i, n, nv, a);
        } else {
            Arrays.fill(a, 0, nv, seg.getAtIndex(Mem.F32, i));
        }
    }

    /**
     * The weight (if any) on the losses, the weight and {@code sigma} on the gradient, and the
     * padding's losses set to 0 so that the tile sums to the sum of its {@code n} losses.
     */
    private static void finish(Scratch sc, int n, int nv, boolean weighted, boolean wantGrad, float sigma) {
        // with the losses in registers: what ExactTiles needs of the tile (its largest and
        // smallest non-zero magnitudes, its double sum), saving it a pass
        IntVector hi = IntVector.zero(I), lo = IntVector.broadcast(I, Integer.MAX_VALUE);
        DoubleVector s0 = DoubleVector.zero(D), s1 = DoubleVector.zero(D);
        for (int i = 0; i < nv; i += V) {
            FloatVector l = FloatVector.fromArray(F, sc.loss, i);
            FloatVector s = FloatVector.broadcast(F, sigma);
            if (weighted) {
                FloatVector wv = FloatVector.fromArray(F, sc.w, i);
                l = l.mul(wv);
                s = s.mul(wv);
            }
            if (i + V > n) {
                l = l.blend(0f, F.indexInRange(i, n).not());
            }
            l.intoArray(sc.loss, i);
            IntVector b = l.reinterpretAsInts().and(0x7fff_ffff);
            hi = hi.max(b);
            lo = lo.min(b.blend(Integer.MAX_VALUE, b.compare(VectorOperators.EQ, 0)));
            s0 = s0.add((DoubleVector) l.convertShape(VectorOperators.F2D, D, 0));
            s1 = s1.add((DoubleVector) l.convertShape(VectorOperators.F2D, D, 1));
            if (wantGrad) {
                FloatVector.fromArray(F, sc.grad, i).mul(s).intoArray(sc.grad, i);
            }
        }
        sc.top = hi.reduceLanes(VectorOperators.MAX);
        sc.smallest = lo.reduceLanes(VectorOperators.MIN);
        sc.sum = s0.add(s1).reduceLanes(VectorOperators.ADD);
    }

    /**
     * BCE with logits on the tile (see {@code ScalarKernels.binaryCrossEntropyWithLogits}):
     * {@code e = exp(-|x|)}, the sigmoid from it ({@code 1/(1+e)} or {@code e/(1+e)}), then
     * {@code log1p(e)} in place, and {@code l = [(1-y) x or -P y x] + r log1p(e)}.
     */
    private static void bceWithLogits(Scratch sc, int nv, boolean posWeighted, boolean wantGrad) {
        for (int i = 0; i < nv; i += V) {
            FloatVector.fromArray(F, sc.x, i).abs().neg().intoArray(sc.tmp, i);
        }
        VectorMath.expInto(sc.tmp, sc.tmp, nv, sc.zero);
        if (wantGrad) {
            for (int i = 0; i < nv; i += V) {
                FloatVector x = FloatVector.fromArray(F, sc.x, i);
                FloatVector y = FloatVector.fromArray(F, sc.y, i);
                FloatVector e = FloatVector.fromArray(F, sc.tmp, i);
                FloatVector inv = FloatVector.broadcast(F, 1f).div(e.add(1f));
                FloatVector ee = e.mul(inv);
                VectorMask<Float> neg = x.compare(VectorOperators.LT, 0f);
                FloatVector p = inv.blend(ee, neg); // sigmoid(x)
                FloatVector q = ee.blend(inv, neg); // sigmoid(-x) = 1 - p, without cancellation
                // r p - P y = p (1 - y) - P y q: nothing cancels for labels 0 and 1
                FloatVector py = posWeighted ? FloatVector.fromArray(F, sc.pw, i).mul(y) : y;
                p.mul(FloatVector.broadcast(F, 1f).sub(y)).sub(py.mul(q)).intoArray(sc.grad, i);
            }
        }
        VectorMath.log1pUnitInPlace(sc.tmp, nv); // e in [0, 1]
        for (int i = 0; i < nv; i += V) {
            FloatVector x = FloatVector.fromArray(F, sc.x, i);
            FloatVector y = FloatVector.fromArray(F, sc.y, i);
            FloatVector pw = posWeighted ? FloatVector.fromArray(F, sc.pw, i) : FloatVector.broadcast(F, 1f);
            FloatVector r = posWeighted ? pw.sub(1f).fma(y, FloatVector.broadcast(F, 1f)) : FloatVector.broadcast(F, 1f);
            VectorMask<Float> neg = x.compare(VectorOperators.LT, 0f);
            FloatVector lin = FloatVector.broadcast(F, 1f).sub(y).mul(x).blend(pw.mul(y).mul(x).neg(), neg);
            FloatVector l = r.fma(FloatVector.fromArray(F, sc.tmp, i), lin);
            // x = -inf: the reference's (1-y) x - r logsigmoid(x) is inf - inf
            l = l.blend(Float.NaN, x.compare(VectorOperators.EQ, Float.NEGATIVE_INFINITY));
            l.intoArray(sc.loss, i);
        }
    }

    /**
     * Hinge and squared hinge on the tile (see {@code ScalarKernels.hinge}): {@code z = margin - y x},
     * {@code l = max(z, 0)} (NaN stays NaN), squared for {@code squared}; the gradient {@code -y}
     * (or {@code -2 y z}) where {@code z > 0}, else 0. With {@code zeroOne} the labels are read
     * as {@code 2y - 1}.
     */
    private static void hinge(Scratch sc, int nv, boolean squared, float margin, boolean zeroOne, boolean wantGrad) {
        for (int i = 0; i < nv; i += V) {
            FloatVector x = FloatVector.fromArray(F, sc.x, i);
            FloatVector y = FloatVector.fromArray(F, sc.y, i);
            if (zeroOne) {
                y = y.mul(2f).sub(1f);
            }
            FloatVector z = y.mul(x).neg().add(margin);
            VectorMask<Float> active = z.compare(VectorOperators.GT, 0f);
            // max(z, 0) as Math.max: NaN stays NaN (z > 0 fails for NaN, so blend on z <= 0 only)
            FloatVector h = z.blend(0f, z.compare(VectorOperators.LE, 0f));
            (squared ? h.mul(h) : h).intoArray(sc.loss, i);
            if (wantGrad) {
                FloatVector g = squared ? y.mul(z).mul(-2f) : y.neg();
                g.blend(0f, active.not()).intoArray(sc.grad, i);
            }
        }
    }

    /**
     * kl_div with log-probability targets on the tile: {@code exp(t) (t - q)}, gradient
     * {@code -exp(t)}. The kernels' exponential takes any argument (a log-probability above 0
     * is not a probability, but PyTorch computes it, and {@code exp} overflows to inf past 88.7).
     */
    private static void klDivLogTarget(Scratch sc, int nv, boolean wantGrad) {
        VectorMath.expInto(sc.y, sc.tmp, nv, sc.zero);
        for (int i = 0; i < nv; i += V) {
            FloatVector et = FloatVector.fromArray(F, sc.tmp, i);
            FloatVector t = FloatVector.fromArray(F, sc.y, i);
            et.mul(t.sub(FloatVector.fromArray(F, sc.x, i))).intoArray(sc.loss, i);
            if (wantGrad) {
                et.neg().intoArray(sc.grad, i);
            }
        }
    }

    /**
     * kl_div with probability targets: {@code xlogy(t, t) - t q} per element, gradient
     * {@code -t}, in double. Each term is a difference that cancels where {@code t} is close to
     * {@code exp(q)} (a converged model, distillation): float32 would keep the terms to 1e-7 of
     * their size, not their sum to 2e-6 of itself. So {@code log t} is taken in double
     * ({@link VectorMath#logDoubleInto}), the term as {@code fma(t, log t, -t q)} ({@code t q} of
     * two floats is exact in double), summed in double; the loss and gradient round once to
     * float32. Special values come out as the scalar kernel's: {@code t = 0} gives
     * {@code -(0 q)}, 0 (NaN for an infinite q); a negative t NaN; {@code t = +inf} and NaN as
     * {@code t log t - t q} does.
     */
    private static void klDivProb(ElementProblem p, long from, long to, ExactSum acc) {
        final Scratch sc = SCRATCH.get();
        final double sigma = -p.gradScale();
        for (long i = from; i < to; ) {
            final int n = (int) Math.min(TILE, to - i);
            final int nv = (n + V - 1) / V * V;
            load(p.input(), i, n, nv, sc.x);
            load(p.target(), i, n, nv, sc.y); // the padding: t = 0, q = 0, a term of 0
            VectorMath.logDoubleInto(sc.y, sc.logT, nv);
            klDivProbTile(sc, nv, sigma, p.grad() != null);
            // each double loss is its float32 rounding plus the float32 rounding of the rest:
            // both tiles summed exactly, 48 bits of each loss (the double sum this replaces kept
            // fewer), and the same value wherever the element sits
            ExactTiles.add(sc.loss, nv, acc);
            ExactTiles.add(sc.a1, nv, acc);
            if (p.losses() != null) {
                MemorySegment.copy(sc.loss, 0, p.losses(), Mem.F32, i * 4L, n);
            }
            if (p.grad() != null) {
                MemorySegment.copy(sc.grad, 0, p.grad(), Mem.F32, i * 4L, n);
            }
            i += n;
        }
    }

    /**
     * The tile of {@link #klDivProb}: losses in double, stored as their float32 rounding (in
     * {@code loss}) and the float32 rounding of the rest (in {@code a1}), and gradients (times
     * {@code -sigma}) as float32.
     */
    private static void klDivProbTile(Scratch sc, int nv, double sigma, boolean wantGrad) {
        final int half = D.length();
        for (int i = 0; i < nv; i += V) {
            FloatVector tf = FloatVector.fromArray(F, sc.y, i);
            FloatVector qf = FloatVector.fromArray(F, sc.x, i);
            DoubleVector t0 = (DoubleVector) tf.convertShape(VectorOperators.F2D, D, 0);
            DoubleVector t1 = (DoubleVector) tf.convertShape(VectorOperators.F2D, D, 1);
            DoubleVector q0 = (DoubleVector) qf.convertShape(VectorOperators.F2D, D, 0);
            DoubleVector q1 = (DoubleVector) qf.convertShape(VectorOperators.F2D, D, 1);
            DoubleVector l0 = t0.fma(DoubleVector.fromArray(D, sc.logT, i), t0.mul(q0).neg());
            DoubleVector l1 = t1.fma(DoubleVector.fromArray(D, sc.logT, i + half), t1.mul(q1).neg());
            // two halves of floats into one vector, each lane rounded once: part 0 fills the low
            // lanes, part -1 the high ones, the others are +0, whose bits OR leaves alone (written
            // out here and below: a vector passed to a call C2 leaves out of line is boxed)
            FloatVector f0 = (FloatVector) l0.convertShape(VectorOperators.D2F, F, 0);
            FloatVector f1 = (FloatVector) l1.convertShape(VectorOperators.D2F, F, -1);
            FloatVector f = f0.reinterpretAsInts().or(f1.reinterpretAsInts()).reinterpretAsFloats();
            f.intoArray(sc.loss, i);
            // the rest of each loss past its float32 rounding (exact in double), rounded to float32
            DoubleVector r0 = l0.sub((DoubleVector) f.convertShape(VectorOperators.F2D, D, 0));
            DoubleVector r1 = l1.sub((DoubleVector) f.convertShape(VectorOperators.F2D, D, 1));
            IntVector rlo = ((FloatVector) r0.convertShape(VectorOperators.D2F, F, 0)).reinterpretAsInts();
            IntVector rhi = ((FloatVector) r1.convertShape(VectorOperators.D2F, F, -1)).reinterpretAsInts();
            rlo.or(rhi).reinterpretAsFloats().intoArray(sc.a1, i);
            if (wantGrad) {
                IntVector glo = ((FloatVector) t0.mul(sigma).convertShape(VectorOperators.D2F, F, 0)).reinterpretAsInts();
                IntVector ghi = ((FloatVector) t1.mul(sigma).convertShape(VectorOperators.D2F, F, -1)).reinterpretAsInts();
                glo.or(ghi).reinterpretAsFloats().intoArray(sc.grad, i);
            }
        }
    }

    /**
     * PyTorch's clamp of BCE's logs at -100. Taken as {@code v.blend(floor, v < floor)}, written out
     * where used: the same value as {@code max(v, floor)} for every {@code v} (NaN stays NaN, -0
     * and +0 stay themselves) for a floor that is neither NaN nor a zero, in two instructions,
     * where the lane-wise {@code max} (which must order -0 below +0 and propagate NaN) takes five
     * on AVX2. Not a helper method: a call taking a vector that C2 leaves out of line boxes it (a
     * helper here allocated 65 KB per reduced call of BCE on soft labels, AllocationTest).
     */
    private static final float LOG_FLOOR = -100f;

    /** The BCE gradient's floor of {@code p (1 - p)}, as PyTorch's (float32 1e-12). */
    private static final float BCE_GRAD_FLOOR = 1e-12f;

    /**
     * BCE on probabilities on the tile (see {@code ScalarKernels.binaryCrossEntropy}):
     * {@code -(y max(log p, -100) + (1 - y) max(log1p(-p), -100))}, gradient
     * {@code (p - y) / max(p (1 - p), 1e-12)}.
     */
    private static void bce(Scratch sc, int n, int nv, boolean wantGrad) {
        // The padding past n gets log(1) and log1p(+0), not the zeros' log(0) and log1p(-0). Those
        // are special arguments, and the tile's last vector then went through VectorMath's slow
        // path on every call: a method called twice per call stays in C1 (boxing its vectors, 11 KB
        // per reduced call) long after the rest is compiled, and its first call deoptimised the
        // compiled logInPlace. The padding's losses are set to 0 by finish and its gradient is not copied.
        if (hardLabels(sc.y, nv)) { // the padding's labels are 0
            bceHard(sc, n, nv);
        } else {
            for (int i = 0; i < nv; i += V) {
                FloatVector.fromArray(F, sc.x, i).neg().intoArray(sc.a2, i);
            }
            System.arraycopy(sc.x, 0, sc.a1, 0, nv);
            Arrays.fill(sc.a1, n, nv, 1f);
            Arrays.fill(sc.a2, n, nv, 0f);
            VectorMath.logInPlace(sc.a1, nv);
            VectorMath.log1pInPlace(sc.a2, nv);
            for (int i = 0; i < nv; i += V) {
                FloatVector y = FloatVector.fromArray(F, sc.y, i);
                // max(v, -100) by a comparison and a blend (see LOG_FLOOR)
                FloatVector logP = FloatVector.fromArray(F, sc.a1, i);
                logP = logP.blend(LOG_FLOOR, logP.compare(VectorOperators.LT, LOG_FLOOR));
                FloatVector log1mP = FloatVector.fromArray(F, sc.a2, i);
                log1mP = log1mP.blend(LOG_FLOOR, log1mP.compare(VectorOperators.LT, LOG_FLOOR));
                FloatVector pv = FloatVector.fromArray(F, sc.x, i);
                // NaN where p or y is outside [0, 1] (see ScalarKernels.binaryCrossEntropy)
                VectorMask<Float> ok = pv.compare(VectorOperators.GE, 0f).and(pv.compare(VectorOperators.LE, 1f))
                        .and(y.compare(VectorOperators.GE, 0f)).and(y.compare(VectorOperators.LE, 1f));
                y.mul(logP).add(FloatVector.broadcast(F, 1f).sub(y).mul(log1mP)).neg().blend(Float.NaN, ok.not())
                        .intoArray(sc.loss, i);
            }
        }
        if (wantGrad) {
            for (int i = 0; i < nv; i += V) {
                FloatVector pv = FloatVector.fromArray(F, sc.x, i);
                FloatVector den = pv.mul(FloatVector.broadcast(F, 1f).sub(pv));
                den = den.blend(BCE_GRAD_FLOOR, den.compare(VectorOperators.LT, BCE_GRAD_FLOOR)); // max (see LOG_FLOOR)
                pv.sub(FloatVector.fromArray(F, sc.y, i)).div(den).intoArray(sc.grad, i);
            }
        }
    }

    /** Whether every label of {@code y[0, nv)} is 0 or 1 (soft labels stop at their first vector). */
    private static boolean hardLabels(float[] y, int nv) {
        for (int i = 0; i < nv; i += V) {
            FloatVector t = FloatVector.fromArray(F, y, i);
            if (!t.compare(VectorOperators.EQ, 0f).or(t.compare(VectorOperators.EQ, 1f)).allTrue()) {
                return false;
            }
        }
        return true;
    }

    /**
     * {@link #bce}'s loss for labels 0 and 1 only, with one logarithm per element instead of
     * two: {@code -max(log p, -100)} for {@code y = 1}, {@code -max(log1p(0 - p), -100)} for
     * {@code y = 0} ({@link VectorMath#logOrLog1pInPlace}), the general form's bits, signs of
     * zero included (BinaryCrossEntropyTest checks it): its other term is a zero (a product by 0
     * of a finite clamped logarithm) that leaves the sum as it is.
     */
    private static void bceHard(Scratch sc, int n, int nv) {
        final FloatVector zero = FloatVector.zero(F);
        for (int i = 0; i < nv; i += V) {
            FloatVector pv = FloatVector.fromArray(F, sc.x, i);
            FloatVector y = FloatVector.fromArray(F, sc.y, i);
            // 0 - p, not -p: for p = 0 (a saturated negative, common in float32 predictions) the
            // argument is +0, not -0, which log1p must return as -0 and so sends to the slow path
            zero.sub(pv).blend(pv, y.compare(VectorOperators.EQ, 1f)).intoArray(sc.a1, i);
            FloatVector.broadcast(F, 1f).sub(y).intoArray(sc.a2, i); // 1: log1p, 0: log
        }
        Arrays.fill(sc.a1, n, nv, 0f); // the padding: log1p(+0) (see bce)
        VectorMath.logOrLog1pInPlace(sc.a1, sc.a2, nv);
        for (int i = 0; i < nv; i += V) {
            FloatVector l = FloatVector.fromArray(F, sc.a1, i);
            l = l.blend(LOG_FLOOR, l.compare(VectorOperators.LT, LOG_FLOOR)); // max(l, -100) (see LOG_FLOOR)
            // the general form's signs of zero: y = 0, p = 0 gives +0 (0 - l, l = log1p(+0) = +0,
            // where -l was -(-0) from log1p(-0)); y = 1, p = 1 gives -0 (-log 1)
            VectorMask<Float> neg = FloatVector.fromArray(F, sc.y, i).compare(VectorOperators.EQ, 0f);
            // NaN where p is outside [0, 1] (the labels are 0 and 1; see ScalarKernels.binaryCrossEntropy)
            FloatVector pv = FloatVector.fromArray(F, sc.x, i);
            VectorMask<Float> ok = pv.compare(VectorOperators.GE, 0f).and(pv.compare(VectorOperators.LE, 1f));
            l.neg().blend(zero.sub(l), neg).blend(Float.NaN, ok.not()).intoArray(sc.loss, i);
        }
    }

    /**
     * torchvision's sigmoid focal loss on the tile (see {@code ScalarKernels.sigmoidFocal}, the
     * same forms without cancellation): {@code e = exp(-|x|)}; {@code p}, {@code q = 1 - p},
     * {@code 1 - p_t = q y + p (1 - y)}; {@code ce} from {@code log1p(e)}; the modulating factor
     * {@code (1 - p_t)^gamma} (a square for gamma 2, else {@code exp(gamma log(1 - p_t))}).
     */
    private static void sigmoidFocal(Scratch sc, int nv, float alpha, float gamma, boolean wantGrad) {
        for (int i = 0; i < nv; i += V) {
            FloatVector.fromArray(F, sc.x, i).abs().neg().intoArray(sc.tmp, i);
        }
        VectorMath.expInto(sc.tmp, sc.tmp, nv, sc.zero);
        for (int i = 0; i < nv; i += V) {
            FloatVector x = FloatVector.fromArray(F, sc.x, i);
            FloatVector y = FloatVector.fromArray(F, sc.y, i);
            FloatVector e = FloatVector.fromArray(F, sc.tmp, i);
            FloatVector inv = FloatVector.broadcast(F, 1f).div(e.add(1f));
            FloatVector ee = e.mul(inv);
            VectorMask<Float> neg = x.compare(VectorOperators.LT, 0f);
            FloatVector p = inv.blend(ee, neg);
            FloatVector q = ee.blend(inv, neg);
            p.intoArray(sc.a1, i);
            q.intoArray(sc.a2, i);
            q.mul(y).add(p.mul(FloatVector.broadcast(F, 1f).sub(y))).intoArray(sc.a3, i);
        }
        VectorMath.log1pUnitInPlace(sc.tmp, nv); // log1p(e), for ce: e in [0, 1]
        if (gamma != 0 && gamma != 1 && gamma != 2) { // (1 - p_t)^gamma into pw (free: no pos_weight here)
            System.arraycopy(sc.a3, 0, sc.pw, 0, nv);
            VectorMath.logInPlace(sc.pw, nv);
            for (int i = 0; i < nv; i += V) {
                FloatVector.fromArray(F, sc.pw, i).mul(gamma).intoArray(sc.pw, i);
            }
            VectorMath.expInto(sc.pw, sc.pw, nv, sc.zero);
        }
        for (int i = 0; i < nv; i += V) {
            FloatVector x = FloatVector.fromArray(F, sc.x, i);
            FloatVector y = FloatVector.fromArray(F, sc.y, i);
            FloatVector omp = FloatVector.fromArray(F, sc.a3, i);
            FloatVector mod = gamma == 0 ? FloatVector.broadcast(F, 1f) : gamma == 1 ? omp
                    : gamma == 2 ? omp.mul(omp) : FloatVector.fromArray(F, sc.pw, i);
            FloatVector oneMinusY = FloatVector.broadcast(F, 1f).sub(y);
            VectorMask<Float> negX = x.compare(VectorOperators.LT, 0f);
            FloatVector ce = oneMinusY.mul(x).blend(y.mul(x).neg(), negX).add(FloatVector.fromArray(F, sc.tmp, i))
                    .blend(Float.NaN, x.compare(VectorOperators.EQ, Float.NEGATIVE_INFINITY));
            FloatVector at = alpha >= 0 ? y.mul(alpha).add(oneMinusY.mul(1f - alpha)) : FloatVector.broadcast(F, 1f);
            at.mul(ce).mul(mod).intoArray(sc.loss, i);
            if (wantGrad) {
                FloatVector p = FloatVector.fromArray(F, sc.a1, i);
                FloatVector q = FloatVector.fromArray(F, sc.a2, i);
                FloatVector pMinusY = p.mul(oneMinusY).sub(q.mul(y));
                FloatVector g = pMinusY.mul(mod);
                if (gamma != 0) {
                    FloatVector second = y.mul(2f).sub(1f).mul(gamma).mul(p).mul(q).mul(mod.div(omp)).mul(ce)
                            .blend(0f, omp.compare(VectorOperators.EQ, 0f));
                    g = g.sub(second);
                }
                // at an infinite logit with gamma above 0: NaN, as torchvision's autograd (for gamma 0
                // the compare is with NaN, never true: no mask chosen by a branch, which C2 would box)
                VectorMask<Float> nanGrad = x.abs().compare(VectorOperators.EQ,
                        gamma == 0 ? Float.NaN : Float.POSITIVE_INFINITY);
                at.mul(g).blend(Float.NaN, nanGrad).intoArray(sc.grad, i);
            }
        }
    }

    /** The number of targets in {@code [from, to)} that are neither 0 nor 1, a vector at a time. */
    static double notZeroOne(ElementProblem p, long from, long to) {
        final MemorySegment y = p.target();
        long n = 0;
        long i = from;
        for (long bound = from + (to - from) / V * V; i < bound; i += V) {
            FloatVector v = FloatVector.fromMemorySegment(F, y, i * 4L, LE);
            n += v.compare(VectorOperators.NE, 0f).and(v.compare(VectorOperators.NE, 1f)).trueCount();
        }
        for (; i < to; i++) {
            float v = y.getAtIndex(Mem.F32, i);
            if (v != 0 && v != 1) {
                n++;
            }
        }
        return n;
    }

    /**
     * Input and target in {@code [0, 1]} over {@code [from, to)}, a vector at a time; at the
     * first vector that fails, the scalar check from there finds and reports the lowest failing
     * index (the input before the target).
     */
    static double unitInterval(ElementProblem p, long from, long to) {
        final MemorySegment x = p.input(), y = p.target();
        long i = from;
        for (long bound = from + (to - from) / V * V; i < bound; i += V) {
            FloatVector a = FloatVector.fromMemorySegment(F, x, i * 4L, LE);
            FloatVector b = FloatVector.fromMemorySegment(F, y, i * 4L, LE);
            // NaN fails both compares, as it fails 0 <= v <= 1
            VectorMask<Float> ok = a.compare(VectorOperators.GE, 0f).and(a.compare(VectorOperators.LE, 1f))
                    .and(b.compare(VectorOperators.GE, 0f)).and(b.compare(VectorOperators.LE, 1f));
            if (!ok.allTrue()) {
                break;
            }
        }
        return Ranges.unitInterval(p, i, to);
    }
}
