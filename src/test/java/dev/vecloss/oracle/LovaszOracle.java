package dev.vecloss.oracle;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.commons.math3.dfp.Dfp;
import org.apache.commons.math3.dfp.DfpMath;

/**
 * The truth for smp's {@code LovaszLoss} (LOSSES.md 8.3): the formulas written out directly in
 * 40-digit {@link Dfp} arithmetic, with a plain stable sort ({@link List#sort}, a merge sort) of
 * the errors in decreasing order and the Jaccard gradient from its definition, not by the
 * library's prefix counts. The gradient is the analytic one (LOSSES.md 8.3: {@code -+Delta_k}
 * per sorted element, scaled by the means, then the softmax's chain rule).
 *
 * <p>Inputs are {@code (N, C, S)} in C order; labels are {@code (N, S)} class indices (softmax)
 * or {@code (N, C, S)} 0/1 values (hinge), -1 marking an ignored one. Every sort's permutation
 * is returned too, so that a finite-difference test can tell whether a perturbation reordered
 * the errors.
 */
public final class LovaszOracle {
    private LovaszOracle() {}

    private static final Dfp ZERO = DfpOracle.FIELD.getZero();
    private static final Dfp ONE = DfpOracle.FIELD.getOne();

    /** The loss, its gradient, and the permutation of every sort in order. */
    public record Result(double loss, double[] grad, List<int[]> orders) {}

    /** Lovász-softmax ({@code classes='present'}) of the softmax of {@code x}. */
    public static Result softmax(double[] x, int n, int c, int s, int[] labels, boolean perImage) {
        Dfp[] p = new Dfp[x.length];
        for (int img = 0; img < n; img++) {
            for (int sp = 0; sp < s; sp++) {
                Dfp m = null;
                for (int k = 0; k < c; k++) {
                    Dfp v = DfpOracle.dfp(x[(img * c + k) * s + sp]);
                    m = m == null || v.greaterThan(m) ? v : m;
                }
                Dfp sum = ZERO;
                Dfp[] e = new Dfp[c];
                for (int k = 0; k < c; k++) {
                    e[k] = DfpMath.exp(DfpOracle.dfp(x[(img * c + k) * s + sp]).subtract(m));
                    sum = sum.add(e[k]);
                }
                for (int k = 0; k < c; k++) {
                    p[(img * c + k) * s + sp] = e[k].divide(sum);
                }
            }
        }
        Dfp[] dp = new Dfp[x.length];
        Arrays.fill(dp, ZERO);
        List<int[]> orders = new ArrayList<>();
        int groups = perImage ? n : 1;
        Dfp total = ZERO;
        for (int g = 0; g < groups; g++) {
            List<Integer> positions = new ArrayList<>(); // flat positions img*S + sp, not ignored
            for (int pos = perImage ? g * s : 0; pos < (perImage ? (g + 1) * s : n * s); pos++) {
                if (labels[pos] >= 0) {
                    positions.add(pos);
                }
            }
            int present = 0;
            for (int k = 0; k < c; k++) {
                final int cls = k;
                if (positions.stream().anyMatch(pos -> labels[pos] == cls)) {
                    present++;
                }
            }
            Dfp groupLoss = ZERO;
            for (int k = 0; k < c; k++) {
                final int cls = k;
                int[] elems = positions.stream().mapToInt(pos -> ((pos / s) * c + cls) * s + pos % s).toArray();
                boolean[] fg = new boolean[elems.length];
                Dfp[] err = new Dfp[elems.length];
                boolean any = false;
                for (int i = 0; i < elems.length; i++) {
                    fg[i] = labels[positions.get(i)] == cls;
                    any |= fg[i];
                    err[i] = (fg[i] ? ONE : ZERO).subtract(p[elems[i]]).abs();
                }
                if (!any) {
                    continue;
                }
                Dfp scale = ONE.divide(groups).divide(present);
                groupLoss = groupLoss.add(lovasz(err, fg, elems, dp, scale, false, orders));
            }
            total = total.add(present == 0 ? ZERO : groupLoss.divide(present));
        }
        double[] grad = new double[x.length];
        for (int img = 0; img < n; img++) {
            for (int sp = 0; sp < s; sp++) {
                Dfp dot = ZERO;
                for (int k = 0; k < c; k++) {
                    int at = (img * c + k) * s + sp;
                    dot = dot.add(p[at].multiply(dp[at]));
                }
                for (int k = 0; k < c; k++) {
                    int at = (img * c + k) * s + sp;
                    grad[at] = DfpOracle.toDouble(p[at].multiply(dp[at].subtract(dot)));
                }
            }
        }
        return new Result(DfpOracle.toDouble(groups == 0 ? ZERO : total.divide(groups)), grad, orders);
    }

