package dev.vecloss.internal.panama;

import static dev.vecloss.internal.panama.PanamaConstants.ALONG_CLASSES_MIN_C;
import static dev.vecloss.internal.panama.PanamaConstants.F;
import static dev.vecloss.internal.panama.PanamaConstants.V;

import dev.vecloss.internal.ClassSumOp;
import dev.vecloss.internal.ClassSumProblem;
import dev.vecloss.internal.CountProblem;
import dev.vecloss.internal.ElementOp;
import dev.vecloss.internal.ExactSum;
import dev.vecloss.internal.ElementProblem;
import dev.vecloss.internal.LossKernels;
import dev.vecloss.internal.LovaszProblem;
import dev.vecloss.internal.RowOp;
import dev.vecloss.internal.RowProblem;
import dev.vecloss.internal.ScalarKernels;

/**
 * The SIMD kernels. Each method picks the loop that fits the layout and leaves to the scalar
 * reference kernels only what SIMD cannot cover, position by position:
 * <ul>
 *   <li>{@code (N, C)} with {@code C >= 8 * lanes}: {@link AlongClasses}, one row at a time,
 *       vectorised along the contiguous class axis (cross-entropy and the softmax focal loss);
 *       {@link Margins} for multi_margin_loss and categorical hinge from one vector of
 *       classes;</li>
 *   <li>{@code (N, C)} with fewer classes, and {@code (N, C, d...)} with a spatial size of at
 *       least one vector: {@link AcrossPositions} (cross-entropy and the softmax focal loss), a
 *       block of {@code lanes} positions at a time,
 *       one vector per class (the rows of a narrow (N, C) block are transposed through L1 by a
 *       gather); the positions that do not fill a block (an image's last ones, a chunk's end)
 *       are a block with its other lanes ignored, so that a position's results do not depend on
 *       where it sits;</li>
 *   <li>probability targets: {@link AlongClasses} for {@code (N, C)} with at least one vector of
 *       classes;</li>
 *   <li>spatial sizes below one vector, probability targets of spatial inputs, spatial inputs
 *       of more than {@link AcrossPositions#MAX_C} classes, and float64 problems: the scalar
 *       kernels;</li>
 *   <li>any family: a problem with an operand or output the Vector API cannot load from
 *       without falling back to allocating Java code, a heap segment over an array of another
 *       type than its elements' ({@code Mem.vectorLoadable}): the scalar kernels, for the whole
 *       call (every chunk sees the same segments).</li>
 * </ul>
 * NLL has no SIMD loop: it reads one value per position (a gather, which the Vector API offers
 * only from Java arrays, not from segments), so it is bound by memory latency, not arithmetic,
 * and the scalar loop is as fast.
 */
public final class PanamaKernels implements LossKernels {
    public static final PanamaKernels INSTANCE = new PanamaKernels();

    private static final ScalarKernels SCALAR = ScalarKernels.INSTANCE;

    private PanamaKernels() {
        if (V < 4) {
            throw new UnsupportedOperationException("float vectors of " + V + " lanes: too narrow to pay off");
        }
    }

    @Override
    public String name() {
        return "panama";
    }

    @Override
    public String toString() {
        return "panama kernels (" + F.vectorBitSize() + "-bit vectors, " + V + " float lanes"
                + (PanamaConstants.BITS < PanamaConstants.MACHINE_BITS
                        ? ", narrowed by vecloss.vectorBits from the machine's " + PanamaConstants.MACHINE_BITS : "")
                + ")";
    }

    @Override
    public void rows(RowOp op, RowProblem p, long from, long to, ExactSum acc) {
        if (!p.vectorLoadable()) {
            SCALAR.rows(op, p, from, to, acc);
            return;
        }
        final boolean rows = p.s() == 1;
        switch (op) {
            case CROSS_ENTROPY, SOFTMAX_FOCAL -> {
                if (rows && p.c() >= ALONG_CLASSES_MIN_C) {
                    AlongClasses.index(p, from, to, op == RowOp.SOFTMAX_FOCAL, acc);
                } else if (rows || p.s() >= V) {
                    AcrossPositions.index(op, p, from, to, acc);
                } else {
                    SCALAR.rows(op, p, from, to, acc);
                }
            }
            case CROSS_ENTROPY_PROB, MULTI_MARGIN, CATEGORICAL_HINGE -> {
                if (!rows || p.c() < V) {
                    SCALAR.rows(op, p, from, to, acc);
                } else if (op == RowOp.CROSS_ENTROPY_PROB) {
                    AlongClasses.prob(p, from, to, acc);
                } else if (op == RowOp.MULTI_MARGIN) {
                    Margins.multiMargin(p, from, to, acc);
                } else {
                    Margins.categoricalHinge(p, from, to, acc);
                }
            }
            case NLL -> SCALAR.rows(op, p, from, to, acc);
        }
    }

    @Override
    public double notZeroOne(ElementProblem p, long from, long to) {
        return p.allFloat32() && p.vectorLoadable() ? Elementwise.notZeroOne(p, from, to) : SCALAR.notZeroOne(p, from, to);
    }

    @Override
    public double unitInterval(ElementProblem p, long from, long to) {
        return p.allFloat32() && p.vectorLoadable() ? Elementwise.unitInterval(p, from, to) : SCALAR.unitInterval(p, from, to);
    }

    @Override
    public void elements(ElementOp op, ElementProblem p, long from, long to, ExactSum acc) {
        if (Elementwise.covers(op, p) && p.vectorLoadable()) {
            Elementwise.elements(op, p, from, to, acc);
        } else {
            SCALAR.elements(op, p, from, to, acc);
        }
    }

    /** The per-class sums: {@link ClassSums} where it covers the problem, else the scalar kernel. */
    @Override
    public void classSums(ClassSumOp op, ClassSumProblem p, long from, long to, dev.vecloss.internal.ExactSum[] out) {
        if (ClassSums.covers(p) && p.vectorLoadable()) {
            ClassSums.sums(op, p, from, to, out);
        } else {
            SCALAR.classSums(op, p, from, to, out);
        }
    }

    @Override
    public double classSumsGrad(ClassSumOp op, ClassSumProblem p, long from, long to) {
        return ClassSums.covers(p) && p.vectorLoadable() ? ClassSums.grad(op, p, from, to)
                : SCALAR.classSumsGrad(op, p, from, to);
    }

    /** Class counts: {@link Histogram}. */
    @Override
    public void counts(CountProblem p, long from, long to, long[] out, int off) {
        if (p.vectorLoadable()) {
            Histogram.counts(p, from, to, out, off);
        } else {
            SCALAR.counts(p, from, to, out, off);
        }
    }

    /** Lovász: {@link LovaszTiles} for float32 problems, the scalar reference for float64. */
    @Override
    public double lovasz(LovaszProblem.Phase phase, LovaszProblem p, long from, long to) {
        return p.simd() ? LovaszTiles.lovasz(phase, p, from, to) : SCALAR.lovasz(phase, p, from, to);
    }
}
