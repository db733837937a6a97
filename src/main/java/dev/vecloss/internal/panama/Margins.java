package dev.vecloss.internal.panama;

import static dev.vecloss.internal.panama.PanamaConstants.D;
import static dev.vecloss.internal.panama.PanamaConstants.F;
import static dev.vecloss.internal.panama.PanamaConstants.LE;
import static dev.vecloss.internal.panama.PanamaConstants.V;

import dev.vecloss.internal.ExactSum;
import dev.vecloss.internal.Mem;
import dev.vecloss.internal.RowProblem;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * The row margin losses over {@code (N, C)} rows, vectorised along the class axis.
 *
 * <p>{@code multi_margin_loss}: one read
 * of the row sums {@code max(0, z)^p} with {@code z = margin - x_y + x_k} (the target's own lane
 * masked out) and the count (or the sum of {@code 2z}) that the target's gradient needs; the
 * gradient, where asked for, in a second read from cache. A term counts where {@code z > 0}
 * strictly, so a NaN score adds nothing, as in PyTorch. Lane sums go through
 * {@link VectorMath#sum}, so no vector crosses a method boundary.
 *
 * <p>Keras's {@code categorical_hinge}: one read of scores and targets gives
 * {@code pos = sum_c y_c f_c} and {@code neg = max_c (1 - y_c) f_c} in double, as the scalar
 * kernel takes them (products of two floats, and {@code 1 - y} of a float, are exact in double,
 * so {@code neg} has the scalar kernel's bits and {@code pos} differs only in the order of its
 * double sum): the loss {@code neg - pos + margin} cancels near the margin, which float32 sums
 * would show. The gradient, {@code -y_c} plus {@code 1 - y_j} at the first class attaining
 * {@code neg}, is a second read.
 */
final class Margins {
    private Margins() {}

    /** Per-thread lane buffers: a float vector's, and a double vector's (categorical hinge's sums). */
    private static final class Scratch {
        final float[] lanes = new float[V];
        final double[] doubleLanes = new double[D.length()];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** 0, 1, ..., V-1: a lane's index, to mask the target's lane. */
    private static final float[] IOTA = new float[V];

    static {
        for (int l = 0; l < V; l++) {
            IOTA[l] = l;
        }
    }

    static void multiMargin(RowProblem p, long from, long to, ExactSum acc) {
        final MemorySegment x = p.input();
        final int c = Math.toIntExact(p.c());
        final boolean square = p.power() == 2;
        final Scratch sc = SCRATCH.get();
        final int whole = F.loopBound(c);
        final FloatVector iota = FloatVector.fromArray(F, IOTA, 0);
        for (long row = from; row < to; row++) {
            final long off = row * c * 4L;
            final int y = (int) Mem.getIndex(p.target(), p.targetKind(), row);
            final float xy = x.get(Mem.F32, off + y * 4L);
            final double wy = p.weight() == null ? 1 : p.weight().getAtIndex(Mem.F32, y);
            final float shift = (float) p.margin() - xy;
            FloatVector terms = FloatVector.zero(F);
            FloatVector slopes = FloatVector.zero(F);
            int i = 0;
            for (; i < whole; i += V) {
                FloatVector z = FloatVector.fromMemorySegment(F, x, off + i * 4L, LE).add(shift);
                // not the target's lane: no lane index equals y - i outside y's own vector (no branch,
                // so no mask is merged across control flow, which would box it)
                VectorMask<Float> active = z.compare(VectorOperators.GT, 0f)
                        .and(iota.compare(VectorOperators.NE, (float) (y - i)));
                FloatVector zz = z.blend(0f, active.not());
                terms = square ? zz.fma(zz, terms) : terms.add(zz);
                slopes = square ? slopes.add(zz.mul(2f)) : slopes.add(FloatVector.zero(F).blend(1f, active));
            }
            // the last C mod V classes one by one, with the same float arithmetic (masked loads
            // were seen to box their vectors in some compilations)
            float tailTerms = 0;
            float tailSlopes = 0;
            for (; i < c; i++) {
                float z = x.get(Mem.F32, off + i * 4L) + shift;
                if (z > 0 && i != y) {
                    tailTerms += square ? z * z : z;
                    tailSlopes += square ? 2 * z : 1;
                }
            }
            terms.intoArray(sc.lanes, 0);
            final double sum = (double) VectorMath.sum(sc.lanes, V) + tailTerms;
            slopes.intoArray(sc.lanes, 0);
            final double slope = (double) VectorMath.sum(sc.lanes, V) + tailSlopes;
            final double loss = wy * sum / c;
            acc.add(loss);
            if (p.losses() != null) {
                p.losses().setAtIndex(Mem.F32, row, (float) loss);
            }
            if (p.grad() != null) {
                gradRow(p, off, c, whole, shift, square, (float) (p.gradScale() * wy / c));
                p.grad().set(Mem.F32, off + y * 4L, (float) (-p.gradScale() * wy / c * slope));
            }
        }
    }

    /** The row's gradient but the target's entry: {@code g} (or {@code 2 g z}) where {@code z > 0}, else 0. */
    private static void gradRow(RowProblem p, long off, int c, int whole, float shift, boolean square, float g) {
        final MemorySegment x = p.input();
        int i = 0;
        for (; i < whole; i += V) {
            FloatVector z = FloatVector.fromMemorySegment(F, x, off + i * 4L, LE).add(shift);
            FloatVector h = square ? z.mul(2f * g) : FloatVector.broadcast(F, g);
            h.blend(0f, z.compare(VectorOperators.GT, 0f).not()).intoMemorySegment(p.grad(), off + i * 4L, LE);
        }
        for (; i < c; i++) {
            float z = x.get(Mem.F32, off + i * 4L) + shift;
            p.grad().set(Mem.F32, off + i * 4L, z > 0 ? (square ? z * (2f * g) : g) : 0f);
        }
    }

    static void categoricalHinge(RowProblem p, long from, long to, ExactSum acc) {
        final MemorySegment x = p.input();
        final MemorySegment t = p.probTarget();
        final int c = Math.toIntExact(p.c());
        final int whole = F.loopBound(c);
        final double[] lanes = SCRATCH.get().doubleLanes;
        for (long row = from; row < to; row++) {
            final long off = row * c * 4L;
            DoubleVector pos0 = DoubleVector.zero(D);
            DoubleVector pos1 = pos0;
            DoubleVector neg0 = DoubleVector.broadcast(D, Double.NEGATIVE_INFINITY);
            DoubleVector neg1 = neg0;
            int i = 0;
            for (; i < whole; i += V) {
                FloatVector xf = FloatVector.fromMemorySegment(F, x, off + i * 4L, LE);
                FloatVector yf = FloatVector.fromMemorySegment(F, t, off + i * 4L, LE);
                DoubleVector x0 = (DoubleVector) xf.convertShape(VectorOperators.F2D, D, 0);
                DoubleVector x1 = (DoubleVector) xf.convertShape(VectorOperators.F2D, D, 1);
                DoubleVector y0 = (DoubleVector) yf.convertShape(VectorOperators.F2D, D, 0);
                DoubleVector y1 = (DoubleVector) yf.convertShape(VectorOperators.F2D, D, 1);
                pos0 = y0.fma(x0, pos0); // the product is exact: fma rounds as y * x + pos does
                pos1 = y1.fma(x1, pos1);
                neg0 = neg0.max(y0.neg().add(1).mul(x0)); // max: NaN sticks, as the scalar rule
                neg1 = neg1.max(y1.neg().add(1).mul(x1));
            }
            pos0.add(pos1).intoArray(lanes, 0);
            double pos = VectorMath.sum(lanes);
            double neg = neg0.max(neg1).reduceLanes(VectorOperators.MAX); // order-free: the same bits always
            for (; i < c; i++) {
                double f = x.get(Mem.F32, off + i * 4L);
                double y = t.get(Mem.F32, off + i * 4L);
                pos += y * f;
                neg = Math.max(neg, (1 - y) * f);
            }
            final double z = neg - pos + p.margin();
            final double loss = Math.max(z, 0);
            acc.add(loss);
            if (p.losses() != null) {
                p.losses().setAtIndex(Mem.F32, row, (float) loss);
            }
            if (p.grad() != null) {
                categoricalHingeGrad(p, off, c, whole, z > 0 ? p.gradScale() : 0, neg);
            }
        }
    }

    /**
     * {@code s (-y_c)} over the row, and {@code s (1 - 2 y_j)} at the first class {@code j} whose
     * {@code (1 - y_j) f_j} is {@code neg} (or NaN, when {@code neg} is): {@code s y} rounded once
     * from the double {@code s}, as {@code fma(y, sf, y (s - sf))} with {@code sf} the float
     * nearest {@code s} (within half an ulp and a 2^-48 relative remainder). {@code s} is 0 where
     * the loss is not active.
     */
    private static void categoricalHingeGrad(RowProblem p, long off, int c, int whole, double s, double neg) {
        final MemorySegment x = p.input();
        final MemorySegment t = p.probTarget();
        final float sf = (float) -s;
        final float rest = (float) (-s - sf);
        int i = 0;
        for (; i < whole; i += V) {
            FloatVector y = FloatVector.fromMemorySegment(F, t, off + i * 4L, LE);
            y.fma(FloatVector.broadcast(F, sf), y.mul(rest)).intoMemorySegment(p.grad(), off + i * 4L, LE);
        }
        for (; i < c; i++) {
            float y = t.get(Mem.F32, off + i * 4L);
            p.grad().set(Mem.F32, off + i * 4L, Math.fma(y, sf, y * rest));
        }
        if (s != 0) {
            for (int k = 0; k < c; k++) {
                double f = x.get(Mem.F32, off + k * 4L);
                double y = t.get(Mem.F32, off + k * 4L);
                double v = (1 - y) * f;
                if (v == neg || Double.isNaN(neg) && Double.isNaN(v)) {
                    p.grad().set(Mem.F32, off + k * 4L, (float) (s * (1 - 2 * y)));
                    break;
                }
            }
        }
    }
}