    /** The Lovász hinge of logits {@code x} with 0/1 labels per element, all channels of a group together. */
    public static Result hinge(double[] x, int n, int c, int s, int[] labels, boolean perImage) {
        Dfp[] dx = new Dfp[x.length];
        Arrays.fill(dx, ZERO);
        List<int[]> orders = new ArrayList<>();
        int groups = perImage ? n : 1;
        int size = perImage ? c * s : n * c * s;
        Dfp total = ZERO;
        for (int g = 0; g < groups; g++) {
            List<Integer> kept = new ArrayList<>();
            for (int i = g * size; i < (g + 1) * size; i++) {
                if (labels[i] >= 0) {
                    kept.add(i);
                }
            }
            int[] elems = kept.stream().mapToInt(Integer::intValue).toArray();
            boolean[] fg = new boolean[elems.length];
            Dfp[] err = new Dfp[elems.length];
            for (int i = 0; i < elems.length; i++) {
                fg[i] = labels[elems[i]] == 1;
                err[i] = ONE.subtract(DfpOracle.dfp(x[elems[i]]).multiply(fg[i] ? 1 : -1));
            }
            total = total.add(lovasz(err, fg, elems, dx, ONE.divide(groups), true, orders));
        }
        double[] grad = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            grad[i] = DfpOracle.toDouble(dx[i]);
        }
        return new Result(DfpOracle.toDouble(groups == 0 ? ZERO : total.divide(groups)), grad, orders);
    }

    /**
     * {@code sum_k f(e_k) Delta_k} over the errors sorted in decreasing order (stably), with
     * {@code f} relu for the hinge and the identity for the softmax; adds
     * {@code scale * d/de_k * de_k/dinput} to {@code d} at {@code elems}: {@code -+Delta_k} for a
     * foreground / background element (the sign of the error's derivative), 0 where the hinge's
     * error is at most 0 or the softmax's is 0.
     */
    private static Dfp lovasz(Dfp[] err, boolean[] fg, int[] elems, Dfp[] d, Dfp scale, boolean hinge,
            List<int[]> orders) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < err.length; i++) {
            order.add(i);
        }
        order.sort((a, b) -> err[a].greaterThan(err[b]) ? -1 : err[a].lessThan(err[b]) ? 1 : 0);
        orders.add(order.stream().mapToInt(Integer::intValue).toArray());
        int total = 0;
        for (boolean f : fg) {
            total += f ? 1 : 0;
        }
        Dfp loss = ZERO;
        Dfp prevJ = ZERO;
        int seenFg = 0;
        for (int k = 0; k < order.size(); k++) {
            int i = order.get(k);
            seenFg += fg[i] ? 1 : 0;
            int seenBg = k + 1 - seenFg;
            Dfp inter = DfpOracle.FIELD.newDfp(total - seenFg);
            Dfp union = DfpOracle.FIELD.newDfp(total + seenBg);
            Dfp jac = ONE.subtract(inter.divide(union));
            Dfp delta = jac.subtract(prevJ);
            prevJ = jac;
            Dfp e = err[i];
            boolean active = hinge ? e.greaterThan(ZERO) : !e.isZero();
            if (active) {
                loss = loss.add(e.multiply(delta));
                Dfp g = delta.multiply(scale);
                d[elems[i]] = d[elems[i]].add(fg[i] ? g.negate() : g);
            }
        }
        return loss;
    }
}
