package dev.vecloss.internal;

import java.lang.foreign.MemorySegment;

/**
 * The scalar kernels' two innermost loops' helpers: a row's maximum, and the exponential.
 *
 * <p>The exponential: {@code Math.exp}'s value to within one ulp of float64, in
 * about 60 % of its time (JDK 25's {@code Math.exp} is a call to a stub that C2 does not inline;
 * this is a dozen inlined floating-point operations). The scalar kernels compute in double and
 * round once to float32, so an ulp of float64 is 2^-29 of the ulp they are judged in; what the
 * speed buys is the command line's one-shot runs, which take the scalar kernels below
 * {@code KernelChoice.SCALAR_BELOW} elements (a cross-entropy row of C logits is C
 * exponentials, and the exponential was two thirds of the row's time).
 *
 * <p>The method is the classic table-driven one: {@code x = (64 k + j) ln2/64 + r}, {@code |r| <=
 * ln2/128}, {@code exp(x) = 2^k 2^(j/64) exp(r)}, the 64 values {@code 2^(j/64)} in a table (each as two float64 values, whose sum
 * is it to 2^-106; tools/exp_table.py) and
 * {@code exp(r) - 1} a polynomial of degree 6 (Taylor's: its truncation error is below 2^-65
 * on that interval). The reduction {@code r = x - n ln2/64} is two fused multiply-adds
 * with ln2/64 split in two (Cody and Waite), {@code n} rounded to nearest by adding
 * 1.5 * 2^52, whose low bits then hold it. Arguments of magnitude 700 and above, infinities and NaN go to {@code Math.exp}
 * (overflow, subnormal results, special values), so every argument gets {@code Math.exp}'s
 * special values. The result is {@code t + (t p + t_lo)}: the table's
 * rounding is not added to the final one. The bits do not depend on the JIT: strict IEEE
 * operations only (Java's floating point is strict since 17, and {@code Math.fma} is exactly
 * rounded wherever it runs).
 */
public final class ScalarMath {

    private ScalarMath() {}

