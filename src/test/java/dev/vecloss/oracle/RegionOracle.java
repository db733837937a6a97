package dev.vecloss.oracle;

import static dev.vecloss.oracle.DfpOracle.FIELD;
import static dev.vecloss.oracle.DfpOracle.dfp;

import org.apache.commons.math3.dfp.Dfp;
import org.apache.commons.math3.dfp.DfpMath;

/**
 * The truth for smp's Dice, Jaccard and Tversky losses (LOSSES.md 8.2), in 40-digit {@link Dfp}
 * arithmetic: the activation (softmax over the class axis, or the sigmoid), the ignore mask, the
 * per-class sums {@code Sp}, {@code St}, {@code D} over the batch, the per-class formula, the
 * absent-class mask, the classes subset, the (weighted) mean, Tversky's power, and the gradient
 * by the chain rule of LOSSES.md 8.2 (with the L1 form's subgradient 1/2 where {@code p == t}).
 * Inputs are finite; layout {@code (N, C, S)}, class axis strided by S.
 */
public final class RegionOracle {
    private RegionOracle() {}

    private static final Dfp ZERO = FIELD.getZero();
    private static final Dfp ONE = FIELD.getOne();
    private static final Dfp HALF = ONE.divide(2);

    /** A problem: exactly one of {@code labels} (multiclass, (N, S)) and {@code dense} ((N, C, S)) is set. */
    public record Spec(double[] x, int n, int c, int s, boolean softmax, boolean sigmoid, long[] labels, double[] dense,
            Long ignore, double smooth, double eps, boolean logLoss, int[] classes, double[] weights, double alpha,
            double beta, double gamma) {}

    /** The loss, the per-class sums {@code [Sp | St | D]} and the gradient, rounded to double. */
    public record Result(double loss, double[] sums, double[] grad) {}

