package dev.vecloss.bench;

import dev.vecloss.DType;
import dev.vecloss.Kernels;
import dev.vecloss.Lovasz;
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
 * smp's {@code LovaszLoss} through the public API ({@link Lovasz#lovaszLoss}), the workloads of
 * issue 9: Lovász-softmax on 2 × 21 × 256 × 256 logits (2 752 512 elements), over the batch and
 * per image, forward and forward + gradient (into a preallocated float32 tensor); the Lovász
 * hinge on 8 × 1 × 256 × 256 (524 288 elements). float32 in native memory from a fixed seed,
 * uniform logits in [-4, 4), uniform labels. G elements/s = ops/s × elements / 1e9. Kernel
 * choice, forks and timing as in {@link CrossEntropyBenchmark}; the set-up checks the float32
 * loss against the float64 one (scalar kernels in double) on the same data, to 1e-5 relative.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 2, timeUnit = TimeUnit.SECONDS)
@State(Scope.Benchmark)
public class LovaszBenchmark {
    @Param({"softmax", "softmax_per_image", "softmax_grad", "softmax_per_image_grad", "hinge", "hinge_grad"})
    public String workload;

    @Param({"1"})
    public int threads;

    private Arena arena;
    private Tensor input;
    private Tensor target;
    private Tensor grad;
    private Lovasz.Options options;

    @Setup(Level.Trial)
    public void setUp() {
        String expected = System.getProperty("vecloss.bench.expect");
        String selected = Kernels.selected().name().toLowerCase(Locale.ROOT);
        if (expected != null && !expected.equals(selected)) {
            throw new IllegalStateException("expected the " + expected + " kernels but " + Kernels.description());
        }
        arena = Arena.ofShared();
        boolean softmax = workload.startsWith("softmax");
        long n = softmax ? 2 : 8, c = softmax ? 21 : 1, hw = 256 * 256;
        SplittableRandom rnd = new SplittableRandom(LovaszBenchmark.class.getName().hashCode());
        input = Tensor.allocate(arena, DType.FLOAT32, n, c, 256, 256);
        Tensor input64 = Tensor.allocate(arena, DType.FLOAT64, n, c, 256, 256);
        for (long i = 0; i < input.numel(); i++) {
            float v = (float) rnd.nextDouble(-4, 4);
            input.segment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, v);
            input64.segment().setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i, v);
        }
        Tensor target64; // the float64 check's target: a floating mask must have the input's dtype
        if (softmax) {
            target = Tensor.allocate(arena, DType.INT64, n, 256, 256);
            for (long i = 0; i < n * hw; i++) {
                target.segment().setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, rnd.nextLong(c));
            }
            target64 = target;
        } else {
            target = Tensor.allocate(arena, DType.FLOAT32, n, 1, 256, 256);
            target64 = Tensor.allocate(arena, DType.FLOAT64, n, 1, 256, 256);
            for (long i = 0; i < n * hw; i++) {
                float v = rnd.nextBoolean() ? 1f : 0f;
                target.segment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, v);
                target64.segment().setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i, v);
            }
        }
        options = Lovasz.Options.defaults(softmax ? SegmentationMode.MULTICLASS : SegmentationMode.BINARY)
                .withPerImage(workload.contains("per_image")).withThreads(threads);
        grad = workload.endsWith("_grad") ? Tensor.allocate(arena, DType.FLOAT32, n, c, 256, 256) : null;
        double got = Lovasz.lovaszLoss(input, target, options);
        double want = Lovasz.lovaszLoss(input64, target64, options);
        if (!(Math.abs(got - want) <= 1e-5 * Math.abs(want))) {
            throw new IllegalStateException("self-check failed on " + workload + ": " + got + " against float64 " + want);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    /** The Panama (Vector API) kernels. */
    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Dvecloss.bench.expect=panama"})
    public double panama() {
        return Lovasz.lovaszLoss(input, target, options, grad);
    }

    /** The scalar kernels, in a fork of their own. */
    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"-Dvecloss.impl=scalar", "-Dvecloss.bench.expect=scalar"})
    public double scalar() {
        return Lovasz.lovaszLoss(input, target, options, grad);
    }
}
