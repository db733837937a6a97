package dev.vecloss.npy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Builds {@code .npy} bytes and files by hand, the way NumPy lays them out, for the tests of
 * this package and of the command line. It does not use the npy package under test, so
 * malformed files (Fortran order, unknown dtypes, bad lengths, truncation) are as easy to make
 * as good ones.
 */
public final class NpyFiles {
    private NpyFiles() {}

    /**
     * A file of format {@code major}.0 whose header is {@code dict} padded with spaces and a
     * final newline so that the preamble and header take a multiple of 64 bytes, as NumPy
     * writes it, followed by {@code data}.
     */
    public static byte[] npy(int major, String dict, byte[] data) {
        byte[] text = dict.getBytes(major >= 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        int preamble = major == 1 ? 10 : 12;
        int total = (preamble + text.length + 1 + 63) / 64 * 64;
        byte[] header = new byte[total - preamble];
        System.arraycopy(text, 0, header, 0, text.length);
        for (int i = text.length; i < header.length - 1; i++) {
            header[i] = ' ';
        }
        header[header.length - 1] = '\n';
        return raw(major, 0, header.length, header, data);
    }

    /** A file with the given version bytes and header length field, whatever the header is. */
    public static byte[] raw(int major, int minor, long headerLength, byte[] header, byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0x93);
        out.writeBytes("NUMPY".getBytes(StandardCharsets.US_ASCII));
        out.write(major);
        out.write(minor);
        int lengthBytes = major == 1 ? 2 : 4;
        for (int i = 0; i < lengthBytes; i++) {
            out.write((int) (headerLength >>> (8 * i)) & 0xFF);
        }
        out.writeBytes(header);
        out.writeBytes(data);
        return out.toByteArray();
    }

    /** The dict NumPy writes for a C-order array; {@code shape} as Python writes it, "(2, 3)". */
    public static String dict(String descr, String shape) {
        return dict(descr, false, shape);
    }

    /** The dict NumPy writes, C or Fortran order. */
    public static String dict(String descr, boolean fortran, String shape) {
        return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': "
                + shape + ", }";
    }

    /** A shape as Python writes a tuple: {@code ()}, {@code (3,)}, {@code (2, 3)}. */
    public static String tuple(long... shape) {
        String dims = Arrays.stream(shape).mapToObj(Long::toString).collect(Collectors.joining(", "));
        return "(" + dims + (shape.length == 1 ? ",)" : ")");
    }

    /** {@code n} little-endian float32 values 0, 1, 2, ... */
    public static byte[] floats(int n) {
        ByteBuffer b = le(4 * n);
        for (int i = 0; i < n; i++) {
            b.putFloat(i);
        }
        return b.array();
    }

    /** Writes a version 1.0 file of any dtype string, order and shape, with {@code data} as its data. */
    public static Path write(Path file, String descr, boolean fortran, long[] shape, byte[] data) throws IOException {
        Files.write(file, npy(1, dict(descr, fortran, tuple(shape)), data));
        return file;
    }

    /** A float32 file. */
    public static Path f32(Path file, float[] v, long... shape) throws IOException {
        ByteBuffer b = le(v.length * 4);
        for (float x : v) {
            b.putFloat(x);
        }
        return write(file, "<f4", false, shape, b.array());
    }

    /** A float64 file. */
    public static Path f64(Path file, double[] v, long... shape) throws IOException {
        ByteBuffer b = le(v.length * 8);
        for (double x : v) {
            b.putDouble(x);
        }
        return write(file, "<f8", false, shape, b.array());
    }

    /** An int64 file. */
    public static Path i64(Path file, long[] v, long... shape) throws IOException {
        ByteBuffer b = le(v.length * 8);
        for (long x : v) {
            b.putLong(x);
        }
        return write(file, "<i8", false, shape, b.array());
    }

    /** An int32 file. */
    public static Path i32(Path file, long[] v, long... shape) throws IOException {
        ByteBuffer b = le(v.length * 4);
        for (long x : v) {
            b.putInt(Math.toIntExact(x));
        }
        return write(file, "<i4", false, shape, b.array());
    }

    /** A uint8 file. */
    public static Path u8(Path file, long[] v, long... shape) throws IOException {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = (byte) v[i];
        }
        return write(file, "|u1", false, shape, b);
    }

    /**
     * A file of {@code shape} whose data are zeros, made by extending the file rather than writing
     * them: sparse where the file system allows, so a test can have a large input at little cost.
     */
    public static Path zeros(Path file, String descr, long itemBytes, long... shape) throws IOException {
        byte[] head = npy(1, dict(descr, tuple(shape)), new byte[0]);
        long n = itemBytes;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        try (var f = new java.io.RandomAccessFile(file.toFile(), "rw")) {
            f.write(head);
            f.setLength(head.length + n);
        }
        return file;
    }

    private static ByteBuffer le(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }
}
