package dev.vecloss.oracle;

import static dev.vecloss.oracle.DfpOracle.FIELD;
import static dev.vecloss.oracle.DfpOracle.dfp;
import static dev.vecloss.oracle.DfpOracle.toDouble;

import java.math.BigDecimal;
import java.math.MathContext;
import org.apache.commons.math3.dfp.Dfp;

/**
 * The truth for the row losses beyond cross-entropy: the softmax focal loss (LOSSES.md 5.3) in
 * 40-digit {@link Dfp} arithmetic, {@code multi_margin_loss} (6.2) and Keras's
 * {@code categorical_hinge} (6.3) in exact {@link BigDecimal} arithmetic. Inputs are {@code double[]} of shape {@code (N, C, S)} in C order, the
 * class axis strided by {@code S}, as {@link DfpOracle}'s.
 */
public final class RowOracle {
    private static final Dfp ZERO = FIELD.getZero();
    private static final Dfp ONE = FIELD.getOne();

    private RowOracle() {}

    /** A sum of finite {@code Dfp} terms and IEEE special terms. */
    private static final class Acc {
        Dfp fin = ZERO;
        double special = 0;

        void add(Dfp d) {
            fin = fin.add(d);
        }

        double value() {
            return special != 0 ? special : toDouble(fin); // special != 0 holds for NaN too
        }
    }

    /**
     * The result from per-position losses and the gradient of the sum ({@code grad[i]} null: the
     * double {@code special[i]}), with mean over {@code denominator}.
     */
    private static DfpOracle.Result finish(double[] losses, Acc total, Dfp[] grad, double[] special, long denominator) {
        return finish(losses, total, grad, special, denominator, null);
    }

    /** As above; {@code ignored[i]}: a gradient that stays 0 whatever the denominator (an ignored position's). */
    private static DfpOracle.Result finish(double[] losses, Acc total, Dfp[] grad, double[] special, long denominator,
            boolean[] ignored) {
        double sum = total.value();
        Dfp inv = denominator == 0 ? null : ONE.divide(dfp(denominator));
        double mean = inv == null || total.special != 0 ? sum / denominator : toDouble(total.fin.multiply(inv));
        double[] gs = new double[grad.length], gm = new double[grad.length];
        for (int i = 0; i < gs.length; i++) {
            if (grad[i] == null) {
                gs[i] = special[i];
                gm[i] = special[i] / denominator;
            } else {
                gs[i] = toDouble(grad[i]);
                gm[i] = ignored != null && ignored[i] ? 0 : inv == null ? gs[i] / denominator : toDouble(grad[i].multiply(inv));
            }
        }
        return new DfpOracle.Result(losses, sum, mean, denominator, gs, gm);
    }

    // ------------------------------------------------------------------ softmax focal (LOSSES.md 5.3)

    /**
     * The softmax focal loss: per active position {@code l = alpha_y (1 - p_y)^gamma (-log p_y)},
     * gradient {@code alpha_y G (p_k - [k = y])}, {@code G = (1 - p_y)^gamma - gamma p_y
     * (1 - p_y)^(gamma - 1) log p_y}; {@code 1 - p_y} as the sum of the other probabilities (no
     * cancellation), so {@code 1 - p_y > 0} and no limit is needed unless every other logit is
     * -inf ({@code 1 - p_y = 0}: loss 0 and {@code G = 0}, the limit). Ignored positions: loss
     * and gradient 0, but a NaN gradient where the row's softmax is NaN (autograd through
     * {@code log_softmax} gives {@code 0 - NaN * 0}, as for cross-entropy). A row whose softmax is NaN
     * (a NaN or +inf logit, or all -inf): NaN loss and gradient. A target logit of -inf
     * ({@code p_y = 0}): loss {@code alpha_y * inf}; the gradient is its limit,
     * {@code alpha_y (p_k - [k = y])} ({@code G -> 1}). Mean over the active positions.
     *
     * @param alpha C class weights, or {@code null}
     */
    public static DfpOracle.Result softmaxFocal(DfpOracle.LogSoftmax ls, long[] target, double[] alpha, long ignoreIndex,
            double gamma) {
        int c = ls.c, m = ls.n * ls.s;
        double[] losses = new double[m];
        Dfp[] grad = new Dfp[ls.lp.length];
        double[] special = new double[grad.length];
        Acc total = new Acc();
        long active = 0;
        boolean[] ignored = new boolean[grad.length];
        Dfp dg = dfp(gamma);
        for (int pos = 0; pos < m; pos++) {
            long yl = target[pos];
            if (yl == ignoreIndex) {
                for (int k = 0; k < c; k++) {
                    // 0, or 0 - NaN * 0 = NaN through log_softmax's backward where the softmax is NaN
                    grad[ls.at(pos, k)] = ls.nanRow[pos] ? null : ZERO;
                    special[ls.at(pos, k)] = ls.nanRow[pos] ? Double.NaN : 0;
                    ignored[ls.at(pos, k)] = true;
                }
                continue;
            }
            if (yl < 0 || yl >= c) {
                throw new IllegalArgumentException("oracle: label " + yl + " out of range at " + pos);
            }
            int y = (int) yl;
            active++;
            if (ls.nanRow[pos]) {
                losses[pos] = Double.NaN;
                total.special += Double.NaN;
                for (int k = 0; k < c; k++) {
                    special[ls.at(pos, k)] = Double.NaN;
                }
                continue;
            }
            Dfp a = alpha == null ? ONE : dfp(alpha[y]);
            Dfp omp = ls.oneMinus(pos, y);
            Dfp lpY = ls.lp[ls.at(pos, y)];
            Dfp g;
            if (lpY == null) { // p_y = 0
                losses[pos] = toDouble(a) * Double.POSITIVE_INFINITY;
                total.special += losses[pos];
                g = a;
            } else {
                Dfp mod = ElementwiseOracle.pow(omp, gamma);
                Dfp loss = a.multiply(mod).multiply(lpY.negate());
                losses[pos] = toDouble(loss);
                total.add(loss);
                Dfp big = mod;
                if (gamma != 0 && !omp.isZero()) {
                    big = big.subtract(dg.multiply(ls.p[ls.at(pos, y)]).multiply(mod.divide(omp)).multiply(lpY));
                } else if (gamma != 0) {
                    big = ZERO;
                }
                g = a.multiply(big);
            }
            for (int k = 0; k < c; k++) {
                grad[ls.at(pos, k)] = g.multiply(k == y ? omp.negate() : ls.p[ls.at(pos, k)]);
            }
        }
        return finish(losses, total, grad, special, active, ignored);
    }

