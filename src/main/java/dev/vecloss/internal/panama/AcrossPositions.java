package dev.vecloss.internal.panama;

import static dev.vecloss.internal.panama.PanamaConstants.F;
import static dev.vecloss.internal.panama.PanamaConstants.LE;
import static dev.vecloss.internal.panama.PanamaConstants.V;

import dev.vecloss.internal.Mem;
import dev.vecloss.internal.RowOp;
import dev.vecloss.internal.RowProblem;
import dev.vecloss.internal.ScalarKernels;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Cross-entropy with index targets vectorised across positions: a block of {@code V} positions
 * at once, one vector per class, each lane its own position. This is the natural loop of
 * {@code (N, C, d...)} inputs, where the C scores of a position are S apart and the positions of
 * one class are contiguous: one load per class reads the block. For {@code (N, C)} inputs with
 * few classes the block of V rows (V*C contiguous floats) is copied to an L1 buffer and each
 * class gathered from it with lane stride C: a transpose in cache.
 *
 * <p>Per block, in L1 buffers laid out class by class: the class vectors and their maximum (one
 * pass over the input), the target logit, target weight and, with smoothing,
 * {@code sum_c w_c (max - x_c)} (blended where the class equals the lane's target), then all the
 * exponentials at once ({@link VectorMath#expInto}), the sum without each lane's target term, and
 * the loss {@code log1p(S' / exp(x_y - max))} ({@link VectorMath#log1pInPlace}). The gradient
 * reuses the exponentials. Positions that do not fill a block (an image's last
 * {@code S mod V}, a chunk's end) go to the scalar kernel. Each step is a method of its own, so
 * that C2 inlines every vector operation (see {@link AlongClasses}).
 */
final class AcrossPositions {
    private AcrossPositions() {}

    /** Per-thread buffers of a block. */
    private static final class Scratch {
        final int c;
        /** The V rows of a narrow (N, C) block as read, row by row. */
        final float[] rows;
        /** Class k of the block's positions at {@code [k*V, k*V + V)}; then the target logits. */
        final float[] cols;
        /** exp(cols - max), same layout. */
        final float[] exps;
        final float[] targets = new float[V];
        final float[] max = new float[V];
        final float[] targetWeight = new float[V];
        /** sum_c w_c (max - x_c), for smoothing. */
        final float[] spread = new float[V];
        /** The block's losses, the sum S of each lane, and S' (S without the target's term). */
        final float[] loss = new float[V];
        final float[] sum = new float[V];
        final float[] rest = new float[V];
        final int[] laneStride = new int[V];

        Scratch(int c) {
            this.c = c;
            rows = new float[V * c];
            cols = new float[V * (c + 1)];
            exps = new float[V * (c + 1)];
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = new ThreadLocal<>();

    private static Scratch scratch(int c) {
        Scratch s = SCRATCH.get();
        if (s == null || s.c != c) {
            s = new Scratch(c);
            for (int l = 0; l < V; l++) {
                s.laneStride[l] = l * c;
            }
            SCRATCH.set(s);
        }
        return s;
    }

    static double index(RowProblem p, long from, long to) {
        final int c = Math.toIntExact(p.c());
        final long sp = p.s();
        final boolean rows = sp == 1;
        final Scratch sc = scratch(c);
        double total = 0;
        long pos = from;
        while (pos < to) {
            long n = pos / sp;
            long s = pos - n * sp;
            if (pos + V <= to && (rows || s + V <= sp)) {
                total += block(p, sc, rows, c, pos, n * c * sp + s);
                pos += V;
            } else {
                total += ScalarKernels.INSTANCE.rows(RowOp.CROSS_ENTROPY, p, pos, pos + 1);
                pos++;
            }
        }
        return total;
    }

    /** Positions {@code [pos, pos + V)}, whose class-0 logits start at element {@code base}. */
    private static double block(RowProblem p, Scratch sc, boolean rows, int c, long pos, long base) {
        readTargets(p, sc, pos);
        if (rows) {
            transposeRows(p, sc, c, base);
        } else {
            copyClasses(p, sc, c, base);
        }
        if (p.eps() > 0) {
            spread(p, sc, c);
        }
        VectorMath.expInto(sc.cols, sc.exps, (c + 1) * V, sc.max);
        finish(p, sc, c);
        if (p.losses() != null) {
            MemorySegment.copy(sc.loss, 0, p.losses(), Mem.F32, pos * 4L, V);
        }
        if (p.grad() != null) {
            grad(p, sc, rows, c, base);
        }
        return VectorMath.sum(sc.loss, V);
    }

    /** The block's targets as floats, -1 for an ignored position. */
    private static void readTargets(RowProblem p, Scratch sc, long pos) {
        final long ignore = p.ignoreIndex();
        for (int l = 0; l < V; l++) {
            long y = Mem.getIndex(p.target(), p.targetKind(), pos + l);
            sc.targets[l] = y == ignore ? -1f : (float) y;
        }
    }

    /**
     * Spatial input: class k of the block is one load at element {@code base + k*S}. Into
     * {@code sc}: the maximum, the class vectors with each lane's target blended to -inf (its
     * exponential is then 0: the sum S' needs no mask), the target logits after the classes (so
     * that their exponential comes with the others), and the target weights.
     */
    private static void copyClasses(RowProblem p, Scratch sc, int c, long base) {
        final MemorySegment x = p.input();
        final MemorySegment w = p.weight();
        final long sp = p.s();
        final FloatVector t = FloatVector.fromArray(F, sc.targets, 0);
        FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        FloatVector xy = FloatVector.zero(F);
        FloatVector wy = FloatVector.broadcast(F, 1f);
        for (int k = 0; k < c; k++) {
            FloatVector v = FloatVector.fromMemorySegment(F, x, (base + k * sp) * 4L, LE);
            VectorMask<Float> isT = t.compare(VectorOperators.EQ, (float) k);
            m = m.max(v);
            xy = xy.blend(v, isT);
            if (w != null) {
                wy = wy.blend(w.getAtIndex(Mem.F32, k), isT);
            }
            v.blend(Float.NEGATIVE_INFINITY, isT).intoArray(sc.cols, k * V);
        }
        m.intoArray(sc.max, 0);
        xy.intoArray(sc.cols, c * V);
        wy.intoArray(sc.targetWeight, 0);
    }

    /**
     * Narrow rows: the V*C floats of the block to L1, then class k gathered with stride C; into
     * {@code sc} as {@link #copyClasses} does. Kept apart from it on purpose: one loop choosing
     * its load with a ternary ran 9 % slower (C = 10, 21 and 100, measured side by side).
     */
    private static void transposeRows(RowProblem p, Scratch sc, int c, long base) {
        final MemorySegment w = p.weight();
        MemorySegment.copy(p.input(), Mem.F32, base * 4L, sc.rows, 0, V * c);
        final FloatVector t = FloatVector.fromArray(F, sc.targets, 0);
        FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        FloatVector xy = FloatVector.zero(F);
        FloatVector wy = FloatVector.broadcast(F, 1f);
        for (int k = 0; k < c; k++) {
            FloatVector v = FloatVector.fromArray(F, sc.rows, k, sc.laneStride, 0);
            VectorMask<Float> isT = t.compare(VectorOperators.EQ, (float) k);
            m = m.max(v);
            xy = xy.blend(v, isT);
            if (w != null) {
                wy = wy.blend(w.getAtIndex(Mem.F32, k), isT);
            }
            v.blend(Float.NEGATIVE_INFINITY, isT).intoArray(sc.cols, k * V);
        }
        m.intoArray(sc.max, 0);
        xy.intoArray(sc.cols, c * V);
        wy.intoArray(sc.targetWeight, 0);
    }

    /** For smoothing: {@code sum_c w_c (max - x_c)} into {@code sc.spread} (the target's x restored). */
    private static void spread(RowProblem p, Scratch sc, int c) {
        final MemorySegment w = p.weight();
        final FloatVector t = FloatVector.fromArray(F, sc.targets, 0);
        final FloatVector m = FloatVector.fromArray(F, sc.max, 0);
        final FloatVector xy = FloatVector.fromArray(F, sc.cols, c * V);
        FloatVector d = FloatVector.zero(F);
        for (int k = 0; k < c; k++) {
            FloatVector v = FloatVector.fromArray(F, sc.cols, k * V).blend(xy, t.compare(VectorOperators.EQ, (float) k));
            float wk = w == null ? 1f : w.getAtIndex(Mem.F32, k);
            d = m.sub(v).mul(wk).add(d);
        }
        d.intoArray(sc.spread, 0);
    }

    /** The block's losses, 0 at ignored positions, into {@code sc.loss}; the sums S into {@code sc.sum}. */
    private static void finish(RowProblem p, Scratch sc, int c) {
        final FloatVector t = FloatVector.fromArray(F, sc.targets, 0);
        FloatVector rest = FloatVector.zero(F);
        for (int k = 0; k < c; k++) { // the targets' terms are exp(-inf) = 0
            rest = rest.add(FloatVector.fromArray(F, sc.exps, k * V));
        }
        final FloatVector m = FloatVector.fromArray(F, sc.max, 0);
        final FloatVector xy = FloatVector.fromArray(F, sc.cols, c * V);
        final FloatVector ey = FloatVector.fromArray(F, sc.exps, c * V);
        final FloatVector sum = rest.add(ey); // >= 1: the maximum's own term is exp(0)
        sum.intoArray(sc.sum, 0);
        rest.intoArray(sc.rest, 0);
        // nll = log1p(S' / e_y), no cancellation for a confident position; past a gap of 80
        // e_y underflows and log1p(S - 1) + gap has nothing left to cancel
        final FloatVector gap = m.sub(xy);
        final VectorMask<Float> far = gap.compare(VectorOperators.GT, 80f);
        rest.div(ey).blend(sum.sub(1f), far).intoArray(sc.loss, 0);
        VectorMath.log1pInPlace(sc.loss, 0);
        FloatVector nll = FloatVector.fromArray(F, sc.loss, 0).add(FloatVector.zero(F).blend(gap, far));
        // an infinite maximum means inf - inf somewhere in the column: NaN, as in PyTorch
        nll = nll.blend(Float.NaN, m.abs().compare(VectorOperators.EQ, Float.POSITIVE_INFINITY));
        FloatVector loss = FloatVector.fromArray(F, sc.targetWeight, 0).mul(nll);
        final double eps = p.eps();
        if (eps > 0) {
            FloatVector logSum = nll.sub(gap); // log(S) = log1p(S'/e_y) + (x_y - max)
            FloatVector smoothTerm = logSum.mul((float) p.weightSum()).add(FloatVector.fromArray(F, sc.spread, 0));
            loss = loss.mul((float) (1 - eps)).add(smoothTerm.mul((float) (eps / c)));
        }
        loss.blend(0f, t.compare(VectorOperators.LT, 0f)).intoArray(sc.loss, 0);
    }

    /** The gradient from the block's exponentials: {@code p_k = exp_k / S}. */
    private static void grad(RowProblem p, Scratch sc, boolean rows, int c, long base) {
        final MemorySegment w = p.weight();
        final MemorySegment g = p.grad();
        final long sp = p.s();
        final double eps = p.eps();
        final boolean smooth = eps > 0;
        final FloatVector t = FloatVector.fromArray(F, sc.targets, 0);
        final VectorMask<Float> ignored = t.compare(VectorOperators.LT, 0f);
        final FloatVector sum = FloatVector.fromArray(F, sc.sum, 0);
        final FloatVector invSum = FloatVector.broadcast(F, 1f).div(sum);
        // p_y - 1 = -S'/S, from S' itself: S - e_y would cancel to 0 in a confident lane
        final FloatVector pyMinus1 = FloatVector.fromArray(F, sc.rest, 0).neg().mul(invSum);
        final FloatVector a = FloatVector.fromArray(F, sc.targetWeight, 0).mul((float) (p.gradScale() * (1 - eps)))
                .blend(0f, ignored);
        final FloatVector b = FloatVector.broadcast(F, (float) (p.gradScale() * eps / c)).blend(0f, ignored);
        final float wSum = (float) p.weightSum();
        // ignored lanes: 0, or NaN where the softmax is NaN, as PyTorch's log_softmax backward
        final FloatVector m = FloatVector.fromArray(F, sc.max, 0);
        final FloatVector atIgnored = FloatVector.zero(F).blend(Float.NaN,
                m.abs().compare(VectorOperators.EQ, Float.POSITIVE_INFINITY).or(m.test(VectorOperators.IS_NAN)));
        final FloatVector py = FloatVector.fromArray(F, sc.exps, c * V).mul(invSum);
        for (int k = 0; k < c; k++) {
            VectorMask<Float> isT = t.compare(VectorOperators.EQ, (float) k);
            FloatVector pk = FloatVector.fromArray(F, sc.exps, k * V).mul(invSum); // 0 at the targets
            FloatVector gv = a.mul(pk.blend(pyMinus1, isT));
            if (smooth) {
                float wk = w == null ? 1f : w.getAtIndex(Mem.F32, k);
                gv = gv.add(b.mul(pk.blend(py, isT).mul(wSum).sub(wk)));
            }
            gv = gv.blend(atIgnored, ignored);
            if (rows) {
                gv.intoArray(sc.rows, k, sc.laneStride, 0);
            } else {
                gv.intoMemorySegment(g, (base + k * sp) * 4L, LE);
            }
        }
        if (rows) {
            MemorySegment.copy(sc.rows, 0, g, Mem.F32, base * 4L, V * c);
        }
    }
}
