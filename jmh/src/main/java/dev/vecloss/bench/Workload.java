package dev.vecloss.bench;

import dev.vecloss.CrossEntropy;
import dev.vecloss.CrossEntropy.Options;
import dev.vecloss.DType;
import dev.vecloss.Layout;
import dev.vecloss.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The benchmark workloads: their shapes, options and synthetic float32 operands from a fixed
 * seed. The same names and sizes are in {@code jmh/compare_pytorch.py} and {@code jmh/report.py}
 * (keep them in step).
 *
 * <p>Logits are uniform in [-4, 4); index targets uniform in [0, C) except where a workload
 * ignores some; probability targets are normalised uniform rows.
 */
record Workload(String name, long[] inputShape, boolean heap, boolean weighted, long ignoreIndex,
        double labelSmoothing, boolean grad, boolean prob, double ignoredFraction) {

    static final long SEED = 0x5EED_CAFEL;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;

    /** The workload called {@code name} (the values of the JMH {@code workload} parameter). */
    static Workload of(String name) {
        long m = 1L << 24;
        return switch (name) {
            case "c1000" -> rows(name, 65536, 1000);
            case "b256c1000" -> rows(name, 256, 1000); // a training batch: 1 MB, cache-resident
            case "b256c100" -> rows(name, 256, 100);
            case "c1000heap" -> new Workload(name, new long[] {65536, 1000}, true, false, -100, 0, false, false, 0);
            case "c32000" -> rows(name, 2048, 32000);
            case "c100" -> rows(name, m / 100, 100);
            case "c10" -> rows(name, m / 10, 10);
            case "c21" -> rows(name, m / 21, 21);
            case "wls1000" -> new Workload(name, new long[] {65536, 1000}, false, true, 0, 0.1, false, false, 0);
            case "nchw" -> new Workload(name, new long[] {8, 21, 512, 512}, false, false, 255, 0, false, false, 0.1);
            case "grad1000" -> new Workload(name, new long[] {65536, 1000}, false, false, -100, 0, true, false, 0);
            case "prob1000" -> new Workload(name, new long[] {65536, 1000}, false, false, -100, 0, false, true, 0);
            // the same three at a training batch's size, cache-resident
            case "b256wls" -> new Workload(name, new long[] {256, 1000}, false, true, 0, 0.1, false, false, 0);
            case "b256grad" -> new Workload(name, new long[] {256, 1000}, false, false, -100, 0, true, false, 0);
            case "b256prob" -> new Workload(name, new long[] {256, 1000}, false, false, -100, 0, false, true, 0);
            default -> throw new IllegalArgumentException("unknown workload " + name);
        };
    }

    private static Workload rows(String name, long n, long c) {
        return new Workload(name, new long[] {n, c}, false, false, -100, 0, false, false, 0);
    }

    long classes() {
        return inputShape[1];
    }

    /** Logits per call: N·C·d1·...·dk. G logits/s = ops/s × elements() / 1e9. */
    long elements() {
        long e = 1;
        for (long d : inputShape) {
            e *= d;
        }
        return e;
    }

    long[] targetShape() {
        if (prob) {
            return inputShape.clone();
        }
        return Layout.positionShape(inputShape);
    }

    /** The options of a call with {@code threads} threads ({@code weight} may be null). */
    Options options(Tensor weight, int threads) {
        return Options.defaults().withWeight(weight).withIgnoreIndex(ignoreIndex)
                .withLabelSmoothing(labelSmoothing).withThreads(threads);
    }

    /** The operands of one workload, float32 (int64 targets), in {@code arena} or on the heap. */
    record Operands(Workload w, Tensor input, Tensor target, Tensor weight, Tensor grad) {
        /** One call through the public API, as the benchmarks make it. */
        double call(Options o) {
            return w.grad ? CrossEntropy.crossEntropy(input, target, o, null, grad)
                    : CrossEntropy.crossEntropy(input, target, o);
        }
    }

    Operands make(Arena arena) {
        SplittableRandom rnd = new SplittableRandom(SEED);
        long numel = elements();
        Tensor input;
        if (heap) {
            float[] x = new float[Math.toIntExact(numel)];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextDouble(-4, 4);
            }
            input = Tensor.of(x, inputShape);
        } else {
            input = Tensor.allocate(arena, DType.FLOAT32, inputShape);
            MemorySegment s = input.segment();
            for (long i = 0; i < numel; i++) {
                s.setAtIndex(F32, i, (float) rnd.nextDouble(-4, 4));
            }
        }
        long c = classes();
        Tensor target;
        if (prob) {
            target = Tensor.allocate(arena, DType.FLOAT32, inputShape);
            MemorySegment s = target.segment();
            double[] q = new double[(int) c];
            for (long row = 0; row < numel / c; row++) {
                double total = 0;
                for (int k = 0; k < c; k++) {
                    q[k] = rnd.nextDouble();
                    total += q[k];
                }
                for (int k = 0; k < c; k++) {
                    s.setAtIndex(F32, row * c + k, (float) (q[k] / total));
                }
            }
        } else {
            target = Tensor.allocate(arena, DType.INT64, targetShape());
            MemorySegment s = target.segment();
            long positions = target.numel();
            for (long p = 0; p < positions; p++) {
                long y = ignoredFraction > 0 && rnd.nextDouble() < ignoredFraction ? ignoreIndex : rnd.nextLong(c);
                s.setAtIndex(I64, p, y);
            }
        }
        Tensor weight = null;
        if (weighted) {
            weight = Tensor.allocate(arena, DType.FLOAT32, c);
            for (long k = 0; k < c; k++) {
                weight.segment().setAtIndex(F32, k, (float) rnd.nextDouble(0.5, 1.5));
            }
        }
        Tensor grad = this.grad ? Tensor.allocate(arena, DType.FLOAT32, inputShape) : null;
        return new Operands(this, input, target, weight, grad);
    }

    /**
     * The self-check: the float32 call on a slice of the operands (the first 256 rows, or the
     * first image of an NCHW batch) against the same call on a float64 copy of that slice.
     *
     * @return the relative error
     */
    static double selfCheck(Operands ops, int threads) {
        Workload w = ops.w;
        long rows = w.inputShape.length > 2 ? 1 : Math.min(256, w.inputShape[0]);
        long[] in = w.inputShape.clone();
        in[0] = rows;
        long[] tg = ops.target.shape();
        tg[0] = rows;
        try (Arena arena = Arena.ofShared()) { // shared: the library's worker threads read it
            long inNumel = Arrays.stream(in).reduce(1, (a, b) -> a * b);
            long tgNumel = Arrays.stream(tg).reduce(1, (a, b) -> a * b);
            Tensor x32 = Tensor.of(ops.input.segment().asSlice(0, inNumel * 4), DType.FLOAT32, in);
            Tensor t = Tensor.of(ops.target.segment().asSlice(0, tgNumel * ops.target.dtype().byteSize()),
                    ops.target.dtype(), tg);
            Tensor x64 = widen(arena, x32);
            Tensor t64 = w.prob ? widen(arena, t) : t;
            Tensor w32 = ops.weight;
            Tensor w64 = w32 == null ? null : widen(arena, w32);
            Tensor g32 = w.grad ? Tensor.allocate(arena, DType.FLOAT32, in) : null;
            Tensor g64 = w.grad ? Tensor.allocate(arena, DType.FLOAT64, in) : null;
            double got = CrossEntropy.crossEntropy(x32, t, w.options(w32, threads), null, g32);
            double want = CrossEntropy.crossEntropy(x64, t64, w.options(w64, threads), null, g64);
            double err = Math.abs(got - want) / Math.abs(want);
            if (w.grad) {
                double num = 0;
                double den = 0;
                for (long i = 0; i < inNumel; i++) {
                    double d = g32.getDouble(i) - g64.getDouble(i);
                    num += d * d;
                    den += g64.getDouble(i) * g64.getDouble(i);
                }
                err = Math.max(err, Math.sqrt(num / den));
            }
            return err;
        }
    }

    private static Tensor widen(Arena arena, Tensor f32) {
        Tensor d = Tensor.allocate(arena, DType.FLOAT64, f32.shape());
        for (long i = 0; i < f32.numel(); i++) {
            d.segment().setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i, f32.getDouble(i));
        }
        return d;
    }
}
