package dev.vecloss.internal.panama;

import static dev.vecloss.internal.panama.PanamaConstants.F;
import static dev.vecloss.internal.panama.PanamaConstants.LE;
import static dev.vecloss.internal.panama.PanamaConstants.V;

import dev.vecloss.internal.CeProblem;
import dev.vecloss.internal.Mem;
import dev.vecloss.internal.ScalarKernels;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Cross-entropy with index targets vectorised across positions: a block of {@code V} positions
 * is computed at once, one vector per class, each lane its own position. This is the natural
 * loop of {@code (N, C, d...)} inputs, where the C scores of a position are S apart and the
 * positions of one class are contiguous: one load per class reads the block. For {@code (N, C)}
 * inputs with few classes the block of V rows (V*C contiguous floats) is copied to an L1 buffer
 * and each class vector gathered from it with lane stride C: a transpose in cache.
 *
 * <p>Per block: the maximum over classes (one pass), then the sum of exponentials without each
 * lane's target term, the target logit (blended in where the class equals the lane's target)
 * and, with smoothing, {@code sum_c w_c (max - x_c)} (a second pass, over data now in L1). The
 * loss is finished in vectors as {@code log1p(S' / exp(x_y - max))} with
 * {@link VectorMath#log1pNonNegative}, ten times faster than the Vector API's own. Positions that do not fill a block (an image's
 * last {@code S mod V}, a chunk's end) go to the scalar kernel.
 */
final class AcrossPositions {
    private AcrossPositions() {}

    /** Per-thread buffers: the transposed block of rows and its gradient, and the block's targets. */
    private static final class Scratch {
        final int c;
        final float[] rows;
        final float[] cols;
        final float[] gradRows;
        final float[] targets = new float[V];
        final int[] laneStride = new int[V];

        Scratch(int c) {
            this.c = c;
            rows = new float[V * c];
            cols = new float[V * c];
            gradRows = new float[V * c];
            for (int l = 0; l < V; l++) {
                laneStride[l] = l * c;
            }
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = new ThreadLocal<>();

    private static Scratch scratch(int c) {
        Scratch s = SCRATCH.get();
        if (s == null || s.c != c) {
            s = new Scratch(c);
            SCRATCH.set(s);
        }
        return s;
    }

    static double index(CeProblem p, long from, long to) {
        final int c = Math.toIntExact(p.c());
        final long sp = p.s();
        final boolean rows = sp == 1;
        final Scratch sc = scratch(rows ? c : 0);
        double total = 0;
        long pos = from;
        while (pos < to) {
            long n = pos / sp;
            long s = pos - n * sp;
            if (pos + V <= to && (rows || s + V <= sp)) {
                total += block(p, sc, rows, c, pos, n * c * sp + s);
                pos += V;
            } else {
                total += ScalarKernels.INSTANCE.crossEntropyIndex(p, pos, pos + 1);
                pos++;
            }
        }
        return total;
    }

    private static FloatVector load(MemorySegment x, Scratch sc, boolean rows, int k, long base, long sp) {
        return rows ? FloatVector.fromArray(F, sc.cols, k * V)
                : FloatVector.fromMemorySegment(F, x, (base + k * sp) * 4L, LE);
    }

    /** Positions {@code [pos, pos + V)}, whose class-0 logits start at element {@code base}. */
    private static double block(CeProblem p, Scratch sc, boolean rows, int c, long pos, long base) {
        final MemorySegment x = p.input();
        final MemorySegment w = p.weight();
        final long sp = p.s();
        final double eps = p.eps();
        final boolean smooth = eps > 0;
        if (rows) { // transpose the V rows: class k of every row into cols[k*V, k*V + V)
            MemorySegment.copy(x, Mem.F32, base * 4L, sc.rows, 0, V * c);
            for (int k = 0; k < c; k++) {
                FloatVector.fromArray(F, sc.rows, k, sc.laneStride, 0).intoArray(sc.cols, k * V);
            }
        }
        final float[] tg = sc.targets;
        final long ignore = p.ignoreIndex();
        for (int l = 0; l < V; l++) {
            long y = Mem.getIndex(p.target(), p.targetKind(), pos + l);
            tg[l] = y == ignore ? -1f : (float) y;
        }
        final FloatVector t = FloatVector.fromArray(F, tg, 0);
        final VectorMask<Float> active = t.compare(VectorOperators.GE, 0f);

        FloatVector m = load(x, sc, rows, 0, base, sp);
        for (int k = 1; k < c; k++) {
            m = m.max(load(x, sc, rows, k, base, sp));
        }
        FloatVector rest = FloatVector.zero(F);
        FloatVector xy = FloatVector.zero(F);
        FloatVector wy = FloatVector.broadcast(F, 1f);
        FloatVector d = FloatVector.zero(F);
        for (int k = 0; k < c; k++) {
            FloatVector v = load(x, sc, rows, k, base, sp);
            VectorMask<Float> isT = t.compare(VectorOperators.EQ, (float) k);
            FloatVector e = VectorMath.exp(v.sub(m));
            rest = rest.add(e.blend(0f, isT));
            xy = xy.blend(v, isT);
            if (w != null) {
                float wk = w.getAtIndex(Mem.F32, k);
                wy = wy.blend(wk, isT);
                if (smooth) {
                    d = m.sub(v).fma(FloatVector.broadcast(F, wk), d);
                }
            } else if (smooth) {
                d = d.add(m.sub(v));
            }
        }
        final FloatVector ey = VectorMath.exp(xy.sub(m));
        final FloatVector sum = rest.add(ey); // >= 1: the maximum's own term is exp(0)
        // nll = log1p(S' / e_y), without cancellation for a confident position; past a gap of
        // 80 e_y underflows and log1p(S - 1) + gap has nothing left to cancel
        final FloatVector gap = m.sub(xy);
        final VectorMask<Float> far = gap.compare(VectorOperators.GT, 80f);
        FloatVector nll = VectorMath.log1pNonNegative(rest.div(ey).blend(sum.sub(1f), far))
                .add(FloatVector.zero(F).blend(gap, far));
        // an infinite maximum means inf - inf somewhere in the column: NaN, as in PyTorch
        nll = nll.blend(Float.NaN, m.abs().compare(VectorOperators.EQ, Float.POSITIVE_INFINITY));
        FloatVector loss = wy.mul(nll);
        if (smooth) {
            FloatVector logSum = VectorMath.log1pNonNegative(sum.sub(1f));
            FloatVector smoothTerm = logSum.mul((float) p.weightSum()).add(d);
            loss = loss.mul((float) (1 - eps)).add(smoothTerm.mul((float) (eps / c)));
        }
        loss = loss.blend(0f, active.not());
        if (p.losses() != null) {
            loss.intoMemorySegment(p.losses(), pos * 4L, LE);
        }
        if (p.grad() != null) {
            grad(p, sc, rows, c, base, m, sum, rest, wy, t, active);
        }
        return VectorMath.sum(loss);
    }

    private static void grad(CeProblem p, Scratch sc, boolean rows, int c, long base, FloatVector m,
            FloatVector sum, FloatVector rest, FloatVector wy, FloatVector t, VectorMask<Float> active) {
        final MemorySegment x = p.input();
        final MemorySegment w = p.weight();
        final MemorySegment g = p.grad();
        final long sp = p.s();
        final double eps = p.eps();
        final boolean smooth = eps > 0;
        final FloatVector invSum = FloatVector.broadcast(F, 1f).div(sum);
        final FloatVector pyMinus1 = rest.neg().mul(invSum); // p_y - 1 = -S'/S, without cancellation
        final FloatVector a = wy.mul((float) (p.gradScale() * (1 - eps))).blend(0f, active.not());
        final float b = (float) (p.gradScale() * eps / c);
        final FloatVector bv = FloatVector.broadcast(F, b).blend(0f, active.not());
        final float wSum = (float) p.weightSum();
        for (int k = 0; k < c; k++) {
            FloatVector v = load(x, sc, rows, k, base, sp);
            FloatVector pk = VectorMath.exp(v.sub(m)).mul(invSum);
            FloatVector hard = pk.blend(pyMinus1, t.compare(VectorOperators.EQ, (float) k));
            FloatVector gv = a.mul(hard);
            if (smooth) {
                float wk = w == null ? 1f : w.getAtIndex(Mem.F32, k);
                gv = gv.add(bv.mul(pk.mul(wSum).sub(wk)));
            }
            gv = gv.blend(0f, active.not());
            if (rows) {
                gv.intoArray(sc.gradRows, k, sc.laneStride, 0);
            } else {
                gv.intoMemorySegment(g, (base + k * sp) * 4L, LE);
            }
        }
        if (rows) {
            MemorySegment.copy(sc.gradRows, 0, g, Mem.F32, base * 4L, V * c);
        }
    }
}
