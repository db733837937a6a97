package dev.vecloss.internal.panama;

import static dev.vecloss.internal.panama.PanamaConstants.F;
import static dev.vecloss.internal.panama.PanamaConstants.LE;
import static dev.vecloss.internal.panama.PanamaConstants.V;

import dev.vecloss.internal.ExactSum;
import dev.vecloss.internal.Mem;
import dev.vecloss.internal.RowOp;
import dev.vecloss.internal.RowProblem;
import dev.vecloss.internal.ScalarKernels;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Cross-entropy with index targets, and the softmax focal loss, vectorised across positions: a block of {@code V} positions
 * at once, one vector per class, each lane its own position. This is the natural loop of
 * {@code (N, C, d...)} inputs, where the C scores of a position are S apart and the positions of
 * one class are contiguous: one load per class reads the block. For {@code (N, C)} inputs with
 * few classes the block of V rows (V*C contiguous floats) is copied to an L1 buffer and each
 * class gathered from it with lane stride C: a transpose in cache.
 *
 * <p>Per block, in L1 buffers laid out class by class: the class vectors and their maximum (one
 * pass over the input), the target logit, target weight and, with smoothing,
 * {@code sum_c w_c (max - x_c)} (blended where the class equals the lane's target), then the
 * exponentials and their sum without each lane's target term in one pass
 * ({@link VectorMath#expSumAcross}, which stores the exponentials only for the gradient), and
 * the loss {@code log1p(S' / exp(x_y - max))} ({@link VectorMath#log1pInPlace}); for the focal
 * loss, that times {@code (S'/S)^gamma} ({@link #focal}). The gradient reuses the exponentials. Each step is a method of its own, so that C2 inlines every vector
 * operation (see {@link AlongClasses}).
 *
 * <p>Narrow rows of {@link #ROWS_MIN_C} classes or more without smoothing (C = 100, say) skip
 * the transpose: the block's V rows, copied to L1, are done row by row
 * ({@link VectorMath#expSumRows}: each row's maximum, then its sum of exponentials, whole
 * vectors along the row and its last partial vector blended), their maxima, target logits
 * and sums put in the lanes of the same vectors as a transposed block's, and the same finish.
 * The gather (one per class, eight loads on AVX2) cost as much as the exponentials there: at
 * 256 x 100 a call went from 33 to 22 us of CPU (README, Performance). Below it the
 * transpose wins: a row of C = 10 is one whole vector and a partial one.
 *
 * <p>A row's maximum is taken by a comparison and a blend, which skip a NaN (the lane-wise
 * {@code max}, NaN-propagating, is five instructions on AVX2; in the transposed blocks it
 * costs nothing measurable and stays): a NaN logit makes its row's sum NaN (its
 * {@code x - max}), and with it the loss and the gradient; an infinite maximum makes it NaN too
 * ({@code inf - inf} or {@code -inf - -inf}), as in PyTorch. An ignored position's gradient is
 * NaN where its sum is.
 *
 * <p>Positions that do not fill a block (an image's last {@code S mod V}, a chunk's end) are a
 * block of their own with the lanes past them ignored: every lane computes with the same
 * operations, so a position's loss and gradient have the same bits wherever it sits (the scalar
 * kernel, in double, would round them differently); a row block's rows are each computed by
 * themselves, the same way. The narrow rows of such a block are copied
 * as the full ones are; the positions of a spatial block are copied one by one to the same row
 * layout (in {@code exps}, not yet in use), whose gradient goes back through {@code cols}.
 *
 * <p>Labels are compared with the class index as floats: exact below 2^24, and {@link #MAX_C} is
 * far below that. More classes go to the scalar kernel (spatial inputs only: narrow rows have
 * fewer than {@code 8 * lanes} classes).
 */
final class AcrossPositions {
    private AcrossPositions() {}

    /**
     * The most classes this kernel takes: its two class-by-class buffers hold
     * {@code 2 * V * (C + 1)} floats per thread, at most 32 MB, kept for the thread's life. Larger
     * spatial inputs (a vocabulary of a million classes laid out {@code (N, C, T)}) go to the
     * scalar kernel.
     */
    static final int MAX_C = (1 << 22) / V - 1;

    /**
     * Narrow rows of at least this many classes (and no smoothing) are done row by row
     * ({@link #rowBlock}), fewer transposed. Measured (CPU time per call, one thread): C = 100
     * 1.5x faster row by row, C = 21 the same, C = 10 1.4x slower.
     */
    static final int ROWS_MIN_C = 4 * V;

    /**
     * Per-thread buffers of a block. They only grow: a thread that alternates between shapes
     * allocates nothing once it has seen the largest C.
     */
    private static final class Scratch {
        /** The class count {@link #laneStride} is set for. */
        int c = -1;
        /** The V rows of a narrow (N, C) block as read, row by row; empty until rows come. */
        float[] rows = new float[0];
        /** Class k of the block's positions at {@code [k*V, k*V + V)}; then the target logits. */
        float[] cols = new float[0];
        /** exp(cols - max), same layout. */
        float[] exps = new float[0];
        final float[] targets = new float[V];
        final float[] max = new float[V];
        final float[] targetWeight = new float[V];
        /** sum_c w_c (max - x_c), for smoothing. */
        final float[] spread = new float[V];
        /** {@link VectorMath#expSumRows}'s lanes. */
        final float[] parts = new float[2 * V * V];
        final double[] lanes64 = new double[V * V];
        /** The block's losses, the sum S of each lane, and S' (S without the target's term). */
        final float[] loss = new float[V];
        /** The losses of consecutive blocks, summed exactly when full ({@link ExactTiles}). */
        final float[] losses = new float[ExactTiles.MAX_TILE];
        /** The factor of each lane's gradient, {@code p_k - [k = y]} times it (but for smoothing's term). */
        final float[] gradFactor = new float[V];
        /** The focal factor {@code (S'/S)^gamma}, and a reference of 0 for {@link VectorMath#expInto}. */
        final float[] pow = new float[V];
        final float[] zero = new float[V];
        final float[] sum = new float[V];
        final float[] rest = new float[V];
        final int[] laneStride = new int[V];
        /** Per row of a row block's gradient: 1/S, the factor, the target's entry, and where it is. */
        final float[] invSum = new float[V], factor = new float[V], targetEntry = new float[V];
        final int[] targetAt = new int[V];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** This thread's buffers, grown to C classes if need be ({@code c <= MAX_C}: no overflow). */
    private static Scratch scratch(int c, boolean rows) {
        Scratch s = SCRATCH.get();
        final int cols = (c + 1) * V;
        if (s.cols.length < cols) {
            s.cols = new float[cols];
            s.exps = new float[cols];
        }
        if (rows && s.rows.length < c * V + V) { // + V: a row's last partial vector is read whole
            s.rows = new float[c * V + V];
        }
        if (s.c != c) {
            s.c = c;
            for (int l = 0; l < V; l++) {
                s.laneStride[l] = l * c;
            }
        }
        return s;
    }

    /** {@code op}, cross-entropy or the softmax focal loss, over positions {@code [from, to)}. */
    static void index(RowOp op, RowProblem p, long from, long to, ExactSum acc) {
        if (p.c() > MAX_C) {
            ScalarKernels.INSTANCE.rows(op, p, from, to, acc);
            return;
        }
        final boolean focal = op == RowOp.SOFTMAX_FOCAL;
        final int c = (int) p.c();
        final long sp = p.s();
        final boolean rows = sp == 1;
        final Scratch sc = scratch(c, rows);
        // the blocks' losses are gathered in a tile and summed exactly a tile at a time
        int k = 0;
        long pos = from;
        while (pos < to) {
            final long n = pos / sp;
            final long s = pos - n * sp;
            // a full block, or the positions left in the range and, for spatial input, the image
            final int lanes = (int) Math.min(V, rows ? to - pos : Math.min(to - pos, sp - s));
            block(p, sc, rows, focal, c, pos, n * c * sp + s, lanes);
            System.arraycopy(sc.loss, 0, sc.losses, k, lanes);
            k += lanes;
            if (k > sc.losses.length - V) {
                k = flush(sc.losses, k, acc);
            }
            pos += lanes;
        }
        flush(sc.losses, k, acc);
    }

    /** Adds the first {@code k} losses of {@code tile} to {@code acc} exactly; returns 0. */
    private static int flush(float[] tile, int k, ExactSum acc) {
        int kv = (k + V - 1) / V * V;
        java.util.Arrays.fill(tile, k, kv, 0f);
        ExactTiles.add(tile, kv, acc);
        return 0;
    }

    /**
     * Positions {@code [pos, pos + lanes)}, whose class-0 logits start at element {@code base};
     * the lanes from {@code lanes} to V are ignored positions.
     */
    private static void block(RowProblem p, Scratch sc, boolean rows, boolean focal, int c, long pos, long base, int lanes) {
        readTargets(p, sc, pos, lanes);
        if (rows && c >= ROWS_MIN_C && p.eps() == 0) {
            rowBlock(p, sc, focal, c, pos, base, lanes);
            return;
        }
        final boolean staged = !rows && lanes < V;
        if (rows) {
            readRows(p, sc, c, base, lanes);
            gatherClasses(p, sc, c, sc.rows);
        } else if (staged) {
            stagePositions(p, sc, c, base, lanes);
            gatherClasses(p, sc, c, sc.exps);
        } else {
            copyClasses(p, sc, c, base);
        }
        if (p.eps() > 0) {
            spread(p, sc, c);
        }
        // S' into sc.rest, the targets' exponentials after the classes' (which only the gradient needs)
        VectorMath.expSumAcross(sc.cols, sc.exps, c, sc.max, p.grad() != null, sc.rest);
        losses(p, sc, c, focal, pos, lanes);
        if (p.grad() != null) {
            if (rows) {
                grad(p, sc, c, base, sc.rows);
                MemorySegment.copy(sc.rows, 0, p.grad(), Mem.F32, base * 4L, lanes * c);
            } else if (staged) {
                grad(p, sc, c, base, sc.cols); // the row layout again, in cols: exps is being read
                unstagePositions(p, sc, c, base, lanes);
            } else {
                grad(p, sc, c, base, null);
            }
        }
    }

    /**
     * A block of narrow rows with at least {@link #ROWS_MIN_C} classes, without smoothing, row by
     * row ({@link VectorMath#expSumRows}: no transpose), then the same finish as the other
     * blocks; the gradient row by row too ({@link #gradRows}).
     */
    private static void rowBlock(RowProblem p, Scratch sc, boolean focal, int c, long pos, long base, int lanes) {
        readRows(p, sc, c, base, lanes);
        final MemorySegment w = p.weight();
        for (int l = 0; l < V; l++) {
            final float t = sc.targets[l];
            sc.targetWeight[l] = w == null || t < 0 ? 1f : w.getAtIndex(Mem.F32, (long) t);
        }
        VectorMath.expSumRows(sc.rows, c, sc.targets, sc.max, sc.cols, sc.rest, sc.exps, p.grad() != null, sc.parts, sc.lanes64);
        losses(p, sc, c, focal, pos, lanes);
        if (p.grad() != null) {
            gradRows(p, sc, c);
            MemorySegment.copy(sc.rows, 0, p.grad(), Mem.F32, base * 4L, lanes * c);
        }
    }

    /**
     * The block's targets as floats, -1 for an ignored position and for the lanes past
     * {@code lanes}. Two loops, no test of the lane in one: C2 predicates such a test on its
     * profile, and a short block every chunk then traps into a recompilation, again and again
     * (C = 10 ran at half speed).
     */
    private static void readTargets(RowProblem p, Scratch sc, long pos, int lanes) {
        final long ignore = p.ignoreIndex();
        for (int l = 0; l < lanes; l++) {
            long y = Mem.getIndex(p.target(), p.targetKind(), pos + l);
            sc.targets[l] = y == ignore ? -1f : (float) y;
        }
        for (int l = lanes; l < V; l++) {
            sc.targets[l] = -1f;
        }
    }

    /** Narrow rows: the {@code lanes * C} floats of the block to {@code sc.rows}, zeros after them. */
    private static void readRows(RowProblem p, Scratch sc, int c, long base, int lanes) {
        MemorySegment.copy(p.input(), Mem.F32, base * 4L, sc.rows, 0, lanes * c);
        if (lanes < V) {
            java.util.Arrays.fill(sc.rows, lanes * c, V * c, 0f);
        }
    }

    /**
     * The positions of a spatial block short of V, one by one, to the row layout of
     * {@link #readRows} in {@code sc.exps} (free until the exponentials), zeros after them.
     */
    private static void stagePositions(RowProblem p, Scratch sc, int c, long base, int lanes) {
        final MemorySegment x = p.input();
        final long sp = p.s();
        final float[] stage = sc.exps;
        for (int l = 0; l < lanes; l++) {
            for (int k = 0; k < c; k++) {
                stage[l * c + k] = x.getAtIndex(Mem.F32, base + k * sp + l);
            }
        }
        java.util.Arrays.fill(stage, lanes * c, V * c, 0f);
    }

    /** The gradient of a short spatial block, from the row layout in {@code sc.cols}, to its places. */
    private static void unstagePositions(RowProblem p, Scratch sc, int c, long base, int lanes) {
        final MemorySegment g = p.grad();
        final long sp = p.s();
        final float[] stage = sc.cols;
        for (int l = 0; l < lanes; l++) {
            for (int k = 0; k < c; k++) {
                g.setAtIndex(Mem.F32, base + k * sp + l, stage[l * c + k]);
            }
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
     * Rows laid out row by row in {@code src} (the block's narrow rows, or a short spatial block
     * staged so): class k gathered with stride C; into {@code sc} as {@link #copyClasses} does.
     * Kept apart from it on purpose: one loop choosing its load with a ternary ran 9 % slower
     * (C = 10, 21 and 100, measured side by side).
     */
    private static void gatherClasses(RowProblem p, Scratch sc, int c, float[] src) {
        final MemorySegment w = p.weight();
        final FloatVector t = FloatVector.fromArray(F, sc.targets, 0);
        FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        FloatVector xy = FloatVector.zero(F);
        FloatVector wy = FloatVector.broadcast(F, 1f);
        for (int k = 0; k < c; k++) {
            FloatVector v = FloatVector.fromArray(F, src, k, sc.laneStride, 0);
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

    /**
     * The block's losses ({@link #finish}, times the focal factor for the focal loss), written
     * to the losses tensor, if any, at position {@code pos} for its {@code lanes} positions.
     */
    private static void losses(RowProblem p, Scratch sc, int c, boolean focal, long pos, int lanes) {
        finish(p, sc, c);
        if (focal) {
            focal(p, sc, c);
        }
        if (p.losses() != null) {
            MemorySegment.copy(sc.loss, 0, p.losses(), Mem.F32, pos * 4L, lanes);
        }
    }

    /** The block's losses, 0 at ignored positions, into {@code sc.loss}; the sums S into {@code sc.sum}. */
    private static void finish(RowProblem p, Scratch sc, int c) {
        final FloatVector t = FloatVector.fromArray(F, sc.targets, 0);
        final FloatVector rest = FloatVector.fromArray(F, sc.rest, 0);
        final FloatVector m = FloatVector.fromArray(F, sc.max, 0);
        final FloatVector xy = FloatVector.fromArray(F, sc.cols, c * V);
        final FloatVector ey = FloatVector.fromArray(F, sc.exps, c * V);
        final FloatVector sum = rest.add(ey); // >= 1: the maximum's own term is exp(0)
        sum.intoArray(sc.sum, 0);
        // nll = log1p(S' / e_y), no cancellation for a confident position; past a gap of 80
        // e_y nears the subnormal range (it is 0 past 104) and log1p(S - 1) + gap has nothing
        // left to cancel
        final FloatVector gap = m.sub(xy);
        final VectorMask<Float> far = gap.compare(VectorOperators.GT, 80f);
        rest.div(ey).blend(sum.sub(1f), far).intoArray(sc.loss, 0);
        VectorMath.log1pInPlace(sc.loss, V);
        FloatVector nll = FloatVector.fromArray(F, sc.loss, 0).add(FloatVector.zero(F).blend(gap, far));
        // an infinite maximum means inf - inf somewhere in the column: NaN, as in PyTorch
        nll = nll.blend(Float.NaN, m.abs().compare(VectorOperators.EQ, Float.POSITIVE_INFINITY));
        FloatVector loss = FloatVector.fromArray(F, sc.targetWeight, 0).mul(nll);
        final double eps = p.eps();
        if (eps > 0) {
            // log(S) = log1p(S'/e_y) + (x_y - max), and past the gap log1p(S - 1) itself: there
            // nll - gap is inf - inf for a -inf target, whose loss is +inf (as in PyTorch)
            FloatVector l1p = FloatVector.fromArray(F, sc.loss, 0);
            FloatVector logSum = l1p.sub(gap).blend(l1p, far);
            FloatVector smoothTerm = logSum.mul((float) p.weightSum()).add(FloatVector.fromArray(F, sc.spread, 0));
            loss = loss.mul((float) (1 - eps)).add(smoothTerm.mul((float) (eps / c)));
        }
        loss.blend(0f, t.compare(VectorOperators.LT, 0f)).intoArray(sc.loss, 0);
        FloatVector.fromArray(F, sc.targetWeight, 0).mul((float) (p.gradScale() * (1 - eps))).intoArray(sc.gradFactor, 0);
    }

    /**
     * The softmax focal loss (LOSSES.md 5.3) from cross-entropy's block, whose loss is
     * {@code L = alpha_y nll} (alpha is the weight, no smoothing): the loss {@code mod L},
     * {@code mod = q^gamma} with {@code q = 1 - p_y = S'/S}, and the gradient's factor
     * {@code alpha_y mod + gamma p_y (mod / q) L}, its second term taken as its limit 0 where
     * {@code q} or {@code p_y} is 0 (as {@link ScalarKernels#focalSlope}). {@code mod} is a product
     * for gamma 1 and 2 (the default), else {@code exp(gamma log q)} (0 at q = 0, 1 at q = 1).
     */
    private static void focal(RowProblem p, Scratch sc, int c) {
        final float gamma = (float) p.gamma();
        final FloatVector sum = FloatVector.fromArray(F, sc.sum, 0);
        final FloatVector q = FloatVector.fromArray(F, sc.rest, 0).div(sum);
        // mod into sc.pow on every path, so that no vector is merged across the branches
        if (gamma == 0) {
            java.util.Arrays.fill(sc.pow, 1f);
        } else if (gamma == 1) {
            q.intoArray(sc.pow, 0);
        } else if (gamma == 2) {
            q.mul(q).intoArray(sc.pow, 0);
        } else {
            q.intoArray(sc.pow, 0);
            VectorMath.logInPlace(sc.pow, V);
            FloatVector.fromArray(F, sc.pow, 0).mul(gamma).intoArray(sc.pow, 0);
            VectorMath.expInto(sc.pow, sc.pow, V, sc.zero);
        }
        final FloatVector mod = FloatVector.fromArray(F, sc.pow, 0);
        final FloatVector l = FloatVector.fromArray(F, sc.loss, 0);
        final FloatVector py = FloatVector.fromArray(F, sc.exps, c * V).div(sum);
        final VectorMask<Float> limit = q.compare(VectorOperators.EQ, 0f).or(py.compare(VectorOperators.EQ, 0f))
                .or(gamma == 0 ? F.maskAll(true) : F.maskAll(false));
        final FloatVector second = py.mul(gamma).mul(mod.div(q)).mul(l).blend(0f, limit);
        FloatVector.fromArray(F, sc.targetWeight, 0).mul(mod).add(second).mul((float) p.gradScale()).intoArray(sc.gradFactor, 0);
        // ignored lanes (and those past the block's positions): 0, whatever their sums were
        final VectorMask<Float> ignored = FloatVector.fromArray(F, sc.targets, 0).compare(VectorOperators.LT, 0f);
        mod.mul(l).blend(0f, ignored).intoArray(sc.loss, 0);
    }

    /**
     * The gradient from the block's exponentials: {@code p_k = exp_k / S}; into the segment, or,
     * row by row, into {@code rowsOut} (for the caller to copy to the segment).
     */
    private static void grad(RowProblem p, Scratch sc, int c, long base, float[] rowsOut) {
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
        final FloatVector a = FloatVector.fromArray(F, sc.gradFactor, 0).blend(0f, ignored);
        final FloatVector b = FloatVector.broadcast(F, (float) (p.gradScale() * eps / c)).blend(0f, ignored);
        final float wSum = (float) p.weightSum();
        // ignored lanes: 0, or NaN where the softmax is NaN, as PyTorch's log_softmax backward
        final FloatVector m = FloatVector.fromArray(F, sc.max, 0);
        final FloatVector atIgnored = FloatVector.zero(F).blend(Float.NaN, m.abs().compare(VectorOperators.EQ, Float.POSITIVE_INFINITY)
                .or(m.test(VectorOperators.IS_NAN)).or(sum.test(VectorOperators.IS_NAN)));
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
            if (rowsOut != null) {
                gv.intoArray(rowsOut, k, sc.laneStride, 0);
            } else {
                gv.intoMemorySegment(g, (base + k * sp) * 4L, LE);
            }
        }
    }

    /**
     * The gradient of a row block ({@link #rowBlock}, no smoothing) from the exponentials in
     * {@code sc.exps}, laid out as the rows, into {@code sc.rows}: {@link #grad}'s values with
     * its operations, {@code a (exp_k / S)}, at the target {@code a (-S'/S)}, in an ignored row 0
     * or NaN. Row by row, every row the same way (no test of the row: see {@link #readTargets});
     * a row's last partial vector is written whole, its lanes past the row's end written again
     * with the next row (or into the buffer's padding).
     */
    private static void gradRows(RowProblem p, Scratch sc, int c) {
        final FloatVector t = FloatVector.fromArray(F, sc.targets, 0);
        final VectorMask<Float> ignored = t.compare(VectorOperators.LT, 0f);
        final FloatVector sum = FloatVector.fromArray(F, sc.sum, 0);
        final FloatVector invSum = FloatVector.broadcast(F, 1f).div(sum);
        final FloatVector pyMinus1 = FloatVector.fromArray(F, sc.rest, 0).neg().mul(invSum);
        final FloatVector a = FloatVector.fromArray(F, sc.gradFactor, 0).blend(0f, ignored);
        final FloatVector m = FloatVector.fromArray(F, sc.max, 0);
        final FloatVector atIgnored = FloatVector.zero(F).blend(Float.NaN, m.abs().compare(VectorOperators.EQ, Float.POSITIVE_INFINITY)
                .or(m.test(VectorOperators.IS_NAN)).or(sum.test(VectorOperators.IS_NAN)));
        invSum.intoArray(sc.invSum, 0);
        a.intoArray(sc.factor, 0);
        a.mul(pyMinus1).blend(atIgnored, ignored).intoArray(sc.targetEntry, 0);
        for (int l = 0; l < V; l++) {
            sc.targetAt[l] = l * c + Math.max(0, (int) sc.targets[l]);
        }
        final float[] exps = sc.exps;
        final float[] out = sc.rows;
        for (int l = 0; l < V; l++) {
            final int base = l * c;
            final FloatVector inv = FloatVector.broadcast(F, sc.invSum[l]);
            final FloatVector al = FloatVector.broadcast(F, sc.factor[l]);
            final VectorMask<Float> ig = FloatVector.broadcast(F, sc.targets[l]).compare(VectorOperators.LT, 0f);
            final FloatVector at = FloatVector.broadcast(F, sc.targetEntry[l]); // an ignored row's value too
            for (int i = 0; i < c; i += V) {
                FloatVector.fromArray(F, exps, base + i).mul(inv).mul(al).blend(at, ig).intoArray(out, base + i);
            }
            out[sc.targetAt[l]] = sc.targetEntry[l];
        }
    }
}
