package dev.vecloss.internal.panama;

import static dev.vecloss.internal.panama.PanamaConstants.F;
import static dev.vecloss.internal.panama.PanamaConstants.LE;
import static dev.vecloss.internal.panama.PanamaConstants.V;

import dev.vecloss.internal.ClassSumOp;
import dev.vecloss.internal.ClassSumProblem;
import dev.vecloss.internal.ExactSum;
import dev.vecloss.internal.Mem;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * The per-class sums of Dice, Jaccard and Tversky ({@link ClassSumOp}) vectorised across
 * positions: a block of {@code V} positions of one image at a time, one vector per class (class
 * {@code k} of the block is one load at element {@code base + k*S}), each lane its own position.
 * The activation is fused into the pass: for the softmax the block's classes are copied to an L1
 * buffer while their maximum is taken, exponentiated there ({@link VectorMath#expInto}), summed
 * over the classes and scaled; for the sigmoid {@code exp(-|x|)} goes through the same loop. No
 * probability is stored outside the block's buffers.
 *
 * <p>Per class the block adds {@code pe}, {@code te} and {@code |pe - te|} to float accumulators
 * in L1, lane by lane, over a tile of {@link ClassSumProblem#TILE} positions of one image (the
 * tiles are fixed in each image: {@link ClassSumProblem#sumsChunk} hands this kernel whole tiles);
 * at the tile's end the accumulators' lanes are added in double, in lane order, and each class's
 * tile sum is added exactly to its {@link ExactSum}. A tile sum depends on the tile's inputs only
 * (each lane computes its position alone, and a short block's lanes by the same operations), and
 * exact sums do not depend on the order of their terms: so the per-class sums are the same for
 * any chunking, thread count, or split of the batch along N. A float accumulator holds at most
 * {@code TILE / V} terms of at most 1 each. For index targets {@code te} is 0 or 1: its counts
 * are exact in float within a tile and kept in a long per class for the chunk.
 *
 * <p>(The positions' values summed exactly one by one, through a tile of stored floats
 * ({@link ExactTiles}), cost 30 % of the kernel's throughput for 21 classes in JMH; a tile's
 * float sums are as accurate as the accumulators of the kernel before exact sums, and cost one
 * exact addition per class and 2688 logits.)
 *
 * <p>Positions that do not fill a block (an image's last {@code S mod V}, a chunk's end) are
 * staged one by one into the same buffers, with the lanes past them masked out (a lane mask of 0:
 * their zeros add nothing). Each step is a method of its own that takes and returns no vector
 * (see {@link VectorMath}), so that C2 inlines every vector operation.
 *
 * <p>The gradient pass recomputes the block's probabilities the same way and writes
 * {@code dL/dx} (see {@code ClassSumProblem}): {@code G = m (a A_k + B_k)} with
 * {@code a = (1 - sgn(pe - te)) / 2}, then the softmax chain {@code p_k (G_k - sum_j p_j G_j)},
 * the sigmoid's {@code G p q} ({@code q = sigmoid(-x)} formed apart), or {@code G} itself.
 */
final class ClassSums {
    private ClassSums() {}

    /**
     * The most classes this kernel takes: its buffers hold {@code 7 * V * C} floats per thread
     * (at most 28 MB), kept for the thread's life. More go to the scalar kernel.
     */
    static final int MAX_C = (1 << 20) / V;

    /** Per-thread buffers of a block, laid out class by class ({@code [k*V, k*V + V)}); they only grow. */
    private static final class Scratch {
        /** The block's inputs; in the gradient pass, then {@code dL/dx}. */
        float[] cols = new float[0];
        /** exp(x - max) (softmax) or exp(-|x|) (sigmoid). */
        float[] exps = new float[0];
        /** Dense targets times the mask. */
        float[] tcols = new float[0];
        /** Dense masks: 1 kept, 0 ignored or past the block's lanes. */
        float[] mcols = new float[0];
        /** The tile's float accumulators, {@code [k*V, k*V + V)}: Sp's of class k, then St's at {@code C*V}, D's at {@code 2C*V}. */
        float[] acc = new float[0];
        /**
         * Index ops: per class and lane, the count of the tile's positions labelled with the
         * class ({@code te} is 0 or 1), in float: exact within a tile. Cheaper than an accumulator
         * of St.
         */
        float[] labelled = new float[0];
        /** Index ops: the chunk's label counts per class, from {@link #labelled} at each tile's end. */
        long[] counts = new long[0];
        /** Index targets as floats: -1 for an ignored position and past the block's lanes. */
        final float[] targets = new float[V];
        /** 1 for a kept position of the block, else 0. */
        final float[] active = new float[V];
        final float[] max = new float[V];
        final float[] zero = new float[V];
        /** 1 / sum of the exponentials (softmax). */
        final float[] inv = new float[V];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private static Scratch scratch(int c) {
        Scratch s = SCRATCH.get();
        int n = c * V;
        if (s.cols.length < n) {
            s.cols = new float[n];
            s.exps = new float[n];
            s.tcols = new float[n];
            s.mcols = new float[n];
            s.labelled = new float[n];
            s.acc = new float[3 * n];
            s.counts = new long[c];
        }
        return s;
    }

    /** Whether this kernel takes the problem: float32, a spatial size of at least one vector, at most {@link #MAX_C} classes. */
    static boolean covers(ClassSumProblem p) {
        return p.allFloat32() && p.s() >= V && p.c() <= MAX_C
                && (p.op().indexTargets() || p.targetType() != ClassSumProblem.T_F64);
    }

    /**
     * Adds the per-class sums of positions {@code [from, to)} to {@code out}; {@code from} and
     * {@code to} are tile boundaries ({@link ClassSumProblem#tileStart}).
     */
    static void sums(ClassSumOp op, ClassSumProblem p, long from, long to, ExactSum[] out) {
        final int c = (int) p.c();
        final long sp = p.s();
        final int tileBlocks = ClassSumProblem.TILE / V;
        final Scratch sc = scratch(c);
        // a chunk that threw may have left partial sums
        Arrays.fill(sc.acc, 0, 3 * c * V, 0f);
        Arrays.fill(sc.labelled, 0, c * V, 0f);
        Arrays.fill(sc.counts, 0, c, 0L);
        int blocks = 0;
        long pos = from;
        while (pos < to) {
            final long n = pos / sp;
            final long s = pos - n * sp;
            final int lanes = (int) Math.min(V, Math.min(to - pos, sp - s));
            final long base = n * c * sp + s;
            if (op.indexTargets()) {
                loadIndex(op, p, sc, c, pos, base, lanes);
                accumulateIndex(sc, c, op == ClassSumOp.SOFTMAX ? sc.exps : sc.cols,
                        op == ClassSumOp.SOFTMAX ? sc.inv : sc.active);
            } else {
                loadDense(op, p, sc, c, base, lanes);
                accumulateDense(sc, c, op == ClassSumOp.SIGMOID);
            }
            pos += lanes;
            if (++blocks == tileBlocks || s + lanes == sp) { // the tile's end: TILE positions, or the image's end
                flush(sc, c, out, op.indexTargets());
                blocks = 0;
            }
        }
        if (blocks != 0) { // not a tile boundary: only if a caller cut a tile
            flush(sc, c, out, op.indexTargets());
        }
        if (op.indexTargets()) {
            for (int k = 0; k < c; k++) {
                out[c + k].add((double) sc.counts[k]);
            }
        }
    }

    static double grad(ClassSumOp op, ClassSumProblem p, long from, long to) {
        final int c = (int) p.c();
        final long sp = p.s();
        final Scratch sc = scratch(c);
        long pos = from;
        while (pos < to) {
            final long n = pos / sp;
            final long s = pos - n * sp;
            final int lanes = (int) Math.min(V, Math.min(to - pos, sp - s));
            final long base = n * c * sp + s;
            if (op.indexTargets()) {
                loadIndex(op, p, sc, c, pos, base, lanes);
                if (op == ClassSumOp.SOFTMAX) {
                    gradSoftmax(p, sc, c);
                } else {
                    gradIndexProb(p, sc, c);
                }
            } else {
                loadDense(op, p, sc, c, base, lanes);
                gradDense(p, sc, c, op == ClassSumOp.SIGMOID);
            }
            if (lanes == V) {
                store(p, sc, c, base);
            } else {
                unstage(p, sc, c, base, lanes);
            }
            pos += lanes;
        }
        return 0;
    }

    /**
     * Index ops: the block's labels (checked, in position order: the lowest bad one throws), its
     * inputs in {@code cols} and, for the softmax, {@code exp(x - max)} in {@code exps} and
     * {@code 1/sum} in {@code inv}.
     */
    private static void loadIndex(ClassSumOp op, ClassSumProblem p, Scratch sc, int c, long pos, long base, int lanes) {
        readTargets(p, sc, pos, lanes);
        if (lanes == V) {
            loadClasses(p, sc, c, base);
        } else {
            stageClasses(p, sc, c, base, lanes);
        }
        if (op == ClassSumOp.SOFTMAX) {
            VectorMath.expInto(sc.cols, sc.exps, c * V, sc.max);
            invSum(sc, c);
        }
    }

    /** The block's labels as floats (-1 ignored or past {@code lanes}) and the lanes' masks; two loops, no lane test in one. */
    private static void readTargets(ClassSumProblem p, Scratch sc, long pos, int lanes) {
        for (int l = 0; l < lanes; l++) {
            long y = p.checkedLabel(pos + l);
            sc.targets[l] = y;
            sc.active[l] = y < 0 ? 0f : 1f;
        }
        for (int l = lanes; l < V; l++) {
            sc.targets[l] = -1f;
            sc.active[l] = 0f;
        }
    }

    /** A full block: class k is one load; into {@code cols}, the maximum (NaN if any lane's class is NaN) into {@code max}. */
    private static void loadClasses(ClassSumProblem p, Scratch sc, int c, long base) {
        final MemorySegment x = p.input();
        final long sp = p.s();
        FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int k = 0; k < c; k++) {
            FloatVector v = FloatVector.fromMemorySegment(F, x, (base + k * sp) * 4L, LE);
            m = m.max(v);
            v.intoArray(sc.cols, k * V);
        }
        m.intoArray(sc.max, 0);
    }

    /**
     * A short block: its positions one by one into {@code cols}, zeros past them, and each lane's
     * maximum into {@code max} as {@link #loadClasses} takes it ({@code Math.max}, the lane-wise
     * {@code max} of the Vector API, from -inf: the same bits).
     *
     * <p>Scalar on purpose: a short block comes once per image and chunk, so a method of its own
     * for it is called a few times per loss call and stays in C1 (which boxes every vector
     * operation) long after the full-block path is compiled by C2. A vector maximum here
     * allocated 1.4 KB per reduced Dice call (AllocationTest) until C2 took it, some 40 rounds of
     * 500 calls later.
     */
    private static void stageClasses(ClassSumProblem p, Scratch sc, int c, long base, int lanes) {
        final MemorySegment x = p.input();
        final long sp = p.s();
        final float[] cols = sc.cols;
        final float[] max = sc.max;
        Arrays.fill(max, Float.NEGATIVE_INFINITY);
        for (int k = 0; k < c; k++) {
            for (int l = 0; l < lanes; l++) {
                float v = x.getAtIndex(Mem.F32, base + k * sp + l);
                cols[k * V + l] = v;
                max[l] = Math.max(max[l], v);
            }
            for (int l = lanes; l < V; l++) {
                cols[k * V + l] = 0f;
                max[l] = Math.max(max[l], 0f);
            }
        }
    }

    /** {@code 1 / sum_k exps[k]} into {@code inv}. */
    private static void invSum(Scratch sc, int c) {
        FloatVector s = FloatVector.zero(F);
        for (int k = 0; k < c; k++) {
            s = s.add(FloatVector.fromArray(F, sc.exps, k * V));
        }
        FloatVector.broadcast(F, 1f).div(s).intoArray(sc.inv, 0);
    }

    /**
     * Index ops: {@code pe = src[k] * scale * active} (the softmax's {@code e / sum}, or the input
     * itself), {@code te = [label == k]}, added to the tile's accumulators.
     */
    private static void accumulateIndex(Scratch sc, int c, float[] src, float[] scale) {
        final FloatVector t = FloatVector.fromArray(F, sc.targets, 0);
        final FloatVector act = FloatVector.fromArray(F, sc.active, 0);
        final FloatVector f = FloatVector.fromArray(F, scale, 0).mul(act); // active twice for the input itself: 1 or 0 either way
        final FloatVector zero = FloatVector.zero(F);
        final float[] acc = sc.acc;
        final float[] labelled = sc.labelled;
        final int d = 2 * c * V;
        for (int k = 0; k < c; k++) {
            final int o = k * V;
            FloatVector pe = FloatVector.fromArray(F, src, o).mul(f);
            FloatVector te = zero.blend(1f, t.compare(VectorOperators.EQ, (float) k));
            FloatVector.fromArray(F, acc, o).add(pe).intoArray(acc, o);
            FloatVector.fromArray(F, labelled, o).add(te).intoArray(labelled, o);
            FloatVector.fromArray(F, acc, d + o).add(pe.sub(te).abs()).intoArray(acc, d + o);
        }
    }

    /**
     * Dense ops: inputs into {@code cols}, {@code t m} into {@code tcols}, the masks into
     * {@code mcols}; for the sigmoid {@code exp(-|x|)} into {@code exps}.
     */
    private static void loadDense(ClassSumOp op, ClassSumProblem p, Scratch sc, int c, long base, int lanes) {
        if (lanes == V && p.targetType() == ClassSumProblem.T_F32) {
            loadDenseF32(p, sc, c, base);
        } else {
            stageDense(p, sc, c, base, lanes);
        }
        if (op == ClassSumOp.SIGMOID) {
            negAbs(sc, c);
            VectorMath.expInto(sc.exps, sc.exps, c * V, sc.zero);
        }
    }

    private static void loadDenseF32(ClassSumProblem p, Scratch sc, int c, long base) {
        final MemorySegment x = p.input(), y = p.target();
        final long sp = p.s();
        final boolean ignores = p.ignores();
        final float ignore = (float) p.ignoreIndex();
        final FloatVector one = FloatVector.broadcast(F, 1f);
        for (int k = 0; k < c; k++) {
            long at = (base + k * sp) * 4L;
            FloatVector v = FloatVector.fromMemorySegment(F, x, at, LE);
            FloatVector t = FloatVector.fromMemorySegment(F, y, at, LE);
            FloatVector m = ignores ? one.blend(0f, t.compare(VectorOperators.EQ, ignore)) : one;
            v.intoArray(sc.cols, k * V);
            t.mul(m).intoArray(sc.tcols, k * V);
            m.intoArray(sc.mcols, k * V);
        }
    }

    /** A short block, or targets that are not float32: element by element, zeros (mask 0) past {@code lanes}. */
    private static void stageDense(ClassSumProblem p, Scratch sc, int c, long base, int lanes) {
        final MemorySegment x = p.input();
        final long sp = p.s();
        for (int k = 0; k < c; k++) {
            for (int l = 0; l < lanes; l++) {
                long i = base + k * sp + l;
                float m = p.kept(i) ? 1f : 0f;
                sc.cols[k * V + l] = x.getAtIndex(Mem.F32, i);
                sc.tcols[k * V + l] = (float) p.targetValue(i) * m;
                sc.mcols[k * V + l] = m;
            }
            for (int l = lanes; l < V; l++) {
                sc.cols[k * V + l] = 0f;
                sc.tcols[k * V + l] = 0f;
                sc.mcols[k * V + l] = 0f;
            }
        }
    }

    private static void negAbs(Scratch sc, int c) {
        for (int o = 0; o < c * V; o += V) {
            FloatVector.fromArray(F, sc.cols, o).abs().neg().intoArray(sc.exps, o);
        }
    }

    private static void accumulateDense(Scratch sc, int c, boolean sigmoid) {
        final float[] acc = sc.acc;
        final int st = c * V, d = 2 * c * V;
        for (int k = 0; k < c; k++) {
            final int o = k * V;
            FloatVector x = FloatVector.fromArray(F, sc.cols, o);
            FloatVector p = x;
            if (sigmoid) { // z = exp(-|x|): p = 1/(1 + z) for x >= 0, z/(1 + z) below
                FloatVector z = FloatVector.fromArray(F, sc.exps, o);
                FloatVector r = z.add(1f);
                r = FloatVector.broadcast(F, 1f).div(r);
                p = z.mul(r).blend(r, x.compare(VectorOperators.GE, 0f));
            }
            FloatVector pe = p.mul(FloatVector.fromArray(F, sc.mcols, o));
            FloatVector te = FloatVector.fromArray(F, sc.tcols, o);
            FloatVector.fromArray(F, acc, o).add(pe).intoArray(acc, o);
            FloatVector.fromArray(F, acc, st + o).add(te).intoArray(acc, st + o);
            FloatVector.fromArray(F, acc, d + o).add(pe.sub(te).abs()).intoArray(acc, d + o);
        }
    }

    /**
     * The tile's end: each accumulator's lanes added in double, in lane order, and the sum added
     * exactly to its class's sum; for index ops St's label counts to the chunk's counts instead.
     * The accumulators are left at 0.
     */
    private static void flush(Scratch sc, int c, ExactSum[] out, boolean index) {
        final float[] acc = sc.acc;
        for (int j = 0; j < 3 * c; j++) {
            final int o = j * V;
            if (index && j >= c && j < 2 * c) {
                final float[] labelled = sc.labelled;
                final int lo = (j - c) * V;
                long count = 0;
                for (int l = 0; l < V; l++) {
                    count += (long) labelled[lo + l];
                    labelled[lo + l] = 0f;
                }
                sc.counts[j - c] += count;
                continue;
            }
            double sum = 0;
            for (int l = 0; l < V; l++) {
                sum += acc[o + l];
                acc[o + l] = 0f;
            }
            if (sum != 0) {
                out[j].add(sum);
            }
        }
    }

    /** {@code a = (1 - sgn(pe - te)) / 2}: 1 below the target, 0 above, 1/2 at it (and for NaN). */
    private static final float HALF = 0.5f;

    /** Softmax: {@code G_k} into {@code cols}, then {@code p_k (G_k - sum_j p_j G_j)} over it. */
    private static void gradSoftmax(ClassSumProblem p, Scratch sc, int c) {
        final FloatVector t = FloatVector.fromArray(F, sc.targets, 0);
        final FloatVector act = FloatVector.fromArray(F, sc.active, 0);
        final FloatVector inv = FloatVector.fromArray(F, sc.inv, 0);
        final FloatVector zero = FloatVector.zero(F);
        FloatVector dot = zero;
        for (int k = 0; k < c; k++) {
            final int o = k * V;
            FloatVector pk = FloatVector.fromArray(F, sc.exps, o).mul(inv);
            FloatVector pe = pk.mul(act);
            FloatVector te = zero.blend(1f, t.compare(VectorOperators.EQ, (float) k));
            FloatVector a = FloatVector.broadcast(F, HALF).blend(1f, pe.compare(VectorOperators.LT, te))
                    .blend(0f, pe.compare(VectorOperators.GT, te));
            FloatVector g = a.mul((float) p.coefA(k)).add((float) p.coefB(k)).mul(act);
            dot = pk.fma(g, dot);
            g.intoArray(sc.cols, o);
        }
        for (int k = 0; k < c; k++) {
            final int o = k * V;
            FloatVector pk = FloatVector.fromArray(F, sc.exps, o).mul(inv);
            pk.mul(FloatVector.fromArray(F, sc.cols, o).sub(dot)).intoArray(sc.cols, o);
        }
    }

    /** Probabilities with index targets: {@code G_k} itself, into {@code cols}. */
    private static void gradIndexProb(ClassSumProblem p, Scratch sc, int c) {
        final FloatVector t = FloatVector.fromArray(F, sc.targets, 0);
        final FloatVector act = FloatVector.fromArray(F, sc.active, 0);
        final FloatVector zero = FloatVector.zero(F);
        for (int k = 0; k < c; k++) {
            final int o = k * V;
            FloatVector pe = FloatVector.fromArray(F, sc.cols, o).mul(act);
            FloatVector te = zero.blend(1f, t.compare(VectorOperators.EQ, (float) k));
            FloatVector a = FloatVector.broadcast(F, HALF).blend(1f, pe.compare(VectorOperators.LT, te))
                    .blend(0f, pe.compare(VectorOperators.GT, te));
            a.mul((float) p.coefA(k)).add((float) p.coefB(k)).mul(act).intoArray(sc.cols, o);
        }
    }

    /** Dense ops: {@code G m}, times {@code p q} for the sigmoid, into {@code cols}. */
    private static void gradDense(ClassSumProblem p, Scratch sc, int c, boolean sigmoid) {
        for (int k = 0; k < c; k++) {
            final int o = k * V;
            FloatVector x = FloatVector.fromArray(F, sc.cols, o);
            FloatVector m = FloatVector.fromArray(F, sc.mcols, o);
            FloatVector pk = x;
            FloatVector q = null;
            if (sigmoid) {
                FloatVector z = FloatVector.fromArray(F, sc.exps, o);
                FloatVector r = FloatVector.broadcast(F, 1f).div(z.add(1f));
                VectorMask<Float> nonNeg = x.compare(VectorOperators.GE, 0f);
                FloatVector zr = z.mul(r);
                pk = zr.blend(r, nonNeg);
                q = r.blend(zr, nonNeg); // sigmoid(-x), not 1 - p
            }
            FloatVector pe = pk.mul(m);
            FloatVector te = FloatVector.fromArray(F, sc.tcols, o);
            FloatVector a = FloatVector.broadcast(F, HALF).blend(1f, pe.compare(VectorOperators.LT, te))
                    .blend(0f, pe.compare(VectorOperators.GT, te));
            FloatVector g = a.mul((float) p.coefA(k)).add((float) p.coefB(k)).mul(m);
            if (sigmoid) {
                g = g.mul(pk).mul(q);
            }
            g.intoArray(sc.cols, o);
        }
    }

    /** A full block's gradient from {@code cols} to the segment, one store per class. */
    private static void store(ClassSumProblem p, Scratch sc, int c, long base) {
        final MemorySegment g = p.grad();
        final long sp = p.s();
        for (int k = 0; k < c; k++) {
            FloatVector.fromArray(F, sc.cols, k * V).intoMemorySegment(g, (base + k * sp) * 4L, LE);
        }
    }

    /** A short block's gradient, its {@code lanes} positions one by one. */
    private static void unstage(ClassSumProblem p, Scratch sc, int c, long base, int lanes) {
        final MemorySegment g = p.grad();
        final long sp = p.s();
        for (int k = 0; k < c; k++) {
            for (int l = 0; l < lanes; l++) {
                g.setAtIndex(Mem.F32, base + k * sp + l, sc.cols[k * V + l]);
            }
        }
    }
}
