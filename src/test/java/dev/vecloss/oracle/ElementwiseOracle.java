package dev.vecloss.oracle;

import static dev.vecloss.oracle.DfpOracle.FIELD;
import static dev.vecloss.oracle.DfpOracle.dfp;
import static dev.vecloss.oracle.DfpOracle.toDouble;

import dev.vecloss.Hinge;
import org.apache.commons.math3.dfp.Dfp;
import org.apache.commons.math3.dfp.DfpMath;

/**
 * The truth for the elementwise losses: LOSSES.md sections 3, 4, 5.1, 6.1 and 7 evaluated in
 * 40-digit {@link Dfp} arithmetic, element by element, with PyTorch's conventions (Keras's for
 * the binary hinges). Inputs are {@code double[]} of float32 (or float64) values, flat; a weight
 * or pos_weight is given already broadcast to one value per element (the test expands it with
 * NumPy's rule), or {@code null}.
 *
 * <p>Finite inputs are evaluated to Dfp's precision (37 significant digits or more) with
 * formulas that are identities of LOSSES.md's, rearranged only so that those digits suffice:
 * {@code 1 - sigmoid(x)} as {@code sigmoid(-x)}, {@code log(1 + u)} by its series for small
 * {@code u}, a sum of terms of one sign gathered before it is added. The binary hinges, which
 * need no transcendental function, are evaluated exactly ({@link java.math.BigDecimal}).
 * Non-finite inputs follow the IEEE rules that PyTorch's formulas give, computed in double on
 * the special values (each loss says which; the sigmoid focal loss's gradient at infinite
 * logits is NaN, as torchvision's autograd). Each loss's gradient is with
 * respect to its input, before the reduction's factor.
 */
public final class ElementwiseOracle {
    private static final Dfp ZERO = FIELD.getZero();
    private static final Dfp ONE = FIELD.getOne();
    private static final Dfp TWO = dfp(2);
    /** BCE's clamp of each log term. */
    private static final Dfp MINUS_100 = dfp(-100);
    /** PyTorch's floor of {@code p (1 - p)} in BCE's gradient: the float32 constant 1e-12 in every dtype. */
    public static final double BCE_GRAD_FLOOR = 1e-12f;
    private static final Dfp GRAD_FLOOR = dfp(BCE_GRAD_FLOOR);
    /** Below this, log1p by its series. */
    private static final Dfp SMALL = dfp(1e-3);
    /** Where log1p's series stops: terms below this relative size. */
    private static final Dfp SERIES_EPS = dfp(1e-45);

    private ElementwiseOracle() {}

    // ------------------------------------------------------------------ values and results

    /** A finite value in {@code Dfp}, or an IEEE special value (NaN, +-inf) in double. */
    record Num(Dfp d, double special) {
        static Num of(Dfp d) {
            return new Num(d, 0);
        }

        static Num special(double v) {
            return new Num(null, v);
        }

        boolean finite() {
            return d != null;
        }

        double value() {
            return d != null ? toDouble(d) : special;
        }

        /** This times a finite factor {@code w} (IEEE for the special values: 0 * inf = NaN). */
        Num times(Dfp w, double wd) {
            return d != null ? of(d.multiply(w)) : special(special * wd);
        }
    }

    private static final Num NAN = Num.special(Double.NaN);

    /** One element's loss and gradient. */
    record Element(Num loss, Num grad) {}

    @FunctionalInterface
    interface ElementFn {
        Element at(int i);
    }

    /**
     * Evaluates {@code fn} at every element, times the weights, and reduces: mean over
     * {@code numel}, batchmean over {@code batch}.
     */
    static DfpOracle.Result evaluate(int numel, double[] weight, double batch, ElementFn fn) {
        double[] losses = new double[numel];
        double[] gradSum = new double[numel];
        double[] gradMean = new double[numel];
        Dfp fin = ZERO;
        double special = 0;
        Dfp inv = numel == 0 ? null : ONE.divide(dfp(numel));
        for (int i = 0; i < numel; i++) {
            Element e = fn.at(i);
            Num l = e.loss(), g = e.grad();
            if (weight != null) {
                Dfp w = dfp(weight[i]);
                l = l.times(w, weight[i]);
                g = g.times(w, weight[i]);
            }
            losses[i] = l.value();
            if (l.finite()) {
                fin = fin.add(l.d());
            } else {
                special += l.special();
            }
            gradSum[i] = g.value();
            gradMean[i] = g.finite() ? toDouble(g.d().multiply(inv)) : g.special() / numel;
        }
        // special != 0 also holds for NaN
        double sum = special != 0 ? special : toDouble(fin);
        double mean = numel == 0 ? sum / 0.0 : special != 0 ? special : toDouble(fin.multiply(inv));
        return new DfpOracle.Result(losses, sum, mean, numel, gradSum, gradMean, batch);
    }

