package dev.vecloss.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One evaluation of a per-class-sum loss (the family of {@link ClassSumOp}), checked and laid out
 * for the kernels. The input is {@code (N, C, S)} with the class axis strided by {@code S} (as
 * {@link RowProblem}'s); positions are numbered {@code p = n*S + s} and kernels take a range
 * {@code [from, to)} of them. Targets are class indices, one per position ({@code (N, S)}), or
 * one value per input element ({@code (N, C, S)}), of any of the library's dtypes.
 *
 * <p>Two passes use it: {@link #sumsChunk} adds, per class {@code k}, {@code Sp_k}, {@code St_k}
 * and {@code D_k} exactly into {@code out[k]}, {@code out[C + k]} and {@code out[2C + k]};
 * then, once the caller has set the gradient's coefficients from the global sums,
 * {@link #gradChunk} writes {@code dL/dx}: with {@code a = (1 - sgn(p - t)) / 2} at an element of
 * class {@code k}, {@code dL/dp = m (a A_k + B_k)} ({@code m} the ignore mask), then through the
 * activation.
 *
 * <p>Filled by the public API with the named setters after every check has passed, per thread
 * ({@link #forThisThread()}), and {@link #clear()}ed after: the arrays it keeps for the call
 * (coefficients, exact sums) only grow, so a reduced call allocates nothing once warm.
 */
public final class ClassSumProblem {
    private static final ThreadLocal<ClassSumProblem> PER_THREAD = ThreadLocal.withInitial(ClassSumProblem::new);

    /** Dense target dtypes, as {@link #targetType()} gives them. */
    public static final int T_F32 = 0, T_F64 = 1, T_I64 = 2, T_I32 = 3, T_U8 = 4;

    private LossKernels kernels;
    private ClassSumOp op;
    private MemorySegment input;
    private boolean f64;
    private long n, c, s;
    private MemorySegment target;
    private int targetType;
    private boolean ignores;
    private long ignoreIndex;
    private double[] coefA = new double[0];
    private double[] coefB = new double[0];
    private double[] totals = new double[0];
    private ExactSum[][] exact = new ExactSum[0][0];
    private MemorySegment grad;
    private boolean gradF64;

    private ClassSumProblem() {}

    /** A problem of its own, for tests and benchmarks of the kernels. */
    public static ClassSumProblem create() {
        return new ClassSumProblem();
    }

    /** This thread's reusable instance, to fill and then {@link #clear()}. */
    public static ClassSumProblem forThisThread() {
        return PER_THREAD.get();
    }

    /** The kernels that evaluate it (chosen on the calling thread, read by the workers). */
    public ClassSumProblem kernels(LossKernels k) {
        this.kernels = k;
        return this;
    }

    /** The operation. */
    public ClassSumProblem op(ClassSumOp o) {
        this.op = o;
        return this;
    }

    /** The input, (N, C, S), float32 or float64. */
    public ClassSumProblem input(MemorySegment x, boolean isF64, long batch, long classes, long spatial) {
        this.input = x;
        this.f64 = isF64;
        this.n = batch;
        this.c = classes;
        this.s = spatial;
        return this;
    }

    /**
     * The targets: for index ops, {@code (N, S)} integers of {@code type} {@link #T_I64},
     * {@link #T_I32} or {@link #T_U8}; for dense ops, {@code (N, C, S)} values of any type.
     */
    public ClassSumProblem target(MemorySegment t, int type) {
        this.target = t;
        this.targetType = type;
        return this;
    }

    /** The ignore_index (smp's), or none. */
    public ClassSumProblem ignore(boolean on, long index) {
        this.ignores = on;
        this.ignoreIndex = index;
        return this;
    }

    /** The gradient to write (the input's shape), or null. */
    public ClassSumProblem grad(MemorySegment g, boolean isF64) {
        this.grad = g;
        this.gradF64 = isF64;
        return this;
    }

    /** The gradient's per-class coefficients {@code A} and {@code B} (length at least C), to fill. */
    public double[] coefA() {
        if (coefA.length < c) {
            coefA = new double[(int) c];
            coefB = new double[(int) c];
        }
        return coefA;
    }

    /** See {@link #coefA()}. */
    public double[] coefB() {
        coefA();
        return coefB;
    }

    /** A grow-only array of at least {@code length} doubles for the global sums. */
    public double[] totals(int length) {
        if (totals.length < length) {
            totals = new double[length];
        }
        return totals;
    }

    /**
     * Positions per tile: each image's positions are cut into tiles of {@code TILE} from its first
     * (its last tile may be shorter), and the sums pass is chunked by whole tiles. A kernel may
     * then round within a tile (the SIMD kernel sums a tile in float accumulators): what it adds
     * to the exact sums depends on the tiles' inputs only, not on where a chunk, a thread's share
     * or a split of the batch along N begins.
     */
    public static final int TILE = 128;

    /** Tiles per image: {@code ceil(S / TILE)}. */
    private long tilesPerImage() {
        return (s + TILE - 1) / TILE;
    }

    /** The number of tiles, {@code N * ceil(S / TILE)}: the items of {@link #sumsChunk}. */
    public long tiles() {
        return n * tilesPerImage();
    }

    /** The first position of tile {@code t} ({@code t <= tiles()}; {@code tiles()} gives N*S). */
    public long tileStart(long t) {
        long per = tilesPerImage();
        long image = t / per;
        return image * s + (t - image * per) * TILE;
    }

    /**
     * {@link LossKernels#classSums} of the problem's kernels over tiles {@code [from, to)}: the
     * chunk function of {@link Parallel#exactSums}.
     */
    public static void sumsChunk(ClassSumProblem p, long from, long to, ExactSum[] out) {
        p.kernels.classSums(p.op, p, p.tileStart(from), p.tileStart(to), out);
    }

    /**
     * Grow-only exact sums for {@link Parallel#exactSums}: at least {@code workers} rows of at
     * least {@code width} (kept for the thread's life, so a reduced call allocates nothing once warm).
     */
    public ExactSum[][] exactSums(int workers, int width) {
        if (exact.length < workers || exact[0].length < width) {
            int rows = Math.max(workers, exact.length);
            int cols = Math.max(width, exact.length == 0 ? 0 : exact[0].length);
            ExactSum[][] e = new ExactSum[rows][cols];
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < cols; j++) {
                    e[r][j] = r < exact.length && j < exact[r].length ? exact[r][j] : new ExactSum();
                }
            }
            exact = e;
        }
        return exact;
    }

    /** {@link LossKernels#classSumsGrad} of the problem's kernels: a chunk function of {@link Parallel#sum}. */
    public static double gradChunk(ClassSumProblem p, long from, long to) {
        return p.kernels.classSumsGrad(p.op, p, from, to);
    }

    /** Drops the references to the caller's memory (the grow-only arrays stay). */
    public void clear() {
        kernels = null;
        op = null;
        input = target = grad = null;
        ignores = false;
    }

    public LossKernels kernels() { return kernels; }
    public ClassSumOp op() { return op; }
    public MemorySegment input() { return input; }
    public boolean f64() { return f64; }
    public long n() { return n; }
    public long c() { return c; }
    public long s() { return s; }
    public MemorySegment target() { return target; }

    /** Whether the SIMD kernels can load every operand and output with the Vector API ({@link Mem#vectorLoadable}). */
    public boolean vectorLoadable() {
        boolean t = switch (targetType) {
            case T_F32 -> Mem.vectorLoadable(target, 4, true);
            case T_I64 -> Mem.vectorLoadable(target, 8, false);
            case T_I32 -> Mem.vectorLoadable(target, 4, false);
            case T_U8 -> Mem.vectorLoadable(target, 1, false);
            default -> false; // float64: the scalar kernels anyway
        };
        return t && Mem.vectorLoadable(input, 4, true) && Mem.vectorLoadable(grad, 4, true);
    }
    public int targetType() { return targetType; }
    public boolean ignores() { return ignores; }
    public long ignoreIndex() { return ignoreIndex; }
    public MemorySegment grad() { return grad; }
    public boolean gradF64() { return gradF64; }
    /** {@code A_k} of the gradient. */
    public double coefA(long k) { return coefA[(int) k]; }
    /** {@code B_k} of the gradient. */
    public double coefB(long k) { return coefB[(int) k]; }

    /** The number of positions, N*S. */
    public long positions() {
        return n * s;
    }

    /** Whether this is the float32 case the SIMD kernels handle. */
    public boolean allFloat32() {
        return !f64 && !(grad != null && gradF64);
    }

    /** The index target at position {@code pos}. */
    public long label(long pos) {
        return switch (targetType) {
            case T_I64 -> target.getAtIndex(Mem.I64, pos);
            case T_I32 -> target.getAtIndex(Mem.I32, pos);
            default -> Byte.toUnsignedLong(target.get(ValueLayout.JAVA_BYTE, pos));
        };
    }

    /** The dense target at element {@code i}, as a double. */
    public double targetValue(long i) {
        return switch (targetType) {
            case T_F32 -> target.getAtIndex(Mem.F32, i);
            case T_F64 -> target.getAtIndex(Mem.F64, i);
            case T_I64 -> target.getAtIndex(Mem.I64, i);
            case T_I32 -> target.getAtIndex(Mem.I32, i);
            default -> Byte.toUnsignedLong(target.get(ValueLayout.JAVA_BYTE, i));
        };
    }

    /**
     * Whether the dense target at element {@code i} is kept (smp's {@code y_true != ignore_index},
     * in the target's type: float targets compare with the index rounded to their type).
     */
    public boolean kept(long i) {
        if (!ignores) {
            return true;
        }
        return switch (targetType) {
            case T_F32 -> target.getAtIndex(Mem.F32, i) != (float) ignoreIndex;
            case T_F64 -> target.getAtIndex(Mem.F64, i) != (double) ignoreIndex;
            case T_I64 -> target.getAtIndex(Mem.I64, i) != ignoreIndex;
            case T_I32 -> target.getAtIndex(Mem.I32, i) != ignoreIndex;
            default -> Byte.toUnsignedLong(target.get(ValueLayout.JAVA_BYTE, i)) != ignoreIndex;
        };
    }

    /**
     * The label at a position, checked: -1 when ignored, else in {@code [0, C)}.
     *
     * @throws Targets.BadTarget for a label outside {@code [0, C)} that is not ignored
     */
    public long checkedLabel(long pos) {
        long y = label(pos);
        if (ignores && y == ignoreIndex) {
            return -1;
        }
        if (y < 0 || y >= c) {
            throw new Targets.BadTarget(pos, y);
        }
        return y;
    }
}
