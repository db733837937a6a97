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
