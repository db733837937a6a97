package dev.vecloss.internal.panama;

import static dev.vecloss.internal.panama.PanamaConstants.F;
import static dev.vecloss.internal.panama.PanamaConstants.LE;
import static dev.vecloss.internal.panama.PanamaConstants.LOWEST;
import static dev.vecloss.internal.panama.PanamaConstants.V;

import dev.vecloss.internal.CeProblem;
import dev.vecloss.internal.Mem;
import dev.vecloss.internal.ScalarKernels;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Cross-entropy over {@code (N, C)} rows, vectorised along the class axis: one row at a time,
 * with the maximum and the sum of exponentials found in one read of the row (online softmax),
 * then a second read of the row, from cache, for the gradient when it is asked for.
 *
 * <p>The online sum keeps, per lane, a reference {@code M} and a sum of {@code exp(x - M)}; when
 * a block of two vectors exceeds the reference of some lane by more than {@link #RESCALE_GAP}
 * the sums are rescaled by {@code exp(M_old - M_new)}, a branch taken once or twice a row. The
 * target's own term is left out of the sum (the block that holds it blends it to 0), so that a
 * confident row's loss is {@code log1p} of the other terms, not a difference of two nearly equal
 * numbers. Lanes combine at the end of the row; the row's loss is finished in double.
 */
final class AlongClasses {
    private AlongClasses() {}

    private static final int STEP = 2 * V;

    /**
     * The running maximum of a lane is raised only when a value exceeds it by more than this:
     * terms up to e^30 keep the sums far from float overflow (a row would need 10^25 of them),
     * and the rescale, with its extra exponential and its mispredicted branch, happens once or
     * twice a row instead of at every new maximum. The loss does not need the exact maximum:
     * {@link ScalarKernels#nll} takes any reference.
     */
    private static final float RESCALE_GAP = 30f;

    static double index(CeProblem p, long from, long to) {
        final MemorySegment x = p.input();
        final int c = Math.toIntExact(p.c());
        final double eps = p.eps();
        final boolean smooth = eps > 0;
        final MemorySegment w = p.weight();
        final int bound = c - c % STEP;
        double total = 0;
        for (long row = from; row < to; row++) {
            final long off = row * c * 4L;
            final long y = Mem.getIndex(p.target(), p.targetKind(), row);
            if (y == p.ignoreIndex()) {
                ignoredRow(p, row, off, c);
                continue;
            }
            final int yi = (int) y;
            final int yBlock = yi - yi % STEP;
            final float x0 = x.get(Mem.F32, off); // shift for the smoothing sum, against cancellation
            FloatVector m = FloatVector.broadcast(F, LOWEST);
            FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F);
            FloatVector d0 = FloatVector.zero(F), d1 = FloatVector.zero(F);
            int i = 0;
            for (; i < bound; i += STEP) {
                FloatVector a = FloatVector.fromMemorySegment(F, x, off + i * 4L, LE);
                FloatVector b = FloatVector.fromMemorySegment(F, x, off + (i + V) * 4L, LE);
                FloatVector blockMax = a.max(b);
                if (blockMax.compare(VectorOperators.GT, m.add(RESCALE_GAP)).anyTrue()) {
                    FloatVector mNew = m.max(blockMax);
                    FloatVector f = m.sub(mNew).lanewise(VectorOperators.EXP);
                    s0 = s0.mul(f);
                    s1 = s1.mul(f);
                    m = mNew;
                }
                FloatVector ea = a.sub(m).lanewise(VectorOperators.EXP);
                FloatVector eb = b.sub(m).lanewise(VectorOperators.EXP);
                if (i == yBlock) {
                    ea = ea.blend(0f, isLane(yi - i));
                    eb = eb.blend(0f, isLane(yi - i - V));
                }
                s0 = s0.add(ea);
                s1 = s1.add(eb);
                if (smooth) {
                    FloatVector wa = w == null ? null : FloatVector.fromMemorySegment(F, w, i * 4L, LE);
                    FloatVector wb = w == null ? null : FloatVector.fromMemorySegment(F, w, (i + V) * 4L, LE);
                    d0 = w == null ? d0.add(a.sub(x0)) : a.sub(x0).fma(wa, d0);
                    d1 = w == null ? d1.add(b.sub(x0)) : b.sub(x0).fma(wb, d1);
                }
            }
            for (; i < c; i += V) {
                VectorMask<Float> in = F.indexInRange(i, c);
                FloatVector a = FloatVector.fromMemorySegment(F, x, off + i * 4L, LE, in);
                if (a.compare(VectorOperators.GT, m.add(RESCALE_GAP), in).anyTrue()) {
                    FloatVector mNew = m.lanewise(VectorOperators.MAX, a, in);
                    FloatVector f = m.sub(mNew).lanewise(VectorOperators.EXP);
                    s0 = s0.mul(f);
                    s1 = s1.mul(f);
                    m = mNew;
                }
                FloatVector ea = a.sub(m).lanewise(VectorOperators.EXP);
                if (yi >= i && yi < i + V) {
                    ea = ea.blend(0f, isLane(yi - i));
                }
                s0 = s0.add(ea, in);
                if (smooth) {
                    FloatVector d = w == null ? a.sub(x0)
                            : a.sub(x0).mul(FloatVector.fromMemorySegment(F, w, i * 4L, LE, in));
                    d0 = d0.add(d, in);
                }
            }
            final float mRow = m.reduceLanes(VectorOperators.MAX);
            final double rest = s0.add(s1).mul(m.sub(mRow).lanewise(VectorOperators.EXP))
                    .reduceLanes(VectorOperators.ADD);
            final double xy = x.get(Mem.F32, off + yi * 4L);
            final double ey = Math.exp(xy - mRow);
            final double sum = rest + ey;
            final double wy = w == null ? 1 : w.getAtIndex(Mem.F32, yi);
            final double nll = ScalarKernels.nll(xy, mRow, rest, ey);
            double loss;
            if (smooth) {
                double d = d0.add(d1).reduceLanes(VectorOperators.ADD);
                // sum_c w_c (lse - x_c) = log(S) W + (m - x0) W - sum_c w_c (x_c - x0)
                double smoothTerm = (Math.log(sum) + ((double) mRow - x0)) * p.weightSum() - d;
                loss = (1 - eps) * (wy * nll) + eps / c * smoothTerm;
            } else {
                loss = wy * nll;
            }
            total += loss;
            if (p.losses() != null) {
                p.losses().setAtIndex(Mem.F32, row, (float) loss);
            }
            if (p.grad() != null) {
                double sigma = p.gradScale();
                double a = sigma * (1 - eps) * wy;
                double b = sigma * eps / c;
                gradRow(x, p.grad(), w, off, c, mRow, (float) (1 / sum),
                        (float) (a + b * p.weightSum()), (float) b, smooth);
                // the target's entry: p_y - 1 = -S'/S, exact where it would cancel
                double py = ey / sum;
                double gy = a * (-rest / sum) + b * (py * p.weightSum() - wy);
                p.grad().set(Mem.F32, off + yi * 4L, (float) gy);
            }
        }
        return total;
    }

    /** Writes {@code (exp(x - m) / S) * a - b * w} over the row: the gradient but for the target entry. */
    private static void gradRow(MemorySegment x, MemorySegment g, MemorySegment w, long off, int c, float m,
            float invSum, float a, float b, boolean smooth) {
        int i = 0;
        int bound = F.loopBound(c);
        for (; i < bound; i += V) {
            FloatVector pk = FloatVector.fromMemorySegment(F, x, off + i * 4L, LE).sub(m)
                    .lanewise(VectorOperators.EXP).mul(invSum);
            FloatVector gv = pk.mul(a);
            if (smooth) {
                gv = w == null ? gv.sub(b) : FloatVector.fromMemorySegment(F, w, i * 4L, LE).mul(-b).add(gv);
            }
            gv.intoMemorySegment(g, off + i * 4L, LE);
        }
        if (i < c) {
            VectorMask<Float> in = F.indexInRange(i, c);
            FloatVector pk = FloatVector.fromMemorySegment(F, x, off + i * 4L, LE, in).sub(m)
                    .lanewise(VectorOperators.EXP).mul(invSum);
            FloatVector gv = pk.mul(a);
            if (smooth) {
                gv = w == null ? gv.sub(b) : FloatVector.fromMemorySegment(F, w, i * 4L, LE, in).mul(-b).add(gv);
            }
            gv.intoMemorySegment(g, off + i * 4L, LE, in);
        }
    }

    static double prob(CeProblem p, long from, long to) {
        final MemorySegment x = p.input();
        final MemorySegment t = p.probTarget();
        final MemorySegment w = p.weight();
        final int c = Math.toIntExact(p.c());
        final double eps = p.eps();
        final boolean smooth = eps > 0;
        final float keep = (float) (1 - eps);
        final float spread = (float) (eps / c);
        double total = 0;
        for (long row = from; row < to; row++) {
            final long off = row * c * 4L;
            final float x0 = x.get(Mem.F32, off);
            FloatVector m = FloatVector.broadcast(F, LOWEST);
            FloatVector s = FloatVector.zero(F), wqSum = FloatVector.zero(F), wqd = FloatVector.zero(F);
            for (int i = 0; i < c; i += V) {
                VectorMask<Float> in = F.indexInRange(i, c);
                FloatVector a = FloatVector.fromMemorySegment(F, x, off + i * 4L, LE, in);
                FloatVector q = FloatVector.fromMemorySegment(F, t, off + i * 4L, LE, in);
                if (smooth) {
                    q = q.fma(keep, spread);
                }
                if (w != null) {
                    q = q.mul(FloatVector.fromMemorySegment(F, w, i * 4L, LE, in));
                }
                if (a.compare(VectorOperators.GT, m.add(RESCALE_GAP), in).anyTrue()) {
                    FloatVector mNew = m.lanewise(VectorOperators.MAX, a, in);
                    s = s.mul(m.sub(mNew).lanewise(VectorOperators.EXP));
                    m = mNew;
                }
                s = s.add(a.sub(m).lanewise(VectorOperators.EXP), in);
                wqSum = wqSum.add(q, in);
                wqd = wqd.add(q.mul(a.sub(x0)), in);
            }
            final float mRow = m.reduceLanes(VectorOperators.MAX);
            final double sum = s.mul(m.sub(mRow).lanewise(VectorOperators.EXP)).reduceLanes(VectorOperators.ADD);
            final double wq = wqSum.reduceLanes(VectorOperators.ADD);
            // -sum_c w_c q_c (x_c - lse) = (log(S) + m - x0) sum w q - sum w q (x - x0)
            final double loss = (Math.log(sum) + ((double) mRow - x0)) * wq - wqd.reduceLanes(VectorOperators.ADD);
            total += loss;
            if (p.losses() != null) {
                p.losses().setAtIndex(Mem.F32, row, (float) loss);
            }
            if (p.grad() != null) {
                final float invSum = (float) (1 / sum);
                final float a = (float) (p.gradScale() * wq);
                final float sigma = (float) p.gradScale();
                for (int i = 0; i < c; i += V) {
                    VectorMask<Float> in = F.indexInRange(i, c);
                    FloatVector q = FloatVector.fromMemorySegment(F, t, off + i * 4L, LE, in);
                    if (smooth) {
                        q = q.fma(keep, spread);
                    }
                    if (w != null) {
                        q = q.mul(FloatVector.fromMemorySegment(F, w, i * 4L, LE, in));
                    }
                    FloatVector pk = FloatVector.fromMemorySegment(F, x, off + i * 4L, LE, in).sub(mRow)
                            .lanewise(VectorOperators.EXP).mul(invSum);
                    pk.mul(a).sub(q.mul(sigma)).intoMemorySegment(p.grad(), off + i * 4L, LE, in);
                }
            }
        }
        return total;
    }

    /** 0, 1, ..., V-1: lane numbers, compared to find the target's lane. */
    private static final FloatVector IOTA = FloatVector.zero(F).addIndex(1);

    /** The mask with lane {@code lane} set, none if it is outside {@code [0, V)}. */
    private static VectorMask<Float> isLane(int lane) {
        return IOTA.compare(VectorOperators.EQ, (float) lane);
    }

    private static void ignoredRow(CeProblem p, long row, long off, int c) {
        if (p.losses() != null) {
            p.losses().setAtIndex(Mem.F32, row, 0f);
        }
        if (p.grad() != null) {
            p.grad().asSlice(off, c * 4L).fill((byte) 0);
        }
    }
}
