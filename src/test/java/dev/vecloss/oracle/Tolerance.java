package dev.vecloss.oracle;

import java.util.Locale;

/**
 * A tolerance as a readable expression, for example
 * {@code Tolerance.ulps(4).or(Tolerance.relative(2e-6)).or(Tolerance.absolute(1e-9))}: an actual
 * value passes when any alternative accepts it. Ulps are float32 ulps of the expected value
 * (the library's outputs are float32 unless the input is float64). Special values must match
 * exactly: an expected NaN needs a NaN, an expected infinity the same infinity, and a finite
 * expected value never accepts a non-finite one.
 */
public abstract class Tolerance {
    /** The float32 machine epsilon, 2^-23. */
    public static final double F32_EPS = 0x1p-23;

    private Tolerance() {}

    /** Whether {@code actual} is close enough to the finite {@code expected}. */
    protected abstract boolean close(double expected, double actual);

    /** The expression, for assertion messages. */
    public abstract String describe();

    @Override
    public String toString() {
        return describe();
    }

    /** Whether {@code actual} passes, special values included. */
    public final boolean test(double expected, double actual) {
        if (Double.isNaN(expected)) {
            return Double.isNaN(actual);
        }
        if (Double.isInfinite(expected)) {
            return actual == expected;
        }
        return Double.isFinite(actual) && close(expected, actual);
    }

    /** The alternative: this or {@code other}. */
    public final Tolerance or(Tolerance other) {
        Tolerance self = this;
        return new Tolerance() {
            @Override
            protected boolean close(double e, double a) {
                return self.close(e, a) || other.close(e, a);
            }

            @Override
            public String describe() {
                return self.describe() + " or " + other.describe();
            }
        };
    }

    /** Within {@code n} float32 ulps of the expected value. */
    public static Tolerance ulps(double n) {
        return ulps(n, 0);
    }

    /**
     * Within {@code n} float32 ulps of {@code max(|expected|, floor)}: for values such as
     * gradients whose natural scale is {@code floor}, so that an element far below it (a
     * probability of 1e-26 next to ones of order 1) is judged at the row's float32 resolution.
     */
    public static Tolerance ulps(double n, double floor) {
        return new Tolerance() {
            @Override
            protected boolean close(double e, double a) {
                return ulpError(e, a, floor) <= n;
            }

            @Override
            public String describe() {
                return fmt(n) + " ulps" + (floor > 0 ? " of max(|expected|, " + fmt(floor) + ")" : "");
            }
        };
    }

    /** {@code |actual - expected| <= r * |expected|}. */
    public static Tolerance relative(double r) {
        return new Tolerance() {
            @Override
            protected boolean close(double e, double a) {
                return Math.abs(a - e) <= r * Math.abs(e);
            }

            @Override
            public String describe() {
                return "relative " + fmt(r);
            }
        };
    }

    /** {@code |actual - expected| <= d}. */
    public static Tolerance absolute(double d) {
        return new Tolerance() {
            @Override
            protected boolean close(double e, double a) {
                return Math.abs(a - e) <= d;
            }

            @Override
            public String describe() {
                return "absolute " + fmt(d);
            }
        };
    }

    /**
     * The relative error of a float32 sum of {@code terms} positive terms, each rounded once,
     * accumulated in any order: {@code (terms + 2) * 2^-24} (the classical {@code n u} bound,
     * plus a term for the final rounding). SIMD and scalar kernels sum a row in different
     * orders, so their difference is bounded by twice this.
     */
    public static Tolerance summation(long terms) {
        return new Tolerance() {
            final double r = (terms + 2) * F32_EPS / 2;

            @Override
            protected boolean close(double e, double a) {
                return Math.abs(a - e) <= r * Math.abs(e);
            }

            @Override
            public String describe() {
                return "relative (" + terms + " + 2) * 2^-24";
            }
        };
    }

    /** One float32 ulp of {@code v}: the spacing of floats at {@code |v|} (as a float). */
    public static double ulpF32(double v) {
        double a = Math.abs(v);
        if (a >= Float.MAX_VALUE) {
            return Math.ulp(Float.MAX_VALUE);
        }
        // The ulp of the float nearest v, but never of the binade above when v rounds up to it.
        float f = (float) a;
        double u = Math.ulp(f);
        return f > a && Math.ulp(Math.nextDown(f)) < u ? Math.ulp(Math.nextDown(f)) : u;
    }

    /** {@code |actual - expected|} in float32 ulps of the expected value; infinite for a special-value mismatch. */
    public static double ulpError(double expected, double actual) {
        return ulpError(expected, actual, 0);
    }

    /** {@code |actual - expected|} in float32 ulps of {@code max(|expected|, floor)}. */
    public static double ulpError(double expected, double actual, double floor) {
        if (Double.isNaN(expected) || Double.isInfinite(expected)) {
            return (Double.isNaN(expected) && Double.isNaN(actual)) || expected == actual ? 0 : Double.POSITIVE_INFINITY;
        }
        if (!Double.isFinite(actual)) {
            return Double.POSITIVE_INFINITY;
        }
        return Math.abs(actual - expected) / ulpF32(Math.max(Math.abs(expected), floor));
    }

    static String fmt(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e6 ? Long.toString((long) v) : String.format(Locale.ROOT, "%.3g", v);
    }

    /**
     * Maximum and root-mean-square error in float32 ulps over many comparisons (STYLE 6), with
     * the worst case remembered for the report.
     */
    public static final class ErrorStats {
        private final String name;
        private long count;
        private double sumSq;
        private double max;
        private String worst = "none";

        public ErrorStats(String name) {
            this.name = name;
        }

        /** Records one comparison; {@code where} names it for the report if it is the worst. */
        public void add(double expected, double actual, double floor, java.util.function.Supplier<String> where) {
            double e = ulpError(expected, actual, floor);
            count++;
            sumSq += e * e;
            if (e > max || count == 1) {
                max = Math.max(max, e);
                if (e == max) {
                    worst = where.get() + ": expected " + expected + ", got " + actual;
                }
            }
        }

        public long count() {
            return count;
        }

        public double max() {
            return max;
        }

        public double rms() {
            return count == 0 ? 0 : Math.sqrt(sumSq / count);
        }

        public String describe() {
            return String.format(Locale.ROOT, "%s: n=%d max=%.3f ulps rms=%.3f ulps (worst %s)",
                    name, count, max, rms(), worst);
        }
    }
}
