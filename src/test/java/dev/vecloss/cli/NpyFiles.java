package dev.vecloss.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Writes test {@code .npy} files byte by byte, independently of the npy package under test,
 * so that malformed files (Fortran order, unknown dtypes, truncation) can be made as easily as
 * good ones.
 */
final class NpyFiles {
    private NpyFiles() {}

    static Path write(Path file, String descr, boolean fortran, long[] shape, byte[] data) throws IOException {
        String dims = Arrays.stream(shape).mapToObj(Long::toString).collect(Collectors.joining(", "));
        if (shape.length == 1) {
            dims += ",";
        }
        String dict = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False")
                + ", 'shape': (" + dims + "), }";
        int pad = (64 - (10 + dict.length() + 1) % 64) % 64;
        byte[] header = (dict + " ".repeat(pad) + "\n").getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocate(10 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) header.length);
        b.put(header).put(data);
        Files.write(file, b.array());
        return file;
    }

    static Path f32(Path file, float[] v, long... shape) throws IOException {
        ByteBuffer b = le(v.length * 4);
        for (float x : v) {
            b.putFloat(x);
        }
        return write(file, "<f4", false, shape, b.array());
    }

    static Path f64(Path file, double[] v, long... shape) throws IOException {
        ByteBuffer b = le(v.length * 8);
        for (double x : v) {
            b.putDouble(x);
        }
        return write(file, "<f8", false, shape, b.array());
    }

    static Path i64(Path file, long[] v, long... shape) throws IOException {
        ByteBuffer b = le(v.length * 8);
        for (long x : v) {
            b.putLong(x);
        }
        return write(file, "<i8", false, shape, b.array());
    }

    static Path i32(Path file, long[] v, long... shape) throws IOException {
        ByteBuffer b = le(v.length * 4);
        for (long x : v) {
            b.putInt(Math.toIntExact(x));
        }
        return write(file, "<i4", false, shape, b.array());
    }

    static Path u8(Path file, long[] v, long... shape) throws IOException {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = (byte) v[i];
        }
        return write(file, "|u1", false, shape, b);
    }

    private static ByteBuffer le(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }
}
