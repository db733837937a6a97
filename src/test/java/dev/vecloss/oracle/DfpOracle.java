package dev.vecloss.oracle;

import org.apache.commons.math3.dfp.Dfp;
import org.apache.commons.math3.dfp.DfpField;
import org.apache.commons.math3.dfp.DfpMath;

/**
 * The truth for the cross-entropy family: LOSSES.md sections 1.1, 1.2 and 2 evaluated in
 * 40-digit decimal arithmetic (commons-math3 {@link Dfp}), so that the only rounding left in a
 * comparison is the library's. Inputs are {@code double[]} (float32 values widened exactly),
 * shape {@code (N, C, S)} in C order with the class axis strided by {@code S}.
 *
 * <p>Special values follow IEEE and PyTorch: a position whose C logits hold a NaN or a
 * {@code +inf}, or are all {@code -inf}, has a NaN loss and a NaN gradient; a {@code -inf}
 * logit among finite ones has probability exactly 0 and log-probability {@code -inf}, and a
 * term {@code w * lp} with {@code lp = -inf} is {@code +-inf} or, for {@code w = 0}, NaN.
 * Ignored positions are never read (loss 0, gradient 0). A mean over a zero denominator is
 * {@code sum / 0.0} in IEEE double (so 0/0 = NaN for all-ignored or empty inputs).
 *
 * <p>Exponentials in {@code Dfp} cost about 20 microseconds; {@link #logSoftmax} is the
 * expensive part, so it is computed once per data set and shared by every option set.
 */
public final class DfpOracle {
    /** At least 40 significant decimal digits. */
    public static final DfpField FIELD = new DfpField(40);
    private static final Dfp ZERO = FIELD.getZero();
    private static final Dfp ONE = FIELD.getOne();

    private DfpOracle() {}

    /**
     * {@code v} in {@code Dfp}: its 53-bit integer mantissa times a power of two (cached), which
     * is as exact as {@code FIELD.newDfp(v)} (to 40 digits) and several times faster (that
     * constructor divides and raises 2 to the exponent on every call).
     */
    public static Dfp dfp(double v) {
        if (v == 0 || !Double.isFinite(v)) {
            return FIELD.newDfp(v);
        }
        int e = Math.getExponent(v);
        int shift = e < Double.MIN_EXPONENT ? -1074 : e - 52; // v = m * 2^shift, |m| < 2^53
        long m = (long) Math.scalb(v, -shift);
        return shift == 0 ? FIELD.newDfp(m) : FIELD.newDfp(m).multiply(pow2(shift));
    }

    private static final Dfp[] POW2 = new Dfp[2200];

    /** 2^k, for k in [-1100, 1100). */
    private static Dfp pow2(int k) {
        Dfp p = POW2[k + 1100];
        if (p == null) {
            p = k >= 0 ? DfpMath.pow(FIELD.getTwo(), k) : FIELD.getOne().divide(DfpMath.pow(FIELD.getTwo(), -k));
            POW2[k + 1100] = p;
        }
        return p;
    }

    /**
     * {@code v} rounded to the nearest double: through its 40-digit decimal string, which
     * {@link Double#parseDouble} rounds correctly (and 5x faster than {@link Dfp#toDouble()}).
     */
    public static double toDouble(Dfp v) {
        if (v.isNaN()) {
            return Double.NaN;
        }
        if (v.isInfinite()) {
            return v.negativeOrNull() ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
        }
        if (v.isZero()) {
            return v.negativeOrNull() ? -0.0 : 0.0;
        }
        return Double.parseDouble(v.toString());
    }