    private static final double[] TWO_J_64 = { // 2^(j/64): hi, lo (tools/exp_table.py)
        0x1.0000000000000p+0, 0.0, 0x1.02c9a3e778061p+0, -0x1.19083535b085dp-56,
        0x1.059b0d3158574p+0, 0x1.d73e2a475b465p-55, 0x1.0874518759bc8p+0, 0x1.186be4bb284ffp-57,
        0x1.0b5586cf9890fp+0, 0x1.8a62e4adc610bp-54, 0x1.0e3ec32d3d1a2p+0, 0x1.03a1727c57b53p-59,
        0x1.11301d0125b51p+0, -0x1.6c51039449b3ap-54, 0x1.1429aaea92de0p+0, -0x1.32fbf9af1369ep-54,
        0x1.172b83c7d517bp+0, -0x1.19041b9d78a76p-55, 0x1.1a35beb6fcb75p+0, 0x1.e5b4c7b4968e4p-55,
        0x1.1d4873168b9aap+0, 0x1.e016e00a2643cp-54, 0x1.2063b88628cd6p+0, 0x1.dc775814a8495p-55,
        0x1.2387a6e756238p+0, 0x1.9b07eb6c70573p-54, 0x1.26b4565e27cddp+0, 0x1.2bd339940e9d9p-55,
        0x1.29e9df51fdee1p+0, 0x1.612e8afad1255p-55, 0x1.2d285a6e4030bp+0, 0x1.0024754db41d5p-54,
        0x1.306fe0a31b715p+0, 0x1.6f46ad23182e4p-55, 0x1.33c08b26416ffp+0, 0x1.32721843659a6p-54,
        0x1.371a7373aa9cbp+0, -0x1.63aeabf42eae2p-54, 0x1.3a7db34e59ff7p+0, -0x1.5e436d661f5e3p-56,
        0x1.3dea64c123422p+0, 0x1.ada0911f09ebcp-55, 0x1.4160a21f72e2ap+0, -0x1.ef3691c309278p-58,
        0x1.44e086061892dp+0, 0x1.89b7a04ef80d0p-59, 0x1.486a2b5c13cd0p+0, 0x1.3c1a3b69062f0p-56,
        0x1.4bfdad5362a27p+0, 0x1.d4397afec42e2p-56, 0x1.4f9b2769d2ca7p+0, -0x1.4b309d25957e3p-54,
        0x1.5342b569d4f82p+0, -0x1.07abe1db13cadp-55, 0x1.56f4736b527dap+0, 0x1.9bb2c011d93adp-54,
        0x1.5ab07dd485429p+0, 0x1.6324c054647adp-54, 0x1.5e76f15ad2148p+0, 0x1.ba6f93080e65ep-54,
        0x1.6247eb03a5585p+0, -0x1.383c17e40b497p-54, 0x1.6623882552225p+0, -0x1.bb60987591c34p-54,
        0x1.6a09e667f3bcdp+0, -0x1.bdd3413b26456p-54, 0x1.6dfb23c651a2fp+0, -0x1.bbe3a683c88abp-57,
        0x1.71f75e8ec5f74p+0, -0x1.16e4786887a99p-55, 0x1.75feb564267c9p+0, -0x1.0245957316dd3p-54,
        0x1.7a11473eb0187p+0, -0x1.41577ee04992fp-55, 0x1.7e2f336cf4e62p+0, 0x1.05d02ba15797ep-56,
        0x1.82589994cce13p+0, -0x1.d4c1dd41532d8p-54, 0x1.868d99b4492edp+0, -0x1.fc6f89bd4f6bap-54,
        0x1.8ace5422aa0dbp+0, 0x1.6e9f156864b27p-54, 0x1.8f1ae99157736p+0, 0x1.5cc13a2e3976cp-55,
        0x1.93737b0cdc5e5p+0, -0x1.75fc781b57ebcp-57, 0x1.97d829fde4e50p+0, -0x1.d185b7c1b85d1p-54,
        0x1.9c49182a3f090p+0, 0x1.c7c46b071f2bep-56, 0x1.a0c667b5de565p+0, -0x1.359495d1cd533p-54,
        0x1.a5503b23e255dp+0, -0x1.d2f6edb8d41e1p-54, 0x1.a9e6b5579fdbfp+0, 0x1.0fac90ef7fd31p-54,
        0x1.ae89f995ad3adp+0, 0x1.7a1cd345dcc81p-54, 0x1.b33a2b84f15fbp+0, -0x1.2805e3084d708p-57,
        0x1.b7f76f2fb5e47p+0, -0x1.5584f7e54ac3bp-56, 0x1.bcc1e904bc1d2p+0, 0x1.23dd07a2d9e84p-55,
        0x1.c199bdd85529cp+0, 0x1.11065895048ddp-55, 0x1.c67f12e57d14bp+0, 0x1.2884dff483cadp-54,
        0x1.cb720dcef9069p+0, 0x1.503cbd1e949dbp-56, 0x1.d072d4a07897cp+0, -0x1.cbc3743797a9cp-54,
        0x1.d5818dcfba487p+0, 0x1.2ed02d75b3707p-55, 0x1.da9e603db3285p+0, 0x1.c2300696db532p-54,
        0x1.dfc97337b9b5fp+0, -0x1.1a5cd4f184b5cp-54, 0x1.e502ee78b3ff6p+0, 0x1.39e8980a9cc8fp-55,
        0x1.ea4afa2a490dap+0, -0x1.e9c23179c2893p-54, 0x1.efa1bee615a27p+0, 0x1.dc7f486a4b6b0p-54,
        0x1.f50765b6e4540p+0, 0x1.9d3e12dd8a18bp-54, 0x1.fa7c1819e90d8p+0, 0x1.74853f3a5931ep-55,
    };

    private static final double INV_LN2_64 = 0x1.71547652b82fep+6; // 64/ln2 (it only chooses n)
    private static final double LN2_64_HI = 0x1.62e42fefa39efp-7; // ln2/64 rounded
    private static final double LN2_64_LO = 0x1.abc9e3b39803fp-62; // ln2/64 - LN2_64_HI
    private static final double SHIFTER = 0x1.8p52;

