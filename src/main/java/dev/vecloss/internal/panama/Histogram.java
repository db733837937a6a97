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
 * {@link #COMPARE_MAX_CLASSES}. On 64M uint8 labels in runs (HistogramBenchmark's
 * {@code u8c48runs}) the four histograms were 1.7x faster than the one-at-a-time reference; on
 * int64 labels both loops are bound by memory (8 bytes a label) and run alike.
 */
public final class Histogram {
    private Histogram() {}

    /** Bytes of the width the kernels run at ({@link PanamaConstants#BITS}). */
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_PREFERRED.vectorBitSize() == BITS
            ? ByteVector.SPECIES_PREFERRED : VectorSpecies.of(byte.class, VectorShape.forBitSize(BITS));
    private static final int L = B.length();

    /**
     * uint8 labels with at most this many classes to compare (C, plus one for an ignore_index
     * in [C, 255]) go by {@link #compareAndCount}; more by {@link #subHistograms}. Measured with
     * the JMH HistogramBenchmark ({@code compareAndCount} and {@code subHistograms} methods, 64M
     * labels, one thread) on the 2-core AVX2 machine while it was shared (load 6 to 8, so only
     * the ratios mean something): compare-and-count was 10x faster at C = 2, 5x at C = 8, 1.2 to
     * 1.4x at C = 21, even around C = 28 and 2x slower at C = 48; the four sub-histograms run at
     * about the same rate whatever C. To be measured again on a quiet machine.
     */
    public static final int COMPARE_MAX_CLASSES = 28;

    /**
     * Vectors per block of {@link #compareAndCount}: a byte counter takes at most 255 before it
     * is added up, and 255 vectors (8 KB at 256 bits) stay in L1 for the C passes over them.
     */
    private static final int BLOCK_VECTORS = 255;

    /** Below this many labels per class the four histograms cost more to clear and add than they save. */
    private static final int LABELS_PER_CLASS = 4;

    /** The longest range {@link #subHistograms} counts in {@code int}s at once. */
    private static final long MAX_RANGE = 1L << 30;

    private static final ThreadLocal<long[]> FOUR = ThreadLocal.withInitial(() -> new long[4]);

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

    /**
     * The classes {@link #compareAndCount} compares uint8 labels with: C (at most 256), and the
     * ignore_index where it is another byte value.
     */
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
        final long[] four = FOUR.get();
        for (long start = from; start < vectorEnd; start += (long) BLOCK_VECTORS * L) {
            int vectors = (int) Math.min(BLOCK_VECTORS, (vectorEnd - start) / L);
            int k = 0;
            for (; k + 4 <= c; k += 4) {
                countEqual4(seg, start, vectors, k, four);
                for (int j = 0; j < 4; j++) {
                    seen += four[j];
                    if (k + j != ig) {
                        out[off + k + j] += four[j];
                    }
                }
            }
            for (; k < c; k++) {
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
     * The numbers of bytes equal to {@code k}, {@code k + 1}, {@code k + 2} and {@code k + 3} in
     * {@code vectors} (at most 255) vectors from {@code start}, into {@code counts[0..3]}: four
     * classes per load, four independent counters.
     */
    private static void countEqual4(MemorySegment seg, long start, int vectors, int k, long[] counts) {
        ByteVector k0 = ByteVector.broadcast(B, (byte) k);
        ByteVector k1 = ByteVector.broadcast(B, (byte) (k + 1));
        ByteVector k2 = ByteVector.broadcast(B, (byte) (k + 2));
        ByteVector k3 = ByteVector.broadcast(B, (byte) (k + 3));
        ByteVector a0 = ByteVector.zero(B), a1 = ByteVector.zero(B), a2 = ByteVector.zero(B), a3 = ByteVector.zero(B);
        long pos = start;
        for (int v = 0; v < vectors; v++, pos += L) {
            ByteVector x = ByteVector.fromMemorySegment(B, seg, pos, LE);
            a0 = a0.sub((ByteVector) x.eq(k0).toVector()); // a true lane is -1
            a1 = a1.sub((ByteVector) x.eq(k1).toVector());
            a2 = a2.sub((ByteVector) x.eq(k2).toVector());
            a3 = a3.sub((ByteVector) x.eq(k3).toVector());
        }
        // The lane sums, written out here rather than in a method taking a vector (a vector passed
        // to a call C2 leaves out of line is boxed: measured, 0.5 to 2 KB per call). Byte counters
        // read as unsigned (each at most 255): pairs of lanes as shorts, each half masked out, sum
        // to at most 510 per short lane and 510 * 32 in all, no overflow.
        ShortVector p0 = a0.reinterpretAsShorts(), p1 = a1.reinterpretAsShorts(),
                p2 = a2.reinterpretAsShorts(), p3 = a3.reinterpretAsShorts();
        counts[0] = p0.and((short) 0xFF).add(p0.lanewise(VectorOperators.LSHR, 8)).reduceLanes(VectorOperators.ADD) & 0xFFFF;
        counts[1] = p1.and((short) 0xFF).add(p1.lanewise(VectorOperators.LSHR, 8)).reduceLanes(VectorOperators.ADD) & 0xFFFF;
        counts[2] = p2.and((short) 0xFF).add(p2.lanewise(VectorOperators.LSHR, 8)).reduceLanes(VectorOperators.ADD) & 0xFFFF;
        counts[3] = p3.and((short) 0xFF).add(p3.lanewise(VectorOperators.LSHR, 8)).reduceLanes(VectorOperators.ADD) & 0xFFFF;
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
        ShortVector pairs = acc0.add(acc1).reinterpretAsShorts(); // each byte lane at most 255: as countEqual4
        return pairs.and((short) 0xFF).add(pairs.lanewise(VectorOperators.LSHR, 8)).reduceLanes(VectorOperators.ADD)
                & 0xFFFF;
    }

    /**
     * The four-histogram loop (see the class comment), for any label width; where there are
     * fewer than {@link #LABELS_PER_CLASS} labels per class, one histogram, the output itself.
     * Public for the benchmarks; use {@link #counts}.
     */
    public static void subHistograms(CountProblem p, long from, long to, long[] out, int off) {
        if (to - from > MAX_RANGE) { // int counts: ranges in order, so the lowest bad label still throws first
            for (long start = from; start < to; start += MAX_RANGE) {
                subHistograms(p, start, Math.min(to, start + MAX_RANGE), out, off);
            }
            return;
        }
        final int c = p.c();
        // uint8 labels: a histogram of every byte value, so the loop needs no range check; the
        // counts of values in [C, 256) other than ignore_index then tell whether a label was bad
        final int width = p.width() == 1 ? 256 : c;
        if (to - from < (long) LABELS_PER_CLASS * width) {
            ScalarCounts.counts(p, from, to, out, off);
            return;
        }
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
