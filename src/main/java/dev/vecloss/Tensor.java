package dev.vecloss;

import dev.vecloss.internal.Mem;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;

/**
 * A typed, shaped view of a {@link MemorySegment}: the segment holds the elements in C
 * (row-major) order, little-endian, with no copy made. The segment may be on the heap (a
 * Java array), native ({@link Arena}) or a memory-mapped file, at any byte offset.
 *
 * <p>A tensor does not own its memory: its lifetime is the segment's. It is immutable as a
 * view (the shape cannot change), though the elements can be written through the segment.
 */
public final class Tensor {
    private final MemorySegment segment;
    private final DType dtype;
    private final long[] shape;
    private final long numel;

    private Tensor(MemorySegment segment, DType dtype, long[] shape, long numel) {
        this.segment = segment;
        this.dtype = dtype;
        this.shape = shape;
        this.numel = numel;
    }

    /**
     * A view of {@code segment} as a C-order tensor. The segment must hold exactly
     * {@code product(shape) * dtype.byteSize()} bytes (slice it first if it holds more).
     * A native segment (a mapped file, an {@code Arena}'s) or a heap segment over an array of
     * the dtype's own type ({@code float[]} for float32, ...) runs on the selected kernels; a heap
     * segment over another array type (float32 over a {@code byte[]}, as
     * {@code MemorySegment.ofBuffer} of a heap buffer gives) runs on the scalar kernels, as the
     * Vector API cannot load from it without allocating every vector (JDK 25).
     *
     * @throws IllegalArgumentException if a dimension is negative, the element count
     *         overflows, or the segment size does not match
     */
    public static Tensor of(MemorySegment segment, DType dtype, long... shape) {
        Objects.requireNonNull(segment, "segment");
        Objects.requireNonNull(dtype, "dtype");
        long[] s = shape.clone();
        long n = numel(s);
        long bytes = byteSize(n, dtype, s);
        if (segment.byteSize() != bytes) {
            throw new IllegalArgumentException("segment of " + segment.byteSize() + " bytes does not fit shape "
                    + Arrays.toString(s) + " of " + dtype + " (" + bytes + " bytes)");
        }
        return new Tensor(segment, dtype, s, n);
    }

    /** A view of a float array (no copy); the shape defaults to {@code [data.length]}. */
    public static Tensor of(float[] data, long... shape) {
        return of(MemorySegment.ofArray(data), DType.FLOAT32, shapeOr(shape, data.length));
    }

    /** A view of a double array (no copy); the shape defaults to {@code [data.length]}. */
    public static Tensor of(double[] data, long... shape) {
        return of(MemorySegment.ofArray(data), DType.FLOAT64, shapeOr(shape, data.length));
    }

    /** A view of a long array as int64 (no copy); the shape defaults to {@code [data.length]}. */
    public static Tensor of(long[] data, long... shape) {
        return of(MemorySegment.ofArray(data), DType.INT64, shapeOr(shape, data.length));
    }

    /** A view of an int array as int32 (no copy); the shape defaults to {@code [data.length]}. */
    public static Tensor of(int[] data, long... shape) {
        return of(MemorySegment.ofArray(data), DType.INT32, shapeOr(shape, data.length));
    }

    /** A view of a byte array as uint8 (no copy); the shape defaults to {@code [data.length]}. */
    public static Tensor ofUint8(byte[] data, long... shape) {
        return of(MemorySegment.ofArray(data), DType.UINT8, shapeOr(shape, data.length));
    }

    /**
     * A zero-filled tensor allocated in {@code arena} (64-byte aligned).
     *
     * @throws IllegalArgumentException if a dimension is negative, or the element or byte count
     *         overflows a {@code long}
     */
    public static Tensor allocate(Arena arena, DType dtype, long... shape) {
        Objects.requireNonNull(arena, "arena");
        Objects.requireNonNull(dtype, "dtype");
        long[] s = shape.clone();
        MemorySegment seg = arena.allocate(byteSize(numel(s), dtype, s), 64);
        return of(seg, dtype, s);
    }

    private static long[] shapeOr(long[] shape, int length) {
        return shape.length == 0 ? new long[] {length} : shape;
    }

    /**
     * The element count of {@code shape}: every dimension is checked to be non-negative first, and
     * a shape with a 0 dimension has 0 elements whatever its other dimensions (as NumPy and
     * PyTorch have it), so only a product that really overflows is refused.
     */
    private static long numel(long[] shape) {
        boolean empty = false;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0) {
                throw new IllegalArgumentException("negative dimension " + shape[i] + " at axis " + i
                        + " of shape " + Arrays.toString(shape));
            }
            empty |= shape[i] == 0;
        }
        if (empty) {
            return 0;
        }
        long n = 1;
        for (long d : shape) {
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has too many elements");
            }
        }
        return n;
    }

    private static long byteSize(long numel, DType dtype, long[] shape) {
        try {
            return Math.multiplyExact(numel, (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " of " + dtype + " is too large");
        }
    }

    /** The segment that holds the elements, exactly {@code numel() * dtype().byteSize()} bytes. */
    public MemorySegment segment() {
        return segment;
    }

    public DType dtype() {
        return dtype;
    }

    /** A copy of the shape. */
    public long[] shape() {
        return shape.clone();
    }

    /** The shape itself, not a copy: for this package's checks, which must not allocate. */
    long[] dims() {
        return shape;
    }

    /** The number of dimensions. */
    public int rank() {
        return shape.length;
    }

    /** The size of dimension {@code axis}. */
    public long dim(int axis) {
        return shape[axis];
    }

    /** The number of elements (1 for a 0-d tensor). */
    public long numel() {
        return numel;
    }

    /** Element {@code i} (flat, C order) of a floating tensor, as a double. */
    public double getDouble(long i) {
        Objects.checkIndex(i, numel);
        return switch (dtype) {
            case FLOAT32, FLOAT64 -> Mem.get(segment, dtype == DType.FLOAT64, i);
            default -> getLong(i);
        };
    }

    /** Element {@code i} (flat, C order) of an integer or bool tensor, as a long. */
    public long getLong(long i) {
        Objects.checkIndex(i, numel);
        if (dtype.isFloating()) {
            throw new IllegalStateException(dtype + " tensor read as an integer");
        }
        return Mem.getIndex(segment, dtype.byteSize(), i);
    }

    /** A copy of the elements as floats (doubles are rounded). */
    public float[] toFloatArray() {
        float[] out = new float[Math.toIntExact(numel)];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) getDouble(i);
        }
        return out;
    }

    /** A copy of the elements as doubles. */
    public double[] toDoubleArray() {
        double[] out = new double[Math.toIntExact(numel)];
        for (int i = 0; i < out.length; i++) {
            out[i] = getDouble(i);
        }
        return out;
    }

    /** A copy of the elements of an integer tensor as longs. */
    public long[] toLongArray() {
        long[] out = new long[Math.toIntExact(numel)];
        for (int i = 0; i < out.length; i++) {
            out[i] = getLong(i);
        }
        return out;
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + " " + dtype;
    }
}
