package dev.vecloss.internal;

import java.lang.foreign.MemorySegment;

/**
 * The scalar reference of smp's {@code LovaszLoss} (LOSSES.md 8.3), in double, and the parts the
 * SIMD kernels share with it: the radix sort of the errors and the walk that forms the Jaccard
 * gradient by prefix counts. The phases are those of {@link LovaszProblem}.
 *
 * <h2>A task</h2>
 * The errors of a (group, class) (softmax: {@code e = |fg - p_c|}) or of a group (hinge:
 * {@code e = 1 - x * (2 label - 1)}) over the group's non-ignored elements are sorted in
 * decreasing order; ties keep the elements' index order, as a stable sort does. (PyTorch's CPU
 * {@code torch.sort(descending=True)}, which smp calls, is stable only up to 16 elements, where
 * it is an insertion sort; for longer vectors it orders ties as {@code std::sort} leaves them. The
 * loss does not depend on the order of ties, its gradient does: LOSSES.md 8.3 chose the stable
 * order.) With {@code G} the group's foreground count and, after rank {@code k}, {@code f_k}
 * foreground and {@code b_k} background elements seen:
 * {@code J_k = 1 - (G - f_k) / (G + b_k)}, {@code Delta_k = J_k - J_(k-1)} ({@code J_0 = 0}),
 * the loss is {@code sum_k e_k Delta_k} (hinge: {@code max(e_k, 0)}), and the derivative with
 * respect to the element's probability (softmax) or logit (hinge) is {@code -Delta_k} for a
 * foreground element and {@code +Delta_k} for a background one, times the group's scale. The loss
 * is summed per run of equal errors, {@code e (J_end - J_start)} (see {@link #walk}): in floating
 * point as in exact arithmetic, it then does not depend on the order of ties, so the loss alone
 * can sort 4-byte entries without indices ({@link #sortEntries}) and still have the bits of the
 * loss computed with the gradient.
 *
 * <p>Elements whose error is 0 (softmax) or at most 0 (hinge) add 0 to the loss and get gradient
 * 0 (the derivative of {@code |.|} at 0, relu's at 0 and below); they sort last, after every
 * element whose {@code Delta} they could change, so they are left out of the sort (but counted
 * in {@code G}).
 *
 * <h2>The sort</h2>
 * A least-significant-digit radix sort on the errors' bits, mapped to unsigned integers in the
 * errors' decreasing order (a float's bits with the sign flipped, or all bits flipped when
 * negative, then complemented); 11-bit digits, a pass skipped when every key has the same digit.
 * Each pass is stable, so ties keep the order in which the elements were gathered: their index
 * order. The keys are 32 bits for float errors (the SIMD kernels) and 64 for double errors (this
 * reference). A NaN error sorts first, as in PyTorch. The SIMD kernels' loss without gradient
 * sorts {@link #entry}: the float key and the label in 4 bytes, no index, ties in no particular
 * order.
 */
public final class ScalarLovasz {
    private ScalarLovasz() {}

    private static final int DIGIT = 11;
    private static final int BUCKETS = 1 << DIGIT;

    /**
     * A thread's sort buffers, allocated once per thread and grown when a larger group comes (the
     * one allocation the issue allows for Lovász).
     */
    public static final class Work {
        public long[] keys = new long[0];
        public int[] idx = new int[0];
        long[] tmpKeys = new long[0];
        int[] tmpIdx = new int[0];
        /** The 4-byte entries of {@link #sortEntries} (a loss without gradient) and their second buffer. */
        public int[] entries = new int[0];
        int[] tmpEntries = new int[0];
        /**
         * Digit counts of the sorts; those of {@link #sortPacked} and {@link #sortEntries}, counted
         * while gathering, at {@code [0, 3 * 2048)}.
         */
        public final int[] hist = new int[6 * BUCKETS];
        /** Staging for the SIMD kernels' hinge errors, a block at a time. */
        public final float[] errors = new float[1024];

        /** Buffers for {@code n} elements: keys, and with {@code indices} the separate indices of {@link #sort}. */
        Work ensure(int n, boolean indices) {
            if (keys.length < n) {
                keys = new long[n];
                tmpKeys = new long[n];
            }
            if (indices && idx.length < n) {
                idx = new int[n];
                tmpIdx = new int[n];
            }
            return this;
        }
    }

