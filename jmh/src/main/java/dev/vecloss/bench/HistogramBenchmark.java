package dev.vecloss.bench;

import dev.vecloss.ClassWeights;
import dev.vecloss.DType;
import dev.vecloss.Kernels;
import dev.vecloss.Tensor;
import dev.vecloss.internal.CountProblem;
import dev.vecloss.internal.KernelProvider;
import dev.vecloss.internal.ScalarCounts;
import dev.vecloss.internal.panama.Histogram;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The class-count histogram of {@link ClassWeights#counts}: 2^26 (64M) labels in native memory
 * from a fixed seed, uniform over the classes with about 5% ignore_index (255 for uint8, -100
 * otherwise), past the caches ({@code u8c21}, {@code u8c2}, {@code i64c21}, ...), and a
 * cache-sized 2^16 labels ({@code u8c21cache}: one chunk, 64 KB). A name ending in {@code runs}
 * ({@code i64c21runs}) has runs of equal labels (128 long on average) instead, as segmentation
 * masks have: the case the four sub-histograms are for. G labels/s = ops/s × labels / 1e9.
 *
 * <p>Methods: {@link #panama} and {@link #scalar} are the public call with each kernel (forks as
 * {@link CrossEntropyBenchmark}); {@link #compareAndCount} and {@link #subHistograms} run one of
 * the two loops of {@link Histogram} alone over the whole range on one thread, the measurement
 * behind {@link Histogram#COMPARE_MAX_CLASSES} (use the {@code u8c*} workloads and
 * {@code threads = 1}).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 2, timeUnit = TimeUnit.SECONDS)
@State(Scope.Benchmark)
public class HistogramBenchmark {
    @Param({"u8c21", "u8c2", "i64c21", "u8c21cache"})
    public String workload;

    @Param({"1"})
    public int threads;

    private Arena arena;
    private Tensor labels;
    private int classes;
    private long ignore;
    private ClassWeights.Options options;
    private long[] out;
    private CountProblem problem;
    /** Labels per image of {@link #panamaImagePixels}. */
    private static final long IMAGE = 512 * 512;
    private Tensor images;

    @Setup(Level.Trial)
    public void setUp() {
        // u8c21, i64c21, i32c21, u8c2, u8c64, ..., u8c21cache
        boolean runs = workload.endsWith("runs");
        String w = workload.replace("cache", "").replace("runs", "");
        DType dtype = w.startsWith("u8") ? DType.UINT8 : w.startsWith("i32") ? DType.INT32 : DType.INT64;
        classes = Integer.parseInt(w.substring(w.indexOf('c') + 1));
        long n = workload.endsWith("cache") ? 1L << 16 : 1L << 26;
        ignore = dtype == DType.UINT8 ? 255 : -100;
        arena = Arena.ofShared();
        MemorySegment seg = arena.allocate(n * dtype.byteSize(), 64);
        SplittableRandom rnd = new SplittableRandom(0x5EEDCAFEL);
        long[] expected = new long[classes];
        long y = 0;
        for (long i = 0; i < n; i++) {
            // i.i.d. labels, or (runs) runs of 1 to 256 equal labels, as a segmentation mask's rows
            if (!runs || rnd.nextInt(128) == 0) {
                y = rnd.nextInt(20) == 0 ? ignore : rnd.nextInt(classes);
            }
            if (y != ignore) {
                expected[(int) y]++;
            }
            switch (dtype) {
                case UINT8 -> seg.set(ValueLayout.JAVA_BYTE, i, (byte) y);
                case INT32 -> seg.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i, (int) y);
                default -> seg.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, y);
            }
        }
        labels = Tensor.of(seg, dtype, n);
        long size = Math.min(n, IMAGE);
        images = Tensor.of(seg, dtype, n / size, size);
        options = ClassWeights.Options.defaults().withIgnoreIndex(ignore).withThreads(threads);
        out = new long[classes];
        problem = CountProblem.create().kernels(KernelProvider.scalar())
                .labels(seg, dtype.byteSize(), n, classes, ignore);
        if (!Arrays.equals(expected, ClassWeights.counts(labels, classes, options))
                || !Arrays.equals(expected, ClassWeights.countsWithImagePixels(images, classes, options).counts())) {
            throw new IllegalStateException("self-check failed on " + workload + " (" + Kernels.description() + ")");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    /** The public call with the Panama kernels. */
    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Dvecloss.bench.expect=panama"})
    public long panama() {
        ClassWeights.counts(labels, classes, options, out);
        return out[0];
    }

    /** The public call with the scalar kernels. */
    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"-Dvecloss.impl=scalar", "-Dvecloss.bench.expect=scalar"})
    public long scalar() {
        ClassWeights.counts(labels, classes, options, out);
        return out[0];
    }

    /**
     * {@link ClassWeights#countsWithImagePixels} with the Panama kernels: the same labels read as
     * images of {@link #IMAGE} labels (512 x 512; the cache workload is one image), counted image
     * by image for median-frequency's per-image pixel totals. Compare with {@link #panama}.
     */
    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Dvecloss.bench.expect=panama"})
    public long panamaImagePixels() {
        return ClassWeights.countsWithImagePixels(images, classes, options).imagePixels()[0];
    }

    /** {@link Histogram#compareAndCount} alone, one thread (uint8 only). */
    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
    public long compareAndCount() {
        Arrays.fill(out, 0);
        Histogram.compareAndCount(problem, 0, problem.length(), out, 0);
        return out[0];
    }

    /** {@link Histogram#subHistograms} alone, one thread. */
    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
    public long subHistograms() {
        Arrays.fill(out, 0);
        Histogram.subHistograms(problem, 0, problem.length(), out, 0);
        return out[0];
    }

    /** The scalar reference loop alone, one thread. */
    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
    public long reference() {
        Arrays.fill(out, 0);
        ScalarCounts.counts(problem, 0, problem.length(), out, 0);
        return out[0];
    }
}
