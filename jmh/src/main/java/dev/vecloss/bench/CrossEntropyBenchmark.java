package dev.vecloss.bench;

import dev.vecloss.CrossEntropy.Options;
import dev.vecloss.Kernels;
import java.lang.foreign.Arena;
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
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * {@code CrossEntropy.crossEntropy(...)} through the public API, one call per operation.
 *
 * <p>The score is calls per second; the rate in logits is {@code G logits/s = ops/s × N·C / 1e9}
 * (N·C·H·W for {@code nchw}): see {@code jmh/README.md} and {@code jmh/report.py}.
 *
 * <h2>Kernel choice</h2>
 * The kernels are chosen once per JVM ({@code -Dvecloss.impl}, and whether the
 * {@code jdk.incubator.vector} module is present), and JMH cannot vary a fork's JVM arguments
 * by {@code @Param}. So the kernel is the benchmark method: {@link #panama} forks with the
 * incubator module, {@link #scalar} with {@code -Dvecloss.impl=scalar}. Each fork also gets
 * {@code -Dvecloss.bench.expect=...}, and {@link #setUp} fails a fork whose selected kernels are
 * not the expected ones. With {@code -f 0} (no fork: the smoke mode) both methods run in the
 * launching JVM with its kernels, and setUp only prints which ones.
 *
 * <h2>Timing choices</h2>
 * <ul>
 *   <li>{@code @Fork(1)}: one JVM per (workload, threads, kernel). The calls are long (ms to
 *       hundreds of ms) and data-independent, so run-to-run JIT variance is small; a second fork
 *       mostly doubles the run time on a 2-core machine. Use {@code -f 3} for a publication run.</li>
 *   <li>{@code @Warmup(3 × 2 s)}: the Vector API kernels need C2 (interpreted they are ~100×
 *       slower) and a large vector method can take a second or more to compile on a busy
 *       machine; 6 s covers that with margin for the biggest workloads (~100 ms per call).</li>
 *   <li>{@code @Measurement(5 × 2 s)}: at least ~10 calls per iteration even for {@code nchw};
 *       five iterations give a usable error bar.</li>
 *   <li>Throughput mode, one thread of JMH: the library's own {@code threads} option is the
 *       parallelism being measured, so JMH must not add its own.</li>
 * </ul>
 * Inputs live in native memory ({@code Arena.ofShared}, 64-byte aligned) built once per trial
 * from a fixed seed; {@code c1000heap} is {@code c1000} with a {@code float[]} input, to compare
 * heap and native segments.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 2, timeUnit = TimeUnit.SECONDS)
@State(Scope.Benchmark)
public class CrossEntropyBenchmark {
    /** Relative error of float32 against float64 above which a trial fails. */
    static final double MAX_REL_ERROR = 1e-5;

    @Param({"c1000", "b256c1000", "b256c100", "c32000", "c100", "c10", "c21", "wls1000", "nchw", "grad1000", "prob1000", "b256wls", "b256grad", "b256prob", "c1000heap"})
    public String workload;

    @Param({"1", "2"})
    public int threads;

    private Arena arena;
    private Workload.Operands ops;
    private Options options;

    @Setup(Level.Trial)
    public void setUp(BenchmarkParams params) {
        String method = params.getBenchmark().substring(params.getBenchmark().lastIndexOf('.') + 1);
        String selected = Kernels.selected().name().toLowerCase(java.util.Locale.ROOT);
        String expected = System.getProperty("vecloss.bench.expect");
        if (expected != null && !expected.equals(selected)) {
            throw new IllegalStateException("benchmark " + method + " expected the " + expected
                    + " kernels but " + Kernels.description());
        }
        if (expected == null) {
            System.out.println("# vecloss: not forked (-f 0): " + method + " runs with " + Kernels.description());
        }
        Workload w = Workload.of(workload);
        arena = Arena.ofShared();
        ops = w.make(arena);
        options = w.options(ops.weight(), threads);
        double err = Workload.selfCheck(ops, threads);
        if (!(err <= MAX_REL_ERROR)) {
            throw new IllegalStateException("self-check failed on " + workload + ": relative error " + err
                    + " of float32 against float64 (" + Kernels.description() + ")");
        }
        double full = ops.call(options);
        if (!Double.isFinite(full)) {
            throw new IllegalStateException("self-check failed on " + workload + ": loss " + full);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        ops = null;
        arena.close();
    }

    /** The Panama (Vector API) kernels. */
    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Dvecloss.bench.expect=panama"})
    public double panama() {
        return ops.call(options);
    }

    /** The Panama kernels narrowed to 256-bit vectors (AVX2's 8 float lanes), on a wider machine. */
    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Dvecloss.vectorBits=256",
            "-Dvecloss.bench.expect=panama"})
    public double panama256() {
        return ops.call(options);
    }

    /** The Panama kernels narrowed to 128-bit vectors (NEON's 4 float lanes). */
    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Dvecloss.vectorBits=128",
            "-Dvecloss.bench.expect=panama"})
    public double panama128() {
        return ops.call(options);
    }

    /** The scalar kernels, in a fork of their own (the choice is made once per JVM). */
    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"-Dvecloss.impl=scalar", "-Dvecloss.bench.expect=scalar"})
    public double scalar() {
        return ops.call(options);
    }
}