    /** An element's arguments (the loss, its input, target and up to two parameters); the weight is applied after. */
    private record Key(String loss, double x, double y, double a, double b) {}

    /**
     * Recent elements' values: Dfp's exponentials and logarithms cost tens of microseconds, and
     * a test evaluates the same data under several option sets (weights apply after the cache).
     */
    private static final java.util.Map<Key, Element> MEMO = new java.util.LinkedHashMap<>(1 << 16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(java.util.Map.Entry<Key, Element> e) {
            return size() > 100_000;
        }
    };

    static Element memo(String loss, double x, double y, double a, double b, java.util.function.Supplier<Element> f) {
        Key key = new Key(loss, x, y, a, b);
        synchronized (MEMO) {
            Element e = MEMO.get(key);
            if (e != null) {
                return e;
            }
        }
        Element e = f.get();
        synchronized (MEMO) {
            MEMO.put(key, e);
        }
        return e;
    }

    // ------------------------------------------------------------------ Dfp functions

    /** {@code log(1 + u)} for {@code u > -1}: by its series where {@code |u|} is small, so that no digit of {@code u} is lost. */
    static Dfp log1p(Dfp u) {
        if (u.abs().lessThan(SMALL)) {
            Dfp sum = ZERO;
            Dfp power = u;
            for (int k = 1; k < 60; k++) {
                Dfp term = power.divide(k);
                sum = k % 2 == 1 ? sum.add(term) : sum.subtract(term);
                if (term.isZero() || term.abs().lessThan(sum.abs().multiply(SERIES_EPS))) {
                    break;
                }
                power = power.multiply(u);
            }
            return sum;
        }
        return DfpMath.log(ONE.add(u));
    }

    /**
     * {@code b^g} for {@code b >= 0}, {@code g >= 0}, with {@code 0^0 = 1}; products for g 1 and 2,
     * square roots for 0.5 and 1.5 (Dfp's are fast; its exp and log are not).
     */
    static Dfp pow(Dfp b, double g) {
        if (g == 0) {
            return ONE;
        }
        if (b.isZero()) {
            return ZERO;
        }
        if (g == 1) {
            return b;
        }
        if (g == 2) {
            return b.multiply(b);
        }
        if (g == 0.5) {
            return b.sqrt();
        }
        if (g == 1.5) {
            return b.multiply(b.sqrt());
        }
        return DfpMath.exp(DfpMath.log(b).multiply(dfp(g)));
    }

    /**
     * {@code sigmoid(x)}, {@code sigmoid(-x) = 1 - sigmoid(x)}, each without cancellation, and
     * {@code log1p(exp(-|x|))}, for finite x; kept for recent x, since the losses of one input
     * under several targets and options share them.
     */
    record Sigmoid(Dfp p, Dfp q, Dfp log1pE) {
        private static final java.util.Map<Double, Sigmoid> RECENT = new java.util.LinkedHashMap<>(1 << 16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(java.util.Map.Entry<Double, Sigmoid> e) {
                return size() > 100_000;
            }
        };

        static Sigmoid of(double x) {
            synchronized (RECENT) {
                Sigmoid s = RECENT.get(x);
                if (s != null) {
                    return s;
                }
            }
            Dfp e = DfpMath.exp(dfp(-Math.abs(x)));       // exp(-|x|) in (0, 1]
            Dfp inv = ONE.divide(ONE.add(e));
            Dfp big = inv, small = e.multiply(inv);         // 1/(1+e) and e/(1+e)
            Dfp l = log1p(e);
            Sigmoid s = x >= 0 ? new Sigmoid(big, small, l) : new Sigmoid(small, big, l);
            synchronized (RECENT) {
                RECENT.put(x, s);
            }
            return s;
        }
    }

