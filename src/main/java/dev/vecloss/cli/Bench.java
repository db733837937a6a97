package dev.vecloss.cli;

import dev.vecloss.CrossEntropy;
import dev.vecloss.DType;
import dev.vecloss.Kernels;
import dev.vecloss.Tensor;
import dev.vecloss.cli.Command.Option;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * {@code vecloss bench}: the throughput of the scalar kernels and of the selected (Panama)
 * kernels on the same synthetic float32 problem in native memory, and the relative error of
 * each against the same formula evaluated in float64 (the scalar kernel on a float64 copy).
 *
 * <p>It measures the public API ({@link CrossEntropy}, the mean as users call it) once with each
 * kind of kernels ({@link Kernels#callWith}), so it compares
 * the kernels alone, like with like. Each kernel is warmed up for {@value #WARMUP_NANOS} ns,
 * then measured {@value #REPS} times for at least {@value #REP_NANOS} ns each; the best rate
 * counts (the least disturbed by the other process sharing the cores). This is a quick check,
 * not JMH: the jmh/ module has the careful benchmarks.
 */
final class Bench {
    static final Option LOSS = Option.choice("--loss", "NAME", "cross-entropy or nll-loss", "cross-entropy",
            "cross-entropy", "nll-loss");
    static final Option N = Option.value("--n", "N", "positions (rows, or pixels with --layout nchw);\n"
            + "default: about 2^21 logits", null);
    static final Option C = Option.value("--c", "C", "classes", "1000");
    static final Option LAYOUT = Option.choice("--layout", "L",
            "row: (N, C); nchw: (B, C, N/B), class axis strided", "row", "row", "nchw");
    static final Option FORMAT = Option.choice("--format", "F",
            "table or csv (loss,n,c,layout,kernel,threads,gelem_per_s,rel_error)", "table", "table", "csv");

    static final Command COMMAND = new Command("bench",
            "built-in benchmark of the SIMD and scalar kernels (no files needed)",
            List.of(LOSS, N, C, LossOptions.THREADS, LAYOUT, FORMAT),
            """
            Without --loss, --n, --c or --layout: a short tour of cross-entropy and nll-loss
            cases. Reports the throughput of the scalar and the selected (Panama) kernels in
            G elements (logits) per second, their ratio, and each result's relative error
            against the same formula evaluated in float64 (the absolute error where that is
            exactly 0); exit status 2 if an error is over 1e-4.""",
            call -> new Bench(call).run(call.args()));

    static final String CSV_HEADER = "loss,n,c,layout,kernel,threads,gelem_per_s,rel_error";

    private static final long WARMUP_NANOS = 1_500_000_000L;
    private static final long MAX_WARMUP_NANOS = 4_000_000_000L;
    private static final long REP_NANOS = 80_000_000L;
    private static final int REPS = 5;
    private static final long SEED = 0x5EED_CAFEL;
    private static final int IGNORE = -100;
    /** Worse than this and the bench fails: the kernels accumulate in double (LOSSES.md 0.4). */
    private static final double MAX_REL_ERROR = 1e-4;
    /** About 2^21 logits per case: 8 MB of float32, a few ms per scalar pass. */
    private static final long CASE_ELEMENTS = 1L << 21;
    /** The largest case accepted: 64 GB of float32 logits. */
    private static final long MAX_ELEMENTS = 1L << 34;

    private final Command.Call call;
    private final PrintStream out;

    Bench(Command.Call call) {
        this.call = call;
        this.out = call.out();
    }

    /** One synthetic problem: {@code b} batches of {@code s} positions (s = 1 for rows). */
    record Case(String label, boolean nll, long b, long c, long s, boolean nchw,
            boolean weighted, boolean ignore, double eps, boolean prob, boolean grad) {
        long positions() {
            return b * s;
        }

        long elements() {
            return b * c * s;
        }

        String shape() {
            return nchw ? "(" + b + ", " + c + ", " + s + ")" : "(" + b + ", " + c + ")";
        }
    }

    record Row(Case cs, String kernel, double gelemPerSec, double relError) {}

    void run(Args args) throws CliError {
        String format = args.choice(FORMAT);
        int threads = LossOptions.threads(args);
        if (threads == 0) {
            threads = Runtime.getRuntime().availableProcessors(); // as the losses read 0: all cores
        }
        List<Case> cases;
        if (args.has(LOSS.name()) || args.has(N.name()) || args.has(C.name()) || args.has(LAYOUT.name())) {
            String loss = args.choice(LOSS);
            long c = args.longValue(C.name(), Long.parseLong(C.defaultValue()), 1, Integer.MAX_VALUE);
            long n = args.longValue(N.name(), Math.max(1, CASE_ELEMENTS / c), 1, Long.MAX_VALUE);
            if (n > MAX_ELEMENTS / c) {
                throw new CliError("--n " + n + " times --c " + c + " is too large for a benchmark (at most 2^34 logits)");
            }
            boolean nchw = args.choice(LAYOUT).equals("nchw");
            long b = nchw ? (n % 2 == 0 ? 2 : 1) : n;
            long s = nchw ? n / b : 1;
            cases = List.of(new Case(loss, loss.equals("nll-loss"), b, c, s, nchw, false, false, 0, false, false));
        } else {
            cases = tour();
        }
        Kernels.Implementation selected = Kernels.selected();
        List<Kernels.Implementation> kernels = List.of(Kernels.Implementation.SCALAR, selected);
        boolean csv = format.equals("csv");
        if (csv) {
            out.println(CSV_HEADER);
        } else {
            out.printf(Locale.ROOT, "vecloss bench: %s; %d thread%s; G elements (logits) per second, best of %d%n",
                    Kernels.description(), threads, threads == 1 ? "" : "s", REPS);
            out.printf(Locale.ROOT, "%-44s %-16s %8s %8s %7s %11s %11s%n",
                    "case", "shape", "scalar", selected.name().toLowerCase(Locale.ROOT), "ratio", "err scalar", "err " + selected.name().toLowerCase(Locale.ROOT));
        }
        String failure = null;
        for (Case cs : cases) {
            List<Row> rows = measure(cs, threads, kernels);
            for (Row r : rows) {
                if (!(r.relError <= MAX_REL_ERROR) && failure == null) {
                    failure = "bench: the " + r.kernel + " kernels are off on " + cs.label + " " + cs.shape()
                            + ": rel_error " + r.relError;
                }
            }
            if (csv) {
                for (Row r : rows) {
                    out.printf(Locale.ROOT, "%s,%d,%d,%s,%s,%d,%.6g,%.3e%n", cs.label, cs.positions(), cs.c,
                            cs.nchw ? "nchw" : "row", r.kernel, threads, r.gelemPerSec, r.relError);
                }
            } else {
                Row s = rows.get(0), v = rows.get(1);
                out.printf(Locale.ROOT, "%-44s %-16s %8.3f %8.3f %6.2fx %11.1e %11.1e%n",
                        cs.nchw ? cs.label + " (nchw)" : cs.label, cs.shape(),
                        s.gelemPerSec, v.gelemPerSec, v.gelemPerSec / s.gelemPerSec, s.relError, v.relError);
            }
            call.flushOut(); // a table nobody can read is not worth the minutes
        }
        if (failure != null) {
            throw new CliError(failure);
        }
    }

    /** The default tour: common class counts, the strided NCHW layout, and each option. */
    static List<Case> tour() {
        List<Case> t = new ArrayList<>();
        for (long c : new long[] {1000, 100, 10, 21}) {
            t.add(new Case("cross-entropy", false, CASE_ELEMENTS / c, c, 1, false, false, false, 0, false, false));
        }
        t.add(new Case("cross-entropy", false, 4, 21, 160 * 160, true, false, false, 0, false, false));
        long n = CASE_ELEMENTS / 100;
        t.add(new Case("cross-entropy+weight+ignore+smoothing", false, n, 100, 1, false, true, true, 0.1, false, false));
        t.add(new Case("cross-entropy+prob", false, n, 100, 1, false, false, false, 0, true, false));
        t.add(new Case("cross-entropy+grad", false, n, 100, 1, false, false, false, 0, false, true));
        t.add(new Case("cross-entropy+weight+ignore+smoothing+grad", false, n, 100, 1, false, true, true, 0.1, false, true));
        t.add(new Case("nll-loss", true, n, 100, 1, false, false, false, 0, false, false));
        t.add(new Case("nll-loss+grad", true, n, 100, 1, false, false, false, 0, false, true));
        return t;
    }

    private List<Row> measure(Case cs, int threads, List<Kernels.Implementation> kernels) {
        try (Arena arena = Arena.ofShared()) {
            Data d = Data.make(cs, arena);
            ApiCall api = new ApiCall(cs, d.input, d.target, d.weight, d.grad, threads);
            // The same formula in float64 (computed by the scalar kernels in double): the reference.
            ApiCall ref = new ApiCall(cs, widen(d.input, arena), d.target, d.weight == null ? null : widen(d.weight, arena),
                    null, threads);
            double reference = ref.run();
            List<Row> rows = new ArrayList<>(2);
            for (Kernels.Implementation k : kernels) {
                double[] m = Kernels.callWith(k, () -> time(api, cs));
                rows.add(new Row(cs, k.name().toLowerCase(Locale.ROOT), m[0], error(m[1], reference)));
            }
            return rows;
        }
    }

    /**
     * The relative error of {@code result}, or its absolute error where the reference is exactly
     * 0 (one class: every log-softmax is 0), so an exact answer is 0 and not 0/0; NaN (a failure)
     * if either is NaN.
     */
    static double error(double result, double reference) {
        if (result == reference) {
            return 0;
        }
        double diff = Math.abs(result - reference);
        return reference == 0 ? diff : diff / Math.abs(reference);
    }

    /** One public API call of a case: the mean loss (and its gradient), as users call it. */
    private record ApiCall(Case cs, Tensor input, Tensor target, Tensor weight, Tensor grad, int threads) {
        double run() {
            CrossEntropy.Options o = CrossEntropy.Options.defaults().withWeight(weight).withIgnoreIndex(IGNORE)
                    .withLabelSmoothing(cs.eps).withThreads(threads);
            return cs.nll ? CrossEntropy.nllLoss(input, target, o, null, grad)
                    : CrossEntropy.crossEntropy(input, target, o, null, grad);
        }
    }

    /** {rate in G elements/s, result}: warm-up, then the best of {@link #REPS} timed runs. */
    private static double[] time(ApiCall api, Case cs) {
        double result = 0;
        // Warm up for at least WARMUP_NANOS and until the JIT has settled: a window's rate within 5%
        // of the best one before it (a large vector kernel can take seconds to reach C2 on a busy
        // machine, and interpreted Vector API code is a hundred times slower).
        long start = System.nanoTime();
        double bestWindow = 0;
        while (true) {
            long t0 = System.nanoTime();
            int n = 0;
            do {
                result = api.run();
                n++;
            } while (System.nanoTime() - t0 < REP_NANOS);
            double rate = n / (double) (System.nanoTime() - t0);
            boolean settled = rate < bestWindow * 1.05;
            bestWindow = Math.max(bestWindow, rate);
            long spent = System.nanoTime() - start;
            if ((settled && spent >= WARMUP_NANOS) || spent >= MAX_WARMUP_NANOS) {
                break;
            }
        }
        double best = 0;
        for (int rep = 0; rep < REPS; rep++) {
            long t0 = System.nanoTime();
            long elapsed;
            int n = 0;
            do {
                double r = api.run();
                if (Double.doubleToRawLongBits(r) != Double.doubleToRawLongBits(result)) {
                    result = Double.NaN; // not deterministic: let the error column show it
                }
                n++;
                elapsed = System.nanoTime() - t0;
            } while (elapsed < REP_NANOS);
            best = Math.max(best, (double) n * cs.elements() / elapsed);
        }
        return new double[] {best, result};
    }

    private static Tensor widen(Tensor f32, Arena arena) {
        Tensor d = Tensor.allocate(arena, DType.FLOAT64, f32.shape());
        for (long i = 0; i < f32.numel(); i++) {
            d.segment().setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i,
                    f32.getDouble(i));
        }
        return d;
    }

    /** The synthetic operands, float32 in native memory, from a fixed seed. */
    private record Data(Tensor input, Tensor target, Tensor weight, Tensor grad) {
        private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

        static Data make(Case cs, Arena arena) {
            SplittableRandom rnd = new SplittableRandom(SEED);
            long numel = cs.elements();
            MemorySegment x = arena.allocate(numel * 4, 64);
            for (long i = 0; i < numel; i++) {
                // logits in [-4, 4); for NLL, log-probability-like values in (-8, 0]
                float v = cs.nll ? (float) -rnd.nextDouble(8) : (float) rnd.nextDouble(-4, 4);
                x.setAtIndex(F32, i, v);
            }
            MemorySegment target = null;
            MemorySegment prob = null;
            if (cs.prob) {
                prob = arena.allocate(numel * 4, 64);
                for (long pos = 0; pos < cs.positions(); pos++) {
                    long base = (pos / cs.s) * cs.c * cs.s + pos % cs.s;
                    double total = 0;
                    double[] q = new double[(int) cs.c];
                    for (int k = 0; k < cs.c; k++) {
                        q[k] = rnd.nextDouble();
                        total += q[k];
                    }
                    for (int k = 0; k < cs.c; k++) {
                        prob.setAtIndex(F32, base + k * cs.s, (float) (q[k] / total));
                    }
                }
            } else {
                target = arena.allocate(cs.positions() * 8, 64);
                for (long pos = 0; pos < cs.positions(); pos++) {
                    long y = cs.ignore && rnd.nextInt(10) == 0 ? IGNORE : rnd.nextLong(cs.c);
                    target.setAtIndex(I64, pos, y);
                }
            }
            MemorySegment weight = null;
            double weightSum = cs.c;
            if (cs.weighted) {
                weight = arena.allocate(cs.c * 4, 64);
                weightSum = 0;
                for (long k = 0; k < cs.c; k++) {
                    float w = (float) rnd.nextDouble(0.5, 1.5);
                    weight.setAtIndex(F32, k, w);
                    weightSum += w;
                }
            }
            long[] shape = cs.nchw ? new long[] {cs.b, cs.c, cs.s} : new long[] {cs.b, cs.c};
            long[] positions = cs.nchw ? new long[] {cs.b, cs.s} : new long[] {cs.b};
            return new Data(Tensor.of(x, DType.FLOAT32, shape),
                    cs.prob ? Tensor.of(prob, DType.FLOAT32, shape) : Tensor.of(target, DType.INT64, positions),
                    weight == null ? null : Tensor.of(weight, DType.FLOAT32, cs.c),
                    cs.grad ? Tensor.allocate(arena, DType.FLOAT32, shape) : null);
        }
    }
}
