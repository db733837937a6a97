package dev.vecloss.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The hardware ceiling for one thread, over the same 2^24 float32 logits in native memory:
 * <ul>
 *   <li>{@link #maxSum}: one pass of max and sum, the memory-bandwidth-and-add floor of any
 *       loss that reads its input once;</li>
 *   <li>{@link #exp}: {@code sum(exp(x))} with the Vector API's own
 *       {@code lanewise(VectorOperators.EXP)} (SVML or libm stubs on C2): the exp throughput;</li>
 *   <li>{@link #log1p}, {@link #log}: the Vector API's own logarithms (the kernels use their own);</li>
 *   <li>{@link #softmaxDenominator}: max then {@code sum(exp(x - max))} in two passes, the least
 *       work of a cross-entropy forward.</li>
 * </ul>
 * {@code G elements/s = ops/s × 2^24 / 1e9}, directly comparable to the G logits/s of
 * {@link CrossEntropyBenchmark} at {@code threads=1}. Same warm-up and measurement as there.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 2, timeUnit = TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@State(Scope.Benchmark)
public class ExpCeilingBenchmark {
    static final int ELEMENTS = 1 << 24;
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private Arena arena;
    private MemorySegment x;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        x = arena.allocate((long) ELEMENTS * 4, 64);
        SplittableRandom rnd = new SplittableRandom(Workload.SEED);
        for (long i = 0; i < ELEMENTS; i++) {
            x.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) rnd.nextDouble(-4, 4));
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public float maxSum() {
        FloatVector max = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        FloatVector sum = FloatVector.zero(S);
        long step = (long) S.length() * 4;
        long bytes = (long) ELEMENTS * 4;
        for (long off = 0; off < bytes; off += step) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, off, LE);
            max = max.max(v);
            sum = sum.add(v);
        }
        return max.reduceLanes(VectorOperators.MAX) + sum.reduceLanes(VectorOperators.ADD);
    }

    @Benchmark
    public float exp() {
        FloatVector sum = FloatVector.zero(S);
        long step = (long) S.length() * 4;
        long bytes = (long) ELEMENTS * 4;
        for (long off = 0; off < bytes; off += step) {
            sum = sum.add(FloatVector.fromMemorySegment(S, x, off, LE).lanewise(VectorOperators.EXP));
        }
        return sum.reduceLanes(VectorOperators.ADD);
    }

    /** {@code lanewise(LOG1P)} of |x|: why the kernels carry their own log1p ({@code VectorMath}). */
    @Benchmark
    public float log1p() {
        return unary(VectorOperators.LOG1P);
    }

    /** {@code lanewise(LOG)} of 1 + |x|, for comparison with {@link #log1p}. */
    @Benchmark
    public float log() {
        return unary(VectorOperators.LOG);
    }

    private float unary(VectorOperators.Unary op) {
        FloatVector sum = FloatVector.zero(S);
        long step = (long) S.length() * 4;
        long bytes = (long) ELEMENTS * 4;
        for (long off = 0; off < bytes; off += step) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, off, LE).abs();
            sum = sum.add((op == VectorOperators.LOG ? v.add(1f) : v).lanewise(op));
        }
        return sum.reduceLanes(VectorOperators.ADD);
    }

    @Benchmark
    public float softmaxDenominator() {
        long step = (long) S.length() * 4;
        long bytes = (long) ELEMENTS * 4;
        FloatVector max = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (long off = 0; off < bytes; off += step) {
            max = max.max(FloatVector.fromMemorySegment(S, x, off, LE));
        }
        FloatVector m = FloatVector.broadcast(S, max.reduceLanes(VectorOperators.MAX));
        FloatVector sum = FloatVector.zero(S);
        for (long off = 0; off < bytes; off += step) {
            sum = sum.add(FloatVector.fromMemorySegment(S, x, off, LE).sub(m).lanewise(VectorOperators.EXP));
        }
        return sum.reduceLanes(VectorOperators.ADD);
    }
}