    // ------------------------------------------------------------------ exact arithmetic

    /**
     * The margin losses need only additions, subtractions and products of the inputs (and one
     * division by C): in {@link BigDecimal} they are exact, which is both truer and about a
     * hundred times faster than 40-digit {@code Dfp}. The division and the final rounding to
     * double are the only roundings.
     */
    private static final MathContext DIV = new MathContext(60);

    static BigDecimal big(double v) {
        return new BigDecimal(v);
    }

    /** A result from exact losses (null: {@code lossSpecial}) and gradients of the sum (null: {@code gradSpecial}). */
    static DfpOracle.Result exact(BigDecimal[] loss, double[] lossSpecial, BigDecimal[] grad, double[] gradSpecial,
            long denominator) {
        double[] losses = new double[loss.length];
        BigDecimal fin = BigDecimal.ZERO;
        double special = 0;
        for (int i = 0; i < loss.length; i++) {
            if (loss[i] == null) {
                losses[i] = lossSpecial[i];
                special += lossSpecial[i];
            } else {
                losses[i] = loss[i].doubleValue();
                fin = fin.add(loss[i]);
            }
        }
        double sum = special != 0 || Double.isNaN(special) ? special : fin.doubleValue();
        double mean = denominator == 0 || special != 0 || Double.isNaN(special) ? sum / denominator
                : fin.divide(BigDecimal.valueOf(denominator), DIV).doubleValue();
        double[] gs = new double[grad.length], gm = new double[grad.length];
        for (int i = 0; i < gs.length; i++) {
            if (grad[i] == null) {
                gs[i] = gradSpecial[i];
                gm[i] = gradSpecial[i] / denominator;
            } else {
                gs[i] = grad[i].doubleValue();
                gm[i] = denominator == 0 ? gs[i] / denominator : grad[i].divide(BigDecimal.valueOf(denominator), DIV).doubleValue();
            }
        }
        return new DfpOracle.Result(losses, sum, mean, denominator, gs, gm);
    }

    // ------------------------------------------------------------------ multi_margin_loss (LOSSES.md 6.2)