    /**
     * The reduced values and gradients of one evaluation.
     *
     * @param batch the denominator of {@link dev.vecloss.Reduction#BATCHMEAN} (kl_div: the input's
     *              first dimension), NaN for the losses that have no such reduction
     */
    public record Result(double[] losses, double sum, double mean, double denominator,
                         double[] gradSum, double[] gradMean, double batch) {
        /** A result without batchmean. */
        public Result(double[] losses, double sum, double mean, double denominator, double[] gradSum, double[] gradMean) {
            this(losses, sum, mean, denominator, gradSum, gradMean, Double.NaN);
        }

        /**
         * The value a call with {@code reduction} returns (NONE returns the sum). Batchmean is
         * the exact sum divided in double: one more rounding of 2^-53, far below float32's.
         */
        public double reduced(dev.vecloss.Reduction r) {
            return switch (r) {
                case MEAN -> mean;
                case BATCHMEAN -> sum / batch;
                default -> sum;
            };
        }

        /** The gradient of that value with respect to the input. */
        public double[] grad(dev.vecloss.Reduction r) {
            return switch (r) {
                case MEAN -> gradMean;
                case BATCHMEAN -> java.util.Arrays.stream(gradSum).map(g -> g / batch).toArray();
                default -> gradSum;
            };
        }

        /** The factor sigma of the gradient for {@code r}: 1, 1/denominator or 1/batch. */
        public double sigma(dev.vecloss.Reduction r) {
            return switch (r) {
                case MEAN -> 1 / denominator;
                case BATCHMEAN -> 1 / batch;
                default -> 1;
            };
        }
    }

    /** The log-softmax over the class axis at every position, in {@code Dfp}. */
    public static final class LogSoftmax {
        public final int n, c, s;
        /** Positions whose row has a NaN or +inf, or is all -inf. */
        final boolean[] nanRow;
        /** lp at (n, c, s); {@code null} where the logit is -inf (lp = -inf). */
        final Dfp[] lp;
        /** p = exp(lp); exactly 0 where the logit is -inf. */
        final Dfp[] p;

        LogSoftmax(int n, int c, int s) {
            this.n = n;
            this.c = c;
            this.s = s;
            nanRow = new boolean[n * s];
            lp = new Dfp[n * c * s];
            p = new Dfp[n * c * s];
        }

        int at(int pos, int k) {
            return (pos / s) * c * s + k * s + pos % s;
        }

        /** {@code 1 - p_y} as the sum of the other probabilities: no cancellation. */
        Dfp oneMinus(int pos, int y) {
            Dfp r = ZERO;
            for (int k = 0; k < c; k++) {
                if (k != y) {
                    r = r.add(p[at(pos, k)]);
                }
            }
            return r;
        }
    }

    /** {@code lp_c = x_c - m - log(sum_k exp(x_k - m))} at every position of {@code x (N, C, S)}. */
    public static LogSoftmax logSoftmax(double[] x, int n, int c, int s) {
        LogSoftmax r = new LogSoftmax(n, c, s);
        for (int pos = 0; pos < n * s; pos++) {
            double m = Double.NEGATIVE_INFINITY;
            boolean bad = false;
            for (int k = 0; k < c; k++) {
                double v = x[r.at(pos, k)];
                if (Double.isNaN(v) || v == Double.POSITIVE_INFINITY) {
                    bad = true;
                }
                m = Math.max(m, v);
            }
            if (bad || m == Double.NEGATIVE_INFINITY) {
                r.nanRow[pos] = true; // includes C == 0: no position can be read there anyway
                continue;
            }
            Dfp dm = dfp(m);
            Dfp sum = ZERO;
            Dfp[] e = new Dfp[c];
            for (int k = 0; k < c; k++) {
                double v = x[r.at(pos, k)];
                e[k] = v == Double.NEGATIVE_INFINITY ? ZERO : DfpMath.exp(dfp(v).subtract(dm));
                sum = sum.add(e[k]);
            }
            Dfp logSum = DfpMath.log(sum);
            Dfp inv = ONE.divide(sum); // one division per row: Dfp divisions are slow
            for (int k = 0; k < c; k++) {
                int i = r.at(pos, k);
                double v = x[i];
                r.p[i] = e[k].multiply(inv);
                r.lp[i] = v == Double.NEGATIVE_INFINITY ? null : dfp(v).subtract(dm).subtract(logSum);
            }
        }
        return r;
    }