    private static final ThreadLocal<Work> WORK = ThreadLocal.withInitial(Work::new);

    /** This thread's buffers for {@code n} entries of {@link #sortEntries}. */
    public static Work workEntries(long n) {
        Work w = WORK.get();
        int size = Math.toIntExact(n);
        if (w.entries.length < size + 1) { // one more: the SKIP after the last entry that walkEntries reads
            w.entries = new int[size + 1];
            w.tmpEntries = new int[size + 1];
        }
        return w;
    }

    /** This thread's buffers for {@code n} double keys and their indices ({@link #sort}). */
    static Work work(long n) {
        return WORK.get().ensure(Math.toIntExact(n), true);
    }

    /** This thread's buffers for {@code n} packed entries ({@link #sortPacked}). */
    public static Work workPacked(long n) {
        return WORK.get().ensure(Math.toIntExact(n), false);
    }

    /** The sort key of a float error: larger errors get smaller keys, in the low 32 bits. */
    public static long floatKey(float e) {
        int bits = e != e ? 0x7fc00000 : Float.floatToRawIntBits(e + 0f); // -0 as +0, one NaN
        int u = bits ^ ((bits >> 31) | 0x80000000);
        return ~u & 0xffffffffL;
    }

    /** The error of {@link #floatKey}. */
    public static float fromFloatKey(long key) {
        int u = ~(int) key;
        int bits = u < 0 ? u ^ 0x80000000 : ~u;
        return Float.intBitsToFloat(bits);
    }

    /** The sort key of a double error. */
    static long doubleKey(double e) {
        long bits = e != e ? 0x7ff8000000000000L : Double.doubleToRawLongBits(e + 0.0);
        long u = bits ^ ((bits >> 63) | Long.MIN_VALUE);
        return ~u;
    }

    static double fromDoubleKey(long key) {
        long u = ~key;
        long bits = u < 0 ? u ^ Long.MIN_VALUE : ~u;
        return Double.longBitsToDouble(bits);
    }

    /**
     * Sorts {@code w.keys[0, n)} in increasing unsigned order, carrying {@code w.idx}, stably:
     * LSD radix over the low {@code keyBits} bits (32 or 64).
     */
    public static void sort(Work w, int n, int keyBits) {
        final int passes = (keyBits + DIGIT - 1) / DIGIT;
        final int[] hist = w.hist;
        java.util.Arrays.fill(hist, 0, passes * BUCKETS, 0);
        long[] keys = w.keys;
        int[] idx = w.idx;
        for (int i = 0; i < n; i++) {
            long k = keys[i];
            for (int pass = 0; pass < passes; pass++) {
                hist[pass * BUCKETS + (int) ((k >>> (pass * DIGIT)) & (BUCKETS - 1))]++;
            }
        }
        long[] outKeys = w.tmpKeys;
        int[] outIdx = w.tmpIdx;
        for (int pass = 0; pass < passes; pass++) {
            final int base = pass * BUCKETS;
            final int shift = pass * DIGIT;
            if (n == 0 || hist[base + (int) ((keys[0] >>> shift) & (BUCKETS - 1))] == n) {
                continue; // every key has this digit: the pass would move nothing
            }
            int sum = 0;
            for (int b = 0; b < BUCKETS; b++) { // counts to start offsets
                int count = hist[base + b];
                hist[base + b] = sum;
                sum += count;
            }
            for (int i = 0; i < n; i++) {
                long k = keys[i];
                int at = hist[base + (int) ((k >>> shift) & (BUCKETS - 1))]++;
                outKeys[at] = k;
                outIdx[at] = idx[i];
            }
            long[] tk = keys;
            keys = outKeys;
            outKeys = tk;
            int[] ti = idx;
            idx = outIdx;
            outIdx = ti;
        }
        // the sorted data may sit in the other pair of arrays: swap the buffers' roles
        w.keys = keys;
        w.idx = idx;
        w.tmpKeys = outKeys;
        w.tmpIdx = outIdx;
    }

