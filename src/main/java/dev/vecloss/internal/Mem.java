package dev.vecloss.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Little-endian element access shared by the scalar kernels and the checks. */
public final class Mem {
    public static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Mem() {}

    // The classes of heap segments over a float[], long[], int[] and byte[] (a slice or a read-only
    // view keeps its class)
    private static final Class<?> HEAP_F32 = MemorySegment.ofArray(new float[0]).getClass();
    private static final Class<?> HEAP_I64 = MemorySegment.ofArray(new long[0]).getClass();
    private static final Class<?> HEAP_I32 = MemorySegment.ofArray(new int[0]).getClass();
    private static final Class<?> HEAP_U8 = MemorySegment.ofArray(new byte[0]).getClass();

    /**
     * Whether the SIMD kernels may load {@code width}-byte elements ({@code fp}: float32, else
     * integers) from {@code seg} with the Vector API: null (no operand), a native segment, or a
     * heap segment over an array of that very type. JDK 25's C2 does not intrinsify a vector load
     * from a heap segment over another array type (float32 over a {@code byte[]} or an
     * {@code int[]}, say, from {@code MemorySegment.ofBuffer} of a heap buffer): the Vector API's
     * Java fallback then allocates each vector (a megabyte per cross-entropy call of 64 x 1000),
     * and its loads from matching arrays fall back too until compiled again. The SIMD kernels send
     * a problem with such an operand to the scalar ones (PanamaKernels). No allocation: a class
     * comparison.
     */
    public static boolean vectorLoadable(MemorySegment seg, int width, boolean fp) {
        if (seg == null || seg.isNative()) {
            return true;
        }
        Class<?> c = seg.getClass();
        return switch (width) {
            case 4 -> c == (fp ? HEAP_F32 : HEAP_I32);
            case 8 -> !fp && c == HEAP_I64;
            case 1 -> !fp && c == HEAP_U8;
            default -> false;
        };
    }

    /** Element {@code i} of a float32 ({@code f64 == false}) or float64 segment. */
    public static double get(MemorySegment seg, boolean f64, long i) {
        return f64 ? seg.getAtIndex(F64, i) : seg.getAtIndex(F32, i);
    }

    /** Stores {@code v} (rounded for float32) at element {@code i}. */
    public static void set(MemorySegment seg, boolean f64, long i, double v) {
        if (f64) {
            seg.setAtIndex(F64, i, v);
        } else {
            seg.setAtIndex(F32, i, (float) v);
        }
    }

    /** Integer element {@code i} of a segment of {@code width}-byte integers (8, 4, or 1 unsigned). */
    public static long getIndex(MemorySegment seg, int width, long i) {
        return switch (width) {
            case 8 -> seg.getAtIndex(I64, i);
            case 4 -> seg.getAtIndex(I32, i);
            default -> Byte.toUnsignedLong(seg.get(ValueLayout.JAVA_BYTE, i));
        };
    }
}
