package dev.vecloss.internal;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Per-class counts together with Eigen and Fergus's per-image pixel totals (LOSSES.md 9): for
 * labels {@code (images, d1, ..., dk)}, each image of {@code size = d1 * ... * dk} labels,
 * {@code n_j} is the number of labels equal to {@code j} and {@code P_j} the sum, over the
 * images in which class {@code j} occurs at least once, of the image's non-ignored labels. Both
 * are exact 64-bit sums of per-image terms, so they do not depend on the order the images are
 * counted in nor on the thread count.
 *
 * <p>Each image is counted alone into a row of {@code C} counts, which then says which classes it
 * holds and its non-ignored total. Two ways, chosen by the image's size against {@code C}:
 * <ul>
 *   <li>an image of at least {@code C} labels: the problem's kernels ({@link LossKernels#counts},
 *       the SIMD histogram on Panama kernels) count it into a cleared row, then one pass over the
 *       {@code C} counts; both cost at most the image's size;</li>
 *   <li>a smaller image: one label at a time, each class's first label in the image noted in a
 *       list, so the work is the image's size and not {@code C} (a row of {@code 2^24} classes
 *       is not scanned for a 3 x 3 image).</li>
 * </ul>
 * The images are spread over the threads in {@link Parallel}'s fixed chunks; when there are
 * fewer images than threads, each image is counted in parallel by itself instead
 * ({@link #count}).
 *
 * <p>Errors as {@link ScalarCounts}: a label neither {@code ignore_index} nor in {@code [0, C)}
 * throws {@link Targets.BadTarget} with the lowest flat index, at any thread count.
 */
public final class ImageCounts {
    private ImageCounts() {}

    /** A row of at most this many classes stays with its thread between calls; a longer one is made per call. */
    private static final int KEPT_ROW = 1 << 16;

    /** Counts of one image (kernel way); cleared before each image, so it may be left dirty. */
    private static final ThreadLocal<long[][]> ROW = ThreadLocal.withInitial(() -> new long[1][0]);

    /**
     * Counts of one image (label-at-a-time way); all zero between images: each class's count is
     * cleared when it is added up, and before an error is thrown.
     */
    private static final ThreadLocal<long[][]> CLEAN_ROW = ThreadLocal.withInitial(() -> new long[1][0]);

    /** The classes present in the current image, in the order first seen (label-at-a-time way). */
    private static final ThreadLocal<int[][]> PRESENT = ThreadLocal.withInitial(() -> new int[1][0]);

    /**
     * The counts {@code n_j} into {@code out[0, C)} and the pixel totals {@code P_j} into
     * {@code out[C, 2C)} (both overwritten) of the labels of {@code p}, read as {@code images}
     * images of {@code size} labels each ({@code images * size = p.length()}), on at most
     * {@code threads} threads.
     *
     * @throws Targets.BadTarget for the lowest flat index of a label outside {@code [0, C)} that
     *         is not {@code ignore_index}
     * @throws ArithmeticException if a total overflows a long
     */
    public static void count(CountProblem p, long images, long size, int threads, long[] out) {
        final int c = p.c();
        if (threads <= 1 || images >= threads || size < Parallel.CHUNK_ELEMENTS) {
            p.imageSize(size);
            Parallel.counts(images, Parallel.grain(size), threads, 2 * c, ImageCounts::chunk, p, out);
            return;
        }
        // Fewer (large) images than threads: one image at a time, its labels counted in parallel
        // as the plain counts are, by a problem over that image alone.
        Arrays.fill(out, 0, 2 * c, 0L);
        MemorySegment all = p.labels();
        long bytes = size * p.width();
        long[] row = new long[c];
        try {
            for (long i = 0; i < images; i++) {
                p.labels(all.asSlice(i * bytes, bytes), p.width(), size, c, p.ignoreIndex());
                try {
                    Parallel.counts(size, Parallel.grain(1), threads, c, CountProblem::chunk, p, row);
                } catch (Targets.BadTarget e) {
                    throw new Targets.BadTarget(i * size + e.position, e.value);
                }
                addImage(row, c, out, 0);
            }
        } finally {
            p.labels(all, p.width(), images * size, c, p.ignoreIndex());
        }
    }

    /**
     * The chunk function of {@link Parallel#counts} over images {@code [from, to)}: adds their
     * {@code n_j} into {@code out[off, off + C)} and their {@code P_j} into
     * {@code out[off + C, off + 2C)}. The image size is {@link CountProblem#imageSize()}.
     */
    public static void chunk(CountProblem p, long from, long to, long[] out, int off) {
        final int c = p.c();
        final long size = p.imageSize();
        if (size >= c) {
            long[] row = row(ROW, c);
            for (long i = from; i < to; i++) {
                Arrays.fill(row, 0, c, 0L);
                p.kernels().counts(p, i * size, (i + 1) * size, row, 0);
                addImage(row, c, out, off);
            }
        } else {
            long[] row = row(CLEAN_ROW, c);
            int[] present = present((int) size);
            for (long i = from; i < to; i++) {
                labelByLabel(p, i * size, (i + 1) * size, row, present, out, off);
            }
        }
    }

    /**
     * Adds one image's counts {@code row[0, C)} into {@code out[off, off + C)} and its
     * non-ignored total into {@code out[off + C + j]} for each class {@code j} it holds.
     */
    private static void addImage(long[] row, int c, long[] out, int off) {
        long total = 0;
        for (int j = 0; j < c; j++) {
            total += row[j];
        }
        if (total == 0) {
            return; // every label ignored: the image holds no class
        }
        for (int j = 0; j < c; j++) {
            long n = row[j];
            if (n != 0) {
                out[off + j] += n;
                out[off + c + j] += total;
            }
        }
    }

    /**
     * One image {@code [from, to)}, one label at a time into the all-zero {@code row}, the
     * classes found listed in {@code present}; added into {@code out} as {@link #addImage}, and
     * {@code row} left all zero again.
     */
    private static void labelByLabel(CountProblem p, long from, long to, long[] row, int[] present, long[] out,
            int off) {
        final int c = p.c();
        final long ignore = p.ignoreIndex();
        final MemorySegment seg = p.labels();
        final int width = p.width();
        int k = 0;
        long total = 0;
        for (long i = from; i < to; i++) {
            long y = Mem.getIndex(seg, width, i);
            if (y == ignore) {
                continue;
            }
            if (y < 0 || y >= c) {
                for (int q = 0; q < k; q++) {
                    row[present[q]] = 0; // the row stays clean for the next call on this thread
                }
                throw new Targets.BadTarget(i, y);
            }
            if (row[(int) y]++ == 0) {
                present[k++] = (int) y;
            }
            total++;
        }
        for (int q = 0; q < k; q++) {
            int j = present[q];
            out[off + j] += row[j];
            out[off + c + j] += total;
            row[j] = 0;
        }
    }

    /** This thread's row of at least {@code c} longs ({@link #KEPT_ROW}), or a new one. */
    private static long[] row(ThreadLocal<long[][]> holder, int c) {
        if (c > KEPT_ROW) {
            return new long[c];
        }
        long[][] h = holder.get();
        if (h[0].length < c) {
            h[0] = new long[c]; // grows once per thread and class count, then reused (all zero when new)
        }
        return h[0];
    }

    /** This thread's list of at least {@code n} class indices (n is below C, so below 2^24). */
    private static int[] present(int n) {
        if (n > KEPT_ROW) {
            return new int[n];
        }
        int[][] h = PRESENT.get();
        if (h[0].length < n) {
            h[0] = new int[n];
        }
        return h[0];
    }
}
