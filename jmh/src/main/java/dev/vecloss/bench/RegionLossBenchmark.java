package dev.vecloss.bench;

import dev.vecloss.DType;
import dev.vecloss.Kernels;
import dev.vecloss.RegionLoss;
import dev.vecloss.SegmentationMode;
import dev.vecloss.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Locale;
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
 * Dice, Jaccard and Tversky (0.3, 0.7) of {@link RegionLoss}, multiclass from logits, through the
 * public API, one call per operation, float32 logits and int64 labels in native memory from a
 * fixed seed: the workload past the caches ({@code large}: 8 × 21 × 512 × 512, 44 040 192
 * logits) and a cache-resident batch ({@code cache}: 2 × 21 × 64 × 64, 172 032 logits), forward
 * ({@code grad=false}) or forward and gradient into a preallocated float32 tensor. G logits/s =
 * ops/s × logits / 1e9. Kernel choice, forks and timing as in {@link CrossEntropyBenchmark}; the
 * set-up checks the float32 call against the float64 one on one 64 × 64 image.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 2, timeUnit = TimeUnit.SECONDS)
@State(Scope.Benchmark)
public class RegionLossBenchmark {
    @Param({"dice", "jaccard", "tversky"})
    public String loss;

    @Param({"large", "cache"})
    public String size;

    @Param({"false", "true"})
    public boolean grad;

    @Param({"1"})
    public int threads;

    private Arena arena;
    private LossBenchmark.Call call;

    @Setup(Level.Trial)
    public void setUp() {
        String expected = System.getProperty("vecloss.bench.expect");
        String selected = Kernels.selected().name().toLowerCase(Locale.ROOT);
        if (expected != null && !expected.equals(selected)) {
            throw new IllegalStateException("expected the " + expected + " kernels but " + Kernels.description());
        }
        arena = Arena.ofShared();
        long[] shape = size.equals("large") ? new long[] {8, 21, 512, 512} : new long[] {2, 21, 64, 64};
        call = make(arena, loss, shape, grad, threads, DType.FLOAT32);
        long[] small = {1, 21, 64, 64};
        double got = make(arena, loss, small, grad, threads, DType.FLOAT32).run();
        double want = make(arena, loss, small, false, threads, DType.FLOAT64).run();
        if (!(Math.abs(got - want) <= 1e-5 * Math.abs(want))) {
            throw new IllegalStateException("self-check failed on " + loss + ": " + got + " against float64 " + want);
        }
    }

    /** The operands at {@code shape} (same seed whatever the dtype) and the loss's call. */
    static LossBenchmark.Call make(Arena arena, String loss, long[] shape, boolean withGrad, int threads, DType dtype) {
        SplittableRandom rnd = new SplittableRandom(RegionLossBenchmark.class.getName().hashCode());
        Tensor x = Tensor.allocate(arena, dtype, shape);
        for (long i = 0; i < x.numel(); i++) {
            float v = (float) rnd.nextDouble(-4, 4);
            if (dtype == DType.FLOAT64) {
                x.segment().setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i, v);
            } else {
                x.segment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, v);
            }
        }
        Tensor y = Tensor.allocate(arena, DType.INT64, shape[0], shape[2], shape[3]);
        for (long i = 0; i < y.numel(); i++) {
            y.segment().setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, rnd.nextLong(shape[1]));
        }
        Tensor g = withGrad ? Tensor.allocate(arena, DType.FLOAT32, shape) : null;
        RegionLoss.Options o = RegionLoss.Options.defaults(SegmentationMode.MULTICLASS).withThreads(threads);
        return switch (loss) {
            case "dice" -> () -> RegionLoss.dice(x, y, o, g);
            case "jaccard" -> () -> RegionLoss.jaccard(x, y, o, g);
            case "tversky" -> () -> RegionLoss.tversky(x, y, o.withTversky(0.3, 0.7, 1), g);
            default -> throw new IllegalArgumentException("unknown loss " + loss);
        };
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        call = null;
        arena.close();
    }

    /** The Panama (Vector API) kernels. */
    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Dvecloss.bench.expect=panama"})
    public double panama() {
        return call.run();
    }

    /** The scalar kernels, in a fork of their own. */
    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"-Dvecloss.impl=scalar", "-Dvecloss.bench.expect=scalar"})
    public double scalar() {
        return call.run();
    }
}