    /**
     * Sorts the float errors' packed entries {@code w.keys[0, n)} (the key of {@link #floatKey} in
     * the high 32 bits, the element's {@code index << 1 | fg} in the low 32) by their high 32 bits
     * in increasing unsigned order, stably: one array moves, not two. {@code counted}: the caller
     * has counted the keys' digits into {@code w.hist} as it gathered them ({@link #count}).
     */
    public static void sortPacked(Work w, int n, boolean counted) {
        final int passes = 3; // 32 key bits in 11-bit digits
        final int[] hist = w.hist;
        long[] keys = w.keys;
        if (!counted) {
            java.util.Arrays.fill(hist, 0, passes * BUCKETS, 0);
            for (int i = 0; i < n; i++) {
                count(hist, (int) (keys[i] >>> 32));
            }
        }
        long[] out = w.tmpKeys;
        for (int pass = 0; pass < passes; pass++) {
            final int base = pass * BUCKETS;
            final int shift = 32 + pass * DIGIT;
            if (n == 0 || hist[base + (int) ((keys[0] >>> shift) & (BUCKETS - 1))] == n) {
                continue;
            }
            int sum = 0;
            for (int b = 0; b < BUCKETS; b++) {
                int count = hist[base + b];
                hist[base + b] = sum;
                sum += count;
            }
            for (int i = 0; i < n; i++) {
                long k = keys[i];
                out[hist[base + (int) ((k >>> shift) & (BUCKETS - 1))]++] = k;
            }
            long[] tk = keys;
            keys = out;
            out = tk;
        }
        w.keys = keys;
        w.tmpKeys = out;
    }

    /**
     * Counts the three digits (11, 11, 10 bits) of a 32-bit key: a {@link #floatKey} for
     * {@link #sortPacked}, or an {@link #entry} for {@link #sortEntries}.
     */
    public static void count(int[] hist, int key) {
        hist[key & (BUCKETS - 1)]++;
        hist[BUCKETS + ((key >>> DIGIT) & (BUCKETS - 1))]++;
        hist[2 * BUCKETS + (key >>> 2 * DIGIT)]++;
    }

    /** Clears the counts of {@link #count}. */
    public static void clearCounts(int[] hist) {
        java.util.Arrays.fill(hist, 0, 3 * BUCKETS, 0);
    }

    /**
     * The 4-byte entry of a float error {@code e > 0} or NaN of an element that is ({@code fg} 1)
     * or is not ({@code fg} 0) foreground: its key ({@link #floatKey}, below 2^31 for such errors)
     * shifted left, the label below. Entries in increasing unsigned order are the errors in
     * decreasing order (NaN first), and among equal errors background first. They carry no index:
     * the loss does not need one (see {@link #walk}), only the gradient does.
     */
    public static int entry(float e, int fg) {
        return (int) floatKey(e) << 1 | fg;
    }

    /** An element left out of the loss (ignored, or error 0): above every entry, so it sorts last. */
    public static final int SKIP = -1;

    /**
     * Sorts {@code w.entries[0, n)} ({@link #entry}) in increasing unsigned order, their digits
     * already counted into {@code w.hist} ({@link #count}): LSD radix, 11, 11 and 10 bits, a
     * pass skipped when every entry has the same digit. Half the bytes of {@link #sortPacked}'s
     * entries move in each pass; the order among equal entries is not needed. Leaves
     * {@link #SKIP} at {@code w.entries[n]} for {@link #walkEntries}.
     */
    public static void sortEntries(Work w, int n) {
        final int[] hist = w.hist;
        int[] a = w.entries;
        int[] out = w.tmpEntries;
        for (int pass = 0; pass < 3; pass++) {
            final int base = pass * BUCKETS;
            final int shift = pass * DIGIT;
            if (n == 0 || hist[base + ((a[0] >>> shift) & (BUCKETS - 1))] == n) {
                continue;
            }
            int sum = 0;
            for (int b = 0; b < BUCKETS; b++) {
                int count = hist[base + b];
                hist[base + b] = sum;
                sum += count;
            }
            for (int i = 0; i < n; i++) {
                int e = a[i];
                out[hist[base + ((e >>> shift) & (BUCKETS - 1))]++] = e;
            }
            int[] t = a;
            a = out;
            out = t;
        }
        a[n] = SKIP;
        w.entries = a;
        w.tmpEntries = out;
    }

