package dev.vecloss.bench;

import dev.vecloss.BinaryCrossEntropy;
import dev.vecloss.DType;
import dev.vecloss.Focal;
import dev.vecloss.Hinge;
import dev.vecloss.Kernels;
import dev.vecloss.KlDiv;
import dev.vecloss.Reduction;
import dev.vecloss.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
 * The binary, focal, margin and divergence losses through the public API, one call per
 * operation, float32 in native memory from a fixed seed: the workloads of the issue that
 * brought them, at a size past the caches ({@code large}: 2^26 elements, or 65536 × 1000 for
 * the row losses) and at a training batch that stays in cache ({@code cache}: 2^18 elements, or
 * 256 × 1000). G elements/s = ops/s × elements / 1e9 (elements: 2^26, 65 536 000, 2^18 or
 * 256 000). Kernel choice, forks and timing as in {@link CrossEntropyBenchmark}; the set-up
 * checks the float32 call against the float64 one on the first 2^16 elements (4096 rows).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 2, timeUnit = TimeUnit.SECONDS)
@State(Scope.Benchmark)
public class LossBenchmark {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;

    @Param({"bce_with_logits", "bce_with_logits_pos_weight", "bce_with_logits_grad", "bce", "bce_hard", "sigmoid_focal", "hinge",
            "kl_div", "multi_margin", "softmax_focal", "categorical_hinge"})
    public String loss;

    @Param({"large", "cache"})
    public String size;

    @Param({"1"})
    public int threads;

    private Arena arena;
    private Call call;

    /** One loss call on its operands. */
    @FunctionalInterface
    interface Call {
        double run();
    }

    static boolean rowLoss(String loss) {
        return loss.equals("multi_margin") || loss.equals("softmax_focal") || loss.equals("categorical_hinge");
    }

    @Setup(Level.Trial)
    public void setUp() {
        String expected = System.getProperty("vecloss.bench.expect");
        String selected = Kernels.selected().name().toLowerCase(Locale.ROOT);
        if (expected != null && !expected.equals(selected)) {
            throw new IllegalStateException("expected the " + expected + " kernels but " + Kernels.description());
        }
        arena = Arena.ofShared();
        boolean large = size.equals("large");
        long[] shape = rowLoss(loss) ? new long[] {large ? 65536 : 256, 1000} : new long[] {large ? 1L << 26 : 1L << 18};
        call = make(arena, loss, shape, threads, DType.FLOAT32);
        long[] small = rowLoss(loss) ? new long[] {4096, 1000} : new long[] {1L << 16};
        double got = make(arena, loss, small, threads, DType.FLOAT32).run();
        double want = make(arena, loss, small, threads, DType.FLOAT64).run();
        double err = Math.abs(got - want) / Math.abs(want);
        if (!(err <= 1e-5)) {
            throw new IllegalStateException("self-check failed on " + loss + ": " + got + " against float64 " + want);
        }
    }

    /** The operands of {@code loss} at {@code shape} (same seed whatever the dtype), and its call. */
    static Call make(Arena arena, String loss, long[] shape, int threads, DType dtype) {
        SplittableRandom rnd = new SplittableRandom(CrossEntropyBenchmark.class.getName().hashCode());
        Tensor x = Tensor.allocate(arena, dtype, shape);
        long n = x.numel();
        boolean probabilities = loss.startsWith("bce") && !loss.startsWith("bce_with");
        boolean logProbs = loss.equals("kl_div");
        fill(x, rnd, probabilities ? 0 : logProbs ? -12 : -4, probabilities ? 1 : logProbs ? 0 : 4);
        if (loss.equals("categorical_hinge")) { // one-hot targets of the input's shape and dtype
            Tensor y = Tensor.allocate(arena, dtype, shape);
            for (long i = 0; i < shape[0]; i++) {
                set(y, i * shape[1] + rnd.nextLong(shape[1]), 1);
            }
            return () -> Hinge.categoricalHinge(x, y, Hinge.Options.defaults().withThreads(threads));
        }
        if (rowLoss(loss)) {
            Tensor y = Tensor.allocate(arena, DType.INT64, shape[0]);
            for (long i = 0; i < shape[0]; i++) {
                y.segment().setAtIndex(I64, i, rnd.nextLong(shape[1]));
            }
            return loss.equals("multi_margin")
                    ? () -> Hinge.multiMarginLoss(x, y, Hinge.Options.defaults().withThreads(threads))
                    : () -> Focal.softmaxFocalLoss(x, y, Focal.SoftmaxOptions.defaults().withThreads(threads));
        }
        Tensor y = Tensor.allocate(arena, dtype, shape);
        if (loss.equals("kl_div")) {
            fill(y, rnd, 0, 1e-3); // probabilities of a wide distribution
        } else if (loss.equals("hinge") || loss.equals("bce_hard")) {
            for (long i = 0; i < n; i++) {
                set(y, i, rnd.nextBoolean() ? 1 : 0);
            }
        } else {
            fill(y, rnd, 0, 1);
        }
        BinaryCrossEntropy.Options bce = BinaryCrossEntropy.Options.defaults().withThreads(threads);
        return switch (loss) {
            case "bce_with_logits" -> () -> BinaryCrossEntropy.binaryCrossEntropyWithLogits(x, y, bce);
            case "bce_with_logits_pos_weight" -> {
                Tensor pw = Tensor.allocate(arena, dtype, 64);
                fill(pw, rnd, 0.5, 4);
                Tensor x2 = Tensor.of(x.segment(), dtype, n / 64, 64);
                Tensor y2 = Tensor.of(y.segment(), dtype, n / 64, 64);
                yield () -> BinaryCrossEntropy.binaryCrossEntropyWithLogits(x2, y2, bce.withPosWeight(pw));
            }
            case "bce_with_logits_grad" -> {
                Tensor g = Tensor.allocate(arena, dtype, shape);
                yield () -> BinaryCrossEntropy.binaryCrossEntropyWithLogits(x, y, bce, null, g);
            }
            case "bce", "bce_hard" -> () -> BinaryCrossEntropy.binaryCrossEntropy(x, y, bce);
            case "sigmoid_focal" -> () -> Focal.sigmoidFocalLoss(x, y,
                    Focal.SigmoidOptions.defaults().withReduction(Reduction.MEAN).withThreads(threads));
            case "hinge" -> () -> Hinge.hinge(x, y, Hinge.Options.defaults().withThreads(threads));
            case "kl_div" -> () -> KlDiv.klDiv(x, y,
                    KlDiv.Options.defaults().withReduction(Reduction.BATCHMEAN).withThreads(threads));
            default -> throw new IllegalArgumentException("unknown loss " + loss);
        };
    }

    private static void fill(Tensor t, SplittableRandom rnd, double lo, double hi) {
        for (long i = 0; i < t.numel(); i++) {
            set(t, i, rnd.nextDouble(lo, hi));
        }
    }

    private static void set(Tensor t, long i, double v) {
        MemorySegment s = t.segment();
        if (t.dtype() == DType.FLOAT64) {
            s.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i, (double) (float) v);
        } else {
            s.setAtIndex(F32, i, (float) v);
        }
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
