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
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
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

    /** The double-precision log of float arguments (kl_div's probability targets): the float log's table, double lanes. */
    @Benchmark
    @OperationsPerInvocation(N)
    public double logDoubleInto() {
        VectorMath.logDoubleInto(probs, logs, N);
        return logs[N - 1];
    }

    /** The double log before the table-driven form (fdlibm's, a division per element; commit c5a44b4), for the comparison. */
    @Benchmark
    @OperationsPerInvocation(N)
    public double logDoubleIntoFdlibm() {
        fdlibmLogDouble(probs, logs, N);
        return logs[N - 1];
    }

    // A private copy of VectorMath.logDoubleInto as of c5a44b4: fdlibm's e_log.c, x = 2^e (1 + f),
    // log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)), s = f / (2 + f).
    private static final double FD_LN2_HI = 6.93147180369123816490e-01;
    private static final double FD_LN2_LO = 1.90821492927058770002e-10;
    private static final double LG1 = 6.666666666666735130e-01, LG2 = 3.999999999940941908e-01,
            LG3 = 2.857142874366239149e-01, LG4 = 2.222219843214978396e-01, LG5 = 1.818357216161805012e-01,
            LG6 = 1.531383769920937332e-01, LG7 = 1.479819860511658591e-01;
    private static final double EXP_BIAS = 0x1p52 + 1023;

    private static void fdlibmLogDouble(float[] src, double[] dst, int n) {
        final jdk.incubator.vector.VectorSpecies<Float> F = PanamaConstants.F;
        final jdk.incubator.vector.VectorSpecies<Double> D = PanamaConstants.D;
        final int half = D.length();
        for (int off = 0; off < n; off += F.length()) {
            FloatVector v = FloatVector.fromArray(F, src, off);
            for (int part = 0; part < 2; part++) {
                DoubleVector x = (DoubleVector) v.convertShape(VectorOperators.F2D, D, part);
                LongVector bits = x.reinterpretAsLongs();
                DoubleVector e = bits.lanewise(VectorOperators.LSHR, 52).or(0x4330000000000000L).reinterpretAsDoubles()
                        .sub(EXP_BIAS);
                DoubleVector m = bits.and(0x000FFFFFFFFFFFFFL).or(0x3FF0000000000000L).reinterpretAsDoubles();
                VectorMask<Double> high = m.compare(VectorOperators.GT, Math.sqrt(2));
                m = m.blend(m.mul(0.5), high);
                e = e.blend(e.add(1), high);
                DoubleVector f = m.sub(1);
                DoubleVector sv = f.div(f.add(2));
                DoubleVector z = sv.mul(sv);
                DoubleVector w = z.mul(z);
                DoubleVector t1 = w.fma(LG6, LG4).fma(w, DoubleVector.broadcast(D, LG2)).mul(w);
                DoubleVector t2 = w.fma(LG7, LG5).fma(w, DoubleVector.broadcast(D, LG3)).fma(w, DoubleVector.broadcast(D, LG1))
                        .mul(z);
                DoubleVector r = t1.add(t2);
                DoubleVector hfsq = f.mul(f).mul(0.5);
                DoubleVector inner = sv.mul(hfsq.add(r)).add(e.mul(FD_LN2_LO));
                DoubleVector log = e.mul(FD_LN2_HI).sub(hfsq.sub(inner).sub(f));
                log.blend(Double.NaN, x.compare(VectorOperators.LT, 0.0)).intoArray(dst, off + part * half);
            }
        }
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

    /** The float log before the table-driven form (Cephes' logf, degree 8; commit fee1102), for the comparison. */
    @Benchmark
    @OperationsPerInvocation(N)
    public float logInPlaceCephes() {
        System.arraycopy(probs, 0, dst, 0, N);
        cephesLog(dst, null, 0, N);
        return dst[N - 1];
    }

    /** The float log1p before the table-driven form (commit fee1102), over BCE's arguments {@code -p}. */
    @Benchmark
    @OperationsPerInvocation(N)
    public float log1pInPlaceCephes() {
        System.arraycopy(negProbs, 0, dst, 0, N);
        cephesLog(dst, CEPHES_ONES, 0, N);
        return dst[N - 1];
    }

    // A private copy of VectorMath's log loop as of fee1102: w = 2^e f, f in [sqrt(1/2), sqrt(2)),
    // Cephes' degree-8 polynomial of log(1 + x), x = f - 1 (+ log1p's correction corr 2^-e).
    private static final float[] CEPHES_ZEROS = new float[PanamaConstants.V];
    private static final float[] CEPHES_ONES = new float[PanamaConstants.V];

    static {
        java.util.Arrays.fill(CEPHES_ONES, 1f);
    }

    private static final float LP0 = 7.0376836292e-2f, LP1 = -1.1514610310e-1f, LP2 = 1.1676998740e-1f,
            LP3 = -1.2420140846e-1f, LP4 = 1.4249322787e-1f, LP5 = -1.6668057665e-1f, LP6 = 2.0000714765e-1f,
            LP7 = -2.4999993993e-1f, LP8 = 3.3333331174e-1f;
    private static final float CEPHES_LN2_HI = 0.693359375f; // Cody-Waite split of ln 2 (Cephes): e * this is exact
    private static final float CEPHES_LN2_LO = -2.12194440e-4f;

    private static void cephesLog(float[] a, float[] one, int step, int n) {
        final jdk.incubator.vector.VectorSpecies<Float> F = PanamaConstants.F;
        final jdk.incubator.vector.VectorSpecies<Integer> I = PanamaConstants.I;
        final boolean shifted = one != null; // loop-invariant: C2 compiles a loop for each case
        for (int off = 0; off < n; off += F.length()) {
            FloatVector u = FloatVector.fromArray(F, a, off);
            // a shift of 0 for the plain log: w = u (but -0 + 0 = +0, whose log is -inf as -0's)
            FloatVector s = FloatVector.fromArray(F, shifted ? one : CEPHES_ZEROS, off & step);
            FloatVector w = u.add(s);
            IntVector bits = w.reinterpretAsInts();
            // as ints, the positive normal floats are [MIN_NORMAL_BITS, INF_BITS); the negative
            // ones, -0 and -NaN are negative ints
            VectorMask<Integer> special = bits.compare(VectorOperators.LT, Float.floatToRawIntBits(MIN_NORMAL))
                    .or(bits.compare(VectorOperators.GE, shifted ? 0x7f3504f3 : 0x7f800000));
            if (shifted) {
                special = special.or(u.reinterpretAsInts().compare(VectorOperators.EQ, Integer.MIN_VALUE)); // u = -0
            }
            if (special.anyTrue()) {
                cephesLogSpecial(a, off, shifted ? one : CEPHES_ZEROS, off & step);
                continue;
            }
            // the core, the same operations as logSpecial's
            IntVector eBits = bits.sub(0x3f3504f3).and(0xff800000); // e << 23
            FloatVector x = bits.sub(eBits).reinterpretAsFloats().sub(1f);
            // x + corr 2^-e, 2^-e from the bits: exact for -126 <= e <= 127
            if (shifted) {
                FloatVector corr = u.sub(w.sub(s));
                x = corr.fma(bits.broadcast(0x3f800000).sub(eBits).reinterpretAsFloats(), x);
            }
            FloatVector ef = (FloatVector) eBits.lanewise(VectorOperators.ASHR, 23).convert(VectorOperators.I2F, 0);
            FloatVector z = x.mul(x);
            FloatVector y = x.fma(LP0, LP1)
                    .fma(x, FloatVector.broadcast(F, LP2))
                    .fma(x, FloatVector.broadcast(F, LP3))
                    .fma(x, FloatVector.broadcast(F, LP4))
                    .fma(x, FloatVector.broadcast(F, LP5))
                    .fma(x, FloatVector.broadcast(F, LP6))
                    .fma(x, FloatVector.broadcast(F, LP7))
                    .fma(x, FloatVector.broadcast(F, LP8))
                    .mul(x).mul(z);
            y = ef.fma(FloatVector.broadcast(F, CEPHES_LN2_LO), y);
            y = z.fma(FloatVector.broadcast(F, -0.5f), y);
            ef.fma(FloatVector.broadcast(F, CEPHES_LN2_HI), x.add(y)).intoArray(a, off);
        }
    }

    private static void cephesLogSpecial(float[] a, int off, float[] one, int at) {
        final jdk.incubator.vector.VectorSpecies<Float> F = PanamaConstants.F;
        final FloatVector zero = FloatVector.zero(F);
        FloatVector u = FloatVector.fromArray(F, a, off);
        FloatVector s = FloatVector.fromArray(F, one, at);
        FloatVector w = u.add(s);
        VectorMask<Float> sub = w.compare(VectorOperators.LT, MIN_NORMAL); // 0 and below too: blended over
        IntVector bits = w.blend(w.mul(0x1p24f), sub).reinterpretAsInts();
        IntVector eBits = bits.sub(0x3f3504f3).and(0xff800000);
        FloatVector x = bits.sub(eBits).reinterpretAsFloats().sub(1f);
        // 2^-e is 0 for e = 128 (-inf's bits, a negative int, made 0): corr is 0 there
        FloatVector corr = u.sub(w.sub(s));
        x = corr.fma(bits.broadcast(0x3f800000).sub(eBits).max(0).reinterpretAsFloats(), x);
        FloatVector ef = ((FloatVector) eBits.lanewise(VectorOperators.ASHR, 23).convert(VectorOperators.I2F, 0))
                .sub(zero.blend(24f, sub));
        FloatVector z = x.mul(x);
        FloatVector y = x.fma(LP0, LP1)
                .fma(x, FloatVector.broadcast(F, LP2))
                .fma(x, FloatVector.broadcast(F, LP3))
                .fma(x, FloatVector.broadcast(F, LP4))
                .fma(x, FloatVector.broadcast(F, LP5))
                .fma(x, FloatVector.broadcast(F, LP6))
                .fma(x, FloatVector.broadcast(F, LP7))
                .fma(x, FloatVector.broadcast(F, LP8))
                .mul(x).mul(z);
        y = ef.fma(FloatVector.broadcast(F, CEPHES_LN2_LO), y);
        y = z.fma(FloatVector.broadcast(F, -0.5f), y);
        FloatVector r = ef.fma(FloatVector.broadcast(F, CEPHES_LN2_HI), x.add(y));
        r = r.blend(Float.NaN, w.compare(VectorOperators.LT, 0f).or(w.test(VectorOperators.IS_NAN)))
                .blend(Float.NEGATIVE_INFINITY, w.compare(VectorOperators.EQ, 0f))
                .blend(Float.POSITIVE_INFINITY, w.compare(VectorOperators.EQ, Float.POSITIVE_INFINITY));
        // log1p(+-0) is +-0, log1p(NaN) the same NaN
        r = r.blend(u, u.compare(VectorOperators.EQ, 0f).or(u.test(VectorOperators.IS_NAN)).and(s.compare(VectorOperators.EQ, 1f)));
        r.intoArray(a, off);
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
