package dev.vecloss.bench;

import dev.vecloss.BinaryCrossEntropy;
import dev.vecloss.CrossEntropy;
import dev.vecloss.DType;
import dev.vecloss.LossAccumulator;
import dev.vecloss.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
 * The accumulator path against the one call (issue 11: within 10 %): the same data, float32 in
 * native memory, reduced by one call or accepted as {@code batches} views of it by one
 * {@link LossAccumulator} (the same bits). {@code ce}: cross-entropy over 2048 × 1000;
 * {@code bce_with_logits}: 2^20 elements (8 MB of operands either way: in L3 rather than DRAM,
 * whose bandwidth this shared machine's neighbours move by 30 % from one fork to the next). One
 * thread; ops/s of the whole reduction.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 2, timeUnit = TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@State(Scope.Benchmark)
public class AccumulatorBenchmark {
    @Param({"ce", "bce_with_logits"})
    public String loss;

    /** 1: the one call; more: that many batches through an accumulator. */
    @Param({"1", "16", "64"})
    public int batches;

    private Arena arena;
    private Tensor[] inputs, targets;
    private Tensor input, target;
    private CrossEntropy.Options ce;
    private BinaryCrossEntropy.Options bce;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        SplittableRandom r = new SplittableRandom(7);
        boolean rows = loss.equals("ce");
        long n = rows ? 2048 : 1L << 20, c = rows ? 1000 : 1;
        MemorySegment x = arena.allocate(n * c * 4, 64);
        for (long i = 0; i < n * c; i++) {
            x.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (r.nextGaussian() * 3));
        }
        MemorySegment y = arena.allocate(n * (rows ? 8 : 4), 64);
        for (long i = 0; i < n; i++) {
            if (rows) {
                y.setAtIndex(ValueLayout.JAVA_LONG, i, r.nextInt((int) c));
            } else {
                y.setAtIndex(ValueLayout.JAVA_FLOAT, i, r.nextInt(2));
            }
        }
        ce = CrossEntropy.Options.defaults().withThreads(1);
        bce = BinaryCrossEntropy.Options.defaults().withThreads(1);
        input = rows ? Tensor.of(x, DType.FLOAT32, n, c) : Tensor.of(x, DType.FLOAT32, n);
        target = rows ? Tensor.of(y, DType.INT64, n) : Tensor.of(y, DType.FLOAT32, n);
        inputs = new Tensor[batches];
        targets = new Tensor[batches];
        for (int b = 0; b < batches; b++) {
            long from = n * b / batches, to = n * (b + 1) / batches;
            inputs[b] = rows ? Tensor.of(x.asSlice(from * c * 4, (to - from) * c * 4), DType.FLOAT32, to - from, c)
                    : Tensor.of(x.asSlice(from * 4, (to - from) * 4), DType.FLOAT32, to - from);
            targets[b] = rows ? Tensor.of(y.asSlice(from * 8, (to - from) * 8), DType.INT64, to - from)
                    : Tensor.of(y.asSlice(from * 4, (to - from) * 4), DType.FLOAT32, to - from);
        }
        double one = oneCall(), acc = accumulated();
        if (Double.doubleToRawLongBits(one) != Double.doubleToRawLongBits(acc)) {
            throw new IllegalStateException("accumulator " + acc + " differs from the one call " + one);
        }
    }

    private double oneCall() {
        return loss.equals("ce") ? CrossEntropy.crossEntropy(input, target, ce)
                : BinaryCrossEntropy.binaryCrossEntropyWithLogits(input, target, bce);
    }

    private double accumulated() {
        LossAccumulator a = loss.equals("ce") ? CrossEntropy.accumulator(ce) : BinaryCrossEntropy.withLogitsAccumulator(bce);
        for (int b = 0; b < batches; b++) {
            a.accept(inputs[b], targets[b]);
        }
        return a.getAsDouble();
    }

    @Benchmark
    public double reduce() {
        return batches == 1 ? oneCall() : accumulated();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }
}
