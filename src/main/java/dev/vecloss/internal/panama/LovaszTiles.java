package dev.vecloss.internal.panama;

import static dev.vecloss.internal.panama.PanamaConstants.F;
import static dev.vecloss.internal.panama.PanamaConstants.I;
import static dev.vecloss.internal.panama.PanamaConstants.LE;
import static dev.vecloss.internal.panama.PanamaConstants.V;

import dev.vecloss.internal.LovaszProblem;
import dev.vecloss.internal.Mem;
import dev.vecloss.internal.ScalarLovasz;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Lovász-softmax and the Lovász hinge on float32 problems (see {@link LovaszProblem} for the
 * phases and {@link ScalarLovasz} for the task's sort and walk, which these kernels share):
 * <ul>
 *   <li>the softmax statistics and its backward pass across positions, a block of {@code V}
 *       positions at a time, one vector per class (as {@link AcrossPositions}), the
 *       exponentials by {@link VectorMath#expInto};</li>
 *   <li>a task's errors along the contiguous spatial axis of its class: {@code x_c - max} for a
 *       block of positions, their exponentials, then {@code e = |fg - exp * inv|};</li>
 *   <li>the hinge's errors {@code 1 - x * (2 label - 1)} along the elements.</li>
 * </ul>
 * The sort (radix, on the float errors' 32 bits) and the walk are scalar: both move data whose
 * order depends on the values. Without a gradient the vector loop writes 4-byte entries (key and
 * label, {@link ScalarLovasz#entry}) straight into the sort buffer and the sort carries no index:
 * half the bytes per radix pass, and no scalar packing loop; with one, 8-byte entries carry the
 * element's index for the gradient's scatter. Every float operation of a lane is one IEEE operation, so the
 * lanes of a block's vector part and its scalar tail give the same bits, and so do positions of
 * a full block and of a short one (staged into the same layout).
 */
final class LovaszTiles {
    private LovaszTiles() {}


    /** The sort key of every NaN error (NaN sorts first, as in PyTorch). */
    private static final int NAN_KEY = 0x7fc00000 ^ 0x7fffffff;

    /** The key of a zero error: such elements are left out of the sort. */
    private static final int ZERO_KEY = 0x7fffffff;

    /** Positions per block of a task's error pass: a multiple of every lane count. */
    private static final int BLOCK = 1024;

    private static final class Scratch {
        float[] cols = new float[0];
        float[] grads = new float[0];
        final float[] max = new float[V];
        final float[] zeros = new float[V];
        final float[] d = new float[BLOCK];
        /** A block's error keys ({@link ScalarLovasz#floatKey}, computed in the vector loop). */
        final int[] keys = new int[BLOCK];

        Scratch ensure(int c) {
            if (cols.length < c * V) {
                cols = new float[c * V];
                grads = new float[c * V];
            }
            return this;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    static double lovasz(LovaszProblem.Phase phase, LovaszProblem p, long from, long to) {
        switch (phase) {
            case STATS -> positions(p, from, to, false);
            case TASK -> {
                for (long t = from; t < to; t++) {
                    p.taskLoss()[(int) t] = p.softmax() ? softmaxTask(p, (int) t) : hingeTask(p, (int) t);
                }
            }
            case BACKWARD -> positions(p, from, to, true);
        }
        return 0;
    }

    /** The statistics ({@code backward} false) or the backward pass over positions {@code [from, to)}. */
    private static void positions(LovaszProblem p, long from, long to, boolean backward) {
        final int c = (int) p.c();
        final long sp = p.s();
        final Scratch sc = SCRATCH.get().ensure(c);
        long pos = from;
        while (pos < to) {
            final long n = pos / sp;
            final long s = pos - n * sp;
            final int lanes = (int) Math.min(V, Math.min(to - pos, sp - s));
            final long base = n * c * sp + s;
            stage(p.input(), sc.cols, c, sp, base, lanes);
            if (backward) {
                stage(p.grad(), sc.grads, c, sp, base, lanes);
                backwardBlock(p, sc, c, (int) pos, lanes);
                unstage(p.grad(), sc.grads, c, sp, base, lanes);
            } else {
                statsBlock(p, sc, c, (int) pos, lanes);
            }
            pos += lanes;
        }
    }

    /** Class k of the block's positions to {@code dst[k*V, k*V + V)}, zeros past {@code lanes}. */
    private static void stage(MemorySegment src, float[] dst, int c, long sp, long base, int lanes) {
        if (lanes == V) {
            for (int k = 0; k < c; k++) {
                FloatVector.fromMemorySegment(F, src, (base + k * sp) * 4L, LE).intoArray(dst, k * V);
            }
            return;
        }
        // two loops, no test of the lane in one: C2 predicates such a test on its profile, and a
        // short block in every image then traps into a recompilation again and again (see
        // AcrossPositions.readTargets)
        for (int k = 0; k < c; k++) {
            for (int l = 0; l < lanes; l++) {
                dst[k * V + l] = src.getAtIndex(Mem.F32, base + k * sp + l);
            }
            for (int l = lanes; l < V; l++) {
                dst[k * V + l] = 0f;
            }
        }
    }

    /**
     * The block's {@code lanes} positions of each class back to their places. A bulk copy, not a
     * vector store: C2 fails to intrinsify {@code intoMemorySegment} here (seen with a heap
     * segment of a float[]), and the store's fallback boxes every vector.
     */
    private static void unstage(MemorySegment dst, float[] src, int c, long sp, long base, int lanes) {
        for (int k = 0; k < c; k++) {
            MemorySegment.copy(src, k * V, dst, Mem.F32, (base + k * sp) * 4L, lanes);
        }
    }

    /** The maximum and the reciprocal of the sum of exponentials of the staged block. */
    private static void statsBlock(LovaszProblem p, Scratch sc, int c, int pos, int lanes) {
        FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int k = 0; k < c; k++) {
            m = m.max(FloatVector.fromArray(F, sc.cols, k * V));
        }
        m.intoArray(sc.max, 0);
        VectorMath.expInto(sc.cols, sc.cols, c * V, sc.max);
        FloatVector sum = FloatVector.zero(F);
        for (int k = 0; k < c; k++) {
            sum = sum.add(FloatVector.fromArray(F, sc.cols, k * V));
        }
        FloatVector inv = FloatVector.broadcast(F, 1f).div(sum);
        // through the scratch arrays: the position arrays may end inside this vector
        inv.intoArray(sc.d, 0);
        System.arraycopy(sc.max, 0, p.maxF(), pos, lanes);
        System.arraycopy(sc.d, 0, p.invF(), pos, lanes);
    }

    /**
     * {@code g_c = p_c (G_c - sum_k p_k G_k)} for the staged block, as
     * {@code p_c ((G_c - G_m) + sum_k p_k (G_m - G_k))} with {@code m} each lane's most probable
     * class (see {@code ScalarLovasz}'s backward: no cancellation where {@code p_m} nears 1).
     */
    private static void backwardBlock(LovaszProblem p, Scratch sc, int c, int pos, int lanes) {
        System.arraycopy(p.maxF(), pos, sc.max, 0, lanes);
        System.arraycopy(p.invF(), pos, sc.d, 0, lanes);
        for (int l = lanes; l < V; l++) { // a second loop, as in stage
            sc.max[l] = 0f;
            sc.d[l] = 0f;
        }
        VectorMath.expInto(sc.cols, sc.cols, c * V, sc.max);
        final FloatVector inv = FloatVector.fromArray(F, sc.d, 0);
        FloatVector best = FloatVector.broadcast(F, -1f);
        FloatVector gm = FloatVector.zero(F);
        for (int k = 0; k < c; k++) {
            FloatVector prob = FloatVector.fromArray(F, sc.cols, k * V).mul(inv);
            VectorMask<Float> more = prob.compare(VectorOperators.GT, best);
            best = best.blend(prob, more);
            gm = gm.blend(FloatVector.fromArray(F, sc.grads, k * V), more);
        }
        FloatVector r = FloatVector.zero(F);
        for (int k = 0; k < c; k++) {
            FloatVector prob = FloatVector.fromArray(F, sc.cols, k * V).mul(inv);
            r = prob.fma(gm.sub(FloatVector.fromArray(F, sc.grads, k * V)), r);
        }
        for (int k = 0; k < c; k++) {
            FloatVector prob = FloatVector.fromArray(F, sc.cols, k * V).mul(inv);
            FloatVector gk = FloatVector.fromArray(F, sc.grads, k * V);
            prob.mul(gk.sub(gm).add(r)).intoArray(sc.grads, k * V);
        }
    }

    /** Task (group, class) of Lovász-softmax, as {@link ScalarLovasz}'s, with float errors. */
    private static double softmaxTask(LovaszProblem p, int t) {
        final int c = (int) p.c();
        final int group = t / c, cls = t % c;
        final long fg = p.counts()[t];
        if (fg == 0) {
            return 0;
        }
        final int s = (int) p.s();
        final int size = (int) p.groupSize();
        final int first = group * size;
        final Scratch sc = SCRATCH.get().ensure(c);
        if (p.grad() == null) {
            return softmaxLoss(p, sc, size, first, cls, fg);
        }
        final ScalarLovasz.Work w = ScalarLovasz.workPacked(size);
        int n = 0;
        ScalarLovasz.clearCounts(w.hist);
        for (int img = first / s; img < (first + size) / s; img++) {
            long row = ((long) img * c + cls) * s;
            for (int off = 0; off < s; off += BLOCK) {
                int len = Math.min(BLOCK, s - off);
                int pos = img * s + off;
                errors(p, sc, sc.keys, row + off, pos, len, cls);
                n = pack(p, w, sc.keys, n, pos - first, pos, len, cls);
            }
        }
        ScalarLovasz.sortPacked(w, n, true);
        long cs = (long) c * s;
        return ScalarLovasz.walk(p, w, n, fg, true, p.scale()[group], s, cs,
                (long) group * (p.perImage() ? cs : 0) + (long) cls * s);
    }

    /**
     * A softmax task's loss without gradient: the errors as 4-byte entries
     * ({@link ScalarLovasz#entry}, ignored positions and zero errors as {@link ScalarLovasz#SKIP},
     * which sort last and are not walked), written by the vector loop straight into the sort
     * buffer, their digits counted a block at a time while it is in L1; sorted without indices.
     */
    private static double softmaxLoss(LovaszProblem p, Scratch sc, int size, int first, int cls, long fg) {
        final int c = (int) p.c();
        final int s = (int) p.s();
        final ScalarLovasz.Work w = ScalarLovasz.workEntries(size);
        final int[] entries = w.entries;
        final int[] hist = w.hist;
        ScalarLovasz.clearCounts(hist);
        int skipped = 0;
        for (int img = first / s; img < (first + size) / s; img++) {
            long row = ((long) img * c + cls) * s;
            for (int off = 0; off < s; off += BLOCK) {
                int len = Math.min(BLOCK, s - off);
                int pos = img * s + off;
                int at = pos - first;
                skipped += errorEntries(p, sc, entries, at, row + off, pos, len, cls);
                for (int i = at; i < at + len; i++) {
                    ScalarLovasz.count(hist, entries[i]);
                }
            }
        }
        ScalarLovasz.sortEntries(w, size);
        return ScalarLovasz.walkEntries(w, size - skipped, fg);
    }

    /** {@code d[0, padded)}: {@code exp(x - max)} of the {@code len} inputs from element {@code at} (positions from {@code pos}), zeros padded to whole vectors. */
    private static void exponentials(LovaszProblem p, Scratch sc, long at, int pos, int len) {
        final float[] d = sc.d;
        final float[] max = p.maxF();
        MemorySegment.copy(p.input(), Mem.F32, at * 4L, d, 0, len);
        final int bound = F.loopBound(len);
        int i = 0;
        for (; i < bound; i += V) {
            FloatVector.fromArray(F, d, i).sub(FloatVector.fromArray(F, max, pos + i)).intoArray(d, i);
        }
        for (; i < len; i++) {
            d[i] = d[i] - max[pos + i];
        }
        final int padded = (len + V - 1) / V * V;
        java.util.Arrays.fill(d, len, padded, 0f);
        VectorMath.expInto(d, d, padded, sc.zeros);
    }

    /**
     * The entries ({@link ScalarLovasz#entry}) of {@code e = |fg - exp(x - max) * inv|} for the
     * {@code len} positions from {@code pos} of class {@code cls} (inputs from element {@code at})
     * into {@code dst[to, to + len)}, {@link ScalarLovasz#SKIP} where the label is ignored or the
     * error is 0; returns the number skipped.
     */
    private static int errorEntries(LovaszProblem p, Scratch sc, int[] dst, int to, long at, int pos, int len, int cls) {
        exponentials(p, sc, at, pos, len);
        final float[] d = sc.d;
        final float[] inv = p.invF();
        final int[] labels = p.labels();
        final int bound = F.loopBound(len);
        final FloatVector one = FloatVector.broadcast(F, 1f);
        final FloatVector zero = FloatVector.zero(F);
        int skipped = 0;
        int i = 0;
        for (; i < bound; i += V) {
            FloatVector prob = FloatVector.fromArray(F, d, i).mul(FloatVector.fromArray(F, inv, pos + i));
            IntVector yi = IntVector.fromArray(I, labels, pos + i);
            VectorMask<Integer> isFg = yi.compare(VectorOperators.EQ, cls);
            FloatVector e = zero.blend(one, isFg.cast(F)).sub(prob).abs();
            IntVector k = e.reinterpretAsInts().lanewise(VectorOperators.XOR, 0x7fffffff);
            k = k.blend(NAN_KEY, k.compare(VectorOperators.LT, 0x007fffff)); // NaN: bits above +inf's
            IntVector entry = k.lanewise(VectorOperators.LSHL, 1).add(1, isFg);
            VectorMask<Integer> skip = yi.compare(VectorOperators.LT, 0).or(k.compare(VectorOperators.EQ, ZERO_KEY));
            entry.blend(ScalarLovasz.SKIP, skip).intoArray(dst, to + i);
            skipped += skip.trueCount();
        }
        for (; i < len; i++) {
            int y = labels[pos + i];
            float e = Math.abs((y == cls ? 1f : 0f) - d[i] * inv[pos + i]);
            boolean skip = y < 0 || e == 0;
            dst[to + i] = skip ? ScalarLovasz.SKIP : ScalarLovasz.entry(e, y == cls ? 1 : 0);
            skipped += skip ? 1 : 0;
        }
        return skipped;
    }

    /**
     * {@code e = |fg - exp(x - max) * inv|} for the {@code len} positions from {@code pos} of
     * class {@code cls}, whose inputs start at element {@code at}, as sort keys into
     * {@code key[0, len)}: the error's bits flipped, {@code bits ^ 0x7fffffff}, which is
     * {@link ScalarLovasz#floatKey} for every error but NaN (any NaN becomes the one NaN's key).
     */
    private static void errors(LovaszProblem p, Scratch sc, int[] key, long at, int pos, int len, int cls) {
        exponentials(p, sc, at, pos, len);
        final float[] d = sc.d;
        final float[] inv = p.invF();
        final int[] labels = p.labels();
        final int bound = F.loopBound(len);
        int i;
        final FloatVector one = FloatVector.broadcast(F, 1f);
        final FloatVector zero = FloatVector.zero(F);
        for (i = 0; i < bound; i += V) {
            FloatVector prob = FloatVector.fromArray(F, d, i).mul(FloatVector.fromArray(F, inv, pos + i));
            FloatVector y = (FloatVector) IntVector.fromArray(I, labels, pos + i).convert(VectorOperators.I2F, 0);
            FloatVector e = zero.blend(one, y.compare(VectorOperators.EQ, (float) cls)).sub(prob).abs();
            IntVector k = e.reinterpretAsInts().lanewise(VectorOperators.XOR, 0x7fffffff);
            k.blend(NAN_KEY, k.compare(VectorOperators.LT, 0x007fffff)).intoArray(key, i); // NaN: bits above +inf's
        }
        for (; i < len; i++) {
            float prob = d[i] * inv[pos + i];
            key[i] = (int) ScalarLovasz.floatKey(Math.abs((labels[pos + i] == cls ? 1f : 0f) - prob));
        }
    }

    /**
     * Adds the active elements with a non-zero error of {@code key[0, len)} (positions from
     * {@code pos}, local index from {@code j}) to the sort buffers after the {@code n} already
     * there, counting their digits.
     */
    private static int pack(LovaszProblem p, ScalarLovasz.Work w, int[] key, int n, int j, int pos, int len, int cls) {
        final int[] labels = p.labels();
        final long[] keys = w.keys;
        final int[] hist = w.hist;
        for (int i = 0; i < len; i++) {
            int y = labels[pos + i];
            int k = key[i];
            if (y < 0 || k == ZERO_KEY) {
                continue;
            }
            ScalarLovasz.count(hist, k);
            keys[n++] = (long) k << 32 | (j + i) << 1 | (y == cls ? 1 : 0);
        }
        return n;
    }

    /** A group of the hinge, as {@link ScalarLovasz}'s, with float errors. */
    private static double hingeTask(LovaszProblem p, int t) {
        final int size = (int) p.groupSize();
        final long first = (long) t * size;
        if (p.grad() == null) {
            return hingeLoss(p, t, size, (int) first);
        }
        final ScalarLovasz.Work w = ScalarLovasz.workPacked(size);
        final Scratch sc = SCRATCH.get();
        final MemorySegment g = p.grad();
        final int[] labels = p.labels();
        final float[] e = w.errors;
        final long[] keys = w.keys;
        int n = 0;
        final int[] hist = w.hist;
        ScalarLovasz.clearCounts(hist);
        for (int off = 0; off < size; off += BLOCK) {
            int len = Math.min(BLOCK, size - off);
            int at = (int) first + off;
            hingeErrors(p, sc, e, at, len);
            for (int i = 0; i < len; i++) {
                int y = labels[at + i];
                float ei = e[i];
                if (y < 0 || !(ei > 0) && ei == ei) {
                    if (g != null) {
                        g.setAtIndex(Mem.F32, at + i, 0f);
                    }
                    continue;
                }
                long k = ScalarLovasz.floatKey(ei);
                ScalarLovasz.count(hist, (int) k);
                keys[n++] = k << 32 | (off + i) << 1 | y;
            }
        }
        ScalarLovasz.sortPacked(w, n, true);
        return ScalarLovasz.walk(p, w, n, p.counts()[t], true, p.scale()[t], Integer.MAX_VALUE, 0, first);
    }

    /**
     * A hinge group's loss without gradient, as {@link #softmaxLoss}: 4-byte entries built in the
     * vector loop ({@link ScalarLovasz#SKIP} for ignored elements and errors at most 0), no indices.
     */
    private static double hingeLoss(LovaszProblem p, int t, int size, int first) {
        final ScalarLovasz.Work w = ScalarLovasz.workEntries(size);
        final Scratch sc = SCRATCH.get();
        final int[] labels = p.labels();
        final int[] entries = w.entries;
        final int[] hist = w.hist;
        final float[] e = sc.d;
        final FloatVector one = FloatVector.broadcast(F, 1f);
        ScalarLovasz.clearCounts(hist);
        int skipped = 0;
        for (int off = 0; off < size; off += BLOCK) {
            int len = Math.min(BLOCK, size - off);
            int at = first + off;
            MemorySegment.copy(p.input(), Mem.F32, at * 4L, e, 0, len);
            final int bound = F.loopBound(len);
            int i = 0;
            for (; i < bound; i += V) {
                IntVector yi = IntVector.fromArray(I, labels, at + i);
                FloatVector sign = ((FloatVector) yi.convert(VectorOperators.I2F, 0)).mul(2f).sub(1f);
                FloatVector err = one.sub(FloatVector.fromArray(F, e, i).mul(sign));
                IntVector k = err.reinterpretAsInts().lanewise(VectorOperators.XOR, 0x7fffffff);
                k = k.blend(NAN_KEY, k.compare(VectorOperators.LT, 0x007fffff)); // NaN: bits above +inf's
                IntVector entry = k.lanewise(VectorOperators.LSHL, 1).or(yi);
                VectorMask<Integer> skip = yi.compare(VectorOperators.LT, 0)
                        .or(err.compare(VectorOperators.LE, 0f).cast(I)); // relu's 0: no loss, no sort
                entry.blend(ScalarLovasz.SKIP, skip).intoArray(entries, off + i);
                skipped += skip.trueCount();
            }
            for (; i < len; i++) {
                int y = labels[at + i];
                float ei = 1f - e[i] * ((float) y * 2f - 1f);
                boolean skip = y < 0 || !(ei > 0) && ei == ei;
                entries[off + i] = skip ? ScalarLovasz.SKIP : ScalarLovasz.entry(ei, y);
                skipped += skip ? 1 : 0;
            }
            for (i = off; i < off + len; i++) {
                ScalarLovasz.count(hist, entries[i]);
            }
        }
        ScalarLovasz.sortEntries(w, size);
        return ScalarLovasz.walkEntries(w, size - skipped, p.counts()[t]);
    }

    /** {@code e = 1 - x * (2 y - 1)} for elements {@code [at, at + len)} into {@code e[0, len)}. */
    private static void hingeErrors(LovaszProblem p, Scratch sc, float[] e, int at, int len) {
        final float[] x = sc.d;
        final int[] labels = p.labels();
        MemorySegment.copy(p.input(), Mem.F32, at * 4L, x, 0, len);
        final int bound = F.loopBound(len);
        final FloatVector one = FloatVector.broadcast(F, 1f);
        int i = 0;
        for (; i < bound; i += V) {
            FloatVector sign = ((FloatVector) IntVector.fromArray(I, labels, at + i).convert(VectorOperators.I2F, 0))
                    .mul(2f).sub(1f);
            one.sub(FloatVector.fromArray(F, x, i).mul(sign)).intoArray(e, i);
        }
        for (; i < len; i++) {
            e[i] = 1f - x[i] * ((float) labels[at + i] * 2f - 1f);
        }
    }
}
