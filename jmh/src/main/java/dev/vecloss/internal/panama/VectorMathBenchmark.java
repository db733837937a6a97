package dev.vecloss.internal.panama;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The kernels' own exponential ({@link VectorMath#expInto}, deterministic, written with IEEE
 * arithmetic) over an L1-resident buffer of 4096 floats, then summed: the ceiling of any loop
 * that takes one exponential per logit, next to the Vector API's {@code lanewise(EXP)} in
 * {@code ExpCeilingBenchmark}. It sits in the kernels' package (in the benchmark sources) to
 * reach the package-private class. Operations are elements: ops/s / 1e9 = G elements/s.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 2, timeUnit = TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@State(Scope.Benchmark)
public class VectorMathBenchmark {
    private static final int N = 4096;
    private final float[] src = new float[N];
    private final float[] dst = new float[N];
    private final float[] zero = new float[PanamaConstants.V];
    private final float[] probs = new float[N];
    private final double[] logs = new double[N];

    @Setup
    public void setUp() {
        SplittableRandom r = new SplittableRandom(42);
        for (int i = 0; i < N; i++) {
            src[i] = (float) r.nextDouble(-30, 0); // x - max, as the kernels pass it
            probs[i] = (float) r.nextDouble(0, 1e-3);
        }
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public float expIntoAndSum() {
        VectorMath.expInto(src, dst, N, zero);
        return VectorMath.sum(dst, N);
    }

    /** The double-precision log of float arguments (kl_div's probability targets). */
    @Benchmark
    @OperationsPerInvocation(N)
    public double logDoubleInto() {
        VectorMath.logDoubleInto(probs, logs, N);
        return logs[N - 1];
    }

    /** The float log, for comparison. */
    @Benchmark
    @OperationsPerInvocation(N)
    public float logInPlace() {
        System.arraycopy(probs, 0, dst, 0, N);
        VectorMath.logInPlace(dst, N);
        return dst[N - 1];
    }
}
