package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.internal.ExactSum;
import dev.vecloss.internal.KernelProvider;
import dev.vecloss.internal.LossKernels;
import dev.vecloss.internal.RowOp;
import dev.vecloss.internal.RowProblem;
import dev.vecloss.oracle.Tolerance;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link KernelProvider#get()} against {@link KernelProvider#scalar()} for all three ops, on a
 * 2-D (N, C) and a 3-D (N, C, S) float32 problem with weights, ignore_index and smoothing, called
 * through the kernel interface over the whole range.
 */
class KernelParityTest {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @ParameterizedTest(name = "{0} N={1} C={2} S={3}")
    @CsvSource({
            "index, 37, 19, 1", "index, 3, 5, 143",
            "prob, 37, 19, 1", "prob, 3, 5, 143",
            "nll, 37, 19, 1", "nll, 3, 5, 143"})
    void selectedAgreesWithScalar(String op, int n, int c, int s) {
        SplittableRandom rnd = new SplittableRandom(c * 31L + s);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocate(4L * n * c * s);
            MemorySegment q = arena.allocate(4L * n * c * s);
            for (long i = 0; i < (long) n * c * s; i++) {
                x.setAtIndex(F32, i, (float) (-6 + 12 * rnd.nextDouble()));
                q.setAtIndex(F32, i, (float) rnd.nextDouble());
            }
            MemorySegment t = arena.allocate(8L * n * s);
            for (long i = 0; i < (long) n * s; i++) {
                t.setAtIndex(I64, i, i % 5 == 0 ? 1 : rnd.nextInt(c));
            }
            MemorySegment w = arena.allocate(4L * c);
            double wsum = 0;
            for (int k = 0; k < c; k++) {
                float v = 0.5f + k % 3;
                w.setAtIndex(F32, k, v);
                wsum += v;
            }
            boolean prob = op.equals("prob");
            double eps = op.equals("nll") ? 0 : 0.1;
            long m = (long) n * s;
            float[][] losses = new float[2][];
            float[][] grads = new float[2][];
            double[] sums = new double[2];
            LossKernels[] ks = {KernelProvider.scalar(), KernelProvider.get()};
            for (int i = 0; i < 2; i++) {
                MemorySegment l = arena.allocate(4 * m);
                MemorySegment g = arena.allocate(4L * n * c * s);
                RowProblem p = RowProblem.create().input(x, false, n, c, s).weight(w, wsum).labelSmoothing(eps)
                        .gradScale(0.25).losses(l, false).grad(g, false);
                p = prob ? p.probTarget(q) : p.indexTarget(t, 8, 1);
                RowOp rowOp = switch (op) {
                    case "index" -> RowOp.CROSS_ENTROPY;
                    case "prob" -> RowOp.CROSS_ENTROPY_PROB;
                    default -> RowOp.NLL;
                };
                ExactSum sum = new ExactSum();
                ks[i].rows(rowOp, p, 0, m, sum);
                sums[i] = sum.get();
                losses[i] = l.toArray(F32);
                grads[i] = g.toArray(F32);
            }
            // The row sums of exponentials may be taken in another order: error grows with C.
            double row = (c + 4) * Tolerance.F32_EPS * 2.5;
            Tolerance tol = Tolerance.ulps(4).or(Tolerance.absolute(row));
            Tolerance sumTol = Tolerance.relative((c + 4) * Tolerance.F32_EPS).or(Tolerance.absolute(m * row));
            Tolerance gradTol = Tolerance.ulps(4, 0.25 * 2.5).or(Tolerance.relative((c + 4) * Tolerance.F32_EPS));
            String who = ks[1].name() + " vs scalar, " + op;
            assertTrue(sumTol.test(sums[0], sums[1]), who + ": sum " + sums[1] + ", scalar " + sums[0]);
            for (int i = 0; i < m; i++) {
                assertTrue(tol.test(losses[0][i], losses[1][i]), who + ": loss[" + i + "] " + losses[1][i] + ", scalar " + losses[0][i]);
            }
            for (int i = 0; i < grads[0].length; i++) {
                assertTrue(gradTol.test(grads[0][i], grads[1][i]), who + ": grad[" + i + "] " + grads[1][i] + ", scalar " + grads[0][i]);
            }
        }
    }
}
