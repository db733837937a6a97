package dev.vecloss.internal;

/**
 * The pre-pass over index targets of CE and NLL: checks every active target against
 * {@code [0, C)} and sums the target weights {@code W = sum_{active} w_y}, the denominator of
 * {@code mean}. It reads the targets only, so it is cheap next to the loss pass, and it runs
 * before anything is written: a bad label never leaves a half-written output.
 */
public final class Targets {
    private Targets() {}

    /**
     * Adds the target weights of positions {@code [from, to)} to {@code acc}, exactly.
     *
     * @throws BadTarget for the first active target of the range outside {@code [0, C)}
     */
    public static void weightSum(RowProblem p, long from, long to, ExactSum acc) {
        scan(p, from, to, true, acc);
    }

    /**
     * Adds the number of active positions in {@code [from, to)} to {@code acc}: the mean's denominator where weights
     * do not enter it (the softmax focal loss).
     *
     * @throws BadTarget as {@link #weightSum}
     */
    public static void activeCount(RowProblem p, long from, long to, ExactSum acc) {
        scan(p, from, to, false, acc);
    }

    /**
     * Per-thread counts of each class's active targets in a chunk: float32 weights are summed as
     * {@code sum_k count_k w_k}, each product exact in double (a count below 2^29 times 24 bits),
     * a few superaccumulator additions per chunk instead of one per position.
     */
    private static final ThreadLocal<long[]> COUNTS = ThreadLocal.withInitial(() -> new long[0]);

    /** Classes up to which float32 weights are counted per class (an array of this many longs per thread). */
    private static final long MAX_COUNTED_CLASSES = 1 << 20;

    /** Adds the range's weights (exactly) or its count of active positions to {@code acc}. */
    private static void scan(RowProblem p, long from, long to, boolean weighted, ExactSum acc) {
        long count = 0;
        long c = p.c();
        boolean perClass = weighted && p.weight() != null && !p.f64() && c <= MAX_COUNTED_CLASSES;
        long[] counts = null;
        if (perClass) {
            counts = COUNTS.get();
            if (counts.length < c) {
                counts = new long[(int) c];
                COUNTS.set(counts);
            }
        }
        for (long pos = from; pos < to; pos++) {
            long y = Mem.getIndex(p.target(), p.targetKind(), pos);
            if (p.ignores() && y == p.ignoreIndex()) {
                continue;
            }
            if (y < 0 || y >= c) {
                if (perClass) {
                    java.util.Arrays.fill(counts, 0, (int) c, 0L);
                }
                throw new BadTarget(pos, y);
            }
            if (perClass) {
                counts[(int) y]++;
            } else if (weighted) {
                acc.add(ScalarKernels.weight(p, y));
            } else {
                count++;
            }
        }
        if (perClass) {
            for (int k = 0; k < c; k++) {
                long n = counts[k];
                if (n != 0) {
                    counts[k] = 0;
                    double w = ScalarKernels.weight(p, k);
                    long high = n >>> 28, low = n & ((1L << 28) - 1);
                    acc.add(low * w); // 28 + 24 bits: exact
                    if (high != 0) {
                        acc.add(high * w * 0x1p28); // a chunk's count is far below 2^56: exact too
                    }
                }
            }
        }
        acc.add((double) count); // exact below 2^53
    }

    /** An active target outside {@code [0, C)}: its flat position and value. */
    public static final class BadTarget extends RuntimeException {
        private static final long serialVersionUID = 1L;
        public final long position;
        public final long value;

        BadTarget(long position, long value) {
            super(null, null, false, false);
            this.position = position;
            this.value = value;
        }
    }
}
