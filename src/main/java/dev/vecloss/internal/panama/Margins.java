package dev.vecloss.internal.panama;

import static dev.vecloss.internal.panama.PanamaConstants.F;
import static dev.vecloss.internal.panama.PanamaConstants.LE;
import static dev.vecloss.internal.panama.PanamaConstants.V;

import dev.vecloss.internal.Mem;
import dev.vecloss.internal.RowProblem;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * {@code multi_margin_loss} over {@code (N, C)} rows, vectorised along the class axis: one read
 * of the row sums {@code max(0, z)^p} with {@code z = margin - x_y + x_k} (the target's own lane
 * masked out) and the count (or the sum of {@code 2z}) that the target's gradient needs; the
 * gradient, where asked for, in a second read from cache. A term counts where {@code z > 0}
 * strictly, so a NaN score adds nothing, as in PyTorch. Lane sums go through
 * {@link VectorMath#sum}, so no vector crosses a method boundary.
 */
final class Margins {
    private Margins() {}

    /** Per-thread lane buffers. */
    private static final class Scratch {
        final float[] lanes = new float[V];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** 0, 1, ..., V-1: a lane's index, to mask the target's lane. */
    private static final float[] IOTA = new float[V];

    static {
        for (int l = 0; l < V; l++) {
            IOTA[l] = l;
        }
    }

    static double multiMargin(RowProblem p, long from, long to) {
        final MemorySegment x = p.input();
        final int c = Math.toIntExact(p.c());
        final boolean square = p.power() == 2;
        final Scratch sc = SCRATCH.get();
        final int whole = F.loopBound(c);
        final FloatVector iota = FloatVector.fromArray(F, IOTA, 0);
        double total = 0;
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
            total += loss;
            if (p.losses() != null) {
                p.losses().setAtIndex(Mem.F32, row, (float) loss);
            }
            if (p.grad() != null) {
                gradRow(p, off, c, whole, shift, square, (float) (p.gradScale() * wy / c));
                p.grad().set(Mem.F32, off + y * 4L, (float) (-p.gradScale() * wy / c * slope));
            }
        }
        return total;
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
}