    /** A sum of finite {@code Dfp} terms and IEEE special terms (+-inf, NaN). */
    private static final class Acc {
        Dfp fin = ZERO;
        double special = 0;

        /** Adds {@code coef * (-lp)}; {@code lp == null} means -inf. */
        void addNegLp(Dfp coef, Dfp lp) {
            if (lp == null) {
                special += toDouble(coef) * Double.POSITIVE_INFINITY;
            } else {
                fin = fin.subtract(coef.multiply(lp));
            }
        }

        void add(Acc o) {
            fin = fin.add(o.fin);
            special += o.special;
        }

        double value() {
            return special == 0 ? toDouble(fin) : special;
        }
    }

    private static Dfp[] weights(double[] weight, int c) {
        Dfp[] w = new Dfp[c];
        for (int k = 0; k < c; k++) {
            w[k] = weight == null ? ONE : dfp(weight[k]);
        }
        return w;
    }

    private static Result finish(Acc total, Dfp denominator, double[] losses, Dfp[] gradSum, boolean[] active) {
        double den = toDouble(denominator);
        double sum = total.value();
        double mean;
        double[] gs = new double[gradSum.length];
        double[] gm = new double[gradSum.length];
        boolean zero = denominator.isZero();
        Dfp inv = zero ? null : ONE.divide(denominator);
        if (total.special != 0 || zero) {
            mean = sum / den;
        } else {
            mean = toDouble(total.fin.multiply(inv));
        }
        for (int i = 0; i < gs.length; i++) {
            Dfp g = gradSum[i];
            if (g == null) { // NaN row
                gs[i] = Double.NaN;
                gm[i] = Double.NaN;
            } else {
                gs[i] = toDouble(g);
                gm[i] = zero ? (active[i] ? gs[i] / den : 0) : toDouble(g.multiply(inv));
            }
        }
        return new Result(losses, sum, mean, den, gs, gm);
    }

    /**
     * Cross-entropy with index targets (LOSSES.md 1.1).
     *
     * @param target  one label per position (N, S)
     * @param weight  C class weights, or {@code null}
     * @param eps     label smoothing, 0 for none
     */
    public static Result crossEntropyIndex(LogSoftmax ls, long[] target, double[] weight, long ignoreIndex, double eps) {
        int c = ls.c, m = ls.n * ls.s;
        Dfp[] w = weights(weight, c);
        Dfp sumW = ZERO;
        for (Dfp wk : w) {
            sumW = sumW.add(wk);
        }
        Dfp de = dfp(eps);
        Dfp a = ONE.subtract(de);
        Dfp b = c == 0 ? ZERO : de.divide(c);
        double[] losses = new double[m];
        Dfp[] grad = new Dfp[ls.lp.length];
        boolean[] active = new boolean[grad.length];
        Acc total = new Acc();
        Dfp den = ZERO;
        for (int pos = 0; pos < m; pos++) {
            long yl = target[pos];
            if (yl == ignoreIndex) {
                // PyTorch's log_softmax backward gives 0 - softmax * 0 here: NaN where the softmax
                // is NaN (grad left null), else 0
                if (!ls.nanRow[pos]) {
                    for (int k = 0; k < c; k++) {
                        grad[ls.at(pos, k)] = ZERO;
                    }
                }
                continue;
            }
            if (yl < 0 || yl >= c) {
                throw new IllegalArgumentException("oracle: label " + yl + " out of range at " + pos);
            }
            int y = (int) yl;
            den = den.add(w[y]);
            for (int k = 0; k < c; k++) {
                active[ls.at(pos, k)] = true;
            }
            if (ls.nanRow[pos]) {
                losses[pos] = Double.NaN;
                total.special += Double.NaN;
                continue; // grad stays null: NaN
            }
            Acc l = new Acc();
            l.addNegLp(a.multiply(w[y]), ls.lp[ls.at(pos, y)]);
            if (eps > 0) {
                for (int k = 0; k < c; k++) {
                    l.addNegLp(b.multiply(w[k]), ls.lp[ls.at(pos, k)]);
                }
            }
            losses[pos] = l.value();
            total.add(l);
            Dfp hardY = ls.oneMinus(pos, y).negate(); // p_y - 1
            for (int k = 0; k < c; k++) {
                Dfp pk = ls.p[ls.at(pos, k)];
                Dfp g = a.multiply(w[y]).multiply(k == y ? hardY : pk);
                if (eps > 0) {
                    g = g.add(b.multiply(pk.multiply(sumW).subtract(w[k])));
                }
                grad[ls.at(pos, k)] = g;
            }
        }
        return finish(total, den, losses, grad, active);
    }