    // ------------------------------------------------------------------ BCE on probabilities (LOSSES.md 3)

    /**
     * {@code binary_cross_entropy}: {@code l = -w (y max(log p, -100) + (1 - y) max(log(1 - p), -100))}
     * and PyTorch's gradient {@code w (p - y) / max(p (1 - p), 1e-12f)}. Inputs and targets must
     * lie in [0, 1] (the library refuses others; so does this oracle).
     */
    public static DfpOracle.Result bce(double[] p, double[] y, double[] weight) {
        return evaluate(p.length, weight, Double.NaN, i -> {
            double pv = p[i], yv = y[i];
            if (!(pv >= 0 && pv <= 1 && yv >= 0 && yv <= 1)) {
                throw new IllegalArgumentException("oracle: BCE operand outside [0, 1] at " + i);
            }
            return memo("bce", pv, yv, 0, 0, () -> bce(pv, yv));
        });
    }

    /** {@code max(log p, -100)} and {@code max(log(1 - p), -100)} of recent p, shared by their targets. */
    private static final java.util.Map<Double, Dfp[]> BCE_LOGS = new java.util.LinkedHashMap<>(1 << 12, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(java.util.Map.Entry<Double, Dfp[]> e) {
            return size() > 50_000;
        }
    };

    private static Element bce(double pv, double yv) {
        Dfp dp = dfp(pv), dy = dfp(yv);
        Dfp oneMinusP = ONE.subtract(dp);   // exact: p is a float in [0, 1]
        Dfp[] logs;
        synchronized (BCE_LOGS) {
            logs = BCE_LOGS.get(pv);
        }
        if (logs == null) {
            logs = new Dfp[] {pv == 0 ? MINUS_100 : max(DfpMath.log(dp), MINUS_100),
                    pv == 1 ? MINUS_100 : max(log1p(dp.negate()), MINUS_100)};
            synchronized (BCE_LOGS) {
                BCE_LOGS.put(pv, logs);
            }
        }
        Dfp logP = logs[0], log1mP = logs[1];
        Dfp loss = dy.multiply(logP).add(ONE.subtract(dy).multiply(log1mP)).negate();
        Dfp grad = dp.subtract(dy).divide(max(dp.multiply(oneMinusP), GRAD_FLOOR));
        return new Element(Num.of(loss), Num.of(grad));
    }

    private static Dfp max(Dfp a, Dfp b) {
        return a.greaterThan(b) ? a : b;
    }

    // ------------------------------------------------------------------ BCE with logits (LOSSES.md 4)

    /**
     * {@code binary_cross_entropy_with_logits}: {@code l = w ((1 - y) x - r logsigmoid(x))},
     * {@code r = 1 + (P - 1) y}, gradient {@code w (r sigmoid(x) - P y)}.
     *
     * <p>For finite x, with {@code logsigmoid(x) = min(x, 0) - log1p(exp(-|x|))}, the loss is
     * {@code A + r log1p(exp(-|x|))} with {@code A = (1 - y) x - r min(x, 0)}, which is
     * {@code (1 - y) x} for {@code x >= 0} and {@code -P y x} below: both terms are non-negative
     * for y in [0, 1] and P >= 0, so 40 digits keep a loss of 1e-44 next to logits of 100. The
     * gradient {@code r p - P y} is {@code p (1 - y) - P y (1 - p)}, with {@code 1 - p = sigmoid(-x)}.
     *
     * <p>Non-finite x, as PyTorch's formula in IEEE arithmetic: x = -inf gives NaN
     * ({@code -inf + inf}, or {@code 0 * -inf}); x = +inf gives +inf for y < 1 and NaN for y = 1
     * ({@code 0 * inf}); NaN gives NaN. The gradient stays the formula: {@code 1 - y} at +inf,
     * {@code -P y} at -inf (times w), NaN at NaN.
     *
     * @param posWeight broadcast to one value per element, or {@code null}
     */
    public static DfpOracle.Result bceWithLogits(double[] x, double[] y, double[] weight, double[] posWeight) {
        return evaluate(x.length, weight, Double.NaN, i -> {
            double xv = x[i], yv = y[i], pw = posWeight == null || yv == 0 ? 1 : posWeight[i]; // P y: no P at y = 0
            return memo("bce_with_logits", xv, yv, pw, 0, () -> bceWithLogits(xv, yv, pw));
        });
    }

