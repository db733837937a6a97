package dev.vecloss.internal;

/**
 * The reference of the counting family: one label at a time, in index order. The Panama
 * histogram must give the same counts, and the same error, on every range.
 */
public final class ScalarCounts {
    private ScalarCounts() {}

    /**
     * Adds the class counts of labels {@code [from, to)} into {@code out[off, off + C)}, skipping
     * {@code ignore_index}.
     *
     * @throws Targets.BadTarget for the lowest index of the range whose label is neither
     *         {@code ignore_index} nor in {@code [0, C)}; {@code out} may then hold part of the
     *         range's counts
     */
    public static void counts(CountProblem p, long from, long to, long[] out, int off) {
        final long c = p.c(), ignore = p.ignoreIndex();
        for (long i = from; i < to; i++) {
            long y = Mem.getIndex(p.labels(), p.width(), i);
            if (y == ignore) {
                continue;
            }
            if (y < 0 || y >= c) {
                throw new Targets.BadTarget(i, y);
            }
            out[off + (int) y]++;
        }
    }

    /**
     * Throws for the lowest bad label of {@code [from, to)} (see {@link #counts}), writing
     * nothing; returns normally if there is none.
     */
    public static void check(CountProblem p, long from, long to) {
        final long c = p.c(), ignore = p.ignoreIndex();
        for (long i = from; i < to; i++) {
            long y = Mem.getIndex(p.labels(), p.width(), i);
            if (y != ignore && (y < 0 || y >= c)) {
                throw new Targets.BadTarget(i, y);
            }
        }
    }
}