    /**
     * {@code multi_margin_loss} on {@code x (N, C)}: per sample
     * {@code l = (1/C) sum_{i != y} w_y max(0, z_i)^p}, {@code z_i = margin - x_y + x_i}, a term
     * counting only where {@code z_i > 0} strictly (so a NaN z adds nothing: a NaN score at a
     * wrong class is skipped, a NaN target score makes the sample 0, as PyTorch); gradient
     * {@code w_y h_i / C} at an active {@code i} ({@code h = 1}, or {@code 2 z_i} for p = 2), 0 at
     * an inactive one, and minus their sum at the target. Infinite z in IEEE arithmetic. Mean
     * over N. Exact arithmetic (see above).
     *
     * @param weight C class weights (only the target's is used), or {@code null}
     */
    public static DfpOracle.Result multiMargin(double[] x, int n, int c, long[] target, double[] weight, int p,
            double margin) {
        BigDecimal[] loss = new BigDecimal[n], grad = new BigDecimal[x.length];
        double[] lossSpecial = new double[n], gradSpecial = new double[x.length];
        BigDecimal dm = big(margin), bc = BigDecimal.valueOf(c), two = BigDecimal.valueOf(2);
        for (int s = 0; s < n; s++) {
            long yl = target[s];
            if (yl < 0 || yl >= c) {
                throw new IllegalArgumentException("oracle: label " + yl + " out of range at " + s);
            }
            int y = (int) yl, base = s * c;
            double wy = weight == null ? 1 : weight[y];
            BigDecimal scale = big(wy).divide(bc, DIV);
            BigDecimal total = BigDecimal.ZERO, gy = BigDecimal.ZERO;
            double totalSpecial = 0, gySpecial = 0;
            for (int k = 0; k < c; k++) {
                if (k == y) {
                    continue;
                }
                double xy = x[base + y], xk = x[base + k];
                grad[base + k] = BigDecimal.ZERO;
                if (Double.isFinite(xy) && Double.isFinite(xk)) {
                    BigDecimal z = dm.subtract(big(xy)).add(big(xk));
                    if (z.signum() > 0) {
                        total = total.add(p == 1 ? z : z.multiply(z));
                        BigDecimal gk = scale.multiply(p == 1 ? BigDecimal.ONE : z.multiply(two));
                        grad[base + k] = gk;
                        gy = gy.subtract(gk);
                    }
                } else {
                    double z = margin - xy + xk;
                    if (z > 0) {
                        totalSpecial += p == 1 ? z : z * z;
                        double gk = wy / c * (p == 1 ? 1 : 2 * z);
                        if (Double.isFinite(gk)) {
                            grad[base + k] = big(gk);
                            gy = gy.subtract(big(gk));
                        } else {
                            grad[base + k] = null;
                            gradSpecial[base + k] = gk;
                            gySpecial -= gk;
                        }
                    }
                }
            }
            if (gySpecial != 0) {
                gradSpecial[base + y] = gySpecial;
            } else {
                grad[base + y] = gy;
            }
            if (totalSpecial != 0) {
                lossSpecial[s] = totalSpecial * wy / c;
            } else {
                loss[s] = total.multiply(scale);
            }
        }
        return exact(loss, lossSpecial, grad, gradSpecial, n);
    }

    // ------------------------------------------------------------------ categorical hinge (LOSSES.md 6.3)

    /**
     * Keras's {@code categorical_hinge} per position of {@code x (N, C, S)} with targets
     * {@code y} of its shape: {@code pos = sum_c y_c f_c}, {@code neg = max_c (1 - y_c) f_c},
     * {@code l = max(0, neg - pos + margin)}; where {@code l > 0} strictly the gradient is
     * {@code -y_c}, plus {@code 1 - y_j} at the first class j attaining the maximum, else 0. A
     * row with a non-finite score or target is evaluated in IEEE double as the formula reads (a
     * 0 target times an infinite score is NaN, a NaN in the maximum stays NaN: loss NaN, gradient
     * 0 since NaN > 0 fails). An empty class axis: {@code neg = -inf}, loss 0 (TensorFlow's
     * maximum over nothing). Mean over the N S positions. Exact arithmetic (see above).
     */
    public static DfpOracle.Result categoricalHinge(double[] x, double[] y, int n, int c, int s, double margin) {
        int m = n * s;
        BigDecimal[] loss = new BigDecimal[m], grad = new BigDecimal[x.length];
        double[] lossSpecial = new double[m];
        BigDecimal dm = big(margin);
        for (int pos = 0; pos < m; pos++) {
            int base = (pos / s) * c * s + pos % s;
            boolean finite = true;
            for (int k = 0; k < c; k++) {
                finite &= Double.isFinite(x[base + k * s]) && Double.isFinite(y[base + k * s]);
            }
            if (!finite) {
                double pv = 0, neg = Double.NEGATIVE_INFINITY;
                int arg = -1;
                for (int k = 0; k < c; k++) {
                    double f = x[base + k * s], t = y[base + k * s];
                    pv += t * f;
                    double v = (1 - t) * f;
                    if (v > neg || Double.isNaN(v) && !Double.isNaN(neg)) {
                        neg = v;
                        arg = k;
                    }
                }
                double z = neg - pv + margin;
                double l = Double.isNaN(z) ? Double.NaN : Math.max(z, 0);
                if (Double.isFinite(l)) {
                    loss[pos] = big(l);
                } else {
                    lossSpecial[pos] = l;
                }
                for (int k = 0; k < c; k++) {
                    grad[base + k * s] = big(z > 0 ? -y[base + k * s] + (k == arg ? 1 - y[base + k * s] : 0) : 0);
                }
                continue;
            }
            BigDecimal pv = BigDecimal.ZERO, neg = null;
            int arg = -1;
            for (int k = 0; k < c; k++) {
                BigDecimal f = big(x[base + k * s]), t = big(y[base + k * s]);
                pv = pv.add(t.multiply(f));
                BigDecimal v = BigDecimal.ONE.subtract(t).multiply(f);
                if (neg == null || v.compareTo(neg) > 0) {
                    neg = v;
                    arg = k;
                }
            }
            BigDecimal z = neg == null ? null : neg.subtract(pv).add(dm);
            boolean active = z != null && z.signum() > 0;
            loss[pos] = active ? z : BigDecimal.ZERO;
            for (int k = 0; k < c; k++) {
                BigDecimal t = big(y[base + k * s]);
                grad[base + k * s] = !active ? BigDecimal.ZERO : k == arg ? BigDecimal.ONE.subtract(t).subtract(t) : t.negate();
            }
        }
        return exact(loss, lossSpecial, grad, new double[x.length], m);
    }
}
