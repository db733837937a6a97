package dev.vecloss.internal.panama;

import static dev.vecloss.internal.panama.PanamaConstants.F;
import static dev.vecloss.internal.panama.PanamaConstants.LE;
import static dev.vecloss.internal.panama.PanamaConstants.LOWEST;
import static dev.vecloss.internal.panama.PanamaConstants.V;

import dev.vecloss.internal.ExactSum;
import dev.vecloss.internal.Mem;
import dev.vecloss.internal.RowProblem;
import dev.vecloss.internal.ScalarKernels;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Cross-entropy (and the softmax focal loss) over {@code (N, C)} rows with {@code C >= 8V}, vectorised along the class axis,
 * one row at a time, in tiles of {@link #TILE} classes that stay in L1.
 *
 * <p>One read of the row gives the loss (online softmax): each tile is copied to an L1 buffer
 * while its maximum is taken, its exponentials relative to the row's running reference are
 * computed in place ({@link VectorMath#expSum}) and summed. The reference is raised only when
 * a tile exceeds it by more than {@link #RESCALE_GAP}, so the rescaling of the running sum is a
 * rare scalar step; the loss does not need the exact maximum ({@link ScalarKernels#nll} takes any
 * reference). The target's own exponential is zeroed in the buffer before the sum, so that the
 * loss is {@code log1p(S' / exp(x_y - M))}, exact for a confident row. Index targets without
 * smoothing, the common case, take {@link #maxSums} instead: the row's maximum first, then the
 * exponentials against it straight from the segment (two reads, the second from cache, and no
 * copy, no rescaling: 20-30 % faster on cache-resident batches). Smoothing and probability
 * targets do the same, with their linear sums in one more read
 * ({@link #linearSums}); the online form above remains for a row whose maximum is not finite,
 * whose NaN it gives. The gradient reads the row again, from cache, tile by tile.
 *
 * <p>Label smoothing and probability targets need {@code sum_k w_k q_k (lse - x_k)}, taken as
 * {@code (lse - M) sum wq + sum wq (M - x)} with {@code M} the row's exact maximum: two sums of
 * non-negative terms, nothing cancels (the shift by {@code x_0} they replace cancelled in
 * float32 for one-hot targets, and was -inf - -inf for {@code x_0 = -inf}). In the online form
 * the second sum is shifted by the running maximum, tile by tile, and raised by
 * {@code (M' - M) sum wq} when the maximum grows. For probability targets {@code lse - M = log1p(S'/exp(M - ref))}, with
 * {@code S'} the sum without the maximum's own term (kept apart, tile by tile), so that a row
 * whose one-hot target leads keeps a loss of 1e-8 as index targets do.
 *
 * <p>Staging the exponentials through a buffer keeps every method small: C2 inlines a bounded
 * number of nodes per compilation, and a vector loop that inlined the exponential beside its
 * segment loads would leave calls out of line, boxing their vectors on every call.
 */
final class AlongClasses {
    private AlongClasses() {}

    /** Classes per tile: 1 KiB of floats, a multiple of any lane count. */
    static final int TILE = 256;

    /**
     * The row's reference is raised only when a tile exceeds it by more than this: terms up to
     * e^30 keep the float sums far from overflow (a row would need 10^25 of them).
     */
    private static final float RESCALE_GAP = 30f;

    /** Per-thread state: the tile buffer and the results of {@link #rowSums}. */
    private static final class Scratch {
        final float[] tile = new float[TILE];
        /** {@code w_k q_k} of the tile's classes (1 and w_k for index targets), 0 past its end. */
        final float[] weighted = new float[TILE];
        /** The reference in every lane, for {@link VectorMath#expInto}; and a vector's lanes to sum. */
        final float[] ref = new float[V];
        final float[] lanes = new float[V];
        /** A row's last partial vector of x, q and w, zero-padded ({@link #tail}). */
        final float[] tailX = new float[V], tailQ = new float[V], tailW = new float[V];
        /** {@link VectorMath#expSum(MemorySegment, long, int, float, int, float[], double[])}'s lanes. */
        final double[] lanes64 = new double[V];
        /** {@link VectorMath#expSum(MemorySegment, long, int, float, int, float[], double[])}'s staging. */
        final float[] staging = new float[4 * V];
        /**
         * Reference of the exponentials; the sum of {@code exp(x_k - ref)} but the target's (index
         * targets) or but the row's first maximum's (probability targets);
         * {@code sum w q (M - x)}; {@code sum w q}; the row's maximum M.
         */
        double reference, rest, shifted, wq;
        float max;
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * Cross-entropy with index targets, or, for {@code focal}, the softmax focal loss (LOSSES.md
     * 5.3; the weight is alpha, no smoothing): the same row sums, then
     * {@code alpha_y (1 - p_y)^gamma nll} with {@code 1 - p_y = S'/S} as the scalar kernel takes
     * it ({@link ScalarKernels#focalModulator}, {@link ScalarKernels#focalSlope}), whose gradient
     * is {@code alpha_y G (p_k - [k = y])}.
     */
    static void index(RowProblem p, long from, long to, boolean focal, ExactSum acc) {
        final MemorySegment x = p.input();
        final int c = Math.toIntExact(p.c());
        final double eps = p.eps();
        final MemorySegment w = p.weight();
        final Scratch sc = SCRATCH.get();
        for (long row = from; row < to; row++) {
            final long off = row * c * 4L;
            final long y = Mem.getIndex(p.target(), p.targetKind(), row);
            if (y == p.ignoreIndex()) {
                ignoredRow(p, row, off, c, sc.tile);
                continue;
            }
            final int yi = (int) y;
            if (!maxSums(x, off, c, yi, sc)) {
                rowSums(p, off, c, yi, null, sc);
            } else if (eps > 0) {
                linearSums(p, off, c, null, sc);
            }
            final double m = sc.reference;
            final double rest = sc.rest;
            final double xy = x.get(Mem.F32, off + yi * 4L);
            final double ey = Math.exp(xy - m);
            final double sum = rest + ey;
            final double wy = w == null ? 1 : w.getAtIndex(Mem.F32, yi);
            final double nll = ScalarKernels.nll(xy, m, rest, ey);
            final double q = rest / sum; // 1 - p_y
            final double mod = focal ? ScalarKernels.focalModulator(q, p.gamma()) : 1;
            double loss;
            if (focal) {
                loss = wy * mod * nll;
            } else if (eps > 0) {
                // sum_c w_c (lse - x_c) = (lse - M) W + sum_c w_c (M - x_c), two sums of
                // non-negative terms. The first, log(S) + (m - M) in double, is never small next
                // to the whole: lse >= log C + mean(x), so the sum is at least min(w) C log C.
                double smoothTerm = (Math.log(sum) + (m - sc.max)) * p.weightSum() + sc.shifted;
                loss = (1 - eps) * (wy * nll) + eps / c * smoothTerm;
            } else {
                loss = wy * nll;
            }
            acc.add(loss);
            if (p.losses() != null) {
                p.losses().setAtIndex(Mem.F32, row, (float) loss);
            }
            if (p.grad() != null && focal) {
                double a = p.gradScale() * wy * ScalarKernels.focalSlope(q, ey / sum, mod, nll, p.gamma());
                gradRow(p, off, c, sc.max, (float) (a / sumAtMax(sum, m, sc.max)), 0f, null, sc);
                p.grad().set(Mem.F32, off + yi * 4L, (float) (a * -q));
            } else if (p.grad() != null) {
                double sigma = p.gradScale();
                double a = sigma * (1 - eps) * wy;
                double b = sigma * eps / c;
                gradRow(p, off, c, sc.max, (float) ((a + b * p.weightSum()) / sumAtMax(sum, m, sc.max)), (float) b, null, sc);
                // the target's entry: p_y - 1 = -S'/S, exact where it would cancel
                double gy = a * (-rest / sum) + b * (ey / sum * p.weightSum() - wy);
                p.grad().set(Mem.F32, off + yi * 4L, (float) gy);
            }
        }
    }

    static void prob(RowProblem p, long from, long to, ExactSum acc) {
        final MemorySegment x = p.input();
        final int c = Math.toIntExact(p.c());
        final Scratch sc = SCRATCH.get();
        for (long row = from; row < to; row++) {
            final long off = row * c * 4L;
            if (!maxSums(x, off, c, -1, sc)) {
                rowSums(p, off, c, -1, p.probTarget(), sc);
            } else {
                linearSums(p, off, c, p.probTarget(), sc);
            }
            // -sum_c w_c q_c (x_c - lse) = (lse - M) sum w q + sum w q (M - x), where
            // lse - M = log1p(S' e^(ref - M)), S' without the maximum's own term
            // u = S' e^(ref - M): S e^(ref - M) = 1 + u, the maximum's own term being exp(0); NaN
            // for a row whose maximum is not finite (its softmax is NaN, loss and gradient)
            final double u = !Float.isFinite(sc.max) ? Double.NaN
                    : sc.reference == sc.max ? sc.rest : sc.rest * Math.exp(sc.reference - sc.max);
            final double lseOverMax = Math.log1p(u);
            final double loss = lseOverMax * sc.wq + sc.shifted;
            acc.add(loss);
            if (p.losses() != null) {
                p.losses().setAtIndex(Mem.F32, row, (float) loss);
            }
            if (p.grad() != null) {
                // relative to M: see sumAtMax
                gradRow(p, off, c, sc.max, (float) (p.gradScale() * sc.wq / (1 + u)), (float) p.gradScale(), p.probTarget(),
                        sc);
            }
        }
    }

    /**
     * {@code sum}, a sum of exponentials relative to {@code ref}, relative to the row's maximum
     * {@code max} instead, for the gradient {@code p_k = exp(x_k - M) / sum}: {@code x_k - M} is
     * exact for the largest terms, where {@code x_k - ref} (up to 30) rounds to 2^-19, a relative
     * error of the probability near 1 that {@code p_k q - ...} would show. NaN for a row whose
     * maximum is not finite (its softmax is NaN).
     */
    private static double sumAtMax(double sum, double ref, float max) {
        return !Float.isFinite(max) ? Double.NaN : ref == max ? sum : sum * Math.exp(ref - max);
    }

    /**
     * The row sums at the row's exact maximum M, in two reads of the row from the segment (the
     * second from L1 or L2): M, then {@code sum_{k != y} exp(x_k - M)} in one call
     * ({@link VectorMath#expSum(MemorySegment, long, int, float, int, float[], double[])}: one
     * subtraction and one exponential per logit, no copy, no rescaling; float sums of 32 terms
     * per lane added in double), or for
     * {@code y < 0} (probability targets) the sum over every k but the row's first maximum (whose
     * term, exp(0) = 1, the caller adds back), as {@link #rowSums} takes them. Returns false,
     * having set nothing, for a row whose maximum is not finite (NaN, +-inf: {@link #rowSums}
     * gives its NaN).
     */
    private static boolean maxSums(MemorySegment x, long off, int c, int y, Scratch sc) {
        final float max = rowMax(x, off, c);
        if (!Float.isFinite(max)) {
            return false;
        }
        final int skip = y >= 0 ? y : indexOf(x, off, c, max);
        final double rest = VectorMath.expSum(x, off, c, max, skip, sc.staging, sc.lanes64);
        sc.reference = max;
        sc.max = max;
        sc.rest = rest;
        sc.shifted = 0;
        sc.wq = 0;
        return true;
    }

    /**
     * With the row's finite maximum {@code sc.max} known: {@code sum_k w_k q_k (M - x_k)} into
     * {@code sc.shifted} and {@code sum_k w_k q_k} into {@code sc.wq}, straight from the
     * segments, each tile's float sums added in double; {@code q_k} the smoothed probability
     * target, or 1 for index targets ({@code q} null). It forms {@code w_k q_k} in the loop, as
     * {@link #weightedTargets} does, rather than staging them through that method's array as the
     * online form's {@link #targetSums} does: staged, these rows ran 14-25 % slower at
     * 256 x 1000 (JMH, probability targets and smoothing, measured side by side).
     */
    private static void linearSums(RowProblem p, long off, int c, MemorySegment q, Scratch sc) {
        final MemorySegment x = p.input();
        final MemorySegment w = p.weight();
        final float keep = (float) (1 - p.eps());
        final float spread = (float) (p.eps() / p.c());
        final boolean smooth = p.eps() > 0;
        final FloatVector m = FloatVector.broadcast(F, sc.max);
        final float[] lanes = sc.lanes;
        double sh = 0;
        double wq = 0;
        for (int t0 = 0; t0 < c; t0 += TILE) {
            final int n = Math.min(TILE, c - t0);
            FloatVector sd = FloatVector.zero(F);
            FloatVector sq = FloatVector.zero(F);
            int i = 0;
            // whole vectors with plain loads, then the partial one masked (see weightedTargets)
            for (; i + V <= n; i += V) {
                final long at = off + (t0 + i) * 4L;
                FloatVector t = FloatVector.broadcast(F, 1f);
                if (q != null) {
                    t = FloatVector.fromMemorySegment(F, q, at, LE);
                    if (smooth) {
                        t = t.mul(keep).add(spread);
                    }
                }
                if (w != null) {
                    t = t.mul(FloatVector.fromMemorySegment(F, w, (t0 + i) * 4L, LE));
                }
                sd = m.sub(FloatVector.fromMemorySegment(F, x, at, LE)).fma(t, sd);
                sq = sq.add(t);
            }
            if (i < n) {
                // the last partial vector staged in L1, zero-padded: the values a masked load
                // gives, without the masked load, which C2 left to its allocating fallback in
                // some compilations (120 B per call, AllocationTest)
                final long at = off + (t0 + i) * 4L;
                final int rest = n - i;
                final VectorMask<Float> in = F.indexInRange(i, n);
                FloatVector t = FloatVector.broadcast(F, 1f);
                if (q != null) {
                    t = FloatVector.fromArray(F, tail(q, at, rest, sc.tailQ), 0);
                    if (smooth) {
                        t = t.mul(keep).add(spread);
                    }
                }
                if (w != null) {
                    t = t.mul(FloatVector.fromArray(F, tail(w, (t0 + i) * 4L, rest, sc.tailW), 0));
                }
                t = t.blend(0f, in.not());
                // absent lanes: x reads 0, M - 0 is finite, times 0
                sd = m.sub(FloatVector.fromArray(F, tail(x, at, rest, sc.tailX), 0)).fma(t, sd);
                sq = sq.add(t);
            }
            sd.intoArray(lanes, 0);
            sh += VectorMath.sum(lanes, V);
            sq.intoArray(lanes, 0);
            wq += VectorMath.sum(lanes, V);
        }
        sc.shifted = sh;
        sc.wq = wq;
    }

    /** {@code rest} floats at byte {@code at} of {@code seg} into {@code dst}, zeros after them. */
    private static float[] tail(MemorySegment seg, long at, int rest, float[] dst) {
        MemorySegment.copy(seg, Mem.F32, at, dst, 0, rest);
        java.util.Arrays.fill(dst, rest, V, 0f);
        return dst;
    }

    /** The first index of {@code v} in the {@code c} floats at byte {@code off} of {@code x}, or -1 (for NaN: never asked). */
    private static int indexOf(MemorySegment x, long off, int c, float v) {
        int i = 0;
        for (; i + V <= c; i += V) {
            VectorMask<Float> eq = FloatVector.fromMemorySegment(F, x, off + i * 4L, LE).compare(VectorOperators.EQ, v);
            if (eq.anyTrue()) {
                return i + eq.firstTrue();
            }
        }
        if (i < c) {
            VectorMask<Float> in = F.indexInRange(i, c);
            VectorMask<Float> eq = FloatVector.fromMemorySegment(F, x, off + i * 4L, LE, in).compare(VectorOperators.EQ, v).and(in);
            if (eq.anyTrue()) {
                return i + eq.firstTrue();
            }
        }
        return -1;
    }

    /**
     * The maximum of the {@code c} floats at byte {@code off} of {@code x}: four running maxima
     * (one would wait on the latency of each max in turn), the last {@code C mod V} one by one.
     * The whole vectors take it by a comparison and a blend, which skip a NaN (the lane-wise
     * {@code max}, NaN-propagating as {@code Math.max}, is five instructions on AVX2 and cost
     * 4-5 % of the whole row loop at C = 1000); the last ones by {@code Math.max}. So a NaN may
     * or may not show here, and the callers do not depend on it: the row's sum of exponentials
     * is NaN either way, and with it the loss and the gradient. -inf, or +inf if any, for a row
     * without a finite value.
     */
    private static float rowMax(MemorySegment x, long off, int c) {
        FloatVector m0 = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        FloatVector m1 = m0, m2 = m0, m3 = m0;
        int i = 0;
        for (; i + 4 * V <= c; i += 4 * V) {
            FloatVector v0 = FloatVector.fromMemorySegment(F, x, off + i * 4L, LE);
            FloatVector v1 = FloatVector.fromMemorySegment(F, x, off + (i + V) * 4L, LE);
            FloatVector v2 = FloatVector.fromMemorySegment(F, x, off + (i + 2 * V) * 4L, LE);
            FloatVector v3 = FloatVector.fromMemorySegment(F, x, off + (i + 3 * V) * 4L, LE);
            m0 = m0.blend(v0, v0.compare(VectorOperators.GT, m0));
            m1 = m1.blend(v1, v1.compare(VectorOperators.GT, m1));
            m2 = m2.blend(v2, v2.compare(VectorOperators.GT, m2));
            m3 = m3.blend(v3, v3.compare(VectorOperators.GT, m3));
        }
        for (; i + V <= c; i += V) {
            FloatVector v0 = FloatVector.fromMemorySegment(F, x, off + i * 4L, LE);
            m0 = m0.blend(v0, v0.compare(VectorOperators.GT, m0));
        }
        // the last C mod V one by one (a maximum has one value in any order, NaN included): a
        // masked load there was left to C2's allocating fallback in some compilations
        float tail = Float.NEGATIVE_INFINITY;
        for (; i < c; i++) {
            tail = Math.max(tail, x.get(Mem.F32, off + i * 4L));
        }
        return Math.max(m0.max(m1).max(m2.max(m3)).reduceLanes(VectorOperators.MAX), tail);
    }

    /**
     * One read of a row into {@code sc}: the reference, the maximum M, the sum of
     * {@code exp(x_k - ref)} over {@code k != y}, or for {@code y < 0} over all k but the first
     * maximum (whose term is exp(M - ref)); and, with smoothing or probability targets
     * ({@code q}, or null for index targets), {@code sum_k w_k q_k (M - x_k)} and
     * {@code sum_k w_k q_k}, where {@code q_k = 1} for index targets.
     */
    private static void rowSums(RowProblem p, long off, int c, int y, MemorySegment q, Scratch sc) {
        final float[] buf = sc.tile;
        final boolean weighted = q != null || p.eps() > 0;
        double ref = 0;
        double rest = 0;
        double top = 0; // y < 0: the term of the row's first maximum so far
        float max = Float.NEGATIVE_INFINITY;
        float shift = 0; // the maximum so far, or 0 while it is -inf: sum w q (shift - x) >= 0
        double sh = 0;
        double wq = 0;
        for (int t0 = 0; t0 < c; t0 += TILE) {
            final int n = Math.min(TILE, c - t0);
            final int nv = (n + V - 1) / V * V;
            final float tileMax = copyTile(p.input(), off + t0 * 4L, n, buf);
            if (t0 == 0) {
                ref = Math.max(tileMax, LOWEST);
            } else if (tileMax > ref + RESCALE_GAP) {
                double scale = Math.exp(ref - tileMax);
                rest *= scale;
                top *= scale;
                ref = tileMax;
            }
            final boolean newMax = tileMax > max;
            max = Math.max(max, tileMax); // NaN sticks
            if (weighted) {
                float s = max == Float.NEGATIVE_INFINITY ? 0 : max;
                if (s != shift) { // a larger maximum (or NaN): the terms so far grow by (s - shift) w q
                    sh += ((double) s - shift) * wq;
                    shift = s;
                }
                targetSums(p, buf, n, t0, off, q, shift, sc);
                sh += sc.lanes[0];
                wq += sc.lanes[1];
            }
            if (y >= t0 && y < t0 + n) {
                buf[y - t0] = Float.NEGATIVE_INFINITY; // the target's term stays out of the sum
            } else if (y < 0 && newMax) {
                // the row's first maximum so far stays out too (the one before joins the sum): a
                // one-hot target at the maximum has loss log1p(S'/e_M), kept where log(S) loses it
                buf[indexOf(buf, n, tileMax)] = Float.NEGATIVE_INFINITY;
                rest += top;
                top = tileMax == ref ? 1 : Math.exp((double) tileMax - ref);
            }
            rest += VectorMath.expSum(buf, 0, nv, (float) ref);
        }
        sc.reference = ref;
        sc.max = max;
        sc.rest = rest;
        sc.shifted = sh;
        sc.wq = wq;
    }

    /** The first index of {@code v} in {@code buf[0, n)}, or -1 (for NaN: never asked). */
    private static int indexOf(float[] buf, int n, float v) {
        for (int i = 0; i < n; i += V) {
            VectorMask<Float> eq = FloatVector.fromArray(F, buf, i).compare(VectorOperators.EQ, v);
            if (eq.anyTrue()) {
                return i + eq.firstTrue();
            }
        }
        return -1;
    }

    /**
     * Copies {@code n} floats at byte {@code off} of {@code x} to {@code buf}, pads to a whole
     * vector with -inf (whose exponential is 0), and returns their maximum.
     */
    private static float copyTile(MemorySegment x, long off, int n, float[] buf) {
        FloatVector m0 = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        FloatVector m1 = m0;
        int i = 0;
        for (; i + 2 * V <= n; i += 2 * V) {
            FloatVector a = FloatVector.fromMemorySegment(F, x, off + i * 4L, LE);
            FloatVector b = FloatVector.fromMemorySegment(F, x, off + (i + V) * 4L, LE);
            m0 = m0.max(a);
            m1 = m1.max(b);
            a.intoArray(buf, i);
            b.intoArray(buf, i + V);
        }
        for (; i < n; i += V) {
            VectorMask<Float> in = F.indexInRange(i, n);
            FloatVector v = FloatVector.fromMemorySegment(F, x, off + i * 4L, LE, in)
                    .blend(Float.NEGATIVE_INFINITY, in.not());
            m0 = m0.max(v);
            v.intoArray(buf, i);
        }
        return m0.max(m1).reduceLanes(VectorOperators.MAX);
    }

    /**
     * Over the tile in {@code buf} (not yet exponentiated): {@code sum_k w_k q_k (shift - x_k)}
     * into {@code sc.lanes[0]} and {@code sum_k w_k q_k} into {@code sc.lanes[1]}.
     */
    private static void targetSums(RowProblem p, float[] buf, int n, int t0, long off, MemorySegment q, float shift,
            Scratch sc) {
        final float[] wq = sc.weighted;
        weightedTargets(p, t0, n, off, q, wq);
        final FloatVector s = FloatVector.broadcast(F, shift);
        FloatVector sd = FloatVector.zero(F);
        FloatVector sq = FloatVector.zero(F);
        for (int i = 0; i < n; i += V) {
            FloatVector t = FloatVector.fromArray(F, wq, i);
            FloatVector d = s.sub(FloatVector.fromArray(F, buf, i)).mul(t);
            if (i + V > n) { // the padding: x = -inf, w q = 0
                d = d.blend(0f, F.indexInRange(i, n).not());
            }
            sd = sd.add(d);
            sq = sq.add(t);
        }
        float[] lanes = sc.lanes;
        sd.intoArray(lanes, 0);
        float d = VectorMath.sum(lanes, V);
        sq.intoArray(lanes, 0);
        lanes[1] = VectorMath.sum(lanes, V);
        lanes[0] = d;
    }

    /**
     * {@code out[i] = w_k q_k} for the tile's classes {@code k = t0 + i}, 0 past {@code n}: the
     * smoothed probability target when {@code q} is not null, else 1; times the weight if any.
     */
    private static void weightedTargets(RowProblem p, int t0, int n, long off, MemorySegment q, float[] out) {
        final MemorySegment w = p.weight();
        final float keep = (float) (1 - p.eps());
        final float spread = (float) (p.eps() / p.c());
        final boolean smooth = p.eps() > 0;
        // whole vectors with plain loads, then the partial one masked: one loop choosing its loads
        // per vector ran 3-6 % slower on probability targets (measured side by side)
        int i = 0;
        for (; i + V <= n; i += V) {
            FloatVector t = FloatVector.broadcast(F, 1f);
            if (q != null) {
                t = FloatVector.fromMemorySegment(F, q, off + (t0 + i) * 4L, LE);
                if (smooth) {
                    t = t.mul(keep).add(spread);
                }
            }
            if (w != null) {
                t = t.mul(FloatVector.fromMemorySegment(F, w, (t0 + i) * 4L, LE));
            }
            t.intoArray(out, i);
        }
        if (i < n) {
            VectorMask<Float> in = F.indexInRange(i, n);
            FloatVector t = FloatVector.broadcast(F, 1f);
            if (q != null) {
                t = FloatVector.fromMemorySegment(F, q, off + (t0 + i) * 4L, LE, in);
                if (smooth) {
                    t = t.mul(keep).add(spread);
                }
            }
            if (w != null) {
                t = t.mul(FloatVector.fromMemorySegment(F, w, (t0 + i) * 4L, LE, in));
            }
            t.blend(0f, in.not()).intoArray(out, i);
        }
    }

    /**
     * Writes {@code exp(x_k - m) * a - b * w_k q_k} over the row ({@code q_k = 1} for index
     * targets): the gradient, but for the target entry of index targets. The first term in one
     * pass from the input ({@link VectorMath#expScaleInto}); the second, when there is one, over
     * the values just written, tile by tile, from L1.
     */
    private static void gradRow(RowProblem p, long off, int c, float m, float a, float b, MemorySegment q, Scratch sc) {
        final MemorySegment g = p.grad();
        java.util.Arrays.fill(sc.ref, m);
        VectorMath.expScaleInto(p.input(), off, c, sc.ref, a, g, off, sc.staging);
        if (b == 0 && q == null) {
            return;
        }
        final float[] wq = sc.weighted;
        for (int t0 = 0; t0 < c; t0 += TILE) {
            final int n = Math.min(TILE, c - t0);
            weightedTargets(p, t0, n, off, q, wq);
            int i = 0;
            for (; i + V <= n; i += V) {
                final long at = off + (t0 + i) * 4L;
                FloatVector.fromMemorySegment(F, g, at, LE).sub(FloatVector.fromArray(F, wq, i).mul(b)).intoMemorySegment(g, at, LE);
            }
            if (i < n) {
                final long at = off + (t0 + i) * 4L;
                final VectorMask<Float> in = F.indexInRange(i, n);
                FloatVector.fromMemorySegment(F, g, at, LE, in).sub(FloatVector.fromArray(F, wq, i).mul(b))
                        .intoMemorySegment(g, at, LE, in);
            }
        }
    }

    /** An ignored row: loss 0, gradient 0, or NaN where the row's softmax is NaN (see {@link ScalarKernels}). */
    private static void ignoredRow(RowProblem p, long row, long off, int c, float[] buf) {
        if (p.losses() != null) {
            p.losses().setAtIndex(Mem.F32, row, 0f);
        }
        if (p.grad() != null) {
            float m = Float.NEGATIVE_INFINITY;
            for (int t0 = 0; t0 < c; t0 += TILE) {
                m = Math.max(m, copyTile(p.input(), off + t0 * 4L, Math.min(TILE, c - t0), buf));
            }
            if (Float.isFinite(m)) {
                p.grad().asSlice(off, c * 4L).fill((byte) 0);
            } else {
                for (int k = 0; k < c; k++) {
                    p.grad().setAtIndex(Mem.F32, row * c + k, Float.NaN);
                }
            }
        }
    }
}