    static Element bceWithLogits(double xv, double yv, double pw) {
        double r = 1 + (pw - 1) * yv;
        if (Double.isNaN(xv) || Double.isNaN(yv)) {
            return new Element(NAN, NAN);
        }
        if (xv == Double.POSITIVE_INFINITY) {
            return new Element(Num.special((1 - yv) * xv - r * 0.0), Num.of(dfp(1 - yv)));
        }
        if (xv == Double.NEGATIVE_INFINITY) {
            return new Element(NAN, Num.of(dfp(-pw).multiply(dfp(yv))));
        }
        Dfp dx = dfp(xv), dy = dfp(yv), dP = dfp(pw);
        Dfp dr = ONE.add(dP.subtract(ONE).multiply(dy));
        Sigmoid s = Sigmoid.of(xv);
        Dfp a = xv >= 0 ? ONE.subtract(dy).multiply(dx) : dP.multiply(dy).multiply(dx).negate();
        Dfp loss = a.add(dr.multiply(s.log1pE()));
        Dfp grad = s.p().multiply(ONE.subtract(dy)).subtract(dP.multiply(dy).multiply(s.q()));
        return new Element(Num.of(loss), Num.of(grad));
    }

    // ------------------------------------------------------------------ sigmoid focal (LOSSES.md 5.1)

    /**
     * torchvision's {@code sigmoid_focal_loss}: {@code l = a_t ce (1 - p_t)^gamma}, {@code ce}
     * the BCE with logits, {@code p_t = p y + (1 - p)(1 - y)}, {@code a_t = alpha y + (1 - alpha)(1 - y)}
     * (1 for alpha = -1). {@code 1 - p_t} is {@code (1 - p) y + p (1 - y)} exactly, with
     * {@code 1 - p = sigmoid(-x)}, so it keeps its value where torchvision's float32 {@code 1 - p} is 0.
     * Gradient {@code a_t [(p - y)(1 - p_t)^gamma - gamma (2y - 1) p (1 - p) (1 - p_t)^(gamma - 1) ce]}:
     * {@code 1 - p_t > 0} for every finite x, so no limit is needed there, whatever gamma.
     *
     * <p>Infinite x: the loss as torchvision's formula in IEEE arithmetic ({@code ce} is NaN or
     * +inf as in {@link #bceWithLogits}; {@code (1 - p_t)^gamma} with p exactly 0 or 1, {@code 0^0 = 1});
     * the gradient is NaN for gamma above 0, as torchvision's autograd gives at an infinite logit
     * (the library follows it there; its "mathematical limit" is for saturated finite logits),
     * and {@code p - y} (1 - y at +inf, -y at -inf) for gamma 0. NaN gives NaN.
     */
    public static DfpOracle.Result sigmoidFocal(double[] x, double[] y, double alpha, double gamma) {
        return evaluate(x.length, null, Double.NaN, i -> {
            double xv = x[i], yv = y[i];
            if (Double.isNaN(xv) || Double.isNaN(yv)) {
                return new Element(NAN, NAN);
            }
            Dfp dy = dfp(yv);
            Dfp at = alpha >= 0 ? dfp(alpha).multiply(dy).add(ONE.subtract(dfp(alpha)).multiply(ONE.subtract(dy))) : ONE;
            Element e = memo("sigmoid_focal", xv, yv, gamma, 0, () -> sigmoidFocal(xv, yv, gamma));
            return new Element(e.loss().times(at, toDouble(at)), e.grad().times(at, toDouble(at)));
        });
    }

