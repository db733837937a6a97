package dev.vecloss.internal;

import java.lang.foreign.MemorySegment;

/**
 * One cross-entropy or NLL evaluation, validated and laid out for the kernels: the logits of
 * position {@code (n, s)} and class {@code c} sit at element {@code n*C*S + c*S + s}, so the
 * class axis is strided by {@code S} (S = 1 for an {@code (N, C)} input). Positions are
 * numbered {@code p = n*S + s}; kernels take a range {@code [from, to)} of them.
 *
 * <p>Built by the public API after every check has passed: kernels trust it. Segments are
 * little-endian. {@code input}, {@code weight}, {@code probTarget}, {@code losses} and
 * {@code grad} hold float32 unless {@code f64} is set ({@code losses} and {@code grad} may
 * independently be float64, see {@link #lossesF64} and {@link #gradF64}).
 *
 * @param input        logits (CE) or log-probabilities (NLL), shape (N, C, S)
 * @param f64          whether {@code input}, {@code weight} and {@code probTarget} are float64
 * @param n            batch size N
 * @param c            class count C
 * @param s            spatial size S (product of d1..dk, 1 for (N, C))
 * @param target       index targets (shape (N, S)), or {@code null} for probability targets
 * @param targetKind   how to read {@code target}: 8, 4 or 1 bytes per element (int64, int32, uint8/bool)
 * @param probTarget   probability targets (same shape as input), or {@code null}
 * @param weight       per-class weights (C), or {@code null} for all ones
 * @param weightSum    the sum of all C weights (C when unweighted)
 * @param ignoreIndex  targets equal to this are skipped
 * @param eps          label smoothing, 0 when off
 * @param gradScale    the factor sigma of the gradient (1, or 1/denominator for mean)
 * @param losses       per-position losses to write (shape (N, S)), or {@code null}
 * @param lossesF64    whether {@code losses} is float64
 * @param grad         gradient to write (input's shape), or {@code null}
 * @param gradF64      whether {@code grad} is float64
 */
public record CeProblem(
        MemorySegment input, boolean f64, long n, long c, long s,
        MemorySegment target, int targetKind, MemorySegment probTarget,
        MemorySegment weight, double weightSum, long ignoreIndex, double eps, double gradScale,
        MemorySegment losses, boolean lossesF64, MemorySegment grad, boolean gradF64) {

    /** The number of positions, N*S. */
    public long positions() {
        return n * s;
    }

    /** Whether this is the plain float32 case the SIMD kernels handle. */
    public boolean allFloat32() {
        return !f64 && !lossesF64 && !gradF64;
    }

    /** The copy of this problem with another gradient scale (known after the target pre-pass). */
    public CeProblem withGradScale(double scale) {
        return new CeProblem(input, f64, n, c, s, target, targetKind, probTarget, weight, weightSum,
                ignoreIndex, eps, scale, losses, lossesF64, grad, gradF64);
    }
}
