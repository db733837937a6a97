package dev.vecloss.internal.panama;

import static dev.vecloss.internal.panama.PanamaConstants.BITS;
import static dev.vecloss.internal.panama.PanamaConstants.LE;

import dev.vecloss.internal.CountProblem;
import dev.vecloss.internal.Mem;
import dev.vecloss.internal.ScalarCounts;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Class counts of integer labels (LOSSES.md 9), by one of two loops:
 * <ul>
 *   <li>{@link #compareAndCount}, uint8 labels and few classes: for each class, one pass over an
 *       L1-sized block of labels, a byte vector at a time, comparing each lane with the class and
 *       subtracting the mask (-1 where equal) from a vector of byte counters. Two instructions per
 *       vector and class, no memory dependency, so its cost grows with C and not with how the
 *       labels repeat. A label that no class (nor ignore_index) matched is found by the totals;
 *       the scalar reference then finds and reports the lowest one.</li>
 *   <li>{@link #subHistograms}, any other case: a scalar loop incrementing four interleaved
 *       histograms ({@code int} counts, label {@code i} into histogram {@code i % 4}), added up at
 *       the end of the range. A run of equal labels, the common case in segmentation masks,
 *       then does not make every increment wait for the store of the one before (a store-to-load
 *       dependency through memory, about 5 cycles each with one histogram). uint8 labels are
 *       read eight at a time as one long.</li>
 * </ul>
 * Counts are exact and do not depend on the loop, so the choice is by speed alone:
 * {@link #COMPARE_MAX_CLASSES}.
 */
public final class Histogram {
    private Histogram() {}

    /** Bytes of the width the kernels run at ({@link PanamaConstants#BITS}). */
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_PREFERRED.vectorBitSize() == BITS
            ? ByteVector.SPECIES_PREFERRED : VectorSpecies.of(byte.class, VectorShape.forBitSize(BITS));
    private static final int L = B.length();
    private static final VectorSpecies<Short> S = B.withLanes(short.class);

    /**
     * uint8 labels with at most this many classes to compare (C, plus one for an ignore_index
     * in [C, 255]) go by {@link #compareAndCount}; more by {@link #subHistograms}. Measured with
     * the JMH HistogramBenchmark on AVX2 (32 byte lanes, one thread, 64M labels): compare-and-count
     * runs at about 23 G labels/s for C = 2 and 3.4 G/s for C = 21, falling as 1/C; four
     * sub-histograms at about 1.4 G/s whatever C.
     */
    public static final int COMPARE_MAX_CLASSES = 48;

    /**
     * Vectors per block of {@link #compareAndCount}: a byte counter takes at most 255 before it
     * is added up, and 255 vectors (8 KB at 256 bits) stay in L1 for the C passes over them.
     */
    private static final int BLOCK_VECTORS = 255;

    /** Below this many labels per class the four histograms cost more to clear and add than they save. */
    private static final int LABELS_PER_CLASS = 4;

    private static final ThreadLocal<int[][]> SCRATCH = ThreadLocal.withInitial(() -> new int[1][0]);

    /**
     * Adds the counts of labels {@code [from, to)} into {@code out[off, off + C)}; see
     * {@link dev.vecloss.internal.LossKernels#counts}.
     */
    public static void counts(CountProblem p, long from, long to, long[] out, int off) {
        if (p.width() == 1 && comparedClasses(p) <= COMPARE_MAX_CLASSES) {
            compareAndCount(p, from, to, out, off);
        } else {
            subHistograms(p, from, to, out, off);
        }
    }

    /** The classes {@link #compareAndCount} compares uint8 labels with: C (at most 256), and the ignore_index where it is another byte value. */
    private static int comparedClasses(CountProblem p) {
        int c = Math.min(p.c(), 256);
        long ig = p.ignoreIndex();
        return c + (ig >= c && ig < 256 ? 1 : 0);
    }

    /**
     * The compare-and-count loop over uint8 labels (see the class comment); the labels after the
     * last whole vector go by the scalar reference. Public for the benchmarks, which compare it
     * with {@link #subHistograms}; use {@link #counts}.
     */
    public static void compareAndCount(CountProblem p, long from, long to, long[] out, int off) {
        if (p.width() != 1) {
            throw new IllegalArgumentException("compare-and-count is for uint8 labels");
        }
        final MemorySegment seg = p.labels();
        final int c = Math.min(p.c(), 256);
        final long ig = p.ignoreIndex();
        final long vectorEnd = from + (to - from) / L * L;
        long seen = 0; // labels matched by a class or by ignore_index
        for (long start = from; start < vectorEnd; start += (long) BLOCK_VECTORS * L) {
            int vectors = (int) Math.min(BLOCK_VECTORS, (vectorEnd - start) / L);
            for (int k = 0; k < c; k++) {
                long n = countEqual(seg, start, vectors, (byte) k);
                seen += n;
                if (k != ig) {
                    out[off + k] += n;
                }
            }
            if (ig >= c && ig < 256) {
                seen += countEqual(seg, start, vectors, (byte) ig);
            }
        }
        if (seen != vectorEnd - from) {
            ScalarCounts.check(p, from, vectorEnd); // some label matched nothing: report the lowest
        }
        ScalarCounts.counts(p, vectorEnd, to, out, off);
    }

    /**
     * The number of bytes equal to {@code k} in {@code vectors} (at most 255) vectors from
     * {@code start}. Two counters so that consecutive subtractions do not wait for each other.
     */
    private static long countEqual(MemorySegment seg, long start, int vectors, byte k) {
        ByteVector key = ByteVector.broadcast(B, k);
        ByteVector acc0 = ByteVector.zero(B);
        ByteVector acc1 = ByteVector.zero(B);
        long pos = start;
        int v = 0;
        for (; v + 1 < vectors; v += 2, pos += 2L * L) {
            ByteVector a = ByteVector.fromMemorySegment(B, seg, pos, LE);
            ByteVector b = ByteVector.fromMemorySegment(B, seg, pos + L, LE);
            acc0 = acc0.sub((ByteVector) a.eq(key).toVector()); // a true lane is -1
            acc1 = acc1.sub((ByteVector) b.eq(key).toVector());
        }
        if (v < vectors) {
            ByteVector a = ByteVector.fromMemorySegment(B, seg, pos, LE);
            acc0 = acc0.sub((ByteVector) a.eq(key).toVector());
        }
        // each lane of acc0 + acc1 is at most 255 (unsigned); pairs of lanes as shorts, each half
        // masked out, sum to at most 510 per short lane and 510 * 32 in all: no overflow
        ShortVector pairs = acc0.add(acc1).reinterpretAsShorts();
        ShortVector sums = pairs.and((short) 0xFF).add(pairs.lanewise(VectorOperators.LSHR, 8));
        return sums.reduceLanes(VectorOperators.ADD) & 0xFFFF;
    }

    /**
     * The four-histogram loop (see the class comment), for any label width; where there are
     * fewer than {@link #LABELS_PER_CLASS} labels per class, one histogram, the output itself.
     * Public for the benchmarks; use {@link #counts}.
     */
    public static void subHistograms(CountProblem p, long from, long to, long[] out, int off) {
        final int c = p.c();
        if (to - from < (long) LABELS_PER_CLASS * c) {
            ScalarCounts.counts(p, from, to, out, off);
            return;
        }
        // uint8 labels: a histogram of every byte value, so the loop needs no range check; the
        // counts of values in [C, 256) other than ignore_index then tell whether a label was bad
        final int width = p.width() == 1 ? 256 : c;
        int[][] holder = SCRATCH.get();
        if (holder[0].length < 4 * width) {
            holder[0] = new int[4 * width]; // grows once per thread and class count, then reused
        }
        final int[] h = holder[0];
        java.util.Arrays.fill(h, 0, 4 * width, 0);
        final long ig = p.ignoreIndex();
        boolean ok = switch (p.width()) {
            case 1 -> bytes(p.labels(), from, to, h);
            case 4 -> ints(p.labels(), from, to, c, ig, h);
            default -> longs(p.labels(), from, to, c, ig, h);
        };
        for (int k = c; ok && k < width; k++) {
            ok = k == ig || h[k] + h[width + k] + h[2 * width + k] + h[3 * width + k] == 0;
        }
        if (!ok) {
            ScalarCounts.check(p, from, to); // throws for the lowest bad label
        }
        for (int k = 0; k < Math.min(c, width); k++) {
            if (k != ig) { // a valid ignore_index was counted as its class, to keep the loop branch-free
                out[off + k] += (long) h[k] + h[width + k] + h[2 * width + k] + h[3 * width + k];
            }
        }
    }

    /**
     * Counts uint8 labels into the four histograms of 256 counts of {@code h}. Eight labels are
     * read as one little-endian long.
     */
    private static boolean bytes(MemorySegment seg, long from, long to, int[] h) {
        long i = from;
        for (; i + 8 <= to; i += 8) {
            long w = seg.get(Mem.I64, i);
            h[(int) w & 0xFF]++;
            h[256 + ((int) (w >>> 8) & 0xFF)]++;
            h[512 + ((int) (w >>> 16) & 0xFF)]++;
            h[768 + ((int) (w >>> 24) & 0xFF)]++;
            h[(int) (w >>> 32) & 0xFF]++;
            h[256 + ((int) (w >>> 40) & 0xFF)]++;
            h[512 + ((int) (w >>> 48) & 0xFF)]++;
            h[768 + (int) (w >>> 56)]++;
        }
        for (; i < to; i++) {
            h[Byte.toUnsignedInt(seg.get(ValueLayout.JAVA_BYTE, i))]++;
        }
        return true;
    }

    /** {@link #bytes} for int32 labels. */
    private static boolean ints(MemorySegment seg, long from, long to, int c, long ig, int[] h) {
        final int c1 = c, c2 = 2 * c, c3 = 3 * c;
        long i = from;
        for (; i + 4 <= to; i += 4) {
            int y0 = seg.getAtIndex(Mem.I32, i), y1 = seg.getAtIndex(Mem.I32, i + 1),
                    y2 = seg.getAtIndex(Mem.I32, i + 2), y3 = seg.getAtIndex(Mem.I32, i + 3);
            // unsigned compare: a negative label is above every c
            if (Integer.compareUnsigned(y0, c) >= 0 || Integer.compareUnsigned(y1, c) >= 0
                    || Integer.compareUnsigned(y2, c) >= 0 || Integer.compareUnsigned(y3, c) >= 0) {
                for (long j = i; j < i + 4; j++) {
                    int y = seg.getAtIndex(Mem.I32, j);
                    if (Integer.compareUnsigned(y, c) < 0) {
                        h[y]++;
                    } else if (y != ig) {
                        return false;
                    }
                }
                continue;
            }
            h[y0]++;
            h[c1 + y1]++;
            h[c2 + y2]++;
            h[c3 + y3]++;
        }
        for (; i < to; i++) {
            int y = seg.getAtIndex(Mem.I32, i);
            if (Integer.compareUnsigned(y, c) < 0) {
                h[y]++;
            } else if (y != ig) {
                return false;
            }
        }
        return true;
    }

    /** {@link #bytes} for int64 labels. */
    private static boolean longs(MemorySegment seg, long from, long to, int c, long ig, int[] h) {
        final int c1 = c, c2 = 2 * c, c3 = 3 * c;
        long i = from;
        for (; i + 4 <= to; i += 4) {
            long y0 = seg.getAtIndex(Mem.I64, i), y1 = seg.getAtIndex(Mem.I64, i + 1),
                    y2 = seg.getAtIndex(Mem.I64, i + 2), y3 = seg.getAtIndex(Mem.I64, i + 3);
            if (Long.compareUnsigned(y0, c) >= 0 || Long.compareUnsigned(y1, c) >= 0
                    || Long.compareUnsigned(y2, c) >= 0 || Long.compareUnsigned(y3, c) >= 0) {
                for (long j = i; j < i + 4; j++) {
                    long y = seg.getAtIndex(Mem.I64, j);
                    if (Long.compareUnsigned(y, c) < 0) {
                        h[(int) y]++;
                    } else if (y != ig) {
                        return false;
                    }
                }
                continue;
            }
            h[(int) y0]++;
            h[c1 + (int) y1]++;
            h[c2 + (int) y2]++;
            h[c3 + (int) y3]++;
        }
        for (; i < to; i++) {
            long y = seg.getAtIndex(Mem.I64, i);
            if (Long.compareUnsigned(y, c) < 0) {
                h[(int) y]++;
            } else if (y != ig) {
                return false;
            }
        }
        return true;
    }
}