    /** The focal loss and its gradient without the factor a_t. */
    static Element sigmoidFocal(double xv, double yv, double gamma) {
        Dfp dy = dfp(yv);
        if (Double.isInfinite(xv)) {
            double ce = bceWithLogits(xv, yv, 1).loss().value();
            double p = xv > 0 ? 1 : 0;
            double oneMinusPt = (1 - p) * yv + p * (1 - yv);
            double mod = gamma == 0 ? 1 : Math.pow(oneMinusPt, gamma);
            double loss = ce * mod;
            // autograd's: NaN for gamma > 0 (0 * inf in the factor's backward), the formula's limit for gamma 0
            Num g = gamma == 0 ? Num.of(xv > 0 ? ONE.subtract(dy) : dy.negate()) : Num.special(Double.NaN);
            return new Element(Double.isFinite(loss) ? Num.of(dfp(loss)) : Num.special(loss), g);
        }
        Sigmoid s = Sigmoid.of(xv);
        Dfp ce = bceWithLogits(xv, yv, 1).loss().d();
        Dfp oneMinusY = ONE.subtract(dy);
        Dfp oneMinusPt = s.q().multiply(dy).add(s.p().multiply(oneMinusY));
        Dfp mod = pow(oneMinusPt, gamma);
        Dfp loss = ce.multiply(mod);
        Dfp pMinusY = s.p().multiply(oneMinusY).subtract(s.q().multiply(dy));
        Dfp grad = pMinusY.multiply(mod);
        if (gamma != 0) {
            Dfp second = dfp(gamma).multiply(TWO.multiply(dy).subtract(ONE)).multiply(s.p()).multiply(s.q())
                    .multiply(mod.divide(oneMinusPt)).multiply(ce);
            grad = grad.subtract(second);
        }
        return new Element(Num.of(loss), Num.of(grad));
    }

    // ------------------------------------------------------------------ hinge, squared hinge (LOSSES.md 6.1)

    /**
     * The labels the binary hinges use: with {@code ZERO_ONE} {@code 2y - 1}; with {@code AUTO}
     * (Keras) {@code 2y - 1} only if every element of the whole tensor is 0 or 1; else as given.
     */
    public static double[] hingeLabels(double[] y, Hinge.Labels rule) {
        boolean convert = switch (rule) {
            case ZERO_ONE -> true;
            case PLUS_MINUS_ONE -> false;
            case AUTO -> java.util.Arrays.stream(y).allMatch(v -> v == 0 || v == 1);
        };
        return convert ? java.util.Arrays.stream(y).map(v -> 2 * v - 1).toArray() : y.clone();
    }

    /**
     * Keras's {@code hinge} ({@code max(0, z)}) or {@code squared_hinge} ({@code max(0, z)^2}),
     * {@code z = margin - y x} with the labels of {@link #hingeLabels}; gradient {@code -y}
     * (squared: {@code -2 y z}) where {@code z > 0} strictly, else 0: 0 at the kink, and 0 where
     * z is NaN (whose loss is NaN, as numpy's maximum). Infinite x in IEEE arithmetic. Finite
     * values in exact {@link java.math.BigDecimal} arithmetic (no transcendental function: see
     * {@link RowOracle}).
     */
    public static DfpOracle.Result hinge(double[] x, double[] y, Hinge.Labels rule, double margin, boolean squared,
            double[] weight) {
        double[] labels = hingeLabels(y, rule);
        int n = x.length;
        java.math.BigDecimal[] loss = new java.math.BigDecimal[n], grad = new java.math.BigDecimal[n];
        double[] lossSpecial = new double[n], gradSpecial = new double[n];
        java.math.BigDecimal dm = RowOracle.big(margin);
        for (int i = 0; i < n; i++) {
            double xv = x[i], yv = labels[i], w = weight == null ? 1 : weight[i];
            if (!Double.isFinite(xv) || !Double.isFinite(yv)) {
                double z = margin - yv * xv;
                double l = Double.isNaN(z) ? Double.NaN : Math.max(z, 0);
                l = w * (squared ? l * l : l);
                double g = w * (z > 0 ? (squared ? -2 * yv * z : -yv) : 0);
                if (Double.isFinite(l)) {
                    loss[i] = RowOracle.big(l);
                } else {
                    lossSpecial[i] = l;
                }
                if (Double.isFinite(g)) {
                    grad[i] = RowOracle.big(g);
                } else {
                    gradSpecial[i] = g;
                }
                continue;
            }
            java.math.BigDecimal by = RowOracle.big(yv), bw = RowOracle.big(w);
            java.math.BigDecimal z = dm.subtract(by.multiply(RowOracle.big(xv)));
            if (z.signum() <= 0) {
                loss[i] = java.math.BigDecimal.ZERO;
                grad[i] = java.math.BigDecimal.ZERO;
            } else if (squared) {
                loss[i] = bw.multiply(z.multiply(z));
                grad[i] = bw.multiply(by.multiply(z).multiply(java.math.BigDecimal.valueOf(-2)));
            } else {
                loss[i] = bw.multiply(z);
                grad[i] = bw.multiply(by.negate());
            }
        }
        return RowOracle.exact(loss, lossSpecial, grad, gradSpecial, n);
    }

