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

    /**
     * The row family's position loop: the position's base element, its loss from the operation's
     * position function (which also writes the position's gradient), the loss stored and summed.
     */
    @Override
    public void rows(RowOp op, RowProblem p, long from, long to, ExactSum acc) {
        final long c = p.c(), s = p.s();
        for (long pos = from; pos < to; pos++) {
            long base = (pos / s) * c * s + pos % s;
            double loss = switch (op) {
                case CROSS_ENTROPY -> crossEntropy(p, pos, base);
                case CROSS_ENTROPY_PROB -> crossEntropyProb(p, base);
                case NLL -> nllLoss(p, pos, base);
                case SOFTMAX_FOCAL -> softmaxFocal(p, pos, base);
                case MULTI_MARGIN -> multiMargin(p, pos, base);
                case CATEGORICAL_HINGE -> categoricalHinge(p, base);
            };
            acc.add(loss);
            if (p.losses() != null) {
                Mem.set(p.losses(), p.lossesF64(), pos, loss);
            }
        }
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
        double m = ScalarMath.rowMax(x, f64, base, c, s);
        double xy = Mem.get(x, f64, base + y * s);
        // S' = sum over k != y of exp(x_k - m), in class order
        double rest = ScalarMath.expSum(x, f64, base, y + 1, c, s, m, ScalarMath.expSum(x, f64, base, 0, y, s, m, 0));
        double ey = ScalarMath.exp(xy - m);
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
                double pk = ScalarMath.exp(Mem.get(x, f64, base + k * s) - m) / sum;
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
    public void elements(ElementOp op, ElementProblem p, long from, long to, ExactSum acc) {
        final MemorySegment x = p.input(), y = p.target(), w = p.weight(), pw = p.posWeight();
        final boolean f64 = p.f64();
        final double sigma = p.gradScale();
        for (long i = from; i < to; ) {
            final long end = p.runEnd(i, to);
            long wi = w == null ? 0 : p.weightOffset(i);
            long pi = pw == null ? 0 : p.posWeightOffset(i);
            for (; i < end; i++) {
                double xv = Mem.get(x, f64, i);
                double yv = Mem.get(y, f64, i);
                double wv = w == null ? 1 : Mem.get(w, f64, wi);
                double pv = pw == null ? 1 : Mem.get(pw, f64, pi);
                if (p.zeroOneLabels()) {
                    yv = 2 * yv - 1;
                }
                double loss = wv * switch (op) {
                    case BINARY_CROSS_ENTROPY -> binaryCrossEntropy(xv, yv);
                    case BINARY_CROSS_ENTROPY_WITH_LOGITS -> binaryCrossEntropyWithLogits(xv, yv, pv);
                    case SIGMOID_FOCAL -> sigmoidFocal(xv, yv, p.alpha(), p.gamma(), false);
                    case HINGE -> hinge(xv, yv, p.margin(), false);
                    case SQUARED_HINGE -> squaredHinge(xv, yv, p.margin(), false);
                    case KL_DIV -> klDiv(xv, yv, p.logTarget(), false);
                };
                acc.add(loss);
                if (p.losses() != null) {
                    Mem.set(p.losses(), p.lossesF64(), i, loss);
                }
                if (p.grad() != null) {
                    double g = switch (op) {
                        case BINARY_CROSS_ENTROPY -> binaryCrossEntropyGrad(xv, yv);
                        case BINARY_CROSS_ENTROPY_WITH_LOGITS -> binaryCrossEntropyWithLogitsGrad(xv, yv, pv);
                        case SIGMOID_FOCAL -> sigmoidFocal(xv, yv, p.alpha(), p.gamma(), true);
                        case HINGE -> hinge(xv, yv, p.margin(), true);
                        case SQUARED_HINGE -> squaredHinge(xv, yv, p.margin(), true);
                        case KL_DIV -> klDiv(xv, yv, p.logTarget(), true);
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
    }

    /** Lovász-softmax and the Lovász hinge: {@link ScalarLovasz}. */
    @Override
    public double lovasz(LovaszProblem.Phase phase, LovaszProblem p, long from, long to) {
        return ScalarLovasz.lovasz(phase, p, from, to);
    }

    @Override
    public double notZeroOne(ElementProblem p, long from, long to) {
        return Ranges.notZeroOne(p, from, to);
    }

    @Override
    public double unitInterval(ElementProblem p, long from, long to) {
        return Ranges.unitInterval(p, from, to);
    }

    /** PyTorch's floor of {@code p (1 - p)} in the BCE gradient: the float32 constant 1e-12, in every dtype. */
    public static final double BCE_GRAD_FLOOR = 1e-12f;

    /**
     * BCE on a probability (LOSSES.md 3): {@code -(y max(log p, -100) + (1-y) max(log1p(-p), -100))};
     * NaN where {@code p} or {@code y} is outside [0, 1] (the API refuses such values: a reduced
     * call without outputs looks for them only when its result is NaN, BinaryCrossEntropy).
     */
    static double binaryCrossEntropy(double p, double y) {
        if (!(p >= 0 && p <= 1 && y >= 0 && y <= 1)) {
            return Double.NaN;
        }
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
        return (x >= 0 ? (1 - y) * x : -posWeight * y * x) + r * Math.log1p(ScalarMath.exp(-Math.abs(x)));
    }

    /**
     * Its gradient, {@code r sigmoid(x) - P y}, as {@code p (1 - y) - P y (1 - p)} with
     * {@code 1 - p = sigmoid(-x)}: for a label of 0 or 1 nothing cancels, so a confident
     * element keeps its small gradient.
     */
    static double binaryCrossEntropyWithLogitsGrad(double x, double y, double posWeight) {
        double e = ScalarMath.exp(-Math.abs(x));
        double p = x >= 0 ? 1 / (1 + e) : e / (1 + e);
        double q = x >= 0 ? e / (1 + e) : 1 / (1 + e);
        return p * (1 - y) - posWeight * y * q;
    }

    /**
     * torchvision's sigmoid focal loss (LOSSES.md 5.1), its value or, with {@code grad}, its
     * derivative: {@code l = a_t ce (1 - p_t)^gamma}, {@code ce} the BCE with logits,
     * {@code p_t = p y + (1 - p)(1 - y)}, {@code a_t = alpha y + (1 - alpha)(1 - y)} (1 for a
     * negative alpha). Formed without cancellation: {@code 1 - p = sigmoid(-x)}, so
     * {@code 1 - p_t = (1 - p) y + p (1 - y)} and {@code p - y = p (1 - y) - (1 - p) y} keep
     * their small values where torchvision's {@code 1 - p} rounds to 0. The derivative is
     * {@code a_t [(p - y)(1 - p_t)^gamma - gamma (2y - 1) p (1 - p) (1 - p_t)^(gamma-1) ce]},
     * the second term taken as its limit 0 where {@code 1 - p_t = 0}, so that gamma in (0, 1)
     * and saturated logits give finite values, never NaN from {@code 0^gamma} or {@code 0 log 0}.
     * At an infinite logit with gamma above 0 the derivative is NaN, as torchvision's autograd gives.
     */
    static double sigmoidFocal(double x, double y, double alpha, double gamma, boolean grad) {
        double e = ScalarMath.exp(-Math.abs(x));
        double p = x >= 0 ? 1 / (1 + e) : e / (1 + e);          // sigmoid(x)
        double q = x >= 0 ? e / (1 + e) : 1 / (1 + e);          // 1 - sigmoid(x) = sigmoid(-x)
        double oneMinusPt = q * y + p * (1 - y);
        double mod = gamma == 0 ? 1 : Math.pow(oneMinusPt, gamma);
        double at = alpha >= 0 ? alpha * y + (1 - alpha) * (1 - y) : 1;
        double ce = binaryCrossEntropyWithLogits(x, y, 1);
        if (!grad) {
            return at * ce * mod;
        }
        if (Double.isInfinite(x) && gamma != 0) {
            return Double.NaN; // as torchvision's autograd at an infinite logit: 0 * inf in (1 - p_t)^gamma's backward
        }
        double pMinusY = p * (1 - y) - q * y;
        double second = gamma == 0 || oneMinusPt == 0 ? 0
                : gamma * (2 * y - 1) * p * q * (mod / oneMinusPt) * ce;
        return at * (pMinusY * mod - second);
    }

    /** Keras's hinge, {@code max(0, margin - y x)}, or its derivative {@code -y} where {@code margin - y x > 0}, else 0. */
    static double hinge(double x, double y, double margin, boolean grad) {
        double z = margin - y * x;
        if (grad) {
            return z > 0 ? -y : 0;
        }
        return Math.max(z, 0);
    }

    /** Keras's squared hinge, {@code max(0, margin - y x)^2}, or its derivative {@code -2 y max(0, margin - y x)}. */
    static double squaredHinge(double x, double y, double margin, boolean grad) {
        double z = margin - y * x;
        if (grad) {
            return z > 0 ? -2 * y * z : 0;
        }
        double h = Math.max(z, 0);
        return h * h;
    }

    /**
     * kl_div (LOSSES.md 7) on a log-probability {@code q}, or its derivative: with a probability
     * target {@code t}, {@code xlogy(t, t) - t q} ({@code xlogy} is 0 where {@code t = 0}, so
     * such a term is {@code -0 q}: 0, or NaN for an infinite q; a negative t gives NaN), derivative
     * {@code -t}; with a log-probability target, {@code exp(t) (t - q)}, derivative {@code -exp(t)}.
     */
    static double klDiv(double q, double t, boolean logTarget, boolean grad) {
        if (logTarget) {
            double et = ScalarMath.exp(t);
            return grad ? -et : et * (t - q);
        }
        if (grad) {
            return -t;
        }
        double xlogy = t == 0 ? 0 : t * Math.log(t);
        return xlogy - t * q;
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
        return gap < 700 ? Math.log1p(rest * ScalarMath.exp(gap)) : Math.log(rest + ey) + gap;
    }

    /** Cross-entropy with class-probability targets at one position (LOSSES.md 1.2); writes its gradient. */
    private static double crossEntropyProb(RowProblem p, long base) {
        final long c = p.c(), s = p.s();
        final MemorySegment x = p.input();
        final MemorySegment t = p.probTarget();
        final boolean f64 = p.f64();
        final double eps = p.eps();
        double m = Double.NEGATIVE_INFINITY;
        long top = 0;
        boolean nan = false;
        for (long k = 0; k < c; k++) {
            double xk = Mem.get(x, f64, base + k * s);
            if (xk > m) {
                m = xk;
                top = k;
            }
            nan |= xk != xk;
        }
        if (nan || Double.isInfinite(m)) {
            m = Double.NaN; // the row's softmax is NaN (x - max is inf - inf or NaN), as in PyTorch
        }
        // S = 1 + rest, rest = sum over k != top of exp(x_k - m): log S = log1p(rest) keeps a
        // confident row's tiny loss, where log(S) of S = 1 + 1e-13 keeps three digits
        double rest = 0, wq = 0, wqd = 0, wqOther = 0;
        for (long k = 0; k < c; k++) {
            double xk = Mem.get(x, f64, base + k * s);
            double q = smoothed(Mem.get(t, f64, base + k * s), eps, c);
            double w = weight(p, k) * q;
            if (k != top) {
                rest += ScalarMath.exp(xk - m);
                wqOther += w;
            }
            wq += w;
            wqd += w * (m - xk);
        }
        // -sum_c w_c q_c (x_c - lse) = sum w q ((m - x) + log S): no term cancels another
        double logS = Math.log1p(rest);
        double loss = logS * wq + wqd;
        if (p.grad() != null) {
            double sigma = p.gradScale();
            double sum = 1 + rest;
            for (long k = 0; k < c; k++) {
                double q = smoothed(Mem.get(t, f64, base + k * s), eps, c);
                double g;
                if (k == top) { // p_top wq - w q_top = sum_{k != top} w_k q_k - wq rest / S
                    g = wqOther - wq * rest / sum;
                } else {
                    g = ScalarMath.exp(Mem.get(x, f64, base + k * s) - m) / sum * wq - weight(p, k) * q;
                }
                Mem.set(p.grad(), p.gradF64(), base + k * s, sigma * g);
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
     * The softmax focal loss at one position (LOSSES.md 5.3): {@code l = alpha_y (1 - p_y)^gamma
     * nll} with {@code nll = -log p_y} as cross-entropy computes it and {@code 1 - p_y = S'/S}
     * (the other classes' share, which does not cancel for a confident row); the gradient
     * {@code alpha_y G (p_k - [k = y])}, {@code G = (1 - p_y)^gamma + gamma p_y (1 - p_y)^(gamma-1)
     * nll}, its second term taken as its limit 0 where {@code 1 - p_y = 0}. The weight is alpha.
     */
    private static double softmaxFocal(RowProblem p, long pos, long base) {
        final long c = p.c(), s = p.s();
        final MemorySegment x = p.input();
        final boolean f64 = p.f64();
        long y = Mem.getIndex(p.target(), p.targetKind(), pos);
        if (y == p.ignoreIndex()) {
            ignored(p, base, true); // NaN where the row's softmax is NaN, as cross-entropy (log_softmax's backward)
            return 0;
        }
        double m = ScalarMath.rowMax(x, f64, base, c, s);
        double xy = Mem.get(x, f64, base + y * s);
        // S' = sum over k != y of exp(x_k - m), in class order
        double rest = ScalarMath.expSum(x, f64, base, y + 1, c, s, m, ScalarMath.expSum(x, f64, base, 0, y, s, m, 0));
        double ey = ScalarMath.exp(xy - m);
        double sum = rest + ey;
        double nll = nll(xy, m, rest, ey);
        double gamma = p.gamma();
        double q = rest / sum; // 1 - p_y
        double mod = focalModulator(q, gamma);
        double alpha = weight(p, y);
        if (p.grad() != null) {
            double a = p.gradScale() * alpha * focalSlope(q, ey / sum, mod, nll, gamma);
            for (long k = 0; k < c; k++) {
                double d = k == y ? -q : ScalarMath.exp(Mem.get(x, f64, base + k * s) - m) / sum;
                Mem.set(p.grad(), p.gradF64(), base + k * s, a * d);
            }
        }
        return alpha * mod * nll;
    }

    /** The focal factor {@code (1 - p_y)^gamma} from {@code q = 1 - p_y}: 1 for gamma 0 (also at q = 0). */
    public static double focalModulator(double q, double gamma) {
        return gamma == 0 ? 1 : Math.pow(q, gamma);
    }

    /**
     * The softmax focal loss's {@code G}, which multiplies {@code p_k - [k = y]} in its gradient:
     * {@code (1 - p_y)^gamma + gamma p_y (1 - p_y)^(gamma-1) nll}, the second term taken as its
     * limit 0 where {@code p_y} is 0 (nll infinite) or 1 ({@code q = 1 - p_y = 0}).
     */
    public static double focalSlope(double q, double py, double mod, double nll, double gamma) {
        double second = gamma == 0 || q == 0 || py == 0 ? 0 : gamma * py * (mod / q) * nll;
        return mod + second;
    }

    /**
     * multi_margin_loss at one sample (LOSSES.md 6.2): {@code (1/C) sum_{i != y} w_y max(0, z_i)^p},
     * {@code z_i = margin - x_y + x_i}, a term active only where {@code z_i > 0} (a NaN term
     * fails the test and adds nothing, as in PyTorch).
     */
    private static double multiMargin(RowProblem p, long pos, long base) {
        final long c = p.c(), s = p.s();
        final MemorySegment x = p.input();
        final boolean f64 = p.f64();
        final long y = Mem.getIndex(p.target(), p.targetKind(), pos);
        final double xy = Mem.get(x, f64, base + y * s);
        final double wy = weight(p, y);
        final boolean square = p.power() == 2;
        double total = 0;
        double gy = 0;
        final double g = p.gradScale() * wy / c;
        for (long k = 0; k < c; k++) {
            if (k == y) {
                continue;
            }
            double z = p.margin() - xy + Mem.get(x, f64, base + k * s);
            double gk = 0;
            if (z > 0) {
                total += square ? z * z : z;
                gk = g * (square ? 2 * z : 1);
                gy -= gk;
            }
            if (p.grad() != null) {
                Mem.set(p.grad(), p.gradF64(), base + k * s, gk);
            }
        }
        if (p.grad() != null) {
            Mem.set(p.grad(), p.gradF64(), base + y * s, gy);
        }
        return wy * total / c;
    }

    /**
     * Keras's categorical hinge at one position (LOSSES.md 6.3): {@code pos = sum_c y_c f_c},
     * {@code neg = max_c (1 - y_c) f_c}, {@code l = max(0, neg - pos + margin)} (Keras: margin 1); where it is active
     * ({@code > 0}, strictly) the gradient is {@code -y_c}, plus {@code 1 - y_j} at the first
     * class {@code j} that attains {@code neg}.
     */
    private static double categoricalHinge(RowProblem p, long base) {
        final long c = p.c(), s = p.s();
        final MemorySegment x = p.input(), t = p.probTarget();
        final boolean f64 = p.f64();
        double pos = 0;
        double neg = Double.NEGATIVE_INFINITY;
        long argNeg = -1;
        for (long k = 0; k < c; k++) {
            double f = Mem.get(x, f64, base + k * s);
            double yk = Mem.get(t, f64, base + k * s);
            pos += yk * f;
            double v = (1 - yk) * f;
            if (v > neg || Double.isNaN(v) && !Double.isNaN(neg)) {
                neg = v;
                argNeg = k;
            }
        }
        double z = neg - pos + p.margin();
        double loss = Math.max(z, 0);
        if (p.grad() != null) {
            boolean active = z > 0;
            for (long k = 0; k < c; k++) {
                double g = 0;
                if (active) {
                    double yk = Mem.get(t, f64, base + k * s);
                    g = -yk + (k == argNeg ? 1 - yk : 0);
                }
                Mem.set(p.grad(), p.gradF64(), base + k * s, p.gradScale() * g);
            }
        }
        return loss;
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
                double m = ScalarMath.rowMax(p.input(), p.f64(), base, p.c(), p.s());
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

    /** The per-class-sum family: {@link ScalarClassSums}. */
    @Override
    public void classSums(ClassSumOp op, ClassSumProblem p, long from, long to, ExactSum[] out) {
        ScalarClassSums.sums(op, p, from, to, out);
    }

    @Override
    public double classSumsGrad(ClassSumOp op, ClassSumProblem p, long from, long to) {
        return ScalarClassSums.grad(op, p, from, to);
    }

    /** The counting family's reference: {@link ScalarCounts#counts}. */
    @Override
    public void counts(CountProblem p, long from, long to, long[] out, int off) {
        ScalarCounts.counts(p, from, to, out, off);
    }
}
