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
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

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
    private final float[] negProbs = new float[N];
    private final float[] units = new float[N];

    @Setup
    public void setUp() {
        SplittableRandom r = new SplittableRandom(42);
        for (int i = 0; i < N; i++) {
            src[i] = (float) r.nextDouble(-30, 0); // x - max, as the kernels pass it
            probs[i] = (float) r.nextDouble(0, 1e-3);
            negProbs[i] = (float) -r.nextDouble(0, 1); // BCE's log1p(-p)
            units[i] = (float) Math.exp(-r.nextDouble(0, 8)); // exp(-|x|)
        }
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public float expIntoAndSum() {
        VectorMath.expInto(src, dst, N, zero);
        return VectorMath.sum(dst, N);
    }

    /** The fused form the cross-entropy kernel calls: exponentials summed, nothing stored. */
    @Benchmark
    @OperationsPerInvocation(N)
    public float expSum() {
        return VectorMath.expSum(src, 0, N, 0f);
    }

    /** The Cephes exponential the kernels used before the table form (commit 4b1012d), for the comparison. */
    @Benchmark
    @OperationsPerInvocation(N)
    public float expIntoAndSumCephes() {
        cephesExp(src, dst, N);
        return VectorMath.sum(dst, N);
    }

    /** The JDK's own {@code lanewise(EXP)} (a vector math library once compiled), the same loop. */
    @Benchmark
    @OperationsPerInvocation(N)
    public float expIntoAndSumJdk() {
        final jdk.incubator.vector.VectorSpecies<Float> F = PanamaConstants.F;
        for (int i = 0; i < N; i += F.length()) {
            FloatVector.fromArray(F, src, i).lanewise(VectorOperators.EXP).intoArray(dst, i);
        }
        return VectorMath.sum(dst, N);
    }

    /** The JDK's {@code lanewise(LOG)} over {@link #logInPlace}'s arguments. */
    @Benchmark
    @OperationsPerInvocation(N)
    public float logInPlaceJdk() {
        final jdk.incubator.vector.VectorSpecies<Float> F = PanamaConstants.F;
        for (int i = 0; i < N; i += F.length()) {
            FloatVector.fromArray(F, probs, i).lanewise(VectorOperators.LOG).intoArray(dst, i);
        }
        return dst[N - 1];
    }

    /** The JDK's {@code lanewise(LOG1P)} over {@link #log1pInPlace}'s arguments. */
    @Benchmark
    @OperationsPerInvocation(N)
    public float log1pInPlaceJdk() {
        final jdk.incubator.vector.VectorSpecies<Float> F = PanamaConstants.F;
        for (int i = 0; i < N; i += F.length()) {
            FloatVector.fromArray(F, negProbs, i).lanewise(VectorOperators.LOG1P).intoArray(dst, i);
        }
        return dst[N - 1];
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

    /** The float log1p, over BCE's arguments {@code -p}. */
    @Benchmark
    @OperationsPerInvocation(N)
    public float log1pInPlace() {
        System.arraycopy(negProbs, 0, dst, 0, N);
        VectorMath.log1pInPlace(dst, N);
        return dst[N - 1];
    }

    /** The sigmoid family's log1p of {@code exp(-|x|)}, one polynomial on [0, 1]. */
    @Benchmark
    @OperationsPerInvocation(N)
    public float log1pUnitInPlace() {
        System.arraycopy(units, 0, dst, 0, N);
        VectorMath.log1pUnitInPlace(dst, N);
        return dst[N - 1];
    }

    /** The float log before the division-free form (commit c5b011f), for the comparison. */
    @Benchmark
    @OperationsPerInvocation(N)
    public float logInPlaceDivisions() {
        System.arraycopy(probs, 0, dst, 0, N);
        divisionLog(dst, N, false);
        return dst[N - 1];
    }

    /** The float log1p before the division-free form (commit c5b011f), for the comparison. */
    @Benchmark
    @OperationsPerInvocation(N)
    public float log1pInPlaceDivisions() {
        System.arraycopy(negProbs, 0, dst, 0, N);
        divisionLog(dst, N, true);
        return dst[N - 1];
    }

    // A private copy of VectorMath's loop as of c5b011f: 2 atanh((f - 1)/(f + 1)) by its odd
    // series, corr / w for log1p, blends for the special values in every vector.
    private static final float LN2_HI = 0.693145752f;
    private static final float LN2_LO = 1.42860677e-6f;
    private static final float SQRT2 = 1.41421356f;
    private static final float MIN_NORMAL = 0x1p-126f;

    private static void divisionLog(float[] a, int n, boolean onePlus) {
        final jdk.incubator.vector.VectorSpecies<Float> F = PanamaConstants.F;
        final FloatVector zero = FloatVector.zero(F);
        for (int off = 0; off < n; off += F.length()) {
            FloatVector u = FloatVector.fromArray(F, a, off);
            FloatVector w = onePlus ? u.add(1f) : u;
            FloatVector corr = onePlus ? u.sub(w.sub(1f)).div(w) : zero;
            VectorMask<Float> sub = w.compare(VectorOperators.LT, MIN_NORMAL);
            FloatVector ws = w.blend(w.mul(0x1p24f), sub);
            IntVector bits = ws.reinterpretAsInts();
            IntVector e = bits.lanewise(VectorOperators.ASHR, 23).sub(127);
            FloatVector f = bits.and(0x007fffff).or(0x3f800000).reinterpretAsFloats();
            VectorMask<Float> high = f.compare(VectorOperators.GT, SQRT2);
            f = f.blend(f.mul(0.5f), high);
            FloatVector ef = ((FloatVector) e.convert(VectorOperators.I2F, 0)).add(zero.blend(1f, high))
                    .sub(zero.blend(24f, sub));
            FloatVector t = f.sub(1f).div(f.add(1f));
            FloatVector t2 = t.mul(t);
            FloatVector poly = t2.fma(1f / 9, 1f / 7)
                    .fma(t2, FloatVector.broadcast(F, 1f / 5))
                    .fma(t2, FloatVector.broadcast(F, 1f / 3))
                    .fma(t2, FloatVector.broadcast(F, 1f));
            FloatVector logF = t.mul(2f).mul(poly);
            FloatVector r = ef.fma(FloatVector.broadcast(F, LN2_LO), logF.add(corr)).add(ef.mul(LN2_HI));
            r = r.blend(Float.NaN, w.compare(VectorOperators.LT, 0f).or(w.test(VectorOperators.IS_NAN)))
                    .blend(Float.NEGATIVE_INFINITY, w.compare(VectorOperators.EQ, 0f))
                    .blend(Float.POSITIVE_INFINITY, w.compare(VectorOperators.EQ, Float.POSITIVE_INFINITY));
            if (onePlus) {
                r = r.blend(u, u.compare(VectorOperators.EQ, 0f).or(u.test(VectorOperators.IS_NAN)));
            }
            r.intoArray(a, off);
        }
    }

    // A private copy of VectorMath's exponential as of 4b1012d: Cephes' expf (Cody-Waite
    // reduction by ln 2, degree-6 polynomial), a compare and two blends per vector, 2^k by two
    // multiplications.
    private static void cephesExp(float[] src, float[] dst, int n) {
        final jdk.incubator.vector.VectorSpecies<Float> F = PanamaConstants.F;
        final float round = 12582912f;
        final int scaleBits = Float.floatToRawIntBits(round) - 127 - 64;
        for (int i = 0; i < n; i += F.length()) {
            FloatVector x = FloatVector.fromArray(F, src, i);
            VectorMask<Float> zero = x.compare(VectorOperators.LT, -104f);
            FloatVector xc = x.blend(0f, zero);
            FloatVector t = xc.fma(1.44269504f, round);
            FloatVector k = t.sub(round);
            FloatVector scale = t.reinterpretAsInts().sub(scaleBits).lanewise(VectorOperators.LSHL, 23)
                    .reinterpretAsFloats();
            FloatVector r = k.fma(FloatVector.broadcast(F, -0.693359375f), xc);
            r = k.fma(FloatVector.broadcast(F, 2.12194440e-4f), r);
            FloatVector p = r.fma(1.9875691500e-4f, 1.3981999507e-3f)
                    .fma(r, FloatVector.broadcast(F, 8.3334519073e-3f))
                    .fma(r, FloatVector.broadcast(F, 4.1665795894e-2f))
                    .fma(r, FloatVector.broadcast(F, 1.6666665459e-1f))
                    .fma(r, FloatVector.broadcast(F, 5.0000001201e-1f));
            p = p.fma(r.mul(r), r.add(1f));
            p.mul(scale).mul(0x1p-64f).blend(0f, zero).intoArray(dst, i);
        }
    }
}