    /**
     * The loss of {@link #walk} over {@code n} sorted entries of {@link #sortEntries}, without a
     * gradient: the Jaccard index only at the end of each run of equal errors, from the counts
     * there, which do not depend on the order within the run; so the same terms in the same order
     * as {@link #walk}'s, the same bits.
     */
    public static double walkEntries(Work w, int n, long fg) {
        final int[] a = w.entries;
        final double total = fg;
        long seenFg = 0;
        double prev = 0;
        double loss = 0;
        for (int k = 0; k < n; k++) {
            final int entry = a[k];
            seenFg += entry & 1;
            // a run ends where the next key differs; a[n] is SKIP, whose key no error has
            if ((a[k + 1] ^ entry) >>> 1 != 0) {
                double jac = 1.0 - (total - seenFg) / (total + (k + 1 - seenFg));
                // the error: the key's bits flipped back (keys of errors > 0 and NaN are below 2^31)
                loss += Float.intBitsToFloat(entry >>> 1 ^ 0x7fffffff) * (jac - prev);
                prev = jac;
            }
        }
        return loss;
    }

    /**
     * The walk over {@code n} sorted elements of a task whose group has {@code fg} foreground
     * elements: returns the loss, and writes {@code -+Delta_k * scale} to {@code grad} (when not
     * null) at the flat index of the element whose local index is {@code j}:
     * {@code (j / div) * stride + off + j mod div}. {@code packed}: the entries of
     * {@link #sortPacked}, else the 64-bit double keys and their indices of {@link #sort}.
     *
     * <p>The loss is summed per run of equal errors: {@code e (J_end - J_start)}, the Jaccard
     * index at the run's end and at the previous run's end. In exact arithmetic that is the run's
     * {@code sum_k e Delta_k}; in floating point it is the same whatever the order of the run's
     * elements, so the loss has the same bits with the gradient (ties in index order) and without
     * ({@link #walkEntries}: ties in any order).
     */
    public static double walk(LovaszProblem p, Work w, int n, long fg, boolean packed, double scale, int div,
            long stride, long off) {
        final long[] keys = w.keys;
        final int[] idx = w.idx;
        final MemorySegment g = p.grad();
        final boolean gF64 = p.gradF64();
        final double total = fg;
        long seenFg = 0;
        double prev = 0;
        double runStart = 0;
        double loss = 0;
        for (int k = 0; k < n; k++) {
            long key = keys[k];
            int id = packed ? (int) key : idx[k];
            boolean isFg = (id & 1) != 0;
            if (isFg) {
                seenFg++;
            }
            long seenBg = k + 1 - seenFg;
            double jac = 1.0 - (total - seenFg) / (total + seenBg);
            double delta = jac - prev;
            prev = jac;
            long runKey = packed ? key >>> 32 : key;
            if (k + 1 == n || (packed ? keys[k + 1] >>> 32 : keys[k + 1]) != runKey) { // the run's end
                double e = packed ? fromFloatKey(runKey) : fromDoubleKey(key);
                loss += e * (jac - runStart);
                runStart = jac;
            }
            if (g != null) {
                int j = id >>> 1;
                int q = j / div;
                Mem.set(g, gF64, q * stride + off + (j - q * div), isFg ? -delta * scale : delta * scale);
            }
        }
        return loss;
    }

    // ---------------------------------------------------------------------------------------
    // The scalar phases

    /** A phase over items {@code [from, to)}. */
    static double lovasz(LovaszProblem.Phase phase, LovaszProblem p, long from, long to) {
        switch (phase) {
            case STATS -> stats(p, from, to);
            case TASK -> {
                for (long t = from; t < to; t++) {
                    p.taskLoss()[(int) t] = p.softmax() ? softmaxTask(p, (int) t) : hingeTask(p, (int) t);
                }
            }
            case BACKWARD -> backward(p, from, to);
        }
        return 0;
    }

    /** The softmax maximum and sum of exponentials at positions {@code [from, to)}. */
    private static void stats(LovaszProblem p, long from, long to) {
        final MemorySegment x = p.input();
        final boolean f64 = p.f64();
        final long c = p.c(), s = p.s();
        for (long pos = from; pos < to; pos++) {
            long base = (pos / s) * c * s + pos % s;
            double m = ScalarMath.rowMax(x, f64, base, c, s);
            double sum = ScalarMath.expSum(x, f64, base, 0, c, s, m, 0);
            p.maxD()[(int) pos] = m;
            p.sumD()[(int) pos] = sum;
        }
    }

