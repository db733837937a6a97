package dev.vecloss;

/**
 * Element types a {@link Tensor} can hold. Multi-byte types are little-endian, as in the
 * {@code .npy} files of x86 and ARM machines ({@code <f4}, {@code <i8}, ...), whatever the
 * platform's own byte order.
 */
public enum DType {
    /** IEEE binary32, {@code <f4}. */
    FLOAT32(4, "<f4", true),
    /** IEEE binary64, {@code <f8}. */
    FLOAT64(8, "<f8", true),
    /** Signed 64-bit integer, {@code <i8}: PyTorch's {@code long}. */
    INT64(8, "<i8", false),
    /** Signed 32-bit integer, {@code <i4}. */
    INT32(4, "<i4", false),
    /** Unsigned 8-bit integer, {@code |u1}. */
    UINT8(1, "|u1", false),
    /** Boolean stored as one byte 0 or 1, {@code |b1}; read as the integers 0 and 1. */
    BOOL(1, "|b1", false);

    private final int byteSize;
    private final String npyDescr;
    private final boolean floating;

    DType(int byteSize, String npyDescr, boolean floating) {
        this.byteSize = byteSize;
        this.npyDescr = npyDescr;
        this.floating = floating;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** The NumPy {@code descr} string of this type, for example {@code <f4}. */
    public String npyDescr() {
        return npyDescr;
    }

    /** Whether this is a floating-point type. */
    public boolean isFloating() {
        return floating;
    }

    /** The type whose NumPy {@code descr} is {@code descr}, or {@code null} if none is supported. */
    public static DType fromNpyDescr(String descr) {
        for (DType t : values()) {
            if (t.npyDescr.equals(descr)) {
                return t;
            }
        }
        // NumPy writes single-byte types with '|', but '<' and '=' are read the same by NumPy.
        if (descr.equals("<u1") || descr.equals("=u1")) {
            return UINT8;
        }
        if (descr.equals("<b1") || descr.equals("=b1")) {
            return BOOL;
        }
        return null;
    }
}
