package dev.vecloss.internal;

import java.lang.foreign.MemorySegment;

/**
 * The scalar reference kernels: plain loops in double precision, written to read like the
 * formulas of LOSSES.md. They are the fallback when the Vector API is absent, the kernels for
 * float64 inputs and for the layouts the Panama kernels leave (see {@code PanamaKernels}), and
 * the parity reference. The Panama kernels do not hand them the odd positions at the end of a
 * block: a float32 position would then get other bits in a SIMD block than in the tail.
 *
 * <p>The negative log-likelihood of a position, {@code lse - x_y}, is computed without
 * cancellation: the sum of exponentials excludes the target term, {@code S' = sum_{k != y}
 * exp(x_k - m)}, and the loss is {@code log1p(S' / exp(x_y - m))}. A row of ten classes whose target leads by 20 thus gets 1.855e-8, where
 * float32 {@code lse - x_y} gives 0.
 */
public final class ScalarKernels implements LossKernels {

    public static final ScalarKernels INSTANCE = new ScalarKernels();

    private ScalarKernels() {}

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public double crossEntropyIndex(CeProblem p, long from, long to) {
        final long c = p.c(), s = p.s();
        final MemorySegment x = p.input();
        final boolean f64 = p.f64();
        final double eps = p.eps();
        double total = 0;
        for (long pos = from; pos < to; pos++) {
            long base = (pos / s) * c * s + pos % s;
            long y = Mem.getIndex(p.target(), p.targetKind(), pos);
            if (y == p.ignoreIndex()) {
                ignored(p, pos, base, true);
                continue;
            }
            double m = Double.NEGATIVE_INFINITY;
            for (long k = 0; k < c; k++) {
                m = Math.max(m, Mem.get(x, f64, base + k * s));
            }
            double xy = Mem.get(x, f64, base + y * s);
            double rest = 0; // S' = sum over k != y of exp(x_k - m)
            for (long k = 0; k < c; k++) {
                if (k != y) {
                    rest += Math.exp(Mem.get(x, f64, base + k * s) - m);
                }
            }
            double ey = Math.exp(xy - m);
            double sum = rest + ey;
            double nll = nll(xy, m, rest, ey);
            double wy = weight(p, y);
            double loss;
            double smooth = 0;
            if (eps > 0) {
                // sum_c w_c * (lse - x_c) = log(S) * sum_c w_c + sum_c w_c * (m - x_c)
                double wd = 0;
                for (long k = 0; k < c; k++) {
                    wd += weight(p, k) * (m - Mem.get(x, f64, base + k * s));
                }
                smooth = Math.log(sum) * p.weightSum() + wd;
                loss = (1 - eps) * (wy * nll) + eps / c * smooth;
            } else {
                loss = wy * nll;
            }
            total += loss;
            if (p.losses() != null) {
                Mem.set(p.losses(), p.lossesF64(), pos, loss);
            }
            if (p.grad() != null) {
                double sigma = p.gradScale();
                double a = (1 - eps) * wy;
                double b = eps / c;
                for (long k = 0; k < c; k++) {
                    double pk = Math.exp(Mem.get(x, f64, base + k * s) - m) / sum;
                    // p_y - 1 = -S'/S, exact where 1 - p_y would cancel
                    double hard = k == y ? -rest / sum : pk;
                    double g = eps > 0 ? a * hard + b * (pk * p.weightSum() - weight(p, k)) : wy * hard;
                    Mem.set(p.grad(), p.gradF64(), base + k * s, sigma * g);
                }
            }
        }
        return total;
    }

    /**
     * {@code -log softmax(x)_y} from a reference {@code m} (the row maximum, or any value not
     * below it by much), the target logit {@code xy}, the sum {@code rest} of
     * {@code exp(x_k - m)} over the other classes and the target's {@code ey = exp(xy - m)}:
     * {@code log(1 + rest / ey)}, computed as {@code log1p(rest * exp(m - xy))} so that a
     * confident row does not cancel. Past a gap of 700 that product would overflow, and
     * {@code log(rest + ey) + (m - xy)} has nothing left to cancel.
     */
    public static double nll(double xy, double m, double rest, double ey) {
        if (m == Double.POSITIVE_INFINITY || m == Double.NEGATIVE_INFINITY) {
            return Double.NaN; // x - m is inf - inf somewhere in the row, as in PyTorch
        }
        double gap = m - xy;
        return gap < 700 ? Math.log1p(rest * Math.exp(gap)) : Math.log(rest + ey) + gap;
    }