    // ------------------------------------------------------------------ kl_div (LOSSES.md 7)

    /**
     * {@code kl_div} on log-probabilities q: {@code l = xlogy(t, t) - t q} (t = 0: {@code -0 q},
     * 0 or NaN for an infinite q; t < 0: NaN), gradient {@code -t}; with {@code logTarget},
     * {@code l = exp(t) (t - q)}, gradient {@code -exp(t)}. For t > 0 the loss is computed as
     * {@code t (log t - q)}, an identity that 40 digits keep where {@code q ~ log t}.
     *
     * @param batch the batchmean denominator, the input's first dimension (1 for a 0-d input)
     */
    public static DfpOracle.Result klDiv(double[] q, double[] t, boolean logTarget, double batch) {
        return evaluate(q.length, null, batch, i -> memo("kl_div", q[i], t[i], logTarget ? 1 : 0, 0, () -> klDiv(q[i], t[i], logTarget)));
    }

    private static Element klDiv(double qv, double tv, boolean logTarget) {
        if (logTarget) {
            if (!Double.isFinite(qv) || !Double.isFinite(tv)) {
                double et = Math.exp(tv);
                double loss = et * (tv - qv);
                return new Element(Double.isFinite(loss) ? Num.of(dfp(loss)) : Num.special(loss),
                        Double.isFinite(et) ? Num.of(dfp(-et)) : Num.special(-et));
            }
            Dfp et = ofTarget(tv, true);
            return new Element(Num.of(et.multiply(dfp(tv).subtract(dfp(qv)))), Num.of(et.negate()));
        }
        Num grad = Double.isFinite(tv) ? Num.of(dfp(-tv)) : Num.special(-tv);
        if (Double.isNaN(tv) || tv < 0) {
            return new Element(NAN, grad);
        }
        if (tv == 0) {
            double loss = 0 - 0.0 * qv; // xlogy(0, 0) = 0; 0 * inf = NaN
            return new Element(Double.isNaN(loss) ? NAN : Num.of(ZERO), grad);
        }
        if (!Double.isFinite(qv) || tv == Double.POSITIVE_INFINITY) {
            double loss = tv * Math.log(tv) - tv * qv;
            return new Element(Double.isFinite(loss) ? Num.of(dfp(loss)) : Num.special(loss), grad);
        }
        return new Element(Num.of(dfp(tv).multiply(ofTarget(tv, false).subtract(dfp(qv)))), grad);
    }

    /** {@code exp(t)} or {@code log(t)} of recent targets, which tests draw from a pool. */
    private static final java.util.Map<Double, Dfp[]> KL_TARGETS = new java.util.LinkedHashMap<>(1 << 12, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(java.util.Map.Entry<Double, Dfp[]> e) {
            return size() > 50_000;
        }
    };

    private static Dfp ofTarget(double t, boolean exp) {
        Dfp[] v;
        synchronized (KL_TARGETS) {
            v = KL_TARGETS.computeIfAbsent(t, k -> new Dfp[2]);
        }
        int at = exp ? 0 : 1;
        if (v[at] == null) {
            v[at] = exp ? DfpMath.exp(dfp(t)) : DfpMath.log(dfp(t));
        }
        return v[at];
    }
}