    public static Result evaluate(Spec q) {
        final int n = q.n, c = q.c, s = q.s;
        final int numel = n * c * s;
        Dfp[] p = new Dfp[numel]; // the activated prediction
        Dfp[] pq = new Dfp[numel]; // sigmoid: p (1 - p), as sigmoid(x) sigmoid(-x)
        double[] m = new double[numel];
        double[] t = new double[numel];
        for (int b = 0; b < n; b++) {
            for (int j = 0; j < s; j++) {
                int base = b * c * s + j;
                if (q.softmax) {
                    Dfp max = dfp(Double.NEGATIVE_INFINITY);
                    double mx = Double.NEGATIVE_INFINITY;
                    for (int k = 0; k < c; k++) {
                        mx = Math.max(mx, q.x[base + k * s]);
                    }
                    max = dfp(mx);
                    Dfp sum = ZERO;
                    Dfp[] e = new Dfp[c];
                    for (int k = 0; k < c; k++) {
                        e[k] = DfpMath.exp(dfp(q.x[base + k * s]).subtract(max));
                        sum = sum.add(e[k]);
                    }
                    for (int k = 0; k < c; k++) {
                        p[base + k * s] = e[k].divide(sum);
                    }
                } else {
                    for (int k = 0; k < c; k++) {
                        int i = base + k * s;
                        if (q.sigmoid) {
                            Dfp z = DfpMath.exp(dfp(-q.x[i]));
                            p[i] = ONE.divide(ONE.add(z));
                            pq[i] = z.divide(ONE.add(z).multiply(ONE.add(z)));
                        } else {
                            p[i] = dfp(q.x[i]);
                        }
                    }
                }
                for (int k = 0; k < c; k++) {
                    int i = base + k * s;
                    if (q.labels != null) {
                        long y = q.labels[b * s + j];
                        boolean kept = q.ignore == null || y != q.ignore;
                        m[i] = kept ? 1 : 0;
                        t[i] = kept && y == k ? 1 : 0;
                    } else {
                        boolean kept = q.ignore == null || q.dense[i] != (double) q.ignore;
                        m[i] = kept ? 1 : 0;
                        t[i] = kept ? q.dense[i] : 0;
                    }
                }
            }
        }
        Dfp[] sp = new Dfp[c], st = new Dfp[c], d = new Dfp[c];
        for (int k = 0; k < c; k++) {
            sp[k] = st[k] = d[k] = ZERO;
        }
        for (int b = 0; b < n; b++) {
            for (int k = 0; k < c; k++) {
                for (int j = 0; j < s; j++) {
                    int i = b * c * s + k * s + j;
                    Dfp pe = p[i].multiply(m[i]);
                    Dfp te = dfp(t[i]);
                    sp[k] = sp[k].add(pe);
                    st[k] = st[k].add(te);
                    d[k] = d[k].add(pe.subtract(te).abs());
                }
            }
        }
        Dfp alpha = dfp(q.alpha), beta = dfp(q.beta), smooth = dfp(q.smooth), eps = dfp(q.eps);
        int kept = q.classes == null ? c : q.classes.length;
        Dfp total = ZERO, wsum = ZERO;
        Dfp[] score = new Dfp[c], num = new Dfp[c], den = new Dfp[c];
        for (int k = 0; k < c; k++) {
            Dfp tp = sp[k].add(st[k]).subtract(d[k]).divide(2);
            num[k] = tp.add(smooth);
            den[k] = tp.add(alpha.multiply(sp[k].subtract(tp))).add(beta.multiply(st[k].subtract(tp))).add(smooth);
            score[k] = num[k].divide(den[k].lessThan(eps) ? eps : den[k]);
        }
        for (int j = 0; j < kept; j++) {
            int k = q.classes == null ? j : q.classes[j];
            Dfp w = q.weights == null ? ONE : dfp(q.weights[k]);
            Dfp l = q.logLoss ? DfpMath.log(score[k].lessThan(eps) ? eps : score[k]).negate() : ONE.subtract(score[k]);
            if (!st[k].greaterThan(ZERO)) {
                l = ZERO;
            }
            total = total.add(l.multiply(w));
            wsum = wsum.add(w);
        }
        Dfp agg = q.weights == null ? total.divide(kept) : total.divide(wsum);
        Dfp value = q.gamma == 1 ? agg : DfpMath.pow(agg, dfp(q.gamma));
        // dL/dp = a A_k + B_k at an element of class k (times the mask)
        Dfp dAgg = q.gamma == 1 ? ONE : agg.isZero() ? ZERO : DfpMath.pow(agg, dfp(q.gamma - 1)).multiply(dfp(q.gamma));
        Dfp[] ca = new Dfp[c], cb = new Dfp[c];
        for (int k = 0; k < c; k++) {
            ca[k] = cb[k] = ZERO;
        }
        for (int j = 0; j < kept; j++) {
            int k = q.classes == null ? j : q.classes[j];
            if (!st[k].greaterThan(ZERO)) {
                continue;
            }
            Dfp up = dAgg.multiply(q.weights == null ? ONE.divide(kept) : dfp(q.weights[k]).divide(wsum));
            Dfp dl = q.logLoss ? (score[k].lessThan(eps) ? ZERO : ONE.divide(score[k]).negate()) : ONE.negate();
            Dfp g = up.multiply(dl);
            if (den[k].lessThan(eps)) {
                ca[k] = ca[k].add(g.divide(eps));
            } else {
                Dfp den2 = den[k].multiply(den[k]);
                ca[k] = ca[k].add(g.multiply(den[k].subtract(num[k].multiply(ONE.subtract(alpha).subtract(beta)))).divide(den2));
                cb[k] = cb[k].add(g.multiply(num[k].multiply(alpha).negate()).divide(den2));
            }
        }
        Dfp[] gp = new Dfp[numel];
        for (int i = 0; i < numel; i++) {
            int k = (i / s) % c;
            Dfp pe = p[i].multiply(m[i]);
            Dfp te = dfp(t[i]);
            Dfp a = pe.lessThan(te) ? ONE : pe.greaterThan(te) ? ZERO : HALF;
            gp[i] = a.multiply(ca[k]).add(cb[k]).multiply(m[i]);
        }
        double[] grad = new double[numel];
        for (int b = 0; b < n; b++) {
            for (int j = 0; j < s; j++) {
                int base = b * c * s + j;
                Dfp dot = ZERO;
                if (q.softmax) {
                    for (int k = 0; k < c; k++) {
                        dot = dot.add(p[base + k * s].multiply(gp[base + k * s]));
                    }
                }
                for (int k = 0; k < c; k++) {
                    int i = base + k * s;
                    Dfp v = q.softmax ? p[i].multiply(gp[i].subtract(dot)) : q.sigmoid ? gp[i].multiply(pq[i]) : gp[i];
                    grad[i] = DfpOracle.toDouble(v);
                }
            }
        }
        double[] sums = new double[3 * c];
        for (int k = 0; k < c; k++) {
            sums[k] = DfpOracle.toDouble(sp[k]);
            sums[c + k] = DfpOracle.toDouble(st[k]);
            sums[2 * c + k] = DfpOracle.toDouble(d[k]);
        }
        return new Result(DfpOracle.toDouble(value), sums, grad);
    }
}
