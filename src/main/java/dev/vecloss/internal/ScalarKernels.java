package dev.vecloss.internal;

import java.lang.foreign.MemorySegment;

/**
 * The scalar reference kernels: plain loops in double precision, written to read like the
 * formulas of LOSSES.md. They are the fallback when the Vector API is absent, the kernels for
 * float64 inputs, the finishing loops of the Panama kernels, and the parity reference.
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

    /**
     * The row family's position loop: the position's base element, its loss from the operation's
     * position function (which also writes the position's gradient), the loss stored and summed.
     */
    @Override
    public double rows(RowOp op, RowProblem p, long from, long to) {
        final long c = p.c(), s = p.s();
        double total = 0;
        for (long pos = from; pos < to; pos++) {
            long base = (pos / s) * c * s + pos % s;
            double loss = switch (op) {
                case CROSS_ENTROPY -> crossEntropy(p, pos, base);
                case CROSS_ENTROPY_PROB -> crossEntropyProb(p, base);
                case NLL -> nllLoss(p, pos, base);
            };
            total += loss;
            if (p.losses() != null) {
                Mem.set(p.losses(), p.lossesF64(), pos, loss);
            }
        }
        return total;
    }

    /** Cross-entropy with an index target at one position (LOSSES.md 1.1); writes its gradient. */
    private static double crossEntropy(RowProblem p, long pos, long base) {
        final long c = p.c(), s = p.s();
        final MemorySegment x = p.input();
        final boolean f64 = p.f64();
        final double eps = p.eps();
        long y = Mem.getIndex(p.target(), p.targetKind(), pos);
        if (y == p.ignoreIndex()) {
            ignored(p, base, true);
            return 0;
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
        if (eps > 0) {
            // sum_c w_c * (lse - x_c) = log(S) * sum_c w_c + sum_c w_c * (m - x_c)
            double wd = 0;
            for (long k = 0; k < c; k++) {
                wd += weight(p, k) * (m - Mem.get(x, f64, base + k * s));
            }
            double smooth = Math.log(sum) * p.weightSum() + wd;
            loss = (1 - eps) * (wy * nll) + eps / c * smooth;
        } else {
            loss = wy * nll;
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
        return loss;
    }

    /**
     * The elementwise family's loop: element by element, a run at a time (within a run each
     * broadcast operand is contiguous or constant, see {@link Broadcast}); the loss and the
     * gradient from the operation's formulas, times the element's weight.
     */
    @Override
    public double elements(ElementOp op, ElementProblem p, long from, long to) {
        final MemorySegment x = p.input(), y = p.target(), w = p.weight(), pw = p.posWeight();
        final boolean f64 = p.f64();
        final double sigma = p.gradScale();
        double total = 0;
        for (long i = from; i < to; ) {
            final long end = p.runEnd(i, to);
            long wi = w == null ? 0 : p.weightOffset(i);
            long pi = pw == null ? 0 : p.posWeightOffset(i);
            for (; i < end; i++) {
                double xv = Mem.get(x, f64, i);
                double yv = Mem.get(y, f64, i);
                double wv = w == null ? 1 : Mem.get(w, f64, wi);
                double pv = pw == null ? 1 : Mem.get(pw, f64, pi);
                double loss = wv * switch (op) {
                    case BINARY_CROSS_ENTROPY -> binaryCrossEntropy(xv, yv);
                    case BINARY_CROSS_ENTROPY_WITH_LOGITS -> binaryCrossEntropyWithLogits(xv, yv, pv);
                };
                total += loss;
                if (p.losses() != null) {
                    Mem.set(p.losses(), p.lossesF64(), i, loss);
                }
                if (p.grad() != null) {
                    double g = switch (op) {
                        case BINARY_CROSS_ENTROPY -> binaryCrossEntropyGrad(xv, yv);
                        case BINARY_CROSS_ENTROPY_WITH_LOGITS -> binaryCrossEntropyWithLogitsGrad(xv, yv, pv);
                    };
                    Mem.set(p.grad(), p.gradF64(), i, sigma * wv * g);
                }
                if (p.weightContiguous()) {
                    wi++;
                }
                if (p.posWeightContiguous()) {
                    pi++;
                }
            }
        }
        return total;
    }

    /** PyTorch's floor of {@code p (1 - p)} in the BCE gradient: the float32 constant 1e-12, in every dtype. */
    public static final double BCE_GRAD_FLOOR = 1e-12f;

    /** BCE on a probability (LOSSES.md 3): {@code -(y max(log p, -100) + (1-y) max(log1p(-p), -100))}. */
    static double binaryCrossEntropy(double p, double y) {
        return -(y * Math.max(Math.log(p), -100) + (1 - y) * Math.max(Math.log1p(-p), -100));
    }

    /** PyTorch's BCE gradient, {@code (p - y) / max(p (1 - p), 1e-12)}: not the derivative of the clamped loss. */
    static double binaryCrossEntropyGrad(double p, double y) {
        return (p - y) / Math.max(p * (1 - p), BCE_GRAD_FLOOR);
    }

    /**
     * BCE with logits (LOSSES.md 4): {@code (1 - y) x - r logsigmoid(x)}, {@code r = 1 + (P - 1) y},
     * {@code logsigmoid(x) = min(x, 0) - log1p(exp(-|x|))}. The terms outside the log1p are
     * gathered first, {@code (1 - y) x - r min(x, 0)}, which is {@code (1 - y) x} for
     * {@code x >= 0} and {@code -P y x} below: no large terms cancel, so {@code x = -30, y = 0}
     * keeps its loss of 9.36e-14 (in float32 too). At {@code x = -inf} the reference's form
     * gives NaN (inf - inf), and so does this one.
     */
    static double binaryCrossEntropyWithLogits(double x, double y, double posWeight) {
        double r = 1 + (posWeight - 1) * y;
        if (x == Double.NEGATIVE_INFINITY) {
            return Double.NaN;
        }
        return (x >= 0 ? (1 - y) * x : -posWeight * y * x) + r * Math.log1p(Math.exp(-Math.abs(x)));
    }

    /** Its gradient: {@code r sigmoid(x) - P y}. */
    static double binaryCrossEntropyWithLogitsGrad(double x, double y, double posWeight) {
        double r = 1 + (posWeight - 1) * y;
        return r / (1 + Math.exp(-x)) - posWeight * y;
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

    /** Cross-entropy with class-probability targets at one position (LOSSES.md 1.2); writes its gradient. */
    private static double crossEntropyProb(RowProblem p, long base) {
        final long c = p.c(), s = p.s();
        final MemorySegment x = p.input();
        final MemorySegment t = p.probTarget();
        final boolean f64 = p.f64();
        final double eps = p.eps();
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
        if (p.grad() != null) {
            double sigma = p.gradScale();
            for (long k = 0; k < c; k++) {
                double pk = Math.exp(Mem.get(x, f64, base + k * s) - m) / sum;
                double q = smoothed(Mem.get(t, f64, base + k * s), eps, c);
                Mem.set(p.grad(), p.gradF64(), base + k * s, sigma * (pk * wq - weight(p, k) * q));
            }
        }
        return loss;
    }

    static double smoothed(double q, double eps, long c) {
        return eps > 0 ? (1 - eps) * q + eps / c : q;
    }

    /** NLL at one position (LOSSES.md 2); writes its gradient. */
    private static double nllLoss(RowProblem p, long pos, long base) {
        final long c = p.c(), s = p.s();
        long y = Mem.getIndex(p.target(), p.targetKind(), pos);
        if (y == p.ignoreIndex()) {
            ignored(p, base, false);
            return 0;
        }
        double wy = weight(p, y);
        if (p.grad() != null) {
            for (long k = 0; k < c; k++) {
                Mem.set(p.grad(), p.gradF64(), base + k * s, k == y ? -wy * p.gradScale() : 0);
            }
        }
        return -wy * Mem.get(p.input(), p.f64(), base + y * s);
    }

    /**
     * An ignored position's gradient: 0, except, after a softmax, in a row whose
     * softmax is NaN (a NaN or +inf logit, or all -inf): PyTorch's log_softmax backward computes
     * {@code 0 - softmax * 0} there, which is NaN, and so does this library (LOSSES.md 1.3 chose
     * 0; PyTorch wins).
     */
    static void ignored(RowProblem p, long base, boolean softmax) {
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

    static double weight(RowProblem p, long k) {
        return p.weight() == null ? 1 : Mem.get(p.weight(), p.f64(), k);
    }
}