    /** Task {@code t} = (group, class) of Lovász-softmax: its loss, and its probabilities' gradient staged. */
    private static double softmaxTask(LovaszProblem p, int t) {
        final int c = (int) p.c();
        final int group = t / c, cls = t % c;
        final long fg = p.counts()[t];
        if (fg == 0) {
            return 0; // classes='present': an absent class is skipped
        }
        final MemorySegment x = p.input();
        final boolean f64 = p.f64();
        final int s = (int) p.s();
        final int size = (int) p.groupSize();
        final int first = group * size; // the group's first position
        final int[] labels = p.labels();
        final Work w = work(size);
        int n = 0;
        for (int j = 0; j < size; j++) {
            int pos = first + j;
            int y = labels[pos];
            if (y < 0) {
                continue;
            }
            int img = pos / s;
            double xc = Mem.get(x, f64, ((long) img * c + cls) * s + (pos - (long) img * s));
            double prob = ScalarMath.exp(xc - p.maxD()[pos]) / p.sumD()[pos];
            boolean isFg = y == cls;
            double e = Math.abs((isFg ? 1.0 : 0.0) - prob);
            if (e == 0) {
                continue;
            }
            w.keys[n] = doubleKey(e);
            w.idx[n] = j << 1 | (isFg ? 1 : 0);
            n++;
        }
        sort(w, n, 64);
        long cs = (long) c * s;
        return walk(p, w, n, fg, false, p.scale()[group], s, cs, (long) group * (p.perImage() ? cs : 0) + (long) cls * s);
    }

    /** Task {@code t} = a group of the hinge: its loss, and its logits' gradient. */
    private static double hingeTask(LovaszProblem p, int t) {
        final MemorySegment x = p.input();
        final boolean f64 = p.f64();
        final int size = (int) p.groupSize();
        final long first = (long) t * size;
        final int[] labels = p.labels();
        final MemorySegment g = p.grad();
        final Work w = work(size);
        int n = 0;
        for (int j = 0; j < size; j++) {
            long at = first + j;
            int y = labels[(int) at];
            double e = y < 0 ? 0 : 1 - Mem.get(x, f64, at) * (2 * y - 1);
            if (!(e > 0) && e == e) { // ignored, or no loss: gradient 0 (relu's at 0 and below)
                if (g != null) {
                    Mem.set(g, p.gradF64(), at, 0);
                }
                continue;
            }
            w.keys[n] = doubleKey(e);
            w.idx[n] = j << 1 | y;
            n++;
        }
        sort(w, n, 64);
        return walk(p, w, n, p.counts()[t], false, p.scale()[t], Integer.MAX_VALUE, 0, first);
    }

    /**
     * The softmax's chain rule at positions {@code [from, to)}: the gradient tensor holds
     * {@code G_c = dL/dp_c} (0 where no task wrote), replaced by {@code p_c (G_c - sum_k p_k G_k)},
     * computed as {@code p_c ((G_c - G_m) + sum_k p_k (G_m - G_k))} with {@code m} the most
     * probable class: the same in exact arithmetic (the p sum to 1), but where {@code p_m} is
     * close to 1 the plain form subtracts two nearly equal numbers and loses the small result (a
     * confident position's 1e-12 gradient kept 6 digits); this one has no such subtraction.
     */
    private static void backward(LovaszProblem p, long from, long to) {
        final MemorySegment x = p.input();
        final MemorySegment g = p.grad();
        final boolean f64 = p.f64(), gF64 = p.gradF64();
        final long c = p.c(), s = p.s();
        for (long pos = from; pos < to; pos++) {
            long base = (pos / s) * c * s + pos % s;
            double m = p.maxD()[(int) pos];
            double inv = 1 / p.sumD()[(int) pos];
            double best = -1;
            double gm = 0;
            for (long k = 0; k < c; k++) {
                double prob = ScalarMath.exp(Mem.get(x, f64, base + k * s) - m) * inv;
                if (prob > best) {
                    best = prob;
                    gm = Mem.get(g, gF64, base + k * s);
                }
            }
            double r = 0;
            for (long k = 0; k < c; k++) {
                double prob = ScalarMath.exp(Mem.get(x, f64, base + k * s) - m) * inv;
                r += prob * (gm - Mem.get(g, gF64, base + k * s));
            }
            for (long k = 0; k < c; k++) {
                long at = base + k * s;
                double prob = ScalarMath.exp(Mem.get(x, f64, at) - m) * inv;
                Mem.set(g, gF64, at, prob * ((Mem.get(g, gF64, at) - gm) + r));
            }
        }
    }
}
