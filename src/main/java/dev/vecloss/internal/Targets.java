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
     * Sum of target weights over positions {@code [from, to)}.
     *
     * @throws BadTarget for the first active target of the range outside {@code [0, C)}
     */
    public static double weightSum(RowProblem p, long from, long to) {
        double w = 0;
        long c = p.c();
        for (long pos = from; pos < to; pos++) {
            long y = Mem.getIndex(p.target(), p.targetKind(), pos);
            if (y == p.ignoreIndex()) {
                continue;
            }
            if (y < 0 || y >= c) {
                throw new BadTarget(pos, y);
            }
            w += ScalarKernels.weight(p, y);
        }
        return w;
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
