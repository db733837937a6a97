package dev.vecloss.internal;

import java.lang.foreign.MemorySegment;

/**
 * The scalar reference of the per-class-sum family ({@link ClassSumOp}, LOSSES.md 8.2): in double,
 * position by position, written like smp's pipeline. At an element of class {@code k} with mask
 * {@code m} (0 where the target is ignored, else 1), {@code pe = p m} and {@code te = t m} (smp
 * multiplies by the mask, so a NaN prediction at an ignored place is still NaN), and the pass adds
 * {@code pe} to {@code Sp_k}, {@code te} to {@code St_k} and {@code |pe - te|} to {@code D_k},
 * exactly ({@link ExactSum}): a position's values depend on its own inputs only.
 *
 * <p>The activations are smp's: the softmax {@code exp(x_k - max) / sum_j exp(x_j - max)} (smp's
 * {@code exp(log_softmax)}, the same value to rounding) and the sigmoid, {@code 1 / (1 + e^-x)}
 * for {@code x >= 0} and {@code e^x / (1 + e^x)} below (smp's {@code exp(logsigmoid(x))}); the
 * gradient through the sigmoid is {@code p q} with {@code q = sigmoid(-x)} formed apart, not
 * {@code 1 - p}.
 */
final class ScalarClassSums {
    private ScalarClassSums() {}

    static void sums(ClassSumOp op, ClassSumProblem p, long from, long to, ExactSum[] out) {
        final long c = p.c(), s = p.s();
        final MemorySegment x = p.input();
        final boolean f64 = p.f64();
        final int sp = 0, st = (int) c, d = 2 * (int) c;
        for (long pos = from; pos < to; pos++) {
            final long base = (pos / s) * c * s + pos % s;
            if (op.indexTargets()) {
                final long y = p.checkedLabel(pos);
                final double m = y < 0 ? 0 : 1;
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                if (op == ClassSumOp.SOFTMAX) {
                    max = ScalarMath.rowMax(x, f64, base, c, s); // NaN wins, as in log_softmax
                    sum = ScalarMath.expSum(x, f64, base, 0, c, s, max, 0);
                }
                for (long k = 0; k < c; k++) {
                    double xv = Mem.get(x, f64, base + k * s);
                    double pk = op == ClassSumOp.SOFTMAX ? ScalarMath.exp(xv - max) / sum : xv;
                    double pe = pk * m;
                    double te = k == y ? 1 : 0;
                    out[sp + (int) k].add(pe);
                    out[st + (int) k].add(te);
                    out[d + (int) k].add(Math.abs(pe - te));
                }
            } else {
                for (long k = 0; k < c; k++) {
                    long i = base + k * s;
                    double xv = Mem.get(x, f64, i);
                    double m = p.kept(i) ? 1 : 0;
                    double pe = (op == ClassSumOp.SIGMOID ? sigmoid(xv) : xv) * m;
                    double te = p.targetValue(i) * m;
                    out[sp + (int) k].add(pe);
                    out[st + (int) k].add(te);
                    out[d + (int) k].add(Math.abs(pe - te));
                }
            }
        }
    }

    static double grad(ClassSumOp op, ClassSumProblem p, long from, long to) {
        final long c = p.c(), s = p.s();
        final MemorySegment x = p.input(), g = p.grad();
        final boolean f64 = p.f64(), gf64 = p.gradF64();
        for (long pos = from; pos < to; pos++) {
            final long base = (pos / s) * c * s + pos % s;
            if (op.indexTargets()) {
                final long y = p.checkedLabel(pos);
                final double m = y < 0 ? 0 : 1;
                if (op == ClassSumOp.SOFTMAX) {
                    double max = ScalarMath.rowMax(x, f64, base, c, s); // NaN wins, as in log_softmax
                    double sum = ScalarMath.expSum(x, f64, base, 0, c, s, max, 0);
                    // dL/dz_k = p_k (G_k - sum_j p_j G_j), G = dL/dp
                    double dot = 0;
                    for (long k = 0; k < c; k++) {
                        double pk = ScalarMath.exp(Mem.get(x, f64, base + k * s) - max) / sum;
                        dot += pk * dLdp(p, k, pk * m, k == y ? 1 : 0, m);
                    }
                    for (long k = 0; k < c; k++) {
                        double pk = ScalarMath.exp(Mem.get(x, f64, base + k * s) - max) / sum;
                        double gk = dLdp(p, k, pk * m, k == y ? 1 : 0, m);
                        Mem.set(g, gf64, base + k * s, pk * (gk - dot));
                    }
                } else {
                    for (long k = 0; k < c; k++) {
                        double pk = Mem.get(x, f64, base + k * s);
                        Mem.set(g, gf64, base + k * s, dLdp(p, k, pk * m, k == y ? 1 : 0, m));
                    }
                }
            } else {
                for (long k = 0; k < c; k++) {
                    long i = base + k * s;
                    double xv = Mem.get(x, f64, i);
                    double m = p.kept(i) ? 1 : 0;
                    double te = p.targetValue(i) * m;
                    double v;
                    if (op == ClassSumOp.SIGMOID) {
                        double pk = sigmoid(xv);
                        v = dLdp(p, k, pk * m, te, m) * pk * sigmoid(-xv);
                    } else {
                        v = dLdp(p, k, xv * m, te, m);
                    }
                    Mem.set(g, gf64, i, v);
                }
            }
        }
        return 0;
    }

    /**
     * {@code dL/dp} at an element of class {@code k}: {@code m (a A_k + B_k)} with
     * {@code a = dTP/dpe = (1 - sgn(pe - te)) / 2}: 1 below the target, 0 above, 1/2 at it (the L1
     * form's subgradient; a NaN gives 1/2 and a NaN coefficient).
     */
    static double dLdp(ClassSumProblem p, long k, double pe, double te, double m) {
        double a = pe < te ? 1 : pe > te ? 0 : 0.5;
        return (a * p.coefA(k) + p.coefB(k)) * m;
    }

    /** smp's {@code exp(logsigmoid(x))}, without overflow: {@code 1/(1 + e^-x)}, or {@code e^x/(1 + e^x)} below 0. */
    static double sigmoid(double x) {
        if (x >= 0) {
            return 1 / (1 + ScalarMath.exp(-x));
        }
        double z = ScalarMath.exp(x);
        return z / (1 + z); // NaN stays NaN
    }
}