    /**
     * {@code e^x}, within one ulp of float64 (measured: see ScalarMathTest); {@code Math.exp}
     * itself for {@code |x| >= 700}, infinities and NaN.
     */
    public static double exp(double x) {
        if (!(Math.abs(x) < 700)) {
            return Math.exp(x);
        }
        double big = x * INV_LN2_64 + SHIFTER; // n = round(x 64/ln2) in the low bits
        long bits = Double.doubleToRawLongBits(big);
        double n = big - SHIFTER;
        double r = Math.fma(n, -LN2_64_LO, Math.fma(n, -LN2_64_HI, x));
        double p = r * (1 + r * (0.5 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (1.0 / 720))))));
        int j = ((int) bits & 63) * 2;
        double t = TWO_J_64[j];
        // 2^k t (1 + p), k = floor(n / 64), added to the exponent field of a value in [0.99, 2]:
        // exact while the result is a normal float (|x| < 700). The low bits are 2^51 + n, so
        // (bits >> 6) << 52 is k << 52 (the bits above 2^51's, and 2^45's, are shifted out)
        return Double.longBitsToDouble(Double.doubleToRawLongBits(t + Math.fma(t, p, TWO_J_64[j + 1])) + ((bits >> 6) << 52));
    }

    /**
     * {@code Math.max} over the {@code n} elements {@code base + k stride} of {@code x} (float32,
     * or float64 if {@code f64}): -inf for none, NaN if any is NaN. Four running maxima, combined
     * at the end: {@code Math.max} is associative and commutative (NaN absorbs, -0 is below +0),
     * so the value is the one a single running maximum gives, and the loop is not one chain of
     * dependent maxima (each several instructions: a row's maximum took a fifth of the scalar
     * cross-entropy's time).
     */
    public static double rowMax(MemorySegment x, boolean f64, long base, long n, long stride) {
        double m0 = Double.NEGATIVE_INFINITY, m1 = m0, m2 = m0, m3 = m0;
        long k = 0;
        if (!f64 && stride == 1) { // the common row: contiguous float32
            for (; k + 3 < n; k += 4) {
                m0 = Math.max(m0, x.getAtIndex(Mem.F32, base + k));
                m1 = Math.max(m1, x.getAtIndex(Mem.F32, base + k + 1));
                m2 = Math.max(m2, x.getAtIndex(Mem.F32, base + k + 2));
                m3 = Math.max(m3, x.getAtIndex(Mem.F32, base + k + 3));
            }
        } else {
            for (; k + 3 < n; k += 4) {
                m0 = Math.max(m0, Mem.get(x, f64, base + k * stride));
                m1 = Math.max(m1, Mem.get(x, f64, base + (k + 1) * stride));
                m2 = Math.max(m2, Mem.get(x, f64, base + (k + 2) * stride));
                m3 = Math.max(m3, Mem.get(x, f64, base + (k + 3) * stride));
            }
        }
        for (; k < n; k++) {
            m0 = Math.max(m0, Mem.get(x, f64, base + k * stride));
        }
        return Math.max(Math.max(m0, m1), Math.max(m2, m3));
    }

    /**
     * {@code sum + exp(x_k - m)} for {@code k} from {@code from} to {@code to - 1}, added in that
     * order, the elements at {@code base + k stride} of {@code x} (float32, or float64 if
     * {@code f64}): a softmax row's sum, called on either side of a class to leave it out.
     */
    public static double expSum(MemorySegment x, boolean f64, long base, long from, long to, long stride, double m, double sum) {
        if (!f64 && stride == 1) { // the common row: contiguous float32
            for (long k = from; k < to; k++) {
                sum += exp(x.getAtIndex(Mem.F32, base + k) - m);
            }
        } else {
            for (long k = from; k < to; k++) {
                sum += exp(Mem.get(x, f64, base + k * stride) - m);
            }
        }
        return sum;
    }
}
