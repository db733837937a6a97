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

    /** Adds the range's weights (each exactly) or its count of active positions to {@code acc}. */
    private static void scan(RowProblem p, long from, long to, boolean weighted, ExactSum acc) {
        long count = 0;
        long c = p.c();
        for (long pos = from; pos < to; pos++) {
            long y = Mem.getIndex(p.target(), p.targetKind(), pos);
            if (p.ignores() && y == p.ignoreIndex()) {
                continue;
            }
            if (y < 0 || y >= c) {
                throw new BadTarget(pos, y);
            }
            if (weighted) {
                acc.add(ScalarKernels.weight(p, y));
            } else {
                count++;
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