    @Override
    public double crossEntropyProb(CeProblem p, long from, long to) {
        final long c = p.c(), s = p.s();
        final MemorySegment x = p.input();
        final MemorySegment t = p.probTarget();
        final boolean f64 = p.f64();
        final double eps = p.eps();
        double total = 0;
        for (long pos = from; pos < to; pos++) {
            long base = (pos / s) * c * s + pos % s;
            double m = Double.NEGATIVE_INFINITY;
            for (long k = 0; k < c; k++) {
                m = Math.max(m, Mem.get(x, f64, base + k * s));
            }
            double sum = 0, wq = 0, wqd = 0;
            for (long k = 0; k < c; k++) {
                double xk = Mem.get(x, f64, base + k * s);
                double q = smoothed(Mem.get(t, f64, base + k * s), eps, c);
                double w = weight(p, k) * q;
                sum += Math.exp(xk - m);
                wq += w;
                wqd += w * (m - xk);
            }
            // -sum_c w_c q_c (x_c - lse) = log(S) * sum w q + sum w q (m - x)
            double loss = Math.log(sum) * wq + wqd;
            total += loss;
            if (p.losses() != null) {
                Mem.set(p.losses(), p.lossesF64(), pos, loss);
            }
            if (p.grad() != null) {
                double sigma = p.gradScale();
                for (long k = 0; k < c; k++) {
                    double pk = Math.exp(Mem.get(x, f64, base + k * s) - m) / sum;
                    double q = smoothed(Mem.get(t, f64, base + k * s), eps, c);
                    Mem.set(p.grad(), p.gradF64(), base + k * s, sigma * (pk * wq - weight(p, k) * q));
                }
            }
        }
        return total;
    }

    static double smoothed(double q, double eps, long c) {
        return eps > 0 ? (1 - eps) * q + eps / c : q;
    }

    @Override
    public double nllLoss(CeProblem p, long from, long to) {
        final long c = p.c(), s = p.s();
        double total = 0;
        for (long pos = from; pos < to; pos++) {
            long base = (pos / s) * c * s + pos % s;
            long y = Mem.getIndex(p.target(), p.targetKind(), pos);
            if (y == p.ignoreIndex()) {
                ignored(p, pos, base, false);
                continue;
            }
            double wy = weight(p, y);
            double loss = -wy * Mem.get(p.input(), p.f64(), base + y * s);
            total += loss;
            if (p.losses() != null) {
                Mem.set(p.losses(), p.lossesF64(), pos, loss);
            }
            if (p.grad() != null) {
                for (long k = 0; k < c; k++) {
                    Mem.set(p.grad(), p.gradF64(), base + k * s, k == y ? -wy * p.gradScale() : 0);
                }
            }
        }
        return total;
    }

    /**
     * An ignored position: loss 0 and gradient 0, except, after a softmax, in a row whose
     * softmax is NaN (a NaN or +inf logit, or all -inf): PyTorch's log_softmax backward computes
     * {@code 0 - softmax * 0} there, which is NaN, and so does this library (LOSSES.md 1.3 chose
     * 0; PyTorch wins).
     */
    static void ignored(CeProblem p, long pos, long base, boolean softmax) {
        if (p.losses() != null) {
            Mem.set(p.losses(), p.lossesF64(), pos, 0);
        }
        if (p.grad() != null) {
            double g = 0;
            if (softmax) {
                double m = Double.NEGATIVE_INFINITY;
                for (long k = 0; k < p.c(); k++) {
                    m = Math.max(m, Mem.get(p.input(), p.f64(), base + k * p.s()));
                }
                g = Double.isFinite(m) ? 0 : Double.NaN;
            }
            for (long k = 0; k < p.c(); k++) {
                Mem.set(p.grad(), p.gradF64(), base + k * p.s(), g);
            }
        }
    }

    static double weight(CeProblem p, long k) {
        return p.weight() == null ? 1 : Mem.get(p.weight(), p.f64(), k);
    }
}