    /** Cross-entropy with class-probability targets {@code y (N, C, S)} (LOSSES.md 1.2); mean divides by M. */
    public static Result crossEntropyProb(LogSoftmax ls, double[] y, double[] weight, double eps) {
        int c = ls.c, m = ls.n * ls.s;
        Dfp[] w = weights(weight, c);
        Dfp de = dfp(eps);
        Dfp a = ONE.subtract(de);
        Dfp b = c == 0 ? ZERO : de.divide(c);
        double[] losses = new double[m];
        Dfp[] grad = new Dfp[ls.lp.length];
        boolean[] active = new boolean[grad.length];
        java.util.Arrays.fill(active, true);
        Acc total = new Acc();
        for (int pos = 0; pos < m; pos++) {
            if (ls.nanRow[pos]) {
                losses[pos] = Double.NaN;
                total.special += Double.NaN;
                continue;
            }
            Dfp[] wq = new Dfp[c];
            Dfp sumWq = ZERO;
            Acc l = new Acc();
            for (int k = 0; k < c; k++) {
                Dfp q = dfp(y[ls.at(pos, k)]);
                if (eps > 0) {
                    q = a.multiply(q).add(b);
                }
                wq[k] = w[k].multiply(q);
                sumWq = sumWq.add(wq[k]);
                l.addNegLp(wq[k], ls.lp[ls.at(pos, k)]);
            }
            losses[pos] = l.value();
            total.add(l);
            for (int k = 0; k < c; k++) {
                grad[ls.at(pos, k)] = ls.p[ls.at(pos, k)].multiply(sumWq).subtract(wq[k]);
            }
        }
        return finish(total, dfp(m), losses, grad, active);
    }

    /** NLL on log-probabilities {@code x (N, C, S)} (LOSSES.md 2): no softmax, input read as given. */
    public static Result nllLoss(double[] x, int n, int c, int s, long[] target, double[] weight, long ignoreIndex) {
        int m = n * s;
        Dfp[] w = weights(weight, c);
        double[] losses = new double[m];
        Dfp[] grad = new Dfp[x.length];
        boolean[] active = new boolean[x.length];
        java.util.Arrays.fill(grad, ZERO);
        Acc total = new Acc();
        Dfp den = ZERO;
        for (int pos = 0; pos < m; pos++) {
            long yl = target[pos];
            if (yl == ignoreIndex) {
                continue;
            }
            if (yl < 0 || yl >= c) {
                throw new IllegalArgumentException("oracle: label " + yl + " out of range at " + pos);
            }
            int y = (int) yl;
            int base = (pos / s) * c * s + pos % s;
            den = den.add(w[y]);
            for (int k = 0; k < c; k++) {
                active[base + k * s] = true;
            }
            double xy = x[base + y * s];
            Acc l = new Acc();
            if (Double.isFinite(xy)) {
                l.fin = w[y].multiply(dfp(xy)).negate();
            } else {
                l.special = -toDouble(w[y]) * xy;
            }
            losses[pos] = l.value();
            total.add(l);
            grad[base + y * s] = w[y].negate();
        }
        return finish(total, den, losses, grad, active);
    }
}
